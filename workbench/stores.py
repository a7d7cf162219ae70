"""One way to open a store: in memory, an SQLite file, or a PostgreSQL server.

A *store* is named by one short string:

=====================================  =============================================
``"memory"`` (the default)             in-memory (eventsourcing's POPO recorders)
``"data/history.sqlite"``              an SQLite file (also ``.db``, ``.sqlite3``)
``"sqlite:///data/history.sqlite"``    the same, as a URL (``sqlite:////abs/path``)
``"sqlite::memory:"``                  a private in-memory SQLite database
``"postgresql://u:p@host:5432/db"``    a PostgreSQL server (``?schema=name`` optional)
=====================================  =============================================

An SQLite file holds one application's events (eventsourcing names the table
``stored_events``). To keep several applications together, name an existing
folder: each application gets ``<folder>/<name>.sqlite``, and a file already
there is found whatever its case and suffix (``Ticketing.db`` for ``Ticketing``).

:func:`open_app` maps the string onto eventsourcing's own persistence settings
(``PERSISTENCE_MODULE``, ``SQLITE_DBNAME``, ``POSTGRES_*``) and constructs the
application; nothing here re-implements a recorder. The application's own
settings (its class-level ``env``) are kept: a ``PERSISTENCE_MODULE`` of the
store's kind (say a subclass of eventsourcing's ``SQLiteFactory`` for an SQLite
store) stays, and only says where; one of another kind gives way to the store.
The mapper is :class:`workbench.tracing.TracingMapper` (causation and
correlation on every event), unless the application names its own
``MAPPER_TOPIC``: that one stays, and its events are not traced.

``open_app(..., readonly=True)`` is enforced by the store itself: an SQLite
file is opened through a read-only URI (``file:...?mode=ro``; its journal
mode is left as it is), a PostgreSQL connection starts every transaction
read-only (``default_transaction_read_only``). A write then raises
:class:`ReadOnlyStore`. Paths go into SQLite URIs quoted (:func:`sqlite_uri`):
a file named ``a#b?.sqlite`` is that file.

>>> from workbench.examples.ticketing import Ticketing
>>> app = open_app(Ticketing, "memory")
>>> describe_store("postgresql://me:secret@localhost:5432/tickets")
'PostgreSQL database tickets on localhost:5432'
"""

from __future__ import annotations

import functools
import os
import random
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment, resolve_topic

from workbench.tracing import has_own_mapper, tracing_env

__all__ = [
    "SQLITE_SUFFIXES",
    "ReadOnlyStore",
    "Store",
    "StoreError",
    "describe_store",
    "open_app",
    "opened_read_only",
    "parse_store",
    "read_sqlite",
    "sqlite_event_tables",
    "sqlite_file_named",
    "sqlite_uri",
]

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
SQLITE_HEADER = b"SQLite format 3\x00"
EVENT_COLUMNS = ("originator_id", "originator_version", "topic", "state")
PERSISTENCE_MODULES = {
    "memory": "eventsourcing.popo",
    "sqlite": "eventsourcing.sqlite",
    "postgresql": "eventsourcing.postgres",
}
"""The eventsourcing persistence module for each kind of store."""
FACTORY_CLASSES = {
    "memory": "eventsourcing.popo:POPOFactory",
    "sqlite": "eventsourcing.sqlite:SQLiteFactory",
    "postgresql": "eventsourcing.postgres:PostgresFactory",
}
"""An application's own factory is kept if it is (a subclass of) the one for the store's kind."""

TApplication = TypeVar("TApplication", bound=Application[Any])

_HELP = (
    "use 'memory', an SQLite file path (e.g. 'data/history.sqlite' or "
    "'sqlite:///data/history.sqlite'), or a PostgreSQL URL "
    "('postgresql://user:password@localhost:5432/dbname')"
)


class StoreError(Exception):
    """A store could not be opened; the message says why and what to do."""


class ReadOnlyStore(StoreError):
    """A write was tried on a store opened read-only (``open_app(..., readonly=True)``).

    Raised by the application's recorder when the store refuses the write;
    nothing was recorded.
    """


SQLITE_TIMEOUT = 5.0
"""Seconds a reader waits for another connection's write to finish before saying so."""


def sqlite_uri(path: str | Path, *, immutable: bool = False) -> str:
    """A URI that opens the SQLite file ``path`` read-only, whatever characters its name has.

    ``#``, ``?`` and ``%`` in a name are quoted (written into a ``file:`` URI
    as they are, they would end the path: SQLite would open, and create,
    another file). ``immutable`` also tells SQLite the file cannot change, so
    it takes no locks and creates nothing beside it.

    >>> sqlite_uri("/data/a#b?.sqlite")
    'file:///data/a%23b%3F.sqlite?mode=ro'
    """
    uri = Path(os.path.abspath(path)).as_uri() + "?mode=ro"
    return uri + "&immutable=1" if immutable else uri


def sqlite_file_named(db_name: str) -> Path:
    """The file an eventsourcing ``SQLITE_DBNAME`` names: a path, or a ``file:`` URI.

    >>> sqlite_file_named("file:///data/a%23b.sqlite?mode=ro")
    PosixPath('/data/a#b.sqlite')
    """
    if not db_name.startswith("file:"):
        return Path(db_name)
    path = urlsplit(db_name).path
    return Path(unquote(path))


def _wal_without_log(path: Path) -> bool:
    """Whether ``path`` is an SQLite file in WAL mode with no write-ahead log beside it.

    Nobody has it open (the last connection to close removes the log): read
    as immutable, it is read as it is, and no ``-wal``/``-shm`` files are
    left beside it, as they would be by a read-only connection.
    """
    if Path(f"{path}-wal").exists():
        return False
    try:
        header = read_header(path, 20)
    except OSError:
        return False
    return header[18:20] == b"\x02\x02"


def read_header(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a file, read without dropping this process's SQLite locks.

    POSIX locks belong to a process and a file: closing *any* descriptor of the
    file drops every lock the process holds on it, SQLite's own connections'
    included (another process may then delete the write-ahead log under them
    and events are lost). So when this process already has the file open, its
    bytes are read through that descriptor (``pread`` moves no offset) and no
    descriptor is closed; otherwise no connection here holds a lock on it and
    a descriptor of our own is opened and closed.
    """
    found = _open_descriptor(path)
    if found is not None:
        return os.pread(found, size, 0)
    with path.open("rb") as f:
        return f.read(size)


def _open_descriptor(path: Path) -> int | None:
    """A descriptor this process already has open on ``path``'s file, or ``None``."""
    try:
        target = path.stat()
        names = os.listdir("/dev/fd")  # Linux and macOS; elsewhere locks are per handle
    except OSError:
        return None
    for name in names:
        try:
            fd = int(name)
            st = os.fstat(fd)
        except (ValueError, OSError):
            continue
        if st.st_ino == target.st_ino and st.st_dev == target.st_dev:
            return fd
    return None


def _writable(path: Path) -> bool:
    """Whether ``path`` and its folder may be written (SQLite writes beside a file)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


@contextmanager
def read_sqlite(path: str | Path, *, what: str | None = None) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the SQLite file ``path``; errors as :class:`StoreError`.

    Nothing is written: not the file, not its journal mode, and no files
    beside it (see :func:`sqlite_uri`). A reader waits up to
    :data:`SQLITE_TIMEOUT` seconds for another connection's write, then says
    so. Invalid UTF-8 in a text value reads with replacement characters
    rather than failing the query. ``what`` names the file in messages.
    """
    path = Path(path)
    what = what or f"the SQLite file {path}"
    try:
        conn = sqlite3.connect(
            sqlite_uri(path, immutable=_wal_without_log(path)),
            uri=True,
            timeout=SQLITE_TIMEOUT,
            check_same_thread=False,
        )
    except sqlite3.Error as e:
        raise StoreError(sqlite_problem(e, what)) from None
    conn.text_factory = _text
    try:
        yield conn
    except sqlite3.Error as e:
        raise StoreError(sqlite_problem(e, what)) from None
    finally:
        conn.close()


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def sqlite_problem(error: sqlite3.Error, what: str) -> str:
    """What an SQLite error reading ``what`` means, and what to do."""
    name = getattr(error, "sqlite_errorname", "")
    text = str(error)
    if name.startswith("SQLITE_BUSY") or "locked" in text:
        return (
            f"{what} is locked by another connection that is writing to it (waited "
            f"{SQLITE_TIMEOUT:g} s); try again when that write is done"
        )
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return (
            f"cannot open {what} ({text}): check that it exists and that you may read it; "
            "a file in WAL mode also needs its -shm file, or a folder where it can be made"
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text:
        return f"{what} is damaged ({text}); read a copy made before the damage, or recover it"
    return f"cannot read {what}: {text}"


@dataclass(frozen=True)
class Store:
    """A parsed store string. Build one with :func:`parse_store`."""

    kind: Literal["memory", "sqlite", "postgresql"]
    """Which recorders hold the events."""
    path: Path | None = None
    """The SQLite file, or folder of files (``None`` for memory and PostgreSQL)."""
    sqlite_memory: bool = False
    """``True`` for ``sqlite::memory:``."""
    postgres: Mapping[str, str] = field(default_factory=dict)
    """``POSTGRES_*`` settings for a PostgreSQL store."""

    def sqlite_file(self, app_name: str) -> Path:
        """The file that holds ``app_name``'s events.

        In a folder, an existing file named after the application is found
        whatever its case and SQLite suffix; a new one is ``<name>.sqlite`` in
        lower case. Two files for one application raise :class:`StoreError`.
        """
        assert self.path is not None
        if not self.path.is_dir():
            return self.path
        wanted = {f"{app_name}{suffix}".lower() for suffix in SQLITE_SUFFIXES}
        found = sorted(p for p in self.path.iterdir() if p.name.lower() in wanted and p.is_file())
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise StoreError(
                f"the folder {self.path} holds {len(found)} files for {app_name} ({names}); "
                "keep one of them, or open the one you want by its path"
            )
        return found[0] if found else self.path / f"{app_name.lower()}.sqlite"

    def env(self, app_name: str = "", *, readonly: bool = False) -> dict[str, str]:
        """eventsourcing persistence settings for this store.

        >>> parse_store("sqlite::memory:").env()
        {'PERSISTENCE_MODULE': 'eventsourcing.sqlite', 'SQLITE_DBNAME': ':memory:'}
        """
        env = {"PERSISTENCE_MODULE": PERSISTENCE_MODULES[self.kind]}
        if self.kind == "sqlite":
            if self.sqlite_memory:
                return {**env, "SQLITE_DBNAME": ":memory:"}
            path = self.sqlite_file(app_name)
            if readonly:
                # A WAL file nobody can write (nor has open) is read as it is, creating
                # nothing (SQLite could not make its -shm file in a read-only folder).
                fixed = _wal_without_log(path) and not _writable(path)
                env["SQLITE_DBNAME"] = sqlite_uri(path, immutable=fixed)
            else:
                env["SQLITE_DBNAME"] = _plain_name(path)
        elif self.kind == "postgresql":
            env.update(self.postgres)
        if readonly and self.kind != "memory":
            env["CREATE_TABLE"] = "n"
        return env

    def __str__(self) -> str:
        return describe_store(self)


def _plain_name(path: Path) -> str:
    """``path`` as eventsourcing's SQLite connection takes it (it connects with ``uri=True``).

    A name that starts with ``file:`` would be read as a URI: such a path goes
    in as a quoted URI itself.
    """
    text = str(path)
    if text.startswith("file:"):
        return Path(os.path.abspath(path)).as_uri()
    return text


def parse_store(spec: str | Path | Store | None = "memory") -> Store:
    """Parse a store string, or raise :class:`StoreError` saying what is accepted.

    >>> parse_store("sqlite:///data/x.sqlite").path
    PosixPath('data/x.sqlite')
    >>> parse_store("memory").kind
    'memory'
    """
    if isinstance(spec, Store):
        return spec
    if spec is None:
        return Store("memory")
    if isinstance(spec, Path):
        return Store("sqlite", path=spec)
    text = str(spec).strip()
    if text in ("", "memory", "memory:", "popo", "mem"):
        return Store("memory")
    if text in ("sqlite::memory:", "sqlite://:memory:", "sqlite:///:memory:"):
        return Store("sqlite", sqlite_memory=True)
    if text.startswith("sqlite:"):
        if not text.startswith("sqlite:///"):
            raise StoreError(
                f"cannot read the SQLite URL {text!r}: write 'sqlite:///relative/path.sqlite' "
                "or 'sqlite:////absolute/path.sqlite'"
            )
        rest = unquote(text[len("sqlite:///") :])
        if not rest:
            raise StoreError(f"the SQLite URL {text!r} names no file; {_HELP}")
        return Store("sqlite", path=Path(rest))
    if text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return Store("postgresql", postgres=_postgres_settings(text))
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise StoreError(f"unknown kind of store '{scheme}://' in {text!r}; {_HELP}")
    path = Path(text).expanduser()
    if path.suffix.lower() in SQLITE_SUFFIXES or _exists(path):
        return Store("sqlite", path=path)
    raise StoreError(f"cannot tell what store {text!r} is; {_HELP}")


def _exists(path: Path) -> bool:
    """``path.exists()``, a path that cannot be looked at (no permission) as :class:`StoreError`."""
    try:
        return path.exists()
    except OSError as e:
        raise StoreError(f"cannot read {path}: {e.strerror or e}") from None


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _postgres_settings(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    dbname = parts.path.lstrip("/")
    if not dbname:
        raise StoreError(
            f"the PostgreSQL URL {url!r} names no database: add it after the host, "
            "e.g. 'postgresql://user:password@localhost:5432/eventstore'"
        )
    try:
        port = parts.port
    except ValueError:
        raise StoreError(f"the port in {url!r} is not a number") from None
    settings = {
        "POSTGRES_DBNAME": unquote(dbname),
        "POSTGRES_HOST": parts.hostname or "localhost",
        "POSTGRES_PORT": str(port or 5432),
        "POSTGRES_USER": unquote(parts.username or ""),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "5",
    }
    for key, values in parse_qs(parts.query).items():
        settings[f"POSTGRES_{key.upper()}"] = values[-1]
    return settings


def describe_store(spec: str | Path | Store | None) -> str:
    """A short human description of a store, without its password.

    >>> describe_store("sqlite::memory:")
    'in-memory SQLite database'
    """
    store = parse_store(spec)
    if store.kind == "memory":
        return "in-memory store"
    if store.kind == "sqlite":
        if store.sqlite_memory:
            return "in-memory SQLite database"
        if store.path is not None and _is_folder(store.path):
            return f"folder {store.path} (one SQLite file per application)"
        return f"SQLite file {store.path}"
    pg = store.postgres
    return (
        f"PostgreSQL database {pg['POSTGRES_DBNAME']} on "
        f"{pg['POSTGRES_HOST']}:{pg['POSTGRES_PORT']}"
    )


def sqlite_event_tables(path: str | Path) -> list[str]:
    """Names of the tables in an SQLite file that hold eventsourcing stored events.

    Raises :class:`StoreError` if the file is missing, is not SQLite, or cannot be read.
    """
    path = Path(path)
    try:
        if not path.exists():
            raise StoreError(
                f"there is no file {path}: check the path, or generate a history first"
            )
        if path.is_dir():
            raise StoreError(f"{path} is a folder; name the .sqlite file inside it")
        header = read_header(path, len(SQLITE_HEADER))
    except OSError as e:
        raise StoreError(f"cannot read {path}: {e.strerror or e}") from None
    if header and header != SQLITE_HEADER:
        raise StoreError(f"{path} is not an SQLite database (its first bytes are {header[:8]!r})")
    found = []
    with read_sqlite(path, what=f"{path} (as an SQLite database)") as conn:
        for table in _table_names(conn):
            quoted = table.replace('"', '""')
            columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{quoted}")')]
            if all(c in columns for c in EVENT_COLUMNS):
                found.append(table)
    return found


def _table_names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]


def _check_sqlite_file(path: Path, readonly: bool) -> None:
    try:
        missing = not path.exists() or path.stat().st_size == 0
    except OSError as e:
        raise StoreError(f"cannot read {path}: {e.strerror or e}") from None
    if missing:
        if readonly:
            raise StoreError(
                f"there is no event store at {path}: check the path, or create one "
                "(e.g. 'workbench generate --store " + str(path) + "')"
            )
        if not _exists(path.parent):
            raise StoreError(f"cannot create {path}: the folder {path.parent} does not exist")
        return
    found = sqlite_event_tables(path)
    if "stored_events" not in found:
        with read_sqlite(path) as conn:
            names = _table_names(conn)
        if names:
            raise StoreError(
                f"{path} is an SQLite database but not an eventsourcing store "
                f"(it has tables {', '.join(names)} and no 'stored_events' table); "
                "pick another file, or a new file name to create a store"
            )
        if readonly:
            raise StoreError(f"{path} is an empty SQLite database: it holds no events")


def open_app(
    app_class: type[TApplication],
    store: str | Path | Store | None = "memory",
    *,
    readonly: bool = False,
    env: Mapping[str, str] | None = None,
) -> TApplication:
    """Construct ``app_class`` on the named store.

    ``readonly=True`` refuses to create anything: the store must already exist
    and hold events, and the store itself refuses writes (a command then
    raises :class:`ReadOnlyStore`). The application's own settings (its
    class-level ``env``, then ``os.environ``, as eventsourcing reads them) are
    kept, except where the store says otherwise: its ``PERSISTENCE_MODULE``
    stays if it is of the store's kind. ``env`` adds further eventsourcing
    settings (for example ``COMPRESSOR_TOPIC`` or ``CIPHER_KEY``) and has the
    last word.

    >>> from workbench.examples.ticketing import Ticketing
    >>> type(open_app(Ticketing).recorder).__name__
    'POPOApplicationRecorder'
    """
    if not isinstance(app_class, type) or not issubclass(app_class, Application):
        raise StoreError(f"open_app needs an eventsourcing Application class, got {app_class!r}")
    parsed = parse_store(store)
    if parsed.kind == "sqlite" and not parsed.sqlite_memory:
        try:
            _check_sqlite_file(parsed.sqlite_file(app_class.name), readonly)
        except OSError as e:  # a folder that cannot be listed
            raise StoreError(f"cannot read {parsed.path}: {e.strerror or e}") from None
    settings = _store_settings(app_class, parsed, readonly, env or {})
    for attempt in range(_DDL_ATTEMPTS):
        try:
            app = app_class(env=settings)
            if readonly:
                _read_only(app, parsed)
        except StoreError:
            raise
        except Exception as e:
            if attempt + 1 < _DDL_ATTEMPTS and _lost_ddl_race(e):
                # Another process created the same tables at the same moment
                # (a classroom opening one shared store); creating is idempotent.
                time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))
                continue
            raise StoreError(
                f"cannot open {app_class.__name__} on the {parsed}: {_reason(e, parsed)}"
            ) from e
        return app
    raise AssertionError("unreachable")  # pragma: no cover


_DDL_ATTEMPTS = 6
_DDL_RACES = (
    "tuple concurrently updated",
    # a unique index of the catalogue: the same object created twice at once
    "pg_type_typname_nsp_index",
    "pg_class_relname_nsp_index",
    "pg_proc_proname_args_nsp_index",
)


def _lost_ddl_race(error: BaseException) -> bool:
    """Whether ``error`` is PostgreSQL refusing one of two concurrent ``CREATE`` statements.

    eventsourcing creates its tables, types and functions with ``IF NOT EXISTS``
    and ``CREATE OR REPLACE``, which PostgreSQL does not serialise: two processes
    opening one new schema at once can fail with these messages. Trying again
    finds the objects made.
    """
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return False
        if any(race in str(seen) for race in _DDL_RACES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(error: Exception, store: Store) -> str:
    """What went wrong opening ``store``: for PostgreSQL, the driver's own words.

    eventsourcing's connection pool only says it "couldn't get a connection";
    one direct connection tells why (a wrong password, port or database name).
    """
    if store.kind != "postgresql":
        return str(error)
    try:
        import psycopg
    except ImportError:
        return str(error)
    pg = store.postgres
    try:
        with psycopg.connect(
            dbname=pg["POSTGRES_DBNAME"],
            host=pg["POSTGRES_HOST"],
            port=pg["POSTGRES_PORT"],
            user=pg["POSTGRES_USER"],
            password=pg["POSTGRES_PASSWORD"],
            connect_timeout=max(1, int(float(pg.get("POSTGRES_CONNECT_TIMEOUT") or 5))),
        ):
            pass
    except Exception as e:  # psycopg.Error and friends, with the server's message
        return " ".join(str(e).split())
    return str(error)


def _read_only(app: Application[Any], store: Store) -> None:
    """Make the store refuse writes through ``app``, and its refusal say so.

    SQLite: every connection opens through a read-only URI (``Store.env``);
    eventsourcing would also switch the file to WAL on its first connection,
    which a read-only one cannot do, so its pool is told the mode is settled.
    PostgreSQL: every transaction on the app's connections is read-only. The
    recorders' writes then raise :class:`ReadOnlyStore` when the store refuses.
    """
    datastore = getattr(app.factory, "datastore", None)
    pool = getattr(datastore, "pool", None)
    if store.kind == "sqlite" and not store.sqlite_memory:
        if pool is None or not hasattr(pool, "is_journal_mode_wal"):
            raise StoreError(
                f"cannot open {type(app).__name__} read-only: its persistence module "
                f"({type(app.factory).__name__}) has no SQLite connection pool to configure"
            )
        pool.is_journal_mode_wal = True  # leave the journal mode as it is
    elif store.kind == "postgresql":
        kwargs = getattr(pool, "kwargs", None)
        if not isinstance(kwargs, dict):
            raise StoreError(
                f"cannot open {type(app).__name__} read-only: its persistence module "
                f"({type(app.factory).__name__}) has no PostgreSQL connection pool to configure"
            )
        options = str(kwargs.get("options") or "")
        kwargs["options"] = f"{options} -c default_transaction_read_only=on".strip()
        # The recorder has connected already (to register its types): those
        # connections are made read-only when they are first handed out.
        datastore.get_connection = _read_only_connections(datastore.get_connection)  # type: ignore[union-attr]
        try:
            app.recorder.max_notification_id()  # the server answers, and the table is there
        except Exception as e:
            raise StoreError(
                f"cannot open {type(app).__name__} read-only on the {store}: {_reason(e, store)}"
            ) from e
    where = describe_store(store)
    recorders = [app.recorder]
    snapshots = getattr(app, "snapshots", None)
    if snapshots is not None:
        recorders.append(snapshots.recorder)
    for recorder in recorders:
        for name in ("insert_events", "insert_tracking"):
            method = getattr(recorder, name, None)
            if method is not None:
                setattr(recorder, name, _refusal_said(method, where))


def _read_only_connections(get_connection: Callable[[], Any]) -> Callable[[], Any]:
    """eventsourcing's ``PostgresDatastore.get_connection``, each connection made read-only."""
    done: weakref.WeakSet[Any] = weakref.WeakSet()

    @contextmanager
    def read_only() -> Iterator[Any]:
        with get_connection() as conn:
            if conn not in done:
                conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                done.add(conn)
            yield conn

    return read_only


def opened_read_only(app: Application[Any]) -> bool:
    """Whether ``app`` was opened with ``open_app(..., readonly=True)``."""
    return bool(getattr(app.recorder.insert_events, _READ_ONLY, False))


_READ_ONLY = "_workbench_read_only"


def _refusal_said(method: Callable[..., Any], where: str) -> Callable[..., Any]:
    """``method``, raising :class:`ReadOnlyStore` when the store refuses it as read-only."""

    @functools.wraps(method)
    def write(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as e:
            if _refused_as_read_only(e):
                raise ReadOnlyStore(
                    f"the {where} was opened read-only (readonly=True): nothing was "
                    "recorded. To record events, open it without readonly=True"
                ) from e
            raise

    setattr(write, _READ_ONLY, True)
    return write


def _refused_as_read_only(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) is a store refusing a write as read-only."""
    seen = 0
    while error is not None and seen < 10:
        name = str(getattr(error, "sqlite_errorname", ""))
        if name.startswith("SQLITE_READONLY") or "readonly database" in str(error):
            return True
        if getattr(error, "sqlstate", None) == "25006":  # PostgreSQL: read_only_sql_transaction
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def _store_settings(
    app_class: type[Application[Any]], store: Store, readonly: bool, env: Mapping[str, str]
) -> dict[str, str]:
    """The constructor ``env`` that puts ``app_class`` on ``store`` and keeps its own settings."""
    name = app_class.name
    # What the application would read without us, in eventsourcing's order
    # (Application.construct_env): the class's env, then os.environ, then the caller's env.
    own = Environment(name, {**app_class.env, **os.environ, **env})
    settings = store.env(name, readonly=readonly)
    if _is_of_kind(_persistence_topic(own), store.kind):
        del settings["PERSISTENCE_MODULE"]
    # eventsourcing reads "<NAME>_<KEY>" before "<KEY>": override that one too where it is set.
    for key, value in list(settings.items()):
        prefixed = f"{name.upper()}_{key}"
        if prefixed in own:
            settings[prefixed] = value
    if not has_own_mapper(app_class, env):
        # causation and correlation on every event (workbench.tracing); an own mapper stays
        settings.update(tracing_env())
    settings.update(env)
    return settings


def _persistence_topic(env: Environment) -> str:
    """The persistence topic eventsourcing would use (InfrastructureFactory.construct)."""
    keys = (InfrastructureFactory.PERSISTENCE_MODULE, "INFRASTRUCTURE_FACTORY", "FACTORY_TOPIC")
    return next((topic for key in keys if (topic := env.get(key, ""))), "eventsourcing.popo")


def _is_of_kind(topic: str, kind: str) -> bool:
    """Whether the factory ``topic`` names is (a subclass of) the one for ``kind`` of store.

    A topic that cannot be resolved is not of the kind: the store's own module replaces it.
    """
    try:
        found = resolve_topic(topic)
    except Exception:  # the module is missing or fails to import, e.g. without psycopg
        return False
    if isinstance(found, ModuleType):
        # As eventsourcing does: the one concrete factory class the module holds.
        classes = {
            member
            for member in vars(found).values()
            if isinstance(member, type)
            and issubclass(member, InfrastructureFactory)
            and not getattr(member, "__parameters__", None)
        }
        if len(classes) != 1:
            return False
        found = classes.pop()
    if not isinstance(found, type):
        return False
    wanted = FACTORY_CLASSES[kind]
    return any(f"{c.__module__}:{c.__qualname__}" == wanted for c in found.__mro__)
