"""Read-only means read-only: the store refuses writes, and reading never writes.

``open_app(..., readonly=True)`` is enforced by the store itself (SQLite's
read-only mode, PostgreSQL's read-only transactions); a write raises
:class:`~workbench.stores.ReadOnlyStore`. Reading a history (``load_events``,
``open_history``, ``EventStream``) leaves the file exactly as it was: same
bytes, same journal mode, no ``-wal``/``-shm`` files beside it. A file that
really is read-only (or in a read-only folder) reads; a file locked by another
connection's write is waited for, then named.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from workbench import stores
from workbench.examples.ticketing import Ticketing
from workbench.reading import LoadError, load_events, open_history
from workbench.samples import SAMPLE_TICKETING
from workbench.stores import ReadOnlyStore, StoreError, open_app
from workbench.stream import EventStream


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` with a digest of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _journal_mode(path: Path) -> int:
    """1: a rollback journal (DELETE and the like), 2: WAL (the file header says)."""
    return path.read_bytes()[18]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the sample history: an SQLite file in rollback-journal mode."""
    folder = tmp_path / "history"
    folder.mkdir()
    path = folder / "ticketing.sqlite"
    shutil.copy(SAMPLE_TICKETING, path)
    assert _journal_mode(path) == 1
    return path


@pytest.fixture
def wal_history(tmp_path: Path) -> Path:
    """A history written by eventsourcing (which puts the file in WAL mode), closed."""
    folder = tmp_path / "wal"
    folder.mkdir()
    path = folder / "ticketing.sqlite"
    app = open_app(Ticketing, path)
    conference = app.schedule_conference("PHP18", "ConFoo 2018", date(2018, 3, 7))
    app.add_ticket_type(conference, "Standard", Decimal("450.00"), 100)
    app.close()
    assert _journal_mode(path) == 2
    assert sorted(p.name for p in folder.iterdir()) == ["ticketing.sqlite"]
    return path


_codes = iter(range(1_000_000))


def _command(app: Ticketing) -> None:
    app.schedule_conference(f"NEW{next(_codes)}", "A write", date(2019, 1, 1))


def test_a_readonly_sqlite_app_refuses_commands(sample: Path) -> None:
    before = _snapshot(sample.parent)
    app = open_app(Ticketing, sample, readonly=True)
    count = app.recorder.max_notification_id()
    with pytest.raises(ReadOnlyStore, match="opened read-only"):
        _command(app)
    assert app.recorder.max_notification_id() == count
    app.close()
    assert _snapshot(sample.parent) == before  # not a byte changed, no -wal/-shm, same mode


def test_a_readonly_postgres_app_refuses_commands(postgres_url: str) -> None:
    writer = open_app(Ticketing, postgres_url)
    _command(writer)
    app = open_app(Ticketing, postgres_url, readonly=True)
    assert app.recorder.max_notification_id() == 1
    with pytest.raises(ReadOnlyStore, match="opened read-only"):
        _command(app)
    assert writer.recorder.max_notification_id() == 1
    _command(writer)  # the store itself is as writable as ever for others
    assert app.recorder.max_notification_id() == 2
    app.close()
    writer.close()


def test_read_only_is_a_store_error_the_command_panel_can_report() -> None:
    assert issubclass(ReadOnlyStore, StoreError)


def test_an_empty_postgres_schema_is_refused_read_only(postgres_url: str) -> None:
    with pytest.raises(StoreError, match="read-only.*does not exist"):
        open_app(Ticketing, postgres_url, readonly=True)


def _app_reads(path: Path) -> object:
    app = open_app(Ticketing, path, readonly=True)
    try:
        return app.recorder.max_notification_id()
    finally:
        app.close()


@pytest.mark.parametrize(
    "read",
    [
        lambda path: load_events(path),
        lambda path: open_history(path).max_position(),
        lambda path: EventStream(path).counts_over_time(),
        lambda path: load_events(open_app(Ticketing, path, readonly=True)),
        _app_reads,
    ],
    ids=["load_events", "open_history", "EventStream", "app's history", "open_app readonly"],
)
@pytest.mark.parametrize("mode", ["rollback journal", "WAL"])
def test_reading_never_writes(
    sample: Path, wal_history: Path, mode: str, read: Callable[[Path], object]
) -> None:
    path = sample if mode == "rollback journal" else wal_history
    before = _snapshot(path.parent)
    journal = _journal_mode(path)
    read(path)
    assert _journal_mode(path) == journal
    after = _snapshot(path.parent)
    if read is _app_reads and mode == "WAL":
        # The application's own connections stay open for events a writer may add:
        # SQLite coordinates them with a writer through the -wal and -shm files.
        after = {name: digest for name, digest in after.items() if name in before}
    assert after == before


def test_a_history_open_for_writing_is_read_as_it_is(wal_history: Path) -> None:
    # another connection is writing to it (its -wal file is there): read through it
    app = open_app(Ticketing, wal_history)
    _command(app)
    assert len(load_events(wal_history)) == 3
    _command(app)
    assert len(load_events(wal_history)) == 4
    app.close()


@pytest.fixture
def protect() -> Iterator[Callable[[Path], None]]:
    """Make a file or folder really read-only: chmod, or for root (who ignores modes) chattr +i."""
    done: list[Path] = []

    def protect(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o555 if path.is_dir() else 0o444)
        elif subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("running as root where files cannot be made immutable (chattr)")
        done.append(path)
        assert not os.access(path, os.W_OK)

    yield protect
    for path in reversed(done):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize("what", ["file", "folder"])
@pytest.mark.parametrize("mode", ["rollback journal", "WAL"])
def test_a_read_only_file_or_folder_reads(
    sample: Path, wal_history: Path, protect: Callable[[Path], None], what: str, mode: str
) -> None:
    path = sample if mode == "rollback journal" else wal_history
    expected = len(load_events(path))
    before = _snapshot(path.parent)
    protect(path if what == "file" else path.parent)
    assert len(load_events(path)) == expected
    app = open_app(Ticketing, path, readonly=True)
    assert app.recorder.max_notification_id() == load_events(path).position.max()
    assert open_history(app).readonly and open_history(path).readonly
    with pytest.raises(ReadOnlyStore):
        _command(app)
    app.close()
    assert _snapshot(path.parent) == before


def test_a_history_says_whether_it_is_read_only(sample: Path) -> None:
    assert not open_history(sample).readonly
    assert not open_history(open_app(Ticketing, sample)).readonly
    assert open_history(open_app(Ticketing, sample, readonly=True)).readonly


def _lock(path: Path, seconds: float) -> threading.Thread:
    """Another connection takes the write lock on ``path`` for ``seconds``."""
    locked = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("DELETE FROM stored_events WHERE rowid = 1")  # never committed
        locked.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(10)
    return thread


def test_a_locked_file_is_waited_for(sample: Path) -> None:
    expected = len(load_events(sample))
    holder = _lock(sample, 0.5)
    assert len(load_events(sample)) == expected  # waited for the write to end
    holder.join()


def test_a_file_locked_too_long_is_named(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stores, "SQLITE_TIMEOUT", 0.2)
    holder = _lock(sample, 2.0)
    try:
        with pytest.raises(LoadError, match="locked by another connection that is writing"):
            load_events(sample)
        with pytest.raises(StoreError, match="locked by another connection"):
            open_history(sample)
    finally:
        holder.join()
    assert len(load_events(sample)) == 4000


def test_a_read_model_beside_a_read_only_history_is_refused(sample: Path) -> None:
    from workbench.examples.ticketing.readmodels import TicketsRemaining
    from workbench.projections import ProjectionError, ProjectionRun

    before = _snapshot(sample.parent)
    app = open_app(Ticketing, sample, readonly=True)
    with pytest.raises(ProjectionError, match="open read-only"):
        ProjectionRun(TicketsRemaining(), app, storage="beside")
    run = ProjectionRun(TicketsRemaining(), app).run()  # in memory: fine
    assert run.status == "done" and run.position == 4000
    app.close()
    assert _snapshot(sample.parent) == before


def test_a_command_on_a_read_only_store_is_reported_not_raised(sample: Path) -> None:
    # before: the command recorded its events through readonly=True
    from workbench.commands import CommandSet

    before = _snapshot(sample.parent)
    app = open_app(Ticketing, sample, readonly=True)
    result = CommandSet(app).submit(
        "schedule_conference", code="RO26", name="Read-only", starts_on="2026-05-01"
    )
    assert result.outcome == "refused" and result.exception == "ReadOnlyStore"
    assert "read-only" in result.message and not result.events
    assert app.recorder.max_notification_id() == 4000
    app.close()
    assert _snapshot(sample.parent) == before
