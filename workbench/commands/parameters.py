"""Reading parameter annotations: strings, names imported only for type checking, none at all.

An annotation may be a string (``from __future__ import annotations``), and the
names in it may exist only for type checkers (imported under ``if TYPE_CHECKING:``).
:func:`resolve` turns it into the type it names, looking the names up in the
method's module and classes, then in the module's ``TYPE_CHECKING`` imports
(:func:`type_checking_names`, only modules that are already loaded: reading an
annotation never imports anything). A name found nowhere becomes a placeholder
that :func:`is_unresolved` recognises, so the caller can say which name and why.
"""

from __future__ import annotations

import ast
import builtins
import collections.abc
import datetime as _dt
import decimal
import enum
import inspect
import sys
import typing
import uuid
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any


class _UnresolvedMeta(type):
    """Stands in for a name an annotation uses but the module cannot resolve at run time."""

    def __getattr__(cls, item: str) -> Any:
        if item.startswith("__"):
            raise AttributeError(item)
        return _unresolved(f"{cls.__name__}.{item}")

    def __getitem__(cls, item: Any) -> Any:
        return cls

    def __or__(cls, other: Any) -> Any:
        return cls

    def __ror__(cls, other: Any) -> Any:
        return cls


def _unresolved(name: str) -> type:
    return _UnresolvedMeta(name, (), {"__workbench_unresolved__": name})


def is_unresolved(tp: Any) -> bool:
    """Whether ``tp`` is the placeholder of a name that could not be resolved."""
    return isinstance(tp, _UnresolvedMeta) or any(is_unresolved(a) for a in typing.get_args(tp))


def unresolved_names(tp: Any) -> list[str]:
    """The names in ``tp`` that could not be resolved."""
    if isinstance(tp, _UnresolvedMeta):
        return [str(tp.__workbench_unresolved__)]  # type: ignore[attr-defined]
    return [n for a in typing.get_args(tp) for n in unresolved_names(a)]


_COMMON_NAMES: dict[str, Any] = {
    **{name: getattr(typing, name) for name in typing.__all__ if hasattr(typing, name)},
    "Decimal": decimal.Decimal,
    "date": _dt.date,
    "datetime": _dt.datetime,
    "UUID": uuid.UUID,
    "Enum": enum.Enum,
    "Mapping": collections.abc.Mapping,
    "Sequence": collections.abc.Sequence,
    "Iterable": collections.abc.Iterable,
}


class _Namespace(dict[str, Any]):
    def __init__(self, *layers: Mapping[str, Any]) -> None:
        super().__init__()
        self.layers = layers

    def __missing__(self, key: str) -> Any:
        for layer in self.layers:
            if key in layer:
                return layer[key]
        return _unresolved(key)


def resolve(annotation: Any, namespaces: Sequence[Mapping[str, Any]]) -> Any:
    """An annotation (maybe a string) as a type; unknown names become placeholders."""
    if not isinstance(annotation, str):
        return annotation
    text = annotation.strip()
    if not text:
        return inspect.Parameter.empty
    local = _Namespace(*namespaces, vars(builtins), _COMMON_NAMES)
    try:
        value = eval(text, {"__builtins__": {}}, local)
    except Exception:
        return _unresolved(text)
    if isinstance(value, str):  # a quoted annotation inside a string annotation
        return resolve(value, namespaces)
    return value


def annotation_text(annotation: Any) -> str:
    """The annotation as a reader would write it: ``"Decimal"``, ``"list[str] | None"``."""
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def type_checking_names(module: ModuleType | None) -> dict[str, Any]:
    """Names a module imports under ``if TYPE_CHECKING:``, from modules already loaded.

    >>> import workbench.commands._annotations as me
    >>> type_checking_names(me)
    {}
    """
    if module is None:
        return {}
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError, ValueError):
        return {}
    found: dict[str, Any] = {}
    package = getattr(module, "__package__", None) or ""
    for node in tree.body:
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for statement in ast.walk(node):
            if isinstance(statement, ast.ImportFrom):
                source = statement.module or ""
                if statement.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - statement.level + 1])
                    source = f"{base}.{source}" if source else base
                loaded = sys.modules.get(source)
                for alias in statement.names:
                    value = getattr(loaded, alias.name, None) if loaded else None
                    if value is None:
                        value = sys.modules.get(f"{source}.{alias.name}")
                    if value is not None:
                        found[alias.asname or alias.name] = value
            elif isinstance(statement, ast.Import):
                for alias in statement.names:
                    if alias.asname:
                        value = sys.modules.get(alias.name)
                        name = alias.asname
                    else:
                        name = alias.name.split(".")[0]
                        value = sys.modules.get(name)
                    if value is not None:
                        found[name] = value
    return found
