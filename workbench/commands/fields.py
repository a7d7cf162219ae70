"""One input per command parameter: what it takes and how text becomes the parameter's type."""

from __future__ import annotations

import collections.abc
import datetime as _dt
import decimal
import enum
import inspect
import json
import re
import typing
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Any, Literal

from workbench.commands._annotations import _annotation_text, _is_unresolved

FieldKind = Literal[
    "text",
    "int",
    "float",
    "decimal",
    "bool",
    "date",
    "datetime",
    "choice",
    "aggregate_id",
    "mapping",
    "list",
]


# --- fields ---------------------------------------------------------------------

_TRUE = {"true", "yes", "y", "1", "on", "x"}
_FALSE = {"false", "no", "n", "0", "off", ""}

_KIND_WORDS: dict[str, str] = {
    "text": "text",
    "int": "whole number",
    "float": "number",
    "decimal": "decimal",
    "bool": "yes/no",
    "date": "date",
    "datetime": "date and time",
    "choice": "choice",
    "aggregate_id": "id",
    "mapping": "amount per name",
    "list": "list",
}


@dataclass(frozen=True)
class Field:
    """One parameter of a command: what input it takes and how to convert it.

    >>> Field("price", "decimal").convert(" 450.00 ")
    Decimal('450.00')
    >>> Field("quantities", "mapping", value=Field("quantity", "int")).convert("Standard=2")
    {'Standard': 2}
    """

    name: str
    """The parameter name."""
    kind: FieldKind = "text"
    """Which input fits the parameter."""
    required: bool = True
    """``False`` when the parameter has a default or accepts ``None``."""
    default: Any = None
    """The default value, used when the input is left empty (``None`` if there is none)."""
    nullable: bool = False
    """The type admits ``None`` (``X | None``): an empty input passes ``None``."""
    keyword_only: bool = False
    """Declared after ``*``."""
    positional_only: bool = False
    """Declared before ``/``."""
    choices: tuple[Any, ...] = ()
    """Allowed values of a ``choice`` (Enum members or Literal values)."""
    key: Field | None = None
    """For a ``mapping``: how keys convert (text by default)."""
    value: Field | None = None
    """For a ``mapping``: how values convert; for a ``list``: how items convert."""
    container: str = "list"
    """For a ``list``: ``list``, ``tuple``, ``set`` or ``frozenset``."""
    id_type: str = "any"
    """For an ``aggregate_id``: ``uuid``, ``str`` or ``any`` (a UUID if it parses)."""
    stream_kind: str = ""
    """For an ``aggregate_id``: the kind of aggregate its name suggests (``""`` = any)."""
    annotation: str = ""
    """The annotation as written in the code (``""`` when there is none)."""
    note: str = ""
    """How the kind was decided when not from a resolved type hint."""

    @property
    def label(self) -> str:
        """A human label: ``"starts on (date)"``, with ``*`` when required."""
        words = self.name.replace("_", " ")
        kind = _KIND_WORDS[self.kind]
        if self.kind == "aggregate_id" and self.stream_kind:
            kind = f"id of a {self.stream_kind}"
        elif self.kind == "mapping" and self.value is not None:
            kind = f"{_KIND_WORDS[self.value.kind]} per name"
        elif self.kind == "list" and self.value is not None:
            kind = f"list of {_KIND_WORDS[self.value.kind]}"
        guessed = " — guessed" if self.note else ""
        return f"{words} ({kind}{guessed}){' *' if self.required else ''}"

    @property
    def has_default(self) -> bool:
        return not self.required and not (self.nullable and self.default is None)

    def is_empty(self, value: Any) -> bool:
        """Whether ``value`` counts as "nothing entered"."""
        if value is None:
            return True
        if isinstance(value, str):
            return not value.strip()
        if self.kind in ("mapping", "list") and isinstance(value, Mapping | list | tuple):
            return False
        return False

    def convert(self, value: Any) -> Any:
        """Convert widget or text input to this parameter's type, or raise ``ValueError``."""
        convert = getattr(self, f"_to_{self.kind}")
        return convert(value)

    def _to_text(self, value: Any) -> Any:
        return value if isinstance(value, str) else str(value)

    def _to_int(self, value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, float | decimal.Decimal) and value == int(value):
            return int(value)
        text = str(value).strip().replace("_", "")
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        raise ValueError(f"{str(value)!r} is not a whole number: type digits only, e.g. 3")

    def _to_float(self, value: Any) -> float:
        if isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            raise ValueError(f"{str(value)!r} is not a number, e.g. 2.5") from None

    def _to_decimal(self, value: Any) -> decimal.Decimal:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a decimal number")
        if isinstance(value, decimal.Decimal):
            result = value
        elif isinstance(value, int):
            result = decimal.Decimal(value)
        else:
            text = str(value).strip()
            if _GROUPED.fullmatch(text):
                text = text.replace(",", "")
            try:
                result = decimal.Decimal(text)
            except decimal.InvalidOperation:
                raise ValueError(
                    f"{str(value)!r} is not a decimal number: write digits with a point, "
                    "e.g. 450.00"
                ) from None
        if not result.is_finite():
            raise ValueError(f"{str(value)!r} is not a finite amount: write e.g. 450.00")
        return result

    def _to_bool(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{str(value)!r} is not yes or no: write true or false")

    def _to_date(self, value: Any) -> _dt.date:
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        text = str(value).strip()
        try:
            return _dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2018-03-07"
            ) from None

    def _to_datetime(self, value: Any) -> _dt.datetime:
        if isinstance(value, _dt.datetime):
            result = value
        elif isinstance(value, _dt.date):
            result = _dt.datetime(value.year, value.month, value.day)
        else:
            text = str(value).strip()
            try:
                result = _dt.datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"{text!r} is not a date and time: write it as YYYY-MM-DD HH:MM, "
                    "e.g. 2018-03-07 09:30"
                ) from None
        if result.tzinfo is None:
            result = result.replace(tzinfo=_dt.UTC)
        return result

    def _to_choice(self, value: Any) -> Any:
        if value in self.choices:
            return value
        text = str(value).strip()
        for choice in self.choices:
            names = {str(choice)}
            if isinstance(choice, enum.Enum):
                names |= {choice.name, str(choice.value)}
            if text in names:
                return choice
        allowed = ", ".join(_choice_text(c) for c in self.choices)
        raise ValueError(f"{text!r} is not one of the choices: {allowed}")

    def _to_aggregate_id(self, value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            return value if self.id_type != "str" else str(value)
        text = str(value).strip()
        if self.id_type == "str":
            return text
        try:
            return uuid.UUID(text)
        except ValueError:
            if self.id_type == "any":
                return text
            what = f"{self.stream_kind} id" if self.stream_kind else "id"
            raise ValueError(
                f"{text!r} is not a {what}: pick one of the existing streams, or paste a "
                "UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427"
            ) from None

    def _to_mapping(self, value: Any) -> dict[Any, Any]:
        key_field = self.key or Field("key")
        value_field = self.value or Field("value")
        if isinstance(value, Mapping):
            items = list(value.items())
        else:
            text = str(value).strip()
            if text.startswith("{"):
                try:
                    loaded = json.loads(text)
                except json.JSONDecodeError as e:
                    raise ValueError(f"cannot read {text!r} as JSON: {e.msg}") from None
                if not isinstance(loaded, dict):
                    raise ValueError(f"{text!r} is not a mapping of names to values")
                items = list(loaded.items())
            else:
                items = []
                for part in re.split(r"[,;\n]", text):
                    if not part.strip():
                        continue
                    pieces = re.split(r"\s*[=:]\s*", part.strip(), maxsplit=1)
                    if len(pieces) != 2 or not pieces[0]:
                        raise ValueError(
                            f"cannot read {part.strip()!r}: write name=value pairs, "
                            "e.g. Standard=2, Student=1"
                        )
                    items.append((pieces[0], pieces[1]))
        result: dict[Any, Any] = {}
        for k, v in items:
            if key_field.is_empty(k):
                raise ValueError("an entry has no name: fill in the name or remove the row")
            try:
                ck = key_field.convert(k.strip() if isinstance(k, str) else k)
            except ValueError as e:
                raise ValueError(f"name {k!r}: {e}") from None
            try:
                result[ck] = value_field.convert(v)
            except ValueError as e:
                raise ValueError(f"{ck}: {e}") from None
        return result

    def _to_list(self, value: Any) -> Any:
        item_field = self.value or Field("item")
        if isinstance(value, str):
            separator = "\n" if "\n" in value else ","
            raw: list[Any] = [p.strip() for p in value.split(separator) if p.strip()]
        elif isinstance(value, Iterable):
            raw = [v for v in value if not item_field.is_empty(v)]
        else:
            raw = [value]
        items = []
        for i, item in enumerate(raw, start=1):
            try:
                items.append(item_field.convert(item))
            except ValueError as e:
                raise ValueError(f"item {i}: {e}") from None
        factory: Callable[[list[Any]], Any] = {
            "tuple": tuple,
            "set": set,
            "frozenset": frozenset,
        }.get(self.container, list)
        return factory(items)


_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def _choice_text(choice: Any) -> str:
    return choice.name if isinstance(choice, enum.Enum) else str(choice)


def _stream_kind_from_name(name: str) -> str:
    base = name.lower()
    for suffix in ("_ids", "_id", "_uuid", "_key"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    if base in ("", "id", "aggregate", "stream", "originator", "entity", "uuid"):
        return ""
    return base


def _is_id_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in ("id", "uuid") or lowered.endswith(("_id", "_uuid"))


def _classify(tp: Any, name: str, default: Any) -> tuple[dict[str, Any], bool]:
    """Field settings for a resolved type; the bool says whether the type was understood."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _classify(args[0], name, default)
    if origin in (typing.Union, UnionType):
        rest = [a for a in args if a is not NoneType]
        nullable = len(rest) < len(args)
        if len(rest) == 1:
            settings, ok = _classify(rest[0], name, default)
            if nullable:
                settings["nullable"] = True
            return settings, ok
        return {"kind": "text", "nullable": nullable}, False
    if origin is Literal:
        return {"kind": "choice", "choices": tuple(args)}, True
    if hasattr(tp, "__supertype__"):  # typing.NewType
        return _classify(tp.__supertype__, name, default)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"kind": "choice", "choices": tuple(tp)}, True
    if tp is bool:
        return {"kind": "bool"}, True
    if tp is int:
        return {"kind": "int"}, True
    if tp is float:
        return {"kind": "float"}, True
    if tp is decimal.Decimal:
        return {"kind": "decimal"}, True
    if tp is _dt.datetime:
        return {"kind": "datetime"}, True
    if tp is _dt.date:
        return {"kind": "date"}, True
    if tp is uuid.UUID:
        return {
            "kind": "aggregate_id",
            "id_type": "uuid",
            "stream_kind": _stream_kind_from_name(name),
        }, True
    if tp is str:
        if _is_id_name(name):
            return {
                "kind": "aggregate_id",
                "id_type": "str",
                "stream_kind": _stream_kind_from_name(name),
            }, True
        return {"kind": "text"}, True
    container = origin or tp
    if isinstance(container, type) and issubclass(container, Mapping | dict):
        key_tp, value_tp = args if len(args) == 2 else (str, str)
        key_settings, _ = _classify(key_tp, "key", None)
        value_settings, _ = _classify(value_tp, _singular(name), None)
        return {
            "kind": "mapping",
            "key": Field("key", **_scalar(key_settings)),
            "value": Field(_singular(name), **_scalar(value_settings)),
        }, True
    if isinstance(container, type) and issubclass(container, list | tuple | set | frozenset):
        item_tp = args[0] if args else str
        item_settings, _ = _classify(item_tp, _singular(name), None)
        kind_name = next(
            (c.__name__ for c in (frozenset, set, tuple) if issubclass(container, c)), "list"
        )
        return {
            "kind": "list",
            "value": Field(_singular(name), **_scalar(item_settings)),
            "container": kind_name,
        }, True
    if isinstance(container, type) and container in (
        collections.abc.Sequence,
        collections.abc.Iterable,
        collections.abc.Collection,
        collections.abc.MutableSequence,
    ):
        item_tp = args[0] if args else str
        item_settings, _ = _classify(item_tp, _singular(name), None)
        return {"kind": "list", "value": Field(_singular(name), **_scalar(item_settings))}, True
    return _guess(name, default), False


def _scalar(settings: dict[str, Any]) -> dict[str, Any]:
    if settings.get("kind") in ("mapping", "list"):
        return {"kind": "text"}
    return settings


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


_INT_NAMES = {"quantity", "count", "number", "capacity", "percent", "age", "size", "limit", "seats"}
_DECIMAL_NAMES = {"price", "amount", "total", "cost", "fee", "balance", "money", "rate", "budget"}


def _guess(name: str, default: Any) -> dict[str, Any]:
    """Field settings guessed from a parameter's default value or its name."""
    if default is not inspect.Parameter.empty and default is not None:
        for tp in (bool, int, float, decimal.Decimal, _dt.datetime, _dt.date, str):
            if isinstance(default, tp):
                settings, _ = _classify(tp, name, None)
                return settings
    lowered = name.lower()
    last = lowered.rsplit("_", 1)[-1]
    if _is_id_name(lowered):
        return {
            "kind": "aggregate_id",
            "id_type": "any",
            "stream_kind": _stream_kind_from_name(name),
        }
    if lowered == "quantities":
        return {"kind": "mapping", "key": Field("key"), "value": Field("quantity", "int")}
    if lowered in _INT_NAMES or last in _INT_NAMES:
        return {"kind": "int"}
    if lowered in _DECIMAL_NAMES or last in _DECIMAL_NAMES:
        return {"kind": "decimal"}
    if lowered.endswith("_on") or lowered in ("date", "day") or last == "date":
        return {"kind": "date"}
    if lowered.endswith("_at") or lowered in ("when", "time", "timestamp", "datetime"):
        return {"kind": "datetime"}
    if lowered.startswith(("is_", "has_", "can_", "should_")):
        return {"kind": "bool"}
    return {"kind": "text"}


def field_for(parameter: inspect.Parameter, hint: Any) -> Field:
    """The :class:`Field` for one parameter, given its resolved annotation (or ``empty``)."""
    default = parameter.default
    written = _annotation_text(parameter.annotation)
    note = ""
    if hint is inspect.Parameter.empty or hint is Any or hint is object:
        settings = _guess(parameter.name, default)
        reason = "no type hint" if hint is inspect.Parameter.empty else f"type {written}"
        note = f"{reason}: treated as {_KIND_WORDS[settings['kind']]} because of its " + (
            "default" if default is not inspect.Parameter.empty and default is not None else "name"
        )
    elif _is_unresolved(hint):
        settings = _guess(parameter.name, default)
        note = (
            f"type {written!r} cannot be resolved at run time (imported only for type "
            f"checking?): treated as {_KIND_WORDS[settings['kind']]} because of its name"
        )
    else:
        settings, understood = _classify(hint, parameter.name, default)
        if not understood:
            note = (
                f"type {written} has no input of its own: treated as "
                f"{_KIND_WORDS[settings['kind']]}"
            )
    has_default = default is not inspect.Parameter.empty
    nullable = bool(settings.pop("nullable", False)) or (has_default and default is None)
    return Field(
        name=parameter.name,
        required=not has_default and not nullable,
        default=default if has_default else None,
        nullable=nullable,
        keyword_only=parameter.kind is inspect.Parameter.KEYWORD_ONLY,
        positional_only=parameter.kind is inspect.Parameter.POSITIONAL_ONLY,
        annotation=written,
        note=note,
        **settings,
    )


# --- commands -------------------------------------------------------------------


class InvalidInput(ValueError):
    """Input that does not convert; ``errors`` maps each bad field to what is wrong.

    >>> str(InvalidInput({"price": "'abc' is not a decimal number"}))
    "price: 'abc' is not a decimal number"
    """

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))
