"""Causation and correlation on every event the workbench records.

Each event recorded through the workbench carries which command or event
*caused* it and which business process it belongs to (its *correlation*),
in a small reserved key of its stored state::

    {"timestamp": ..., "amount": ..., "__trace__": {"causation_id": "...", "correlation_id": "..."}}

The key is written by :class:`TracingMapper` (eventsourcing's ``MAPPER_TOPIC``
setting), so it is compressed and encrypted with the rest of the event, and
it is read back without the domain code: :func:`~workbench.load_events` has
the columns ``causation_id`` and ``correlation_id`` (missing for events
recorded without tracing). :class:`TracingMapper` takes the key out again
when it turns a record into an event (:func:`trace_of` gives it); an
application with eventsourcing's plain mapper reads a traced history as it
is, the key one more attribute nothing looks at (aggregates are built from
the event's named fields: see ``tests/test_tracing.py``).

The ids, chosen so that they join in a DataFrame:

==========================  ==============================================================
an event                    ``"<stream id>:<version>"``, as the loader's ``stream_id`` and
                            ``version`` columns say (:func:`event_id`)
a command                   ``"<command name>@<uuid4>"``, new for each
                            :meth:`~workbench.CommandSet.submit` (:func:`command_id`)
a correlation               the id of the first command or event of the business
                            process, inherited by everything it causes
==========================  ==============================================================

:func:`~workbench.event_batches` (what projections and process runs read)
leaves a traced event's trace in its payload, under ``"__trace__"``.

Who sets the cause: :meth:`~workbench.CommandSet.submit` (the command, and a
new correlation unless one is in force: :func:`correlated`); a
:class:`~workbench.ProcessRun` step (the upstream event it delivers, for the
process log's events and the commands its handlers run); a
``ProcessApplication`` wrapped by :func:`follow_causes` (the upstream event
for the events its policy collects). Anything recorded outside these (a
method of an application called directly) carries no trace unless it runs
inside :func:`caused_by` or :func:`correlated`.

:func:`~workbench.stores.open_app` installs the mapper; an application with
its *own* ``MAPPER_TOPIC`` keeps it, and its events are then not traced.

Why in the state: eventsourcing's stored event has four fields (id, version,
topic, state) on every recorder; a column of our own would need our own
recorders for memory, SQLite and PostgreSQL and would not be encrypted, and
a table beside the events would not travel with them (a copied file, a
follower reading the notification log). The state goes wherever the event goes.

Cost (measured on a shared, busy 2-core machine): recording an event inside a
cause ~20 us more (78 -> 99 us per ``place`` in memory); reading one through
:class:`TracingMapper` ~8 us more (18 -> 27 us); :func:`~workbench.load_events`
no slower on untraced histories (a million events: 15.0, 17.4, 19.0 s before,
12.5, 15.7, 14.8 s after, runs interleaved) and 100,000 traced events in
about 2 s, as many untraced ones.

Limits: an event class whose ``apply`` copies ``vars(self)`` onto the
aggregate would copy the key too when read with eventsourcing's plain mapper;
``__trace__`` is reserved (a payload field of that name is taken as the trace).

>>> with correlated("order-42"):
...     current_cause()
Cause(causation_id='order-42', correlation_id='order-42')
>>> event_id("5f1c", 3)
'5f1c:3'
"""

from __future__ import annotations

import os
import uuid
import weakref
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import InfrastructureFactory, Mapper, StoredEvent
from eventsourcing.utils import Environment, get_topic

__all__ = [
    "TRACE_KEY",
    "Cause",
    "TracingMapper",
    "caused_by",
    "command_cause",
    "command_id",
    "correlated",
    "current_cause",
    "event_id",
    "follow_causes",
    "has_own_mapper",
    "process_step_cause",
    "trace_in",
    "trace_of",
    "tracing_env",
]

TRACE_KEY = "__trace__"
"""The reserved key of a stored state that holds its trace."""

MAPPER_TOPIC = "workbench.tracing:TracingMapper"


@dataclass(frozen=True)
class Cause:
    """What caused the events being recorded now, and the business process they belong to."""

    causation_id: str
    """The command or event that caused them (see the table in :mod:`workbench.tracing`)."""
    correlation_id: str
    """The first command or event of the business process."""

    def as_state(self) -> dict[str, str]:
        """The value stored under :data:`TRACE_KEY`."""
        return {"causation_id": self.causation_id, "correlation_id": self.correlation_id}


_current: ContextVar[Cause | None] = ContextVar("workbench_cause", default=None)


def current_cause() -> Cause | None:
    """The cause events recorded now get, or ``None`` (then they get no trace)."""
    return _current.get()


@contextmanager
def caused_by(causation_id: str, correlation_id: str | None = None) -> Iterator[Cause]:
    """Events recorded inside are caused by ``causation_id``.

    Their correlation is ``correlation_id``, else the one in force, else
    ``causation_id`` itself (it starts a business process).

    >>> with caused_by("5f1c:3") as cause:
    ...     cause.correlation_id
    '5f1c:3'
    """
    if not causation_id:
        raise ValueError("caused_by needs a causation id (an event's or a command's id)")
    outer = _current.get()
    correlation = correlation_id or (outer.correlation_id if outer else causation_id)
    cause = Cause(str(causation_id), str(correlation))
    token = _current.set(cause)
    try:
        yield cause
    finally:
        _current.reset(token)


@contextmanager
def correlated(correlation_id: str) -> Iterator[Cause]:
    """Everything recorded inside belongs to the business process ``correlation_id``.

    Commands submitted inside take it as their correlation (instead of their
    own id), so a process can be given a name to find it by::

        with correlated("order-42"):
            commands.submit("reserve_tickets", ...)
        trace({"Ticketing": app}, "order-42")
    """
    with caused_by(correlation_id, correlation_id) as cause:
        yield cause


def event_id(stream_id: Any, version: int) -> str:
    """An event's id: ``"<stream id>:<version>"`` (a UUID in its dashed form)."""
    return f"{stream_id}:{int(version)}"


def command_id(name: str) -> str:
    """A new id for one run of the command ``name``: ``"<name>@<uuid4>"``."""
    return f"{name}@{uuid.uuid4()}"


def command_cause(name: str) -> AbstractContextManager[Cause]:
    """The cause for one run of the command ``name`` (a new id; the correlation in force)."""
    return caused_by(command_id(name))


# --- reading a trace back ---------------------------------------------------------

_traces: dict[int, Cause] = {}


def trace_in(state: Mapping[str, Any] | None) -> Cause | None:
    """The trace in a decoded state or payload (a mapping with :data:`TRACE_KEY`), or ``None``.

    >>> trace_in({"amount": 1, "__trace__": {"causation_id": "a", "correlation_id": "b"}})
    Cause(causation_id='a', correlation_id='b')
    """
    if not state:
        return None
    found = state.get(TRACE_KEY)
    if not isinstance(found, Mapping):
        return None
    causation, correlation = found.get("causation_id"), found.get("correlation_id")
    if not causation or not correlation:
        return None
    return Cause(str(causation), str(correlation))


def trace_of(event: Any) -> Cause | None:
    """The trace of a domain event read from the store, or ``None`` if it has none.

    Works for events read by :class:`TracingMapper` (which takes the key out)
    and by eventsourcing's plain mapper (which leaves it among the attributes).
    """
    found = _traces.get(id(event))
    if found is not None:
        return found
    return trace_in(getattr(event, "__dict__", None))


def _remember(event: Any, cause: Cause) -> None:
    key = id(event)
    try:
        weakref.finalize(event, _traces.pop, key, None)
    except TypeError:  # an event that cannot be weakly referenced keeps it as an attribute
        event.__dict__[TRACE_KEY] = cause.as_state()
        return
    _traces[key] = cause


class TracingMapper(Mapper[Any]):
    """eventsourcing's mapper, adding the cause in force to each stored state.

    The trace goes last in the state (the loader finds the timestamp at the
    front), and only when a cause is in force: outside, records are exactly
    what the plain mapper writes. Reading takes the key out of the event
    (see :func:`trace_of`).
    """

    def to_stored_event(self, domain_event: DomainEventProtocol[Any]) -> StoredEvent:
        cause = _current.get()
        if cause is None:
            return super().to_stored_event(domain_event)
        # As Mapper.to_stored_event, with the trace added to the state.
        topic = get_topic(domain_event.__class__)
        event_state = dict(vars(domain_event))
        event_state.pop(TRACE_KEY, None)
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        event_state[TRACE_KEY] = cause.as_state()
        stored_state = self.transcoder.encode(event_state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[Any]:
        event = super().to_domain_event(stored_event)
        state = getattr(event, "__dict__", None)
        if isinstance(state, dict) and TRACE_KEY in state:
            cause = trace_in(state)
            del state[TRACE_KEY]
            if cause is not None:
                _remember(event, cause)
        return event


# --- installing it ----------------------------------------------------------------


def has_own_mapper(app_class: type[Any], env: Mapping[str, str] | None = None) -> bool:
    """Whether ``app_class`` (with ``env`` as the constructor's) names a mapper of its own."""
    name = str(getattr(app_class, "name", app_class.__name__))
    own = Environment(name, {**getattr(app_class, "env", {}), **os.environ, **(env or {})})
    topic = own.get(InfrastructureFactory.MAPPER_TOPIC)
    return bool(topic) and topic != MAPPER_TOPIC


def tracing_env(app_class: type[Any] | None = None) -> dict[str, str]:
    """The eventsourcing settings that make an application record traces.

    Pass them in the application's ``env``. Given ``app_class``, nothing is
    returned if it has a ``MAPPER_TOPIC`` of its own (it keeps its mapper).

    >>> tracing_env()
    {'MAPPER_TOPIC': 'workbench.tracing:TracingMapper'}
    """
    if app_class is not None and has_own_mapper(app_class):
        return {}
    return {InfrastructureFactory.MAPPER_TOPIC: MAPPER_TOPIC}


_FOLLOWING = "_workbench_follows_causes"


def follow_causes(app: Any) -> None:
    """Make the events a ``ProcessApplication``'s policy records caused by the upstream event.

    Each upstream event becomes the cause of what its processing records,
    with the upstream event's correlation (or, if it has none, its own id:
    it starts the business process). An application constructed without
    :func:`tracing_env` gets the tracing mapper here, unless it has a mapper
    of its own. Calling it twice changes nothing. Without it, a follower run
    in the leader's thread (eventsourcing's ``SingleThreadedRunner``) records
    its events under whatever cause the leader's command had.

    >>> from eventsourcing.system import ProcessApplication
    >>> class Printer(ProcessApplication):
    ...     def policy(self, domain_event, processing_event):
    ...         pass
    >>> printer = Printer(env=tracing_env())
    >>> follow_causes(printer)
    >>> type(printer.mapper).__name__
    'TracingMapper'
    """
    if not callable(getattr(app, "process_event", None)) or not hasattr(app, "mapper"):
        raise TypeError(
            "follow_causes needs an eventsourcing ProcessApplication (an object with "
            f"process_event and a mapper), got {type(app).__name__}"
        )
    if getattr(app, _FOLLOWING, False):
        return
    if type(app.mapper) is Mapper:
        _install(app)
    original = app.process_event

    def process_event(domain_event: Any, tracking: Any) -> None:
        with caused_by_event(domain_event):
            original(domain_event, tracking)

    app.process_event = process_event
    setattr(app, _FOLLOWING, True)


def _install(app: Any) -> None:
    """Swap ``app``'s plain mappers for tracing ones (same transcoder, cipher, compressor)."""

    def tracing(mapper: Mapper[Any]) -> TracingMapper:
        return TracingMapper(
            transcoder=mapper.transcoder, compressor=mapper.compressor, cipher=mapper.cipher
        )

    old = app.mapper
    app.mapper = tracing(old)
    for store_name in ("events", "snapshots"):
        store = getattr(app, store_name, None)
        if store is not None and getattr(store, "mapper", None) is old:
            store.mapper = app.mapper
    mappers = getattr(app, "mappers", None)
    if isinstance(mappers, dict):
        for leader, mapper in list(mappers.items()):
            if type(mapper) is Mapper:
                mappers[leader] = tracing(mapper)


def caused_by_event(event: Any) -> AbstractContextManager[Cause]:
    """Events recorded inside are caused by the domain ``event`` and share its correlation."""
    own = event_id(event.originator_id, event.originator_version)
    upstream = trace_of(event)
    return caused_by(own, upstream.correlation_id if upstream else own)


def process_step_cause(run: Any, instance: Any, event: Any) -> AbstractContextManager[Cause | None]:
    """The cause of one :class:`~workbench.ProcessRun` step.

    A delivered upstream event (an ``UpstreamEvent``) causes the step, with
    its correlation. A timeout or retry is caused by the process instance's
    last recorded event, with that event's correlation. A new instance with
    no upstream event leaves the cause in force as it is.
    """
    if event is not None:
        own = event_id(event.originator_id, event.originator_version)
        upstream = trace_in(getattr(event, "data", None))
        return caused_by(own, upstream.correlation_id if upstream else own)
    version = int(getattr(instance, "version", 0) or 0)
    if not version:
        return nullcontext(None)
    own = event_id(instance.id, version)
    earlier = _recorded_trace(run.log, instance.id, version)
    return caused_by(own, earlier.correlation_id if earlier else None)


def _recorded_trace(app: Any, aggregate_id: Any, version: int) -> Cause | None:
    """The trace recorded with one event of ``app`` (``None`` if none, or unreadable)."""
    try:
        records = app.recorder.select_events(aggregate_id, gt=version - 1, lte=version, limit=1)
        if not records:
            return None
        return trace_of(app.mapper.to_domain_event(records[0]))
    except Exception:  # the trace is a nicety: a step never fails for want of it
        return None


def __getattr__(name: str) -> Any:
    # The trace view loads histories (pandas, the loader): imported when first asked for,
    # so that opening a store (workbench.stores imports this module) stays light.
    if name in ("Trace", "TraceError", "trace"):
        from workbench.tracing import view

        return getattr(view, name)
    raise AttributeError(f"module 'workbench.tracing' has no attribute {name!r}")
