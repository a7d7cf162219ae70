"""Classroom mode: one PostgreSQL store that a room of attendees appends to, live.

The instructor runs one job (``workbench classroom --admin-url URL --name NAME``)
with a superuser's URL. It makes, in the admin URL's database:

==========================  ==================================================
schema ``NAME``             the classroom's store (``?schema=NAME``)
role ``NAME_instructor``    owns the schema and the workshop's event tables
role ``NAME_attendee``      reads and appends events, nothing else
the workshop's tables       by opening each application once as the instructor
==========================  ==================================================

and prints the line attendees paste into their notebook::

    STORE = "postgresql://NAME_attendee:...@host:5432/db?schema=NAME"
    app = wb.open_app(Ticketing, STORE, env={"CREATE_TABLE": "n"})

``CREATE_TABLE=n`` tells eventsourcing not to (re)create the tables when the
application starts: an attendee may not. The instructor watches what the room
records with ``EventStream(open_app(Ticketing, classroom.instructor_url))``
and ``refresh()``, or a stream viewer.

What an attendee may do, and why (PostgreSQL 15, eventsourcing 9.5):

- ``USAGE`` on the schema; ``SELECT`` and ``INSERT`` on each events table;
  ``USAGE`` on its ``notification_id`` sequence (``nextval``).
- ``TRUNCATE`` on each events table, and only because eventsourcing's
  recorder takes ``LOCK TABLE ... IN EXCLUSIVE MODE`` before it inserts (so
  that notification ids commit in order and a reader tailing the log never
  skips one); PostgreSQL grants that lock only to a role with ``UPDATE``,
  ``DELETE`` or ``TRUNCATE`` on the table. ``TRUNCATE`` is the narrowest of
  the three, and it is taken back by a trigger: ``BEFORE TRUNCATE`` (and
  ``BEFORE UPDATE OR DELETE``) triggers, ``ENABLE ALWAYS``, refuse the
  statement for every role. The trade-off: the lock also lets an attendee
  hold the table locked in an open transaction, so others wait.
  (eventsourcing's other route, ``POSTGRES_ENABLE_DB_FUNCTIONS``, needs only
  ``INSERT`` but takes no lock, so a live reader could skip events.)
- No ``UPDATE`` or ``DELETE``, no ownership (so no ``ALTER``, ``DROP``,
  ``CREATE INDEX``), no ``CREATE`` on the schema.

Running the job again changes nothing that is there and prints the same
setting (the roles' passwords are kept in the schema ``workbench_classroom``,
which only superusers can read). ``--drop`` removes the schema, the roles and
the passwords. :func:`execute` runs one SQL statement on a classroom store and
turns the server's refusal into a :class:`~workbench.stores.StoreError` that
says what the role may do.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from eventsourcing.application import Application
from eventsourcing.utils import resolve_topic

from workbench.stores import Store, StoreError, describe_store, open_app, parse_store

__all__ = [
    "APPS",
    "ATTENDEE_ENV",
    "Classroom",
    "drop",
    "execute",
    "set_up",
]

APPS = (
    "workbench.examples.ticketing:Ticketing",
    "workbench.examples.sponsorship:Sponsorship",
)
"""The workshop's applications: their tables are made when a classroom is set up."""

ATTENDEE_ENV = {"CREATE_TABLE": "n"}
"""The ``env`` an attendee opens an application with: the tables are there already."""

SECRETS_SCHEMA = "workbench_classroom"
"""Where the roles' passwords are kept: a schema only superusers can read."""

INSTRUCTOR = "instructor"
ATTENDEE = "attendee"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")
_LOCK_KEY = 0x57_42_43_4C  # pg_advisory_lock: one classroom job at a time per server


@dataclass(frozen=True)
class Classroom:
    """A classroom store: where it is, and the two roles' URLs."""

    name: str
    """The schema, and the prefix of the roles' names."""
    database: str
    """The PostgreSQL database that holds the schema."""
    host: str
    """The host name attendees connect to."""
    port: str
    """The server's port."""
    instructor_password: str
    attendee_password: str
    tables: tuple[str, ...] = ()
    """The workshop applications' event tables."""

    @property
    def instructor_role(self) -> str:
        return f"{self.name}_{INSTRUCTOR}"

    @property
    def attendee_role(self) -> str:
        return f"{self.name}_{ATTENDEE}"

    @property
    def instructor_url(self) -> str:
        """The store string for the instructor (who owns the tables)."""
        return self._url(self.instructor_role, self.instructor_password)

    @property
    def attendee_url(self) -> str:
        """The store string attendees open their applications on."""
        return self._url(self.attendee_role, self.attendee_password)

    def _url(self, role: str, password: str) -> str:
        return (
            f"postgresql://{role}:{quote(password, safe='')}@{self.host}:{self.port}/"
            f"{quote(self.database, safe='')}?schema={self.name}"
        )

    def setting(self) -> str:
        """What attendees paste into their notebook."""
        return (
            f'STORE = "{self.attendee_url}"\n'
            'app = wb.open_app(Ticketing, STORE, env={"CREATE_TABLE": "n"})'
        )

    def report(self) -> str:
        """What the ``workbench classroom`` job prints."""
        where = f"schema {self.name} in the {describe_store(self.instructor_url)}"
        return (
            f"classroom {self.name} is ready: {where} "
            f"(tables {', '.join(self.tables) or 'none'})\n"
            f"instructor (owns the tables): {self.instructor_url}\n"
            "attendees (read and append only) paste into their notebook:\n\n"
            f"{self.setting()}"
        )


def set_up(
    admin_url: str,
    name: str = "classroom",
    *,
    host: str | None = None,
    apps: Sequence[str | type[Application[Any]]] = APPS,
) -> Classroom:
    """Make (or find) the classroom ``name`` on the server ``admin_url`` names.

    ``admin_url`` is a superuser's ``postgresql://`` URL; the classroom goes in
    its database. ``host`` is the server's name as attendees reach it (by
    default the admin URL's host). Idempotent: what exists is kept, and the
    same passwords are given again.
    """
    admin = _admin_store(admin_url)
    _check_name(name)
    classes = [_app_class(app) for app in apps]
    pg = admin.postgres
    with _admin(admin) as conn:
        instructor_pw, attendee_pw = _passwords(conn, pg["POSTGRES_DBNAME"], name)
        room = Classroom(
            name,
            pg["POSTGRES_DBNAME"],
            host or pg["POSTGRES_HOST"],
            pg["POSTGRES_PORT"],
            instructor_pw,
            attendee_pw,
        )
        _role(conn, room, room.instructor_role, instructor_pw)
        _role(conn, room, room.attendee_role, attendee_pw)
        _schema(conn, room)
        tables = []
        for app_class in classes:
            app = open_app(app_class, _local(room.instructor_url, admin))
            try:
                tables.extend(_tables_of(app))
            finally:
                app.close()
        for table in tables:
            _grant(conn, room, table)
    return Classroom(**{**room.__dict__, "tables": tuple(tables)})


def drop(admin_url: str, name: str = "classroom") -> bool:
    """Remove the classroom ``name``: its schema (and events), roles and passwords.

    Attendees' and the instructor's open connections are ended first.
    Returns whether there was anything to remove.
    """
    admin = _admin_store(admin_url)
    _check_name(name)
    database = admin.postgres["POSTGRES_DBNAME"]
    roles = [f"{name}_{INSTRUCTOR}", f"{name}_{ATTENDEE}"]
    found = False
    with _admin(admin) as conn:
        ours = [r for r in roles if _role_is_ours(conn, r, database, name, strict=False)]
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY(%s)",
            (ours,),
        )
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)).fetchone()
        if exists:
            if not _schema_owned_by(conn, name, roles[0]):
                raise StoreError(
                    f"the schema {name} is not classroom {name}'s (its owner is not "
                    f"{roles[0]}): nothing dropped; drop it yourself if you mean to"
                )
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')
            found = True
        for role in ours:
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')
            found = True
        if _secrets_exist(conn):
            conn.execute(
                f"DELETE FROM {SECRETS_SCHEMA}.classrooms WHERE database = %s AND name = %s",
                (database, name),
            )
            left = conn.execute(f"SELECT count(*) FROM {SECRETS_SCHEMA}.classrooms").fetchone()
            if left is not None and left[0] == 0:
                conn.execute(f"DROP SCHEMA {SECRETS_SCHEMA} CASCADE")
    return found


def execute(store: str | Store, statement: str) -> list[tuple[Any, ...]]:
    """Run one SQL ``statement`` on a PostgreSQL store as its role; the rows it returns.

    A statement the server refuses for lack of privilege (an attendee's
    ``UPDATE``, ``DELETE``, ``TRUNCATE``, ``DROP`` or ``ALTER``) raises
    :class:`StoreError` saying what the role may do, with the server's words.
    """
    parsed = parse_store(store)
    if parsed.kind != "postgresql":
        raise StoreError(f"execute needs a PostgreSQL store, not the {parsed}")
    import psycopg

    pg = parsed.postgres
    user = pg["POSTGRES_USER"]
    try:
        with _connect(parsed) as conn:
            schema = pg.get("POSTGRES_SCHEMA")
            if schema:
                conn.execute("SELECT set_config('search_path', %s, false)", (schema,))
            cur = conn.execute(statement.encode())
            return list(cur.fetchall()) if cur.description else []
    except psycopg.errors.InsufficientPrivilege as e:
        raise StoreError(_refusal(user, e)) from e
    except psycopg.Error as e:
        raise StoreError(f"the {parsed} did not run the statement: {_words(e)}") from e


def _refusal(user: str, error: Exception) -> str:
    if user.endswith(f"_{ATTENDEE}"):
        return (
            f"the attendee role ({user}) may only read and append events, so the server "
            f"refused: {_words(error)}"
        )
    return f"the role {user} may not do that, so the server refused: {_words(error)}"


def _words(error: Exception) -> str:
    """The server's own words for ``error``, on one line (without its context lines)."""
    diag = getattr(error, "diag", None)
    text = getattr(diag, "message_primary", None) or str(error)
    return " ".join(str(text).split())


# Set-up steps ------------------------------------------------------------


def _admin_store(url: str) -> Store:
    store = parse_store(url)
    if store.kind != "postgresql":
        raise StoreError(
            f"the admin URL must be a PostgreSQL superuser's URL, e.g. "
            f"'postgresql://postgres@127.0.0.1:5432/postgres', not the {store}"
        )
    return store


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise StoreError(
            f"the classroom name {name!r} cannot name a schema and roles: use up to 40 "
            "lower-case letters, digits and underscores, starting with a letter, e.g. 'confoo'"
        )


def _app_class(app: str | type[Application[Any]]) -> type[Application[Any]]:
    found = resolve_topic(app) if isinstance(app, str) else app
    if not (isinstance(found, type) and issubclass(found, Application)):
        raise StoreError(f"{app!r} is not an eventsourcing Application class")
    return found


def _connect(store: Store, **kwargs: Any) -> Any:
    import psycopg

    pg = store.postgres
    return psycopg.connect(
        dbname=pg["POSTGRES_DBNAME"],
        host=pg["POSTGRES_HOST"],
        port=pg["POSTGRES_PORT"],
        user=pg["POSTGRES_USER"],
        password=pg["POSTGRES_PASSWORD"],
        connect_timeout=5,
        autocommit=True,
        **kwargs,
    )


@contextmanager
def _admin(store: Store) -> Iterator[Any]:
    """A superuser's connection, holding the classroom jobs' lock on the server."""
    import psycopg

    try:
        conn = _connect(store)
    except psycopg.Error as e:
        raise StoreError(f"cannot connect to the {store} as admin: {_words(e)}") from None
    with conn:
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        if not (row and row[0]):
            raise StoreError(
                f"the admin URL's role ({store.postgres['POSTGRES_USER']}) is not a superuser: "
                "a classroom needs one to make roles, e.g. "
                "'postgresql://postgres@127.0.0.1:5432/postgres'"
            )
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            yield conn
        except psycopg.Error as e:
            raise StoreError(f"the {store} refused the classroom set-up: {_words(e)}") from e
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def _secrets_exist(conn: Any) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", (f"{SECRETS_SCHEMA}.classrooms",)).fetchone()
    return bool(row and row[0])


def _passwords(conn: Any, database: str, name: str) -> tuple[str, str]:
    """The classroom's two passwords: those kept from a run before, or new ones."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SECRETS_SCHEMA}")
    conn.execute(f"REVOKE ALL ON SCHEMA {SECRETS_SCHEMA} FROM PUBLIC")
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {SECRETS_SCHEMA}.classrooms ("
        "database text, name text, instructor_password text NOT NULL, "
        "attendee_password text NOT NULL, PRIMARY KEY (database, name))"
    )
    conn.execute(
        f"INSERT INTO {SECRETS_SCHEMA}.classrooms VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (database, name, secrets.token_urlsafe(18), secrets.token_urlsafe(18)),
    )
    row = conn.execute(
        f"SELECT instructor_password, attendee_password FROM {SECRETS_SCHEMA}.classrooms "
        "WHERE database = %s AND name = %s",
        (database, name),
    ).fetchone()
    return str(row[0]), str(row[1])


def _marker(database: str, name: str, role: str) -> str:
    return f"workbench classroom {name} in database {database}: {role.rsplit('_', 1)[-1]}"


def _role_is_ours(conn: Any, role: str, database: str, name: str, *, strict: bool = True) -> bool:
    """Whether ``role`` exists and was made for this classroom.

    A role of that name made otherwise raises :class:`StoreError` (``strict``), or is
    not ours.
    """
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s", (role,)
    ).fetchone()
    if row is None:
        return False
    if row[0] != _marker(database, name, role):
        if not strict:
            return False
        raise StoreError(
            f"a role named {role} exists already and is not classroom {name}'s in database "
            f"{database}: pick another --name"
        )
    return True


def _role(conn: Any, room: Classroom, role: str, password: str) -> None:
    """Make ``role`` (or set its password again): it can log in, and nothing more."""
    from psycopg import sql

    verb = "ALTER" if _role_is_ours(conn, role, room.database, room.name) else "CREATE"
    conn.execute(
        sql.SQL(
            "{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
            "NOBYPASSRLS PASSWORD {}"
        ).format(sql.SQL(verb), sql.Identifier(role), sql.Literal(password))
    )
    conn.execute(
        sql.SQL("COMMENT ON ROLE {} IS {}").format(
            sql.Identifier(role), sql.Literal(_marker(room.database, room.name, role))
        )
    )
    conn.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(room.database), sql.Identifier(role)
        )
    )


def _schema_owned_by(conn: Any, schema: str, role: str) -> bool:
    row = conn.execute(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", (schema,)
    ).fetchone()
    return bool(row and row[0] == role)


def _schema(conn: Any, room: Classroom) -> None:
    from psycopg import sql

    schema, instructor = sql.Identifier(room.name), sql.Identifier(room.instructor_role)
    conn.execute(
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(schema, instructor)
    )
    if not _schema_owned_by(conn, room.name, room.instructor_role):
        raise StoreError(
            f"a schema named {room.name} exists already in database {room.database} and is "
            f"not classroom {room.name}'s: pick another --name"
        )
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(schema))
    conn.execute(
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, sql.Identifier(room.attendee_role))
    )
    conn.execute(
        sql.SQL(
            "CREATE OR REPLACE FUNCTION {}.workbench_refuse_rewrite() RETURNS trigger "
            "LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION USING "
            "ERRCODE = 'insufficient_privilege', MESSAGE = format("
            "'%s on %I.%I is refused: events are facts, a classroom store only reads and "
            "appends them', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME); END$$"
        ).format(schema)
    )
    conn.execute(
        sql.SQL("ALTER FUNCTION {}.workbench_refuse_rewrite() OWNER TO {}").format(
            schema, instructor
        )
    )


def _tables_of(app: Application[Any]) -> list[str]:
    """The event tables ``app``'s recorders write (events, and snapshots if it takes them)."""
    recorders = [app.recorder]
    snapshots = getattr(app, "snapshots", None)
    if snapshots is not None:
        recorders.append(snapshots.recorder)
    return [str(r.events_table_name) for r in recorders if hasattr(r, "events_table_name")]


def _grant(conn: Any, room: Classroom, table: str) -> None:
    """Let the attendee read and append ``table``, and refuse every rewrite of it."""
    from psycopg import sql

    qualified = sql.Identifier(room.name, table)
    attendee = sql.Identifier(room.attendee_role)
    # TRUNCATE only for eventsourcing's LOCK TABLE ... IN EXCLUSIVE MODE; the trigger refuses it.
    conn.execute(sql.SQL("GRANT SELECT, INSERT, TRUNCATE ON {} TO {}").format(qualified, attendee))
    row = conn.execute(
        "SELECT pg_get_serial_sequence(%s, 'notification_id')",
        (f'"{room.name}"."{table}"',),
    ).fetchone()
    if row and row[0]:
        conn.execute(sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(sql.SQL(row[0]), attendee))
    refuse = sql.Identifier(room.name, "workbench_refuse_rewrite")
    for trigger, when in (
        ("workbench_no_rewrite", "BEFORE UPDATE OR DELETE ON {} FOR EACH ROW"),
        ("workbench_no_truncate", "BEFORE TRUNCATE ON {} FOR EACH STATEMENT"),
    ):
        conn.execute(
            sql.SQL("CREATE OR REPLACE TRIGGER {} " + when + " EXECUTE FUNCTION {}()").format(
                sql.Identifier(trigger), qualified, refuse
            )
        )
        conn.execute(
            sql.SQL("ALTER TABLE {} ENABLE ALWAYS TRIGGER {}").format(
                qualified, sql.Identifier(trigger)
            )
        )


def _local(url: str, admin: Store) -> str:
    """``url`` on the admin URL's host: the job makes the tables from where it runs."""
    store = parse_store(url)
    host = store.postgres["POSTGRES_HOST"]
    return url.replace(f"@{host}:", f"@{admin.postgres['POSTGRES_HOST']}:", 1)
