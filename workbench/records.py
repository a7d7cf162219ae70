"""Read stored event records in position order, from any store, without decoding them.

The layer under the loader and the projection runner. A *source* is an open
eventsourcing application, an SQLite file path, or a store string (see
:mod:`workbench.stores`). Records come back raw, in batches: position,
stream id, version, topic and the stored ``state`` bytes (still compressed or
encrypted if the store is). Nothing here imports an event's topic, so reading
never runs the code that wrote the history.

>>> from workbench.examples.ticketing import Ticketing
>>> from workbench.stores import open_app
>>> from datetime import date
>>> app = open_app(Ticketing)
>>> _ = app.schedule_conference("PHP18", "ConFoo 2018", date(2018, 3, 7))
>>> reader = open_records(app)
>>> reader.max_position()
1
>>> [r.topic.rsplit(":", 1)[1] for batch in reader.batches() for r in batch]
['Conference.Scheduled']
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from eventsourcing.application import Application

from workbench.stores import Store, StoreError, parse_store, sqlite_event_tables

__all__ = ["Record", "RecordReader", "open_records"]

DEFAULT_BATCH = 50_000


class Record(NamedTuple):
    """One stored event, undecoded."""

    position: int
    stream_id: str
    version: int
    topic: str
    state: bytes


class RecordReader(Protocol):
    """Reads records by position; every store gives one of these."""

    description: str

    def max_position(self) -> int:
        """The position of the newest record (0 when empty)."""

    def batches(
        self,
        after: int = 0,
        *,
        upto: int | None = None,
        topics: Sequence[str] = (),
        batch_size: int = DEFAULT_BATCH,
    ) -> Iterator[list[Record]]:
        """Records with ``after < position <= upto``, oldest first, in lists of ``batch_size``."""

    def tail(self, count: int) -> list[Record]:
        """The ``count`` newest records, oldest first."""


def _stream_id(value: Any) -> str:
    if isinstance(value, UUID):
        return str(value)
    text = str(value)
    if len(text) == 32:
        try:
            return str(UUID(hex=text))
        except ValueError:
            return text
    return text


@dataclass
class SQLiteRecords:
    """Records in an SQLite file (or an app's in-memory SQLite connection)."""

    description: str
    path: Path | None = None
    table: str = "stored_events"
    app: Application[Any] | None = None

    def _query(self, sql: str, params: Sequence[Any]) -> Iterator[list[tuple[Any, ...]]]:
        if self.path is not None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            try:
                cursor = conn.execute(sql, params)
                while rows := cursor.fetchmany(DEFAULT_BATCH):
                    yield rows
            finally:
                conn.close()
        else:
            assert self.app is not None
            datastore = self.app.recorder.datastore  # type: ignore[attr-defined]
            with datastore.transaction(commit=False) as c:
                c.execute(sql, params)
                rows = [tuple(r) for r in c.fetchall()]
            for i in range(0, len(rows), DEFAULT_BATCH):
                yield rows[i : i + DEFAULT_BATCH]

    def max_position(self) -> int:
        for rows in self._query(f"SELECT MAX(rowid) FROM {self.table}", ()):
            return int(rows[0][0] or 0)
        return 0

    def batches(
        self,
        after: int = 0,
        *,
        upto: int | None = None,
        topics: Sequence[str] = (),
        batch_size: int = DEFAULT_BATCH,
    ) -> Iterator[list[Record]]:
        sql = (
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {self.table} WHERE rowid > ?"
        )
        params: list[Any] = [after]
        if upto is not None:
            sql += " AND rowid <= ?"
            params.append(upto)
        if topics:
            sql += f" AND topic IN ({','.join('?' * len(topics))})"
            params.extend(topics)
        sql += " ORDER BY rowid"
        yield from _rebatch(
            (
                [Record(p, _stream_id(o), v, t, bytes(s)) for p, o, v, t, s in rows]
                for rows in self._query(sql, params)
            ),
            batch_size,
        )

    def tail(self, count: int) -> list[Record]:
        sql = (
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {self.table} ORDER BY rowid DESC LIMIT ?"
        )
        rows = [r for chunk in self._query(sql, (count,)) for r in chunk]
        return [Record(p, _stream_id(o), v, t, bytes(s)) for p, o, v, t, s in reversed(rows)]


@dataclass
class RecorderRecords:
    """Records read through an application recorder's ``select_notifications`` (any store)."""

    description: str
    app: Application[Any]

    def max_position(self) -> int:
        return int(self.app.recorder.max_notification_id() or 0)

    def batches(
        self,
        after: int = 0,
        *,
        upto: int | None = None,
        topics: Sequence[str] = (),
        batch_size: int = DEFAULT_BATCH,
    ) -> Iterator[list[Record]]:
        start = after
        while True:
            notifications = self.app.recorder.select_notifications(
                start, batch_size, stop=upto, topics=topics, inclusive_of_start=False
            )
            if not notifications:
                return
            yield [
                Record(n.id, _stream_id(n.originator_id), n.originator_version, n.topic, n.state)
                for n in notifications
            ]
            start = notifications[-1].id

    def tail(self, count: int) -> list[Record]:
        top = self.max_position()
        after = max(0, top - count)
        return [r for batch in self.batches(after, batch_size=count or 1) for r in batch][-count:]


def _rebatch(chunks: Iterator[list[Record]], size: int) -> Iterator[list[Record]]:
    pending: list[Record] = []
    for chunk in chunks:
        pending.extend(chunk)
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending


def open_records(
    source: Application[Any] | str | Path | Store, *, table: str | None = None
) -> RecordReader:
    """A reader for ``source``: an application, an SQLite path, or a store string.

    For an SQLite file with more than one table of events, name the ``table``.
    Raises :class:`~workbench.stores.StoreError` with what is wrong and what to do.
    """
    if isinstance(source, Application):
        recorder = source.recorder
        name = type(recorder).__name__
        if name == "SQLiteApplicationRecorder":
            datastore = recorder.datastore  # type: ignore[attr-defined]
            db_name = str(datastore.db_name)
            table_name = recorder.events_table_name  # type: ignore[attr-defined]
            if datastore.is_sqlite_memory_mode:
                return SQLiteRecords(f"{source.name} (in-memory SQLite)", None, table_name, source)
            return SQLiteRecords(f"{source.name} in {db_name}", Path(db_name), table_name)
        return RecorderRecords(f"{source.name} ({name})", source)
    store = parse_store(source)
    if store.kind == "sqlite" and store.path is not None:
        path = store.path
        if path.is_dir():
            files = sorted(path.glob("*.sqlite"))
            names = ", ".join(f.name for f in files) or "none"
            raise StoreError(f"{path} is a folder; name one of its event stores ({names})")
        found = sqlite_event_tables(path)
        if not found:
            raise StoreError(
                f"{path} is an SQLite database without eventsourcing event tables "
                "(a table with originator_id, originator_version, topic and state columns); "
                "it is not an event store"
            )
        if table is None:
            preferred = [t for t in found if t == "stored_events"]
            if len(found) > 1 and not preferred:
                raise StoreError(
                    f"{path} has several event tables ({', '.join(found)}); choose one with table="
                )
            table = (preferred or found)[0]
        elif table not in found:
            raise StoreError(f"{path} has no event table {table!r} (it has {', '.join(found)})")
        return SQLiteRecords(f"SQLite file {path}", path, table)
    raise StoreError(
        f"to read the {store}, open the application on it first "
        "(workbench.open_app(AppClass, store)) and pass the application"
    )
