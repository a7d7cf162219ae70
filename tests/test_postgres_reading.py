"""Reading a PostgreSQL history from its URL alone, the same as through its application.

A history written by ``open_app(Ticketing, url)`` (and by each style application in
``tests/apps``) is read by URL, without the code: :func:`~workbench.load_events`, the
record reader, :class:`~workbench.EventStream`, :class:`~workbench.TimeTravel`,
:class:`~workbench.ProjectionRun` and :class:`~workbench.processes.ProcessRun` must see
what they see through the open application. Settings (``?schema=``, ``table=``,
compression, encryption) and mistakes (a wrong table, password or schema) are covered.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import pandas as pd
import pytest
from apps import STYLES, app_classes, applications, start, stop
from eventsourcing.cipher import AESCipher

from workbench import EventStream, LoadError, ProjectionRun, TimeTravel, load_events
from workbench.clock import ManualClock, use_clock
from workbench.examples.sponsorship import Sponsorship
from workbench.examples.ticketing import Ticketing
from workbench.examples.ticketing.processes import PURCHASE
from workbench.examples.ticketing.readmodels import TicketsRemaining
from workbench.processes import ProcessRun
from workbench.reading import open_history, open_records
from workbench.reading.records import PostgresRecords, RecorderRecords
from workbench.stores import StoreError, open_app, parse_store

pytestmark = pytest.mark.postgres

PURCHASES = 40


def record_sales(app: Ticketing, purchases: int = PURCHASES) -> UUID:
    """A conference, a ticket type and ``purchases`` reservations (most paid); its id."""
    clock = ManualClock(datetime(2018, 1, 8, 9, 0, tzinfo=UTC))
    with use_clock(clock):
        conf = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
        app.add_ticket_type(conf, "Standard", Decimal("450.00"), 1000)
        for i in range(purchases):
            clock.advance(minutes=60)
            purchase = app.reserve_tickets(conf, f"Customer {i}", {"Standard": 1 + i % 3})
            if i % 4:
                app.pay(purchase, f"PAY-{i}", [f"Delegate {i}"] * (1 + i % 3))
    return conf


@pytest.fixture(scope="module")
def sales(postgres_module_url: str) -> Iterator[tuple[Ticketing, str, UUID]]:
    """A Ticketing history on PostgreSQL: the open application, its URL, the conference id."""
    app = open_app(Ticketing, postgres_module_url)
    conf = record_sales(app)
    yield app, postgres_module_url, conf
    app.close()


# --- the loader ------------------------------------------------------------------


def test_load_events_by_url_equals_reading_through_the_app(
    sales: tuple[Ticketing, str, UUID],
) -> None:
    app, url, _ = sales
    by_url = load_events(url)
    assert len(by_url) == app.recorder.max_notification_id()
    pd.testing.assert_frame_equal(by_url, load_events(app))
    # in small batches (many queries, keyset paging) too
    pd.testing.assert_frame_equal(load_events(url, batch_size=7), load_events(app, batch_size=7))


FILTERS: list[dict[str, Any]] = [
    {"event_types": ["TicketPurchase.Paid"]},
    {"event_types": ["TicketPurchase.Paid", "Conference.TicketsReserved"], "batch_size": 5},
    {"after": 10, "upto": 50},
    {"after": 10, "upto": 50, "batch_size": 3},
    {"newest": 9},
    {"newest": 9, "event_types": ["TicketPurchase.Reserved"], "batch_size": 2},
    {"newest": 0},
    {"limit": 12},
    {"since": datetime(2018, 1, 8, 15, 0, tzinfo=UTC), "until": datetime(2018, 1, 9, tzinfo=UTC)},
    {"event_types": ["Nothing.Happened"]},
]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) for f in FILTERS])
def test_filters_by_url_equal_the_apps(
    sales: tuple[Ticketing, str, UUID], filters: dict[str, Any]
) -> None:
    app, url, _ = sales
    pd.testing.assert_frame_equal(load_events(url, **filters), load_events(app, **filters))


def test_streams_filter_by_url(sales: tuple[Ticketing, str, UUID]) -> None:
    app, url, conf = sales
    cases: list[list[str | UUID]] = [[conf], [str(conf)], [conf, "not-a-uuid"], ["not-a-uuid"]]
    for streams in cases:
        by_url = load_events(url, streams=streams)
        pd.testing.assert_frame_equal(by_url, load_events(app, streams=streams))
    assert set(load_events(url, streams=[conf]).stream_id) == {str(conf)}


# --- the record reader -----------------------------------------------------------


def test_an_application_on_postgres_is_read_by_sql_too(sales: tuple[Ticketing, str, UUID]) -> None:
    # one way in: the app's own table, read as its URL is, not row by row through the mapper
    app, url, _ = sales
    reader = open_records(app)
    assert isinstance(reader, PostgresRecords)
    assert "ticketing_events" in reader.description and "workbench:" not in reader.description
    assert reader.tail(5) == open_records(url).tail(5)


def test_the_reader_implements_the_whole_protocol(sales: tuple[Ticketing, str, UUID]) -> None:
    app, url, _ = sales
    reader = open_records(url)
    through_app = RecorderRecords("the recorder", app)  # the library's own route
    top = through_app.max_position()
    assert reader.max_position() == top
    assert reader.sqlite_path is None
    assert reader.parallel is True
    assert reader.description.startswith("PostgreSQL table t_")
    assert "ticketing_events" in reader.description
    assert "workbench:" not in reader.description  # no password
    assert reader.count() == top
    assert reader.count(10, 20) == 10
    assert reader.topics() == through_app.topics()
    assert reader.topics(top - 2) == through_app.topics(top - 2)
    assert reader.tail(3) == through_app.tail(3)
    assert reader.tail(0) == []
    records = [r for b in reader.batches(batch_size=13) for r in b]
    assert records == [r for b in through_app.batches() for r in b]
    assert [len(b) for b in reader.batches(5, upto=20, batch_size=4)] == [4, 4, 4, 3]
    paid = [t for t in reader.topics() if t.endswith("Paid")]
    assert {r.topic for b in reader.batches(topics=paid) for r in b} == set(paid)
    arrow = list(reader.arrow_batches(batch_size=11, first_batch_size=3))
    assert [r for b in arrow for r in b.records()] == records
    sizes = [b.num_rows for b in arrow]
    assert sizes[0] == 3 and set(sizes[1:-1]) == {11}
    batch = next(reader.arrow_batches(upto=2))
    assert batch.columns["stream_id"][0].as_py() == str(UUID(records[0].stream_id))
    assert batch.state(0) == records[0].state
    assert bytes(batch.joined) == records[0].state + b"\n" + records[1].state + b"\n"
    newest = [r for b in reader.arrow_batches(newest=4, batch_size=3) for r in b.records()]
    assert newest == records[-4:]
    history = open_history(url)
    assert history.record(5) == records[4]
    assert history.record(top + 1) is None


# --- every reader on a URL -------------------------------------------------------


def test_event_stream_over_a_url_sees_new_commands(postgres_url: str) -> None:
    app = open_app(Ticketing, postgres_url)
    try:
        conf = record_sales(app, 3)
        stream, through_app = EventStream(postgres_url), EventStream(app)
        assert len(stream.frame) == app.recorder.max_notification_id()
        app.add_ticket_type(conf, "Student", Decimal("150.00"), 10)
        assert stream.refresh() == through_app.refresh() == 1
        assert stream.frame.event_type.iloc[-1] == "Conference.TicketTypeAdded"
        assert stream.refresh() == 0
        pd.testing.assert_frame_equal(stream.frame, through_app.frame)
        top = stream.last_position
        assert stream.payload(top) == through_app.payload(top)
    finally:
        app.close()


def test_time_travel_over_a_url(sales: tuple[Ticketing, str, UUID]) -> None:
    app, url, conf = sales
    travel = TimeTravel(url, conf)
    assert travel.mode == "folded payloads"  # no code: the payloads, folded
    assert travel.versions == [r.version for r in TimeTravel(app, conf).records]
    first = travel.step(1)
    assert first.state["Conference.Scheduled"]["name"] == "ConFoo PHP 2018"
    assert first.state["Conference.Scheduled"]["starts_on"] == date(2018, 3, 7)


def test_projection_run_over_a_url(sales: tuple[Ticketing, str, UUID]) -> None:
    app, url, _ = sales
    by_url = ProjectionRun(TicketsRemaining(), url).run()
    through_app = ProjectionRun(TicketsRemaining(), app).run()
    assert by_url.model.snapshot() == through_app.model.snapshot()
    assert by_url.model.snapshot()  # something was projected


def test_process_run_over_a_url(sales: tuple[Ticketing, str, UUID]) -> None:
    app, url, _ = sales
    by_url = ProcessRun(PURCHASE, url)
    through_app = ProcessRun(PURCHASE, app)
    assert by_url.run_to_end() == through_app.run_to_end() > 0
    assert by_url.states() == through_app.states()
    assert "paid" in set(by_url.states().values())


# --- how a store is wrapped, and which table -------------------------------------


def test_gzip_store_by_url(postgres_url: str) -> None:
    app = open_app(Ticketing, postgres_url, env={"COMPRESSOR_TOPIC": "gzip"})
    try:
        record_sales(app, 5)
        expected = load_events(app)
        pd.testing.assert_frame_equal(load_events(postgres_url), expected)  # recognised
        pd.testing.assert_frame_equal(load_events(postgres_url, compressor="gzip"), expected)
        assert "gzip-compressed" in open_history(postgres_url).description
        with pytest.raises(LoadError):
            load_events(postgres_url, compressor="zlib")
    finally:
        app.close()


def test_aes_store_by_url(postgres_url: str) -> None:
    key = AESCipher.create_key(16)
    app = open_app(Ticketing, postgres_url, env={"CIPHER_KEY": key})
    try:
        record_sales(app, 5)
        expected = load_events(app)
        pd.testing.assert_frame_equal(load_events(postgres_url, cipher_key=key), expected)
        with pytest.raises(LoadError, match="cipher_key|CIPHER_KEY|encrypted"):
            load_events(postgres_url)
        with pytest.raises(LoadError):
            load_events(postgres_url, cipher_key=AESCipher.create_key(16))
    finally:
        app.close()


def test_several_apps_in_one_schema_need_table(postgres_url: str) -> None:
    ticketing = open_app(Ticketing, postgres_url)
    sponsorship = open_app(Sponsorship, postgres_url)
    try:
        record_sales(ticketing, 2)
        sponsorship.register_sponsor("Acme", "PHP18", contact="Ann")
        with pytest.raises(LoadError) as refused:
            load_events(postgres_url)
        message = str(refused.value)
        assert "sponsorship_events" in message and "ticketing_events" in message
        assert "table=" in message
        for name in ("ticketing", "Ticketing", "ticketing_events"):
            pd.testing.assert_frame_equal(
                load_events(postgres_url, table=name), load_events(ticketing)
            )
        pd.testing.assert_frame_equal(
            load_events(postgres_url, table="Sponsorship"), load_events(sponsorship)
        )
        with pytest.raises(LoadError, match=r"no events table 'crm'.*ticketing_events.*table="):
            load_events(postgres_url, table="crm")
    finally:
        ticketing.close()
        sponsorship.close()


# --- mistakes say what to do -----------------------------------------------------


def _with(url: str, *, password: str | None = None, schema: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if password is not None:
        user, rest = netloc.split("@", 1)
        netloc = f"{user.split(':', 1)[0]}:{password}@{rest}"
    query = parts.query if schema is None else f"schema={schema}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def test_wrong_password_says_what_to_check(sales: tuple[Ticketing, str, UUID]) -> None:
    _, url, _ = sales
    with pytest.raises(LoadError, match=r"password.*check the user, password") as refused:
        load_events(_with(url, password="wrong"))
    assert "wrong" not in str(refused.value).replace("wrong password", "")
    with pytest.raises(StoreError, match="password"):
        open_records(_with(url, password="wrong"))


def test_missing_schema_says_so(sales: tuple[Ticketing, str, UUID]) -> None:
    _, url, _ = sales
    with pytest.raises(LoadError, match=r"no schema 'nowhere'.*\?schema="):
        load_events(_with(url, schema="nowhere"))


def test_schema_without_events_says_so(postgres_url: str) -> None:
    with pytest.raises(LoadError, match=r"no eventsourcing events table.*open_app"):
        load_events(postgres_url)


# --- every style of application --------------------------------------------------


@pytest.mark.parametrize("style_name", sorted(STYLES))
def test_every_style_reads_the_same_by_url(postgres_url: str, style_name: str) -> None:
    style = STYLES[style_name]
    env = {**parse_store(postgres_url).env(), "POSTGRES_POOL_SIZE": "1"}
    handle = start(style, env)
    try:
        style.scenario(handle)
        running = {type(a).name: a for a in applications(handle)}
        several = len(app_classes(style)) > 1
        total = 0
        for cls in app_classes(style):
            app = running[cls.name]
            by_url = load_events(postgres_url, table=cls.name if several else None)
            pd.testing.assert_frame_equal(by_url, load_events(app))
            total += len(by_url)
        assert total == style.EXPECTED["events"]
    finally:
        stop(handle)


def test_reading_while_another_process_writes_is_fast_enough(postgres_url: str) -> None:
    """A refresh over a URL costs a few queries, not a reload (the classroom loop)."""
    app = open_app(Ticketing, postgres_url)
    try:
        conf = record_sales(app, 2)
        stream = EventStream(postgres_url)
        started = datetime.now(UTC)
        for i in range(10):
            app.add_ticket_type(conf, f"Type {i}", Decimal("1.00"), 1)
            assert stream.refresh() == 1
        assert datetime.now(UTC) - started < timedelta(seconds=5)
    finally:
        app.close()
