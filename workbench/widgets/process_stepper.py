"""A stepper for process managers: a thin view over :class:`~workbench.processes.ProcessRun`.

Buttons step, step back, run to the end or to a breakpoint, reset, advance the
clock, and retry or abandon a parked instance. The view shows the state
diagram with the current state highlighted and the transition just taken, the
actions emitted, pending timeouts, failures and anomalies.

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
from typing import Any

import ipywidgets as widgets

from workbench.charts.statemachine import state_diagram
from workbench.processes import ProcessError, ProcessRun, Step

__all__ = ["ProcessStepper"]

_BUTTON = widgets.Layout(width="auto")
_LIST_ROWS = 8


def _short(key: str | None) -> str:
    if key is None:
        return "-"
    return key if len(key) <= 12 else key[:8] + "…"


def _esc(value: Any) -> str:
    return html.escape(str(value))


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
            layout=widgets.Layout(width="120px"),
        )
        self.break_value = widgets.Combobox(
            options=self._break_options("event_type"),
            placeholder="e.g. TicketPurchase.Paid",
            ensure_option=False,
            layout=widgets.Layout(width="240px"),
        )
        self.break_button = widgets.Button(description="Run to breakpoint", layout=_BUTTON)
        self.minutes = widgets.BoundedIntText(
            value=31, min=1, max=60 * 24 * 365, layout=widgets.Layout(width="90px")
        )
        self.advance_button = widgets.Button(description="Advance clock (min)", layout=_BUTTON)
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
        return "" if self.run.back() is not None else "already at the start"

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
            (f"{_short(d['instance'])}: {d['action']}", d["instance"]) for d in dead
        ]
        keys = [d["instance"] for d in dead]
        self.dead_letter.value = chosen if chosen in keys else (keys[0] if keys else None)
        self.retry_button.disabled = self.abandon_button.disabled = not dead
        self.back_button.disabled = run.view == 0
        color = "#b00020" if error else "#37474f"
        self.status.value = (
            f"<span style='color:{color}'>{_esc(self.message)}</span>" if self.message else ""
        )
        self.view.value = self.render()

    def render(self) -> str:
        """The view as HTML (diagram, step, actions, timeouts, failures, anomalies)."""
        run = self.run
        step = run.current
        inst = run.instances.get(step.instance) if step and step.instance else None
        move = step.moves[-1] if step and step.moves else None
        diagram = state_diagram(
            run.declaration,
            current=inst.shown_state if inst else None,
            last=(move.source, move.trigger, move.target) if move else None,
        )
        head = "" if run.at_head else " · <i>replaying recorded steps</i>"
        parts = [
            f"<div><b>{_esc(run.declaration.name)}</b> following <b>{_esc(run.upstream.name)}</b>"
            f" · step {run.view} of {len(run.steps)}{head} · position {run.cursor}"
            f" · clock {run.now:%Y-%m-%d %H:%M} · {len(run.instances)} instance(s)</div>",
            diagram.svg,
            self._step_html(step),
            self._list(
                "Pending timeouts",
                [
                    f"{_esc(name)} for {_esc(_short(key))} due {due:%Y-%m-%d %H:%M}"
                    for key, name, due in run.pending_timeouts()
                ],
            ),
            self._list(
                "Retries waiting",
                [
                    f"{_esc(action)} for {_esc(_short(key))} at {when:%H:%M}"
                    for key, action, when in run.pending_retries()
                ],
            ),
            self._list(
                "Failures",
                [
                    f"#{f.step} {_esc(f.action)} for {_esc(_short(f.instance))}, attempt "
                    f"{f.attempt}: {_esc(f.error)}{' → parked' if f.parked else ''}"
                    for f in run.visible_failures()
                ],
                newest_first=True,
            ),
            self._list(
                "Dead letter",
                [
                    f"{_esc(_short(d['instance']))} in {_esc(d['state'])}: {_esc(d['action'])} "
                    f"failed {d['attempts']}× ({_esc(d['error'])}); {d['held']} event(s) held"
                    for d in run.dead_letters()
                ],
            ),
            self._list(
                "Anomalies",
                [
                    f"#{a.step} {_esc(a.trigger)} for {_esc(_short(a.instance))} "
                    f"in state {_esc(a.state)}"
                    for a in run.visible_anomalies()
                ],
                newest_first=True,
            ),
        ]
        return "<div class='workbench-process-stepper'>" + "".join(parts) + "</div>"

    def _step_html(self, step: Step | None) -> str:
        if step is None:
            return "<div><i>no step yet: press Step</i></div>"
        rows = [f"<div><b>{_esc(step.summary())}</b></div>"]
        if step.skipped:
            rows.append(f"<div>({step.skipped} other upstream event(s) passed over)</div>")
        if step.error:
            rows.append(f"<div style='color:#b00020'>error: {_esc(step.error)}</div>")
        for e in step.emitted:
            rows.append(
                f"<div>→ {_esc(e.kind)} <b>{_esc(e.action)}</b>: {_esc(e.outcome)}"
                f"{' · ' + _esc(e.detail) if e.detail else ''}</div>"
            )
        for name, due in step.scheduled:
            rows.append(f"<div>⏰ scheduled {_esc(name)} for {due:%Y-%m-%d %H:%M}</div>")
        return "<div class='step'>" + "".join(rows) + "</div>"

    @staticmethod
    def _list(title: str, items: list[str], newest_first: bool = False) -> str:
        if not items:
            return ""
        shown = list(reversed(items))[:_LIST_ROWS] if newest_first else items[:_LIST_ROWS]
        more = f"<li>… and {len(items) - len(shown)} more</li>" if len(items) > len(shown) else ""
        return (
            f"<details open><summary>{_esc(title)} ({len(items)})</summary><ul>"
            + "".join(f"<li>{item}</li>" for item in shown)
            + more
            + "</ul></details>"
        )
