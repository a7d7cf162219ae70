"""Read-model storages: the same cases on memory, SQLite (own file and beside the
store) and PostgreSQL; resume after a restart with a real SQLite file."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from test_projections import T0, apply_command

from workbench.clock import ManualClock, use_clock
from workbench.examples.ticketing import Conference, Ticketing
from workbench.examples.ticketing.readmodels import PurchaseRecords, TicketsRemaining
from workbench.projections import (
    EventView,
    MemoryStorage,
    ProjectionError,
    ProjectionRun,
    ReadModel,
    ReadModelStorage,
    SQLiteStorage,
    StaleTrackingError,
    handles,
    open_storage,
)
from workbench.projections.readmodel import MISSING
from workbench.stores import open_app


@pytest.fixture(params=["memory", "sqlite", "beside", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ReadModelStorage:
    kind = request.param
    if kind == "memory":
        return MemoryStorage()
    if kind == "sqlite":
        return open_storage(tmp_path / "readmodels.sqlite")
    if kind == "beside":
        store = tmp_path / "events.sqlite"
        app = open_app(Ticketing, store)
        app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
        return open_storage(store)
    return open_storage(request.getfixturevalue("postgres_url"))


ROWS: dict[str, dict[Any, Any]] = {
    "remaining": {("PHP18", "Standard"): 98, ("PHP18", "Student"): 3},
    "purchases": {
        "p1": {
            "total": Decimal("900.00"),
            "at": datetime(2018, 3, 7, 9, 0, tzinfo=UTC),
            "day": date(2018, 3, 7),
            "id": UUID(int=5),
            "delegates": ["A", "B"],
            "discount": None,
        }
    },
    "counts": {1: 2},
}


def test_rows_and_position_round_trip(storage: ReadModelStorage) -> None:
    assert storage.load("p") == (0, {})
    storage.commit("p", 0, 17, ROWS)
    assert storage.load("p") == (17, ROWS)
    assert "p" in storage.names()


def test_changes_update_and_delete_rows(storage: ReadModelStorage) -> None:
    storage.commit("p", 0, 5, ROWS)
    storage.commit(
        "p", 5, 9, {"remaining": {("PHP18", "Standard"): 97, ("PHP18", "Student"): MISSING}}
    )
    position, tables = storage.load("p")
    assert position == 9 and tables["remaining"] == {("PHP18", "Standard"): 97}
    assert tables["purchases"] == ROWS["purchases"]


def test_a_stale_position_is_refused_and_changes_nothing(storage: ReadModelStorage) -> None:
    storage.commit("p", 0, 5, ROWS)
    with pytest.raises(StaleTrackingError, match="another run"):
        storage.commit("p", 3, 8, {"counts": {1: 99}})
    assert storage.load("p") == (5, ROWS)


def test_projections_are_kept_apart_and_reset(storage: ReadModelStorage) -> None:
    storage.commit("a", 0, 5, ROWS)
    storage.commit("b", 0, 2, {"counts": {1: 1}})
    storage.reset("a")
    assert storage.load("a") == (0, {})
    assert storage.load("b") == (2, {"counts": {1: 1}})


def test_a_run_resumes_from_its_storage(storage: ReadModelStorage) -> None:
    clock = ManualClock(T0)
    with use_clock(clock):
        app = open_app(Ticketing)
        state: dict[str, Any] = {}
        for k in range(30):
            clock.advance(minutes=5)
            apply_command(app, state, k % 8, k * 3, k * 11)
    first = ProjectionRun(PurchaseRecords(), app, storage, batch_size=7).run(upto=40)
    again = ProjectionRun(PurchaseRecords(), app, storage, batch_size=7)
    assert again.position == 40 and again.model.snapshot() == first.model.snapshot()
    again.run()
    assert again.model.snapshot() == ProjectionRun(PurchaseRecords(), app).run().model.snapshot()


def test_resume_after_restart_with_a_real_sqlite_file(tmp_path: Path) -> None:
    """Two application instances on one SQLite file, the read model in another file."""
    store = tmp_path / "ticketing.sqlite"
    readmodels = tmp_path / "readmodels.sqlite"
    clock = ManualClock(T0)
    state: dict[str, Any] = {}
    with use_clock(clock):
        first_app = open_app(Ticketing, store)
        for k in range(25):
            clock.advance(minutes=3)
            apply_command(first_app, state, k % 8, k, k * 7)
        run = ProjectionRun(TicketsRemaining(), first_app, readmodels).run()
        stopped_at = run.position
        assert stopped_at == first_app.recorder.max_notification_id()
        first_app.close()
        del run  # the kernel restarts

        second_app = open_app(Ticketing, store)
        for k in range(25, 50):
            clock.advance(minutes=3)
            apply_command(second_app, state, k % 8, k, k * 7)
    resumed = ProjectionRun(TicketsRemaining(), second_app, readmodels)
    assert resumed.position == stopped_at
    resumed.run()
    assert resumed.progress.start == stopped_at
    assert resumed.position == (second_app.recorder.max_notification_id() or 0) > stopped_at
    rebuilt = ProjectionRun(TicketsRemaining(), second_app).rebuild()
    assert resumed.model.snapshot() == rebuilt.model.snapshot()
    # and the file agrees with what the run holds
    assert SQLiteStorage(readmodels).load("tickets_remaining") == (
        resumed.position,
        resumed.model.snapshot(),
    )


def test_sqlite_storage_needs_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        SQLiteStorage(tmp_path / "missing" / "rm.sqlite")


@pytest.mark.skipif(
    not os.environ.get("WORKBENCH_TEST_POSTGRES_URL"), reason="no PostgreSQL server"
)
def test_postgres_description_hides_the_password(postgres_url: str) -> None:
    storage = open_storage(postgres_url)
    assert "PostgreSQL" in storage.description and "@" not in storage.description


def test_projections_read_every_kind_of_event_store(store: str) -> None:
    """The event store itself on memory, SQLite and PostgreSQL (conftest's ``store``)."""
    clock = ManualClock(T0)
    state: dict[str, Any] = {}
    with use_clock(clock):
        app = open_app(Ticketing, store)
        for k in range(20):
            clock.advance(minutes=2)
            apply_command(app, state, k % 8, k, k * 5)
    run = ProjectionRun(TicketsRemaining(), app).run()
    assert run.position == app.recorder.max_notification_id()
    for conference_id in state["conferences"]:
        code = app.get_conference(conference_id).code
        remaining = app.get_tickets_remaining(conference_id)
        assert {t: run.model["remaining"][(code, t)] for t in remaining} == remaining


def test_beside_keeps_the_read_model_in_the_event_store_file(tmp_path: Path) -> None:
    store = tmp_path / "events.sqlite"
    app = open_app(Ticketing, store)
    app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    run = ProjectionRun(TicketsRemaining(), store, "beside").run()
    assert run.storage.description == f"SQLite file {store}"
    assert SQLiteStorage(store).load("tickets_remaining")[0] == 1
    again = open_app(Ticketing, store)  # the event store is still an event store
    assert again.get_conference(Conference.create_id("PHP18")).code == "PHP18"
    with pytest.raises(ProjectionError, match="not an SQLite file"):
        ProjectionRun(TicketsRemaining(), open_app(Ticketing), "beside")


# One transaction: rows and position together -------------------------------------------

SQLITE_REFUSALS = """
CREATE TRIGGER refuse_row BEFORE INSERT ON workbench_projection_rows
WHEN NEW.value = '"refused"' BEGIN SELECT RAISE(ABORT, 'row refused'); END;
CREATE TRIGGER refuse_row_update BEFORE UPDATE ON workbench_projection_rows
WHEN NEW.value = '"refused"' BEGIN SELECT RAISE(ABORT, 'row refused'); END;
CREATE TRIGGER refuse_position BEFORE INSERT ON workbench_projection_tracking
WHEN NEW.position = 999 BEGIN SELECT RAISE(ABORT, 'position refused'); END;
CREATE TRIGGER refuse_position_update BEFORE UPDATE ON workbench_projection_tracking
WHEN NEW.position = 999 BEGIN SELECT RAISE(ABORT, 'position refused'); END;
"""

POSTGRES_REFUSALS = """
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'refused by the test database'; END $$;
CREATE TRIGGER refuse_row BEFORE INSERT OR UPDATE ON workbench_projection_rows
FOR EACH ROW WHEN (NEW.value = '"refused"') EXECUTE FUNCTION refuse();
CREATE TRIGGER refuse_position BEFORE INSERT OR UPDATE ON workbench_projection_tracking
FOR EACH ROW WHEN (NEW.position = 999) EXECUTE FUNCTION refuse();
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def refusing_storage(request: pytest.FixtureRequest, tmp_path: Path) -> ReadModelStorage:
    """An SQL storage whose database refuses the row value "refused" and the position 999."""
    if request.param == "sqlite":
        path = tmp_path / "readmodels.sqlite"
        storage = open_storage(path)
        with sqlite3.connect(path) as conn:
            conn.executescript(SQLITE_REFUSALS)
        return storage
    import psycopg

    url = request.getfixturevalue("postgres_url")
    storage = open_storage(url)
    base, schema = url.split("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(POSTGRES_REFUSALS)
    return storage


def test_a_refused_row_leaves_rows_and_position_unchanged(
    refusing_storage: ReadModelStorage,
) -> None:
    storage = refusing_storage
    storage.commit("p", 0, 5, {"t": {"a": 1, "b": 2}, "u": {"x": 1}})
    before = storage.load("p")
    # rows are deleted and written before the refused one: none of it may stay
    refused = {"t": {"a": 10, "b": MISSING, "c": 3, "z": "refused"}, "u": {"x": 2}}
    with pytest.raises(Exception, match="refused"):
        storage.commit("p", 5, 9, refused)
    assert storage.load("p") == before
    # the position written last is refused: the rows written before it do not stay
    with pytest.raises(Exception, match="refused"):
        storage.commit("p", 5, 999, {"t": {"a": 10, "b": MISSING}})
    assert storage.load("p") == before
    # and the storage is not left inside a transaction
    storage.commit("p", 5, 9, {"t": {"a": 10, "b": MISSING}})
    assert storage.load("p") == (9, {"t": {"a": 10}, "u": {"x": 1}})


def test_a_run_whose_row_is_refused_keeps_the_last_committed_batch(
    refusing_storage: ReadModelStorage,
) -> None:
    clock = ManualClock(T0)
    with use_clock(clock):
        app = open_app(Ticketing)
        state: dict[str, Any] = {}
        for k in range(30):
            clock.advance(minutes=5)
            apply_command(app, state, k % 8, k * 3, k * 11)

    class Refusing(PurchaseRecords):
        @handles("TicketPurchase.Paid")
        def refuse(self, event: EventView, model: ReadModel) -> None:
            paid = model["counts"].add("paid")
            model["paid"][event.stream_id] = "refused" if paid == 3 else event.amount

    run = ProjectionRun(Refusing(), app, refusing_storage, batch_size=2)
    with pytest.raises(Exception, match="refused"):
        run.run()
    assert run.status == "failed" and run.position > 0
    assert run.model["counts"]["paid"] == 2
    assert refusing_storage.load(run.name) == (run.position, run.model.snapshot())
    up_to_there = ProjectionRun(Refusing(), app).run(upto=run.position)
    assert up_to_there.model.snapshot() == run.model.snapshot()
