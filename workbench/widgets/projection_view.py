"""A projection's read model, charted live while it rebuilds.

A thin view over :class:`workbench.projections.ProjectionRun`: a chart of the
read model (redrawn a few times per second at most, from aggregated data
only), a progress bar, the lag behind the write side, and controls: rebuild,
pause/resume, step, run to a position or a time, catch up, follow, stop.
Rebuilds run in a background thread, so the kernel keeps answering.

>>> from workbench.examples.history import SAMPLE_TICKETING
>>> from workbench.examples.ticketing.readmodels import TicketsRemaining, remaining_frame
>>> from workbench.charts.projections import remaining_chart
>>> from workbench.projections import ProjectionRun
>>> run = ProjectionRun(TicketsRemaining(), SAMPLE_TICKETING)
>>> view = ProjectionView(run, remaining_frame, remaining_chart)
>>> view.rebuild_button.click()
>>> view.wait().run.status
'done'
>>> int(view.chart_data["capacity"].sum()) > 0
True
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import ipywidgets as widgets
import pandas as pd

from workbench.charts import live_chart
from workbench.charts.projections import auto_chart, spec_with_data
from workbench.projections import ProjectionError, ProjectionRun, ReadModel

__all__ = ["ProjectionView"]

DataFunction = Callable[[ReadModel], pd.DataFrame]
ChartFunction = Callable[[pd.DataFrame], Any]


def _first_table(model: ReadModel) -> pd.DataFrame:
    for name in sorted(model.tables):
        frame = model.tables[name].to_frame()
        if not frame.empty:
            return frame.head(50)
    return pd.DataFrame()


def _button(description: str, css: str, tooltip: str, icon: str = "") -> widgets.Button:
    button = widgets.Button(
        description=description, tooltip=tooltip, icon=icon, layout=widgets.Layout(width="auto")
    )
    button.add_class(css)
    return button


class ProjectionView(widgets.VBox):  # type: ignore[misc]
    """A live chart, progress bar, lag indicator and controls for a projection run.

    ``data(model)`` aggregates the read model into a small DataFrame (called
    with the model consistent, at most ``redraws_per_second`` times per
    second); ``chart(frame)`` draws it (default: a bar chart of the first
    text and number columns). The last frame drawn is ``chart_data``.
    """

    def __init__(
        self,
        run: ProjectionRun,
        data: DataFunction | None = None,
        chart: ChartFunction | None = None,
        *,
        redraws_per_second: float = 4.0,
        title: str | None = None,
    ) -> None:
        if not isinstance(run, ProjectionRun):
            raise TypeError(f"ProjectionView shows a ProjectionRun, got {type(run).__name__}")
        if redraws_per_second <= 0:
            raise ValueError(f"redraws_per_second must be positive (got {redraws_per_second})")
        self.run = run
        self.data = data or _first_table
        self.chart_function = chart or (lambda frame: auto_chart(frame, title=run.name))
        self.interval = 1.0 / redraws_per_second
        self.redraws = 0
        self.chart_data: pd.DataFrame = pd.DataFrame()
        self._base_spec: dict[str, Any] | None = None
        self._last_draw = 0.0
        self._draw_lock = threading.Lock()

        self.title = widgets.HTML(f"<b>{html.escape(title or run.name)}</b>")
        self.rebuild_button = _button(
            "Rebuild", "wb-projection-rebuild", "rebuild from 0", "refresh"
        )
        self.pause_button = _button("Pause", "wb-projection-pause", "pause / resume", "pause")
        self.stop_button = _button("Stop", "wb-projection-stop", "stop the run", "stop")
        self.step_button = _button(
            "Step", "wb-projection-step", "apply the next events", "step-forward"
        )
        self.step_count = widgets.BoundedIntText(
            value=1,
            min=1,
            max=1_000_000,
            description="events",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="150px"),
        )
        self.step_count.add_class("wb-projection-step-count")
        self.position_input = widgets.IntText(
            value=0, description="position", layout=widgets.Layout(width="200px")
        )
        self.position_input.add_class("wb-projection-position")
        self.time_input = widgets.Text(
            value="",
            description="or time",
            placeholder="2018-01-31T12:00",
            layout=widgets.Layout(width="260px"),
        )
        self.time_input.add_class("wb-projection-time")
        self.run_to_button = _button(
            "Run to", "wb-projection-run-to", "rebuild up to the position or time", "forward"
        )
        self.catch_up_button = _button(
            "Catch up",
            "wb-projection-catch-up",
            "apply every event recorded so far",
            "fast-forward",
        )
        self.follow_toggle = widgets.ToggleButton(
            value=False, description="Follow", tooltip="catch up every second", icon="eye"
        )
        self.follow_toggle.add_class("wb-projection-follow")
        self.progress_bar = widgets.IntProgress(
            value=0, min=0, max=1, layout=widgets.Layout(width="420px")
        )
        self.progress_bar.add_class("wb-projection-progress")
        self.status_label = widgets.HTML()
        self.status_label.add_class("wb-projection-status")
        self.lag_label = widgets.HTML()
        self.lag_label.add_class("wb-projection-lag")
        self.failure_box = widgets.HTML()
        self.failure_box.add_class("wb-projection-failure-box")
        self.chart_output = widgets.Box()
        self.chart_output.add_class("wb-projection-chart")
        self.chart_widget: Any = None

        self.rebuild_button.on_click(lambda _: self.rebuild())
        self.pause_button.on_click(lambda _: self.toggle_pause())
        self.stop_button.on_click(lambda _: self.stop())
        self.step_button.on_click(lambda _: self.step(self.step_count.value))
        self.run_to_button.on_click(lambda _: self.run_to())
        self.catch_up_button.on_click(lambda _: self.catch_up())
        self.follow_toggle.observe(self._on_follow, "value")
        run.on_progress(self._on_progress)

        controls = widgets.HBox(
            [
                self.rebuild_button,
                self.pause_button,
                self.stop_button,
                self.step_button,
                self.step_count,
                self.catch_up_button,
                self.follow_toggle,
            ]
        )
        run_to = widgets.HBox([self.position_input, self.time_input, self.run_to_button])
        super().__init__(
            [
                self.title,
                controls,
                run_to,
                widgets.HBox([self.progress_bar, self.status_label]),
                self.lag_label,
                self.failure_box,
                self.chart_output,
            ]
        )
        self.add_class("wb-projection-view")
        with run.lock:
            self._redraw(force=True)

    # Controls ---------------------------------------------------------------------

    def rebuild(self, upto: int | None = None, until: datetime | None = None) -> None:
        """Rebuild from position 0 in the background."""
        self._start(lambda: self.run.start(upto, until=until, rebuild=True))

    def toggle_pause(self) -> None:
        """Pause a running rebuild, or resume a paused one."""
        if self.run.pause_requested:
            self.run.resume()
        else:
            self.run.pause()
        self._update_buttons()

    def stop(self) -> None:
        """Stop the run (and following)."""
        self.follow_toggle.value = False
        self.run.stop()
        self._update_status()

    def step(self, count: int = 1) -> None:
        """Apply the next ``count`` handled events (stopping a background run first)."""
        if self.run.busy:
            self.follow_toggle.value = False
            self.run.stop()
        self._guard(lambda: self.run.step(count))

    def run_to(self) -> None:
        """Rebuild up to the position or time typed in the inputs."""
        text = self.time_input.value.strip()
        if text:
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                self._message(
                    f"cannot read the time {text!r}: write it like 2018-01-31T12:00 "
                    "(UTC unless it says otherwise)",
                    error=True,
                )
                return
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            self.rebuild(until=when)
            return
        position = self.position_input.value
        if position < 0:
            self._message(f"a position is 0 or more (got {position})", error=True)
            return
        self.rebuild(upto=position)

    def catch_up(self) -> None:
        """Apply every event recorded so far, in the background."""
        self._start(lambda: self.run.start())

    def wait(self, timeout: float | None = 60) -> ProjectionView:
        """Wait for a background run to finish (for scripts and tests)."""
        self.run.wait(timeout)
        return self

    def _on_follow(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.run.follow(every=1.0)
        else:
            self.run.stop()
        self._update_status()

    def _start(self, action: Callable[[], Any]) -> None:
        if self.run.busy:
            self.follow_toggle.value = False
            self.run.stop()
        self._guard(action)

    def _guard(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except ProjectionError as error:
            self._message(str(error), error=True)
        self._update_buttons()

    # Drawing --------------------------------------------------------------------

    def _on_progress(self, run: ProjectionRun) -> None:
        now = time.perf_counter()
        finished = run.status in ("done", "failed", "stopped")
        if not finished and now - self._last_draw < self.interval:
            return
        self._redraw(force=finished)

    def _redraw(self, force: bool = False) -> None:
        """Redraw from the read model; the caller holds ``run.lock``."""
        with self._draw_lock:
            self._last_draw = time.perf_counter()
            frame = self.data(self.run.model)
            self.chart_data = frame
            self.redraws += 1
            try:
                self._draw_chart(frame)
            except Exception as error:
                self._update_status()
                self._message(f"cannot draw the chart: {type(error).__name__}: {error}", error=True)
                return
            self._update_status()

    def _draw_chart(self, frame: pd.DataFrame) -> None:
        if self._base_spec is None:
            try:
                chart = self.chart_function(frame)
            except Exception:
                if frame.empty:  # nothing to draw yet; the chart may need data to build
                    return
                raise
            self._base_spec = chart.to_dict()
            self.chart_widget = live_chart(chart)  # offline Vega, no unnamed menu
            self.chart_widget.add_class("wb-projection-jupyterchart")
            self.chart_output.children = (self.chart_widget,)
            return
        try:
            spec = spec_with_data(self._base_spec, frame)
        except ValueError:
            spec = self.chart_function(frame).to_dict(validate=False)
        self.chart_widget.spec = spec

    def _update_status(self) -> None:
        run = self.run
        progress = run.progress
        total = max(progress.total, 1)
        with self.progress_bar.hold_sync():  # one message, so the bar never shows a mix
            if total < self.progress_bar.value:
                self.progress_bar.value = 0
            self.progress_bar.max = total
            self.progress_bar.value = min(progress.done, total)
        self.status_label.value = (
            f"<span class='wb-projection-state'>{run.status}</span> at position "
            f"{run.position:,} — {html.escape(str(progress))}"
        )
        lag = run.lag()
        color = "#2e7d32" if not lag.behind else "#e65100"
        self.lag_label.value = f"<span style='color:{color}'>lag: {html.escape(str(lag))}</span>"
        if run.failure is not None:
            self.failure_box.value = run.failure._repr_html_()
        elif run.error is not None:
            self._message(f"{type(run.error).__name__}: {run.error}", error=True)
        else:
            self.failure_box.value = ""
        self._update_buttons()

    def _update_buttons(self) -> None:
        paused = self.run.pause_requested
        self.pause_button.description = "Resume" if paused else "Pause"
        self.pause_button.icon = "play" if paused else "pause"

    def _message(self, text: str, *, error: bool = False) -> None:
        color = "#c0392b" if error else "inherit"
        self.failure_box.value = (
            f"<div class='wb-projection-message' style='color:{color}'>{html.escape(text)}</div>"
        )
