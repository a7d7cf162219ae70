"""Aggregate time travel: the state of one stream at any version, and what changed it.

:class:`TimeTravel` reads the events of one stream (aggregate) and, for each
version N, gives the event that made it and what it changed
(:meth:`TimeTravel.step`).

**With the application's code** (an application, or a history opened from
one, as the source) the state at version N is what the application's
repository rebuilds: ``app.repository.get(id, version=N, projector_func=...)``.
The projector is, in this order:

- the ``projector=`` you pass;
- eventsourcing's own (each event's ``mutate``), for an ``Aggregate``;
- a projector the application itself uses: one in its
  ``snapshotting_projectors``, or a function its own methods pass to
  ``repository.get(..., projector_func=...)`` (found by reading their source).
  A functional aggregate (immutable state, events without ``mutate``) read
  through a method of the application is found this way.

If none rebuilds it, the fallback note says why (the error's type and message)
and, for events without ``mutate``, to pass ``projector=``.

What a state shows, read from the rebuilt object (:func:`object_state`), is
what a reader of the object sees, not its ``__dict__``:

- ``id`` and ``version`` first, then a dataclass's fields (a frozen
  dataclass state is shown by its fields) and the public attributes;
- the properties of the aggregate's class, by the property's name, the value
  read from the object; a property ``x`` over a private attribute ``_x`` takes
  that attribute's place, and a property that raises is left out;
- private attributes no shown property presents, under their own name with the
  underscore kept, so a reader can tell they are private (``_issued_on`` of a
  card that has no ``issued_on`` property);
- then ``created_on``, ``modified_on`` (when the object has them) and ``type``.

The library's own bookkeeping (``_id``, ``_pending_events``, ...) is left out.
Values are copies (sets as sorted lists).

**Without the code** (a history file, a store string, ``use_repository=False``,
or a fallback) there is no aggregate to rebuild, and the workbench does not
pretend otherwise: the "state" at N is the *events' payloads grouped by event
type*, the latest payload of each event type up to N (``{"Conference.Scheduled":
{...}, "Conference.TicketTypeAdded": {...}}``, after ``id``, ``version`` and
``type``). Three ``TicketTypeAdded`` events show as the last one, not as three
ticket types: it is what the events said, not the aggregate's state, and
:attr:`TimeTravel.note`, the HTML and the widget say so.

>>> from workbench.samples import SAMPLE_TICKETING
>>> from workbench.reading.loading import load_events
>>> first = load_events(SAMPLE_TICKETING, limit=1)
>>> travel = TimeTravel(SAMPLE_TICKETING, first.stream_id[0])
>>> travel.mode
'folded payloads'
>>> state = travel.state_at(1)
>>> state["Conference.Scheduled"]["name"] == travel.step(1).event["name"]
True
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import html
import inspect
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, project_aggregate

from workbench.reading.decoding import LoadError, short_name
from workbench.reading.opening import HistorySource, open_history
from workbench.reading.records import Record

__all__ = [
    "FOLDED",
    "FOLDED_NOTE",
    "REPOSITORY",
    "Change",
    "Step",
    "TimeTravel",
    "diff",
    "find_projectors",
    "object_state",
    "state_html",
]

_META = ("timestamp", "originator_topic")

REPOSITORY = "repository"
"""``TimeTravel.mode`` when states are rebuilt by the application's repository."""
FOLDED = "folded payloads"
"""``TimeTravel.mode`` when states are the events' payloads grouped by event type."""
FOLDED_NOTE = (
    "these are the events' payloads grouped by event type (the latest payload of each "
    "type up to the version), not the aggregate's state: rebuilding the state needs "
    "the application's code (pass the application as the source)"
)
"""What :attr:`TimeTravel.note` says whenever the states are folded payloads."""
NOT_AN_AGGREGATE = (
    "this aggregate is not an eventsourcing Aggregate (its events have no mutate); "
    "pass projector=<your projector function> to rebuild it"
)

Projector = Callable[[Any, Any], Any]
"""eventsourcing's projector function: ``(state or None, events) -> state``."""


@dataclass(frozen=True)
class Change:
    """One field that an event changed."""

    name: str
    before: Any
    after: Any
    added: bool = False
    removed: bool = False


@dataclass(frozen=True)
class Step:
    """Version ``version`` of the stream: the event that made it, and what it changed."""

    version: int
    position: int
    event_type: str
    timestamp: Any
    event: dict[str, Any]
    """The event's payload (decoded)."""
    state: dict[str, Any]
    """The state at this version (when ``folded``, the payloads by event type)."""
    changes: list[Change] = field(default_factory=list)
    folded: bool = False
    """``True`` when ``state`` is the events' payloads by event type, not the aggregate's state."""
    counts: dict[str, int] = field(default_factory=dict)
    """How many events of each type the stream has up to this version (folded steps)."""


def _plain(value: Any) -> Any:
    """A copy of an attribute's value (sets as sorted lists, containers copied)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(_plain(v) for v in value)
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The fields whose values differ between two states.

    >>> [c.name for c in diff({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4})]
    ['b', 'c']
    """
    changes = []
    for name in [*before, *(k for k in after if k not in before)]:
        if name not in after:
            changes.append(Change(name, before[name], None, removed=True))
        elif name not in before:
            changes.append(Change(name, None, after[name], added=True))
        elif before[name] != after[name]:
            changes.append(Change(name, before[name], after[name]))
    return changes


def _is_library(cls: type) -> bool:
    return cls is object or cls.__module__.split(".")[0] in ("eventsourcing", "typing", "builtins")


def _properties(cls: type) -> tuple[dict[str, property], set[str]]:
    """The class's own properties (by name, definition order) and the library's ones."""
    own: dict[str, property] = {}
    library: set[str] = set()
    for klass in reversed(cls.__mro__):
        for name, member in vars(klass).items():
            if isinstance(member, property):
                if _is_library(klass):
                    library.add(name)
                    own.pop(name, None)
                else:
                    own[name] = member
    return own, library


def object_state(obj: Any) -> dict[str, Any]:
    """What a reader of ``obj`` sees: see the module docstring for the rule.

    >>> class Card:
    ...     def __init__(self):
    ...         self.holder, self._balance, self._pin = "Ada", 5, 1234
    ...     @property
    ...     def balance(self):
    ...         return self._balance
    >>> object_state(Card())
    {'holder': 'Ada', 'balance': 5, '_pin': 1234, 'type': 'Card'}
    """
    cls = type(obj)
    properties, library = _properties(cls)
    shown: dict[str, Any] = {}
    missing = object()

    def read(name: str) -> Any:
        try:
            return getattr(obj, name)
        except Exception:
            return missing

    def show_property(name: str) -> bool:
        if name in shown:
            return True
        value = read(name)
        if value is missing:
            return False
        shown[name] = _plain(value)
        return True

    names: list[str] = []
    if dataclasses.is_dataclass(obj):
        names.extend(f.name for f in dataclasses.fields(obj))
    names.extend(getattr(obj, "__dict__", {}))
    for klass in cls.__mro__:
        slots = vars(klass).get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else slots)
    for name in dict.fromkeys(names):
        if name.startswith("__") or name in shown:
            continue
        if name.startswith("_"):
            public = name[1:]
            if public in properties and show_property(public):
                continue
            if public in library:
                continue  # the library's bookkeeping (_id, _version, _pending_events, ...)
        value = read(name)
        if value is not missing:
            shown[name] = _plain(value)
    for name in properties:
        show_property(name)
    state: dict[str, Any] = {}
    for name in ("id", "version"):
        value = shown.pop(name, read(name))
        if value is not missing:
            state[name] = value
    state.update(shown)
    for name in ("created_on", "modified_on"):
        value = read(name)
        if value is not missing and name not in state:
            state[name] = value
    state["type"] = cls.__qualname__
    return state


def find_projectors(app: Application[Any]) -> list[Projector]:
    """Projector functions the application uses itself, other than eventsourcing's default.

    From its ``snapshotting_projectors`` and from its own methods' calls with
    ``projector_func=`` (read from their source; a method whose source cannot
    be read is passed over).
    """
    found: list[Projector] = []

    def add(candidate: Any) -> None:
        if callable(candidate) and candidate is not project_aggregate and candidate not in found:
            found.append(candidate)

    for candidate in getattr(app, "snapshotting_projectors", {}).values():
        add(candidate)
    for cls in type(app).__mro__:
        if _is_library(cls):
            continue
        for member in vars(cls).values():
            func = _function_of(member)
            if func is not None:
                for expression in _projector_arguments(func):
                    add(_resolve(expression, func, app))
    return found


def _function_of(member: Any) -> Any:
    if isinstance(member, (staticmethod, classmethod)):
        member = member.__func__
    elif isinstance(member, property):
        member = member.fget
    member = getattr(member, "func", member)  # singledispatchmethod, partialmethod
    try:
        member = inspect.unwrap(member)
    except ValueError:
        return None
    return member if inspect.isfunction(member) else None


def _projector_arguments(func: Any) -> list[ast.expr]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return []
    return [
        keyword.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "projector_func"
    ]


def _resolve(expression: ast.expr, func: Any, app: Application[Any]) -> Any:
    """The value of a name or dotted name as seen from inside ``func`` (``None`` if unknown)."""
    if isinstance(expression, ast.Attribute):
        base = _resolve(expression.value, func, app)
        return getattr(base, expression.attr, None) if base is not None else None
    if not isinstance(expression, ast.Name):
        return None
    name = expression.id
    if name == "self":
        return app
    if name == "cls":
        return type(app)
    try:
        nonlocals = inspect.getclosurevars(func).nonlocals
    except (TypeError, ValueError):
        nonlocals = {}
    for scope in (nonlocals, func.__globals__, vars(builtins)):
        if name in scope:
            return scope[name]
    return None


def _name_of(func: Any) -> str:
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    module = getattr(func, "__module__", None)
    if not name:
        return repr(func)
    return f"{module}.{name}" if module else str(name)


def _reason(error: BaseException, doing: str) -> str:
    """An error as ``Type: message``; for one without a message, its type and ``doing``."""
    message = str(error).strip()
    if message:
        return f"{type(error).__name__}: {message}"
    return f"{type(error).__name__} with no message, while {doing}"


class TimeTravel:
    """Move through the versions of one stream.

    ``source`` is an application (states come from its repository; see the
    module docstring for the projector it uses, or pass ``projector=``), a path
    or store string, a :class:`~workbench.reading.opening.History` or a record
    reader (states are the events' payloads by event type, not the aggregate's
    state). ``use_repository=False`` folds payloads even for an application.

    Attributes: ``mode`` (:data:`REPOSITORY` or :data:`FOLDED`), ``projector``
    (the projector function used, ``None`` for eventsourcing's default or when
    folding), ``note`` (why the states are what they are, empty when the
    repository rebuilt them), ``versions``, ``records`` and ``events``.

    >>> from workbench.examples.ticketing import Ticketing
    >>> from workbench.stores import open_app
    >>> from datetime import date
    >>> app = open_app(Ticketing, "memory")
    >>> conf = app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    >>> travel = TimeTravel(app, conf)
    >>> travel.mode, travel.state_at(1)["name"]
    ('repository', 'ConFoo')
    """

    def __init__(
        self,
        source: HistorySource,
        stream_id: str | UUID,
        *,
        use_repository: bool = True,
        projector: Projector | None = None,
        cipher_key: str | None = None,
        compressor: Any = None,
        env: Mapping[str, str] | None = None,
        table: str | None = None,
    ) -> None:
        self.source = source
        self.stream_id = str(stream_id).strip()
        self.history = open_history(
            source, cipher_key=cipher_key, compressor=compressor, env=env, table=table
        )
        app = self.history.app
        if projector is not None and use_repository and app is None:
            raise ValueError(
                "projector= rebuilds states through the application's repository, and "
                f"{self.history.description} was not opened from an application: pass the "
                "application (e.g. workbench.open_app(YourApp, store)) as the source"
            )
        self.records = self._records()
        if not self.records:
            raise LoadError(
                f"there is no stream {self.stream_id!r} in {self.history.description}; "
                "pick a stream_id from the loaded events (the stream_id column)"
            )
        self.events: list[dict[str, Any]] = []
        for record in self.records:
            try:
                self.events.append(self.history.payload(record.state))
            except Exception as e:
                raise LoadError(
                    f"cannot decode version {record.version} of stream {self.stream_id} "
                    f"(position {record.position}): {e}"
                ) from None
        self.versions = [r.version for r in self.records]
        self.mode = FOLDED
        self.projector: Projector | None = None
        self._app: Application[Any] | None = None
        self._states: dict[int, dict[str, Any]] = {}
        if app is None:
            self.note = f"opened without the application: {FOLDED_NOTE}"
        elif not use_repository:
            self.note = f"use_repository=False: {FOLDED_NOTE}"
        else:
            failure = self._rebuild_with(app, projector)
            if failure:
                self.projector = None
                self.note = (
                    f"the application could not rebuild this aggregate ({failure}); "
                    f"showing the folded payloads instead: {FOLDED_NOTE}"
                )
            else:
                self.note = ""
                self._app = app
                self.mode = REPOSITORY
                if self.projector is not None:
                    self.mode = f"{REPOSITORY} with projector {_name_of(self.projector)}"

    def _records(self) -> list[Record]:
        found: list[Record] = []
        for batch in self.history.reader.arrow_batches(streams=[self.stream_id]):
            found.extend(batch.records())
        found.sort(key=lambda r: r.version)
        return found

    def _rebuild_with(self, app: Application[Any], projector: Projector | None) -> str:
        """Choose the projector that rebuilds the newest version; or say why none does."""
        newest = self.versions[-1]
        if projector is not None:
            self.projector = projector
            return self._try(
                app, projector, f"rebuilding version {newest} with {_name_of(projector)}"
            )
        failure = self._try(
            app, None, f"rebuilding version {newest} with each event's mutate (the default)"
        )
        if not failure:
            return ""
        tried = []
        for candidate in find_projectors(app):
            doing = f"rebuilding version {newest} with {_name_of(candidate)}"
            found = self._try(app, candidate, doing)
            if not found:
                self.projector = candidate
                return ""
            tried.append(f"with {_name_of(candidate)}, {found}")
        if tried:
            return "; ".join(tried)
        if not self._events_mutate(app):
            return NOT_AN_AGGREGATE
        return failure

    def _try(self, app: Application[Any], projector: Projector | None, doing: str) -> str:
        try:
            rebuilt = self._get(app, self.versions[-1], projector)
        except Exception as e:
            return _reason(e, doing)
        if rebuilt is None:
            return f"the projector returned None, while {doing}"
        return ""

    def _get(self, app: Application[Any], version: int, projector: Projector | None) -> Any:
        if projector is None:
            return app.repository.get(_as_id(self.stream_id), version=version)
        return app.repository.get(_as_id(self.stream_id), version=version, projector_func=projector)

    def _events_mutate(self, app: Application[Any]) -> bool:
        """Whether the stream's first event has ``mutate`` (``True`` if it can't be read)."""
        try:
            first = next(
                iter(app.repository.event_store.get(_as_id(self.stream_id), limit=1)), None
            )
        except Exception:
            return True
        return first is None or callable(getattr(first, "mutate", None))

    def _folded_state(self, index: int) -> dict[str, Any]:
        state: dict[str, Any] = {"id": self.stream_id, "version": self.versions[index]}
        topic = self.events[0].get("originator_topic")
        if isinstance(topic, str):
            state["type"] = short_name(topic)
        for i in range(index + 1):
            event_type = short_name(self.records[i].topic)
            state[event_type] = {k: v for k, v in self.events[i].items() if k not in _META}
        return state

    def _index(self, version: int) -> int:
        try:
            return self.versions.index(version)
        except ValueError:
            raise ValueError(
                f"stream {self.stream_id} has versions {self.versions[0]} to "
                f"{self.versions[-1]}, not {version}"
            ) from None

    @property
    def folded(self) -> bool:
        """Whether the states are the events' payloads by event type (not the aggregate's)."""
        return self._app is None

    def state_at(self, version: int) -> dict[str, Any]:
        """The state after the event with this version (folded: the payloads by event type)."""
        index = self._index(version)
        if version not in self._states:
            if self._app is not None:
                rebuilt = self._get(self._app, version, self.projector)
                self._states[version] = object_state(rebuilt)
            else:
                self._states[version] = self._folded_state(index)
        return self._states[version]

    def step(self, version: int) -> Step:
        """Version ``version``: its event, the state after it, and what it changed."""
        index = self._index(version)
        after = self.state_at(version)
        before = self.state_at(self.versions[index - 1]) if index else {}
        skip = {"version", "modified_on"}
        changes = diff(
            {k: v for k, v in before.items() if k not in skip},
            {k: v for k, v in after.items() if k not in skip},
        )
        record = self.records[index]
        counts: dict[str, int] = {}
        if self.folded:
            for each in self.records[: index + 1]:
                name = short_name(each.topic)
                counts[name] = counts.get(name, 0) + 1
        return Step(
            version=version,
            position=record.position,
            event_type=short_name(record.topic),
            timestamp=self.events[index].get("timestamp"),
            event={k: v for k, v in self.events[index].items() if k not in _META},
            state=after,
            changes=changes,
            folded=self.folded,
            counts=counts,
        )

    def steps(self) -> list[Step]:
        """Every version, oldest first."""
        return [self.step(v) for v in self.versions]

    def _repr_html_(self) -> str:
        last = self.step(self.versions[-1])
        note = f"<p><i>{html.escape(self.note)}</i></p>" if self.note else ""
        return (
            f"<p><b>Time travel</b> over stream {html.escape(self.stream_id)} "
            f"({len(self.versions)} versions, {html.escape(self.mode)})</p>"
            + note
            + state_html(last)
        )


def _as_id(text: str) -> UUID | str:
    try:
        return UUID(text)
    except ValueError:
        return text


def _show(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return repr(value) if not isinstance(value, str) else value


def _show_payload(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v)}" for k, v in value.items())
    return _show(value)


FOLDED_CAPTION = (
    "The events' payloads, the latest of each event type up to this version: "
    "not the aggregate's state (that needs the application's code)."
)
"""The line :func:`state_html` puts above a folded state."""


def state_html(step: Step) -> str:
    """A small HTML table of a step: each field, its value, and whether this event changed it.

    A folded step (no code) has a row per event type, its latest payload (and
    how many events of that type there were), and a caption saying it is not the
    aggregate's state.
    """
    show = _show_payload if step.folded else _show
    changed = {c.name: c for c in step.changes}
    rows = []
    for name, value in step.state.items():
        mark = ""
        if name in changed:
            c = changed[name]
            mark = "new" if c.added else f"was {html.escape(show(c.before))}"
        if step.counts.get(name, 0) > 1:
            mark = (
                f"{mark}, latest of {step.counts[name]}"
                if mark
                else f"latest of {step.counts[name]}"
            )
        style = ' style="background:#fff3c4"' if name in changed else ""
        rows.append(
            f"<tr{style}><td><b>{html.escape(name)}</b></td>"
            f"<td>{html.escape(show(value))}</td><td><i>{mark}</i></td></tr>"
        )
    for c in step.changes:
        if c.removed:
            rows.append(
                f'<tr style="background:#fde2e2"><td><b>{html.escape(c.name)}</b></td>'
                f"<td></td><td><i>removed (was {html.escape(show(c.before))})</i></td></tr>"
            )
    event = ", ".join(f"{k}={_show(v)}" for k, v in step.event.items())
    caption = (
        f'<p class="wb-folded"><i>{html.escape(FOLDED_CAPTION)}</i></p>' if step.folded else ""
    )
    return (
        f"<p>version {step.version}: <b>{html.escape(step.event_type)}</b> at "
        f"{html.escape(_show(step.timestamp))} (position {step.position})<br>"
        f"<small>{html.escape(event)}</small></p>"
        f'{caption}<table class="wb-state">{"".join(rows)}</table>'
    )
