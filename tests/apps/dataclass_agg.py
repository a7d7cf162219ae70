"""To-do lists, written as a ``@dataclass`` aggregate.

``TodoList`` is a dataclass subclass of ``Aggregate``: its init fields (``title``,
``owner_id``, ``deadline``) become the fields of the created event, which the class
keyword ``created_event_name`` names ``Started``; constructing a ``TodoList`` records
it. Fields declared with ``field(init=False)`` start from their defaults and are
changed by the ``@event`` methods.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding


class NothingToComplete(Exception):
    """The item is already done, or there is no such item, or the list is archived."""


@dataclass
class TodoList(Aggregate, created_event_name="Started"):
    title: str
    owner_id: UUID
    deadline: date | None = None
    items: list[dict[str, Any]] = field(default_factory=list, init=False)
    archived_at: datetime | None = field(default=None, init=False)

    @event("ItemAdded")
    def add_item(
        self, text: str, priority: int, estimate_hours: Decimal, labels: list[str]
    ) -> None:
        self.items.append(
            {
                "text": text,
                "priority": priority,
                "estimate_hours": estimate_hours,
                "labels": list(labels),
                "done_at": None,
            }
        )

    def complete(self, position: int, at: datetime) -> None:
        if self.archived_at is not None:
            raise NothingToComplete(f"{self.title!r} is archived")
        if not 0 <= position < len(self.items):
            raise NothingToComplete(f"{self.title!r} has no item {position}")
        if self.items[position]["done_at"] is not None:
            raise NothingToComplete(f"{self.items[position]['text']!r} is already done")
        self._completed(position=position, at=at)

    @event("ItemCompleted")
    def _completed(self, position: int, at: datetime) -> None:
        self.items[position]["done_at"] = at

    @event("Archived")
    def archive(self, at: datetime, keep_done: bool) -> None:
        self.archived_at = at
        if not keep_done:
            self.items = [item for item in self.items if item["done_at"] is None]


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Planner(Application):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def start_list(self, title: str, owner_id: UUID, deadline: date | None = None) -> UUID:
        todo = TodoList(title, owner_id, deadline)
        self.save(todo)
        return todo.id

    def add_item(
        self,
        list_id: UUID,
        text: str,
        priority: int,
        estimate_hours: Decimal,
        labels: list[str] | None = None,
    ) -> None:
        todo: TodoList = self.repository.get(list_id)
        todo.add_item(text, priority, estimate_hours, labels or [])
        self.save(todo)

    def complete(self, list_id: UUID, position: int, at: datetime) -> None:
        todo: TodoList = self.repository.get(list_id)
        todo.complete(position, at)
        self.save(todo)

    def archive(self, list_id: UUID, at: datetime, keep_done: bool = True) -> None:
        todo: TodoList = self.repository.get(list_id)
        todo.archive(at, keep_done)
        self.save(todo)

    def open_items(self, list_id: UUID) -> list[str]:
        todo: TodoList = self.repository.get(list_id)
        pending = [item for item in todo.items if item["done_at"] is None]
        return [item["text"] for item in sorted(pending, key=lambda item: item["priority"])]


OWNER = UUID("71c3e5a9-8d2b-4f0e-b6a4-3c9e1f7d5b05")
BOOKED = datetime(2024, 5, 2, 11, 20, tzinfo=UTC)
SHOPPED = datetime(2024, 5, 3, 18, 0, tzinfo=UTC)


def scenario(app: Planner) -> list[UUID]:
    move = app.start_list("Move house", OWNER, date(2024, 6, 30))
    groceries = app.start_list("Groceries", OWNER)
    app.add_item(move, "Book van", 1, Decimal("1.5"), ["phone"])
    app.add_item(move, "Pack books", 2, Decimal("6"))
    app.complete(move, 0, BOOKED)
    app.add_item(groceries, "Oat milk", 3, Decimal("0.25"), ["shop", "dairy-free"])
    app.archive(groceries, SHOPPED, keep_done=False)
    return [move, groceries]


def break_rule(app: Planner, ids: list[UUID]) -> None:
    app.complete(ids[0], 0, BOOKED)


def ask(app: Planner, ids: list[UUID]) -> list[list[str]]:
    return [app.open_items(list_id) for list_id in ids]


APP = Planner

EXPECTED: dict[str, Any] = {
    "aggregate": "TodoList",
    "aggregates": ["TodoList", "TodoList"],
    "event_types": {
        "TodoList.Started",
        "TodoList.ItemAdded",
        "TodoList.ItemCompleted",
        "TodoList.Archived",
    },
    "events": 7,
    "final_state": {
        0: {
            "version": 4,
            "title": "Move house",
            "owner_id": OWNER,
            "deadline": date(2024, 6, 30),
            "items": [
                {
                    "text": "Book van",
                    "priority": 1,
                    "estimate_hours": Decimal("1.5"),
                    "labels": ["phone"],
                    "done_at": BOOKED,
                },
                {
                    "text": "Pack books",
                    "priority": 2,
                    "estimate_hours": Decimal("6"),
                    "labels": [],
                    "done_at": None,
                },
            ],
            "archived_at": None,
        },
        1: {
            "version": 3,
            "title": "Groceries",
            "deadline": None,
            "items": [
                {
                    "text": "Oat milk",
                    "priority": 3,
                    "estimate_hours": Decimal("0.25"),
                    "labels": ["shop", "dairy-free"],
                    "done_at": None,
                }
            ],
            "archived_at": SHOPPED,
        },
    },
    "error": "NothingToComplete",
    "query": [["Pack books"], ["Oat milk"]],
}
