"""EventStream: incremental refresh, filters, pages, payloads, counts; live notifications."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from workbench.examples.ticketing import Ticketing
from workbench.live import on_recorded
from workbench.reading.loading import load_events
from workbench.stores import open_app
from workbench.stream import EventStream, choose_frequency

START = datetime(2018, 1, 8, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(make_sales: Callable[[int], Ticketing]) -> Ticketing:
    return make_sales(10)


def test_pages_never_hold_more_than_a_page(app: Ticketing) -> None:
    stream = EventStream(app, page_size=7)
    assert len(stream.frame) == 32
    assert stream.page_count == 5
    assert [len(stream.page(n)) for n in range(5)] == [7, 7, 7, 7, 4]
    assert stream.page(-1).position.tolist() == list(range(29, 33))
    with pytest.raises(IndexError, match="there are 5 pages"):
        stream.page(5)
    assert "capacity" in stream.page(0).columns
    assert "capacity" not in stream.page(4).columns  # empty on that page


def test_filters(app: Ticketing) -> None:
    stream = EventStream(app)
    stream.filter(event_types=["TicketPurchase.Paid"])
    assert set(stream.filtered().event_type) == {"TicketPurchase.Paid"}
    assert len(stream.filtered()) == 10
    purchase = stream.filtered().stream_id.iloc[0]
    stream.filter(event_types=[], stream_id=purchase)
    assert set(stream.filtered().stream_id) == {purchase}
    assert stream.filtered().event_type.tolist() == [
        "TicketPurchase.Started",
        "TicketPurchase.Paid",
    ]
    stream.clear_filter().filter(since=START + timedelta(minutes=90), until="2018-01-08T12:30Z")
    assert stream.filtered().timestamp.min() >= START + timedelta(minutes=90)
    assert len(stream.filtered()) == 6  # purchases at 11:00 and 12:00, 3 events each
    stream.clear_filter().filter(text="delegate 7")
    assert stream.filtered().event_type.tolist() == ["TicketPurchase.Paid"]
    stream.filter(text="PAY-3")
    assert len(stream.filtered()) == 1
    with pytest.raises(ValueError, match="event types: Conference"):
        stream.filter(event_types=["Nope.Happened"])
    with pytest.raises(ValueError, match="not a date"):
        stream.filter(since="someday")


def test_refresh_reads_only_new_events(app: Ticketing, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = EventStream(app)
    seen: list[int] = []
    stream.on_change(lambda s: seen.append(len(s.frame)))
    calls: list[int] = []
    import workbench.stream as module

    real = module.load_events

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs["after"])
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "load_events", spy)
    assert stream.refresh() == 0
    conf = stream.frame.stream_id[0]
    from uuid import UUID

    app.create_discount_code(UUID(conf), "NEW", 10)
    assert stream.refresh() == 1
    assert calls == [32, 32]
    assert stream.frame.position.tolist() == list(range(1, 34))
    assert stream.frame.event_type.iloc[-1] == "Conference.DiscountCodeCreated"
    assert seen == [33]
    full = load_events(app)
    assert stream.frame.position.tolist() == full.position.tolist()


def test_payload_is_exact_and_event_row(app: Ticketing) -> None:
    stream = EventStream(app)
    payload = stream.payload(2)
    assert payload["price"] == Decimal("450.00")
    assert payload["timestamp"] == START
    row = stream.event(2)
    assert row["event_type"] == "Conference.TicketTypeAdded"
    assert "customer" not in row
    with pytest.raises(KeyError, match="position 999"):
        stream.event(999)
    with pytest.raises(KeyError, match="position 999"):
        stream.payload(999)


def test_counts_over_time(app: Ticketing) -> None:
    stream = EventStream(app)
    counts = stream.counts_over_time(freq="h")
    assert counts["count"].sum() == 32
    assert set(counts.columns) == {"time", "event_type", "count"}
    paid = counts[counts.event_type == "TicketPurchase.Paid"]
    assert paid["count"].tolist() == [1] * 10
    stream.filter(event_types=["TicketPurchase.Paid"])
    assert stream.counts_over_time()["count"].sum() == 10
    assert choose_frequency(pd.Timestamp("2018-01-01"), pd.Timestamp("2018-01-01 03:00")) == "5min"
    for freq in ("5min", "D", "W", "MS", "QS", "YS"):
        buckets = stream.counts_over_time(freq=freq)
        assert buckets["count"].sum() == 10, freq
        assert buckets["time"].min() <= pd.Timestamp("2018-01-08 10:00"), freq


def test_live_follow_picks_up_commands(app: Ticketing) -> None:
    stream = EventStream(app)
    stop = stream.follow()
    conf = app.schedule_conference("JS18", "ConFoo JS", date(2018, 3, 8))
    assert stream.frame.stream_id.iloc[-1] == str(conf)
    stop()
    app.schedule_conference("DDD18", "DDD", date(2018, 6, 1))
    assert len(stream.frame) == 33


def test_on_recorded_is_idempotent_and_survives_a_failing_callback(app: Ticketing) -> None:
    seen: list[list[int]] = []

    def boom(positions: list[int]) -> None:
        raise RuntimeError("boom")

    stop_boom = on_recorded(app, boom)
    stop = on_recorded(app, seen.append)
    app.schedule_conference("JS18", "ConFoo JS", date(2018, 3, 8))
    assert seen == [[33]]
    stop()
    stop_boom()
    app.schedule_conference("X18", "X", date(2018, 3, 8))
    assert seen == [[33]]
    with pytest.raises(TypeError, match="application object"):
        on_recorded("not an app", seen.append)  # type: ignore[arg-type]


def test_follow_needs_an_application(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    app = open_app(Ticketing, path)
    app.schedule_conference("JS18", "ConFoo JS", date(2018, 3, 8))
    stream = EventStream(path)
    with pytest.raises(ValueError, match="application object"):
        stream.follow()
    stop = stream.follow(app)
    app.schedule_conference("DDD18", "DDD", date(2018, 6, 1))
    assert len(stream.frame) == 2
    stop()


def test_repr_html(app: Ticketing) -> None:
    html = EventStream(app)._repr_html_()
    assert "32 events" in html
    assert html.count("<tr") <= 26


def test_stream_and_time_travel_on_every_store(store: str) -> None:
    from workbench.timetravel import TimeTravel

    app = open_app(Ticketing, store)
    conf = app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    stream = EventStream(app)
    stop = stream.follow()
    app.add_ticket_type(conf, "Standard", Decimal("450.00"), 100)
    stop()
    assert stream.frame.event_type.tolist() == [
        "Conference.Scheduled",
        "Conference.TicketTypeAdded",
    ]
    assert stream.payload(int(stream.frame.position.iloc[-1]))["price"] == Decimal("450.00")
    travel = TimeTravel(app, conf)
    assert travel.mode == "repository"
    assert travel.state_at(2)["capacity"] == {"Standard": 100}
