"""Classroom mode on the project's PostgreSQL server: set-up, least privilege, live stream."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from datetime import date

import pytest

from workbench import classroom
from workbench.cli import main
from workbench.examples.sponsorship import Sponsorship
from workbench.examples.ticketing import Ticketing
from workbench.stores import StoreError, open_app
from workbench.stream import EventStream

pytestmark = pytest.mark.postgres


def _name() -> str:
    """A classroom name no other test run uses (roles are cluster-wide)."""
    return f"t_room_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def admin_url(postgres_server_url: str) -> str:
    return postgres_server_url


@pytest.fixture(scope="module")
def room(admin_url: str) -> Iterator[classroom.Classroom]:
    """One classroom (a fresh schema and two fresh roles) for the module, dropped afterwards."""
    name = _name()
    try:
        yield classroom.set_up(admin_url, name)
    finally:
        classroom.drop(admin_url, name)


def _roles(admin_url: str, name: str) -> list[str]:
    import psycopg

    with psycopg.connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s ORDER BY rolname", (f"{name}_%",)
        ).fetchall()
    return [r[0] for r in rows]


def test_the_job_prints_the_attendee_setting_and_the_same_again(
    admin_url: str, room: classroom.Classroom, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["classroom", "--admin-url", admin_url, "--name", room.name]) == 0
    first = capsys.readouterr().out
    assert f'STORE = "{room.attendee_url}"' in first
    assert f"?schema={room.name}" in room.attendee_url
    assert room.attendee_url.startswith(f"postgresql://{room.name}_attendee:")
    assert "ticketing_events, sponsorship_events" in first
    assert main(["classroom", "--admin-url", admin_url, "--name", room.name]) == 0
    assert capsys.readouterr().out == first
    assert _roles(admin_url, room.name) == [room.attendee_role, room.instructor_role]


def test_the_instructor_owns_the_tables(admin_url: str, room: classroom.Classroom) -> None:
    rows = classroom.execute(
        admin_url,
        f"SELECT tablename, tableowner FROM pg_tables WHERE schemaname = '{room.name}' "
        "ORDER BY tablename",
    )
    assert rows == [
        ("sponsorship_events", room.instructor_role),
        ("ticketing_events", room.instructor_role),
    ]


def test_an_attendee_command_shows_on_the_instructor_stream_within_a_second(
    room: classroom.Classroom,
) -> None:
    instructor = open_app(Ticketing, room.instructor_url)
    stream = EventStream(instructor)
    stream.refresh()
    before = len(stream.frame)
    attendee = textwrap.dedent(
        """
        import sys, time
        from datetime import date
        from workbench.examples.ticketing import Ticketing
        from workbench.stores import open_app

        app = open_app(Ticketing, sys.argv[1], env={"CREATE_TABLE": "n"})
        app.schedule_conference("LIVE18", "ConFoo live", date(2018, 3, 7))
        print(time.time())
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", attendee, room.attendee_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    seen_at = None
    while time.monotonic() < deadline:
        if stream.refresh():
            seen_at = time.time()
            break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=20)
    instructor.close()
    assert proc.returncode == 0, err
    assert seen_at is not None, "the attendee's event never reached the instructor's stream"
    assert seen_at - float(out.strip()) < 1.0
    assert len(stream.frame) == before + 1
    assert stream.frame.event_type.iloc[-1] == "Conference.Scheduled"


def test_attendees_read_and_append_on_both_applications(room: classroom.Classroom) -> None:
    tickets = open_app(Ticketing, room.attendee_url, env=classroom.ATTENDEE_ENV)
    crm = open_app(Sponsorship, room.attendee_url, env=classroom.ATTENDEE_ENV)
    try:
        conf = tickets.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
        acme = crm.register_sponsor("Acme", "PHP18", contact="Wile")
        crm.sign_contract(acme, "Gold")
        assert tickets.get_conference(conf).code == "PHP18"
        assert crm.get_sponsor(acme).level == "Gold"
    finally:
        tickets.close()
        crm.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ticketing_events SET topic = 'rewritten'",
        "DELETE FROM ticketing_events",
        "TRUNCATE ticketing_events",
        "DROP TABLE ticketing_events",
        "ALTER TABLE ticketing_events ADD COLUMN note text",
        "CREATE TABLE notes (note text)",
    ],
)
def test_the_server_refuses_an_attendee_rewriting_events_or_the_schema(
    room: classroom.Classroom, statement: str
) -> None:
    count = "SELECT count(*) FROM ticketing_events"
    before = classroom.execute(room.attendee_url, count)
    with pytest.raises(StoreError, match="attendee role .* may only read and append events"):
        classroom.execute(room.attendee_url, statement)
    assert classroom.execute(room.attendee_url, count) == before


def test_the_attendee_holds_only_the_privileges_it_needs(
    admin_url: str, room: classroom.Classroom
) -> None:
    held = classroom.execute(
        admin_url,
        "SELECT p FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE',"
        f"'REFERENCES','TRIGGER']) p WHERE has_table_privilege('{room.attendee_role}', "
        f"'{room.name}.ticketing_events', p) ORDER BY p",
    )
    # TRUNCATE only for eventsourcing's LOCK TABLE ... IN EXCLUSIVE MODE; a trigger refuses it.
    assert [p for (p,) in held] == ["INSERT", "SELECT", "TRUNCATE"]
    schema = classroom.execute(
        admin_url, f"SELECT has_schema_privilege('{room.attendee_role}', '{room.name}', 'CREATE')"
    )
    assert schema == [(False,)]


def test_rewrites_are_refused_for_the_instructor_too(room: classroom.Classroom) -> None:
    with pytest.raises(StoreError, match="events are facts"):
        classroom.execute(room.instructor_url, "TRUNCATE ticketing_events")


def test_drop_removes_the_schema_and_roles(
    admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = _name()
    try:
        room = classroom.set_up(admin_url, name, apps=[classroom.APPS[0]])
        assert room.tables == ("ticketing_events",)
    finally:
        assert main(["classroom", "--admin-url", admin_url, "--name", name, "--drop"]) == 0
    assert "dropped" in capsys.readouterr().out
    assert _roles(admin_url, name) == []
    assert classroom.execute(
        admin_url, f"SELECT count(*) FROM pg_namespace WHERE nspname = '{name}'"
    ) == [(0,)]
    assert main(["classroom", "--admin-url", admin_url, "--name", name, "--drop"]) == 0
    assert "nothing dropped" in capsys.readouterr().out


def test_a_role_of_that_name_that_is_not_the_classrooms_is_left_alone(admin_url: str) -> None:
    name = _name()
    classroom.execute(admin_url, f"CREATE ROLE {name}_attendee")
    try:
        with pytest.raises(StoreError, match=f"{name}_attendee exists already"):
            classroom.set_up(admin_url, name)
    finally:
        classroom.drop(admin_url, name)
        classroom.execute(admin_url, f"DROP ROLE {name}_attendee")
    assert _roles(admin_url, name) == []


def test_user_errors_are_one_line(
    room: classroom.Classroom, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["classroom", "--admin-url", room.attendee_url, "--name", room.name]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a superuser" in err
    assert main(["classroom", "--admin-url", "history.sqlite", "--name", "x"]) == 1
    assert "superuser's URL" in capsys.readouterr().err
