"""The command panel, driven headlessly on an application written only in this test."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from workbench.commands import CommandResult
from workbench.stores import open_app
from workbench.widgets.command_panel import CommandPanel, MappingInput

if TYPE_CHECKING:  # a name that exists only for type checkers
    from decimal import Decimal as Rate


class RoomKind(enum.Enum):
    LAB = "lab"
    TALK = "talk"


class WorkshopError(Exception):
    pass


class Room(Aggregate):
    @event("Opened")
    def __init__(self, name: str, seats: int, hourly_rate: Decimal, kind: str) -> None:
        self.name = name
        self.seats = seats
        self.booked = 0

    def book(self, booking_id: UUID, seats: int) -> None:
        if self.booked + seats > self.seats:
            raise WorkshopError(f"{self.name} has {self.seats - self.booked} seats left")
        self._booked(booking_id, seats)

    @event("Booked")
    def _booked(self, booking_id: UUID, seats: int) -> None:
        self.booked += seats


class Booking(Aggregate):
    @event("Requested")
    def __init__(self, room_id: UUID, who: str, sessions: dict[str, int], attendees: list[str]):
        self.room_id = room_id

    @event("Cancelled")
    def cancel(self, reason: str) -> None:
        pass


class Workshops(Application[UUID]):
    def open_room(
        self,
        name: str,
        seats: int,
        hourly_rate: Rate,
        opens_on: date,
        kind: RoomKind,
        floor: Literal[1, 2] = 1,
        *,
        accessible: bool = False,
        opens_at: datetime | None = None,
        ratio: float = 1.0,
    ) -> UUID:
        """Open a room for workshops."""
        room = Room(name, seats, hourly_rate, kind.value)
        self.save(room)
        return room.id

    def book_room(self, room_id: UUID, who, sessions: dict[str, int], attendees: list[str]):  # type: ignore[no-untyped-def]
        """Book seats in a room, per session."""
        room: Room = self.repository.get(room_id)
        booking = Booking(room_id, who, sessions, attendees)
        room.book(booking.id, sum(sessions.values()))
        self.save(room, booking)
        return booking.id

    def cancel_booking(self, booking_id, reason):  # type: ignore[no-untyped-def]
        booking: Booking = self.repository.get(booking_id)
        booking.cancel(reason)
        self.save(booking)

    def get_room(self, room_id: UUID) -> Room:
        return self.repository.get(room_id)  # type: ignore[no-any-return]


def snapshot(app: Application[Any]) -> tuple[int, list[tuple[int, str, int]]]:
    rows = app.recorder.select_notifications(1, 1_000_000)
    return (
        int(app.recorder.max_notification_id() or 0),
        [(n.id, n.topic, n.originator_version) for n in rows],
    )


ROOM = {"name": "Lab 1", "seats": "4", "hourly_rate": "12.50", "opens_on": date(2018, 3, 7)}


@pytest.fixture
def panel() -> CommandPanel:
    return CommandPanel(open_app(Workshops))


def open_room(panel: CommandPanel, **more: Any) -> UUID:
    form = panel.form("open_room")
    form.fill(**{**ROOM, **more})
    form.submit_button.click()
    assert form.result is not None and form.result.outcome == "recorded", form.outcome.value
    assert isinstance(form.result.returned, UUID)
    return form.result.returned


def test_a_fitting_input_per_parameter(panel: CommandPanel) -> None:
    assert list(panel.forms) == ["open_room", "book_room", "cancel_booking"]
    inputs = panel.forms["open_room"].inputs
    kinds = {name: type(i.widget).__name__ for name, i in inputs.items()}
    assert kinds == {
        "name": "Text",
        "seats": "Text",
        "hourly_rate": "Text",
        "opens_on": "DatePicker",
        "kind": "Dropdown",
        "floor": "Dropdown",
        "accessible": "Checkbox",
        "opens_at": "DatetimePicker",
        "ratio": "Text",
    }
    assert inputs["kind"].widget.options == (("LAB", RoomKind.LAB), ("TALK", RoomKind.TALK))
    assert inputs["floor"].widget.value == 1
    # 'Rate' exists only for type checkers: read from that import, not guessed
    assert "guessed" not in inputs["hourly_rate"].widget.description
    book = panel.forms["book_room"].inputs
    assert isinstance(book["sessions"], MappingInput)
    assert type(book["attendees"].widget).__name__ == "Textarea"
    assert "guessed" in book["who"].widget.description  # no annotation at all


def test_fill_and_submit_every_kind(panel: CommandPanel) -> None:
    form = panel.form("open_room")
    i = form.inputs
    i["name"].widget.value = "Lab 1"
    i["seats"].widget.value = "4"
    i["hourly_rate"].widget.value = "12.50"
    i["opens_on"].widget.value = date(2018, 3, 7)
    i["kind"].widget.value = RoomKind.TALK
    i["floor"].widget.value = 2
    i["accessible"].widget.value = True
    i["opens_at"].widget.value = datetime(2018, 3, 7, 9, 0, tzinfo=UTC)
    i["ratio"].widget.value = "0.5"
    form.submit_button.click()
    result = form.result
    assert result is not None and result.outcome == "recorded"
    assert result.arguments == {
        "name": "Lab 1",
        "seats": 4,
        "hourly_rate": Decimal("12.50"),
        "opens_on": date(2018, 3, 7),
        "kind": RoomKind.TALK,
        "floor": 2,
        "accessible": True,
        "opens_at": datetime(2018, 3, 7, 9, 0, tzinfo=UTC),
        "ratio": 0.5,
    }
    [opened] = result.events
    assert opened.type_name == "Room.Opened"
    assert opened.payload["hourly_rate"] == Decimal("12.50")
    assert "Room.Opened" in form.outcome.value

    room_id = result.returned
    book = panel.form("book_room")
    ids = book.inputs["room_id"]
    offered = [v for _, v in ids.dropdown.options if v]  # type: ignore[attr-defined]
    assert offered == [str(room_id)]  # the new room is offered, by kind
    ids.dropdown.value = str(room_id)  # type: ignore[attr-defined]
    book.inputs["who"].widget.value = "ACME"
    sessions = book.inputs["sessions"]
    assert isinstance(sessions, MappingInput)
    sessions.rows[0][0].value, sessions.rows[0][1].value = "morning", "2"
    sessions.add_button.click()
    sessions.rows[1][0].value, sessions.rows[1][1].value = "afternoon", "1"
    book.inputs["attendees"].widget.value = "Ada\nAlan\nGrace"
    book.submit_button.click()
    assert book.result is not None and book.result.outcome == "recorded"
    assert [e.type_name for e in book.result.events] == ["Room.Booked", "Booking.Requested"]
    requested = book.result.events[1].payload
    assert requested["sessions"] == {"morning": 2, "afternoon": 1}
    assert requested["attendees"] == ["Ada", "Alan", "Grace"]
    assert requested["who"] == "ACME"

    cancel = panel.form("cancel_booking")
    offered = [v for _, v in cancel.inputs["booking_id"].dropdown.options if v]  # type: ignore[attr-defined]
    assert offered == [str(book.result.returned)]  # only bookings, not rooms
    cancel.fill(booking_id=book.result.returned, reason="ill")
    cancel.submit_button.click()
    assert cancel.result is not None
    assert [e.type_name for e in cancel.result.events] == ["Booking.Cancelled"]
    assert panel.history.value.count("<tr>") == 1 + 3


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("seats", "four", "not a whole number"),
        ("hourly_rate", "12,5.0", "not a decimal number"),
        ("hourly_rate", "", "required"),
        ("opens_on", None, "required"),
    ],
)
def test_bad_input_shows_a_field_message_and_changes_nothing(
    panel: CommandPanel, name: str, value: Any, words: str
) -> None:
    open_room(panel)
    before = snapshot(panel.commands.app)
    form = panel.form("open_room")
    form.fill(**ROOM)
    form.inputs[name].widget.value = value
    form.submit_button.click()
    assert form.result is not None and form.result.outcome == "invalid"
    assert words in form.errors[name].value
    assert all(not m.value for n, m in form.errors.items() if n != name)
    assert "nothing was recorded" in form.outcome.value
    assert snapshot(panel.commands.app) == before


def test_malformed_date_is_refused_before_anything_runs(panel: CommandPanel) -> None:
    before = snapshot(panel.commands.app)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        panel.form("open_room").fill(opens_on="07/03/2018")
    assert snapshot(panel.commands.app) == before


def test_bad_quantity_row_and_domain_refusal(panel: CommandPanel) -> None:
    room_id = open_room(panel)
    before = snapshot(panel.commands.app)
    book = panel.form("book_room")
    book.fill(room_id=room_id, who="ACME", sessions={"morning": "two"}, attendees="Ada")
    book.submit_button.click()
    assert book.result is not None and book.result.outcome == "invalid"
    assert "morning" in book.errors["sessions"].value
    assert "not a whole number" in book.errors["sessions"].value
    book.fill(sessions={"morning": 3, "afternoon": 2})
    refused = book.submit()
    assert refused.outcome == "refused"
    assert "Refused:</b> WorkshopError: Lab 1 has 4 seats left" in book.outcome.value
    assert snapshot(panel.commands.app) == before


def test_two_panels_on_stale_state_conflict_and_record_nothing_twice(tmp_path: Path) -> None:
    store = tmp_path / "workshops.sqlite"
    stale = {"AGGREGATE_CACHE_MAXSIZE": "100", "AGGREGATE_CACHE_FASTFORWARD": "n"}
    first = CommandPanel(open_app(Workshops, store, env=stale))
    second = CommandPanel(open_app(Workshops, store, env=stale))
    room_id = open_room(first, seats="10")

    def book(panel: CommandPanel, who: str) -> CommandResult:
        form = panel.form("book_room")
        form.fill(room_id=room_id, who=who, sessions={"all day": 1}, attendees=who)
        form.submit_button.click()
        assert form.result is not None
        return form.result

    assert book(first, "Ada").outcome == "recorded"  # first caches the room
    assert book(second, "Bob").outcome == "recorded"
    before = snapshot(first.commands.app)
    conflict = book(first, "Cy")
    assert conflict.outcome == "conflict"
    assert "Conflict" in first.forms["book_room"].outcome.value
    assert "submit again" in first.forms["book_room"].outcome.value
    assert snapshot(first.commands.app) == before
    assert book(first, "Cy").outcome == "recorded"
    topics = [t for _, t, _ in snapshot(second.commands.app)[1]]
    assert sum(t.endswith("Booking.Requested") for t in topics) == 3


def test_on_recorded_hands_over_the_new_events(panel: CommandPanel) -> None:
    seen: list[list[int]] = []
    panel.on_recorded(lambda result: seen.append([e.position for e in result.events]))
    open_room(panel)
    form = panel.form("open_room")
    form.fill(seats="many")
    form.submit_button.click()  # invalid: no callback
    assert seen == [[1]]


def test_history_table_lists_every_submission_newest_first(panel: CommandPanel) -> None:
    open_room(panel)
    form = panel.form("open_room")
    form.fill(seats="x")
    form.submit_button.click()
    table = panel.history.value
    assert table.index("invalid") < table.index("recorded")
    assert [r["outcome"] for r in panel.commands.history_rows()] == ["recorded", "invalid"]


def test_numbers_are_checked_as_they_are_typed(panel: CommandPanel) -> None:
    form = panel.form("open_room")
    form.inputs["hourly_rate"].widget.value = "12,5.0"
    assert "not a decimal number" in form.errors["hourly_rate"].value
    form.inputs["hourly_rate"].widget.value = "12.50"
    assert form.errors["hourly_rate"].value == ""
    assert form.result is None  # nothing was submitted


def test_empty_text_in_a_required_field_goes_to_the_domain(panel: CommandPanel) -> None:
    form = panel.form("open_room")
    form.fill(**ROOM)
    form.inputs["name"].widget.value = ""
    form.submit_button.click()
    assert form.result is not None and form.result.outcome == "recorded"
    assert form.result.events[0].payload["name"] == ""


def test_a_field_message_goes_once_the_field_is_fixed(panel: CommandPanel) -> None:
    room_id = open_room(panel)
    book = panel.form("book_room")
    book.fill(who="ACME", sessions={"morning": "two"}, attendees="Ada")
    book.submit_button.click()
    assert "not a whole number" in book.errors["sessions"].value
    assert "required" in book.errors["room_id"].value
    sessions = book.inputs["sessions"]
    assert isinstance(sessions, MappingInput)
    sessions.rows[0][1].value = "2"  # fixed in place: no submit needed
    assert book.errors["sessions"].value == ""
    book.inputs["room_id"].pasted.value = "not-an-id"  # type: ignore[attr-defined]
    assert "not a" in book.errors["room_id"].value  # still wrong: the message says why now
    book.inputs["room_id"].pasted.value = ""  # type: ignore[attr-defined]
    book.inputs["room_id"].dropdown.value = str(room_id)  # type: ignore[attr-defined]
    assert book.errors["room_id"].value == ""
    opened = panel.form("open_room")
    opened.clear()
    opened.fill(name="Lab 2", seats="4", hourly_rate="1")
    opened.submit_button.click()
    assert "required" in opened.errors["opens_on"].value
    opened.inputs["opens_on"].widget.value = date(2018, 3, 8)
    assert opened.errors["opens_on"].value == ""
    opened.inputs["name"].widget.value = "Lab 3"  # an untouched field stays quiet
    assert all(not m.value for m in opened.errors.values())


class Parcels(Application[UUID]):
    def send(self, room_id: UUID, address: Address, size: Size) -> None:
        """Needs a Size, which no form can build."""
        self.save(self.repository.get(room_id))

    def divide(self, room_id: UUID, parts: int) -> None:
        room: Room = self.repository.get(room_id)
        room.book(room_id, 100 // parts)
        self.save(room)


@dataclass(frozen=True)
class Address:
    street: str
    city: str


class Size:
    def __init__(self, *dimensions):  # type: ignore[no-untyped-def]
        self.dimensions = dimensions


def test_a_command_no_form_can_build_is_shown_disabled_with_the_reason() -> None:
    panel = CommandPanel(open_app(Parcels))
    form = panel.forms["send"]
    assert "Not available from a form" in form.unavailable.value
    assert "Size takes *dimensions" in form.unavailable.value
    assert form.submit_button.disabled
    assert form.inputs["room_id"].dropdown.disabled  # type: ignore[attr-defined]
    assert dict(panel.selector.options)["Send (not available)"] == "send"
    result = form.submit()
    assert result.outcome == "unavailable" and "Not available from a form" in form.outcome.value
    assert panel.forms["divide"].unavailable.value == ""


def test_an_error_in_the_code_is_shown_as_such(panel: CommandPanel) -> None:
    parcels = CommandPanel(open_app(Parcels))
    room = Room("Lab", 10, Decimal(1), "lab")
    parcels.commands.app.save(room)
    form = parcels.form("divide")
    form.fill(room_id=room.id, parts="0")
    result = form.submit()
    assert result.outcome == "error"
    assert "Error in the application's code:</b> ZeroDivisionError" in form.outcome.value
