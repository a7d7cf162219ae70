"""Library loans, written in the decorated style.

Every change of a ``Book`` is a method decorated with ``@event("Name")``: calling the
method triggers an event whose fields are the method's parameters, and the method body
is how the event changes the book (it runs again when the book is rebuilt from its
history). ``__init__`` is decorated too, so constructing a ``Book`` records
``Book.Registered``. Rules are checked in a plain method before the decorated one is
called, so a broken rule never produces an event.
"""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding


class BookAlreadyOnLoan(Exception):
    """A book that is out can't be lent again until it comes back."""


class Book(Aggregate):
    @event("Registered")
    def __init__(
        self,
        title: str,
        isbn: str,
        pages: int,
        published: date,
        tags: list[str],
        edition: str | None = None,
    ) -> None:
        self.title = title
        self.isbn = isbn
        self.pages = pages
        self.published = published
        self.tags = list(tags)
        self.edition = edition
        self.borrower: UUID | None = None
        self.due: datetime | None = None
        self.loans = 0
        self.fees = Decimal("0.00")
        self.condition: dict[str, Any] = {}

    @property
    def on_loan(self) -> bool:
        return self.borrower is not None

    def lend(self, member_id: UUID, due: datetime) -> None:
        if self.on_loan:
            raise BookAlreadyOnLoan(f"{self.title!r} is on loan until {self.due:%Y-%m-%d}")
        self._borrowed(member_id=member_id, due=due)

    @event("Borrowed")
    def _borrowed(self, member_id: UUID, due: datetime) -> None:
        self.borrower = member_id
        self.due = due
        self.loans += 1

    @event("Returned")
    def give_back(
        self, returned_on: date, late_fee: Decimal, damaged: bool, condition: dict[str, Any]
    ) -> None:
        self.borrower = None
        self.due = None
        self.fees += late_fee
        self.condition = dict(condition, damaged=damaged, checked_on=returned_on.isoformat())


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Library(Application):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def register_book(
        self,
        title: str,
        isbn: str,
        pages: int,
        published: date,
        tags: list[str],
        edition: str | None = None,
    ) -> UUID:
        book = Book(title, isbn, pages, published, tags, edition=edition)
        self.save(book)
        return book.id

    def lend(self, book_id: UUID, member_id: UUID, due: datetime) -> None:
        book: Book = self.repository.get(book_id)
        book.lend(member_id, due)
        self.save(book)

    def give_back(
        self,
        book_id: UUID,
        returned_on: date,
        late_fee: Decimal = Decimal("0.00"),
        damaged: bool = False,
        condition: dict[str, Any] | None = None,
    ) -> None:
        book: Book = self.repository.get(book_id)
        book.give_back(returned_on, late_fee, damaged, condition or {})
        self.save(book)

    def is_available(self, book_id: UUID) -> bool:
        book: Book = self.repository.get(book_id)
        return not book.on_loan


ALICE = UUID("6f1d2c7e-0a4b-4c55-9b1e-3e2f6a7d8c01")
BOB = UUID("0b7e9f30-5d2a-4e8f-a1c3-9d4b2e6f7a02")


def scenario(app: Library) -> list[UUID]:
    dune = app.register_book("Dune", "978-0441013593", 604, date(1965, 8, 1), ["sf", "classic"])
    emma = app.register_book(
        "Emma", "978-0141439587", 474, date(1815, 12, 23), ["romance"], edition="Penguin"
    )
    app.lend(dune, ALICE, datetime(2024, 3, 1, 18, 0, tzinfo=timezone(timedelta(hours=1))))
    app.give_back(
        dune, date(2024, 3, 4), Decimal("1.50"), condition={"cover": "worn", "notes": ["coffee"]}
    )
    app.lend(emma, BOB, datetime(2024, 3, 10, 12, 0, tzinfo=UTC))
    return [dune, emma]


def break_rule(app: Library, ids: list[UUID]) -> None:
    app.lend(ids[1], ALICE, datetime(2024, 3, 11, 12, 0, tzinfo=UTC))


def ask(app: Library, ids: list[UUID]) -> list[bool]:
    return [app.is_available(book_id) for book_id in ids]


EXPECTED: dict[str, Any] = {
    "aggregate": "Book",
    "aggregates": ["Book", "Book"],
    "event_types": {"Book.Registered", "Book.Borrowed", "Book.Returned"},
    "events": 5,
    "final_state": {
        0: {
            "version": 3,
            "title": "Dune",
            "pages": 604,
            "published": date(1965, 8, 1),
            "tags": ["sf", "classic"],
            "edition": None,
            "borrower": None,
            "on_loan": False,
            "loans": 1,
            "fees": Decimal("1.50"),
            "condition": {
                "cover": "worn",
                "notes": ["coffee"],
                "damaged": False,
                "checked_on": "2024-03-04",
            },
        },
        1: {
            "version": 2,
            "title": "Emma",
            "edition": "Penguin",
            "borrower": BOB,
            "due": datetime(2024, 3, 10, 12, 0, tzinfo=UTC),
            "on_loan": True,
            "loans": 1,
        },
    },
    "error": "BookAlreadyOnLoan",
    "query": [True, False],
}


APP = Library
