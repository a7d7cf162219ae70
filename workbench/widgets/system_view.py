"""Views of a running eventsourcing System: its lag and map, and a policy stepper.

Thin views over :mod:`workbench.systems`: :class:`SystemView` draws a
:class:`~workbench.systems.SystemRun` (the followers' lag as a chart and a
table, the system map) with Refresh, Follow live and Pause/Resume;
:class:`PolicyStepperView` drives a :class:`~workbench.systems.PolicyStepper`
(Step, Back, Run to end, Reset) and shows the step's event in and what the
policy did. Every control has a visible name.

>>> from workbench.systems import open_system
>>> from workbench.systems.examples import SYSTEM, Counter
>>> run = open_system(SYSTEM)
>>> _ = run.get(Counter).count(2)
>>> view = PolicyStepperView(run.stepper("Doubler"))
>>> view.step_button.click()
>>> view.stepper.last.recorded[0].event_type
'Double.Made'
>>> run.close()
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from workbench.charts import live_chart
from workbench.charts.projections import spec_with_data
from workbench.charts.systems import lag_chart
from workbench.live import on_recorded
from workbench.systems import PolicyStepper, SystemRun, SystemRunError
from workbench.systems.stepping import step_html

__all__ = ["PolicyStepperView", "SystemView"]

_BUTTON = widgets.Layout(width="auto")


class SystemView(widgets.VBox):  # type: ignore[misc]
    """The lag chart, the lag table and the map of a :class:`SystemRun`, kept up to date.

    Refresh redraws once; "Follow live" redraws after every save on any of the
    system's applications (at most every ``interval`` seconds; the last save
    is always drawn). "Pause followers" holds the followers back
    (:meth:`SystemRun.pause`), so the lag grows while commands are issued;
    "Catch up" prompts them to process what is waiting (:meth:`SystemRun.catch_up`).
    """

    def __init__(self, run: SystemRun, *, interval: float = 0.5) -> None:
        if not isinstance(run, SystemRun):
            raise TypeError(
                f"SystemView shows a SystemRun (open_system(...)), got {type(run).__name__}"
            )
        self.run = run
        self.interval = interval
        self.redraws = 0
        self.refresh_button = widgets.Button(
            description="Refresh",
            icon="refresh",
            tooltip="Redraw the lag and the map",
            layout=_BUTTON,
        )
        self.follow = widgets.Checkbox(
            value=False,
            description="Follow live",
            indent=False,
            tooltip="Redraw after every save on the system's applications",
        )
        self.pause_button = widgets.Button(description="Pause followers", layout=_BUTTON)
        self.catch_up_button = widgets.Button(
            description="Catch up",
            tooltip="Prompt every follower to process what its leaders recorded",
            layout=_BUTTON,
        )
        self.status = widgets.HTML()
        self.lag_table = widgets.HTML()
        self.chart_output = widgets.Box()
        self.map_view = widgets.HTML()
        self.chart_widget: Any = None
        self.chart_data: Any = None
        self._spec: dict[str, Any] | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._last = 0.0
        self._timer: threading.Timer | None = None

        self.refresh_button.on_click(lambda _: self.refresh())
        self.pause_button.on_click(lambda _: self._toggle_pause())
        self.catch_up_button.on_click(lambda _: self._catch_up())
        self.follow.observe(self._follow_changed, names="value")
        super().__init__(
            [
                widgets.HBox(
                    [self.refresh_button, self.follow, self.pause_button, self.catch_up_button]
                ),
                self.status,
                widgets.Label("Followers' lag behind their leaders"),
                self.chart_output,
                self.lag_table,
                widgets.Label("System map"),
                self.map_view,
            ]
        )
        self.add_class("wb-system-view")
        self.refresh()

    def refresh(self) -> None:
        """Redraw the lag and the map from the run."""
        with self._lock:
            self._last = time.monotonic()
            if self.run.closed:
                self.status.value = "<span style='color:#b00020'>the system run is closed</span>"
                return
            frame = self.run.lag()
            self.chart_data = frame
            self._draw_chart(frame)
            self.lag_table.value = frame.to_html(index=False, border=0, classes="wb-system-lag")
            self.map_view.value = self.run.map()._repr_html_()
            behind = int(frame["lag"].sum())
            state = "paused" if self.run.paused else "running"
            self.pause_button.description = (
                "Resume followers" if self.run.paused else "Pause followers"
            )
            colour = "#2e7d32" if not behind else "#e65100"
            error = self.run.error
            said = f"; a follower stopped: {html.escape(str(error))}" if error else ""
            self.status.value = (
                f"<span style='color:{colour}'>{state}: {behind:,} event(s) waiting{said}</span>"
            )
            self.redraws += 1

    def _draw_chart(self, frame: Any) -> None:
        if self._spec is None:
            chart = lag_chart(frame)
            self._spec = chart.to_dict()
            self.chart_widget = live_chart(chart)  # offline Vega, no unnamed menu
            self.chart_output.children = (self.chart_widget,)
            return
        self.chart_widget.spec = spec_with_data(self._spec, frame)

    def _toggle_pause(self) -> None:
        if self.run.paused:
            self.run.resume()
        else:
            self.run.pause()
        self.refresh()

    def _catch_up(self) -> None:
        self.run.catch_up()
        if self.run.runner_name == "threads":
            self.run.wait(timeout=2.0)  # most of it, then the picture as it is
        self.refresh()

    def _follow_changed(self, change: dict[str, Any]) -> None:
        for stop in self._unsubscribe:
            stop()
        self._unsubscribe = []
        if change["new"] and not self.run.closed:
            for app in self.run.apps.values():
                self._unsubscribe.append(on_recorded(app, lambda _: self._recorded()))
            self.refresh()

    def _recorded(self) -> None:
        """After a save: redraw now, or once the interval has passed (the last save too)."""
        wait = self.interval - (time.monotonic() - self._last)
        if wait <= 0:
            self.refresh()
            return
        if self._timer is None or not self._timer.is_alive():
            self._timer = threading.Timer(wait, self.refresh)
            self._timer.daemon = True
            self._timer.start()

    def close(self) -> None:
        self.follow.value = False
        if self._timer is not None:
            self._timer.cancel()
        super().close()


class PolicyStepperView(widgets.VBox):  # type: ignore[misc]
    """Buttons over a :class:`PolicyStepper`, and a panel with the last step's in and out.

    Back is offered in the sandbox only (the real follower cannot un-record a
    processed event; the button says so). ``max_run`` caps one "Run to end".
    """

    def __init__(self, stepper: PolicyStepper, *, max_run: int = 10_000) -> None:
        if not isinstance(stepper, PolicyStepper):
            raise TypeError(
                f"PolicyStepperView shows a PolicyStepper (run.stepper(...)), "
                f"got {type(stepper).__name__}"
            )
        self.stepper = stepper
        self.max_run = max_run
        self.message = ""
        self.back_button = widgets.Button(description="◀ Back", layout=_BUTTON)
        self.step_button = widgets.Button(
            description="Step ▶", button_style="primary", layout=_BUTTON
        )
        self.end_button = widgets.Button(description="Run to end ▶▶", layout=_BUTTON)
        self.reset_button = widgets.Button(description="Reset ⟲", layout=_BUTTON)
        self.heading = widgets.HTML()
        self.status = widgets.HTML()
        self.panel = widgets.HTML()
        self.panel.add_class("wb-policy-step-panel")
        self.back_button.on_click(lambda _: self._do(self._back))
        self.step_button.on_click(lambda _: self._do(self._step))
        self.end_button.on_click(lambda _: self._do(self._end))
        self.reset_button.on_click(lambda _: self._do(self._reset))
        super().__init__(
            [
                self.heading,
                widgets.HBox(
                    [self.back_button, self.step_button, self.end_button, self.reset_button]
                ),
                self.status,
                self.panel,
            ]
        )
        self.add_class("wb-policy-stepper")
        self.refresh()

    def _do(self, action: Callable[[], str]) -> None:
        try:
            self.message = action()
            error = False
        except SystemRunError as e:
            self.message = str(e)
            error = True
        self.refresh(error=error)

    def _step(self) -> str:
        step = self.stepper.step()
        if step is None:
            leader, position = self.stepper.leader_name, self.stepper.position
            return f"nothing to step: {leader} has no event after position {position}"
        if not step.ok:
            return f"the policy raised {step.error}: nothing was recorded"
        return ""

    def _back(self) -> str:
        undone = self.stepper.back()
        return "already at the start" if undone is None else f"undid step {undone.number}"

    def _end(self) -> str:
        taken = self.stepper.run_to_end(max_steps=self.max_run)
        last = self.stepper.last
        if last is not None and not last.ok:
            return f"took {taken} step(s); stopped at a failing policy: {last.error}"
        if taken >= self.max_run:
            return f"took {taken} steps; stopped there to stay responsive (click again to go on)"
        return f"took {taken} step(s); nothing left to do"

    def _reset(self) -> str:
        if self.stepper.copy is None:
            raise SystemRunError(
                "the real follower cannot be reset: eventsourcing cannot un-record a "
                "processed event. Step a sandbox copy to start again"
            )
        self.stepper.reset()
        return "back to the start: an empty sandbox copy"

    def refresh(self, error: bool = False) -> None:
        """Redraw from the stepper (call after driving the stepper directly)."""
        s = self.stepper
        sandbox = s.copy is not None
        where = "a sandbox copy of" if sandbox else "the real"
        nxt = s.peek()
        coming = (
            f"next: {html.escape(nxt.event_type)} at position {nxt.position}"
            if nxt is not None
            else "next: nothing (at the end of the leader's events)"
        )
        self.heading.value = (
            f"<b>Policy stepper</b>: {where} {html.escape(s.follower_name)} following "
            f"{html.escape(s.leader_name)}; {len(s.steps)} step(s), tracking position "
            f"{s.position}; {coming}"
        )
        self.back_button.disabled = not sandbox or not s.steps
        self.reset_button.disabled = not sandbox
        self.back_button.tooltip = (
            "Rebuild the sandbox to the step before"
            if sandbox
            else "The real follower steps forward only"
        )
        self.step_button.disabled = self.end_button.disabled = nxt is None
        colour = "#b00020" if error else "#37474f"
        text = html.escape(self.message)
        self.status.value = f"<span style='color:{colour}'>{text}</span>" if text else ""
        self.panel.value = step_html(s.last) if s.last is not None else ""
