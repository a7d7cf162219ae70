"""Aggregate time travel: pick a stream, slide over its versions.

A thin view over :class:`workbench.timetravel.TimeTravel`: a stream picker,
a version slider, the state at that version (changed fields highlighted) and
the event that made the change. Without the application's code (a file) the
view says, above the table and in its message, that what it shows is the
events' payloads grouped by event type, not the aggregate's state.

>>> from workbench.samples import SAMPLE_TICKETING
>>> view = TimeTravelView(SAMPLE_TICKETING)
>>> view.slider.value = view.slider.min
>>> view.step.version == view.slider.min
True
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from eventsourcing.application import Application

from workbench.reading.loading import load_events
from workbench.timetravel import Step, TimeTravel, state_html
from workbench.widgets.slider import LabelledSlider

__all__ = ["TimeTravelView"]

_MAX_CHOICES = 300


class TimeTravelView(widgets.VBox):  # type: ignore[misc]
    """Pick a stream of ``source`` and move through its versions.

    ``stream_id`` picks the first stream shown (default: the stream with the
    most versions among the newest events). Widgets: ``stream_input``
    ("Stream", a combobox of up to 300 streams; any id can be typed),
    ``slider`` ("Version", a :class:`~workbench.widgets.slider.LabelledSlider`: named
    for screen readers, moved by keyboard too), ``prev_button`` ("Older"),
    ``next_button`` ("Newer"),
    ``message`` (the time travel's note: why the states are what they are).
    ``options`` go to :class:`~workbench.timetravel.TimeTravel` (``projector=``,
    ``cipher_key=``, ``compressor=``, ``env=``, ...).
    """

    def __init__(
        self,
        source: Application[Any] | str | Path,
        stream_id: str | None = None,
        **options: Any,
    ) -> None:
        self.source = source
        self.options = options
        self.travel: TimeTravel | None = None
        self.step: Step | None = None
        recent = load_events(
            source,
            newest=5000,
            **{k: v for k, v in options.items() if k in ("cipher_key", "compressor", "env")},
        )
        streams = (
            recent.groupby("stream_id", sort=False)["version"].max().sort_values(ascending=False)
            if len(recent)
            else None
        )
        choices = [] if streams is None else [str(s) for s in streams.index[:_MAX_CHOICES]]
        self.stream_input = widgets.Combobox(
            description="Stream", options=choices, placeholder="stream id", ensure_option=False
        )
        self.slider = LabelledSlider(description="Version", min=1, max=1, value=1)
        self.prev_button = widgets.Button(description="Older", icon="arrow-left")
        self.next_button = widgets.Button(description="Newer", icon="arrow-right")
        self.message = widgets.HTML()
        self.heading = widgets.HTML()
        self.state_view = widgets.HTML()
        for w, cls in [
            (self.stream_input, "wb-travel-stream"),
            (self.slider, "wb-travel-version"),
            (self.prev_button, "wb-travel-prev"),
            (self.next_button, "wb-travel-next"),
            (self.message, "wb-travel-message"),
            (self.heading, "wb-travel-heading"),
            (self.state_view, "wb-travel-state"),
        ]:
            w.add_class(cls)
        self.stream_input.observe(self._on_stream, names="value")
        self.slider.observe(self._on_version, names="value")
        self.prev_button.on_click(lambda _: self._move(-1))
        self.next_button.on_click(lambda _: self._move(1))
        super().__init__(
            [
                self.stream_input,
                widgets.HBox([self.prev_button, self.slider, self.next_button]),
                self.message,
                self.heading,
                self.state_view,
            ]
        )
        self.add_class("wb-travel")
        first = stream_id or (choices[0] if choices else "")
        if first:
            self.stream_input.value = str(first)

    def select(self, stream_id: str) -> None:
        """Show the stream ``stream_id`` at its newest version."""
        self.stream_input.value = str(stream_id)

    def _on_stream(self, change: Any) -> None:
        stream_id = str(change["new"]).strip()
        if not stream_id:
            return
        try:
            travel = TimeTravel(self.source, stream_id, **self.options)
        except Exception as e:
            self.message.value = f'<span style="color:#b00">{html.escape(str(e))}</span>'
            return
        self.travel = travel
        self.message.value = f"<i>{html.escape(travel.note)}</i>" if travel.note else ""
        versions = travel.versions
        self.slider.unobserve(self._on_version, names="value")
        try:
            self.slider.min = min(versions)
            self.slider.max = max(versions)
            self.slider.min = min(versions)
            self.slider.value = max(versions)
        finally:
            self.slider.observe(self._on_version, names="value")
        self._show(self.slider.value)

    def _on_version(self, change: Any) -> None:
        self._show(int(change["new"]))

    def _move(self, delta: int) -> None:
        value = self.slider.value + delta
        if self.slider.min <= value <= self.slider.max:
            self.slider.value = value

    def _show(self, version: int) -> None:
        if self.travel is None:
            return
        versions = self.travel.versions
        if version not in versions:
            version = (
                max(v for v in versions if v <= version) if version > versions[0] else versions[0]
            )
        self.step = self.travel.step(version)
        shown = "the events' payloads, not the state" if self.travel.folded else "state"
        self.heading.value = (
            f"stream <code>{html.escape(self.travel.stream_id)}</code>: version "
            f"{version} of {versions[-1]} ({html.escape(self.travel.mode)}: {shown})"
        )
        self.state_view.value = state_html(self.step)
        self.prev_button.disabled = version <= versions[0]
        self.next_button.disabled = version >= versions[-1]
