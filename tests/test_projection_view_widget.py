"""The projection widget, driven headlessly: rebuild, pause, step, stop-at, lag, failures."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from test_projections import Fragile, build

from workbench.charts.projections import remaining_chart
from workbench.clock import ManualClock, use_clock
from workbench.examples.history import SAMPLE_TICKETING
from workbench.examples.ticketing import Ticketing
from workbench.examples.ticketing.readmodels import TicketsRemaining, remaining_frame
from workbench.projections import EventView, ProjectionRun, ReadModel, handles
from workbench.widgets.projection_view import ProjectionView


class SlowTicketsRemaining(TicketsRemaining):
    """Tickets remaining, slowed down so a rebuild lasts long enough to pause."""

    @handles("Conference.TicketsReserved")
    def reserved(self, event: EventView, model: ReadModel) -> None:
        time.sleep(0.0005)
        super().reserved(event, model)


def records_of(frame: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in frame.to_dict(orient="records")]


def chart_records(view: ProjectionView) -> list[dict[str, Any]]:
    (dataset,) = view.chart_widget.spec["datasets"].values()
    return list(dataset)


def reference(upto: int | None = None) -> Any:
    run = ProjectionRun(TicketsRemaining(), SAMPLE_TICKETING).run(upto)
    return remaining_frame(run.model)


@pytest.fixture
def view() -> ProjectionView:
    run = ProjectionRun(TicketsRemaining(), SAMPLE_TICKETING, batch_size=200)
    return ProjectionView(run, remaining_frame, remaining_chart)


def test_rebuild_draws_the_final_read_model(view: ProjectionView) -> None:
    view.rebuild_button.click()
    view.wait()
    assert view.run.status == "done"
    expected = reference()
    assert records_of(view.chart_data) == records_of(expected)
    assert chart_records(view) == records_of(expected)
    assert view.progress_bar.value == view.progress_bar.max == view.run.progress.total
    assert "done" in view.status_label.value and "up to date" in view.lag_label.value


def test_controls_have_stable_descriptions_and_classes(view: ProjectionView) -> None:
    buttons = {
        view.rebuild_button: ("Rebuild", "wb-projection-rebuild"),
        view.pause_button: ("Pause", "wb-projection-pause"),
        view.step_button: ("Step", "wb-projection-step"),
        view.run_to_button: ("Run to", "wb-projection-run-to"),
        view.catch_up_button: ("Catch up", "wb-projection-catch-up"),
        view.stop_button: ("Stop", "wb-projection-stop"),
    }
    for button, (description, css) in buttons.items():
        assert button.description == description and css in button._dom_classes
    for widget, css in [
        (view.progress_bar, "wb-projection-progress"),
        (view.lag_label, "wb-projection-lag"),
        (view.chart_output, "wb-projection-chart"),
        (view.position_input, "wb-projection-position"),
        (view.time_input, "wb-projection-time"),
        (view, "wb-projection-view"),
    ]:
        assert css in widget._dom_classes


def test_every_input_is_named_for_a_screen_reader(view: ProjectionView) -> None:
    import ipywidgets as widgets

    def walk(widget: Any) -> Any:
        yield widget
        for child in getattr(widget, "children", ()):
            yield from walk(child)

    kinds = (widgets.Dropdown, widgets.Text, widgets.IntText, widgets.BoundedIntText)
    inputs = [w for w in walk(view) if isinstance(w, kinds)]
    assert len(inputs) >= 3
    # ipywidgets draws a description as a <label> tied to the input; a placeholder names it too
    unnamed = [
        type(w).__name__ for w in inputs if not (w.description or w.get_state().get("placeholder"))
    ]
    assert not unnamed, f"inputs without a name: {unnamed}"
    view.rebuild_button.click()
    view.wait()
    # no vega-embed "…" menu: its button is an icon a screen reader cannot name
    assert view.chart_widget.embed_options == {"actions": False}


def test_pause_and_resume_a_rebuild_with_throttled_redraws() -> None:
    run = ProjectionRun(SlowTicketsRemaining(), SAMPLE_TICKETING, batch_size=20)
    view = ProjectionView(run, remaining_frame, remaining_chart, redraws_per_second=4)
    started = time.perf_counter()
    view.rebuild_button.click()
    time.sleep(0.1)
    view.pause_button.click()
    deadline = time.monotonic() + 10
    while run.status != "paused" and time.monotonic() < deadline:  # the batch in hand finishes
        time.sleep(0.01)
    assert run.status == "paused" and view.pause_button.description == "Resume"
    paused_at = run.position
    time.sleep(0.2)
    assert run.position == paused_at < run.history.max_position()
    view.pause_button.click()
    assert view.pause_button.description == "Pause"
    view.wait()
    elapsed = time.perf_counter() - started
    assert run.status == "done"
    assert records_of(view.chart_data) == records_of(reference())
    # a few redraws per second at most (plus the first and the last)
    assert 2 <= view.redraws <= elapsed * 4 + 3


def test_step_applies_the_next_events_and_redraws(view: ProjectionView) -> None:
    view.step_count.value = 3
    view.step_button.click()
    run = view.run
    assert run.progress.handled == 3 and run.status == "stopped"
    assert records_of(view.chart_data) == records_of(remaining_frame(run.model))
    assert records_of(view.chart_data) == records_of(reference(run.position))
    view.step_count.value = 1
    before = run.position
    view.step_button.click()
    assert run.position > before and run.progress.handled == 1


def test_run_to_a_position(view: ProjectionView) -> None:
    view.position_input.value = 1234
    view.run_to_button.click()
    view.wait()
    assert view.run.position == 1234
    assert records_of(view.chart_data) == records_of(reference(1234))
    assert "behind" in view.lag_label.value


def test_run_to_a_time(view: ProjectionView) -> None:
    view.time_input.value = "2017-12-01T00:00"
    view.run_to_button.click()
    view.wait()
    position = view.run.position_at(datetime(2017, 12, 1, tzinfo=UTC))
    assert 0 < view.run.position == position < view.run.history.max_position()
    assert records_of(view.chart_data) == records_of(reference(position))


def test_a_bad_time_says_how_to_write_it(view: ProjectionView) -> None:
    view.time_input.value = "next tuesday"
    view.run_to_button.click()
    assert "2018-01-31T12:00" in view.failure_box.value
    assert view.run.position == 0


def test_lag_and_catch_up() -> None:
    clock = ManualClock(datetime(2018, 1, 15, tzinfo=UTC))
    with use_clock(clock):
        app: Ticketing = build([(0, 1, 1), (1, 2, 3)])
        run = ProjectionRun(TicketsRemaining(), app).run()
        view = ProjectionView(run, remaining_frame, remaining_chart)
        conference = app.schedule_conference("NEW", "New", date(2018, 6, 1))
        app.add_ticket_type(conference, "Standard", Decimal("10.00"), capacity=3)
    view._update_status()
    assert "2 events behind" in view.lag_label.value
    view.catch_up_button.click()
    view.wait()
    assert "up to date" in view.lag_label.value
    assert "NEW" in set(view.chart_data["conference"])


def test_a_failing_handler_is_shown() -> None:
    run = ProjectionRun(Fragile(), SAMPLE_TICKETING)
    view = ProjectionView(run)
    view.rebuild_button.click()
    view.wait()
    assert run.status == "failed"
    assert "Handler failed at position" in view.failure_box.value
    assert "boom" in view.failure_box.value


def test_follow_then_rebuild_stops_following(view: ProjectionView) -> None:
    view.follow_toggle.value = True
    assert view.run.following
    view.rebuild_button.click()
    view.wait()
    assert not view.follow_toggle.value and not view.run.following
    assert view.run.status == "done"
    assert records_of(view.chart_data) == records_of(reference())
