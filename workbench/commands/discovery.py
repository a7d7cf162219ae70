"""Which public methods of an application are commands, and their parameters."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from workbench.commands._annotations import _annotation_text, _resolve
from workbench.commands.fields import _KIND_WORDS, Field, InvalidInput, field_for

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
