import sqlite3
from datetime import date
from functools import singledispatchmethod
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import pytest
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.system import ProcessApplication
from eventsourcing.utils import get_topic

from workbench.examples.ticketing import Ticketing
from workbench.stores import StoreError, describe_store, open_app, parse_store


def test_one_function_opens_every_kind_of_store(store: str) -> None:
    app = open_app(Ticketing, store)
    conference_id = app.schedule_conference("PHP18", "ConFoo 2018", date(2018, 3, 7))
    assert app.recorder.max_notification_id() == 1
    if store != "memory":  # a second application object on the same store sees the events
        again = open_app(Ticketing, store, readonly=True)
        assert again.get_conference(conference_id).name == "ConFoo 2018"


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        (None, "memory"),
        ("memory", "memory"),
        ("", "memory"),
        ("history.sqlite", "sqlite"),
        ("sqlite:///data/history.sqlite", "sqlite"),
        ("sqlite::memory:", "sqlite"),
        ("postgresql://u:p@localhost:5432/db", "postgresql"),
        ("postgres://u@db.example/db?schema=tickets", "postgresql"),
    ],
)
def test_store_strings(spec: str | None, kind: str) -> None:
    assert parse_store(spec).kind == kind


def test_postgres_url_maps_onto_eventsourcing_settings() -> None:
    env = parse_store("postgresql://me:s%40cret@db:6543/tickets?schema=ws").env("Ticketing")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert env["POSTGRES_DBNAME"] == "tickets"
    assert env["POSTGRES_HOST"] == "db"
    assert env["POSTGRES_PORT"] == "6543"
    assert env["POSTGRES_USER"] == "me"
    assert env["POSTGRES_PASSWORD"] == "s@cret"
    assert env["POSTGRES_SCHEMA"] == "ws"
    assert "s@cret" not in describe_store("postgresql://me:s%40cret@db:6543/tickets")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tickets", "cannot tell what store 'tickets' is"),
        ("mysql://x/y", "unknown kind of store 'mysql://'"),
        ("sqlite://relative.db", "sqlite:///relative/path.sqlite"),
        ("postgresql://localhost", "names no database"),
        ("postgresql://localhost:port/db", "not a number"),
    ],
)
def test_bad_store_strings_say_what_is_accepted(spec: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        parse_store(spec)


def test_missing_file_in_readonly_use(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="there is no event store at"):
        open_app(Ticketing, tmp_path / "missing.sqlite", readonly=True)
    assert not (tmp_path / "missing.sqlite").exists()


def test_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list")
    with pytest.raises(StoreError, match="is not an SQLite database"):
        open_app(Ticketing, path)
    assert path.read_text() == "shopping list"


def test_sqlite_file_that_is_not_an_eventsourcing_store(tmp_path: Path) -> None:
    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (name TEXT)")
    conn.close()
    with pytest.raises(StoreError, match="not an eventsourcing store.*customers"):
        open_app(Ticketing, path)
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    conn.close()
    assert tables == ["customers"]  # nothing was added to the foreign database


def test_folder_store_keeps_one_file_per_application(tmp_path: Path) -> None:
    from workbench.examples.sponsorship import Sponsorship

    open_app(Ticketing, tmp_path).schedule_conference("A", "A", date(2018, 1, 1))
    open_app(Sponsorship, tmp_path).register_sponsor("Acme", "A", "Wile")
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".sqlite") == [
        "sponsorship.sqlite",
        "ticketing.sqlite",
    ]


def test_readonly_does_not_create_tables(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    open_app(Ticketing, path).schedule_conference("A", "A", date(2018, 1, 1))
    app = open_app(Ticketing, path, readonly=True)
    assert app.recorder.max_notification_id() == 1


def test_unreachable_postgres_gives_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot open Ticketing on the PostgreSQL database"):
        open_app(Ticketing, "postgresql://nobody:nothing@127.0.0.1:1/none?connect_timeout=1")


class NotesSQLiteFactory(SQLiteFactory):
    """An application's own SQLite factory, as a package might write to add tables."""


class NotedTicketing(Ticketing):
    """Ticketing with its own persistence settings, declared the eventsourcing way."""

    env: ClassVar[dict[str, str]] = {
        "PERSISTENCE_MODULE": get_topic(NotesSQLiteFactory),
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
        "IS_SNAPSHOTTING_ENABLED": "y",
    }


@pytest.mark.parametrize("where", ["file", "folder", "sqlite::memory:"])
def test_an_applications_own_sqlite_factory_is_kept(tmp_path: Path, where: str) -> None:
    store = {"file": str(tmp_path / "events.sqlite"), "folder": str(tmp_path)}.get(where, where)
    app = open_app(NotedTicketing, store)
    assert type(app.factory) is NotesSQLiteFactory
    assert app.mapper.compressor is not None
    assert app.snapshots is not None
    app.schedule_conference("A", "A", date(2018, 1, 1))
    if where != "sqlite::memory:":
        again = open_app(NotedTicketing, store, readonly=True)
        assert type(again.factory) is NotesSQLiteFactory
        assert again.recorder.max_notification_id() == 1
    if where == "folder":
        assert _sqlite_files(tmp_path) == ["notedticketing.sqlite"]


def test_an_applications_own_factory_gives_way_to_a_store_of_another_kind() -> None:
    app = open_app(NotedTicketing, "memory")
    assert type(app.recorder).__name__ == "POPOApplicationRecorder"
    assert app.mapper.compressor is not None  # the other settings are still the app's own


def test_the_env_argument_has_the_last_word(tmp_path: Path) -> None:
    app = open_app(NotedTicketing, tmp_path / "events.sqlite", env={"COMPRESSOR_TOPIC": ""})
    assert type(app.factory) is NotesSQLiteFactory
    assert app.mapper.compressor is None


class Doorbell(Application[UUID]):
    """A leader: each ring is a new aggregate."""

    def ring(self) -> UUID:
        ring = Ring()
        self.save(ring)
        return ring.id


class Ring(Aggregate):
    """One press of the doorbell."""


class Answer(Aggregate):
    """The porter answered a ring."""

    def __init__(self, ring_id: UUID) -> None:
        self.ring_id = ring_id


class Porter(ProcessApplication[UUID]):
    """A process application: answers every ring."""

    @singledispatchmethod
    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Events other than rings need no answer."""

    @policy.register
    def _(self, domain_event: Ring.Created, processing_event: ProcessingEvent[UUID]) -> None:
        processing_event.collect_events(Answer(domain_event.originator_id))


@pytest.mark.parametrize("where", ["memory", "file", "folder", "sqlite::memory:"])
def test_a_process_application_gets_a_process_recorder(tmp_path: Path, where: str) -> None:
    store = {"file": str(tmp_path / "porter.sqlite"), "folder": str(tmp_path)}.get(where, where)
    doorbell = open_app(Doorbell, "memory")
    porter = open_app(Porter, store)
    porter.follow(doorbell.name, doorbell.notification_log)
    doorbell.ring()
    doorbell.ring()
    porter.pull_and_process(doorbell.name)
    assert porter.recorder.max_tracking_id(doorbell.name) == 2
    assert porter.recorder.max_notification_id() == 2
    if where in ("file", "folder"):
        again = open_app(Porter, store, readonly=True)
        assert again.recorder.max_tracking_id(doorbell.name) == 2


def _sqlite_files(folder: Path) -> list[str]:
    """The database files in a folder, without SQLite's -wal and -shm companions."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm")))


@pytest.mark.parametrize("name", ["Ticketing.sqlite", "TICKETING.db", "ticketing.Sqlite3"])
def test_folder_store_finds_a_file_whatever_its_case(tmp_path: Path, name: str) -> None:
    open_app(Ticketing, tmp_path / name).schedule_conference("A", "A", date(2018, 1, 1))
    app = open_app(Ticketing, tmp_path)
    assert app.recorder.max_notification_id() == 1
    assert _sqlite_files(tmp_path) == [name]  # no new empty store beside it


def test_folder_store_with_two_files_for_one_application_names_them(tmp_path: Path) -> None:
    (tmp_path / "Ticketing.sqlite").touch()
    (tmp_path / "ticketing.db").touch()
    with pytest.raises(StoreError, match=r"Ticketing\.sqlite.*ticketing\.db"):
        open_app(Ticketing, tmp_path)
    assert _sqlite_files(tmp_path) == ["Ticketing.sqlite", "ticketing.db"]


def test_a_folder_store_is_described_as_a_folder(tmp_path: Path) -> None:
    assert describe_store(tmp_path) == f"folder {tmp_path} (one SQLite file per application)"
    assert describe_store(tmp_path / "events.sqlite") == f"SQLite file {tmp_path}/events.sqlite"


OPEN_AND_CLOSE = """
import sys, time
from workbench.examples.ticketing import Ticketing
from workbench.stores import open_app
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
open_app(Ticketing, sys.argv[1]).close()
"""


def test_a_class_opening_one_new_postgres_schema_at_once_all_get_in(postgres_url: str) -> None:
    # A classroom: every attendee's kernel opens the shared store in the same second.
    # PostgreSQL does not serialise eventsourcing's CREATE OR REPLACE FUNCTION, so
    # some of them used to fail with "tuple concurrently updated".
    import subprocess
    import sys
    import time

    start_at = str(time.time() + 2.0)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AND_CLOSE, postgres_url, start_at],
            stderr=subprocess.PIPE,
        )
        for _ in range(8)
    ]
    errors = [child.communicate(timeout=60)[1].decode() for child in children]
    assert [child.returncode for child in children] == [0] * 8, "\n".join(errors)
