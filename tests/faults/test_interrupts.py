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
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.examples.history import generate_history
from workbench.examples.ticketing import Ticketing
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
from workbench.stores import open_app

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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
        self.counts = {"handler": 0, "progress": 0, "commit": 0}
        self.fired = 0

    def hit(self, where: str) -> None:
        """Count one call at ``where`` and raise if the next fault is due there."""
        kind = "commit" if where.startswith("commit") else where
        if where != "commit-after":
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
