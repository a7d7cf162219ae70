"""A refusal or a bug? Telling a business rule's "no" from an error in the code.

A command that raises has either been *refused* (the domain said no:
``InsufficientFunds``, ``raise ValueError("deposit a positive amount")``) or
*failed* (``1 / 0``, a ``TypeError`` from a wrong call): the first is for the
user, the second for the application's author. The rule:

- an exception class the application defines (not a built-in or library one) is
  a refusal; so is the library's "aggregate not found";
- a built-in or library exception is a refusal only when the application's own
  code raises it with a ``raise`` statement; raised anywhere else (by the
  interpreter, by a library, by an ``assert``) it is an error in the code.
"""

from __future__ import annotations

import dis
import os
import sys
from types import TracebackType
from typing import Literal

from workbench.code_reading import is_library

Blame = Literal["refused", "error"]


def _frames(error: BaseException) -> list[TracebackType]:
    tb = error.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    return frames


def _is_raise(tb: TracebackType) -> bool:
    """Whether the traceback entry stopped at a ``raise`` statement."""
    for instruction in dis.get_instructions(tb.tb_frame.f_code):
        if instruction.offset == tb.tb_lasti:
            return instruction.opname == "RAISE_VARARGS"
    return False


def _module(tb: TracebackType) -> str:
    return str(tb.tb_frame.f_globals.get("__name__", ""))


def blame(error: BaseException, home: str) -> tuple[Blame, str]:
    """``("refused" | "error", where)`` for an exception a command raised.

    ``home`` is the application's top-level package: code there (and in any
    module that is not the standard library or an installed package) is the
    application's code. ``where`` is ``"file.py line 12, in total"`` for the
    innermost frame of the application's code (``""`` if there is none).
    """
    frames = _frames(error)
    own = [tb for tb in frames if not is_library(_module(tb), home)]
    where = ""
    if own:
        last = own[-1]
        code = last.tb_frame.f_code
        where = f"{os.path.basename(code.co_filename)} line {last.tb_lineno}, in {code.co_name}"
    kind = type(error)
    module = kind.__module__ or ""
    top = module.split(".")[0]
    if top == "eventsourcing" and "NotFound" in kind.__name__:
        return "refused", where
    if not is_library(module, home) and top != "builtins" and top not in sys.stdlib_module_names:
        return "refused", where
    if frames and own and frames[-1] is own[-1] and _is_raise(frames[-1]):
        return "refused", where
    return "error", where
