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

>>> from workbench.examples.ticketing import Ticketing
>>> app = open_app(Ticketing, "memory")
>>> describe_store("postgresql://me:secret@localhost:5432/tickets")
'PostgreSQL database tickets on localhost:5432'
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment, resolve_topic

__all__ = [
    "SQLITE_SUFFIXES",
    "Store",
    "StoreError",
    "describe_store",
    "open_app",
    "parse_store",
    "sqlite_event_tables",
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
            env["SQLITE_DBNAME"] = str(self.sqlite_file(app_name))
        elif self.kind == "postgresql":
            env.update(self.postgres)
        if readonly and self.kind != "memory":
            env["CREATE_TABLE"] = "n"
        return env

    def __str__(self) -> str:
        return describe_store(self)


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
    if path.suffix.lower() in SQLITE_SUFFIXES or path.exists():
        return Store("sqlite", path=path)
    raise StoreError(f"cannot tell what store {text!r} is; {_HELP}")


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
        if store.path is not None and store.path.is_dir():
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
    if not path.exists():
        raise StoreError(f"there is no file {path}: check the path, or generate a history first")
    if path.is_dir():
        raise StoreError(f"{path} is a folder; name the .sqlite file inside it")
    with path.open("rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        raise StoreError(f"{path} is not an SQLite database (its first bytes are {header[:8]!r})")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            found = []
            for table in _table_names(conn):
                columns = [r[1] for r in conn.execute(f"PRAGMA table_info('{table}')")]
                if all(c in columns for c in EVENT_COLUMNS):
                    found.append(table)
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path} cannot be read as an SQLite database: {e}") from None
    return found


def _table_names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]


def _check_sqlite_file(path: Path, readonly: bool) -> None:
    if not path.exists() or path.stat().st_size == 0:
        if readonly:
            raise StoreError(
                f"there is no event store at {path}: check the path, or create one "
                "(e.g. 'workbench generate --store " + str(path) + "')"
            )
        if not path.parent.exists():
            raise StoreError(f"cannot create {path}: the folder {path.parent} does not exist")
        return
    found = sqlite_event_tables(path)
    if "stored_events" not in found:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
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
    and hold events. The application's own settings (its class-level ``env``,
    then ``os.environ``, as eventsourcing reads them) are kept, except where the
    store says otherwise: its ``PERSISTENCE_MODULE`` stays if it is of the
    store's kind. ``env`` adds further eventsourcing settings (for example
    ``COMPRESSOR_TOPIC`` or ``CIPHER_KEY``) and has the last word.

    >>> from workbench.examples.ticketing import Ticketing
    >>> type(open_app(Ticketing).recorder).__name__
    'POPOApplicationRecorder'
    """
    parsed = parse_store(store)
    if parsed.kind == "sqlite" and not parsed.sqlite_memory:
        _check_sqlite_file(parsed.sqlite_file(app_class.name), readonly)
    settings = _store_settings(app_class, parsed, readonly, env or {})
    try:
        return app_class(env=settings)
    except StoreError:
        raise
    except Exception as e:
        raise StoreError(f"cannot open {app_class.__name__} on the {parsed}: {e}") from e


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
