"""Reading parameter annotations: strings, names imported only for type checking, none at all."""

from __future__ import annotations

import builtins
import collections.abc
import datetime as _dt
import decimal
import enum
import inspect
import typing
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

# --- reading annotations ------------------------------------------------------


class _UnresolvedMeta(type):
    """Stands in for a name an annotation uses but the module cannot resolve at run time."""

    def __getattr__(cls, item: str) -> Any:
        if item.startswith("__"):
            raise AttributeError(item)
        return _unresolved(f"{cls.__name__}.{item}")

    def __getitem__(cls, item: Any) -> Any:
        return cls


def _unresolved(name: str) -> type:
    return _UnresolvedMeta(name, (), {"__workbench_unresolved__": name})


def _is_unresolved(tp: Any) -> bool:
    return isinstance(tp, _UnresolvedMeta)


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


def _resolve(annotation: Any, namespaces: Sequence[Mapping[str, Any]]) -> Any:
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
        return _resolve(value, namespaces)
    return value


def _annotation_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
