"""Time travel: states per version, from the repository or from folded payloads."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from workbench.clock import ManualClock, use_clock
from workbench.examples.ticketing import Ticketing
from workbench.reading.loading import LoadError
from workbench.stores import open_app
from workbench.timetravel import TimeTravel, diff

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
    first = travel.step(1)
    assert first.state["name"] == "ConFoo PHP 2018"
    assert first.state["type"] == "Conference"
    assert first.state["starts_on"] == date(2018, 3, 7)
    added = travel.step(2)
    assert {c.name for c in added.changes} == {"ticket_type", "price", "capacity"}
    assert added.state["price"] == Decimal("450.00")
    assert added.state["name"] == "ConFoo PHP 2018"  # earlier fields stay
    released = travel.step(travel.versions[-1])
    assert released.event_type == "Conference.TicketsReleased"
    assert released.state["reason"] == "cancelled"
    assert len(travel.steps()) == len(travel.versions)
    assert "Time travel" in travel._repr_html_()


def test_repository_failure_falls_back_with_a_note(tmp_path: Path) -> None:
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
    box_id = out.stdout.strip()

    class Boxes(Ticketing):
        name = "Boxes"

    app = open_app(Boxes, db)
    travel = TimeTravel(app, box_id)
    assert travel.mode == "folded payloads"
    assert "could not rebuild" in travel.note
    assert travel.state_at(1)["item"] == "book"
    assert "gone_app" not in sys.modules


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
