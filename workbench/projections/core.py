"""Projections: named read models built from events by handlers written in plain Python.

A projection is a class with one method per event type it handles::

    >>> from workbench.projections import Projection, ProjectionRun, handles
    >>> class Capacity(Projection):
    ...     @handles("Conference.TicketTypeAdded")
    ...     def added(self, event, model):
    ...         model["capacity"].add(event.ticket_type, event.capacity)

A :class:`ProjectionRun` applies it to a history and keeps the read model with
the position of the last event applied (in memory, SQLite or PostgreSQL)::

    >>> from datetime import date
    >>> from decimal import Decimal
    >>> from workbench.examples.ticketing import Ticketing
    >>> from workbench.stores import open_app
    >>> app = open_app(Ticketing)
    >>> conf = app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    >>> app.add_ticket_type(conf, "Standard", Decimal("450.00"), capacity=100)
    >>> run = ProjectionRun(Capacity(), app).run()
    >>> run.model["capacity"]["Standard"], run.position, run.progress.skipped
    (100, 2, 1)

Events are decoded from their stored records (their topics are never
imported), and only the event types a projection handles are read and decoded.
"""

from __future__ import annotations

import contextlib
import html
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pandas as pd

from workbench.projections.events import EventView
from workbench.projections.readmodel import ReadModel, table_frame
from workbench.projections.storage import ReadModelStorage, open_storage
from workbench.reading.decoding import short_name
from workbench.reading.loading import DecodedEvent, event_batches
from workbench.reading.opening import HistorySource, open_history

__all__ = [
    "HandlerFailure",
    "Lag",
    "Progress",
    "Projection",
    "ProjectionError",
    "ProjectionRun",
    "diff",
    "handles",
]

Handler = Callable[[EventView, ReadModel], Any]
F = TypeVar("F", bound=Callable[..., Any])


class ProjectionError(Exception):
    """A projection cannot run as asked; the message says why and what to do."""


def handles(*event_types: str) -> Callable[[F], F]:
    """Mark a method of a :class:`Projection` as the handler of ``event_types``.

    An event type is a short name (``"TicketPurchase.Paid"``) or a full topic
    (``"shop.domain:TicketPurchase.Paid"``). The method is called as
    ``method(event, model)``.
    """
    if not event_types or not all(isinstance(t, str) and t for t in event_types):
        raise ProjectionError(
            f"@handles needs one or more event type names, got {event_types!r}; "
            'e.g. @handles("TicketPurchase.Paid")'
        )

    def mark(method: F) -> F:
        existing = getattr(method, "_handles", ())
        method._handles = (*existing, *event_types)  # type: ignore[attr-defined]
        return method

    return mark


class Projection:
    """Base class of projections: subclass it and mark handlers with :func:`handles`.

    ``name`` (default: the class name) names the read model in its storage.
    Events of types without a handler are skipped (and counted).
    """

    name: ClassVar[str] = ""
    handlers: ClassVar[dict[str, str]] = {}
    """Event type (short name or topic) to the name of the method that handles it."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                for event_type in getattr(value, "_handles", ()):
                    found[event_type] = attr
        cls.handlers = found
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__

    def handler_for(self, topic: str) -> Handler | None:
        """The bound handler of events with this ``topic``, or ``None``."""
        method = self.handlers.get(topic) or self.handlers.get(short_name(topic))
        if method is None:
            return None
        handler: Handler = getattr(self, method)
        return handler

    @classmethod
    def from_handlers(cls, name: str, handlers: dict[str, Handler]) -> Projection:
        """A projection from a mapping of event type to ``function(event, model)``.

        >>> p = Projection.from_handlers("counts", {"TicketPurchase.Paid": lambda e, m: None})
        >>> p.name, sorted(p.handlers)
        ('counts', ['TicketPurchase.Paid'])
        """
        return _MappingProjection(name, handlers)

    def __repr__(self) -> str:
        return f"<Projection {self.name!r} handling {', '.join(sorted(self.handlers))}>"


class _MappingProjection(Projection):
    def __init__(self, name: str, handlers: dict[str, Handler]) -> None:
        for event_type, function in handlers.items():
            if not callable(function):
                raise ProjectionError(
                    f"the handler for {event_type!r} is a {type(function).__name__}, "
                    "not a function(event, model)"
                )
        self.name = name  # type: ignore[misc]
        self.functions = dict(handlers)
        self.handlers = dict.fromkeys(handlers, "")  # type: ignore[misc]

    def handler_for(self, topic: str) -> Handler | None:
        return self.functions.get(topic) or self.functions.get(short_name(topic))


@dataclass
class HandlerFailure:
    """A handler raised: the event it raised on, and the error."""

    position: int
    """Where the failing event is in the history."""
    type: str
    """The failing event's type (short name)."""
    stream_id: str
    version: int
    payload: dict[str, Any]
    """The failing event's decoded payload."""
    error: BaseException
    traceback: str = ""

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(repr(v))}</td></tr>"
            for k, v in self.payload.items()
        )
        return (
            "<div class='wb-projection-failure' style='border-left:4px solid #c0392b;"
            "padding:4px 8px'>"
            f"<b>Handler failed at position {self.position}</b>: {html.escape(self.type)} "
            f"(stream {html.escape(self.stream_id)} v{self.version})<br>"
            f"<code>{html.escape(type(self.error).__name__)}: "
            f"{html.escape(str(self.error))}</code>"
            f"<table>{rows}</table></div>"
        )

    def __str__(self) -> str:
        return (
            f"handler of {self.type} failed at position {self.position} "
            f"(stream {self.stream_id} v{self.version}): "
            f"{type(self.error).__name__}: {self.error}; payload {self.payload!r}"
        )


@dataclass
class Progress:
    """How far a run has got: events of the history done out of the total, rate, ETA."""

    start: int
    position: int
    target: int
    handled: int
    elapsed: float
    running: bool = False
    """Whether the run is still going (the ETA is shown only then)."""

    @property
    def done(self) -> int:
        """Events of the history processed in this run (handled or skipped)."""
        return self.position - self.start

    @property
    def total(self) -> int:
        """Events of the history this run set out to process."""
        return self.target - self.start

    @property
    def skipped(self) -> int:
        """Events this run passed over because no handler handles their type."""
        return self.done - self.handled

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def rate(self) -> float:
        """Events of the history per second."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate (``None`` before any progress)."""
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None

    def __str__(self) -> str:
        eta = f", ETA {self.eta:.1f}s" if self.running and self.eta is not None else ""
        return (
            f"{self.done:,}/{self.total:,} events ({self.fraction:.0%}), "
            f"{self.handled:,} handled, {self.skipped:,} skipped, "
            f"{self.rate:,.0f} events/s{eta}"
        )


@dataclass(frozen=True)
class Lag:
    """How far a read model is behind the write side."""

    write_position: int
    read_position: int

    @property
    def behind(self) -> int:
        """Events recorded but not yet applied to the read model."""
        return max(0, self.write_position - self.read_position)

    def __str__(self) -> str:
        if not self.behind:
            return f"up to date at position {self.read_position}"
        return (
            f"{self.behind} events behind (write side at {self.write_position}, "
            f"read model at {self.read_position})"
        )


class ProjectionRun:
    """A projection applied to a history, with its read model and tracking position.

    ``source`` is any history :func:`~workbench.reading.opening.open_history`
    opens (an application, an SQLite file, a store string, a ``History``), with
    its keywords (``cipher_key``, ``compressor``, ``env``, ``table``). Events
    are read and decoded as :func:`~workbench.load_events` reads them: only the
    event types the projection handles, column by column. ``storage`` keeps
    the read model: ``"memory"`` (default), an SQLite path
    (``"readmodels.sqlite"``), ``"beside"`` (in the SQLite event store's own
    file, in tables of its own), a PostgreSQL URL, or a storage object.
    The stored position is loaded, so :meth:`run` continues where the last
    run (in this or an earlier kernel) stopped.

    Runs in the calling thread (:meth:`run`, :meth:`rebuild`, :meth:`step`)
    or in the background (:meth:`start`), with :meth:`pause`, :meth:`resume`
    and :meth:`stop`. ``batch_size`` handled events are applied and committed
    at a time; ``pace`` (seconds to wait after each batch) slows a small
    rebuild down enough to watch it.

    Each batch is all or nothing: if anything stops a run in the middle of one
    (a handler's error, storage refusing a row, Ctrl-C / "interrupt kernel"),
    the read model in memory and in storage is left as the last committed
    batch made it, and the next :meth:`run` continues from there, applying
    each event once. An interrupted run ends ``stopped``, with the
    ``KeyboardInterrupt`` in :attr:`error`.
    """

    def __init__(
        self,
        projection: Projection,
        source: HistorySource,
        storage: ReadModelStorage | str | Path | None = "memory",
        *,
        batch_size: int = 5_000,
        pace: float = 0.0,
        cipher_key: str | None = None,
        compressor: str | Any | None = None,
        env: Mapping[str, str] | None = None,
        table: str | None = None,
    ) -> None:
        if not isinstance(projection, Projection):
            hint = " (did you pass the class? add ())" if isinstance(projection, type) else ""
            raise ProjectionError(
                f"a ProjectionRun needs a Projection instance, got {projection!r}{hint}"
            )
        if batch_size < 1:
            raise ProjectionError(f"batch_size must be at least 1 (got {batch_size})")
        self.projection = projection
        self.name = projection.name
        self.history = open_history(
            source, cipher_key=cipher_key, compressor=compressor, env=env, table=table
        )
        if storage == "beside":
            path = self.history.sqlite_path
            if path is None:
                raise ProjectionError(
                    f"storage='beside' keeps the read model in the event store's SQLite file, "
                    f"but {self.history.description} is not an SQLite file; name a file "
                    "('readmodels.sqlite') or use 'memory'"
                )
            if self.history.readonly:
                raise ProjectionError(
                    f"storage='beside' would write the read model into {path}, but "
                    f"{self.history.description} is open read-only; name another file "
                    "('readmodels.sqlite') or use 'memory'"
                )
            storage = path
        self.storage = open_storage(storage)
        self.batch_size = batch_size
        self.model = ReadModel()
        self.lock = threading.RLock()
        self._executing = threading.Lock()
        self.status: str = "idle"
        """idle, running, paused, stopped (at a limit or by stop()), failed or done."""
        self.failure: HandlerFailure | None = None
        self.last_event: EventView | None = None
        self._listeners: list[Callable[[ProjectionRun], None]] = []
        self._topics: set[str] = set()
        self._topics_upto = 0
        self._pause = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._follower: threading.Thread | None = None
        self._progress = Progress(0, 0, 0, 0, 0.0)
        self._stepped: list[EventView] = []
        self.unmatched: list[str] = []
        """Event types the projection handles that the history has no events of (typos?)."""
        self.pace = pace
        """Seconds to wait after each batch: slow motion, to watch a small rebuild."""
        self.listener_error: BaseException | None = None
        """The last error raised by an :meth:`on_progress` callback (the run carries on)."""
        self.error: BaseException | None = None
        """What stopped the last run outside a handler (storage refused a row, Ctrl-C...)."""
        self._unsure = False
        """Whether memory may differ from storage (a commit or reset was cut short)."""
        self.reload()

    # State -----------------------------------------------------------------------

    @property
    def position(self) -> int:
        """The position of the last event applied (0: none)."""
        return self.model.position

    @property
    def progress(self) -> Progress:
        """Progress of the current (or last) run."""
        return self._progress

    def reload(self) -> ProjectionRun:
        """Load the read model and its position from storage."""
        with self.lock:
            position, tables = self.storage.load(self.name)
            self.model.load(position, tables)
            self._unsure = False
            self._progress = Progress(position, position, position, 0, 0.0)
        return self

    def lag(self) -> Lag:
        """How far the read model is behind the write side."""
        return Lag(self.history.max_position(), self.position)

    def on_progress(self, callback: Callable[[ProjectionRun], None]) -> None:
        """Call ``callback(run)`` after every batch (from the thread doing the work).

        The read model is consistent while the callback runs (it holds ``run.lock``).
        """
        self._listeners.append(callback)

    def frames(self) -> dict[str, pd.DataFrame]:
        """The read model's tables as DataFrames."""
        with self.lock:
            return self.model.frames()

    def table(self, name: str, key_names: list[str] | None = None) -> pd.DataFrame:
        """One table of the read model as a DataFrame."""
        with self.lock:
            return table_frame(dict(self.model.table(name).rows), key_names)

    def use(self, projection: Projection) -> ProjectionRun:
        """Switch to (a fixed version of) the projection; the read model is kept."""
        if not isinstance(projection, Projection):
            raise ProjectionError(f"use() needs a Projection instance, got {projection!r}")
        self.projection = projection
        return self

    # Running ---------------------------------------------------------------------

    def position_at(self, when: datetime) -> int:
        """The position of the last event recorded at or before ``when``.

        Assumes timestamps grow with positions (as they do when events are recorded).
        """
        if when.tzinfo is None:
            raise ProjectionError(
                f"stop times must be timezone-aware, got {when!r}; "
                "e.g. datetime(2018, 3, 7, tzinfo=timezone.utc)"
            )
        lo, hi = 0, self.history.max_position()
        while lo < hi:
            mid = (lo + hi + 1) // 2
            event = self._first_at_or_after(mid, hi)
            if event is None:
                hi = mid - 1
                continue
            if event.timestamp <= when:
                lo = event.position
            else:
                hi = mid - 1
        return lo

    def _first_at_or_after(self, position: int, hi: int) -> EventView | None:
        for batch in event_batches(self.history, position - 1, upto=hi, limit=1):
            return EventView(*batch[0])
        return None

    def _target(self, upto: int | None, until: datetime | None) -> int:
        top = self.history.max_position()
        target = top if upto is None else min(upto, top)
        if until is not None:
            target = min(target, self.position_at(until))
        return target

    def _dispatch(self, target: int) -> dict[str, Handler]:
        if target > self._topics_upto:
            top = self.history.max_position()  # before the query: later events are re-checked
            self._topics |= set(self.history.topics(self._topics_upto))
            self._topics_upto = top
        out: dict[str, Handler] = {}
        keys = set(self.projection.handlers)
        matched: set[str] = set()
        for topic in self._topics:
            handler = self.projection.handler_for(topic)
            if handler is not None:
                out[topic] = handler
                matched.add(topic if topic in keys else short_name(topic))
        self.unmatched = sorted(keys - matched) if self._topics else []
        return out

    def run(
        self,
        upto: int | None = None,
        *,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> ProjectionRun:
        """Apply the events after the current position, up to ``upto`` (a position)
        or ``until`` (a time), or the end of the history. Resumes after a failure
        once the handler is fixed. ``limit`` stops after that many handled events.

        Returns the run (it shows itself in a notebook).
        """
        self._check_not_busy("run")
        self._stop.clear()
        self._pause.clear()  # nobody could resume a paused run in this thread
        target = self._target(upto, until)
        self._execute(target, limit)
        return self

    def catch_up(self) -> ProjectionRun:
        """Apply every event recorded so far (eventual consistency, on demand)."""
        return self.run()

    def step(self, count: int = 1) -> list[EventView]:
        """Apply the next ``count`` handled events; returns them."""
        if count < 1:
            raise ProjectionError(f"step() needs a count of at least 1 (got {count})")
        before = self.position
        self.run(limit=count)
        return [e for e in self._stepped if e.position > before]

    def rebuild(self, upto: int | None = None, *, until: datetime | None = None) -> ProjectionRun:
        """Forget the read model and apply the history again from position 0."""
        self.reset()
        return self.run(upto, until=until)

    def reset(self) -> None:
        """Empty the read model and set its position to 0 (in storage too)."""
        self._check_not_busy("reset")
        with self.lock:
            self._unsure = True
            try:
                self.storage.reset(self.name)
            except BaseException:
                self._recover()
                raise
            self.model.load(0, {})
            self._unsure = False
            self.failure = None
            self.last_event = None
            self.status = "idle"
            self._progress = Progress(0, 0, 0, 0, 0.0)

    def start(
        self,
        upto: int | None = None,
        *,
        until: datetime | None = None,
        rebuild: bool = False,
        paused: bool = False,
    ) -> ProjectionRun:
        """Run (or ``rebuild``) in a background thread; control it with pause/resume/stop."""
        self._check_not_busy("start")
        if rebuild:
            self.reset()
        target = self._target(upto, until)
        self._stop.clear()
        if paused:
            self._pause.set()
        else:
            self._pause.clear()
        self._thread = threading.Thread(
            target=self._execute, args=(target, None), name=f"projection-{self.name}", daemon=True
        )
        self.status = "paused" if paused else "running"
        self._thread.start()
        return self

    def pause(self) -> None:
        """Pause a background run after the batch in hand (``status`` says when it has)."""
        self._pause.set()

    def resume(self) -> None:
        """Resume a paused background run."""
        self._pause.clear()

    @property
    def pause_requested(self) -> bool:
        """Whether :meth:`pause` was called and :meth:`resume` not yet."""
        return self._pause.is_set()

    def stop(self) -> None:
        """Stop a background run (or following) after the current batch."""
        self._stop.set()
        self._pause.clear()
        self.wait()
        if self._follower is not None:
            self._follower.join()
            self._follower = None

    def wait(self, timeout: float | None = None) -> ProjectionRun:
        """Wait for a background run to finish."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        return self

    @property
    def busy(self) -> bool:
        """Whether a background run (or following) is in progress."""
        return self._background() or self.following

    @property
    def following(self) -> bool:
        """Whether :meth:`follow` is catching up in the background."""
        return self._follower is not None and self._follower.is_alive()

    def _background(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def follow(self, every: float = 1.0) -> ProjectionRun:
        """Catch up in the background every ``every`` seconds until :meth:`stop`.

        Between catch-ups the read model lags behind the write side: eventual
        consistency, made visible by :meth:`lag`.
        """
        if self._follower is not None and self._follower.is_alive():
            return self
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                if not self._background() and not self._executing.locked():
                    self._execute(self._target(None, None), None)
                    if self.status == "failed":
                        return
                self._stop.wait(every)

        self._follower = threading.Thread(target=loop, name=f"follow-{self.name}", daemon=True)
        self._follower.start()
        return self

    def _check_not_busy(self, action: str) -> None:
        if self.busy and threading.current_thread() not in (self._thread, self._follower):
            raise ProjectionError(
                f"cannot {action} {self.name!r} while it runs in the background: "
                "stop() it (or wait()) first"
            )

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception as error:  # a view's problem must not stop the projection
                self.listener_error = error

    def _execute(self, target: int, limit: int | None) -> None:
        if not self._executing.acquire(blocking=False):
            raise ProjectionError(
                f"{self.name!r} is already running (in the background?): stop() it first"
            )
        self.error = None
        try:
            self._start_from_storage()
            self._execute_inner(target, limit)
        except Exception as error:
            with self.lock:
                self.error = error
                self.status = "failed"
            if threading.current_thread() not in (self._thread, self._follower):
                raise
        except BaseException as error:  # Ctrl-C ("interrupt kernel"), SystemExit
            with self.lock:
                self.error = error
                self.status = "stopped"
                progress = self._progress
                self._progress = Progress(
                    progress.start,
                    self.model.position,
                    progress.target,
                    progress.handled,
                    progress.elapsed,
                )
            raise
        finally:
            self._executing.release()

    def _start_from_storage(self) -> None:
        """Start a run from what storage holds: nothing uncommitted is carried over."""
        with self.lock:
            if self._unsure:
                self.reload()
            elif self.model.mark:
                self.model.rollback()

    def _execute_inner(self, target: int, limit: int | None) -> None:
        started = time.perf_counter()
        model = self.model
        self._stepped = []
        with self.lock:
            start = model.position
            self.failure = None
            dispatch = self._dispatch(target)
            self.status = "running" if not self._pause.is_set() else "paused"
            self._progress = Progress(start, start, max(target, start), 0, 0.0)
        handled = 0
        topics = sorted(dispatch)
        batch_size = self.batch_size if limit is None else min(limit, self.batch_size)
        stopped = False
        if topics and target > start:
            batches: Iterator[list[DecodedEvent]] = event_batches(
                self.history,
                start,
                upto=target,
                topics=topics,
                batch_size=batch_size,
                limit=limit,
            )
            try:
                for batch in batches:
                    while self._pause.is_set() and not self._stop.is_set():
                        self.status = "paused"
                        time.sleep(0.02)
                    if self._stop.is_set():
                        stopped = True
                        break
                    self.status = "running"
                    if limit is not None and handled + len(batch) > limit:
                        batch = batch[: limit - handled]
                    done = self._apply(batch, dispatch, limit is not None and limit <= 50)
                    handled += done
                    with self.lock:
                        self._progress = Progress(
                            start,
                            model.position,
                            target,
                            handled,
                            time.perf_counter() - started,
                            running=True,
                        )
                        self._notify()
                    if self.failure is not None:
                        break
                    if limit is not None and handled >= limit:
                        stopped = True
                        break
                    if self.pace:
                        self._stop.wait(self.pace)
            finally:
                close = getattr(batches, "close", None)
                if close is not None:
                    close()
        if self.failure is None and not stopped and model.position < target:
            with self.lock:
                self._commit(target)
        with self.lock:
            self._progress = Progress(
                start, model.position, max(target, start), handled, time.perf_counter() - started
            )
            if self.failure is not None:
                self.status = "failed"
            elif stopped:
                self.status = "stopped"
            else:
                self.status = "done"
            self._notify()

    def _commit(self, position: int) -> None:
        model = self.model
        self._unsure = True
        try:
            self.storage.commit(self.name, model.position, position, model.changes())
            model.clear_log()
            model.position = position
        except BaseException:
            self._recover()
            raise
        self._unsure = False

    def _recover(self) -> None:
        """After a commit or reset was cut short, make memory what storage holds.

        Storage changes in transactions, so it holds the last commit that went
        through (which may be the one cut short, if only the reply was lost).
        If storage cannot be read now, the model stays marked unsure and the
        next run reloads it before anything else.
        """
        with contextlib.suppress(Exception):
            self.reload()

    def _apply(
        self, events: Iterable[DecodedEvent], dispatch: dict[str, Handler], keep: bool
    ) -> int:
        model = self.model
        log = model._log
        handled = 0
        event: EventView | None = None
        with self.lock:
            try:
                for decoded in events:
                    mark = len(log)
                    event = EventView(*decoded)
                    try:
                        dispatch[decoded[3]](event, model)
                    except Exception as error:
                        model.rollback(mark)
                        self._fail(event, error)
                        return handled
                    handled += 1
                    if keep:
                        self._stepped.append(event)
                if event is not None:
                    self.last_event = event
                    self._commit(event.position)
            except BaseException:
                # the batch was not committed (a failed commit restored the model
                # from storage itself): none of its changes stay in memory
                if not self._unsure:
                    self._unsure = True
                    model.rollback()
                    self._unsure = False
                raise
        return handled

    def _fail(self, event: EventView, error: Exception) -> None:
        try:
            payload = event.payload
        except Exception as decode_error:  # the state itself is unreadable
            payload = {"<undecodable>": repr(decode_error)}
        self.failure = HandlerFailure(
            position=event.position,
            type=event.type,
            stream_id=event.stream_id,
            version=event.version,
            payload=payload,
            error=error,
            traceback="".join(traceback.format_exception(error)),
        )
        self.last_event = event
        if self.model.position < event.position - 1:
            self._commit(event.position - 1)

    # Display -------------------------------------------------------------------

    def _unmatched_note(self) -> str:
        known = sorted({short_name(t) for t in self._topics})
        return (
            f"note: this history has no events of type {', '.join(self.unmatched)}; "
            f"check the names in @handles (types here: {', '.join(known)})"
        )

    def __repr__(self) -> str:
        text = (
            f"<ProjectionRun {self.name!r} {self.status} at position {self.position} "
            f"({self.progress}); read model in {self.storage.description}>"
        )
        if self.unmatched:
            text += f"\n{self._unmatched_note()}"
        if self.failure is not None:
            text += f"\n{self.failure}"
        elif self.error is not None:
            text += f"\nstopped by {type(self.error).__name__}: {self.error}"
        return text

    def _repr_html_(self) -> str:
        progress = self.progress
        tables = ", ".join(
            f"{html.escape(n)} ({len(t)} rows)" for n, t in sorted(self.model.tables.items())
        )
        lag = self.lag()
        failure = self.failure._repr_html_() if self.failure is not None else ""
        if self.unmatched:
            failure += (
                f"<div class='wb-projection-unmatched'>{html.escape(self._unmatched_note())}</div>"
            )
        return (
            f"<div class='wb-projection-run'><b>{html.escape(self.name)}</b> — {self.status} "
            f"at position {self.position:,}<br>"
            f"<progress value='{progress.done}' max='{max(progress.total, 1)}' "
            f"style='width:300px'></progress> {html.escape(str(progress))}<br>"
            f"lag: {html.escape(str(lag))}<br>"
            f"tables: {tables or 'none yet'}; stored {html.escape(self.storage.description)}"
            f"{failure}</div>"
        )


def _tables_of(obj: Any) -> dict[str, dict[Any, Any]]:
    if isinstance(obj, ProjectionRun):
        with obj.lock:
            return obj.model.snapshot()
    if isinstance(obj, ReadModel):
        return obj.snapshot()
    if isinstance(obj, dict):
        return obj
    raise ProjectionError(
        f"diff() compares ProjectionRuns, ReadModels or dicts of tables, got {type(obj).__name__}"
    )


def diff(left: Any, right: Any, names: tuple[str, str] = ("left", "right")) -> pd.DataFrame:
    """The differences between two read models, one row per differing field.

    Columns: ``table``, ``key``, ``field`` (``value`` for plain rows), then the
    two sides (named by ``names``; ``None`` where a row is missing). Empty when
    the read models are equal.

    >>> diff({"t": {"a": 1, "b": {"n": 2}}}, {"t": {"a": 1, "b": {"n": 3}}})
      table key field  left  right
    0     t   b     n     2      3
    """
    a, b = _tables_of(left), _tables_of(right)
    rows: list[dict[str, Any]] = []
    for table in sorted(set(a) | set(b)):
        ta, tb = a.get(table, {}), b.get(table, {})
        for key in sorted(set(ta) | set(tb), key=repr):
            va, vb = ta.get(key), tb.get(key)
            if key in ta and key in tb and va == vb:
                continue
            if isinstance(va, dict) or isinstance(vb, dict):
                da = va if isinstance(va, dict) else {}
                db = vb if isinstance(vb, dict) else {}
                for name in sorted(set(da) | set(db)):
                    fa, fb = da.get(name), db.get(name)
                    if key in ta and key in tb and name in da and name in db and fa == fb:
                        continue
                    rows.append(
                        {"table": table, "key": key, "field": name, names[0]: fa, names[1]: fb}
                    )
            else:
                rows.append(
                    {"table": table, "key": key, "field": "value", names[0]: va, names[1]: vb}
                )
    return pd.DataFrame(rows, columns=["table", "key", "field", names[0], names[1]])
