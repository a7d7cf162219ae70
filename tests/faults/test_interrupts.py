"""Interrupted runs that write: all or nothing per batch (per step for a process).

A run is cut short at a drawn point: a handler raising ``KeyboardInterrupt``
(what "interrupt kernel" does), a progress callback raising it between
batches, or storage whose commit raises before or after doing its work. After
each cut, memory and storage hold what the last committed batch made, and the
status is not left "running"; running again (the same run object, or a new one
after a "kernel restart") ends with exactly what an uninterrupted run gives.
"""

from __future__ import annotations

import functools
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.clock import ManualClock, use_clock
from workbench.examples.history import generate_history, write_history
from workbench.examples.ticketing import Ticketing, TicketingError
from workbench.examples.ticketing.processes import PURCHASE
from workbench.processes import ActionContext, ProcessRun, Refused
from workbench.projections import (
    EventView,
    MemoryStorage,
    Projection,
    ProjectionRun,
    ReadModel,
    ReadModelStorage,
    handles,
    open_storage,
)
from workbench.reading import open_records
from workbench.stores import open_app

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def history() -> Ticketing:
    """About 400 events of ticket sales: conferences, purchases, timeouts, cancellations."""
    app = open_app(Ticketing, "sqlite::memory:")
    generate_history(app, events=400, seed=11)
    return app


class Faults:
    """Where the next interruption lands, counted in handler calls, commits and batches."""

    def __init__(self, plan: list[tuple[str, int, str]]) -> None:
        self.plan = list(plan)
        """(where, at which count, how): where is handler, progress, commit-before, commit-after."""
        self.counts = dict.fromkeys(["handler", "progress", "commit"], 0)
        self.fired = 0

    def hit(self, where: str) -> None:
        """Count one call at ``where`` and raise if the next fault is due there."""
        kind = where.split("-")[0]
        if not where.endswith("-after"):
            self.counts[kind] += 1
        if self.plan and self.plan[0][0] == where and self.counts[kind] >= self.plan[0][1]:
            _, _, how = self.plan.pop(0)
            self.fired += 1
            self.counts[kind] = 0
            raise (
                KeyboardInterrupt("interrupt kernel")
                if how == "interrupt"
                else OSError("disk I/O error")
            )


class Tally(Projection):
    """Counts the events it handles, per type and per stream: an event applied twice shows."""

    name = "tally"

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults

    @handles(
        "Conference.Scheduled",
        "Conference.TicketTypeAdded",
        "Conference.TicketsReserved",
        "Conference.TicketsReleased",
        "TicketPurchase.Started",
        "TicketPurchase.Paid",
        "TicketPurchase.TimedOut",
    )
    def count(self, event: EventView, model: ReadModel) -> None:
        model["types"].add(event.type)
        model["streams"].update(event.stream_id, last=event.position)
        model["streams"].update(
            event.stream_id, seen=model["streams"][event.stream_id].get("seen", 0) + 1
        )
        if self.faults is not None:
            self.faults.hit("handler")  # after writing: the batch is half-applied


class FaultyStorage:
    """A storage whose commit raises at planned calls, before or after doing its work."""

    def __init__(self, inner: ReadModelStorage, faults: Faults) -> None:
        self.inner = inner
        self.faults = faults
        self.description = inner.description

    def load(self, name: str) -> tuple[int, dict[str, dict[Any, Any]]]:
        return self.inner.load(name)

    def commit(
        self, name: str, expected: int, position: int, changes: dict[str, dict[Any, Any]]
    ) -> None:
        self.faults.hit("commit-before")
        self.inner.commit(name, expected, position, changes)
        self.faults.hit("commit-after")  # committed, but the caller hears of an error

    def reset(self, name: str) -> None:
        self.inner.reset(name)

    def names(self) -> list[str]:
        return self.inner.names()


def rows(tables: dict[str, dict[Any, Any]]) -> dict[str, dict[Any, Any]]:
    """The tables that hold rows (a handler may leave a table it only looked into empty)."""
    return {name: table for name, table in tables.items() if table}


def state(run: ProjectionRun) -> tuple[int, dict[str, dict[Any, Any]]]:
    return run.position, rows(run.model.snapshot())


def stored(storage: ReadModelStorage, name: str) -> tuple[int, dict[str, dict[Any, Any]]]:
    position, tables = storage.load(name)
    return position, rows(tables)


@functools.cache
def clean() -> tuple[int, dict[str, dict[Any, Any]]]:
    return state(ProjectionRun(Tally(), history()).run())


fault_plans = st.lists(
    st.tuples(
        st.sampled_from(["handler", "progress", "commit-before", "commit-after"]),
        st.integers(1, 60),
        st.sampled_from(["interrupt", "error"]),
    ),
    min_size=1,
    max_size=4,
)


@SETTINGS
@given(
    plan=fault_plans,
    batch_size=st.integers(1, 50),
    backend=st.sampled_from(["memory", "sqlite"]),
    restart=st.booleans(),
)
def test_an_interrupted_projection_run_continues_exactly_once(
    plan: list[tuple[str, int, str]], batch_size: int, backend: str, restart: bool
) -> None:
    faults = Faults(plan)
    with tempfile.TemporaryDirectory() as folder:
        inner = MemoryStorage() if backend == "memory" else open_storage(Path(folder) / "rm.sqlite")
        storage = FaultyStorage(inner, faults)

        def new_run() -> ProjectionRun:
            run = ProjectionRun(Tally(faults), history(), storage, batch_size=batch_size)
            run.on_progress(lambda _: faults.hit("progress"))
            return run

        run = new_run()
        for _ in range(len(plan) + 1):
            try:
                run.run()
            except (KeyboardInterrupt, OSError):
                assert run.status in ("stopped", "failed") and run.error is not None
            # memory is storage is the last committed batch
            assert stored(inner, "tally") == state(run)
            if run.status == "done":
                break
            assert run.status != "running"
            if restart:
                run = new_run()  # a kernel restart: a new run over the same storage
        assert run.status == "done"
        assert state(run) == clean()
        assert stored(inner, "tally") == clean()
        if backend == "sqlite":
            assert stored(open_storage(Path(folder) / "rm.sqlite"), "tally") == clean()


# Process runs: all or nothing per step ----------------------------------------------

START = datetime(2018, 3, 1, 9, 0, tzinfo=UTC)


def purchases() -> Ticketing:
    """Twelve purchases ten minutes apart: two in three paid in time, the rest time out."""
    clock = ManualClock(START)
    app = Ticketing()
    with use_clock(clock):
        conf = app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
        app.add_ticket_type(conf, "Standard", Decimal("450.00"), 100)
        for n in range(12):
            clock.advance(minutes=10)
            purchase = app.reserve_tickets(conf, f"Customer {n}", {"Standard": 1})
            if n % 3:
                app.pay(purchase, f"PAY-{n}", [f"Delegate {n}"])
    return app


class Mailer:
    """A mail API that takes an idempotency key: a repeated key is not delivered again."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.delivered: list[str] = []
        self.attempts: list[str] = []

    def __call__(self, ctx: ActionContext) -> str:
        self.attempts.append(ctx.key)
        self.faults.hit("handler")  # before delivering
        if ctx.key not in self.delivered:
            self.delivered.append(ctx.key)
        self.faults.hit("handler-after")  # delivered, not yet recorded
        return "sent"


def process_run(
    upstream: Ticketing,
    store: Path,
    mailer: Mailer,
    faults: Faults | None = None,
    clock: ManualClock | None = None,
) -> ProcessRun:
    clock = clock or ManualClock(START)

    def release(ctx: ActionContext) -> str:
        try:
            with use_clock(clock):
                upstream.time_out(UUID(ctx.instance))
        except TicketingError as e:
            raise Refused(str(e)) from e  # done before an interruption: refused now
        return "released"

    run = ProcessRun(
        PURCHASE,
        upstream,
        handlers={"send confirmation": mailer, "release tickets": release},
        clock=clock,
        store=store,
    )
    if faults is not None:
        put = run.log.events.put

        def faulty_put(events: Any, **kwargs: Any) -> Any:
            faults.hit("commit-before")
            result = put(events, **kwargs)
            faults.hit("commit-after")
            return result

        run.log.events.put = faulty_put  # type: ignore[method-assign]
    return run


def to_the_end(run: ProcessRun) -> None:
    run.run_to_end()
    run.advance(minutes=60)  # the unpaid purchases time out: their tickets are released
    run.run_to_end()  # and Ticketing's TimedOut events are delivered


def by_customer(upstream: Ticketing, keys: list[str]) -> list[str]:
    """Instance keys and action keys with each purchase id replaced by its customer."""
    out = []
    for key in keys:
        purchase, _, rest = key.partition("/")
        out.append(f"{upstream.get_purchase(UUID(purchase)).customer}/{rest}")
    return sorted(out)


def states_by_customer(upstream: Ticketing, run: ProcessRun) -> dict[str, str]:
    return {upstream.get_purchase(UUID(key)).customer: state for key, state in run.states().items()}


@functools.cache
def clean_process() -> tuple[dict[str, str], list[str]]:
    """What an uninterrupted run ends with (purchases named by their customers)."""
    upstream = purchases()
    with tempfile.TemporaryDirectory() as folder:
        mailer = Mailer(Faults([]))
        run = process_run(upstream, Path(folder) / "purchase.sqlite", mailer)
        to_the_end(run)
        return states_by_customer(upstream, run), by_customer(upstream, mailer.delivered)


def recorded(run: ProcessRun, store: Path) -> tuple[dict[str, str], dict[str, str], int]:
    again = ProcessRun(PURCHASE, run.upstream.history, store=store)  # a dry run: reads only
    return again.states(), again.ledger, again.cursor


process_faults = st.lists(
    st.tuples(
        st.sampled_from(["handler", "handler-after", "commit-before", "commit-after"]),
        st.integers(1, 12),
        st.sampled_from(["interrupt", "error"]),
    ),
    min_size=1,
    max_size=4,
)


@SETTINGS
@given(plan=process_faults, restart=st.booleans())
def test_an_interrupted_process_run_continues_exactly_once(
    plan: list[tuple[str, int, str]], restart: bool
) -> None:
    faults = Faults(plan)
    mailer = Mailer(faults)
    upstream = purchases()
    clock = ManualClock(START)  # the world's time: it goes on across a kernel restart
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "purchase.sqlite"
        run = process_run(upstream, store, mailer, faults, clock)
        for _ in range(len(plan) + 1):
            try:
                to_the_end(run)
            except (KeyboardInterrupt, OSError):
                # memory is the store: what a new run reading the store finds
                assert recorded(run, store) == (run.states(), run.ledger, run.cursor)
                if restart:
                    run = process_run(upstream, store, mailer, faults, clock)  # a kernel restart
                continue
            break
        states, delivered = clean_process()
        assert states_by_customer(upstream, run) == states
        assert recorded(run, store)[0] == run.states()
        # at least once, with an idempotency key the mail API drops repeats of: once
        assert by_customer(upstream, mailer.delivered) == delivered
        assert set(mailer.attempts) == set(mailer.delivered)


# Generating a history: all at once -------------------------------------------------------


def stored_rows(path: Path) -> list[tuple[str, int, str, bytes]]:
    reader = open_records(path)
    return [(r.stream_id, r.version, r.topic, r.state) for b in reader.batches() for r in b]


@functools.cache
def clean_history() -> list[tuple[str, int, str, bytes]]:
    with tempfile.TemporaryDirectory() as folder:
        write_history(Path(folder) / "h.sqlite", events=1200, seed=5, batch_size=200)
        return stored_rows(Path(folder) / "h.sqlite")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    at=st.integers(1, 5),
    how=st.sampled_from(["interrupt", "error"]),
    folder=st.booleans(),
    leftover=st.booleans(),
)
def test_an_interrupted_generate_leaves_nothing_and_runs_again(
    at: int, how: str, folder: bool, leftover: bool
) -> None:
    faults = Faults([("progress", at, how)])
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        target = where / ("sample" if folder else "h.sqlite")
        if leftover:  # what a killed run left behind
            partial = (target / "ticketing.sqlite" if folder else target).name + ".partial"
            (target if folder else where).mkdir(exist_ok=True)
            ((target if folder else where) / partial).write_bytes(b"half a history")
        before = sorted(p.relative_to(where) for p in where.rglob("*"))
        with pytest.raises((KeyboardInterrupt, OSError)):
            write_history(
                target,
                events=1200,
                seed=5,
                folder=folder,
                batch_size=200,
                progress=lambda _: faults.hit("progress"),
            )
        after = sorted(p.relative_to(where) for p in where.rglob("*"))
        assert after == [] if not leftover else all(p in before for p in after)
        assert not list(where.rglob("*.sqlite"))  # nothing that looks like a history
        write_history(target, events=1200, seed=5, folder=folder, batch_size=200)
        ticketing = target / "ticketing.sqlite" if folder else target
        assert stored_rows(ticketing) == clean_history()
        assert not list(where.rglob("*.partial"))
