"""The stream viewer and time travel widgets, driven headlessly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from workbench.examples.ticketing import Ticketing
from workbench.stores import open_app
from workbench.widgets.stream_viewer import StreamViewer
from workbench.widgets.time_travel import TimeTravelView


@pytest.fixture
def app(make_sales: Callable[[int], Ticketing]) -> Ticketing:
    return make_sales(8)


def _rows(viewer: StreamViewer) -> int:
    return viewer.table.value.count("<tr") - 1  # minus the header row


def test_paging_sends_only_one_page(app: Ticketing) -> None:
    viewer = StreamViewer(app, page_size=10, chart=False)
    assert viewer.page_label.value == "page 1 of 3"
    assert _rows(viewer) == 10
    assert viewer.prev_button.disabled
    viewer.next_button.click()
    viewer.next_button.click()
    assert viewer.page_label.value == "page 3 of 3"
    assert _rows(viewer) == 6
    assert viewer.next_button.disabled
    viewer.prev_button.click()
    assert viewer.page_number == 1
    assert "wb-stream-next" in viewer.next_button._dom_classes


def test_filters_from_the_inputs(app: Ticketing) -> None:
    viewer = StreamViewer(app, page_size=50, chart=False)
    viewer.types.value = ("TicketPurchase.Paid",)
    assert _rows(viewer) == 8
    assert "Conference.TicketsReserved" not in viewer.table.value
    said: list[str] = []
    viewer.message.observe(lambda change: said.append(change["new"]), names="value")
    viewer.search_input.value = "Delegate 3"
    assert _rows(viewer) == 1
    assert said == ["<i>searching 26 events for “Delegate 3”…</i>", ""]  # while it ran
    viewer.search_input.value = ""
    assert said[2:] == []  # nothing to search for: nothing said
    viewer.clear_button.click()
    assert _rows(viewer) == 26
    viewer.since_input.value = "2018-01-08 12:30"
    viewer.until_input.value = "2018-01-08 14:30"
    assert _rows(viewer) == 6
    viewer.until_input.value = "not a time"
    assert "not a date" in viewer.message.value
    viewer.until_input.value = ""
    assert viewer.message.value == ""
    stream_id = viewer.stream.frame.stream_id.iloc[-1]
    viewer.clear_button.click()
    viewer.stream_input.value = stream_id
    assert _rows(viewer) == 2


def test_selecting_an_event_shows_its_payload(app: Ticketing) -> None:
    viewer = StreamViewer(app, page_size=5, chart=False)
    assert [value for _, value in viewer.selector.options] == [1, 2, 3, 4, 5]
    viewer.selector.value = 2
    assert "Conference.TicketTypeAdded" in viewer.payload_view.value
    assert "450.00" in viewer.payload_view.value


def test_live_mode_picks_up_new_events(app: Ticketing) -> None:
    viewer = StreamViewer(app, page_size=10, chart=False)
    viewer.go(2)
    assert viewer.page_label.value == "page 3 of 3"
    viewer.live_toggle.value = True
    from uuid import UUID

    conf = UUID(viewer.stream.frame.stream_id[0])
    app.create_discount_code(conf, "LIVE", 10)
    assert "<b>27</b> events" in viewer.heading.value
    assert "Conference.DiscountCodeCreated" in viewer.types.options
    assert "LIVE" in viewer.table.value  # on the last page, which it follows
    viewer.live_toggle.value = False
    app.create_discount_code(conf, "LATER", 5)
    assert "<b>27</b> events" in viewer.heading.value
    viewer.refresh_button.click()
    assert "<b>28</b> events" in viewer.heading.value


def test_chart_is_an_inline_svg(app: Ticketing) -> None:
    viewer = StreamViewer(app)
    assert viewer.chart_view.value.startswith("<svg")
    assert "http" not in viewer.chart_view.value.split("xmlns", 1)[0]


def test_live_is_disabled_for_a_file(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    app = open_app(Ticketing, path)
    app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    viewer = StreamViewer(path, chart=False)
    assert viewer.live_toggle.disabled


def test_time_travel_view(app: Ticketing) -> None:
    view = TimeTravelView(app)
    assert view.travel is not None
    conference = view.travel
    assert conference.versions[0] == 1
    view.slider.value = 1
    assert view.step is not None and view.step.event_type == "Conference.Scheduled"
    assert "ConFoo PHP 2018" in view.state_view.value
    view.next_button.click()
    assert view.step.version == 2
    assert "TicketTypeAdded" in view.state_view.value
    view.prev_button.click()
    assert view.step.version == 1
    assert view.prev_button.disabled
    view.stream_input.value = "no such stream"
    assert "no stream" in view.message.value
    purchase = app.recorder.select_notifications(4, 1)[0].originator_id  # Started
    view.select(str(purchase))
    assert view.slider.max == 2
    assert "paid" in view.state_view.value
