"""Reading Python source without running it: a function's AST, what its names stand for.

The board follows a command's calls through the code; these helpers answer the
questions that takes, statically: what is this function's body, what object does
``Book`` or ``self.Deposited`` stand for in the function's own module, and which class
does a variable hold when the code says so (an annotated parameter, ``book: Book =``,
or ``x = f()`` where ``f`` declares what it returns). When the code doesn't say, the
answer is :data:`UNKNOWN`, never a guess.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

__all__ = [
    "UNKNOWN",
    "calls",
    "function_node",
    "hints",
    "is_user_code",
    "is_user_module",
    "isinstance_branches",
    "local_types",
    "raw_member",
    "resolve",
    "unwrap_class",
]

_SKIPPED_MODULES = frozenset({"eventsourcing", "builtins", "typing", "pandas", "numpy"})
"""Libraries whose code is never followed (the standard library isn't either)."""


class _Unknown:
    """What an expression stands for when the code doesn't say."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


def is_user_module(name: str) -> bool:
    """True for a module of the user's code: not eventsourcing, not the standard library."""
    top = name.split(".")[0]
    return bool(name) and top not in _SKIPPED_MODULES and top not in sys.stdlib_module_names


def is_user_code(obj: Any) -> bool:
    """True for classes and functions defined in the user's code."""
    return is_user_module(getattr(obj, "__module__", None) or "")


def raw_member(owner: type[Any], name: str) -> Any:
    """A class attribute as written (no descriptor protocol), looked up the MRO."""
    try:
        return inspect.getattr_static(owner, name)
    except AttributeError:
        return UNKNOWN


def hints(func: Any) -> dict[str, Any]:
    """A function's type hints; ``{}`` when they can't be resolved."""
    try:
        return typing.get_type_hints(func)
    except Exception:  # an unresolvable forward reference: the code just doesn't say
        return {}


def unwrap_class(hint: Any) -> type[Any] | None:
    """The one class in ``X``, ``X | None`` or ``Optional[X]``; else None."""
    if isinstance(hint, type) and hint is not type(None):
        return hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        classes = [a for a in typing.get_args(hint) if isinstance(a, type) and a is not type(None)]
        if len(classes) == 1:
            return classes[0]
    return None


def function_node(func: Callable[..., Any]) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The parsed definition of ``func``; None when its source can't be read."""
    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node
    return None


def calls(body: list[ast.stmt]) -> Iterator[ast.Call]:
    """Every call in a list of statements."""
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call):
                yield node


def resolve(
    expr: ast.expr | None,
    scope: dict[str, Any],
    owner: type[Any] | None,
    local: dict[str, type[Any]],
) -> Any:
    """The object a name or dotted name stands for, or :data:`UNKNOWN`.

    ``self`` and ``cls`` stand for ``owner``; ``local`` holds the classes of variables;
    other names are looked up in ``scope`` (the function's module), then builtins.
    """
    if isinstance(expr, ast.Name):
        if expr.id in ("self", "cls") and owner is not None:
            return owner
        if expr.id in local:
            return local[expr.id]
        if expr.id in scope:
            return scope[expr.id]
        return getattr(builtins, expr.id, UNKNOWN)
    if isinstance(expr, ast.Attribute):
        base = resolve(expr.value, scope, owner, local)
        if isinstance(base, type):
            found = raw_member(base, expr.attr)
            # a class attribute: as the class gives it (eventsourcing redefines event classes)
            return getattr(base, expr.attr) if isinstance(found, type) else found
        if isinstance(base, ModuleType):
            return getattr(base, expr.attr, UNKNOWN)
    return UNKNOWN


def _annotation(expr: ast.expr | None, scope: dict[str, Any]) -> type[Any] | None:
    """The class an annotation names (``Book``, ``"Book"``, ``Book | None``)."""
    if expr is None:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        try:
            expr = ast.parse(expr.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        sides = [_annotation(expr.left, scope), _annotation(expr.right, scope)]
        classes = [c for c in sides if c is not None and c is not type(None)]
        return classes[0] if len(classes) == 1 else None
    if isinstance(expr, ast.Subscript):  # Optional[X]
        return _annotation(expr.slice, scope)
    found = resolve(expr, scope, None, {})
    return found if isinstance(found, type) else None


def _returned_class(
    call: ast.Call, scope: dict[str, Any], owner: type[Any] | None, local: dict[str, type[Any]]
) -> type[Any] | None:
    """The class a call returns, when the code says (a constructor, a return annotation)."""
    target = resolve(call.func, scope, owner, local)
    if isinstance(target, type):
        return target if is_user_code(target) else None
    target = getattr(target, "__func__", target)
    if inspect.isfunction(target):
        cls = unwrap_class(hints(target).get("return"))
        if cls is not None and is_user_code(cls):
            return cls
    return None


def local_types(
    body: list[ast.stmt], func: Callable[..., Any], owner: type[Any] | None
) -> dict[str, type[Any]]:
    """Variables whose class the code states: annotated parameters and assignments."""
    scope = func.__globals__
    found: dict[str, type[Any]] = {}
    for name, hint in hints(func).items():
        cls = unwrap_class(hint)
        if name != "return" and cls is not None and is_user_code(cls):
            found[name] = cls
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                cls = _annotation(node.annotation, scope)
                if cls is not None and is_user_code(cls):
                    found[node.target.id] = cls
            elif (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)
                and node.targets[0].id not in found
            ):
                cls = _returned_class(node.value, scope, owner, found)
                if cls is not None:
                    found[node.targets[0].id] = cls
    return found


def isinstance_branches(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
) -> Iterator[tuple[list[ast.expr], list[ast.stmt]]]:
    """(classes tested, body) of each ``if isinstance(x, C):`` (or ``elif``) branch."""
    for branch in ast.walk(node):
        if not isinstance(branch, ast.If):
            continue
        test = branch.test
        if (
            isinstance(test, ast.Call)
            and isinstance(test.func, ast.Name)
            and test.func.id == "isinstance"
            and len(test.args) == 2
        ):
            classes = test.args[1]
            tested = list(classes.elts) if isinstance(classes, ast.Tuple) else [classes]
            yield tested, branch.body
