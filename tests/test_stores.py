import sqlite3
from datetime import date
from pathlib import Path

import pytest

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
