"""The system view and the policy stepper view, driven headlessly: buttons clicked, state read."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import pytest

from workbench.systems import open_system
from workbench.systems.examples import SYSTEM, Counter, Doubler
from workbench.widgets import PolicyStepperView, SystemView


@pytest.fixture
def run() -> Any:
    with open_system(SYSTEM) as opened:
        yield opened


CONTROLS = (widgets.Button, widgets.ToggleButton, widgets.Checkbox, widgets.Dropdown)


def named(view: widgets.Widget) -> list[str]:
    """Every control in ``view`` that a screen reader can't name (no text): should be none."""
    unnamed = []
    stack = [view]
    while stack:
        w = stack.pop()
        stack.extend(getattr(w, "children", ()))
        if isinstance(w, CONTROLS) and not w.description.strip():
            unnamed.append(repr(w))
    return unnamed


def test_system_view_redraws_the_lag_when_paused_and_resumed(run: Any) -> None:
    view = SystemView(run)
    assert named(view) == []
    assert view.chart_data["lag"].tolist() == [0]
    view.pause_button.click()
    assert run.paused and view.pause_button.description == "Resume followers"
    run.get(Counter).count(1)
    run.get(Counter).count(2)
    assert view.chart_data["lag"].tolist() == [0]  # not redrawn until asked
    view.refresh_button.click()
    assert view.chart_data["lag"].tolist() == [2]
    assert "2 event(s) waiting" in view.status.value
    assert view.chart_widget.spec["datasets"]  # the chart's data was swapped in
    # no unnamed vega-embed "…" menu for a screen reader to stumble on (axe: summary-name)
    assert view.chart_widget.embed_options == {"actions": False}
    view.pause_button.click()
    assert not run.paused
    assert view.chart_data["lag"].tolist() == [0]
    assert "Tally.Counted ×2" in view.map_view.value
    assert 'role="img"' in view.map_view.value


def test_follow_live_redraws_after_each_save(run: Any) -> None:
    view = SystemView(run, interval=0)
    before = view.redraws
    run.get(Counter).count(1)
    assert view.redraws == before  # not following yet
    view.follow.value = True
    following = view.redraws
    run.get(Counter).count(2)
    assert view.redraws > following
    assert "Tally.Counted ×2" in view.map_view.value
    view.follow.value = False
    stopped = view.redraws
    run.get(Counter).count(3)
    assert view.redraws == stopped
    view.close()


def test_stepper_view_steps_backs_and_shows_a_failing_policy(run: Any) -> None:
    run.pause()
    run.get(Counter).count(5)
    run.get(Counter).count(-1)
    view = PolicyStepperView(run.stepper(Doubler))
    assert named(view) == []
    assert view.back_button.disabled and "next: Tally.Counted at position 1" in view.heading.value
    view.step_button.click()
    assert "Double.Made" in view.panel.value and "value" in view.panel.value
    assert not view.back_button.disabled
    view.end_button.click()
    assert "stopped at a failing policy: ValueError" in view.status.value
    assert "nothing was recorded" in view.panel.value
    assert len(view.stepper.steps) == 1
    view.back_button.click()
    assert view.stepper.position == 0 and view.status.value.endswith("undid step 1</span>")
    view.reset_button.click()
    assert view.panel.value == ""


def test_stepper_view_on_the_real_follower_goes_forward_only(run: Any) -> None:
    run.pause()
    run.get(Counter).count(5)
    view = PolicyStepperView(run.stepper("Doubler", sandbox=False))
    assert view.back_button.disabled and view.reset_button.disabled
    view.step_button.click()
    assert run.get(Doubler).recorder.max_tracking_id("Counter") == 1
    assert view.step_button.disabled  # nothing more upstream
    view.reset_button.click()  # disabled in a browser; forwarded here, refused with a reason
    assert "cannot be reset" in view.status.value


def test_catch_up_button_processes_what_waits(tmp_path: Any) -> None:
    with open_system(SYSTEM, f"{tmp_path}/") as first:
        first.pause()
        first.get(Counter).count(1)
    with open_system(SYSTEM, f"{tmp_path}/") as again:
        view = SystemView(again)
        assert view.chart_data["lag"].tolist() == [1]
        view.catch_up_button.click()
        assert view.chart_data["lag"].tolist() == [0]
        assert "0 event(s) waiting" in view.status.value
