"""Read stored event records in position order, from any store, without decoding them.

The layer under the loader and the projection runner. A *source* is an open
eventsourcing application, an SQLite file path, or a store string (see
:mod:`workbench.stores`). Records come back raw, in batches: position,
stream id, version, topic and the stored ``state`` bytes (still compressed or
encrypted if the store is). Nothing here imports an event's topic, so reading
never runs the code that wrote the history.

An SQLite file is read by :class:`SQLiteRecords`, a PostgreSQL URL by
:class:`PostgresRecords` (both build Arrow batches from a few large values per
batch, not a Python object per record); an application on any other store
through its recorder (:class:`RecorderRecords`).

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

import contextlib
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from uuid import UUID

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from eventsourcing.application import Application

from workbench.reading.decoding import LoadError
from workbench.stores import (
    Store,
    StoreError,
    describe_store,
    parse_store,
    read_sqlite,
    sqlite_event_tables,
    sqlite_file_named,
)

__all__ = ["ArrowBatch", "Record", "RecordReader", "arrow_batches", "open_records"]

DEFAULT_BATCH = 50_000


class Record(NamedTuple):
    """One stored event, undecoded."""

    position: int
    stream_id: str
    version: int
    topic: str
    state: bytes


class RecordReader(Protocol):
    """Reads records by position; every store gives one of these.

    Callers use only these members: nothing needs to know which store it reads.
    """

    description: str
    """The store in a few words, e.g. ``"SQLite file data/history.sqlite"``."""

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file the records are in, or ``None`` (another kind of store)."""

    @property
    def parallel(self) -> bool:
        """Whether reading may run in threads of its own (a connection per thread)."""

    def max_position(self) -> int:
        """The position of the newest record (0 when empty)."""

    def count(self, after: int = 0, upto: int | None = None) -> int:
        """How many records have ``after < position <= upto`` (gaps are not counted)."""

    def topics(self, after: int = 0) -> list[str]:
        """The distinct topics of the records after ``after``, sorted."""

    def batches(
        self,
        after: int = 0,
        *,
        upto: int | None = None,
        topics: Sequence[str] = (),
        batch_size: int = DEFAULT_BATCH,
    ) -> Iterator[list[Record]]:
        """Records with ``after < position <= upto``, oldest first, in lists of ``batch_size``."""

    def arrow_batches(
        self,
        after: int = 0,
        *,
        upto: int | None = None,
        topics: Sequence[str] = (),
        streams: Sequence[str] = (),
        where: Sequence[tuple[str, Any]] = (),
        newest: int | None = None,
        batch_size: int = 100_000,
        first_batch_size: int | None = None,
    ) -> Iterator[ArrowBatch]:
        """Records as :class:`ArrowBatch` es (see :func:`arrow_batches`)."""

    def tail(self, count: int) -> list[Record]:
        """The ``count`` newest records, oldest first."""


def _id_forms(stream_id: Any) -> list[str]:
    """The ways a stream id may be stored: as given, and as 32 hex digits for a UUID."""
    text = str(stream_id)
    forms = [text]
    with contextlib.suppress(ValueError):
        forms.append(UUID(text).hex)
    return forms


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

    def __post_init__(self) -> None:
        self._table = '"' + self.table.replace('"', '""') + '"'  # the name, quoted for SQL

    @property
    def sqlite_path(self) -> Path | None:
        return self.path

    @property
    def parallel(self) -> bool:
        return self.path is not None

    def topics(self, after: int = 0) -> list[str]:
        sql = f"SELECT DISTINCT topic FROM {self._table}"
        params: tuple[int, ...] = ()
        if after > 0:
            sql += " WHERE rowid > ?"
            params = (after,)
        return sorted({str(r[0]) for rows in self._query(sql, params) for r in rows})

    def _query(self, sql: str, params: Sequence[Any]) -> Iterator[list[tuple[Any, ...]]]:
        if self.path is not None:
            # Read-only, never writing beside the file; errors say what happened.
            try:
                with read_sqlite(self.path, what=self.description) as conn:
                    cursor = conn.execute(sql, params)
                    while rows := cursor.fetchmany(DEFAULT_BATCH):
                        yield rows
            except StoreError as e:
                raise LoadError(str(e)) from None
        else:
            assert self.app is not None
            datastore = self.app.recorder.datastore  # type: ignore[attr-defined]
            with datastore.transaction(commit=False) as c:
                c.execute(sql, params)
                rows = [tuple(r) for r in c.fetchall()]
            for i in range(0, len(rows), DEFAULT_BATCH):
                yield rows[i : i + DEFAULT_BATCH]

    def arrow_batches(
        self,
        after: int = 0,
        *,
        upto: int | None = None,
        topics: Sequence[str] = (),
        streams: Sequence[str] = (),
        where: Sequence[tuple[str, Any]] = (),
        newest: int | None = None,
        batch_size: int = 100_000,
        first_batch_size: int | None = None,
    ) -> Iterator[ArrowBatch]:
        """See :func:`arrow_batches`."""
        top = self.max_position() if upto is None else upto
        # One upper bound only: SQLite searches the primary key with one of them and
        # would test any other row by row (scanning to the end of the table each batch).
        conditions = ["rowid > ?", "rowid <= ?"]
        params: list[Any] = [after, top]
        if topics:
            conditions.append(f"topic IN ({','.join('?' * len(topics))})")
            params.extend(topics)
        if streams:
            ids = sorted({form for s in streams for form in _id_forms(s)})
            conditions.append(f"originator_id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        for sql, param in where:
            conditions.append(sql)
            params.append(param)
        inner = f"SELECT rowid, originator_id, originator_version, topic, state FROM {self._table}"
        inner += " WHERE " + " AND ".join(conditions)
        if newest is not None or streams:
            # Few rows: one query (newest first when only the newest are wanted).
            if newest is not None:
                inner = f"SELECT * FROM ({inner} ORDER BY rowid DESC LIMIT ?) ORDER BY rowid"
                params.append(newest)
            else:
                inner += " ORDER BY rowid"
            yield from self._arrow_query(inner, params)
            return
        start = after
        size = first_batch_size or batch_size
        while start < top:
            stop = min(start + size, top)
            if first_batch_size and stop == top and top - start > first_batch_size:
                # The last batch is small too: a pipeline has little left to do at the end.
                stop = top - first_batch_size
            size = batch_size
            yield from self._arrow_query(
                inner,
                [start, stop, *params[2:]],
                span=None if topics or where else (start, stop),
            )
            start = stop

    def _arrow_query(
        self,
        inner: str,
        params: list[Any],
        *,
        span: tuple[int, int] | None = None,
    ) -> Iterator[ArrowBatch]:
        """One batch built inside SQLite.

        With ``span`` (an unfiltered rowid range) the positions are not read
        when the range has no gaps: they are the range itself.
        """
        rowids = "NULL" if span is not None else "group_concat(rowid)"
        sql = (
            f"SELECT count(*), {rowids}, group_concat(originator_version), "
            "CAST(group_concat(originator_id, char(10)) AS BLOB), "
            "CAST(group_concat(topic, char(10)) AS BLOB), "
            # each state and its newline (faster in SQLite than a separator)
            "CAST(group_concat(state || char(10), '') AS BLOB), "
            "group_concat(length(state)) "
            f"FROM ({inner})"
        )
        result: tuple[Any, ...] | None = None
        for rows in self._query(sql, params):
            result = rows[0]
        if result is None or not result[0]:
            return
        count, positions, versions, ids, topics, joined, lengths = result
        if span is not None:
            if count != span[1] - span[0]:  # gaps in the rowids: read them
                yield from self._arrow_query(inner, params)
                return
            positions = None
        if not (_is_utf8(ids) and _is_utf8(topics)):
            # A hostile file: an id or topic that is not text. Row by row, where
            # such a value reads with replacement characters.
            yield self._arrow_rows(inner, params)
            return
        stream_ids = _dashed_ids(ids, count)
        if stream_ids is None:
            lines = _split_lines(ids, count, pa.string())
            stream_ids = None if lines is None else _by_dictionary(lines, _canonical_ids)
        topic_array = _split_lines(topics, count, pa.string())
        if (
            stream_ids is None
            or topic_array is None
            or joined is None  # every state NULL
            or joined[:1] != b"{"
            or joined[-1:] != b"\n"
        ):
            # An id or topic held a newline, or the states are not JSON lines
            # (compressed or encrypted bytes may hold newlines): fetch row by row.
            yield self._arrow_rows(inner, params)
            return
        columns = pa.table(
            {
                "position": pa.array(
                    _ints(positions, count)
                    if span is None
                    else np.arange(span[0] + 1, span[1] + 1, dtype=np.int64)
                ),
                "stream_id": stream_ids,
                "version": pa.array(_ints(versions, count)),
                "topic": _topic_dictionary(topic_array),
            }
        )
        # A JSON state never holds a raw newline, unless it is corrupt: then the
        # split count is off and the batch reads its states again, row by row.
        refetch = lambda: self._arrow_rows(inner, params).states  # noqa: E731
        yield ArrowBatch(
            columns,
            joined=joined,
            refetch=refetch,
            offsets=_state_offsets(lengths, count, len(joined)),
        )

    def _arrow_rows(self, inner: str, params: list[Any]) -> ArrowBatch:
        rows = [r for chunk in self._query(inner, params) for r in chunk]
        return records_to_batch(
            [Record(p, _stream_id(o), v, t, _state_bytes(s)) for p, o, v, t, s in rows]
        )

    def max_position(self) -> int:
        for rows in self._query(f"SELECT MAX(rowid) FROM {self._table}", ()):
            return int(rows[0][0] or 0)
        return 0

    def count(self, after: int = 0, upto: int | None = None) -> int:
        """How many records have ``after < position <= upto`` (gaps are not counted)."""
        params: tuple[int, ...] = ()
        if after <= 0 and (upto is None or upto >= self.max_position()):
            sql = f"SELECT count(*) FROM {self._table}"  # SQLite counts it from an index
        else:
            sql = f"SELECT count(*) FROM {self._table} WHERE rowid > ? AND rowid <= ?"
            params = (after, self.max_position() if upto is None else upto)
        for rows in self._query(sql, params):
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
        # A page at a time, by position (as PostgresRecords does): a reader that wants
        # a few events (a process step) reads a few rows, not DEFAULT_BATCH of them.
        sql = (
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {self._table} WHERE rowid > ?"
        )
        params: list[Any] = []
        if upto is not None:
            sql += " AND rowid <= ?"
            params.append(upto)
        if topics:
            sql += f" AND topic IN ({','.join('?' * len(topics))})"
            params.extend(topics)
        sql += " ORDER BY rowid LIMIT ?"
        size = max(1, batch_size)
        start = after
        while True:
            rows = [row for chunk in self._query(sql, [start, *params, size]) for row in chunk]
            if not rows:
                return
            yield [Record(p, _stream_id(o), v, t, _state_bytes(s)) for p, o, v, t, s in rows]
            if len(rows) < size:
                return
            start = int(rows[-1][0])

    def tail(self, count: int) -> list[Record]:
        sql = (
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {self._table} ORDER BY rowid DESC LIMIT ?"
        )
        rows = [r for chunk in self._query(sql, (count,)) for r in chunk]
        return [Record(p, _stream_id(o), v, t, _state_bytes(s)) for p, o, v, t, s in reversed(rows)]


@dataclass
class RecorderRecords:
    """Records read through an application recorder's ``select_notifications`` (any store)."""

    description: str
    app: Application[Any]
    sqlite_path = None
    parallel = False

    def max_position(self) -> int:
        return int(self.app.recorder.max_notification_id() or 0)

    def count(self, after: int = 0, upto: int | None = None) -> int:
        return sum(len(batch) for batch in self.batches(after, upto=upto))

    def topics(self, after: int = 0) -> list[str]:
        seen: set[str] = set()
        for batch in self.batches(after):
            seen.update(r.topic for r in batch)
        return sorted(seen)

    def arrow_batches(
        self,
        after: int = 0,
        *,
        upto: int | None = None,
        topics: Sequence[str] = (),
        streams: Sequence[str] = (),
        where: Sequence[tuple[str, Any]] = (),
        newest: int | None = None,
        batch_size: int = 100_000,
        first_batch_size: int | None = None,
    ) -> Iterator[ArrowBatch]:
        """Each batch of :class:`Record` s converted (``where`` is left to the caller)."""
        wanted = set(streams)
        pending: list[Record] = []
        for batch in self.batches(after, upto=upto, topics=topics, batch_size=batch_size):
            if wanted:
                batch = [r for r in batch if r.stream_id in wanted]
            if newest is not None:
                pending = (pending + batch)[-newest:] if newest else []
                continue
            if batch:
                yield records_to_batch(batch)
        if newest is not None and pending:
            yield records_to_batch(pending)

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


@dataclass
class PostgresRecords:
    """Records in a PostgreSQL events table, read by SQL alone (no application, no code).

    Each batch is one query that PostgreSQL answers with one row: every column of
    up to ``batch_size`` records joined into one byte string (numbers as 8-byte
    integers, text and states with their lengths), so no Python object is made
    per record. Batches follow each other by position (keyset paging), so a large
    history is held one batch at a time. Connections are kept in a small pool:
    a thread takes one per query (``parallel``), read-only and in autocommit.
    """

    description: str
    connect: Mapping[str, Any]
    """Keyword arguments for ``psycopg.connect`` (without ``autocommit``)."""
    schema: str
    table: str
    uuid_ids: bool = True
    """Whether ``originator_id`` is a ``uuid`` column (else text)."""

    def __post_init__(self) -> None:
        self._from = f"{_pg_quote(self.schema)}.{_pg_quote(self.table)}"
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._idle)

    @property
    def sqlite_path(self) -> Path | None:
        return None

    @property
    def parallel(self) -> bool:
        return True

    def close(self) -> None:
        """Close the idle connections (a later read connects again)."""
        _close_all(self._idle)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        import psycopg

        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None or conn.closed:
            conn = _pg_connect(self.connect, self.description)
        try:
            yield conn
        except psycopg.Error as e:
            conn.close()
            raise LoadError(f"cannot read {self.description}: {' '.join(str(e).split())}") from None
        except BaseException:
            conn.close()  # in the middle of something: not to be used again
            raise
        with self._lock:
            self._idle.append(conn)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return list(conn.execute(sql, params, binary=True).fetchall())

    def max_position(self) -> int:
        rows = self._rows(f"SELECT max(notification_id) FROM {self._from}")
        return int(rows[0][0] or 0)

    def count(self, after: int = 0, upto: int | None = None) -> int:
        sql = f"SELECT count(*) FROM {self._from} WHERE notification_id > %s"
        params: list[Any] = [after]
        if upto is not None:
            sql += " AND notification_id <= %s"
            params.append(upto)
        return int(self._rows(sql, params)[0][0] or 0)

    def topics(self, after: int = 0) -> list[str]:
        sql = f"SELECT DISTINCT topic FROM {self._from} WHERE notification_id > %s"
        return sorted(str(r[0]) for r in self._rows(sql, [after]))

    def _conditions(
        self, topics: Sequence[str], streams: Sequence[str]
    ) -> tuple[str, list[Any]] | None:
        """SQL for the topic and stream filters (``None``: no record can match)."""
        sql, params = "", []
        if topics:
            sql += " AND topic = ANY(%s)"
            params.append(list(topics))
        if streams:
            if self.uuid_ids:
                ids: list[Any] = []
                for s in streams:
                    with contextlib.suppress(ValueError):
                        ids.append(UUID(str(s)))
                if not ids:
                    return None
            else:
                ids = sorted({form for s in streams for form in _id_forms(s)})
            sql += " AND originator_id = ANY(%s)"
            params.append(ids)
        return sql, params

    def arrow_batches(
        self,
        after: int = 0,
        *,
        upto: int | None = None,
        topics: Sequence[str] = (),
        streams: Sequence[str] = (),
        where: Sequence[tuple[str, Any]] = (),
        newest: int | None = None,
        batch_size: int = 100_000,
        first_batch_size: int | None = None,
    ) -> Iterator[ArrowBatch]:
        """See :func:`arrow_batches` (``where`` is SQLite's: ignored, callers filter again)."""
        conditions = self._conditions(topics, streams)
        if conditions is None or newest == 0:
            return
        extra, params = conditions
        top = self.max_position() if upto is None else upto
        if newest is not None:
            # Where the newest ``newest`` begin; then the same paging as for all.
            rows = self._rows(
                f"SELECT notification_id FROM {self._from} WHERE notification_id > %s "
                f"AND notification_id <= %s{extra} ORDER BY notification_id DESC "
                "OFFSET %s LIMIT 1",
                [after, top, *params, newest - 1],
            )
            if rows:
                after = max(after, int(rows[0][0]) - 1)
        sql = (
            "SELECT count(*), "
            "string_agg(int8send(notification_id), ''), "
            "string_agg(int8send(originator_version::int8), ''), "
            "convert_to(string_agg(originator_id::text, ''), 'UTF8'), "
            "string_agg(int4send(octet_length(originator_id::text)), ''), "
            "convert_to(string_agg(topic, ''), 'UTF8'), "
            "string_agg(int4send(octet_length(topic)), ''), "
            "string_agg(coalesce(state, ''::bytea) || '\\x0a'::bytea, ''), "
            "string_agg(int4send(coalesce(octet_length(state), 0)), '') "
            "FROM (SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {self._from} WHERE notification_id > %s AND notification_id <= %s{extra} "
            "ORDER BY notification_id LIMIT %s) AS batch"
        )
        start = after
        size = first_batch_size or batch_size
        while start < top:
            with self._connection() as conn:
                row = conn.execute(sql, [start, top, *params, size], binary=True).fetchone()
            if row is None or not row[0]:
                return
            batch = _pg_batch(row)
            yield batch
            if row[0] < size:
                return
            start = int(batch.columns["position"][-1].as_py())
            size = batch_size

    def batches(
        self,
        after: int = 0,
        *,
        upto: int | None = None,
        topics: Sequence[str] = (),
        batch_size: int = DEFAULT_BATCH,
    ) -> Iterator[list[Record]]:
        conditions = self._conditions(topics, ())
        assert conditions is not None
        extra, params = conditions
        top = self.max_position() if upto is None else upto
        sql = (
            "SELECT notification_id, originator_id::text, originator_version, topic, state "
            f"FROM {self._from} WHERE notification_id > %s AND notification_id <= %s{extra} "
            "ORDER BY notification_id LIMIT %s"
        )
        start = after
        while start < top:
            rows = self._rows(sql, [start, top, *params, batch_size])
            if not rows:
                return
            yield [Record(int(p), o, int(v), t, _state_bytes(s)) for p, o, v, t, s in rows]
            if len(rows) < batch_size:
                return
            start = int(rows[-1][0])

    def tail(self, count: int) -> list[Record]:
        rows = self._rows(
            "SELECT notification_id, originator_id::text, originator_version, topic, state "
            f"FROM {self._from} ORDER BY notification_id DESC LIMIT %s",
            [count],
        )
        return [Record(int(p), o, int(v), t, _state_bytes(s)) for p, o, v, t, s in reversed(rows)]


def _pg_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _close_all(connections: list[Any]) -> None:
    while connections:
        with contextlib.suppress(Exception):
            connections.pop().close()


def _pg_connect(settings: Mapping[str, Any], what: str) -> Any:
    """A read-only autocommit connection; a failure as :class:`StoreError` saying what to do."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the postgres extra
        raise StoreError(
            "reading PostgreSQL needs psycopg: pip install 'workbench[postgres]'"
        ) from None
    try:
        return psycopg.connect(
            **settings, autocommit=True, options="-c default_transaction_read_only=on"
        )
    except psycopg.Error as e:
        raise StoreError(
            f"cannot connect to the {what}: {' '.join(str(e).split())}; check the user, "
            "password, host, port and database name in the URL (or open the application "
            "on it, workbench.open_app(AppClass, url), and pass the application)"
        ) from None


def _pg_strings(blob: bytes, lengths: bytes, count: int) -> pa.Array:
    """Strings joined end to end, cut by their 4-byte big-endian lengths."""
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(lengths, dtype=">i4"), out=offsets[1:])
    return pa.Array.from_buffers(
        pa.large_string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(blob)]
    ).cast(pa.string())


def _pg_batch(row: tuple[Any, ...]) -> ArrowBatch:
    """One aggregated row (see :meth:`PostgresRecords.arrow_batches`) as an :class:`ArrowBatch`."""
    count, positions, versions, ids, id_lengths, topics, topic_lengths, states, lengths = row
    count = int(count)
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(lengths, dtype=">i4").astype(np.int64) + 1, out=offsets[1:])
    columns = pa.table(
        {
            "position": pa.array(np.frombuffer(positions, dtype=">i8").astype(np.int64)),
            "stream_id": _pg_strings(ids, id_lengths, count),
            "version": pa.array(np.frombuffer(versions, dtype=">i8").astype(np.int64)),
            "topic": pc.dictionary_encode(_pg_strings(topics, topic_lengths, count)),
        }
    )
    return ArrowBatch(columns, joined=states, offsets=offsets)


def _postgres_records(store: Store, table: str | None) -> PostgresRecords:
    """A reader for the events table of a PostgreSQL store (``table``: a name or an app's)."""
    pg = store.postgres
    schema = pg.get("POSTGRES_SCHEMA") or "public"
    connect: dict[str, Any] = {
        "dbname": pg["POSTGRES_DBNAME"],
        "host": pg["POSTGRES_HOST"],
        "port": pg["POSTGRES_PORT"],
        "connect_timeout": max(1, int(float(pg.get("POSTGRES_CONNECT_TIMEOUT") or 5))),
    }
    if pg.get("POSTGRES_USER"):
        connect["user"] = pg["POSTGRES_USER"]
    if pg.get("POSTGRES_PASSWORD"):
        connect["password"] = pg["POSTGRES_PASSWORD"]
    where = describe_store(store)
    conn = _pg_connect(connect, where)
    try:
        schemas = [
            r[0]
            for r in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' "
                "AND nspname <> 'information_schema' ORDER BY 1"
            )
        ]
        if schema not in schemas:
            raise StoreError(
                f"the {where} has no schema {schema!r} (it has {', '.join(schemas) or 'none'}); "
                "fix ?schema= in the URL, or leave it out for 'public'"
            )
        found = {
            str(name): str(kind)
            for name, kind in conn.execute(
                "SELECT table_name, max(CASE WHEN column_name = 'originator_id' "
                "THEN data_type END) FROM information_schema.columns "
                "WHERE table_schema = %s AND column_name IN ('notification_id', "
                "'originator_id', 'originator_version', 'topic', 'state') "
                "GROUP BY table_name HAVING count(DISTINCT column_name) = 5 ORDER BY 1",
                [schema],
            )
        }
    finally:
        conn.close()
    place = f"schema {schema} of the {where}"
    names = ", ".join(found)
    if not found:
        raise StoreError(
            f"the {place} holds no eventsourcing events table (<app name>_events, with "
            "notification_id, originator_id, originator_version, topic and state); record "
            "some events first (workbench.open_app(AppClass, url)), or name another "
            "schema with ?schema="
        )
    if table is None:
        if len(found) > 1:
            raise StoreError(
                f"the {place} has several events tables ({names}); choose one with table= "
                "(a table or an application name, e.g. table='ticketing')"
            )
        name = next(iter(found))
    else:
        candidates = [table, table.lower(), f"{table.lower()}_events"]
        matches = [c for c in candidates if c in found]
        if not matches:
            raise StoreError(
                f"the {place} has no events table {table!r} (it has {names}); pass one of "
                "those, or an application name, as table="
            )
        name = matches[0]
    return PostgresRecords(
        f"PostgreSQL table {schema}.{name} in the {where}",
        connect,
        schema,
        name,
        uuid_ids=found[name] == "uuid",
    )


def _postgres_records_of(app: Application[Any]) -> PostgresRecords:
    """The events table of an application on PostgreSQL, read by SQL as a URL would be."""
    recorder: Any = app.recorder
    datastore = recorder.datastore
    given = dict(getattr(datastore.pool, "kwargs", None) or {})
    connect = {
        key: given[key]
        for key in ("dbname", "host", "port", "user", "password")
        if given.get(key) not in (None, "")
    }
    connect["connect_timeout"] = 5
    schema = str(datastore.schema or "public")
    table = str(recorder.events_table_name)
    return PostgresRecords(
        f"{app.name} in PostgreSQL table {schema}.{table} on "
        f"{connect.get('host', 'localhost')}:{connect.get('port', 5432)}",
        connect,
        schema,
        table,
    )


class ArrowBatch:
    """A batch of raw records as Arrow columns (see :func:`arrow_batches`).

    ``columns`` has ``position`` and ``version`` (int64), ``stream_id``
    (string) and ``topic`` (string, or a dictionary of strings). ``states``
    (large_binary) holds each row's stored state bytes *followed by a
    newline*, so that the rows of JSON states,
    taken together, are newline-delimited JSON ready for a JSON-lines parser.
    ``joined`` is all the rows' states that way, as one buffer.
    """

    def __init__(
        self,
        columns: pa.Table,
        states: pa.Array | None = None,
        joined: bytes | bytearray | None = None,
        refetch: Any = None,
        offsets: np.ndarray[Any, np.dtype[np.int64]] | None = None,
    ) -> None:
        self.columns = columns
        self._states = states
        self._joined = joined
        self._refetch = refetch
        self._offsets = offsets

    @property
    def num_rows(self) -> int:
        return int(self.columns.num_rows)

    @property
    def states(self) -> pa.Array:
        if self._states is None:
            assert self._joined is not None
            if self._offsets is not None:
                # Each state's length is known: no need to look for the newlines.
                data = pa.py_buffer(self._joined)
                states = pa.Array.from_buffers(
                    pa.large_binary(), self.num_rows, [None, pa.py_buffer(self._offsets), data]
                )
            else:
                states = _split_lines(self._joined, self.num_rows, pa.large_binary(), ended=True)
            if states is None:
                states = self._refetch()
                self._joined = None
            self._states = states
        return self._states

    @property
    def joined(self) -> bytes | pa.Buffer:
        states = self.states
        offsets = np.frombuffer(states.buffers()[1], dtype=np.int64)
        start = int(offsets[states.offset])
        end = int(offsets[states.offset + len(states)])
        buffer: pa.Buffer = states.buffers()[2][start:end]
        return buffer

    def state(self, index: int) -> bytes:
        """The stored state bytes of one row (without the newline)."""
        value: bytes = self.states[index].as_py()
        return value[:-1]

    def records(self) -> list[Record]:
        """The batch as :class:`Record` s (slow: for a few rows, not a whole history)."""
        cols = self.columns.to_pydict()
        return [
            Record(
                cols["position"][i],
                cols["stream_id"][i],
                cols["version"][i],
                cols["topic"][i],
                self.state(i),
            )
            for i in range(self.num_rows)
        ]


def _is_utf8(blob: bytes | None) -> bool:
    """Whether ``blob`` is UTF-8 text (a hostile file may hold other bytes as TEXT)."""
    if blob is None:
        return True
    try:
        blob.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _canonical_ids(raw: pa.Array) -> pa.Array:
    """32-hex ids (how eventsourcing stores UUIDs in SQLite) as dashed UUID strings."""
    raw = raw.cast(pa.string())
    if len(raw) == 0:
        return raw
    is_hex = pc.match_substring_regex(raw, "^[0-9a-fA-F]{32}$")
    if not pc.any(is_hex).as_py():
        return raw
    lower = pc.utf8_lower(raw)
    parts = [pc.utf8_slice_codeunits(lower, a, b) for a, b in _UUID_SLICES]
    dashed = pc.binary_join_element_wise(*parts, "-")
    return pc.if_else(is_hex, dashed, raw)


_UUID_SLICES = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))


def _ints(text: bytes | str | None, count: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    if not count:
        return np.zeros(0, dtype=np.int64)
    if isinstance(text, bytes):
        text = text.decode("ascii")
    values = np.array(str(text).split(","), dtype=np.int64) if count < 64 else None
    if values is None:
        values = np.fromstring(str(text), dtype=np.int64, sep=",")  # type: ignore[call-overload]
    return values


def _split_lines(
    blob: bytes | bytearray, count: int, kind: pa.DataType, *, ended: bool = False
) -> pa.Array | None:
    """Newline-joined values as an array whose values keep their trailing newline.

    ``None`` if a value held a newline itself (the count is off).
    """
    if count == 0:
        return pa.array([], kind)
    data = blob if ended else blob + b"\n"
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    if len(ends) != count:
        return None
    offsets = np.empty(count + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1
    large = pa.large_binary() if kind == pa.binary() else pa.large_string()
    array = pa.Array.from_buffers(large, count, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return array if kind == large else array.cast(kind)


def _state_bytes(state: bytes | str | None) -> bytes:
    """A stored state as bytes (a foreign store may hold it as text, or NULL: no bytes)."""
    if state is None:
        return b""
    return state.encode() if isinstance(state, str) else bytes(state)


def _state_offsets(
    lengths: bytes | str | None, count: int, size: int
) -> np.ndarray[Any, np.dtype[np.int64]] | None:
    """Offsets of newline-joined states (each with its newline) from their lengths.

    ``None`` unless the lengths add up to ``size`` (a state stored as text with
    characters beyond ASCII, whose length SQLite counts in characters).
    """
    if lengths is None or not count:
        return None
    values = _ints(lengths, count)
    if len(values) != count:
        return None
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(values + 1, out=offsets[1:])
    return offsets if int(offsets[-1]) == size else None


_HEX_OR_NEWLINE = np.zeros(256, dtype=bool)
_HEX_OR_NEWLINE[list(b"0123456789abcdefABCDEF\n")] = True


def _dashed_ids(blob: bytes, count: int) -> pa.Array | None:
    """Newline-joined 32-hex ids as dashed lowercase UUID strings, vectorised.

    ``None`` unless every id is 32 hex digits (then :func:`_canonical_ids` does it).
    """
    if not count or len(blob) != 33 * count - 1:
        return None
    data = np.frombuffer(blob + b"\n", dtype=np.uint8)
    rows = data.reshape(count, 33)
    if np.count_nonzero(_HEX_OR_NEWLINE.take(data)) != len(data) or not (rows[:, 32] == 10).all():
        return None
    out = np.empty((count, 36), dtype=np.uint8)
    for (a, b), at in zip(_UUID_SLICES, (0, 9, 14, 19, 24), strict=True):
        out[:, at : at + b - a] = rows[:, a:b]
    out[:, [8, 13, 18, 23]] = ord("-")
    out |= 0x20  # lower case: hex letters only; digits and "-" have the bit already
    offsets = np.arange(0, 36 * (count + 1), 36, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(out)]
    )


def _topic_dictionary(lines: pa.Array) -> pa.DictionaryArray:
    """Topics ending in a newline as a dictionary array (few distinct topics, many rows)."""
    encoded = pc.dictionary_encode(lines)
    topics = pc.utf8_slice_codeunits(encoded.dictionary, 0, -1)
    return pa.DictionaryArray.from_arrays(encoded.indices, topics)


def _by_dictionary(lines: pa.Array, convert: Any) -> pa.Array:
    """Values ending in a newline, stripped and converted once per distinct value."""
    encoded = pc.dictionary_encode(lines)
    dictionary = convert(pc.utf8_slice_codeunits(encoded.dictionary, 0, -1))
    return dictionary.take(encoded.indices)


def records_to_batch(records: Sequence[Record]) -> ArrowBatch:
    """:class:`Record` s as an :class:`ArrowBatch` (for a few records, or a store without SQL)."""
    columns = pa.table(
        {
            "position": pa.array([r.position for r in records], pa.int64()),
            "stream_id": pa.array([r.stream_id for r in records], pa.string()),
            "version": pa.array([r.version for r in records], pa.int64()),
            "topic": pa.array([r.topic for r in records], pa.string()),
        }
    )
    return ArrowBatch(columns, pa.array([r.state + b"\n" for r in records], pa.large_binary()))


def arrow_batches(
    reader: RecordReader,
    after: int = 0,
    *,
    upto: int | None = None,
    topics: Sequence[str] = (),
    streams: Sequence[str] = (),
    where: Sequence[tuple[str, Any]] = (),
    newest: int | None = None,
    batch_size: int = 100_000,
    first_batch_size: int | None = None,
) -> Iterator[ArrowBatch]:
    """Records as :class:`ArrowBatch` es: the fast route for loading many events.

    An SQLite reader builds each batch inside SQLite (a few large strings
    instead of a Python object per row); any other reader converts its
    :class:`Record` batches. ``streams`` keeps only those stream ids;
    ``newest`` keeps only the newest ``newest`` records (after the other
    filters). ``first_batch_size`` makes the first and last batches of an
    SQLite store smaller (a pipeline that works on batches gets going sooner
    and has less left to do at the end). ``where``
    adds SQL conditions (``(sql, parameter)`` pairs) on an SQLite store and
    is ignored elsewhere: callers filter again after decoding.

    >>> from workbench.examples.ticketing import Ticketing
    >>> from workbench.stores import open_app
    >>> from datetime import date
    >>> app = open_app(Ticketing, "sqlite::memory:")
    >>> _ = app.schedule_conference("PHP18", "ConFoo 2018", date(2018, 3, 7))
    >>> [b.num_rows for b in arrow_batches(open_records(app))]
    [1]
    """
    return reader.arrow_batches(
        after,
        upto=upto,
        topics=topics,
        streams=streams,
        where=where,
        newest=newest,
        batch_size=batch_size,
        first_batch_size=first_batch_size,
    )


def open_records(
    source: Application[Any] | str | Path | Store, *, table: str | None = None
) -> RecordReader:
    """A reader for ``source``: an application, an SQLite path, or a store string.

    For an SQLite file with more than one table of events, name the ``table``; for a
    PostgreSQL schema with several, name the table or its application
    (``table="ticketing"`` for ``ticketing_events``).
    Raises :class:`~workbench.stores.StoreError` with what is wrong and what to do.
    """
    if isinstance(source, Application):
        recorder = source.recorder
        name = type(recorder).__name__
        if name == "SQLiteApplicationRecorder":
            datastore = recorder.datastore  # type: ignore[attr-defined]
            pool = getattr(datastore, "pool", datastore)
            db_name = str(pool.db_name)
            table_name = recorder.events_table_name  # type: ignore[attr-defined]
            if pool.is_sqlite_memory_mode:
                return SQLiteRecords(f"{source.name} (in-memory SQLite)", None, table_name, source)
            path = sqlite_file_named(db_name)
            return SQLiteRecords(f"{source.name} in {path}", path, table_name)
        if name.startswith("Postgres") and hasattr(recorder, "events_table_name"):
            return _postgres_records_of(source)
        return RecorderRecords(f"{source.name} ({name})", source)
    store = parse_store(source)
    if store.kind == "sqlite" and store.path is not None:
        path = store.path
        try:
            folder = path.is_dir()
            files = sorted(path.glob("*.sqlite")) if folder else []
        except OSError as e:
            raise StoreError(f"cannot read {path}: {e.strerror or e}") from None
        if folder:
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
    if store.kind == "postgresql":
        return _postgres_records(store, table)
    raise StoreError(
        f"to read the {store}, open the application on it first "
        "(workbench.open_app(AppClass, store)) and pass the application"
    )
