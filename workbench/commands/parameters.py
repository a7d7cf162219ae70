"""From a parameter to its :class:`~workbench.commands.fields.Field`: reading annotations.

Which annotation gives which input:

==================================================  ===========================================
annotation                                          input (``Field.kind``)
==================================================  ===========================================
``str``, ``int``, ``float``, ``Decimal``, ``bool``  ``text``, ``int``, ``float``, ``decimal``,
                                                    ``bool`` (a subclass is built from the value)
``date``, ``datetime``                              ``date``, ``datetime`` (no zone → UTC)
an ``Enum``, a ``Literal``                          ``choice``
``UUID`` (or ``str``) named ``*_id``                ``aggregate_id``: existing streams, or paste
``UUID`` otherwise                                  ``uuid``
``dict[K, V]``, ``Mapping[K, V]``                   ``mapping``: ``name=value`` pairs or JSON
``list[T]``, ``tuple[T, ...]``, ``set[T]``          ``list``: one per line, or JSON
a dataclass, a ``NamedTuple``, a class whose        ``object``: a sub-form (or a JSON object),
constructor takes typed simple values               one :attr:`Field.members` per argument
``Any`` inside a mapping or a list                  ``json``: any JSON value
``X | None``                                        as ``X``, and empty gives ``None``
==================================================  ===========================================

A parameter without an annotation (or ``Any``) is guessed from its default or
its name, and says so (:attr:`Field.note`). Any other type (a name that cannot
be resolved at run time, an abstract class, a union of several types, a class
whose constructor is not typed) gets no input: :attr:`Field.unavailable` says
why, and the command is shown disabled.

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
from types import ModuleType, NoneType, UnionType
from typing import Any, Literal

from workbench.commands.fields import KIND_WORDS, Field

MAX_OBJECT_DEPTH = 4
"""How many classes deep a sub-form may go (an object in an object in ...)."""


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

    >>> import workbench.commands.parameters as me
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


def stream_kind_from_name(name: str) -> str:
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


_SIMPLE: dict[type, str] = {
    bool: "bool",
    int: "int",
    float: "float",
    decimal.Decimal: "decimal",
    _dt.datetime: "datetime",
    _dt.date: "date",
    str: "text",
}
_SEQUENCES = (
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Iterable,
    collections.abc.Collection,
    collections.abc.Set,
    collections.abc.MutableSet,
)


class _Context:
    """Where annotations are resolved, and which classes are being built (no loops)."""

    def __init__(self, namespaces: Sequence[Mapping[str, Any]], building: tuple[type, ...] = ()):
        self.namespaces = namespaces
        self.building = building


def _text(tp: Any) -> str:
    return annotation_text(tp) or "?"


def _classify(tp: Any, name: str, context: _Context) -> dict[str, Any]:
    """Field settings for a resolved type; ``unavailable`` says why there is no input."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is object:
        return {"kind": "json"}
    if origin is typing.Annotated:
        return _classify(args[0], name, context)
    if origin in (typing.Union, UnionType):
        rest = [a for a in args if a is not NoneType]
        nullable = len(rest) < len(args)
        if len(rest) == 1:
            settings = _classify(rest[0], name, context)
        elif str in rest:
            settings = {"kind": "text"}
        else:
            settings = {
                "kind": "text",
                "unavailable": f"its type {_text(tp)} is one of several types, and a form "
                "cannot tell which to build",
            }
        if nullable:
            settings["nullable"] = True
        return settings
    if origin is Literal:
        return {"kind": "choice", "choices": tuple(args)}
    if hasattr(tp, "__supertype__"):  # typing.NewType
        return _classify(tp.__supertype__, name, context)
    if is_unresolved(tp):
        missing = ", ".join(repr(n) for n in unresolved_names(tp)) or repr(_text(tp))
        return {
            "kind": "text",
            "unavailable": f"its type names {missing}, which cannot be resolved at run time "
            "(imported only for type checking, from a module not loaded?)",
        }
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"kind": "choice", "choices": tuple(tp)}
    if tp is uuid.UUID:
        if _is_id_name(name):
            return {
                "kind": "aggregate_id",
                "id_type": "uuid",
                "stream_kind": stream_kind_from_name(name),
            }
        return {"kind": "uuid"}
    if tp is str and _is_id_name(name):
        return {
            "kind": "aggregate_id",
            "id_type": "str",
            "stream_kind": stream_kind_from_name(name),
        }
    if tp in _SIMPLE:
        return {"kind": _SIMPLE[tp]}
    if isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields"):
        return _object_settings(tp, context)  # a named tuple
    container = origin or tp
    if isinstance(container, type) and issubclass(container, Mapping | dict):
        key_tp, value_tp = args if len(args) == 2 else (str, Any)
        key = _member_field("key", key_tp, context, required=True)
        value = _member_field(_singular(name), value_tp, context, required=True)
        return _with_parts({"kind": "mapping", "key": key, "value": value}, key, value)
    if isinstance(container, type) and (
        issubclass(container, list | tuple | set | frozenset) or container in _SEQUENCES
    ):
        if container is tuple or (isinstance(container, type) and issubclass(container, tuple)):
            if len(args) == 2 and args[1] is Ellipsis:
                args = (args[0],)
            elif len(args) > 1:
                return {
                    "kind": "list",
                    "unavailable": f"its type {_text(tp)} is a tuple of fixed parts, which a "
                    "form does not build",
                }
        item = _member_field(_singular(name), args[0] if args else Any, context, required=True)
        kind_name = next(
            (
                c.__name__
                for c in (frozenset, set, tuple)
                if isinstance(container, type) and issubclass(container, c)
            ),
            "list",
        )
        if container in (collections.abc.Set, collections.abc.MutableSet):
            kind_name = "set"
        return _with_parts({"kind": "list", "value": item, "container": kind_name}, item)
    if isinstance(tp, type):
        for base, kind in _SIMPLE.items():  # a subclass of a simple type: built from the value
            if issubclass(tp, base) and base is not bool:
                return {"kind": kind, "factory": tp}
        return _object_settings(tp, context)
    return {
        "kind": "text",
        "unavailable": f"its type {_text(tp)} has no input a form can give",
    }


def _with_parts(settings: dict[str, Any], *parts: Field) -> dict[str, Any]:
    for part in parts:
        if part.unavailable:
            settings["unavailable"] = part.unavailable
            break
    return settings


def _member_field(name: str, tp: Any, context: _Context, *, required: bool) -> Field:
    settings = _classify(tp, name, context)
    nullable = bool(settings.pop("nullable", False))
    return Field(name, required=required and not nullable, nullable=nullable,
                 annotation=annotation_text(tp), **settings)  # fmt: skip


_NOT_BUILT = ("builtins", "eventsourcing", "collections", "typing", "abc", "types", "functools")


def _object_settings(cls: type, context: _Context) -> dict[str, Any]:
    """An ``object`` field for a class built from its constructor's typed arguments."""
    why = _why_not_buildable(cls, context)
    if why:
        return {"kind": "object", "factory": cls, "unavailable": f"{cls.__name__} {why}"}
    namespaces = _class_namespaces(cls)
    inner = _Context(namespaces, (*context.building, cls))
    members: list[Field] = []
    for p in _constructor_parameters(cls):
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        hint = resolve(p.annotation, namespaces)
        field = field_for(p, hint, inner, member=True)
        if field.unavailable:
            return {
                "kind": "object",
                "factory": cls,
                "members": tuple(members),
                "unavailable": f"{cls.__name__}'s {field.unavailable}",
            }
        members.append(field)
    return {"kind": "object", "factory": cls, "members": tuple(members)}


def _why_not_buildable(cls: type, context: _Context) -> str:
    module = (getattr(cls, "__module__", "") or "").split(".")[0]
    if cls in context.building:
        return "contains itself, and a form cannot build a structure without end"
    if len(context.building) >= MAX_OBJECT_DEPTH:
        return f"is nested more than {MAX_OBJECT_DEPTH} objects deep"
    if module in _NOT_BUILT or module in sys.stdlib_module_names:
        return "is not a type a form builds"
    if inspect.isabstract(cls) or getattr(cls, "_is_protocol", False):
        return "is abstract: a form cannot tell which concrete class to build"
    if _is_aggregate(cls):
        return "is an aggregate: a command takes its id, not the aggregate"
    try:
        parameters = _constructor_parameters(cls)
    except (TypeError, ValueError):
        return "has a constructor whose signature cannot be read"
    if not parameters:
        return "takes no values to build from"
    required_varargs = [p.name for p in parameters if p.kind is inspect.Parameter.VAR_POSITIONAL]
    if required_varargs:
        return f"takes *{required_varargs[0]}, which a form cannot fill"
    untyped = [
        p.name
        for p in parameters
        if p.annotation is inspect.Parameter.empty and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    if untyped:
        return (
            f"has untyped constructor arguments ({', '.join(untyped)}): annotate them so a "
            "form knows what to build"
        )
    return ""


def _is_aggregate(cls: type) -> bool:
    return any(
        (getattr(b, "__module__", "") or "").startswith("eventsourcing")
        and "Aggregate" in b.__name__
        for b in cls.__mro__
    )


def _constructor_parameters(cls: type) -> list[inspect.Parameter]:
    members = vars(object)
    if all(inspect.getattr_static(cls, n) is members[n] for n in ("__init__", "__new__")):
        return []
    return list(inspect.signature(cls).parameters.values())


def _class_namespaces(cls: type) -> list[Mapping[str, Any]]:
    module = sys.modules.get(cls.__module__)
    return [
        vars(module) if module else {},
        dict(vars(cls)),
        type_checking_names(module),
    ]


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
                return _classify(tp, name, _Context(()))
    lowered = name.lower()
    last = lowered.rsplit("_", 1)[-1]
    if _is_id_name(lowered):
        return {
            "kind": "aggregate_id",
            "id_type": "any",
            "stream_kind": stream_kind_from_name(name),
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


def field_for(
    parameter: inspect.Parameter,
    hint: Any,
    context: _Context | Sequence[Mapping[str, Any]] = (),
    *,
    member: bool = False,
) -> Field:
    """The :class:`Field` for one parameter, given its resolved annotation (or ``empty``).

    ``context`` is where names in nested annotations resolve (the namespaces of
    the method's module and classes). A parameter without an annotation, or
    annotated ``Any``, gets a guessed input that says it is a guess.
    """
    if not isinstance(context, _Context):
        context = _Context(list(context))
    default = parameter.default
    written = annotation_text(parameter.annotation)
    note = ""
    if hint is inspect.Parameter.empty or hint is Any or hint is object:
        settings = _guess(parameter.name, default)
        reason = "no type hint" if hint is inspect.Parameter.empty else f"type {written}"
        note = f"{reason}: treated as {KIND_WORDS[settings['kind']]} because of its " + (
            "default" if default is not inspect.Parameter.empty and default is not None else "name"
        )
    else:
        settings = _classify(hint, parameter.name, context)
    has_default = default is not inspect.Parameter.empty
    nullable = bool(settings.pop("nullable", False)) or (has_default and default is None)
    unavailable = settings.pop("unavailable", "")
    if unavailable:
        what = "field" if member else "parameter"
        unavailable = f"{what} {parameter.name!r}: {unavailable}"
    return Field(
        name=parameter.name,
        required=not has_default and not nullable,
        default=default if has_default else None,
        nullable=nullable,
        keyword_only=parameter.kind is inspect.Parameter.KEYWORD_ONLY,
        positional_only=parameter.kind is inspect.Parameter.POSITIONAL_ONLY,
        annotation=written,
        note=note,
        unavailable=unavailable,
        **settings,
    )


def context_for(namespaces: Sequence[Mapping[str, Any]]) -> _Context:
    """The context :func:`field_for` resolves nested annotations in."""
    return _Context(list(namespaces))
