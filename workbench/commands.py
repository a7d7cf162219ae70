"""Task-based commands, discovered from any eventsourcing application.

A *command* is a public method of an application that changes state: "reserve
tickets", "pay", "cancel ticket". :class:`CommandSet` finds them, reads their
signatures (string annotations, names imported only for type checking,
defaults, keyword-only parameters, no annotations at all), turns user input
into the right types with a message per field, runs the command and reports
exactly which events it recorded, read back from the application's
notification log.

>>> from datetime import date
>>> from workbench.examples.ticketing import Ticketing
>>> from workbench.stores import open_app
>>> commands = CommandSet(open_app(Ticketing))
>>> [f.kind for f in commands["schedule_conference"].fields]
['text', 'text', 'date']
>>> result = commands.submit(
...     "schedule_conference", code="PHP18", name="ConFoo 2018", starts_on="2018-03-07"
... )
>>> result.outcome, [e.type_name for e in result.events]
('recorded', ['Conference.Scheduled'])
>>> commands.submit("schedule_conference", code="PHP18", name="x", starts_on="nope").errors
{'starts_on': "'nope' is not a date: write it as YYYY-MM-DD, e.g. 2018-03-07"}

An application author can say what is and is not a command::

    class Shop(Application):
        @command
        def get_or_open_basket(self, customer: str) -> UUID: ...   # listed after all

        @not_a_command
        def rebuild_cache(self) -> None: ...                       # left out
"""

from __future__ import annotations

import builtins
import collections.abc
import contextlib
import datetime as _dt
import decimal
import enum
import heapq
import inspect
import itertools
import json
import re
import typing
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from types import NoneType, UnionType
from typing import Any, Literal, TypeVar

from eventsourcing.application import Application
from eventsourcing.persistence import PersistenceError, RecordConflictError

from workbench import clock
from workbench.reading.decoding import Codec, short_name

__all__ = [
    "QUERY_PREFIXES",
    "Command",
    "CommandResult",
    "CommandSet",
    "Field",
    "FieldKind",
    "InvalidInput",
    "RecordedEvent",
    "StreamChoice",
    "command",
    "decode_payload",
    "discover_commands",
    "field_for",
    "not_a_command",
]

QUERY_PREFIXES = (
    "get_",
    "find_",
    "list_",
    "is_",
    "has_",
    "count_",
    "search_",
    "query_",
    "describe_",
    "show_",
    "can_",
)
"""Method names starting with these are queries, not commands (unless marked ``@command``)."""

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

_MARK = "__workbench_command__"
F = TypeVar("F", bound=Callable[..., Any])


def command(func: F) -> F:
    """Mark a method as a command, even if its name looks like a query.

    >>> class Shop:
    ...     @command
    ...     def get_or_open_basket(self, customer: str) -> None: ...
    >>> Shop.get_or_open_basket.__workbench_command__
    True
    """
    setattr(func, _MARK, True)
    return func


def not_a_command(func: F) -> F:
    """Mark a public method as *not* a command (a query, a helper, maintenance)."""
    setattr(func, _MARK, False)
    return func


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


@dataclass(frozen=True)
class Command:
    """A command of an application: its name, description and parameters."""

    name: str
    """The method name, e.g. ``reserve_tickets``."""
    doc: str
    """The first line of the method's docstring."""
    fields: tuple[Field, ...]
    """One per parameter, in declaration order."""
    skipped: tuple[str, ...] = ()
    """``*args`` / ``**kwargs`` parameters, which get no input."""

    @property
    def title(self) -> str:
        """``"Reserve tickets"``."""
        return self.name.replace("_", " ").strip().capitalize()

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no parameter {name!r}; it has {self._names()}")

    def _names(self) -> str:
        return ", ".join(f.name for f in self.fields) or "none"

    def convert(self, inputs: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Positional and keyword arguments for the call, or raise :class:`InvalidInput`.

        Every field is checked, so all the messages come back at once.
        """
        errors: dict[str, str] = {}
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for name in inputs:
            if name not in {f.name for f in self.fields}:
                errors[name] = f"{self.name} has no parameter {name!r} (it has {self._names()})"
        for f in self.fields:
            raw = inputs.get(f.name)
            if f.is_empty(raw):
                if f.required:
                    errors[f.name] = f"required: enter a {_KIND_WORDS[f.kind]}" + (
                        f" ({f.stream_kind} id)" if f.stream_kind else ""
                    )
                    continue
                if f.nullable and not f.has_default:
                    value = None
                else:
                    continue  # leave it to the default
            else:
                try:
                    value = f.convert(raw)
                except ValueError as e:
                    errors[f.name] = str(e)
                    continue
            if f.positional_only:
                args.append(value)
            else:
                kwargs[f.name] = value
        if errors:
            raise InvalidInput(errors)
        return args, kwargs


def _is_query_name(name: str) -> bool:
    return name.startswith(QUERY_PREFIXES)


def discover_commands(app_class: type[Any] | Any) -> dict[str, Command]:
    """The commands of an application class (or instance), by name, in source order.

    Public methods defined by the application (not by eventsourcing), minus
    queries (names starting with ``get_``, ``find_``, ``list_``, ``is_``,
    ``has_`` ...) and methods marked :func:`not_a_command`; plus anything
    marked :func:`command`.

    >>> from workbench.examples.ticketing import Ticketing
    >>> list(discover_commands(Ticketing))[:3]
    ['schedule_conference', 'add_ticket_type', 'end_ticket_sale']
    """
    cls = app_class if isinstance(app_class, type) else type(app_class)
    found: dict[str, Command] = {}
    seen: set[str] = set()
    for klass in reversed(cls.__mro__):
        if klass is object or klass.__module__.split(".")[0] == "eventsourcing":
            seen.update(vars(klass))
            continue
        for name, member in vars(klass).items():
            func = member.__func__ if isinstance(member, staticmethod | classmethod) else member
            if not callable(func) or isinstance(member, (type, property)):
                found.pop(name, None)
                continue
            mark = getattr(func, _MARK, None)
            if mark is None:
                if (
                    name.startswith("_")
                    or _is_query_name(name)
                    or name in seen
                    or isinstance(member, staticmethod | classmethod)
                ):
                    found.pop(name, None)
                    continue
            elif not mark:
                found.pop(name, None)
                continue
            found.pop(name, None)
            found[name] = _command_from(cls, klass, name, func)
    return found


def _command_from(cls: type[Any], klass: type[Any], name: str, func: Callable[..., Any]) -> Command:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return Command(name, _first_line(func), ())
    module = inspect.getmodule(func)
    namespaces: list[Mapping[str, Any]] = [
        getattr(func, "__globals__", None) or (vars(module) if module else {}),
        dict(vars(klass)),
        dict(vars(cls)),
    ]
    fields = []
    skipped = []
    params = list(signature.parameters.values())
    if (
        params
        and params[0].name in ("self", "cls")
        and not isinstance(inspect.getattr_static(klass, name), staticmethod)
    ):
        params = params[1:]
    for p in params:
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            skipped.append(p.name)
            continue
        hint = _resolve(p.annotation, namespaces)
        try:
            fields.append(field_for(p, hint))
        except Exception as e:  # never crash on an odd annotation
            fields.append(
                Field(
                    p.name,
                    required=p.default is inspect.Parameter.empty,
                    default=None if p.default is inspect.Parameter.empty else p.default,
                    annotation=_annotation_text(p.annotation),
                    note=f"type could not be read ({e}): treated as text",
                )
            )
    return Command(name, _first_line(func), tuple(fields), tuple(skipped))


def _first_line(func: Callable[..., Any]) -> str:
    doc = inspect.getdoc(func) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


# --- results --------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedEvent:
    """One event a command recorded, read back from the notification log."""

    position: int
    """Its position in the application's notification log."""
    stream_id: str
    """The aggregate (originator) id."""
    version: int
    """The aggregate version this event made."""
    topic: str
    """The stored topic, ``module:Class.Event``."""
    payload: dict[str, Any]
    """The event's attributes, decoded (``timestamp`` is separate)."""
    timestamp: Any = None
    """When it happened, if the event carries a timestamp."""

    @property
    def type_name(self) -> str:
        """``"TicketPurchase.Paid"``."""
        return short_name(self.topic)

    def as_row(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "type": self.type_name,
            "stream": self.stream_id,
            "version": self.version,
            "payload": self.payload,
        }


Outcome = Literal["recorded", "nothing recorded", "invalid", "refused", "conflict", "store error"]


@dataclass
class CommandResult:
    """What happened when a command was submitted (one row of the history)."""

    command: str
    """The command's name."""
    inputs: dict[str, Any]
    """What was entered."""
    submitted_at: _dt.datetime
    """When (by :mod:`workbench.clock`)."""
    outcome: Outcome
    """``recorded``, ``nothing recorded`` (ran, no events), ``invalid`` (input did not
    convert; not run), ``refused`` (the domain said no), ``conflict`` (someone else
    changed the aggregate first), ``store error``."""
    arguments: dict[str, Any] = field(default_factory=dict)
    """The converted arguments the command was called with."""
    events: list[RecordedEvent] = field(default_factory=list)
    """The events the call recorded, oldest first."""
    errors: dict[str, str] = field(default_factory=dict)
    """Field-level messages when ``invalid``."""
    message: str = ""
    """The refusal, conflict or store error, in words."""
    returned: Any = None
    """What the command returned (e.g. a new aggregate id)."""
    position_before: int = 0
    """The log position before the call."""
    duration_ms: float = 0.0
    """How long the call took (conversion, command, reading the events back)."""

    @property
    def ok(self) -> bool:
        return self.outcome in ("recorded", "nothing recorded")

    def summary(self) -> str:
        """One line: ``reserve_tickets: recorded 2 events`` or the refusal."""
        if self.outcome == "recorded":
            n = len(self.events)
            return f"{self.command}: recorded {n} event{'s' if n != 1 else ''}"
        if self.outcome == "invalid":
            return f"{self.command}: not run — " + "; ".join(
                f"{k}: {v}" for k, v in self.errors.items()
            )
        if self.outcome == "nothing recorded":
            return f"{self.command}: ran, recorded no events"
        return f"{self.command}: {self.outcome} — {self.message}"

    def _repr_html_(self) -> str:
        import html

        colour = "#1b5e20" if self.ok else "#b00020"
        rows = "".join(
            f"<tr><td>{e.position}</td><td><b>{html.escape(e.type_name)}</b></td>"
            f"<td><code>{html.escape(e.stream_id[:8])}…</code></td><td>{e.version}</td>"
            f"<td><code>{html.escape(str(e.payload)[:160])}</code></td></tr>"
            for e in self.events
        )
        table = (
            "<table><tr><th>position</th><th>event</th><th>stream</th><th>version</th>"
            f"<th>payload</th></tr>{rows}</table>"
            if rows
            else ""
        )
        return f"<p style='color:{colour}'>{html.escape(self.summary())}</p>{table}"

    def as_row(self) -> dict[str, Any]:
        return {
            "when": self.submitted_at.isoformat(timespec="seconds"),
            "command": self.command,
            "arguments": self.arguments or self.inputs,
            "outcome": self.outcome,
            "events": ", ".join(e.type_name for e in self.events),
            "message": self.message or "; ".join(f"{k}: {v}" for k, v in self.errors.items()),
        }


def decode_payload(app: Application[Any], state: bytes) -> dict[str, Any]:
    """An event's stored state as a dict, decoded as every reader decodes it.

    Decrypts and decompresses first when the application does; topics are not
    imported (see :mod:`workbench.reading.decoding`).
    """
    return Codec.of_app(app).payload(state)


@dataclass(frozen=True)
class StreamChoice:
    """An existing stream an aggregate-id input can offer."""

    stream_id: str
    """The aggregate id."""
    kind: str
    """The aggregate class name from the stream's topics, e.g. ``TicketPurchase``."""
    version: int
    """The newest version seen."""
    position: int
    """The position of its newest event seen."""
    description: str = ""
    """A few words from its first event (a name, code or reference) when there are any."""

    @property
    def label(self) -> str:
        short = self.stream_id[:8]
        words = f" · {self.description}" if self.description else ""
        return f"{self.kind} {short}…{words} (v{self.version})"


def _aggregate_kind(topic: str) -> str:
    qualname = short_name(topic)
    parts = qualname.split(".")
    return parts[-2] if len(parts) >= 2 else parts[0]


_DESCRIPTIVE = ("name", "title", "code", "reference", "customer", "company", "label", "email")


class _StreamIndex:
    """Which streams exist, of which kind, from the newest events backwards (lazily).

    Per aggregate kind, an ordered dict of stream id -> (version, position), oldest
    activity first, so the newest streams of a kind come straight off its end.
    """

    def __init__(self, app: Application[Any], page: int = 20_000, budget: int = 200_000) -> None:
        self.app = app
        self.page = page
        self.budget = budget
        self.kinds: dict[str, OrderedDict[str, tuple[int, int]]] = {}
        self.low: int | None = None  # lowest position scanned
        self.high = 0  # highest position scanned
        self.descriptions: dict[str, str] = {}

    def _fetch(self, after: int, upto: int) -> list[Any]:
        """Every notification with ``after < position <= upto``, oldest first."""
        out: list[Any] = []
        start = after
        while start < upto:
            batch = self.app.recorder.select_notifications(
                start, self.page, stop=upto, inclusive_of_start=False
            )
            if not batch:
                break
            out.extend(batch)
            start = batch[-1].id
        return out

    def _note_newer(self, notifications: list[Any]) -> None:
        for n in notifications:
            streams = self.kinds.setdefault(_aggregate_kind(n.topic), OrderedDict())
            sid = str(n.originator_id)
            streams[sid] = (n.originator_version, n.id)
            streams.move_to_end(sid)

    def _note_older(self, notifications: list[Any]) -> None:
        for n in reversed(notifications):
            streams = self.kinds.setdefault(_aggregate_kind(n.topic), OrderedDict())
            sid = str(n.originator_id)
            if sid not in streams:
                streams[sid] = (n.originator_version, n.id)
                streams.move_to_end(sid, last=False)

    def _matching_kinds(self, stream_kind: str) -> list[str]:
        wanted = stream_kind.replace("_", "").lower()
        return [k for k in self.kinds if not wanted or wanted in k.lower() or k.lower() in wanted]

    def choices(self, stream_kind: str, limit: int) -> tuple[list[StreamChoice], str]:
        top = int(self.app.recorder.max_notification_id() or 0)
        if self.low is None:
            self.low = top + 1
            self.high = top
        elif top > self.high:
            self._note_newer(self._fetch(self.high, top))
            self.high = top
        while self.low > 1 and top - self.low + 1 < self.budget:
            kinds = self._matching_kinds(stream_kind)
            if sum(len(self.kinds[k]) for k in kinds) >= limit:
                break
            start = max(0, self.low - 1 - self.page)
            self._note_older(self._fetch(start, self.low - 1))
            self.low = start + 1
        kinds = self._matching_kinds(stream_kind)
        note = ""
        if not kinds and stream_kind:
            note = (
                f"no streams whose kind matches {stream_kind!r} (kinds seen: "
                f"{', '.join(sorted(self.kinds)) or 'none'}); showing all streams"
            )
            kinds = list(self.kinds)
        if self.low > 1:
            note = (note + "; " if note else "") + (
                f"showing streams from the newest {top - self.low + 1:,} events"
            )
        newest = [
            (kind, sid, info)
            for kind in kinds
            for sid, info in itertools.islice(reversed(self.kinds[kind].items()), limit)
        ]
        ordered = heapq.nlargest(limit, newest, key=lambda item: item[2][1])
        choices = [
            StreamChoice(sid, kind, version, pos, self._describe(sid))
            for kind, sid, (version, pos) in ordered
        ]
        return choices, note

    def _describe(self, stream_id: str) -> str:
        if stream_id in self.descriptions:
            return self.descriptions[stream_id]
        text = ""
        try:
            originator: Any = uuid.UUID(stream_id)
        except ValueError:
            originator = stream_id
        try:
            first = self.app.recorder.select_events(originator, lte=1, limit=1)
            if first:
                payload = decode_payload(self.app, first[0].state)
                words = [str(payload[k]) for k in _DESCRIPTIVE if isinstance(payload.get(k), str)]
                text = " · ".join(w[:30] for w in words[:2])
        except Exception:
            text = ""
        self.descriptions[stream_id] = text
        return text


class CommandSet:
    """The commands of one open application, ready to run, with a history.

    >>> from workbench.examples.ticketing import Ticketing
    >>> from workbench.stores import open_app
    >>> commands = CommandSet(open_app(Ticketing))
    >>> "pay" in commands and "get_purchase" not in commands
    True
    >>> commands.submit("pay", purchase_id="not-an-id", payment_reference="x",
    ...                 delegates="Ada").outcome
    'invalid'
    """

    def __init__(
        self,
        app: Application[Any],
        *,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
    ) -> None:
        self.app = app
        found = discover_commands(app)
        if include is not None:
            wanted = list(include)
            unknown = [n for n in wanted if n not in found]
            if unknown:
                raise KeyError(
                    f"{type(app).__name__} has no command {', '.join(map(repr, unknown))}; "
                    f"its commands are {', '.join(found) or 'none'}"
                )
            found = {n: found[n] for n in wanted}
        for name in exclude:
            found.pop(name, None)
        self.commands: dict[str, Command] = found
        """The commands, by name."""
        self.history: list[CommandResult] = []
        """Every submission, oldest first."""
        self._listeners: list[Callable[[CommandResult], None]] = []
        self._index = _StreamIndex(app)

    def __contains__(self, name: object) -> bool:
        return name in self.commands

    def __iter__(self) -> collections.abc.Iterator[Command]:
        return iter(self.commands.values())

    def __len__(self) -> int:
        return len(self.commands)

    def __getitem__(self, name: str) -> Command:
        try:
            return self.commands[name]
        except KeyError:
            raise KeyError(
                f"{type(self.app).__name__} has no command {name!r}; its commands are "
                f"{', '.join(self.commands) or 'none'}"
            ) from None

    def __repr__(self) -> str:
        return f"<CommandSet of {type(self.app).__name__}: {', '.join(self.commands)}>"

    def subscribe(self, callback: Callable[[CommandResult], None]) -> None:
        """Call ``callback(result)`` after every submission (for views that follow along)."""
        self._listeners.append(callback)

    def position(self) -> int:
        """The newest position in the application's notification log (0 when empty)."""
        return int(self.app.recorder.max_notification_id() or 0)

    def events_after(self, position: int, limit: int = 1000) -> list[RecordedEvent]:
        """Events recorded after ``position``, decoded, oldest first (at most ``limit``)."""
        out: list[RecordedEvent] = []
        start = position
        while len(out) < limit:
            want = min(500, limit - len(out))
            notifications = self.app.recorder.select_notifications(
                start, want, inclusive_of_start=False
            )
            for n in notifications:
                try:
                    payload = decode_payload(self.app, n.state)
                except Exception as e:
                    payload = {"<undecodable>": f"{type(e).__name__}: {e}"}
                timestamp = payload.pop("timestamp", None)
                out.append(
                    RecordedEvent(
                        n.id,
                        str(n.originator_id),
                        n.originator_version,
                        n.topic,
                        payload,
                        timestamp,
                    )
                )
            if len(notifications) < want:
                break
            start = notifications[-1].id
        return out

    def existing_streams(
        self, field_or_kind: Field | str = "", limit: int = 200
    ) -> tuple[list[StreamChoice], str]:
        """Existing streams an id input can offer, newest activity first, and a note.

        The kind comes from the field (``purchase_id`` → streams whose aggregate
        class name contains ``Purchase``), or is given as text. The note says
        when the list falls back to all streams or covers only the newest events.
        """
        kind = field_or_kind.stream_kind if isinstance(field_or_kind, Field) else field_or_kind
        return self._index.choices(kind, limit)

    def submit(
        self, name: str, inputs: Mapping[str, Any] | None = None, /, **more: Any
    ) -> CommandResult:
        """Convert the inputs, run the command, and report what it recorded.

        Never raises for bad input or a refusal: the result says what happened
        (see :attr:`CommandResult.outcome`) and goes into :attr:`history`.
        """
        cmd = self[name]
        entered = {**(inputs or {}), **more}
        started = perf_counter()
        result = CommandResult(name, entered, clock.now(), "invalid")
        try:
            args, kwargs = cmd.convert(entered)
        except InvalidInput as e:
            result.errors = e.errors
            return self._finish(result, started)
        result.arguments = {**{f.name: a for f, a in zip(cmd.fields, args, strict=False)}, **kwargs}
        before = self.position()
        result.position_before = before
        method = getattr(self.app, name)
        try:
            result.returned = method(*args, **kwargs)
            failure: BaseException | None = None
        except RecordConflictError as e:
            failure = e
            result.outcome = "conflict"
            self._forget_cached(cmd, result.arguments)
            result.message = (
                "someone else changed "
                + self._ids_text(cmd, result.arguments)
                + " after this command read it, so nothing was recorded. "
                "Look at the newest events and submit again."
            )
        except PersistenceError as e:
            failure = e
            result.outcome = "store error"
            result.message = f"the event store refused the write ({type(e).__name__}: {e})"
        except Exception as e:
            failure = e
            result.outcome = "refused"
            result.message = str(e) or type(e).__name__
        result.events = self.events_after(before)
        if failure is None:
            result.outcome = "recorded" if result.events else "nothing recorded"
        elif result.events:
            result.message += (
                f" (note: {len(result.events)} event(s) were recorded before it failed)"
            )
        return self._finish(result, started)

    def _finish(self, result: CommandResult, started: float) -> CommandResult:
        result.duration_ms = (perf_counter() - started) * 1000
        self.history.append(result)
        for listener in list(self._listeners):
            listener(result)
        return result

    def _ids_text(self, cmd: Command, arguments: Mapping[str, Any]) -> str:
        ids = [
            f"{f.stream_kind or 'aggregate'} {arguments[f.name]}"
            for f in cmd.fields
            if f.kind == "aggregate_id" and f.name in arguments
        ]
        return " and ".join(ids) if ids else "the aggregate"

    def _forget_cached(self, cmd: Command, arguments: Mapping[str, Any]) -> None:
        """Drop stale cached aggregates, so that submitting again reads fresh state."""
        cache = getattr(self.app.repository, "cache", None)
        if not cache:
            return
        for f in cmd.fields:
            if f.kind == "aggregate_id" and f.name in arguments:
                with contextlib.suppress(KeyError, TypeError):
                    cache.get(arguments[f.name], evict=True)

    def history_rows(self) -> list[dict[str, Any]]:
        """The history as rows (newest last), ready for a table."""
        return [r.as_row() for r in self.history]

    def _repr_html_(self) -> str:
        import html

        items = "".join(
            f"<li><b>{html.escape(c.title)}</b>"
            f"({html.escape(', '.join(f.label for f in c.fields))})"
            f"{' — ' + html.escape(c.doc) if c.doc else ''}</li>"
            for c in self
        )
        return f"<p>Commands of <b>{html.escape(type(self.app).__name__)}</b></p><ul>{items}</ul>"
