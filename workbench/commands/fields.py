"""One input per command parameter: what it takes and how input becomes the parameter's type.

A :class:`Field` (read from a parameter's annotation by
:func:`workbench.commands.parameters.field_for`, which has the table of which
annotation gives which input) converts what a form or a caller gives (text,
or already typed values) into that type, or raises ``ValueError`` with a
message that names the bad value, what would do and how to fix it. Nothing is
ever converted with ``str(value)`` of an object: a value that is not of the
expected kind is refused, so a command never records the repr of an object.

"Required" means *must be given*. Empty text, an empty list and an empty
mapping are values: a required ``str`` receives ``""`` (the domain decides
whether that is allowed). Only an optional parameter left empty falls back to
its default.

>>> Field("price", "decimal").convert(" 450.00 ")
Decimal('450.00')
>>> Field("n", "int").convert("2.5")
Traceback (most recent call last):
...
ValueError: '2.5' is not a whole number: it has a fraction; type digits only, e.g. 3
"""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import json
import math
import numbers
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import NoneType
from typing import Any, Literal

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
    "uuid",
    "mapping",
    "list",
    "object",
    "json",
]

MAX_DEPTH = 32
"""How deeply structured input (JSON, nested lists and mappings) may nest."""

_TRUE = {"true", "yes", "y", "1", "on", "x"}
_FALSE = {"false", "no", "n", "0", "off", ""}

KIND_WORDS: dict[str, str] = {
    "text": "text",
    "int": "whole number",
    "float": "number",
    "decimal": "decimal",
    "bool": "yes/no",
    "date": "date",
    "datetime": "date and time",
    "choice": "choice",
    "aggregate_id": "id",
    "uuid": "UUID",
    "mapping": "amount per name",
    "list": "list",
    "object": "object",
    "json": "JSON value",
}
"""The words a label uses for each kind."""

EMPTY_IS_A_VALUE = ("text", "list", "mapping", "json")
"""Kinds for which empty input is a value (``""``, ``[]``, ``{}``), not a missing one."""


class InvalidInput(ValueError):
    """Input that does not convert; ``errors`` maps each bad field to what is wrong.

    >>> str(InvalidInput({"price": "'abc' is not a decimal number"}))
    "price: 'abc' is not a decimal number"
    """

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


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
    """``True`` when the parameter must be given (no default, does not accept ``None``)."""
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
    """How the kind was guessed when the code does not say (``""`` when it does)."""
    members: tuple[Field, ...] = ()
    """For an ``object``: one field per argument of its class's constructor."""
    factory: Any = None
    """The class the converted value is built with (an ``object``'s class, a ``str``
    subclass ...); ``None`` when the converted value is used as it is."""
    unavailable: str = ""
    """Why no input can build this parameter (``""`` when one can)."""

    @property
    def type_name(self) -> str:
        """The name of the class an ``object`` (or a subclass of a simple type) is built as."""
        return getattr(self.factory, "__name__", "") if self.factory is not None else ""

    @property
    def label(self) -> str:
        """A human label: ``"starts on (date)"``, with ``*`` when required."""
        words = self.name.replace("_", " ")
        kind = KIND_WORDS[self.kind]
        if self.kind == "aggregate_id" and self.stream_kind:
            kind = f"id of a {self.stream_kind}"
        elif self.kind == "mapping" and self.value is not None:
            kind = f"{KIND_WORDS[self.value.kind]} per name"
        elif self.kind == "list" and self.value is not None:
            item = self.value.type_name or KIND_WORDS[self.value.kind]
            kind = f"list of {item}"
        elif self.kind == "object":
            kind = self.type_name
        guessed = " — guessed" if self.note else ""
        return f"{words} ({kind}{guessed}){' *' if self.required else ''}"

    @property
    def has_default(self) -> bool:
        return not self.required and not (self.nullable and self.default is None)

    @property
    def is_scalar(self) -> bool:
        """Whether one line of text can hold a value (not a list, mapping, object or JSON)."""
        return self.kind not in ("mapping", "list", "object", "json")

    def is_empty(self, value: Any) -> bool:
        """Whether ``value`` is blank: ``None``, blank text, an empty list or mapping."""
        if value is None:
            return True
        if isinstance(value, str):
            return not value.strip()
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            return not value
        return False

    def read(self, raw: Any) -> tuple[bool, Any]:
        """``(given, value)`` for one input, or raise ``ValueError``.

        ``given`` is ``False`` when the input is left to the parameter's default.
        ``None`` (nothing given) is refused when the parameter is required; other
        blank input is a value for text, lists and mappings (``""``, ``[]``, ``{}``).

        >>> Field("body").read("")
        (True, '')
        >>> Field("copies", "int").read("")
        Traceback (most recent call last):
        ...
        ValueError: required: enter a whole number
        >>> Field("copies", "int", required=False, default=1).read(" ")
        (False, None)
        """
        if self.unavailable:
            raise ValueError(self.unavailable)
        if raw is None or (self.is_empty(raw) and not self.required):
            if self.required:
                raise ValueError(self.required_message())
            return (False, None) if self.has_default else (True, None)
        if self.is_empty(raw) and self.kind not in EMPTY_IS_A_VALUE:
            raise ValueError(self.required_message())
        return True, self.convert(raw)

    def as_input(self, value: Any) -> Any:
        """``value`` as this parameter's input holds it, to fill a form (or raise ``ValueError``).

        Text for one-line kinds, a ``date``/``datetime``/``bool``/choice for the
        pickers, a dict of member inputs for an ``object``, names to texts for a
        ``mapping``, and JSON text for a list of structures. A value that does
        not convert is refused, as on submit: a form is never filled with a repr.

        >>> Field("tags", "list", value=Field("tag")).as_input(("sf", "classic"))
        'sf\\nclassic'
        """
        if value is None or (isinstance(value, str) and not value.strip() and self.kind in _PICKED):
            return None  # nothing picked
        if isinstance(value, str) and self.kind in _TYPED_AS_TEXT:
            return value  # what a user could type: checked on submit, as typed text is
        if self.kind == "object":
            if isinstance(value, str):
                value = _structured(value, "object")
            if self.factory is not None and isinstance(value, self.factory):
                value = {m.name: getattr(value, m.name, None) for m in self.members}
            if not isinstance(value, Mapping):
                self.convert(value)  # raises with the reason
            return {m.name: m.as_input(value.get(m.name)) for m in self.members}
        if self.kind == "mapping":
            value = _structured(value, "mapping")
            if isinstance(value, str):
                value = dict(_pairs(value))
            if not isinstance(value, Mapping):
                value = self.convert(value)  # raises with the reason
            item = self.value or Field("value")
            return {str(k): _as_text(item, v) for k, v in value.items()}
        if self.kind == "list":
            item = self.value or Field("item")
            if isinstance(value, str):
                return value
            items = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
            if item.is_scalar:
                return "\n".join(str(_as_text(item, v)) for v in items)
            return json.dumps([plain_data(item, v) for v in items], ensure_ascii=False)
        if self.kind == "json":
            return value if isinstance(value, str) else json.dumps(plain_data(self, value))
        converted = self.convert(value)
        if self.kind in ("bool", "date", "datetime", "choice"):
            return converted
        return value if isinstance(value, str) else str(converted)

    def check(self, raw: Any) -> str:
        """The message :meth:`read` gives for ``raw``, or ``""`` when it reads."""
        try:
            self.read(raw)
        except ValueError as e:
            return str(e)
        return ""

    def required_message(self) -> str:
        what = self.type_name if self.kind == "object" else KIND_WORDS[self.kind]
        article = "an" if what[:1].lower() in "aeiou" else "a"
        return f"required: enter {article} {what}" + (
            f" ({self.stream_kind} id)" if self.stream_kind else ""
        )

    def convert(self, value: Any) -> Any:
        """Convert widget, text or typed input to this parameter's type, or raise ``ValueError``."""
        return self._convert(value, 0)

    def _convert(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError(_too_deep())
        if self.unavailable:
            raise ValueError(self.unavailable)
        if self.kind in ("mapping", "list", "object", "json"):
            value = _structured(value, self.kind)
            if depth == 0:
                _check_depth(value)
        convert: Callable[[Any, int], Any] = getattr(self, f"_to_{self.kind}")
        result = convert(value, depth)
        if (
            self.factory is not None
            and self.kind != "object"
            and not isinstance(result, self.factory)
        ):
            result = _build(self.factory, (result,), {})
        return result

    def _to_text(self, value: Any, depth: int) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float | decimal.Decimal | uuid.UUID) and not isinstance(
            value, bool
        ):
            return str(value)
        raise ValueError(
            f"expects text, got {_what(value)}: enter text (a value is never stored as "
            "the repr of an object)"
        )

    def _to_int(self, value: Any, depth: int) -> int:
        if isinstance(value, bool):
            raise ValueError(f"{_shown(value)} is not a whole number: type digits only, e.g. 3")
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real) and not isinstance(value, float):
            if not math.isfinite(float(value)):
                raise ValueError(f"{_shown(value)} is not a whole number: type digits only, e.g. 3")
            whole = math.floor(value)
            if value != whole:
                raise ValueError(
                    f"{_shown(value)} is not a whole number: it has a fraction; "
                    "type digits only, e.g. 3"
                )
            return int(whole)
        if isinstance(value, float | decimal.Decimal):
            number = decimal.Decimal(str(value)) if isinstance(value, float) else value
            if not number.is_finite():
                raise ValueError(f"{_shown(value)} is not a whole number: type digits only, e.g. 3")
            if number != number.to_integral_value():
                raise ValueError(
                    f"{_shown(value)} is not a whole number: it has a fraction; "
                    "type digits only, e.g. 3"
                )
            return int(number)
        if not isinstance(value, str):
            raise ValueError(f"expects a whole number, got {_what(value)}: type digits, e.g. 3")
        text = value.strip().replace("_", "")
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        fraction = ""
        with _suppress_decimal():
            number = decimal.Decimal(text)
            if number.is_finite() and number != number.to_integral_value():
                fraction = "it has a fraction; "
        raise ValueError(
            f"{_shown(value)} is not a whole number: {fraction}type digits only, e.g. 3"
        )

    def _to_float(self, value: Any, depth: int) -> float:
        if isinstance(value, bool):
            raise ValueError(f"{_shown(value)} is not a number: write e.g. 2.5")
        if isinstance(value, numbers.Real | decimal.Decimal):
            try:
                result = float(value)
            except (OverflowError, ValueError):
                result = math.inf
        elif isinstance(value, str):
            try:
                result = float(value.strip().replace("_", ""))
            except ValueError:
                raise ValueError(f"{_shown(value)} is not a number: write e.g. 2.5") from None
        else:
            raise ValueError(f"expects a number, got {_what(value)}: write e.g. 2.5")
        if not math.isfinite(result):
            raise ValueError(f"{_shown(value)} is not a finite number: write e.g. 2.5")
        return result

    def _to_decimal(self, value: Any, depth: int) -> decimal.Decimal:
        if isinstance(value, bool):
            raise ValueError(f"{_shown(value)} is not a decimal number: write e.g. 450.00")
        if isinstance(value, decimal.Decimal):
            result = value
        elif isinstance(value, numbers.Integral):
            result = decimal.Decimal(int(value))
        elif isinstance(value, numbers.Real):
            result = decimal.Decimal(str(float(value)))
        elif isinstance(value, str):
            text = value.strip()
            if _GROUPED.fullmatch(text):
                text = text.replace(",", "")
            try:
                result = decimal.Decimal(text)
            except decimal.InvalidOperation:
                raise ValueError(
                    f"{_shown(value)} is not a decimal number: write digits with a point, "
                    "e.g. 450.00"
                ) from None
        else:
            raise ValueError(f"expects a decimal number, got {_what(value)}: write e.g. 450.00")
        if not result.is_finite():
            raise ValueError(f"{_shown(value)} is not a finite amount: write e.g. 450.00")
        return result

    def _to_bool(self, value: Any, depth: int) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        text = value.strip().lower() if isinstance(value, str) else None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        shown = repr(value) if isinstance(value, str) else _what(value)
        raise ValueError(f"{shown} is not yes or no: write true or false")

    def _to_date(self, value: Any, depth: int) -> _dt.date:
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expects a date, got {_what(value)}: write e.g. 2018-03-07")
        text = value.strip()
        try:
            return _dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{_shown(text)} is not a date: write it as YYYY-MM-DD, e.g. 2018-03-07"
            ) from None

    def _to_datetime(self, value: Any, depth: int) -> _dt.datetime:
        if isinstance(value, _dt.datetime):
            result = value
        elif isinstance(value, _dt.date):
            result = _dt.datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            text = value.strip()
            try:
                result = _dt.datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"{_shown(text)} is not a date and time: write it as YYYY-MM-DD HH:MM, "
                    "e.g. 2018-03-07 09:30"
                ) from None
        else:
            raise ValueError(
                f"expects a date and time, got {_what(value)}: write e.g. 2018-03-07 09:30"
            )
        if result.tzinfo is None:
            result = result.replace(tzinfo=_dt.UTC)
        return result

    def _to_choice(self, value: Any, depth: int) -> Any:
        for choice in self.choices:
            if value is choice or (type(value) is type(choice) and value == choice):
                return choice
        text = value.strip() if isinstance(value, str) else None
        if text is not None:
            for choice in self.choices:
                names = {str(choice)}
                if isinstance(choice, enum.Enum):
                    names |= {choice.name, str(choice.value)}
                if text in names:
                    return choice
        allowed = ", ".join(choice_text(c) for c in self.choices)
        shown = repr(text) if text is not None else _what(value)
        raise ValueError(f"{shown} is not one of the choices: {allowed}")

    def _to_aggregate_id(self, value: Any, depth: int) -> Any:
        if isinstance(value, uuid.UUID):
            return value if self.id_type != "str" else str(value)
        if not isinstance(value, str):
            raise ValueError(
                f"expects an id, got {_what(value)}: pick one of the existing streams, or "
                "paste an id"
            )
        text = value.strip()
        if self.id_type == "str":
            return text
        try:
            return uuid.UUID(text)
        except ValueError:
            if self.id_type == "any":
                return text
            what = f"{self.stream_kind} id" if self.stream_kind else "id"
            raise ValueError(
                f"{_shown(text)} is not a {what}: pick one of the existing streams, or paste a "
                "UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427"
            ) from None

    def _to_uuid(self, value: Any, depth: int) -> uuid.UUID:
        if isinstance(value, uuid.UUID):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expects a UUID, got {_what(value)}: paste one as text")
        text = value.strip() if isinstance(value, str) else None
        try:
            return uuid.UUID(text or "")
        except ValueError:
            shown = repr(text) if text is not None else _what(value)
            raise ValueError(
                f"{shown} is not a UUID: paste one such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427"
            ) from None

    def _to_mapping(self, value: Any, depth: int) -> dict[Any, Any]:
        key_field = self.key or Field("key")
        value_field = self.value or Field("value")
        if isinstance(value, Mapping):
            items = list(value.items())
        elif isinstance(value, str):
            items = _pairs(value)
        else:
            raise ValueError(
                f"expects names and values, got {_what(value)}: write name=value pairs "
                "or a JSON object"
            )
        result: dict[Any, Any] = {}
        for k, v in items:
            if key_field.is_empty(k):
                raise ValueError("an entry has no name: fill in the name or remove the row")
            try:
                ck = key_field._convert(k.strip() if isinstance(k, str) else k, depth + 1)
            except ValueError as e:
                raise ValueError(f"name {_shown(k)}: {e}") from None
            try:
                result[ck] = value_field._convert(v, depth + 1)
            except ValueError as e:
                raise ValueError(f"{ck}: {e}") from None
        return result

    def _to_list(self, value: Any, depth: int) -> Any:
        item_field = self.value or Field("item")
        if isinstance(value, str):
            if not item_field.is_scalar and item_field.kind != "json":
                example = "[...]" if item_field.kind != "object" else "[{...}, {...}]"
                raise ValueError(
                    f"cannot read {_shown(value)} as a list: write it as JSON, e.g. {example}"
                )
            separator = "\n" if "\n" in value else ","
            raw: list[Any] = [p.strip() for p in value.split(separator) if p.strip()]
        elif isinstance(value, list | tuple | set | frozenset):
            raw = [v for v in value if not (isinstance(v, str) and not v.strip())]
        else:
            raise ValueError(
                f"expects a list, got {_what(value)}: write one item per line, or a JSON list"
            )
        items = []
        for i, item in enumerate(raw, start=1):
            try:
                items.append(item_field._convert(item, depth + 1))
            except ValueError as e:
                raise ValueError(f"item {i}: {e}") from None
        factory: Callable[[list[Any]], Any] = {
            "tuple": tuple,
            "set": set,
            "frozenset": frozenset,
        }.get(self.container, list)
        try:
            return factory(items)
        except TypeError as e:  # an unhashable item in a set
            raise ValueError(f"cannot make a {self.container} of these items: {e}") from None

    def _to_object(self, value: Any, depth: int) -> Any:
        cls = self.factory
        if cls is not None and isinstance(value, cls):
            return value
        if isinstance(value, list | tuple) and not isinstance(value, str):
            if len(value) > len(self.members):
                raise ValueError(
                    f"{self.type_name} takes {len(self.members)} values, got {len(value)}"
                )
            value = {m.name: v for m, v in zip(self.members, value, strict=False)}
        if not isinstance(value, Mapping):
            raise ValueError(
                f"expects {_a(self.type_name)}, got {_what(value)}: fill in its fields, or "
                f"write a JSON object such as {object_example(self)}"
            )
        try:
            args, kwargs = convert_all(self.members, value, self.type_name, depth + 1)
        except InvalidInput as e:
            raise ValueError("; ".join(f"{k}: {v}" for k, v in e.errors.items())) from None
        return _build(cls, tuple(args), kwargs)

    def _to_json(self, value: Any, depth: int) -> Any:
        return _plain_json(value, depth)


def _pairs(text: str) -> list[tuple[str, str]]:
    """``"Standard=2, Student=1"`` as ``[("Standard", "2"), ("Student", "1")]``."""
    items = []
    for part in re.split(r"[,;\n]", text.strip()):
        if not part.strip():
            continue
        pieces = re.split(r"\s*[=:]\s*", part.strip(), maxsplit=1)
        if len(pieces) != 2 or not pieces[0]:
            raise ValueError(
                f"cannot read {_shown(part.strip())}: write name=value pairs, "
                "e.g. Standard=2, Student=1 (or a JSON object)"
            )
        items.append((pieces[0], pieces[1]))
    return items


_PICKED = ("bool", "date", "datetime", "choice", "object")
_TYPED_AS_TEXT = ("text", "int", "float", "decimal", "aggregate_id", "uuid", "list", "json")


def _as_text(field: Field, value: Any) -> Any:
    """One value as the text of a one-line input (JSON for a structure)."""
    if isinstance(value, str):
        return value
    if field.is_scalar:
        shown = field.as_input(value)
        if isinstance(shown, enum.Enum):
            return shown.name
        if isinstance(shown, _dt.date):
            return shown.isoformat()
        return "" if shown is None else str(shown)
    if isinstance(value, str):
        return value
    return json.dumps(plain_data(field, value), ensure_ascii=False)


def plain_data(field: Field, value: Any) -> Any:
    """``value`` as JSON-ready data for ``field`` (objects as dicts of their members).

    >>> plain_data(Field("km", "decimal"), decimal.Decimal("460.5"))
    '460.5'
    """
    _check_depth(value)
    if value is None:
        return None
    if field.kind == "object":
        if field.factory is not None and isinstance(value, field.factory):
            return {m.name: plain_data(m, getattr(value, m.name, None)) for m in field.members}
        if isinstance(value, Mapping):
            members = {m.name: m for m in field.members}
            return {
                str(k): plain_data(members.get(str(k), Field("v", "json")), v)
                for k, v in value.items()
            }
    if isinstance(value, Mapping):
        item = field.value or Field("value", "json")
        return {str(k): plain_data(item, v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        item = field.value or Field("item", "json")
        return [plain_data(item, v) for v in value]
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.name
    raise ValueError(f"cannot show {_what(value)} as input: give plain values")


def convert_all(
    fields: Sequence[Field], inputs: Mapping[str, Any], owner: str, depth: int = 0
) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for ``fields`` from ``inputs``, or raise InvalidInput.

    Every field is read, so every message comes back at once; a name no field
    has is an error too.
    """
    errors: dict[str, str] = {}
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    names = [f.name for f in fields]
    for name in inputs:
        if name not in names:
            errors[str(name)] = (
                f"{owner} has no parameter {_shown(name)} (it has {', '.join(names) or 'none'})"
            )
    for f in fields:
        try:
            if depth > MAX_DEPTH:
                raise ValueError(_too_deep())
            given, value = f.read(inputs.get(f.name))
        except ValueError as e:
            errors[f.name] = str(e)
            continue
        except RecursionError:
            errors[f.name] = _too_deep()
            continue
        if not given:
            if f.positional_only:  # later positional arguments keep their places
                args.append(f.default)
            continue  # left to the default
        if f.positional_only:
            args.append(value)
        else:
            kwargs[f.name] = value
    if errors:
        raise InvalidInput(errors)
    return args, kwargs


def _build(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return cls(*args, **kwargs)
    except Exception as e:
        shown = ", ".join(
            [*map(_short_repr, args), *(f"{k}={_short_repr(v)}" for k, v in kwargs.items())]
        )
        raise ValueError(
            f"{cls.__name__}({shown}) refused these values: {describe_exception(e)}"
        ) from None


def describe_exception(error: BaseException) -> str:
    """``"TypeName: its text"``, safe even when the exception's ``__str__`` fails."""
    name = type(error).__name__
    try:
        text = str(error)
    except Exception as e:
        text = f"(its message cannot be shown: {type(e).__name__} in its __str__)"
    return f"{name}: {text}" if text else name


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:39] + "…"


def _shown(value: Any, limit: int = 60) -> str:
    """A value as a message quotes it: ``'2.5'``, cut short when long (never a huge echo)."""
    text = str(value) if not isinstance(value, str) else value
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _what(value: Any) -> str:
    """``"a list"``, ``"an Itinerary object"``: what a value is, never its repr."""
    name = type(value).__name__
    if isinstance(value, list | tuple | dict | set | frozenset):
        return _a(name)
    return _a(f"{name} object")


def _a(words: str) -> str:
    return ("an " if words[:1].lower() in "aeiou" else "a ") + words


def _too_deep() -> str:
    return (
        f"the input is nested more than {MAX_DEPTH} levels deep: flatten it "
        "(a command's input holds names, values, lists and small objects)"
    )


class _suppress_decimal:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> bool:
        return exc[0] is not None and issubclass(exc[0], ArithmeticError | ValueError)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number: write e.g. 2.5")


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, parse_float=decimal.Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise ValueError(
            f"cannot read {_shown(text)} as JSON: {e.msg} at character {e.pos + 1}"
        ) from None
    except RecursionError:
        raise ValueError(_too_deep()) from None


def _structured(value: Any, kind: str) -> Any:
    """Text that starts like JSON, read as JSON; anything else as it is."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if kind == "mapping" and text.startswith("{"):
        return _load_json(text)
    if kind == "list" and text.startswith("["):
        try:
            return _load_json(text)
        except ValueError:
            return value  # "[draft], later": a list of texts after all
    if kind == "object":
        if not text.startswith(("{", "[")):
            raise ValueError(
                f"cannot read {_shown(text)} as an object: write a JSON object, or fill in "
                "its fields"
            )
        return _load_json(text)
    if kind == "json":
        if (
            text[:1] in ("{", "[", '"')
            or text in ("true", "false", "null")
            or _NUMBER.fullmatch(text)
        ):
            try:
                return _load_json(text)
            except ValueError:
                if text[:1] in ("{", "[", '"'):
                    raise
        return value
    return value


_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def _check_depth(value: Any) -> None:
    """Refuse input nested deeper than :data:`MAX_DEPTH` (without recursing)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while stack:
        current, level = stack.pop()
        if level > MAX_DEPTH:
            raise ValueError(_too_deep())
        seen += 1
        if seen > 1_000_000:
            raise ValueError("the input holds more than a million values: give less")
        if isinstance(current, Mapping):
            stack.extend((v, level + 1) for v in current.values())
        elif isinstance(current, list | tuple | set | frozenset):
            stack.extend((v, level + 1) for v in current)


_JSON_SCALARS = (str, int, decimal.Decimal, uuid.UUID, _dt.date, _dt.datetime, NoneType)


def _plain_json(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(_too_deep())
    if isinstance(value, str):
        return _structured(value, "json") if depth == 0 else value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{_shown(value)} is not a finite number: write e.g. 2.5")
        return value
    if isinstance(value, decimal.Decimal) and not value.is_finite():
        raise ValueError(f"{_shown(value)} is not a finite number: write e.g. 2.5")
    if isinstance(value, (*_JSON_SCALARS, bool)):
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"the name {_shown(k)} is not text: names in a mapping are text")
            try:
                out[k] = _plain_json(v, depth + 1)
            except ValueError as e:
                raise ValueError(f"{k}: {e}") from None
        return out
    if isinstance(value, list | tuple):
        items = []
        for i, v in enumerate(value, start=1):
            try:
                items.append(_plain_json(v, depth + 1))
            except ValueError as e:
                raise ValueError(f"item {i}: {e}") from None
        return items
    raise ValueError(
        f"cannot store {_what(value)} here: give plain values (text, numbers, yes/no, "
        "lists, names and values)"
    )


_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def choice_text(choice: Any) -> str:
    """How a choice is shown and typed: an Enum member's name, else the value."""
    return choice.name if isinstance(choice, enum.Enum) else str(choice)


def object_example(field: Field) -> str:
    """A JSON object with the field's member names, e.g. ``{"street": ..., "city": ...}``."""
    samples = {
        "text": '"..."',
        "int": "1",
        "float": "1.5",
        "decimal": '"9.99"',
        "bool": "true",
        "date": '"2018-03-07"',
        "datetime": '"2018-03-07T09:30"',
        "choice": '"..."',
        "aggregate_id": '"<id>"',
        "uuid": '"<uuid>"',
        "mapping": "{}",
        "list": "[]",
        "object": "{...}",
        "json": "...",
    }
    parts = [f'"{m.name}": {samples[m.kind]}' for m in field.members]
    return "{" + ", ".join(parts) + "}"
