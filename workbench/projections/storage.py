"""Where read models live: in memory, in SQLite, or in PostgreSQL.

A storage keeps, per projection name, the read model's rows *and* the position
of the last event applied to them, and changes both in one transaction: after
a crash or a kernel restart, the rows always match the position.

>>> storage = open_storage("memory")
>>> storage.commit("demo", 0, 5, {"remaining": {"Standard": 98}})
>>> storage.load("demo")
(5, {'remaining': {'Standard': 98}})

An SQLite storage is a file of its own, or the event store's own file (its
tables are prefixed ``workbench_projection``). A PostgreSQL storage takes a URL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from workbench.projections.readmodel import MISSING
from workbench.reading.decoding import STORED_TYPES

__all__ = [
    "MemoryStorage",
    "PostgresStorage",
    "ReadModelStorage",
    "SQLiteStorage",
    "StaleTrackingError",
    "open_storage",
]


class StaleTrackingError(RuntimeError):
    """Another run moved the projection's position since this one read it."""


class ReadModelStorage(Protocol):
    """The small interface every read-model storage offers."""

    description: str

    def load(self, name: str) -> tuple[int, dict[str, dict[Any, Any]]]:
        """The stored position and tables of projection ``name`` (0 and {} if none)."""

    def commit(
        self, name: str, expected: int, position: int, changes: dict[str, dict[Any, Any]]
    ) -> None:
        """Atomically apply ``changes`` (MISSING deletes) and move ``expected`` to ``position``.

        Raises :class:`StaleTrackingError` if the stored position is not ``expected``.
        """

    def reset(self, name: str) -> None:
        """Forget projection ``name``: no rows, position 0."""

    def names(self) -> list[str]:
        """The projections held here."""


class MemoryStorage:
    """Read models in this Python process (gone when the kernel restarts)."""

    description = "in memory"

    def __init__(self) -> None:
        self._data: dict[str, tuple[int, dict[str, dict[Any, Any]]]] = {}
        self._lock = threading.Lock()

    def load(self, name: str) -> tuple[int, dict[str, dict[Any, Any]]]:
        with self._lock:
            position, tables = self._data.get(name, (0, {}))
            return position, {t: dict(rows) for t, rows in tables.items()}

    def commit(
        self, name: str, expected: int, position: int, changes: dict[str, dict[Any, Any]]
    ) -> None:
        with self._lock:
            stored, tables = self._data.get(name, (0, {}))
            if stored != expected:
                raise StaleTrackingError(_stale(name, expected, stored))
            undo: list[tuple[str, Any, Any]] = []
            created = [table for table in changes if table not in tables]
            try:  # all or nothing, even if Ctrl-C lands in the middle
                for table, rows in changes.items():
                    target = tables.setdefault(table, {})
                    for key, value in rows.items():
                        undo.append((table, key, target.get(key, MISSING)))
                        if value is MISSING:
                            target.pop(key, None)
                        else:
                            target[key] = value
                self._data[name] = (position, tables)
            except BaseException:
                for table, key, old in reversed(undo):
                    if old is MISSING:
                        tables[table].pop(key, None)
                    else:
                        tables[table][key] = old
                for table in created:
                    tables.pop(table, None)
                raise

    def reset(self, name: str) -> None:
        with self._lock:
            self._data.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._data)

    def __repr__(self) -> str:
        return f"<MemoryStorage: {', '.join(self.names()) or 'empty'}>"


def _stale(name: str, expected: int, stored: int) -> str:
    return (
        f"projection {name!r} is at position {stored} in storage, but this run expected "
        f"{expected}: another run is writing the same read model. Use one run per "
        "projection and storage, or reload this one (run.reload())"
    )


# Encoding keys and rows as JSON text -------------------------------------------


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return {"_type_": "decimal_str", "_data_": str(obj)}
    if isinstance(obj, UUID):
        return {"_type_": "uuid_hex", "_data_": obj.hex}
    if isinstance(obj, datetime):
        return {"_type_": "datetime_iso", "_data_": obj.isoformat()}
    if isinstance(obj, date):
        return {"_type_": "date_iso", "_data_": obj.isoformat()}
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(
        f"a read model row cannot hold a {type(obj).__name__} ({obj!r}); store numbers, "
        "strings, decimals, dates, UUIDs, or lists and dicts of them"
    )


def _hook(d: dict[str, Any]) -> Any:
    if len(d) == 2 and "_type_" in d and "_data_" in d and d["_type_"] in STORED_TYPES:
        return STORED_TYPES[d["_type_"]](d["_data_"])
    return d


_encoder = json.JSONEncoder(default=_default, separators=(",", ":"), ensure_ascii=False)
_decoder = json.JSONDecoder(object_hook=_hook)


def encode_key(key: Any) -> str:
    """A table key as text (tuples become JSON arrays)."""
    return _encoder.encode(list(key) if isinstance(key, tuple) else key)


def decode_key(text: str) -> Any:
    value = _decoder.decode(text)
    return tuple(value) if isinstance(value, list) else value


def encode_value(value: Any) -> str:
    """A row as JSON text."""
    return _encoder.encode(value)


def decode_value(text: str) -> Any:
    return _decoder.decode(text)


# SQL storages ---------------------------------------------------------------------


class _SQLStorage:
    """Shared SQL for SQLite and PostgreSQL: one tracking table, one rows table."""

    description = "SQL"
    placeholder = "?"
    prefix = "workbench_projection"

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        return text.replace("?", self.placeholder).replace("{p}", self.prefix)

    def _create(self) -> None:
        with self._transaction() as cur:
            cur.execute(
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {p}_tracking ("
                    "name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
                )
            )
            cur.execute(
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {p}_rows (projection TEXT NOT NULL, "
                    "tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
                    "PRIMARY KEY (projection, tbl, key))"
                )
            )

    def load(self, name: str) -> tuple[int, dict[str, dict[Any, Any]]]:
        with self._transaction() as cur:
            cur.execute(self._sql("SELECT position FROM {p}_tracking WHERE name = ?"), (name,))
            row = cur.fetchone()
            position = int(row[0]) if row else 0
            cur.execute(
                self._sql("SELECT tbl, key, value FROM {p}_rows WHERE projection = ?"), (name,)
            )
            tables: dict[str, dict[Any, Any]] = {}
            for tbl, key, value in cur.fetchall():
                tables.setdefault(tbl, {})[decode_key(key)] = decode_value(value)
        return position, tables

    def commit(
        self, name: str, expected: int, position: int, changes: dict[str, dict[Any, Any]]
    ) -> None:
        upserts: list[tuple[str, str, str, str]] = []
        deletes: list[tuple[str, str, str]] = []
        for table, rows in changes.items():
            for key, value in rows.items():
                if value is MISSING:
                    deletes.append((name, table, encode_key(key)))
                else:
                    upserts.append((name, table, encode_key(key), encode_value(value)))
        with self._transaction() as cur:
            cur.execute(self._sql("SELECT position FROM {p}_tracking WHERE name = ?"), (name,))
            row = cur.fetchone()
            stored = int(row[0]) if row else 0
            if stored != expected:
                raise StaleTrackingError(_stale(name, expected, stored))
            if deletes:
                cur.executemany(
                    self._sql("DELETE FROM {p}_rows WHERE projection = ? AND tbl = ? AND key = ?"),
                    deletes,
                )
            if upserts:
                cur.executemany(
                    self._sql(
                        "INSERT INTO {p}_rows (projection, tbl, key, value) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (projection, tbl, key) DO UPDATE SET value = excluded.value"
                    ),
                    upserts,
                )
            cur.execute(
                self._sql(
                    "INSERT INTO {p}_tracking (name, position) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET position = excluded.position"
                ),
                (name, position),
            )

    def reset(self, name: str) -> None:
        with self._transaction() as cur:
            cur.execute(self._sql("DELETE FROM {p}_rows WHERE projection = ?"), (name,))
            cur.execute(self._sql("DELETE FROM {p}_tracking WHERE name = ?"), (name,))

    def names(self) -> list[str]:
        with self._transaction() as cur:
            cur.execute(self._sql("SELECT name FROM {p}_tracking ORDER BY name"))
            return [str(r[0]) for r in cur.fetchall()]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"


class SQLiteStorage(_SQLStorage):
    """Read models in an SQLite file: a file of their own, or the event store's file.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "readmodels.sqlite"
    >>> storage = SQLiteStorage(path)
    >>> storage.commit("demo", 0, 3, {"t": {("a", 1): {"n": 2}}})
    >>> SQLiteStorage(path).load("demo")
    (3, {'t': {('a', 1): {'n': 2}}})
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.parent.exists():
            raise ValueError(
                f"cannot keep read models in {self.path}: the folder {self.path.parent} "
                "does not exist"
            )
        self.description = f"SQLite file {self.path}"
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(self.path), timeout=30, check_same_thread=False, isolation_level=None
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._create()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                if self._conn.in_transaction:  # some errors end the transaction themselves
                    cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class PostgresStorage(_SQLStorage):
    """Read models in a PostgreSQL database (needs ``psycopg``)."""

    placeholder = "%s"

    def __init__(self, url: str, *, prefix: str = "workbench_projection") -> None:
        try:
            import psycopg
        except ImportError:  # pragma: no cover - depends on the install
            raise ImportError(
                "PostgreSQL read models need psycopg: pip install 'workbench[postgres]'"
            ) from None
        from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

        parts = urlsplit(url)
        query = parse_qs(parts.query)
        schema = query.pop("schema", [""])[-1]
        self.url = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
        self.prefix = prefix
        where = parts.hostname or "localhost"
        self.description = f"PostgreSQL database {parts.path.lstrip('/')} on {where}"
        if schema:
            self.description += f" (schema {schema})"
        self._lock = threading.Lock()
        self._conn = psycopg.connect(self.url, autocommit=True)
        if schema:
            from psycopg import sql

            self._conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        self._create()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            yield cur

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def open_storage(spec: ReadModelStorage | str | Path | None = "memory") -> ReadModelStorage:
    """A storage from a short string: ``"memory"``, an SQLite path, or a PostgreSQL URL.

    >>> open_storage("memory").description
    'in memory'
    """
    if spec is None:
        return MemoryStorage()
    if not isinstance(spec, str | Path):
        return spec
    text = str(spec)
    if text in ("memory", ""):
        return MemoryStorage()
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresStorage(text)
    if text.startswith("sqlite:///"):
        return SQLiteStorage(Path(text[len("sqlite:///") :]))
    if "://" in text:
        raise ValueError(
            f"cannot keep read models in {text!r}: use 'memory', an SQLite file path "
            "(e.g. 'readmodels.sqlite') or a PostgreSQL URL ('postgresql://user:pw@host/db')"
        )
    return SQLiteStorage(Path(text))
