"""How a process run looks: the one HTML rendering of a :class:`ProcessRun`'s state.

A run shows itself with it (``_repr_html_``, when it is a cell's value) and the
:class:`~workbench.widgets.process_stepper.ProcessStepper` shows the same HTML
under its buttons, so the two never drift apart. The view has: a header (step,
position, clock, instances, mode), the state diagram with the state of the
instance just touched highlighted and the transition just taken marked, the
step in view with the actions it emitted and the timeouts it scheduled, then
lists of pending timeouts, retries, failures, the dead letter and anomalies
(:data:`LIST_ROWS` rows each, newest first for failures and anomalies).

>>> from workbench.examples.ticketing import Ticketing
>>> from workbench.examples.ticketing.processes import PURCHASE
>>> from workbench.processes import ProcessRun
>>> page = run_html(ProcessRun(PURCHASE, Ticketing()))
>>> page.startswith("<div class='workbench-process-run'><div><b>Purchase</b> following")
True
>>> short_key("0b5e3a4c-7d7b-4c1e-9d55-0e6f0c2b3a11")
'0b5e3a4c…'
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from workbench.charts.statemachine import state_diagram

if TYPE_CHECKING:
    from workbench.processes.run import ProcessRun, Step

__all__ = ["LIST_ROWS", "run_html", "short_key"]

LIST_ROWS = 8
"""Rows shown per list; the rest are counted (``… and 12 more``)."""


def short_key(key: str | None) -> str:
    """An instance key short enough for a line: its first 8 characters when over 12."""
    if key is None:
        return "-"
    return key if len(key) <= 12 else key[:8] + "…"


def run_html(run: ProcessRun, *, extra_class: str = "") -> str:
    """The run's state as of the step in view, as one ``<div class='workbench-process-run'>``.

    ``extra_class`` adds a CSS class to that div (the stepper adds its own).
    """
    step = run.current
    inst = run.instances.get(step.instance) if step and step.instance else None
    move = step.moves[-1] if step and step.moves else None
    diagram = state_diagram(
        run.declaration,
        current=inst.shown_state if inst else None,
        last=(move.source, move.trigger, move.target) if move else None,
    )
    replaying = "" if run.at_head else " · <i>replaying recorded steps</i>"
    parts = [
        f"<div><b>{_esc(run.declaration.name)}</b> following <b>{_esc(run.upstream.name)}</b>"
        f" · step {run.view} of {len(run.steps)}{replaying} · position {run.cursor}"
        f" · clock {run.now:%Y-%m-%d %H:%M} · {len(run.instances)} instance(s)"
        f" · {_esc(run.mode)}</div>",
        diagram.svg,
        _step_html(step),
        _list(
            "Pending timeouts",
            [
                f"{_esc(name)} for {_esc(short_key(key))} due {due:%Y-%m-%d %H:%M}"
                for key, name, due in run.pending_timeouts()
            ],
        ),
        _list(
            "Retries waiting",
            [
                f"{_esc(action)} for {_esc(short_key(key))} at {when:%H:%M}"
                for key, action, when in run.pending_retries()
            ],
        ),
        _list(
            "Failures",
            [
                f"#{f.step} {_esc(f.action)} for {_esc(short_key(f.instance))}, attempt "
                f"{f.attempt}: {_esc(f.error)}{' → parked' if f.parked else ''}"
                for f in run.visible_failures()
            ],
            newest_first=True,
        ),
        _list(
            "Dead letter",
            [
                f"{_esc(short_key(d['instance']))} in {_esc(d['state'])}: {_esc(d['action'])} "
                f"failed {d['attempts']}× ({_esc(d['error'])}); {d['held']} event(s) held"
                for d in run.dead_letters()
            ],
        ),
        _list(
            "Anomalies",
            [
                f"#{a.step} {_esc(a.trigger)} for {_esc(short_key(a.instance))} "
                f"in state {_esc(a.state)}: {_esc(a.reason)}"
                for a in run.visible_anomalies()
            ],
            newest_first=True,
        ),
    ]
    classes = f"workbench-process-run {extra_class}".strip()
    return f"<div class='{_esc(classes)}'>" + "".join(parts) + "</div>"


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _step_html(step: Step | None) -> str:
    if step is None:
        return "<div class='step'><i>no step yet</i></div>"
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


def _list(title: str, items: list[str], newest_first: bool = False) -> str:
    if not items:
        return ""
    shown = list(reversed(items))[:LIST_ROWS] if newest_first else items[:LIST_ROWS]
    more = f"<li>… and {len(items) - len(shown)} more</li>" if len(items) > len(shown) else ""
    return (
        f"<details open><summary>{_esc(title)} ({len(items)})</summary><ul>"
        + "".join(f"<li>{item}</li>" for item in shown)
        + more
        + "</ul></details>"
    )
