"""EventStream keeps refreshed events as chunks: every view equals a fresh load of the store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pandas as pd
import pytest

import workbench.stream as module
from workbench.clock import ManualClock, use_clock
from workbench.examples.ticketing import Ticketing
from workbench.stores import open_app
from workbench.stream import EventStream

START = datetime(2018, 1, 8, 9, 0, tzinfo=UTC)


def _commands(app: Ticketing, clock: ManualClock, conf: UUID, count: int, tag: str) -> None:
    for i in range(count):
        clock.advance(minutes=45)
        purchase = app.reserve_tickets(conf, f"Customer {tag}{i}", {"Standard": 1})
        if i % 2:
            app.pay(purchase, f"PAY-{tag}{i}", [f"Delegate {tag}{i}"])


def _same(stream: EventStream, fresh: EventStream) -> None:
    assert stream.summary() == fresh.summary()
    assert stream.page_count == fresh.page_count
    for number in range(stream.page_count):
        mine, theirs = stream.page(number), fresh.page(number)
        assert set(mine.columns) == set(theirs.columns), number  # new fields come last
        theirs = theirs[list(mine.columns)]
        assert mine.position.tolist() == theirs.position.tolist(), number
        assert mine.astype(str).values.tolist() == theirs.astype(str).values.tolist(), number
    pd.testing.assert_frame_equal(
        stream.counts_over_time(freq="h"), fresh.counts_over_time(freq="h")
    )


@pytest.mark.parametrize("refreshes", [3, 9])
def test_views_over_chunks_equal_a_fresh_load(
    refreshes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "_MAX_CHUNKS", 4)  # 9 refreshes: the later chunks get merged
    app = open_app(Ticketing, "sqlite::memory:")
    clock = ManualClock(START)
    with use_clock(clock):
        conf = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
        app.add_ticket_type(conf, "Standard", Decimal("450.00"), 1000)
        stream = EventStream(app, page_size=7)
        stream.filter(text="customer")
        changes: list[int] = []
        stream.on_change(lambda s: changes.append(s.summary()["events"]))
        for r in range(refreshes):
            _commands(app, clock, conf, 2, f"r{r}-")
            if r == 1:  # an event type (and payload fields) the first load did not have
                app.create_discount_code(conf, f"CODE{r}", 10)
            assert stream.refresh() > 0
    assert len(changes) == refreshes
    assert len(stream._chunks) <= module._MAX_CHUNKS + 1
    fresh = EventStream(app, page_size=7).filter(text="customer")
    _same(stream, fresh)
    stream.clear_filter()
    fresh.clear_filter()
    _same(stream, fresh)
    assert "Conference.DiscountCodeCreated" in stream.event_types
    assert stream.event_types == fresh.event_types
    for types in (["Conference.DiscountCodeCreated"], ["TicketPurchase.Paid"]):
        stream.filter(event_types=types)
        fresh.filter(event_types=types)
        _same(stream, fresh)
    last = int(fresh.frame.position.iloc[-1])
    assert stream.event(last) == fresh.event(last)
    assert stream.event(3) == fresh.event(3)
    with pytest.raises(KeyError, match="position 99999"):
        stream.event(99999)
    # the whole frame, put together on demand, equals a fresh one (categories included)
    whole = stream.frame
    assert isinstance(whole["event_type"].dtype, pd.CategoricalDtype)
    assert whole.position.tolist() == fresh.frame.position.tolist()
    again = fresh.frame[list(whole.columns)]
    assert whole.astype(str).values.tolist() == again.astype(str).values.tolist()
    assert len(stream._chunks) == 1
    # and refreshing after that keeps working
    with use_clock(clock):
        _commands(app, clock, conf, 1, "after-")
    assert stream.refresh() == 2  # a purchase started and the tickets reserved
    assert stream.frame.position.iloc[-1] == last + 2


def test_refresh_does_not_touch_the_loaded_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh costs the new events: the frame loaded first is not copied or re-cast."""
    app = open_app(Ticketing, "sqlite::memory:")
    conf = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
    app.add_ticket_type(conf, "Standard", Decimal("450.00"), 1000)
    stream = EventStream(app, page_size=5)
    first = stream._chunks[0]
    concats: list[int] = []
    real = pd.concat

    def spy(objs, *args, **kwargs):  # type: ignore[no-untyped-def]
        objs = list(objs)
        concats.append(sum(len(o) for o in objs))
        return real(objs, *args, **kwargs)

    monkeypatch.setattr(pd, "concat", spy)
    for i in range(5):
        app.reserve_tickets(conf, f"Customer {i}", {"Standard": 1})
        stream.refresh()
        stream.summary()
        stream.page(-1)
    assert stream._chunks[0] is first
    assert all(n <= 5 for n in concats), concats


def test_a_stream_that_starts_empty() -> None:
    app = open_app(Ticketing, "sqlite::memory:")
    stream = EventStream(app, page_size=3)
    assert stream.summary()["events"] == 0
    assert len(stream.page(0)) == 0
    assert stream.counts_over_time().empty
    stream.filter(text="confoo")
    conf = app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    assert stream.refresh() == 1
    assert stream.summary()["shown"] == 1
    assert stream.event(1)["starts_on"] == date(2018, 3, 7)
    assert stream.frame.stream_id.tolist() == [str(conf)]
    assert isinstance(stream.frame["event_type"].dtype, pd.CategoricalDtype)


def test_searching_keeps_each_chunks_text_until_the_chunk_goes() -> None:
    import gc
    import weakref

    app = open_app(Ticketing, "sqlite::memory:")
    clock = ManualClock(START)
    with use_clock(clock):
        conf = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
        app.add_ticket_type(conf, "Standard", Decimal("450.00"), 1000)
        stream = EventStream(app).filter(text="customer a")
        _commands(app, clock, conf, 2, "a")
        stream.refresh()
    assert stream.summary()["shown"] == 2  # the two purchases started by "Customer a…"
    assert len(stream._texts) == 2  # the first load and the refresh, each made text once
    first = weakref.ref(stream._chunks[0])
    texts = dict(stream._texts)
    stream.filter(text="customer a1")
    assert stream._texts == texts  # the same texts searched again, not made again
    _ = stream.frame  # the chunks joined into one: their texts go with them
    del texts
    gc.collect()
    assert first() is None
    assert len(stream._texts) == 0
    assert stream.filter(text="customer a1").summary()["shown"] == 1
