"""What one application's code says: its aggregates, their events, what its calls lead to.

Nothing is run: classes are inspected and method bodies parsed. Every style of
aggregate and event that eventsourcing 9.5 supports is read:

=============================================  =============================================
style                                          where its events are found
=============================================  =============================================
``@event("Name")`` on methods and ``__init__``  the name given to the decorator
``@event(EventClass)``                         the class given to the decorator
explicit event classes with ``trigger_event``   the class passed to ``trigger_event`` or
and ``_create``                                ``_create`` (nested in the aggregate)
a nested ``Created`` class                     the aggregate's created-event class
``@dataclass`` aggregates                      the created event eventsourcing defined
                                               (``created_event_name=``)
functional: immutable state, top-level         the events the decision functions build; the
``DomainEvent`` classes, a projector           aggregate is the state ``projector_func=``
                                               returns (its ``singledispatch`` says which
                                               event folds into which state)
a process application's ``policy``             its ``singledispatchmethod`` registrations, or
                                               its ``if isinstance(event, C):`` branches
=============================================  =============================================

A command leads to the events it can record by following its calls (as the command
panel does, through :class:`workbench.code_reading.CodeReader`): the application's own
methods (``self.x()``, ``super().x()``), aggregate methods (through a variable whose
class the code states, else any method of that name of the application's classes:
aggregates, helper objects), aggregate constructors, event classes and module
functions, each name resolved in the module of the function that uses it.

Limits: calls through ``getattr``, lambdas, or objects built at run time are not
followed; a variable of unknown class is matched by method name against every class
of the application's modules.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, singledispatchmethod
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    CommandMethodDecorator,
    DomainEvent,
)

from workbench.code_reading import (
    UNKNOWN,
    Callee,
    CodeReader,
    calls,
    decorator_of,
    function_node,
    hints,
    is_user_code,
    isinstance_branches,
    resolve,
    unwrap_class,
)

__all__ = ["AggregateInfo", "AppClass", "AppCode", "EventRef", "PolicyInfo", "Reach"]

AppClass = type[Application[Any]]

BASE_EVENT_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic"}
)
"""Fields every eventsourcing event has; an event's detail lists the others."""


@dataclass(frozen=True, order=True)
class EventRef:
    """An event type on the board, with the aggregate that records it."""

    aggregate: str
    """The aggregate's class name; ``""`` when no aggregate was found."""
    name: str
    """The event class's qualified name, the topic after the colon (``"Book.Registered"``,
    ``"DogRegistered"``)."""


@dataclass
class Reach:
    """What a command (or a policy's handler) can lead to."""

    events: set[EventRef] = field(default_factory=set)
    commands: set[str] = field(default_factory=set)
    """The application's own commands it calls (``self.restock(...)``)."""


@dataclass
class AggregateInfo:
    """An aggregate (a class, or the state of a functional aggregate) and its events."""

    name: str
    detail: str
    events: list[EventRef]
    cls: type[Any]


@dataclass
class PolicyInfo:
    """One reaction of a process application: the event it follows, what it causes."""

    app: str
    follows: EventRef
    reach: Reach
    detail: str


def first_line(doc: str | None, cls: type[Any] | None = None) -> str:
    """The first line of a docstring; ``""`` for the signature a dataclass is given.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Point:
    ...     x: int
    >>> first_line(Point.__doc__, Point)
    ''
    """
    text = (doc or "").strip().split("\n")[0].strip()
    if cls is not None and text.startswith(f"{cls.__name__}("):
        return ""  # dataclasses document themselves with their signature
    return text


def event_detail(event_cls: type[Any]) -> str:
    """``"fields: title, isbn"``: an event class's own fields."""
    if dataclasses.is_dataclass(event_cls):
        names = [f.name for f in dataclasses.fields(event_cls)]
    else:
        names = [
            n
            for klass in reversed(event_cls.__mro__)
            for n in vars(klass).get("__annotations__", {})
        ]
    own = [n for n in dict.fromkeys(names) if n not in BASE_EVENT_FIELDS]
    return f"fields: {', '.join(own)}" if own else ""


def is_event_class(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, DomainEvent | CanMutateAggregate)


def created_event_classes(aggregate: type[Any]) -> list[type[Any]]:
    """The created-event class eventsourcing chose for an aggregate class (or the candidates)."""
    from eventsourcing.domain import _created_event_classes as registry

    return list(registry.get(aggregate, []))


def decorated_event_name(decorator: CommandMethodDecorator) -> str:
    """The event class name of ``@event("Name")`` or ``@event(EventClass)``."""
    if decorator.given_event_cls is not None:
        return decorator.given_event_cls.__name__
    return str(decorator.event_cls_name)


def _is_trigger(call: ast.Call) -> bool:
    """``self.trigger_event(C, ...)`` or ``cls._create(C, ...)``."""
    callee = call.func
    name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
    return name in ("trigger_event", "_create") and bool(call.args or call.keywords)


def _event_argument(call: ast.Call) -> ast.expr:
    if call.args:
        return call.args[0]
    for keyword in call.keywords:
        if keyword.arg in ("event_class", "event_cls"):
            return keyword.value
    return call.keywords[0].value


def _own_functions(cls: type[Any]) -> Iterator[Callable[..., Any]]:
    """The functions a class and its user-written bases define."""
    for klass in cls.__mro__:
        if is_user_code(klass):
            for value in vars(klass).values():
                func = value.__func__ if isinstance(value, classmethod | staticmethod) else value
                if inspect.isfunction(func):
                    yield func


def _dispatched(
    projector: Callable[..., Any], free: list[type[Any]]
) -> Iterator[tuple[type[Any], type[Any] | None]]:
    """(event class, state it folds into) for each event a projector dispatches on."""
    node = function_node(projector)
    if node is None:
        return
    scope = projector.__globals__
    for call in calls(node.body):
        registry = getattr(resolve(call.func, scope, None, {}), "registry", None)
        if isinstance(registry, typing.Mapping):  # a singledispatch function
            for event_cls, impl in registry.items():
                if event_cls in free:
                    yield event_cls, unwrap_class(hints(impl).get("return"))
    for tested, _ in isinstance_branches(node):
        for expr in tested:
            event_cls = resolve(expr, scope, None, {})
            if event_cls in free:
                yield event_cls, None


class AppCode:
    """What one application's code says: its aggregates, their events, what calls lead to.

    >>> from workbench.examples.ticketing import Ticketing
    >>> code = AppCode(Ticketing)
    >>> sorted(ref.name for ref in code.reach(Ticketing.pay, Ticketing).events)
    ['TicketPurchase.Paid']
    """

    def __init__(self, app: AppClass) -> None:
        self.app = app
        self.reader = CodeReader(app)
        """The application's modules and classes, and where its calls lead."""
        self.modules = self.reader.modules
        self.aggregate_classes = self.reader.aggregate_classes
        self.projectors = self._projectors()
        """(projector function, the state class it returns) for functional aggregates."""
        self.states = self._functional_states()
        """Top-level event class → the immutable state class it is folded into."""

    @cached_property
    def commands(self) -> set[str]:
        from workbench.commands import discover_commands

        return set(discover_commands(self.app))

    def events_of(self, aggregate: type[Any]) -> list[EventRef]:
        """The event types an aggregate class records: its created event first."""
        created = created_event_classes(aggregate)
        names: list[str] = [created[0].__name__] if len(created) == 1 else []
        for attr, value in vars(aggregate).items():
            decorator = decorator_of(value)
            if decorator is not None:
                names.append(decorated_event_name(decorator))
            elif (
                isinstance(value, type)
                and issubclass(value, CanMutateAggregate)
                and attr != "Event"
                # every aggregate class gets a default Created: only the one it uses counts
                and (not issubclass(value, CanInitAggregate) or value in created)
            ):
                names.append(attr)
        refs = []
        for name in dict.fromkeys(names):
            cls = getattr(aggregate, name, None)
            qualname = cls.__qualname__ if isinstance(cls, type) else f"{aggregate.__name__}.{name}"
            refs.append(EventRef(aggregate.__name__, qualname))
        return refs

    def aggregates(self) -> list[AggregateInfo]:
        """Every aggregate of the application: classes, then functional states."""
        found = [
            AggregateInfo(cls.__name__, first_line(cls.__doc__, cls), self.events_of(cls), cls)
            for cls in self.aggregate_classes
        ]
        by_state: dict[type[Any], list[EventRef]] = {}
        for event_cls, state in self.states.items():
            by_state.setdefault(state, []).append(EventRef(state.__name__, event_cls.__qualname__))
        for state, refs in by_state.items():
            projector = next((p.__name__ for p, s in self.projectors if s is state), "a projector")
            detail = first_line(state.__doc__, state) or f"immutable state, folded by {projector}()"
            found.append(AggregateInfo(state.__name__, detail, refs, state))
        return found

    def is_base(self, cls: type[Any]) -> bool:
        """True for an aggregate class that other aggregates here derive from."""
        return any(other is not cls and issubclass(other, cls) for other in self.aggregate_classes)

    def event_class(self, ref: EventRef) -> type[Any] | None:
        """The class of an event type on the board, if it is in the application's modules."""
        for module in self.modules:
            for value in vars(module).values():
                if not isinstance(value, type):
                    continue
                if value.__qualname__ == ref.name and is_event_class(value):
                    return value
                if value.__name__ == ref.aggregate:
                    nested = getattr(value, ref.name.rsplit(".", 1)[-1], None)
                    if isinstance(nested, type) and nested.__qualname__ == ref.name:
                        return nested
        return None

    def free_events(self) -> list[type[Any]]:
        """Top-level event classes (not nested in an aggregate) of the modules."""
        found: list[type[Any]] = []
        for module in self.modules:
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, DomainEvent)
                    and not issubclass(value, CanMutateAggregate)
                    and value.__module__ == module.__name__
                    and "." not in value.__qualname__
                    and value not in found
                ):
                    found.append(value)
        return found

    def ref_of(self, event_cls: type[Any], owner: type[Any] | None = None) -> EventRef:
        """The board's name for an event class, and the aggregate recording it."""
        qualname = event_cls.__qualname__
        if "." in qualname:
            return EventRef(qualname.rsplit(".", 1)[0], qualname)
        if event_cls in self.states:
            return EventRef(self.states[event_cls].__name__, qualname)
        if owner is not None and issubclass(owner, BaseAggregate):
            return EventRef(owner.__name__, qualname)
        return EventRef("", qualname)

    def _projectors(self) -> list[tuple[Callable[..., Any], type[Any]]]:
        """(projector, state class) for each ``projector_func=`` the application passes."""
        found: list[tuple[Callable[..., Any], type[Any]]] = []
        for func in _own_functions(self.app):
            node = function_node(func)
            for call in calls(node.body) if node else ():
                for keyword in call.keywords:
                    if keyword.arg != "projector_func":
                        continue
                    projector = resolve(keyword.value, func.__globals__, self.app, {})
                    projector = getattr(projector, "__func__", projector)
                    if not inspect.isfunction(projector):
                        continue
                    given = hints(projector)
                    state = unwrap_class(given.get("return"))
                    if state is None:
                        params = [
                            given[p] for p in inspect.signature(projector).parameters if p in given
                        ]
                        state = unwrap_class(params[0]) if params else None
                    if state is not None and (projector, state) not in found:
                        found.append((projector, state))
        return found

    def _functional_states(self) -> dict[type[Any], type[Any]]:
        free = self.free_events()
        states: dict[type[Any], type[Any]] = {}
        for projector, state in self.projectors:
            for event_cls, folded in _dispatched(projector, free):
                states.setdefault(event_cls, folded or state)
        known = {state for _, state in self.projectors}
        if len(known) == 1:  # one state: every top-level event folds into it
            for event_cls in free:
                states.setdefault(event_cls, next(iter(known)))
        return states

    def reach(
        self,
        func: Callable[..., Any],
        owner: type[Any] | None = None,
        body: list[ast.stmt] | None = None,
        stop_at_commands: bool = False,
    ) -> Reach:
        """What calling ``func`` (a method of ``owner``, or a function) can record.

        ``body``: only that part of the function (an ``if`` branch). With
        ``stop_at_commands`` (for a policy), a call of one of the application's commands
        is noted in :attr:`Reach.commands` and not followed: its events are its own.
        """
        result = Reach()
        for site in self.reader.walk(func, owner, body):
            for call in site.calls:
                command = self._own_command(call, site.owner)
                if command:
                    result.commands.add(command)
                    if stop_at_commands:
                        site.stop(call)
                        continue
                if _is_trigger(call):
                    event_cls = site.resolve(_event_argument(call))
                    if is_event_class(event_cls):
                        result.events.add(self.ref_of(event_cls, site.owner))
                for callee in self.reader.callees(call, site):
                    self._note(callee, result)
        return result

    def _own_command(self, call: ast.Call, owner: type[Any] | None) -> str:
        """The name of the application's command that ``self.name(...)`` calls, or ``""``."""
        callee = call.func
        if (
            owner is self.app
            and isinstance(callee, ast.Attribute)
            and isinstance(callee.value, ast.Name)
            and callee.value.id == "self"
            and callee.attr in self.commands
        ):
            return callee.attr
        return ""

    def _note(self, callee: Callee, result: Reach) -> None:
        """Note the events a reached member records: an ``@event`` method, a constructor."""
        member, owner = callee.member, callee.owner
        decorator = decorator_of(member)
        if decorator is not None:
            if owner is not None:
                name = decorated_event_name(decorator)
                event_cls = getattr(owner, name, None)
                if isinstance(event_cls, type):
                    result.events.add(self.ref_of(event_cls, owner))
                else:
                    result.events.add(EventRef(owner.__name__, f"{owner.__name__}.{name}"))
        elif isinstance(member, type) and issubclass(member, BaseAggregate):
            for created in created_event_classes(member)[:1]:
                result.events.add(self.ref_of(getattr(member, created.__name__), member))
        elif is_event_class(member):
            result.events.add(self.ref_of(member, owner))

    def policies(self) -> list[PolicyInfo]:
        """The reactions of a process application's ``policy``, one per event it follows."""
        policy: Any = UNKNOWN
        for klass in self.app.__mro__:
            if not is_user_code(klass):
                break
            if "policy" in vars(klass):
                policy = vars(klass)["policy"]
                break
        found: list[PolicyInfo] = []
        app = self.app.__name__
        if isinstance(policy, singledispatchmethod):
            for event_cls, handler in policy.dispatcher.registry.items():
                if event_cls is not object and is_event_class(event_cls):
                    reach = self.reach(handler, self.app, stop_at_commands=True)
                    detail = first_line(handler.__doc__)
                    found.append(PolicyInfo(app, self.ref_of(event_cls), reach, detail))
        elif inspect.isfunction(policy):
            node = function_node(policy)
            for tested, body in isinstance_branches(node) if node else ():
                for expr in tested:
                    event_cls = resolve(expr, policy.__globals__, self.app, {})
                    if is_event_class(event_cls):
                        reach = self.reach(policy, self.app, body, stop_at_commands=True)
                        found.append(PolicyInfo(app, self.ref_of(event_cls), reach, ""))
        return found
