"""Command discovery, conversion and execution on an application written only here."""

from __future__ import annotations

import enum
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.commands import (
    CommandSet,
    Field,
    InvalidInput,
    command,
    discover_commands,
    not_a_command,
)
from workbench.examples.ticketing import Ticketing
from workbench.stores import open_app

if TYPE_CHECKING:  # only for type checkers: at run time ``Money`` does not exist
    from decimal import Decimal as Money


class Genre(enum.Enum):
    NOVEL = "novel"
    ESSAY = "essay"


class LibraryError(Exception):
    pass


class Book(Aggregate):
    @event("Catalogued")
    def __init__(self, title: str, copies: int, price: Decimal, genre: str, tags: list[str]):
        self.title = title
        self.copies = copies
        self.lent = 0

    def lend(self, member: str, quantity: int) -> None:
        if self.lent + quantity > self.copies:
            raise LibraryError(f"only {self.copies - self.lent} copies of {self.title} are left")
        self._lent(member, quantity)

    @event("Lent")
    def _lent(self, member: str, quantity: int) -> None:
        self.lent += quantity

    @event("Stocked")
    def stock(self, copies_per_branch: dict[str, int]) -> None:
        self.copies += sum(copies_per_branch.values())


class Library(Application[UUID]):
    """A lending library, as a user might write it."""

    def catalogue_book(
        self,
        title: str,
        copies: int,
        price: Money,
        genre: Genre,
        published_on: date,
        tags: list[str],
        shelf: Literal["A", "B"] = "A",
        *,
        signed: bool = False,
        shelved_at: datetime | None = None,
    ) -> UUID:
        """Add a book to the catalogue."""
        book = Book(title, copies, price, genre.value, tags)
        self.save(book)
        return book.id

    def lend_book(self, book_id, member, quantity=1, due_on=None):  # type: ignore[no-untyped-def]
        """Lend copies of a book (no annotations at all)."""
        book: Book = self.repository.get(book_id)
        book.lend(member, quantity)
        self.save(book)

    def stock_book(self, book_id: UUID, copies_per_branch: dict[str, int]) -> None:
        book: Book = self.repository.get(book_id)
        book.stock(copies_per_branch)
        self.save(book)

    def get_book(self, book_id: UUID) -> Book:
        return self.repository.get(book_id)  # type: ignore[no-any-return]

    def is_available(self, book_id: UUID) -> bool:
        return True

    def list_books(self) -> list[str]:
        return []

    @not_a_command
    def rebuild_search_index(self) -> None:
        pass

    @command
    def get_or_catalogue(self, title: str) -> None:
        """Looks like a query, but the author says it is a command."""

    def _helper(self) -> None:
        pass


def snapshot(app: Application[Any]) -> tuple[int, list[tuple[int, str, int, str]]]:
    """The store's max notification id and all its rows (to prove nothing changed)."""
    rows = app.recorder.select_notifications(1, 1_000_000)
    return (
        int(app.recorder.max_notification_id() or 0),
        [(n.id, str(n.originator_id), n.originator_version, n.topic) for n in rows],
    )


CATALOGUE = {
    "title": "Dune",
    "copies": "2",
    "price": "9.99",
    "genre": "NOVEL",
    "published_on": "1965-08-01",
    "tags": "sf, classic",
}


@pytest.fixture
def library() -> CommandSet:
    return CommandSet(open_app(Library))


def test_discovery_keeps_commands_and_drops_queries_and_marked() -> None:
    names = list(discover_commands(Library))
    assert names == ["catalogue_book", "lend_book", "stock_book", "get_or_catalogue"]


def test_fields_from_string_annotations_type_checking_names_and_no_annotations(
    library: CommandSet,
) -> None:
    cat = library["catalogue_book"]
    kinds = {f.name: f.kind for f in cat.fields}
    assert kinds == {
        "title": "text",
        "copies": "int",
        "price": "decimal",  # 'Money' is unresolvable: guessed from the name
        "genre": "choice",
        "published_on": "date",
        "tags": "list",
        "shelf": "choice",
        "signed": "bool",
        "shelved_at": "datetime",
    }
    assert "cannot be resolved" in cat.field("price").note
    assert cat.field("signed").keyword_only and not cat.field("signed").required
    assert cat.field("shelved_at").nullable
    assert cat.field("shelf").choices == ("A", "B")
    assert cat.field("genre").choices == (Genre.NOVEL, Genre.ESSAY)
    lend = library["lend_book"]
    assert [(f.name, f.kind, f.required) for f in lend.fields] == [
        ("book_id", "aggregate_id", True),
        ("member", "text", True),
        ("quantity", "int", False),
        ("due_on", "date", False),
    ]
    assert all(f.note for f in lend.fields)  # every guess says it is a guess
    assert "guessed" in lend.field("member").label
    assert library["stock_book"].field("copies_per_branch").kind == "mapping"


def test_ticketing_fields() -> None:
    commands = CommandSet(open_app(Ticketing))
    reserve = commands["reserve_tickets"]
    assert [f.kind for f in reserve.fields] == ["aggregate_id", "text", "mapping", "text", "text"]
    assert reserve.field("conference_id").stream_kind == "conference"
    assert reserve.field("reference").keyword_only
    assert commands["pay"].field("delegates").kind == "list"
    assert commands["pay"].field("purchase_id").stream_kind == "purchase"


def test_submit_every_kind_reports_the_recorded_events(library: CommandSet) -> None:
    before = library.position()
    result = library.submit(
        "catalogue_book",
        {**CATALOGUE, "shelf": "B", "signed": "yes", "shelved_at": "2018-03-07 09:30"},
    )
    assert result.outcome == "recorded", result.summary()
    assert result.arguments["price"] == Decimal("9.99")
    assert result.arguments["genre"] is Genre.NOVEL
    assert result.arguments["tags"] == ["sf", "classic"]
    assert result.arguments["shelved_at"] == datetime(2018, 3, 7, 9, 30, tzinfo=UTC)
    assert result.arguments["signed"] is True
    [recorded] = result.events
    assert recorded.position == before + 1
    assert recorded.type_name == "Book.Catalogued"
    assert recorded.payload["title"] == "Dune"
    assert recorded.payload["price"] == Decimal("9.99")
    book_id = result.returned
    assert recorded.stream_id == str(book_id)

    lent = library.submit("lend_book", book_id=str(book_id), member="Ada")
    assert [e.type_name for e in lent.events] == ["Book.Lent"]
    assert lent.events[0].payload["quantity"] == 1  # the default was used
    assert lent.arguments["book_id"] == book_id  # text became a UUID

    stocked = library.submit("stock_book", book_id=book_id, copies_per_branch="Main=2, East=1")
    assert stocked.events[0].payload["copies_per_branch"] == {"Main": 2, "East": 1}
    assert [r["outcome"] for r in library.history_rows()] == ["recorded"] * 3


@pytest.mark.parametrize(
    ("changes", "field_name", "words"),
    [
        ({"copies": "two"}, "copies", "not a whole number"),
        ({"copies": "2.5"}, "copies", "not a whole number"),
        ({"price": "9,9.9"}, "price", "not a decimal number"),
        ({"price": "NaN"}, "price", "not a finite amount"),
        ({"published_on": "07/03/2018"}, "published_on", "YYYY-MM-DD"),
        ({"title": "   "}, "title", "required"),
        ({"genre": "POEM"}, "genre", "NOVEL, ESSAY"),
        ({"shelved_at": "soon"}, "shelved_at", "date and time"),
        ({"signed": "perhaps"}, "signed", "yes or no"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    library: CommandSet, changes: dict[str, str], field_name: str, words: str
) -> None:
    library.submit("catalogue_book", CATALOGUE)
    before = snapshot(library.app)
    result = library.submit("catalogue_book", {**CATALOGUE, **changes})
    assert result.outcome == "invalid"
    assert list(result.errors) == [field_name]
    assert words in result.errors[field_name]
    assert snapshot(library.app) == before
    assert library.history[-1] is result


def test_convert_reports_every_bad_field_at_once(library: CommandSet) -> None:
    with pytest.raises(InvalidInput) as caught:
        library["catalogue_book"].convert({**CATALOGUE, "copies": "x", "price": "y", "oops": 1})
    assert set(caught.value.errors) == {"copies", "price", "oops"}


def test_domain_refusal_shows_the_rule_and_changes_nothing(library: CommandSet) -> None:
    book_id = library.submit("catalogue_book", CATALOGUE).returned
    before = snapshot(library.app)
    result = library.submit("lend_book", book_id=book_id, member="Ada", quantity="3")
    assert result.outcome == "refused"
    assert result.message == "only 2 copies of Dune are left"
    assert result.events == []
    assert snapshot(library.app) == before


def test_unknown_id_is_refused_not_crashed(library: CommandSet) -> None:
    result = library.submit("lend_book", book_id=str(uuid4()), member="Ada")
    assert result.outcome == "refused"
    assert "not found" in result.message.lower()


def test_concurrency_conflict_records_nothing_twice(tmp_path: Path) -> None:
    store = tmp_path / "library.sqlite"
    stale = {"AGGREGATE_CACHE_MAXSIZE": "100", "AGGREGATE_CACHE_FASTFORWARD": "n"}
    panel_a = CommandSet(open_app(Library, store, env=stale))
    panel_b = CommandSet(open_app(Library, store, env=stale))
    book_id = panel_a.submit("catalogue_book", {**CATALOGUE, "copies": "5"}).returned
    assert panel_a.submit("lend_book", book_id=book_id, member="Ada").ok  # A caches v2
    assert panel_b.submit("lend_book", book_id=book_id, member="Bob").ok  # store now v3
    before = snapshot(panel_a.app)
    result = panel_a.submit("lend_book", book_id=book_id, member="Cy")  # A acts on v2
    assert result.outcome == "conflict"
    assert "someone else changed" in result.message and str(book_id) in result.message
    assert result.events == []
    assert snapshot(panel_a.app) == before
    again = panel_a.submit("lend_book", book_id=book_id, member="Cy")
    assert again.outcome == "recorded"
    assert [e.version for e in again.events] == [4]
    lent = [r for r in snapshot(panel_b.app)[1] if r[3].endswith("Book.Lent")]
    assert len(lent) == 3  # Ada, Bob, Cy: once each


def test_existing_streams_of_the_right_kind() -> None:
    commands = CommandSet(open_app(Ticketing))
    conf = commands.submit(
        "schedule_conference", code="PHP18", name="ConFoo", starts_on="2018-03-07"
    ).returned
    commands.submit("add_ticket_type", conference_id=conf, ticket_type="Std", price="10",
                    capacity="5")  # fmt: skip
    purchase = commands.submit(
        "reserve_tickets", conference_id=conf, customer="Ada", quantities={"Std": 1}
    ).returned
    pay = commands["pay"].field("purchase_id")
    choices, note = commands.existing_streams(pay)
    assert [c.stream_id for c in choices] == [str(purchase)]
    assert choices[0].kind == "TicketPurchase" and "Ada" in choices[0].label
    confs, _ = commands.existing_streams(commands["add_ticket_type"].field("conference_id"))
    assert [c.stream_id for c in confs] == [str(conf)]
    # new streams are picked up on the next call
    second = commands.submit(
        "reserve_tickets", conference_id=conf, customer="Bob", quantities="Std=1"
    ).returned
    choices, _ = commands.existing_streams(pay)
    assert [c.stream_id for c in choices] == [str(second), str(purchase)]
    everything, note = commands.existing_streams("nothing-like-this")
    assert len(everything) == 3 and "no streams whose kind matches" in note


def test_listeners_hear_every_submission(library: CommandSet) -> None:
    heard: list[str] = []
    library.subscribe(lambda r: heard.append(r.outcome))
    library.submit("catalogue_book", CATALOGUE)
    library.submit("catalogue_book", {**CATALOGUE, "copies": ""})
    assert heard == ["recorded", "invalid"]


def test_unknown_command_names_the_known_ones(library: CommandSet) -> None:
    with pytest.raises(KeyError, match="catalogue_book"):
        library.submit("burn_book")


@given(st.integers())
def test_int_text_round_trips(n: int) -> None:
    assert Field("n", "int").convert(f" {n} ") == n


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimal_text_round_trips(d: Decimal) -> None:
    assert Field("d", "decimal").convert(str(d)) == d


@given(
    st.sampled_from(["int", "float", "decimal", "bool", "date", "datetime", "mapping", "list"]),
    st.text(max_size=20),
)
def test_any_text_converts_or_gives_a_value_error(kind: Any, text: str) -> None:
    f = Field("x", kind, value=Field("v", "int") if kind in ("mapping", "list") else None)
    try:
        f.convert(text)
    except ValueError as e:
        assert str(e)


@settings(max_examples=40, deadline=None)
@given(
    st.text(max_size=12).filter(lambda t: not re.fullmatch(r"[+-]?\d+", t.strip().replace("_", "")))
)
def test_any_non_number_in_a_number_field_records_nothing(text: str) -> None:
    commands = CommandSet(open_app(Library))
    commands.submit("catalogue_book", CATALOGUE)
    before = snapshot(commands.app)
    result = commands.submit("catalogue_book", {**CATALOGUE, "copies": text})
    assert result.outcome == "invalid" and "copies" in result.errors
    assert snapshot(commands.app) == before


def test_a_result_shows_itself(library: CommandSet) -> None:
    html = library.submit("catalogue_book", CATALOGUE)._repr_html_()
    assert "Book.Catalogued" in html and "recorded 1 event" in html


def test_streams_are_found_backwards_in_pages_newest_first() -> None:
    commands = CommandSet(open_app(Library))
    books = [commands.submit("catalogue_book", {**CATALOGUE, "title": f"B{i}"}) for i in range(7)]
    commands.submit("lend_book", book_id=books[0].returned, member="Ada")  # B0 is now newest
    commands._index.page = 2  # read the log two events at a time
    commands._index.budget = 4  # and only the newest four events
    field = commands["lend_book"].field("book_id")
    choices, note = commands.existing_streams(field, limit=10)
    assert [c.description for c in choices] == ["B0", "B6", "B5", "B4"]
    assert "newest 4 events" in note
    commands._index.budget = 100
    choices, note = commands.existing_streams(field, limit=10)
    assert [c.description for c in choices] == ["B0", "B6", "B5", "B4", "B3", "B2", "B1"]
    assert note == ""
    assert choices[0].version == 2


class CarelessLibrary(Library):
    def catalogue_then_fail(self, title: str) -> None:
        """Saves, then breaks: the workbench must not pretend nothing happened."""
        self.save(Book(title, 1, Decimal(1), "novel", []))
        raise LibraryError("the label printer is out of paper")


def test_a_command_that_fails_after_saving_says_what_it_recorded() -> None:
    commands = CommandSet(open_app(CarelessLibrary))
    assert "catalogue_then_fail" in commands and "catalogue_book" in commands
    result = commands.submit("catalogue_then_fail", title="Dune")
    assert result.outcome == "refused"
    assert "out of paper" in result.message
    assert "1 event(s) were recorded before it failed" in result.message
    assert [e.type_name for e in result.events] == ["Book.Catalogued"]
