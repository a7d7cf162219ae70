"""A stepper for process managers: a thin view over :class:`~workbench.processes.ProcessRun`.

Buttons step, step back, run to the end or to a breakpoint, reset, advance the
clock, jump to a position or a time (a dry run, :meth:`ProcessRun.jump`: deep
into a long history without taking every step), and retry or abandon a parked
instance. Under them is the run's own
view (:func:`workbench.processes.view.run_html`, what the run shows as a cell's
value): the state diagram with the current state highlighted and the transition
just taken, the actions emitted, pending timeouts, failures and anomalies.

>>> from workbench.examples.ticketing import Ticketing
>>> from workbench.examples.ticketing.processes import PURCHASE
>>> from workbench.processes import ProcessRun
>>> stepper = ProcessStepper(ProcessRun(PURCHASE, Ticketing()))
>>> stepper.step_button.click()
>>> stepper.message
'nothing to do: no new upstream event, and no timeout due (advance the clock?)'
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

import ipywidgets as widgets

from workbench.processes import ProcessError, ProcessRun
from workbench.processes.view import run_html, short_key

__all__ = ["ProcessStepper"]

_BUTTON = widgets.Layout(width="auto")


class ProcessStepper(widgets.VBox):  # type: ignore[misc]
    """Step a :class:`ProcessRun` by hand; every button forwards to the run.

    ``max_run`` caps how many steps one "run" click takes, so the notebook stays
    responsive on a million-event history (click again to go on).
    """

    def __init__(self, run: ProcessRun, *, max_run: int = 50_000) -> None:
        if not isinstance(run, ProcessRun):
            raise TypeError(f"ProcessStepper shows a ProcessRun, got {type(run).__name__}")
        self.run = run
        self.max_run = max_run
        self.message = ""
        self.back_button = widgets.Button(description="◀ Back", layout=_BUTTON)
        self.step_button = widgets.Button(
            description="Step ▶", button_style="primary", layout=_BUTTON
        )
        self.end_button = widgets.Button(description="Run to end ▶▶", layout=_BUTTON)
        self.reset_button = widgets.Button(description="Reset ⟲", layout=_BUTTON)
        self.break_kind = widgets.Dropdown(
            options=[("event type", "event_type"), ("state", "state"), ("instance", "instance")],
            value="event_type",
            description="Stop at",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="180px"),
        )
        self.break_value = widgets.Combobox(
            options=self._break_options("event_type"),
            placeholder="e.g. TicketPurchase.Paid",
            ensure_option=False,
            layout=widgets.Layout(width="240px"),
        )
        self.break_button = widgets.Button(description="Run to breakpoint", layout=_BUTTON)
        self.minutes = widgets.BoundedIntText(
            value=31,
            min=1,
            max=60 * 24 * 365,
            description="Minutes",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="150px"),
        )
        self.advance_button = widgets.Button(description="Advance clock (min)", layout=_BUTTON)
        self.jump_to = widgets.Text(
            description="Jump to",
            placeholder="a position (900000) or a time (2018-03-01 09:30)",
            layout=widgets.Layout(width="360px"),
        )
        self.jump_button = widgets.Button(
            description="Jump",
            tooltip="go to that upstream position or business time without taking every step",
            layout=_BUTTON,
        )
        self.dead_letter = widgets.Dropdown(
            options=[], description="Dead letter", layout=widgets.Layout(width="340px")
        )
        self.retry_button = widgets.Button(description="Retry", layout=_BUTTON)
        self.abandon_button = widgets.Button(
            description="Abandon", button_style="danger", layout=_BUTTON
        )
        self.status = widgets.HTML()
        self.view = widgets.HTML()

        self.back_button.on_click(lambda _: self._do(self._back))
        self.step_button.on_click(lambda _: self._do(self._step))
        self.end_button.on_click(lambda _: self._do(self._end))
        self.reset_button.on_click(lambda _: self._do(self._reset))
        self.break_button.on_click(lambda _: self._do(self._break))
        self.advance_button.on_click(lambda _: self._do(self._advance))
        self.jump_button.on_click(lambda _: self._do(self._jump))
        self.retry_button.on_click(lambda _: self._do(self._retry))
        self.abandon_button.on_click(lambda _: self._do(self._abandon))
        self.break_kind.observe(self._kind_changed, names="value")

        super().__init__(
            [
                widgets.HBox(
                    [self.back_button, self.step_button, self.end_button, self.reset_button]
                ),
                widgets.HBox([self.break_kind, self.break_value, self.break_button]),
                widgets.HBox([self.minutes, self.advance_button]),
                widgets.HBox([self.jump_to, self.jump_button]),
                widgets.HBox([self.dead_letter, self.retry_button, self.abandon_button]),
                self.status,
                self.view,
            ]
        )
        self.refresh()

    # Actions (each forwards to the run) -------------------------------------------

    def _do(self, action: Any) -> None:
        try:
            self.message = action() or ""
            error = False
        except (ProcessError, ValueError) as e:
            self.message = str(e)
            error = True
        self.refresh(error=error)

    def _step(self) -> str:
        replaying = not self.run.at_head
        step = self.run.step()
        if step is None:
            return "nothing to do: no new upstream event, and no timeout due (advance the clock?)"
        return "replayed a recorded step (nothing sent again)" if replaying else ""

    def _back(self) -> str:
        if self.run.back() is not None:
            return ""
        if self.run.steps.floor:
            return (
                f"steps before #{self.run.steps.floor:,} were jumped over, not kept: "
                "jump to an earlier position to see them"
            )
        return "already at the start"

    def _jump(self) -> str:
        text = self.jump_to.value.strip()
        run = self.run
        if re.fullmatch(r"\d[\d,_ ]*", text):
            run.jump(position=int(re.sub(r"[,_ ]", "", text)))
        else:
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                raise ProcessError(
                    f"cannot read {text!r}: type an upstream position (e.g. 900000) "
                    "or a time (e.g. 2018-03-01 09:30)"
                ) from None
            if when.tzinfo is None:
                when = when.replace(tzinfo=run.clock.now().tzinfo)
            run.jump(time=when)
        kept = run.view - run.steps.floor if run.steps.floor else run.view
        return (
            f"jumped to step {run.view:,}, position {run.cursor:,}, clock {run.now:%Y-%m-%d %H:%M}"
            f"; Back goes over the last {kept:,} step(s)"
        )

    def _end(self) -> str:
        taken = self.run.run_to_end(max_steps=self.max_run)
        if taken >= self.max_run:
            return f"took {taken} steps; stopped there to stay responsive (click again to go on)"
        return f"took {taken} step(s); nothing left to do"

    def _reset(self) -> str:
        self.run.reset()
        return "back to the start: stepping forward replays the recorded steps"

    def _break(self) -> str:
        value = self.break_value.value.strip()
        if not value:
            raise ProcessError(f"type a {self.break_kind.label} to stop at")
        step = self.run.run_to(**{self.break_kind.value: value}, max_steps=self.max_run)
        if step is None:
            return f"no step matched {self.break_kind.label} {value!r}"
        return f"stopped at {self.break_kind.label} {value!r}"

    def _advance(self) -> str:
        fired = self.run.advance(minutes=self.minutes.value)
        return f"clock advanced {self.minutes.value} min; {len(fired)} step(s) fell due"

    def _chosen(self) -> str:
        key = self.dead_letter.value
        if not key:
            raise ProcessError("no parked instance to act on: the dead letter is empty")
        return str(key)

    def _retry(self) -> str:
        step = self.run.retry(self._chosen())
        return f"retried: {step.outcome}"

    def _abandon(self) -> str:
        self.run.abandon(self._chosen())
        return "abandoned"

    def _kind_changed(self, change: dict[str, Any]) -> None:
        self.break_value.options = self._break_options(change["new"])
        self.break_value.value = ""

    def _break_options(self, kind: str) -> list[str]:
        decl = self.run.declaration
        if kind == "event_type":
            return sorted({t.on for t in decl.transitions})
        if kind == "state":
            return [*decl.states, "failed", "abandoned"]
        return list(self.run.instances)[-200:]  # the most recent ones

    # Drawing -----------------------------------------------------------------------

    def refresh(self, error: bool = False) -> None:
        """Redraw from the run (call after driving the run directly)."""
        run = self.run
        dead = run.dead_letters()
        chosen = self.dead_letter.value
        self.dead_letter.options = [
            (f"{short_key(d['instance'])}: {d['action']}", d["instance"]) for d in dead
        ]
        keys = [d["instance"] for d in dead]
        self.dead_letter.value = chosen if chosen in keys else (keys[0] if keys else None)
        self.retry_button.disabled = self.abandon_button.disabled = not dead
        self.back_button.disabled = run.view == 0 or run.view <= run.steps.floor
        color = "#b00020" if error else "#37474f"
        message = html.escape(self.message)
        self.status.value = f"<span style='color:{color}'>{message}</span>" if message else ""
        self.view.value = self.render()

    def render(self) -> str:
        """The view as HTML: the run's own (:func:`~workbench.processes.view.run_html`)."""
        return run_html(self.run, extra_class="workbench-process-stepper")
