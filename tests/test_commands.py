"""Command discovery, conversion and execution on an application written only here."""

from __future__ import annotations

import enum
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.commands import (
    CommandSet,
    Field,
    InvalidInput,
    command,
    decide,
    discover_commands,
    discover_queries,
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
    assert cat.field("price").note == "" and cat.field("price").annotation == "Money"
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
        ({"copies": " "}, "copies", "required"),
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
    assert result.message == "LibraryError: only 2 copies of Dune are left"
    assert result.exception == "LibraryError"
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


# --- what the issue found, each on an application written here ---------------------------


class Page(Aggregate):
    """A wiki page whose id is its slug's: the same slug names the same page."""

    @staticmethod
    def create_id(slug: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"wiki/{slug}")

    @event("Created")
    def __init__(self, slug: str, body: str) -> None:
        self.slug = slug
        self.body = body

    @event("Edited")
    def edit(self, body: str) -> None:
        self.body = body


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text

    @event("Tagged")
    def tag(self, tag: str) -> None:
        pass


class InsufficientFundsError(Exception):
    pass


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no words for this")


class Wiki(Application[UUID]):
    before_save: Any = None

    def create_page(self, slug: str, body: str) -> UUID:
        page = Page(slug, body)
        if self.before_save is not None:
            self.before_save()
        self.save(page)
        return page.id

    def edit_page(self, page_id: UUID, body: str) -> None:
        page: Page = self.repository.get(page_id)
        page.edit(body)
        self.save(page)

    def note_then_edit(self, page_id: UUID, text: str, body: str) -> None:
        """Records a note (2 events), then edits the page it may hold stale."""
        note = Note(text)
        note.tag("edit")
        self.save(note)
        self.edit_page(page_id, body)

    def words_per_line(self, page_id: UUID, lines: int) -> float:
        page: Page = self.repository.get(page_id)
        page.edit(page.body)
        self.save(page)
        return len(page.body.split()) / lines  # ZeroDivisionError: a bug, not a rule

    def withdraw(self, page_id: UUID, amount: Decimal) -> None:
        page: Page = self.repository.get(page_id)
        if amount > 0:
            raise InsufficientFundsError({"account_id": page_id})
        self.save(page)

    def publish(self, page_id: UUID) -> None:
        page: Page = self.repository.get(page_id)
        if not page.body:
            raise ValueError("an empty page cannot be published")
        self.save(page)

    def lock(self, page_id: UUID) -> None:
        page: Page = self.repository.get(page_id)
        page.edit(page.body)
        self.save(page)
        raise Unprintable()


@pytest.fixture
def wiki() -> CommandSet:
    return CommandSet(open_app(Wiki))


def test_required_means_given_so_empty_text_goes_to_the_domain(wiki: CommandSet) -> None:
    page = wiki.submit("create_page", slug="home", body="Hello").returned
    cleared = wiki.submit("edit_page", page_id=str(page), body="")
    assert cleared.outcome == "recorded"
    assert cleared.events[0].payload["body"] == ""
    blank = wiki.submit("edit_page", page_id=str(page), body="   ")
    assert blank.events[0].payload["body"] == "   "  # as typed
    missing = wiki.submit("edit_page", page_id=str(page))
    assert missing.outcome == "invalid" and "required" in missing.errors["body"]
    refused = wiki.submit("publish", page_id=str(page), body=None)
    assert refused.outcome == "invalid"  # no such parameter: named, nothing run
    empty = wiki.submit("edit_page", page_id=str(page), body="")
    assert wiki.submit("publish", page_id=str(page)).outcome == "refused"
    assert empty.ok


def test_a_duplicate_deterministic_id_is_a_duplicate_not_a_conflict(wiki: CommandSet) -> None:
    first = wiki.submit("create_page", slug="home", body="Hello")
    before = snapshot(wiki.app)
    again = wiki.submit("create_page", slug="home", body="Hello again")
    assert again.outcome == "duplicate"
    assert f"Page with id {first.returned} already exists" in again.message
    assert "submitting again will not help" in again.message
    assert "submit again" not in again.message.replace("submitting again will not help", "")
    assert again.events == []
    assert snapshot(wiki.app) == before
    assert wiki.submit("create_page", slug="about", body="x").outcome == "recorded"


def test_a_refusal_names_the_error_type_even_when_its_text_is_data(wiki: CommandSet) -> None:
    page = wiki.submit("create_page", slug="home", body="x").returned
    before = snapshot(wiki.app)
    result = wiki.submit("withdraw", page_id=page, amount="10")
    assert result.outcome == "refused"
    assert result.message == f"InsufficientFundsError: {{'account_id': UUID('{page}')}}"
    assert result.summary().startswith("withdraw: refused — InsufficientFundsError: ")
    assert snapshot(wiki.app) == before


def test_a_built_in_error_raised_on_purpose_is_a_refusal(wiki: CommandSet) -> None:
    page = wiki.submit("create_page", slug="home", body="").returned
    result = wiki.submit("publish", page_id=page)
    assert result.outcome == "refused"
    assert result.message == "ValueError: an empty page cannot be published"


def test_an_error_in_the_code_is_not_a_business_refusal(wiki: CommandSet) -> None:
    page = wiki.submit("create_page", slug="home", body="one two").returned
    result = wiki.submit("words_per_line", page_id=page, lines="0")
    assert result.outcome == "error"
    assert result.exception == "ZeroDivisionError"
    assert result.message.startswith("ZeroDivisionError: division by zero: an error in the ")
    assert "test_commands.py line" in result.message and "in words_per_line" in result.message
    assert "not a business rule" in result.message
    assert "1 event(s) were recorded before it failed" in result.message  # it saved first
    assert [e.type_name for e in result.events] == ["Page.Edited"]


def test_an_exception_whose_str_fails_still_gives_a_message(wiki: CommandSet) -> None:
    page = wiki.submit("create_page", slug="home", body="x").returned
    result = wiki.submit("lock", page_id=page)
    assert result.outcome == "refused"
    assert result.message.startswith("Unprintable: (its message cannot be shown: RuntimeError")
    assert "recorded before it failed" in result.message


def test_a_result_lists_only_its_own_events_not_another_writers(tmp_path: Path) -> None:
    store = tmp_path / "wiki.sqlite"
    mine, other = CommandSet(open_app(Wiki, store)), CommandSet(open_app(Wiki, store))
    mine.app.before_save = lambda: other.submit("create_page", slug="theirs", body="b")
    result = mine.submit("create_page", slug="mine", body="a")
    assert result.outcome == "recorded"
    assert [e.payload["slug"] for e in result.events] == ["mine"]
    assert result.events[0].position == result.position_before + 2  # theirs came between


def test_concurrent_submissions_each_list_their_own_events(tmp_path: Path) -> None:
    store = tmp_path / "wiki.sqlite"
    sets = [CommandSet(open_app(Wiki, store)) for _ in range(4)]
    results: dict[int, Any] = {}

    def submit(i: int) -> None:
        results[i] = sets[i % 4].submit("create_page", slug=f"p{i}", body="b")

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(80)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wrong = {
        i: [e.payload["slug"] for e in r.events]
        for i, r in results.items()
        if [e.payload["slug"] for e in r.events] != [f"p{i}"]
    }
    assert len(results) == 80 and wrong == {}


def test_a_conflict_after_an_earlier_save_says_what_was_recorded(tmp_path: Path) -> None:
    store = tmp_path / "wiki.sqlite"
    stale = {"AGGREGATE_CACHE_MAXSIZE": "100", "AGGREGATE_CACHE_FASTFORWARD": "n"}
    a = CommandSet(open_app(Wiki, store, env=stale))
    b = CommandSet(open_app(Wiki, store, env=stale))
    page = a.submit("create_page", slug="home", body="v1").returned  # a caches v1
    assert b.submit("edit_page", page_id=page, body="v2").ok
    result = a.submit("note_then_edit", page_id=page, text="why", body="v2 from a")
    assert result.outcome == "conflict"
    assert [e.type_name for e in result.events] == ["Note.Written", "Note.Tagged"]
    assert "nothing was recorded" not in result.message
    assert "2 event(s) from an earlier save in this command were recorded" in result.message
    assert f"Page {page}" in result.message


def test_nothing_recorded_is_said_only_when_true(tmp_path: Path) -> None:
    store = tmp_path / "wiki.sqlite"
    stale = {"AGGREGATE_CACHE_MAXSIZE": "100", "AGGREGATE_CACHE_FASTFORWARD": "n"}
    a = CommandSet(open_app(Wiki, store, env=stale))
    b = CommandSet(open_app(Wiki, store, env=stale))
    page = a.submit("create_page", slug="home", body="v1").returned
    assert b.submit("edit_page", page_id=page, body="v2").ok
    result = a.submit("edit_page", page_id=page, body="v2 from a")
    assert result.outcome == "conflict" and result.events == []
    assert "nothing was recorded" in result.message and "event(s)" not in result.message
    assert a.submit("edit_page", page_id=page, body="v3").outcome == "recorded"


@pytest.mark.parametrize("kind", ["int", "float", "decimal"])
@pytest.mark.parametrize(
    "value", ["inf", "-inf", "nan", "Infinity", "NaN", float("inf"), float("nan"), Decimal("NaN")]
)
def test_inf_and_nan_are_refused_with_a_message(kind: Any, value: Any) -> None:
    f = Field("n", kind)
    with pytest.raises(ValueError, match=r"not a (finite|whole)"):
        f.convert(value)


def test_submit_never_raises_on_inf_nan_or_deep_json(wiki: CommandSet) -> None:
    page = wiki.submit("create_page", slug="home", body="x").returned
    for lines in ("inf", float("inf"), float("nan"), "nan"):
        result = wiki.submit("words_per_line", page_id=page, lines=lines)
        assert result.outcome == "invalid" and "whole number" in result.errors["lines"]
    for amount in ("inf", "NaN", float("inf"), Decimal("sNaN")):
        result = wiki.submit("withdraw", page_id=page, amount=amount)
        assert result.outcome == "invalid" and "finite" in result.errors["amount"]
    deep = CommandSet(open_app(Library))
    book = deep.submit("catalogue_book", CATALOGUE).returned
    for text in ("{" + '"a":{' * 100_000 + "}" * 100_001, "[" * 100_000 + "]" * 100_000):
        result = deep.submit("stock_book", book_id=book, copies_per_branch=text)
        assert result.outcome == "invalid", result.summary()[:200]
        assert len(result.errors["copies_per_branch"]) < 300  # the input is not echoed whole
    nested: Any = {}
    for _ in range(100_000):
        nested = {"a": nested}
    result = deep.submit("stock_book", book_id=book, copies_per_branch=nested)
    assert result.outcome == "invalid" and "nested more than" in result.errors["copies_per_branch"]


@pytest.mark.parametrize(
    "value", ["2.5", 2.5, Decimal("2.5"), "2.50", Fraction(5, 2), " 2.5 ", "1e-1"]
)
def test_an_int_field_refuses_a_fraction_instead_of_truncating(value: Any) -> None:
    with pytest.raises(ValueError, match="not a whole number"):
        Field("n", "int").convert(value)
    quantities = Field("q", "mapping", value=Field("quantity", "int"))
    with pytest.raises(ValueError, match="not a whole number"):
        quantities.convert({"Standard": value})


def test_an_int_field_takes_whole_numbers_written_any_way() -> None:
    f = Field("n", "int")
    assert [f.convert(v) for v in ("2", 2.0, Decimal("2.00"), "+2", "1_000")] == [2, 2, 2, 2, 1000]


# --- commands and queries, by what a method does -----------------------------------------


class Lending(Application[UUID]):
    def register(self, title: str) -> UUID:
        note = Note(title)
        self.save(note)
        return note.id

    def search(self, text: str) -> list[str]:
        return [text]

    def copies_out(self, book_id: UUID) -> int:
        return 0

    def request_possible_routes_for_cargo(self, tracking_id: str) -> list[str]:
        return self._routes(tracking_id)

    def _routes(self, tracking_id: str) -> list[str]:
        return []

    def get_or_register(self, title: str) -> UUID:
        return self.register(title)

    def archive(self, note_id: UUID) -> None:
        note: Note = self.repository.get(note_id)
        self._store(note)

    def _store(self, note: Note) -> None:
        note.tag("archived")
        self.save(note)

    def tag_without_saving(self, note_id: UUID) -> None:
        self.repository.get(note_id).tag("draft")

    @not_a_command
    def reindex(self) -> None:
        self.save()

    @command
    def ping(self) -> None:
        pass


def test_commands_are_what_reaches_save_or_an_event_method_whatever_the_name() -> None:
    decisions = decide(Lending)
    assert [n for n, d in decisions.items() if d.is_command] == [
        "register",
        "get_or_register",
        "archive",
        "tag_without_saving",
        "ping",
    ]
    assert discover_queries(Lending) == {
        "search": "records nothing: reaches neither save nor an event-recording method",
        "copies_out": "records nothing: reaches neither save nor an event-recording method",
        "request_possible_routes_for_cargo": (
            "records nothing: reaches neither save nor an event-recording method"
        ),
        "reindex": "marked @not_a_command",
    }
    assert decisions["archive"].reason == "reaches save via _store"
    assert decisions["get_or_register"].reason == "reaches save via register"
    assert decisions["tag_without_saving"].reason == "reaches tag"
    assert decisions["ping"].reason == "marked @command"
    commands = CommandSet(open_app(Lending))
    assert "search" not in commands and commands.queries["search"].startswith("records nothing")


_exec: dict[str, Any] = {}
exec("def get_total(self):\n    return 1\n\ndef rename(self, title):\n    pass\n", _exec)


class Unreadable(Application[UUID]):
    get_total = _exec["get_total"]
    rename = _exec["rename"]


def test_without_source_the_name_decides() -> None:
    decisions = decide(Unreadable)
    assert not decisions["get_total"].is_command and decisions["rename"].is_command
    assert "source cannot be read" in decisions["rename"].reason


# --- parameters whose type is a domain object --------------------------------------------


@dataclass(frozen=True)
class Leg:
    load: str
    unload: str
    km: Decimal


@dataclass(frozen=True)
class Itinerary:
    legs: tuple[Leg, ...]


class Schedule:
    """A class whose constructor takes untyped values: no form can build it safely."""

    def __init__(self, voyages, cutoff):  # type: ignore[no-untyped-def]
        self.voyages = voyages


class Cargo(Aggregate):
    @event("Booked")
    def __init__(self, origin: str, itinerary: Itinerary | None) -> None:
        self.origin = origin
        self.itinerary = itinerary

    @event("Routed")
    def assign_route(self, itinerary: Itinerary) -> None:
        self.itinerary = itinerary


class LegAsDict(Transcoding):
    type = Leg
    name = "leg"

    def encode(self, obj: Leg) -> dict[str, Any]:
        return {"load": obj.load, "unload": obj.unload, "km": obj.km}

    def decode(self, data: dict[str, Any]) -> Leg:
        return Leg(**data)


class ItineraryAsDict(Transcoding):
    type = Itinerary
    name = "itinerary"

    def encode(self, obj: Itinerary) -> dict[str, Any]:
        return {"legs": list(obj.legs)}

    def decode(self, data: dict[str, Any]) -> Itinerary:
        return Itinerary(tuple(data["legs"]))


class Shipping(Application[UUID]):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(LegAsDict())
        transcoder.register(ItineraryAsDict())

    def book_new_cargo(self, origin: str) -> UUID:
        cargo = Cargo(origin, None)
        self.save(cargo)
        return cargo.id

    def assign_route(self, tracking_id: UUID, itinerary: Itinerary) -> None:
        cargo: Cargo = self.repository.get(tracking_id)
        cargo.assign_route(itinerary)
        self.save(cargo)

    def reschedule(self, tracking_id: UUID, schedule: Schedule) -> None:
        self.save(self.repository.get(tracking_id))

    def forecast(self, tracking_id: UUID, model: Forecaster) -> None:  # noqa: F821
        self.save(self.repository.get(tracking_id))

    def note(self, tracking_id: UUID, text: str) -> None:
        self.save(self.repository.get(tracking_id))

    def route_of(self, tracking_id: UUID) -> Itinerary | None:
        cargo: Cargo = self.repository.get(tracking_id)
        return cargo.itinerary


ROUTE = '{"legs": [{"load": "Hongkong", "unload": "New York", "km": "12950.5"}]}'


def test_a_value_object_parameter_is_built_from_structured_input() -> None:
    shipping = CommandSet(open_app(Shipping))
    itinerary = shipping["assign_route"].field("itinerary")
    assert itinerary.kind == "object" and itinerary.factory is Itinerary
    [legs] = itinerary.members
    assert legs.kind == "list" and legs.value is not None and legs.value.factory is Leg
    cargo = shipping.submit("book_new_cargo", origin="Hongkong").returned
    for entered in (
        ROUTE,
        {"legs": ROUTE[8:-1]},
        Itinerary((Leg("Hongkong", "New York", Decimal("12950.5")),)),
    ):
        result = shipping.submit("assign_route", tracking_id=str(cargo), itinerary=entered)
        assert result.outcome == "recorded", result.summary()
        assert result.events[0].payload["itinerary"] == {
            "legs": [{"load": "Hongkong", "unload": "New York", "km": Decimal("12950.5")}]
        }
    assert shipping.app.route_of(cargo) == Itinerary(
        (Leg("Hongkong", "New York", Decimal("12950.5")),)
    )
    assert shipping.submit("note", tracking_id=str(cargo), text="later commands still work").ok


@pytest.mark.parametrize(
    ("given", "words"),
    [
        (
            '{"legs": [{"load": "A", "unload": "B", "km": "far"}]}',
            "legs: item 1: km: 'far' is not a decimal",
        ),
        ('{"legs": [{"load": "A", "km": "1"}]}', "legs: item 1: unload: required"),
        ('{"legs": [], "ship": "x"}', "Itinerary has no parameter 'ship'"),
        ("<Itinerary object at 0x7f>", "write a JSON object"),
        ('{"legs": [', "cannot read"),
        (Leg("A", "B", Decimal(1)), "expects an Itinerary, got a Leg object"),
    ],
)
def test_a_bad_value_object_names_the_field_and_records_nothing(given: Any, words: str) -> None:
    shipping = CommandSet(open_app(Shipping))
    cargo = shipping.submit("book_new_cargo", origin="Hongkong").returned
    before = snapshot(shipping.app)
    result = shipping.submit("assign_route", tracking_id=str(cargo), itinerary=given)
    assert result.outcome == "invalid"
    assert words in result.errors["itinerary"]
    assert snapshot(shipping.app) == before


def test_a_type_no_form_can_build_disables_the_command_with_the_reason() -> None:
    shipping = CommandSet(open_app(Shipping))
    cargo = shipping.submit("book_new_cargo", origin="Hongkong").returned
    reschedule = shipping["reschedule"]
    assert "parameter 'schedule': Schedule has untyped constructor arguments (voyages, cutoff)" in (
        reschedule.unavailable
    )
    assert "'Forecaster'" in shipping["forecast"].unavailable
    assert "cannot be resolved at run time" in shipping["forecast"].unavailable
    before = snapshot(shipping.app)
    for name in ("reschedule", "forecast"):
        result = shipping.submit(name, tracking_id=str(cargo), schedule="x", model="x")
        assert result.outcome == "unavailable"
        assert result.message.startswith(f"{name} cannot be run from a form: parameter")
        assert "Call it from code" in result.message
    assert snapshot(shipping.app) == before


def test_an_object_is_never_converted_to_its_repr() -> None:
    leg = Leg("A", "B", Decimal(1))
    for kind in ("text", "aggregate_id", "uuid", "date", "decimal", "int"):
        with pytest.raises(ValueError, match="got a Leg object"):
            Field("x", kind).convert(leg)
    with pytest.raises(ValueError, match="cannot store a Leg object"):
        Field("details", "mapping", value=Field("v", "json")).convert({"leg": leg})
    with pytest.raises(ValueError, match="got a Leg object"):
        Field("x", "text").as_input(leg)


def test_positional_only_parameters_keep_their_places() -> None:
    class Positional(Application[UUID]):
        def rename(self, note_id: UUID, title: str = "untitled", /, *, why: str = "") -> None:
            note: Note = self.repository.get(note_id)
            note.tag(title)
            self.save(note)

    commands = CommandSet(open_app(Positional))
    note = commands.submit("rename", note_id=str(uuid4())).arguments
    assert list(note) == ["note_id", "title"]
