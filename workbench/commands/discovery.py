"""Which public methods of an application are commands, and their parameters.

A *command* changes state; a *query* only reads. What decides is what the
method does, not its name: its calls are followed (through the application's
own methods, the functions and the classes of its modules, by
:class:`workbench.code_reading.CodeReader`, as the event-storming board follows
them) to see whether it reaches ``save`` (or
``collect_events``, ``events.put``) or a method that records an event (an
``@event`` method, ``trigger_event``, ``_create``, constructing an aggregate).
``balance(account_id)`` and ``request_possible_routes_for_cargo(...)`` are
queries; ``get_or_open_basket`` that saves is a command.

The author has the last word: :func:`command` and :func:`not_a_command` mark a
method either way. When a method's source cannot be read, its name decides
(:data:`QUERY_PREFIXES`). :func:`decide` gives the decision and its reason for
every public method.

>>> from workbench.examples.ticketing import Ticketing
>>> decisions = decide(Ticketing)
>>> decisions["pay"].reason
'reaches save'
>>> decisions["get_tickets_remaining"].is_command
False
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from eventsourcing.domain import BaseAggregate

from workbench.code_reading import CodeReader, call_name, decorator_of
from workbench.commands.fields import Field, convert_all
from workbench.commands.parameters import (
    annotation_text,
    context_for,
    field_for,
    resolve,
    type_checking_names,
)

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
"""When a method's source cannot be read: names starting with these are queries."""

RECORDING_CALLS = frozenset({"save", "collect_events", "trigger_event", "_create"})
"""Calls that record events, whatever they are called on."""

RECORDED_THROUGH = frozenset({("put", "events"), ("insert_events", "recorder")})
"""(call, what it is called on) that record events: ``self.events.put(...)``."""

_MARK = "__workbench_command__"
F = TypeVar("F", bound=Callable[..., Any])


def command(func: F) -> F:
    """Mark a method as a command, whatever its code looks like.

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
    reason: str = ""
    """Why it counts as a command (``"reaches save"``, ``"marked @command"`` ...)."""

    @property
    def title(self) -> str:
        """``"Reserve tickets"``."""
        return self.name.replace("_", " ").strip().capitalize()

    @property
    def unavailable(self) -> str:
        """Why no form can run this command (``""`` when one can): a parameter without input."""
        return "; ".join(f.unavailable for f in self.fields if f.unavailable)

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
        return convert_all(self.fields, inputs, self.name)


@dataclass(frozen=True)
class Decision:
    """Whether a public method is a command, and why."""

    name: str
    is_command: bool
    reason: str
    """``"reaches save"``, ``"reaches save via _pay"``, ``"marked @not_a_command"``,
    ``"records nothing: reaches neither save nor an event-recording method"`` ..."""


def _is_query_name(name: str) -> bool:
    return name.startswith(QUERY_PREFIXES)


def _public_methods(cls: type[Any]) -> dict[str, tuple[type[Any], Callable[..., Any]]]:
    """Public methods the application defines (not eventsourcing), in source order."""
    found: dict[str, tuple[type[Any], Callable[..., Any]]] = {}
    seen: set[str] = set()
    for klass in reversed(cls.__mro__):
        if klass is object or klass.__module__.split(".")[0] == "eventsourcing":
            seen.update(vars(klass))
            continue
        for name, member in vars(klass).items():
            func = member.__func__ if isinstance(member, staticmethod | classmethod) else member
            found.pop(name, None)
            if not callable(func) or isinstance(member, type | property):
                continue
            mark = getattr(func, _MARK, None)
            if mark is None and (
                name.startswith("_")
                or name in seen
                or isinstance(member, staticmethod | classmethod)
            ):
                continue
            found[name] = (klass, func)
    return found


def decide(app_class: type[Any] | Any) -> dict[str, Decision]:
    """Every public method of an application, decided command or query, with the reason."""
    cls = app_class if isinstance(app_class, type) else type(app_class)
    reader = CodeReader(cls)
    decisions: dict[str, Decision] = {}
    for name, (_, func) in _public_methods(cls).items():
        mark = getattr(func, _MARK, None)
        if mark is not None:
            reason = "marked @command" if mark else "marked @not_a_command"
            decisions[name] = Decision(name, bool(mark), reason)
            continue
        path = _path_to_recording(reader, func)
        if path is None:
            query = _is_query_name(name)
            decisions[name] = Decision(
                name,
                not query,
                "its source cannot be read, so its name decides"
                + (f" (it starts with {name.split('_')[0]}_)" if query else ""),
            )
        elif path:
            via = path[:-1]
            reason = f"reaches {path[-1]}" + (f" via {' → '.join(via)}" if via else "")
            decisions[name] = Decision(name, True, reason)
        else:
            decisions[name] = Decision(
                name, False, "records nothing: reaches neither save nor an event-recording method"
            )
    return decisions


def discover_commands(app_class: type[Any] | Any) -> dict[str, Command]:
    """The commands of an application class (or instance), by name, in source order.

    Public methods defined by the application (not by eventsourcing) that
    record events (see :func:`decide`), plus anything marked :func:`command`,
    minus anything marked :func:`not_a_command`.

    >>> from workbench.examples.ticketing import Ticketing
    >>> list(discover_commands(Ticketing))[:3]
    ['schedule_conference', 'add_ticket_type', 'end_ticket_sale']
    """
    cls = app_class if isinstance(app_class, type) else type(app_class)
    methods = _public_methods(cls)
    return {
        name: _command_from(cls, methods[name][0], name, methods[name][1], decision.reason)
        for name, decision in decide(cls).items()
        if decision.is_command
    }


def discover_queries(app_class: type[Any] | Any) -> dict[str, str]:
    """The public methods that are not commands, each with the reason.

    >>> from workbench.examples.ticketing import Ticketing
    >>> sorted(discover_queries(Ticketing))
    ['get_conference', 'get_purchase', 'get_tickets_remaining']
    """
    return {name: d.reason for name, d in decide(app_class).items() if not d.is_command}


def _command_from(
    cls: type[Any], klass: type[Any], name: str, func: Callable[..., Any], reason: str
) -> Command:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return Command(name, _first_line(func), (), reason=reason)
    module = inspect.getmodule(func)
    namespaces: list[Mapping[str, Any]] = [
        getattr(func, "__globals__", None) or (vars(module) if module else {}),
        dict(vars(klass)),
        dict(vars(cls)),
        type_checking_names(module),
    ]
    context = context_for(namespaces)
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
        hint = resolve(p.annotation, namespaces)
        try:
            fields.append(field_for(p, hint, context))
        except Exception as e:  # never crash on an odd annotation
            fields.append(
                Field(
                    p.name,
                    required=p.default is inspect.Parameter.empty,
                    default=None if p.default is inspect.Parameter.empty else p.default,
                    annotation=annotation_text(p.annotation),
                    unavailable=f"parameter {p.name!r}: its type could not be read ({e})",
                )
            )
    return Command(name, _first_line(func), tuple(fields), tuple(skipped), reason)


def _first_line(func: Callable[..., Any]) -> str:
    doc = inspect.getdoc(func) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _path_to_recording(reader: CodeReader, func: Callable[..., Any]) -> list[str] | None:
    """The names called on the way to recording (``[]``: none), or ``None`` if unreadable.

    Nearest first: in each function reached, a recording call (``save``, ``events.put``
    ...) counts before an ``@event`` method or an aggregate constructed.
    """
    readable = False
    for site in reader.walk(func, reader.app):
        readable = True
        for call in site.calls:
            recording = _recording(call)
            if recording:
                return [*site.path, recording]
        for call in site.calls:
            for callee in reader.callees(call, site):
                if _records(callee.member):
                    return [*site.path, call_name(call)]
    return [] if readable else None


def _recording(call: ast.Call) -> str:
    """``save``, ``events.put`` ...: a call that records events, whatever it is called on."""
    name = call_name(call)
    if name in RECORDING_CALLS:
        return name
    callee = call.func
    receiver = callee.value if isinstance(callee, ast.Attribute) else None
    on = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
    return f"{on}.{name}" if (name, on) in RECORDED_THROUGH else ""


def _records(member: Any) -> bool:
    """An ``@event`` method, or an aggregate class (constructing it records its created event)."""
    return decorator_of(member) is not None or (
        isinstance(member, type) and issubclass(member, BaseAggregate)
    )
