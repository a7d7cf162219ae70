"""The stream viewer redraws its chart on refresh only when the counts changed visibly."""

from __future__ import annotations

from datetime import date

import pandas as pd

from workbench.examples.ticketing import Ticketing
from workbench.stores import open_app
from workbench.widgets.stream_viewer import StreamViewer, _visibly_different


def _counts(rows: list[tuple[str, str, int]], freq: str = "D") -> pd.DataFrame:
    counts = pd.DataFrame(rows, columns=["time", "event_type", "count"])
    counts["time"] = pd.to_datetime(counts["time"])
    counts.attrs["freq"] = freq
    return counts


def test_a_pixel_decides() -> None:
    big = _counts([("2018-01-01", "A", 10_000), ("2018-01-02", "A", 400)])
    assert not _visibly_different(
        big, _counts([("2018-01-01", "A", 10_001), ("2018-01-02", "A", 400)])
    )
    assert _visibly_different(big, _counts([("2018-01-01", "A", 10_000), ("2018-01-02", "A", 520)]))
    grown = [("2018-01-01", "A", 10_000), ("2018-01-02", "A", 400), ("2018-01-02", "B", 1)]
    assert _visibly_different(big, _counts(grown))  # a new event type
    assert _visibly_different(big, _counts([("2018-01-01", "A", 10_000)], freq="W"))
    assert _visibly_different(None, big)
    small = _counts([("2018-01-01", "A", 3)])
    assert _visibly_different(small, _counts([("2018-01-01", "A", 4)]))  # one event shows


def test_refresh_redraws_the_chart_of_a_small_stream() -> None:
    app = open_app(Ticketing, "sqlite::memory:")
    app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    viewer = StreamViewer(app, chart_interval=0.0)
    before = viewer.chart_view.value
    assert before.startswith("<svg")
    app.schedule_conference("JS18", "ConFoo JS", date(2018, 3, 8))
    assert viewer.refresh() == 1
    assert viewer.chart_view.value != before


def test_the_chart_says_in_words_what_it_shows() -> None:
    import xml.etree.ElementTree as ET

    app = open_app(Ticketing, "sqlite::memory:")
    app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    svg = ET.fromstring(StreamViewer(app, chart_interval=0.0).chart_view.value)
    title = svg[0]
    assert svg.get("role") == "img" and title.tag == "{http://www.w3.org/2000/svg}title"
    assert title.text is not None
    assert title.text.startswith("Events per type over time: 1 event of 1 type (Conference.")
