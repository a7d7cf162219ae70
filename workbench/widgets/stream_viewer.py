"""A stream viewer: browse any event history page by page.

A thin view over :class:`workbench.stream.EventStream`: filters (event types,
stream, time range, text), a paged table (only the page goes to the browser),
the full payload of a selected event, a small chart of events per type over
time (SVG drawn in the kernel, so it works offline), and a live mode that
picks up events recorded in this kernel.

>>> from workbench.examples.history import SAMPLE_TICKETING
>>> viewer = StreamViewer(SAMPLE_TICKETING, page_size=10)
>>> viewer.next_button.click()
>>> viewer.page_number
1
>>> viewer.types.value = ("TicketPurchase.Paid",)
>>> set(viewer.stream.page(0).event_type)
{'TicketPurchase.Paid'}
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
from eventsourcing.application import Application

from workbench.charts.events import events_per_type_svg
from workbench.stream import EventStream
from workbench.text_search import shown_text

__all__ = ["StreamViewer"]

_CSS = """
<style>
.wb-stream-table table { border-collapse: collapse; font-size: 12px; }
.wb-stream-table th, .wb-stream-table td { padding: 2px 6px; border-bottom: 1px solid #ddd;
  text-align: left; max-width: 260px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
.wb-stream-payload pre { font-size: 12px; }
</style>
"""


def _short(value: Any, limit: int = 60) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    text = shown_text(value)  # the text a search reads, too
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_default(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


class StreamViewer(widgets.VBox):  # type: ignore[misc]
    """Browse the events of ``source`` (an application, SQLite path or :class:`EventStream`).

    Widgets with stable descriptions (for tests and browser automation):
    ``types`` ("Event types"), ``stream_input`` ("Stream"), ``since_input``
    ("Since"), ``until_input`` ("Until"), ``search_input`` ("Search"),
    ``clear_button`` ("Clear filters"), ``prev_button`` ("Previous"),
    ``next_button`` ("Next"), ``selector`` ("Event"), ``live_toggle``
    ("Live"), ``refresh_button`` ("Refresh").
    """

    def __init__(
        self,
        source: EventStream | Application[Any] | str | Path,
        *,
        page_size: int = 20,
        chart: bool = True,
        chart_interval: float = 1.0,
        **load: Any,
    ) -> None:
        self.stream = (
            source if isinstance(source, EventStream) else EventStream(source, page_size, **load)
        )
        self.stream.page_size = page_size
        self.page_number = 0
        self.show_chart = chart
        self.chart_interval = chart_interval
        self._chart_drawn_at = 0.0
        self._chart_counts: pd.DataFrame | None = None
        self._unfollow: Any = None
        self._updating = False

        self.types = widgets.SelectMultiple(
            options=self.stream.event_types, description="Event types", rows=6
        )
        # Text filters apply on Enter (or leaving the field), not on every keystroke.
        text = {"continuous_update": False}
        self.stream_input = widgets.Text(description="Stream", placeholder="stream id", **text)
        self.since_input = widgets.Text(description="Since", placeholder="2018-03-01", **text)
        self.until_input = widgets.Text(description="Until", placeholder="2018-04-01", **text)
        self.search_input = widgets.Text(description="Search", placeholder="any text", **text)
        self.clear_button = widgets.Button(description="Clear filters")
        self.prev_button = widgets.Button(description="Previous", icon="arrow-left")
        self.next_button = widgets.Button(description="Next", icon="arrow-right")
        self.page_label = widgets.HTML()
        self.message = widgets.HTML()
        self.table = widgets.HTML()
        self.selector = widgets.Dropdown(description="Event", options=[])
        self.payload_view = widgets.HTML()
        self.chart_view = widgets.HTML()
        self.live_toggle = widgets.ToggleButton(description="Live", value=False)
        self.refresh_button = widgets.Button(description="Refresh")
        self.heading = widgets.HTML()

        for w, cls in [
            (self.types, "wb-stream-types"),
            (self.stream_input, "wb-stream-id"),
            (self.since_input, "wb-stream-since"),
            (self.until_input, "wb-stream-until"),
            (self.search_input, "wb-stream-search"),
            (self.clear_button, "wb-stream-clear"),
            (self.prev_button, "wb-stream-prev"),
            (self.next_button, "wb-stream-next"),
            (self.page_label, "wb-stream-page"),
            (self.message, "wb-stream-message"),
            (self.table, "wb-stream-table"),
            (self.selector, "wb-stream-select"),
            (self.payload_view, "wb-stream-payload"),
            (self.chart_view, "wb-stream-chart"),
            (self.live_toggle, "wb-stream-live"),
            (self.refresh_button, "wb-stream-refresh"),
            (self.heading, "wb-stream-heading"),
        ]:
            w.add_class(cls)

        self.types.observe(self._on_filter, names="value")
        for text in (self.stream_input, self.since_input, self.until_input, self.search_input):
            text.observe(self._on_filter, names="value")
        self.clear_button.on_click(lambda _: self.clear())
        self.prev_button.on_click(lambda _: self.go(self.page_number - 1))
        self.next_button.on_click(lambda _: self.go(self.page_number + 1))
        self.selector.observe(self._on_select, names="value")
        self.live_toggle.observe(self._on_live, names="value")
        self.refresh_button.on_click(lambda _: self.refresh())
        if not isinstance(self.stream.source, Application):
            self.live_toggle.disabled = True
            self.live_toggle.tooltip = "live mode needs the application object, not a file"

        filters = widgets.VBox(
            [
                self.types,
                widgets.HBox([self.stream_input, self.search_input]),
                widgets.HBox([self.since_input, self.until_input]),
                widgets.HBox([self.clear_button, self.live_toggle, self.refresh_button]),
            ]
        )
        pager = widgets.HBox([self.prev_button, self.page_label, self.next_button])
        super().__init__(
            [
                widgets.HTML(_CSS),
                self.heading,
                filters,
                self.message,
                self.chart_view,
                pager,
                self.table,
                self.selector,
                self.payload_view,
            ]
        )
        self.add_class("wb-stream-viewer")
        self._draw(chart=True)

    # --- actions ------------------------------------------------------------------------

    def go(self, page: int) -> None:
        """Show page ``page`` (from 0), clamped to the pages there are."""
        self.page_number = max(0, min(page, self.stream.page_count - 1))
        self._draw(chart=False)

    def clear(self) -> None:
        """Clear every filter."""
        self._updating = True
        try:
            self.types.value = ()
            for text in (self.stream_input, self.since_input, self.until_input, self.search_input):
                text.value = ""
        finally:
            self._updating = False
        self.stream.clear_filter()
        self.page_number = 0
        self._draw(chart=True)

    def refresh(self) -> int:
        """Load events recorded since the last load; stay on the same page unless at the end."""
        at_end = self.page_number >= self.stream.page_count - 1
        count = self.stream.refresh()
        if count:
            if set(self.stream.event_types) != set(self.types.options):
                self._updating = True
                try:
                    chosen = self.types.value
                    self.types.options = self.stream.event_types
                    self.types.value = tuple(t for t in chosen if t in self.types.options)
                finally:
                    self._updating = False
            if at_end:
                self.page_number = self.stream.page_count - 1
            due = time.monotonic() - self._chart_drawn_at >= self.chart_interval
            self._draw(chart=due, chart_if_changed=True)
        return count

    def close(self) -> None:
        if self._unfollow is not None:
            self._unfollow()
            self._unfollow = None
        super().close()

    # --- callbacks ------------------------------------------------------------------------

    def _on_filter(self, _: Any) -> None:
        if self._updating:
            return
        wanted = self.search_input.value.strip()
        if wanted and wanted != self.stream.current.text:
            # on a big history the first search takes seconds: say so while it runs
            shown = html.escape(wanted)
            self.message.value = (
                f"<i>searching {self.stream.summary()['events']:,} events for “{shown}”…</i>"
            )
        try:
            self.stream.filter(
                event_types=self.types.value,
                stream_id=self.stream_input.value,
                since=self.since_input.value.strip(),
                until=self.until_input.value.strip(),
                text=self.search_input.value,
            )
        except ValueError as e:
            self.message.value = f'<span style="color:#b00">{html.escape(str(e))}</span>'
            return
        self.message.value = ""
        self.page_number = 0
        self._draw(chart=True)

    def _on_select(self, change: Any) -> None:
        position = change["new"]
        if position is None:
            self.payload_view.value = ""
            return
        try:
            payload = self.stream.payload(int(position))
        except Exception as e:
            self.payload_view.value = f'<span style="color:#b00">{html.escape(str(e))}</span>'
            return
        row = self.stream.event(int(position))
        text = json.dumps(payload, indent=2, default=_json_default, ensure_ascii=False)
        self.payload_view.value = (
            f"<b>{html.escape(str(row['event_type']))}</b> #{position} "
            f"(stream {html.escape(str(row['stream_id']))}, version {row['version']})"
            f"<pre>{html.escape(text)}</pre>"
        )

    def _on_live(self, change: Any) -> None:
        if change["new"]:
            if self._unfollow is None:
                try:
                    self._unfollow = _follow(self)
                except ValueError as e:
                    self.message.value = html.escape(str(e))
                    self.live_toggle.value = False
                    return
            self.refresh()
        elif self._unfollow is not None:
            self._unfollow()
            self._unfollow = None

    # --- drawing ----------------------------------------------------------------------------

    def _draw(self, *, chart: bool, chart_if_changed: bool = False) -> None:
        """Draw heading, page and (when ``chart``) the chart.

        With ``chart_if_changed`` (a refresh) the chart is drawn again only when
        its counts changed visibly since it was last drawn: on a big history a
        few new events change no bar by a pixel, and drawing costs far more
        than picking the events up.
        """
        stream = self.stream
        summary = stream.summary()
        self.heading.value = (
            f"<b>{summary['events']:,}</b> events in {summary['streams']:,} streams; "
            f"showing {summary['shown']:,}"
        )
        count = stream.page_count
        self.page_number = max(0, min(self.page_number, count - 1))
        page = stream.page(self.page_number)
        self.page_label.value = f"page {self.page_number + 1} of {count}"
        self.prev_button.disabled = self.page_number == 0
        self.next_button.disabled = self.page_number >= count - 1
        shown = page.drop(columns=["topic"], errors="ignore")
        self.table.value = shown.to_html(
            index=False, escape=True, formatters={c: _short for c in shown.columns}
        )
        options = [
            (f"#{p} {t} ({str(s)[:8]}… v{v})", int(p))
            for p, t, s, v in zip(
                page["position"],
                page["event_type"],
                page["stream_id"],
                page["version"],
                strict=True,
            )
        ]
        previous = self.selector.value
        self.selector.options = options
        if previous in {o[1] for o in options}:
            self.selector.value = previous
        if chart and self.show_chart:
            counts = stream.counts_over_time()
            if not chart_if_changed or _visibly_different(self._chart_counts, counts):
                self.chart_view.value = events_per_type_svg(counts, height=120)
                self._chart_counts = counts
            self._chart_drawn_at = time.monotonic()


def _follow(viewer: StreamViewer) -> Any:
    from workbench.live import on_recorded

    source = viewer.stream.source
    if not isinstance(source, Application):
        raise ValueError("live mode needs the application object (a file has no notifications)")
    return on_recorded(source, lambda positions: viewer.refresh())


def _visibly_different(drawn: pd.DataFrame | None, counts: pd.DataFrame) -> bool:
    """Whether ``counts`` would draw differently from ``drawn``.

    New buckets or event types, another frequency, or a count that moved by
    more than 1% of the tallest bar (about a pixel at the chart's height).
    """
    if drawn is None or drawn.attrs.get("freq") != counts.attrs.get("freq"):
        return True
    keys = ["time", "event_type"]
    merged = drawn.merge(counts, on=keys, how="outer", suffixes=("_old", "_new"))
    if merged[["count_old", "count_new"]].isna().to_numpy().any():
        return True
    tallest = counts.groupby("time")["count"].sum().max() if len(counts) else 0
    moved = (merged["count_new"] - merged["count_old"]).abs().max() if len(merged) else 0
    return bool(moved >= max(1.0, 0.01 * float(tallest)))
