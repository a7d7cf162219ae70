"""Time travel: states per version, from the repository or, without the code, payloads by type."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, DomainEvent, event

from workbench.clock import ManualClock, use_clock
from workbench.examples.ticketing import Ticketing
from workbench.reading.loading import LoadError
from workbench.stores import open_app
from workbench.timetravel import TimeTravel, diff, object_state, state_html

START = datetime(2018, 1, 8, 9, 0, tzinfo=UTC)


@pytest.fixture
def app_and_ids(tmp_path: Path) -> tuple[Ticketing, str, str, Path]:
    path = tmp_path / "t.sqlite"
    app = open_app(Ticketing, path)
    with use_clock(ManualClock(START)):
        conf = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
        app.add_ticket_type(conf, "Standard", Decimal("450.00"), 100)
        purchase = app.reserve_tickets(conf, "Ada", {"Standard": 2})
        app.pay(purchase, "PAY-1", ["Ada", "Grace"])
        app.cancel_ticket(purchase, 2, "ill")
    return app, str(conf), str(purchase), path


def test_repository_states_equal_the_aggregate_at_each_version(
    app_and_ids: tuple[Ticketing, str, str, Path],
) -> None:
    app, _, purchase, _ = app_and_ids
    travel = TimeTravel(app, purchase)
    assert travel.mode == "repository"
    assert travel.versions == [1, 2, 3]
    for version in travel.versions:
        aggregate = app.repository.get(UUID(purchase), version=version)
        state = travel.state_at(version)
        assert state["version"] == version
        assert state["status"] == aggregate.status
        assert state["cancelled"] == sorted(aggregate.cancelled)
    paid = travel.step(2)
    assert paid.event_type == "TicketPurchase.Paid"
    assert {c.name: (c.before, c.after) for c in paid.changes}["status"] == (
        "awaiting payment",
        "paid",
    )
    assert paid.event["delegates"] == ["Ada", "Grace"]
    cancelled = travel.step(3)
    assert [c.name for c in cancelled.changes] == ["cancelled"]
    assert cancelled.state["cancelled"] == [2]


def test_folded_payloads_without_the_code(app_and_ids: tuple[Ticketing, str, str, Path]) -> None:
    _, conf, _, path = app_and_ids
    travel = TimeTravel(path, conf)
    assert travel.mode == "folded payloads"
    assert travel.folded
    assert "not the aggregate's state" in travel.note
    first = travel.step(1)
    assert first.folded
    assert first.state["type"] == "Conference"
    scheduled = first.state["Conference.Scheduled"]
    assert scheduled["name"] == "ConFoo PHP 2018"
    assert scheduled["starts_on"] == date(2018, 3, 7)
    added = travel.step(2)
    assert [c.name for c in added.changes] == ["Conference.TicketTypeAdded"]
    assert added.changes[0].added
    assert added.state["Conference.TicketTypeAdded"]["price"] == Decimal("450.00")
    assert added.state["Conference.Scheduled"] == scheduled  # earlier event types stay
    assert "price" not in added.state  # no payload field poses as an attribute
    released = travel.step(travel.versions[-1])
    assert released.event_type == "Conference.TicketsReleased"
    assert released.state["Conference.TicketsReleased"]["reason"] == "cancelled"
    assert len(travel.steps()) == len(travel.versions)
    shown = travel._repr_html_()
    assert "Time travel" in shown and "not the aggregate&#x27;s state" in shown
    assert "ConFoo PHP 2018" in state_html(first)


def test_folded_payloads_keep_the_latest_of_each_event_type(
    app_and_ids: tuple[Ticketing, str, str, Path],
) -> None:
    app, conf, _, path = app_and_ids
    app.add_ticket_type(UUID(conf), "Student", Decimal("150.00"), 20)
    travel = TimeTravel(path, conf)
    newest = travel.state_at(travel.versions[-1])
    assert newest["Conference.TicketTypeAdded"]["ticket_type"] == "Student"
    step = travel.step(travel.versions[-1])
    [change] = step.changes
    assert change.name == "Conference.TicketTypeAdded"
    assert change.before["ticket_type"] == "Standard"


def test_use_repository_false_folds_and_says_so(
    app_and_ids: tuple[Ticketing, str, str, Path],
) -> None:
    app, _, purchase, _ = app_and_ids
    travel = TimeTravel(app, purchase, use_repository=False)
    assert travel.mode == "folded payloads"
    assert travel.note.startswith("use_repository=False")
    assert "not the aggregate's state" in travel.note


def write_boxes(tmp_path: Path) -> tuple[Path, str]:
    """An SQLite file written by code that is gone: its module is not importable here."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "gone_app.py").write_text(
        "from eventsourcing.application import Application\n"
        "from eventsourcing.domain import Aggregate, event\n"
        "class Box(Aggregate):\n"
        "    @event('Packed')\n"
        "    def __init__(self, item: str) -> None:\n"
        "        self.item = item\n"
        "class Boxes(Application):\n"
        "    pass\n"
        "def write(path):\n"
        "    env = {'PERSISTENCE_MODULE': 'eventsourcing.sqlite', 'SQLITE_DBNAME': path}\n"
        "    app = Boxes(env=env)\n"
        "    box = Box(item='book')\n"
        "    app.save(box)\n"
        "    print(box.id)\n"
    )
    db = tmp_path / "boxes.sqlite"
    out = subprocess.run(
        [sys.executable, "-c", "import sys, gone_app as m; m.write(sys.argv[1])", str(db)],
        cwd=code,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return db, out.stdout.strip()


def test_repository_failure_falls_back_with_a_note(tmp_path: Path) -> None:
    db, box_id = write_boxes(tmp_path)

    class Boxes(Ticketing):
        name = "Boxes"

    app = open_app(Boxes, db)
    travel = TimeTravel(app, box_id)
    assert travel.mode == "folded payloads"
    assert "could not rebuild" in travel.note
    assert "gone_app" in travel.note  # the error says which topic is missing
    assert "not the aggregate's state" in travel.note
    assert travel.state_at(1)["Box.Packed"]["item"] == "book"
    assert "gone_app" not in sys.modules


# A functional aggregate: immutable state, events without mutate, a projector function.


@dataclass(frozen=True)
class Jar:
    id: UUID
    version: int
    label: str
    beans: tuple[str, ...] = ()


class JarFilled(DomainEvent):
    label: str


class BeanAdded(DomainEvent):
    bean: str


def project_jar(jar: Jar | None, events: Iterable[DomainEvent]) -> Jar | None:
    for e in events:
        if isinstance(e, JarFilled):
            jar = Jar(e.originator_id, e.originator_version, e.label)
        elif isinstance(e, BeanAdded) and jar is not None:
            jar = replace(jar, version=e.originator_version, beans=(*jar.beans, e.bean))
    return jar


class Pantry(Application[UUID]):
    """Reads jars through its own method: time travel finds ``project_jar`` there."""

    def jar(self, jar_id: UUID, version: int | None = None) -> Jar:
        return self.repository.get(jar_id, version=version, projector_func=project_jar)


class BarePantry(Application[UUID]):
    """The same store, read by an application that never names the projector."""

    name = "Pantry"


def fill_pantry(app: Application[UUID]) -> UUID:
    filled = JarFilled(
        originator_id=uuid4(),
        originator_version=1,
        timestamp=JarFilled.create_timestamp(),
        label="coffee",
    )
    app.save(filled)
    added = BeanAdded(
        originator_id=filled.originator_id,
        originator_version=2,
        timestamp=BeanAdded.create_timestamp(),
        bean="arabica",
    )
    app.save(added)
    return filled.originator_id


def test_a_functional_aggregate_is_rebuilt_by_the_projector_its_application_uses(
    tmp_path: Path,
) -> None:
    app = open_app(Pantry, tmp_path / "pantry.sqlite")
    jar = fill_pantry(app)
    travel = TimeTravel(app, jar)
    assert travel.projector is project_jar
    assert travel.mode == f"repository with projector {__name__}.project_jar"
    assert travel.state_at(2)["beans"] == ("arabica",)
    assert [c.name for c in travel.step(2).changes] == ["beans"]


def test_a_functional_aggregate_without_a_known_projector(tmp_path: Path) -> None:
    path = tmp_path / "pantry.sqlite"
    jar = fill_pantry(open_app(Pantry, path))
    bare = open_app(BarePantry, path)
    travel = TimeTravel(bare, jar)
    assert travel.mode == "folded payloads"
    assert (
        "this aggregate is not an eventsourcing Aggregate (its events have no mutate); "
        "pass projector=<your projector function> to rebuild it"
    ) in travel.note
    given = TimeTravel(bare, jar, projector=project_jar)
    assert given.mode.startswith("repository with projector")
    assert given.state_at(1)["label"] == "coffee"
    with pytest.raises(ValueError, match="pass the application"):
        TimeTravel(path, jar, projector=project_jar)


def test_a_failure_without_a_message_names_its_type_and_what_was_done(tmp_path: Path) -> None:
    path = tmp_path / "pantry.sqlite"
    jar = fill_pantry(open_app(Pantry, path))

    def broken(state: Any, events: Iterable[Any]) -> Any:
        raise KeyError

    travel = TimeTravel(open_app(BarePantry, path), jar, projector=broken)
    assert travel.mode == "folded payloads"
    assert "KeyError with no message, while rebuilding version 2 with" in travel.note
    assert "broken" in travel.note


class Locker(Aggregate):
    @event("Rented")
    def __init__(self, renter: str, code: int) -> None:
        self.renter = renter
        self._code = code
        self._uses = 0

    @property
    def uses(self) -> int:
        return self._uses

    @property
    def broken(self) -> int:
        raise RuntimeError("a property that raises is left out")

    @event("Opened")
    def open(self) -> None:
        self._uses += 1


def test_object_state_shows_properties_and_marks_private_attributes() -> None:
    locker = Locker("Ada", 1234)
    locker.open()
    state = object_state(locker)
    assert list(state) == [
        "id",
        "version",
        "renter",
        "_code",
        "uses",
        "created_on",
        "modified_on",
        "type",
    ]
    assert state["uses"] == 1 and state["_code"] == 1234 and state["version"] == 2
    assert state["type"] == "Locker"


def test_time_travel_view_says_folded_payloads_are_not_the_state(
    app_and_ids: tuple[Ticketing, str, str, Path],
) -> None:
    from workbench.widgets.time_travel import TimeTravelView

    _, conf, _, path = app_and_ids
    view = TimeTravelView(path, conf)
    assert "not the aggregate" in view.message.value
    assert "not the state" in view.heading.value
    assert "not the aggregate&#x27;s state" in view.state_view.value
    assert "Conference.Scheduled" in view.state_view.value


def test_bad_input(app_and_ids: tuple[Ticketing, str, str, Path]) -> None:
    app, conf, _, path = app_and_ids
    with pytest.raises(LoadError, match="no stream 'nope'"):
        TimeTravel(path, "nope")
    travel = TimeTravel(app, conf)
    with pytest.raises(ValueError, match="versions 1 to"):
        travel.state_at(99)
    with pytest.raises(LoadError, match="no file"):
        TimeTravel(path.with_name("missing.sqlite"), conf)


def test_diff() -> None:
    changes = diff({"a": 1, "b": 2, "gone": 0}, {"a": 1, "b": 3, "c": 4})
    assert [(c.name, c.added, c.removed) for c in changes] == [
        ("b", False, False),
        ("gone", False, True),
        ("c", True, False),
    ]
