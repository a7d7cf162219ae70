"""The widgets driven as a person would, in JupyterLab in chromium, offline.

- command panel + stream viewer (a scratch notebook that wires them together,
  as ``CommandPanel``'s docstring suggests): submit a command, see its event
  appear in the live stream viewer; page and filter the viewer;
- projection view (notebook 05): run to a position, rebuild, see the chart
  change and the progress bar advance;
- process stepper (notebook 06): step, see the highlighted state change;
- time travel (notebook 02): older / newer version of an aggregate;
- CRUD editor (notebook 03): edit a row, save, see the generic ``Row.Updated``.

A test whose widget module or notebook is missing (renamed?) fails, naming it.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from browserkit import NOTEBOOKS, LabPage, NotebookRuns, wait_until, write_notebook
from playwright.sync_api import Locator

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def needs(module: str, notebook: str | None = None) -> None:
    """Fail the calling test when ``module`` (or ``notebook``) is missing: a rename
    must not turn a browser test into a quiet skip."""
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"the widget module {module} is missing (renamed?)", pytrace=False)
    if notebook is not None and not (NOTEBOOKS / notebook).exists():
        pytest.fail(f"notebooks/{notebook} is missing (renamed?)", pytrace=False)


def test_a_missing_widget_or_notebook_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="renamed"):
        needs("workbench.widgets.no_such_widget")
    with pytest.raises(pytest.fail.Exception, match="renamed"):
        needs("workbench.widgets.stream_viewer", "no-such-notebook.ipynb")


def output_with(lab: LabPage, selector: str) -> Locator:
    """The one output area holding ``selector`` (fails clearly when absent)."""
    outputs = lab.outputs_containing(selector)
    count = outputs.count()
    assert count >= 1, f"{lab.path}: no output contains {selector!r}"
    return outputs.last


# --- command panel + stream viewer ------------------------------------------------

PANEL_AND_STREAM = [
    "import workbench as wb\n"
    "from workbench.examples.ticketing import Ticketing\n"
    "from workbench.widgets.command_panel import CommandPanel\n"
    "from workbench.widgets.stream_viewer import StreamViewer\n"
    "\n"
    "wb.enable_offline()\n"
    "app = wb.open_app(Ticketing, wb.copy_sample())",
    "viewer = StreamViewer(app, page_size=10)\nviewer",
    "panel = CommandPanel(app)\npanel",
]


@pytest.fixture(scope="session")
def panel_and_stream(scratch_dir: Path) -> str:
    """A scratch notebook with a stream viewer and a command panel on one sample copy."""
    needs("workbench.widgets.command_panel")
    needs("workbench.widgets.stream_viewer")
    write_notebook(scratch_dir / "panel_and_stream.ipynb", *PANEL_AND_STREAM)
    return "scratch/panel_and_stream.ipynb"


def _stream_state(viewer: Locator) -> dict[str, str]:
    return {
        "heading": viewer.locator(".wb-stream-heading").inner_text(),
        "page": viewer.locator(".wb-stream-page").inner_text(),
        "table": viewer.locator(".wb-stream-table").inner_text(),
    }


def _event_count(viewer: Locator) -> int:
    heading = viewer.locator(".wb-stream-heading").inner_text()
    match = re.search(r"([\d,]+)\s+events", heading)
    assert match, f"cannot read the event count from the viewer heading {heading!r}"
    return int(match.group(1).replace(",", ""))


def test_command_panel_submit_shows_event_in_stream_viewer(
    notebook_runs: NotebookRuns, panel_and_stream: str
) -> None:
    lab = notebook_runs.get(panel_and_stream)
    lab.assert_no_errors()
    viewer = output_with(lab, ".wb-stream-viewer").locator(".wb-stream-viewer")
    panel = output_with(lab, "select").filter(has_text="commands")
    before = _event_count(viewer)

    viewer.locator(".wb-stream-live").click()  # live: pick up events recorded in this kernel
    lab.shot("live-on", viewer)
    panel.get_by_label("Command", exact=True).select_option(label="Schedule conference")
    panel.get_by_label("code (text) *", exact=True).fill("BRW26")
    panel.get_by_label("name (text) *", exact=True).fill("Browser Conference 2026")
    panel.get_by_label("starts on (date) *", exact=True).fill("2026-06-01")
    lab.shot("form-filled", panel)
    panel.get_by_role("button", name="Submit", exact=True).click()

    wait_until(
        lambda: "Recorded 1 event" in panel.inner_text(),
        20,
        lambda: f"the panel did not report the event: {panel.inner_text()[:600]}",
    )
    wait_until(
        lambda: _event_count(viewer) == before + 1,
        20,
        lambda: f"the stream viewer did not pick up the new event: {_stream_state(viewer)}",
    )
    lab.shot("event-recorded", viewer)

    search = viewer.locator(".wb-stream-search input")
    search.fill("Browser Conference 2026")
    search.press("Enter")  # text filters apply on Enter
    rows = viewer.locator(".wb-stream-table tbody tr")
    wait_until(
        lambda: rows.count() == 1 and "Conference.Scheduled" in rows.first.inner_text(),
        20,
        lambda: f"searching did not list exactly the new event: {_stream_state(viewer)}",
    )
    lab.shot("new-event-found", viewer)
    _clear_filters(viewer)
    lab.assert_no_errors()
    lab.session.net.assert_clean()


def _clear_filters(viewer: Locator, page: str | None = None) -> None:
    """Press Clear filters; wait for every event to be shown (and ``page``, if given).

    Each part of the viewer is its own widget, updated by its own message: wait for
    all of them rather than read one and assume the others.
    """
    viewer.get_by_role("button", name="Clear filters").click()

    def unfiltered() -> bool:
        state = _stream_state(viewer)
        match = re.search(r"([\d,]+) events .*showing ([\d,]+)", state["heading"])
        pages = re.fullmatch(r"page 1 of (\d+)", state["page"])
        return (
            match is not None
            and match.group(1) == match.group(2)
            and pages is not None
            and int(pages.group(1)) > 1
            and (page is None or state["page"] == page)
        )

    wait_until(
        unfiltered, 20, lambda: f"Clear filters did not show every event: {_stream_state(viewer)}"
    )


def test_stream_viewer_pages_and_filters(
    notebook_runs: NotebookRuns, panel_and_stream: str
) -> None:
    lab = notebook_runs.get(panel_and_stream)
    viewer = output_with(lab, ".wb-stream-viewer").locator(".wb-stream-viewer")
    assert svg_drawn(viewer), "the viewer's events-per-type chart drew nothing"
    if viewer.locator(".wb-stream-search input").input_value():
        _clear_filters(viewer)  # an earlier test searched
    first = _stream_state(viewer)
    assert re.search(r"page 1 of \d+", first["page"]), first
    total_pages = int(first["page"].rsplit(" ", 1)[1])
    assert total_pages > 1, f"the sample should need several pages: {first['page']}"

    viewer.locator(".wb-stream-next").click()
    wait_until(
        lambda: (
            viewer.locator(".wb-stream-page").inner_text().startswith("page 2 of")
            and _stream_state(viewer)["table"] != first["table"]
        ),
        20,
        lambda: f"Next did not show page 2 with other rows: {_stream_state(viewer)}",
    )
    lab.shot("page-2", viewer)

    viewer.locator(".wb-stream-types select").select_option("TicketPurchase.Paid")

    def shown_types() -> set[str]:
        header = viewer.locator(".wb-stream-table thead th").all_inner_texts()
        assert "event_type" in header, f"no event_type column in {header}"
        column = header.index("event_type") + 1
        cells = viewer.locator(f".wb-stream-table tbody tr td:nth-child({column})")
        return set(cells.all_inner_texts())

    wait_until(
        lambda: (
            viewer.locator(".wb-stream-page").inner_text().startswith("page 1 of")
            and shown_types() == {"TicketPurchase.Paid"}
        ),
        20,
        lambda: f"filtering did not show only paid purchases: {shown_types()}",
    )
    filtered_pages = int(viewer.locator(".wb-stream-page").inner_text().rsplit(" ", 1)[1])
    assert filtered_pages < total_pages
    lab.shot("filtered-paid", viewer)

    _clear_filters(viewer, page=first["page"])
    lab.assert_no_errors()
    lab.session.net.assert_clean()


def svg_drawn(scope: Locator) -> bool:
    """True when ``scope`` holds an SVG with at least one drawn shape."""
    count: int = scope.locator("svg").evaluate_all(
        "(svgs) => svgs.reduce((n, s) => n + s.querySelectorAll('rect, path, circle, line')"
        ".length, 0)"
    )
    return count > 0


# --- process stepper (notebook 06) ---------------------------------------------------

STEPPER_NOTEBOOK = "06-process-managers.ipynb"


def _stepper_state(stepper: Locator) -> tuple[int, str | None, str]:
    """(step number, highlighted state, header text) of the stepper's view."""
    header = stepper.locator(".workbench-process-stepper > div").first.inner_text()
    match = re.search(r"step ([\d,]+) of", header)
    assert match, f"cannot read the step number from {header!r}"
    current = stepper.locator(".workbench-process-stepper g.state.current")
    state = current.first.get_attribute("data-state") if current.count() else None
    return int(match.group(1).replace(",", "")), state, header


def test_process_stepper_steps_and_highlights_state(notebook_runs: NotebookRuns) -> None:
    needs("workbench.widgets.process_stepper", STEPPER_NOTEBOOK)
    lab = notebook_runs.get(f"notebooks/{STEPPER_NOTEBOOK}")
    out = lab.outputs_containing(".workbench-process-stepper").filter(
        has=lab.page.get_by_role("button", name="Step ▶")
    )
    assert out.count() == 1, f"one process stepper expected in {STEPPER_NOTEBOOK}"
    stepper = out.first
    step_button = stepper.get_by_role("button", name="Step ▶")
    step_button.scroll_into_view_if_needed()
    diagram = stepper.locator(".workbench-process-stepper svg").first
    assert diagram.locator("g.state").count() >= 3, "the state diagram draws no states"

    number, state, _ = _stepper_state(stepper)
    first_state = state
    lab.shot(f"stepper-at-{number}-{state}")
    seen = [state]
    for _ in range(25):
        before = number
        step_button.click()
        wait_until(
            lambda: _stepper_state(stepper)[0] > before,  # noqa: B023 (called in this loop)
            20,
            lambda: f"Step did not advance the run: {_stepper_state(stepper)[2]}",
        )
        number, state, _ = _stepper_state(stepper)
        seen.append(state)
        if first_state is None:
            first_state = state  # the first highlighted state
        elif state is not None and state != first_state:
            break
    assert first_state is not None and state not in (None, first_state), (
        f"the highlighted state never changed from one state to another: {seen}"
    )
    assert stepper.locator(".workbench-process-stepper g.edge.last").count() == 1, (
        "the transition just taken is not marked"
    )
    lab.shot(f"stepper-at-{number}-{state}")

    stepper.get_by_role("button", name="◀ Back").click()
    wait_until(
        lambda: _stepper_state(stepper)[0] == number - 1,
        20,
        lambda: f"Back did not go one step back: {_stepper_state(stepper)[2]}",
    )
    lab.shot("stepper-back")
    lab.assert_no_errors()
    lab.session.net.assert_clean()


# --- projection view (notebook 05) ---------------------------------------------------

PROJECTION_NOTEBOOK = "05-projections.ipynb"

PROGRESS_JS = """
(bar) => {
  const fill = bar.querySelector('.progress-bar');
  return fill ? parseFloat(fill.style.width || '0') : -1;
}
"""

WATCH_PROGRESS_JS = """
(bar) => {
  const fill = bar.querySelector('.progress-bar');
  window.__wbProgress = [];
  new MutationObserver(() => window.__wbProgress.push(parseFloat(fill.style.width || '0')))
    .observe(fill, {attributes: true, attributeFilter: ['style']});
}
"""

CHART_SIGNATURE_JS = """
(root) => Array.from(root.querySelectorAll('svg.marks g.role-mark > *'))
  .map((m) => (m.getAttribute('d') || '') + (m.getAttribute('transform') || '')).join('|')
"""


def test_projection_rebuild_changes_chart_and_advances_progress(
    notebook_runs: NotebookRuns,
) -> None:
    needs("workbench.widgets.projection_view", PROJECTION_NOTEBOOK)
    lab = notebook_runs.get(f"notebooks/{PROJECTION_NOTEBOOK}")
    view = output_with(lab, ".wb-projection-view").locator(".wb-projection-view").first
    view.scroll_into_view_if_needed()
    bar = view.locator(".wb-projection-progress")
    chart = view.locator(".wb-projection-chart")
    status = view.locator(".wb-projection-status")

    def state() -> str:
        return status.inner_text()

    # a partial read model first: run to position 1000
    view.locator(".wb-projection-time input").fill("")
    view.locator(".wb-projection-position input").fill("1000")
    view.locator(".wb-projection-position input").press("Enter")
    view.locator(".wb-projection-run-to").click()
    wait_until(
        lambda: re.search(r"^done at position 1,000\b", state()),
        30,
        lambda: f"Run to 1000 did not finish there: {state()!r}",
    )
    wait_until(lambda: chart_signature(chart), 20, "the chart drew no marks at position 1000")
    partial_chart = chart_signature(chart)
    lab.shot("projection-at-1000")

    bar.evaluate(WATCH_PROGRESS_JS)
    view.locator(".wb-projection-rebuild").click()
    wait_until(
        lambda: state().startswith("done") and "1,000 " not in state().split("—")[0],
        60,
        lambda: f"Rebuild did not finish: {state()!r}",
    )
    wait_until(
        lambda: chart_signature(chart) not in ("", partial_chart),
        20,
        lambda: "the chart did not change after the rebuild",
    )
    # the bar and the status label are separate widgets: wait for the bar's own update
    wait_until(
        lambda: float(bar.evaluate(PROGRESS_JS)) == 100,
        20,
        lambda: f"a finished rebuild shows {bar.evaluate(PROGRESS_JS)}% progress",
    )
    observed: list[float] = lab.page.evaluate("() => window.__wbProgress")
    assert any(0 < value < 100 for value in observed), (
        f"the progress bar showed no step between empty and full: {observed}"
    )
    lab.shot(f"projection-rebuilt-{len(observed)}-progress-updates")
    lab.assert_no_errors()
    lab.session.net.assert_clean()


def chart_signature(scope: Locator) -> str:
    """The geometry of the data marks of the altair chart(s) under ``scope``."""
    signature: str = scope.evaluate(CHART_SIGNATURE_JS)
    return signature


# --- time travel (notebook 02) -------------------------------------------------------

STREAM_NOTEBOOK = "02-event-stream.ipynb"


def test_time_travel_moves_to_an_older_version(notebook_runs: NotebookRuns) -> None:
    needs("workbench.widgets.time_travel", STREAM_NOTEBOOK)
    lab = notebook_runs.get(f"notebooks/{STREAM_NOTEBOOK}")
    travel = output_with(lab, ".wb-travel").locator(".wb-travel").first
    travel.scroll_into_view_if_needed()
    readout = travel.locator(".wb-travel-version .widget-readout")

    def seen() -> tuple[str, str]:
        return readout.inner_text(), travel.locator(".wb-travel-state").inner_text()

    newest, newest_state = seen()
    assert int(newest) > 1, f"the chosen stream should have several versions, shows {newest}"
    lab.shot(f"travel-version-{newest}")
    travel.locator(".wb-travel-prev").click()
    wait_until(
        lambda: seen()[0] == str(int(newest) - 1) and seen()[1] != newest_state,
        20,
        lambda: f"Older did not show version {int(newest) - 1}: readout {seen()[0]!r}",
    )
    lab.shot(f"travel-version-{int(newest) - 1}")
    travel.locator(".wb-travel-next").click()
    wait_until(
        lambda: seen() == (newest, newest_state),
        20,
        lambda: f"Newer did not come back to version {newest}: readout {seen()[0]!r}",
    )
    lab.assert_no_errors()
    lab.session.net.assert_clean()


# --- CRUD editor (notebook 03) -------------------------------------------------------

TASKS_NOTEBOOK = "03-task-based-ui.ipynb"


def test_crud_editor_saves_a_generic_row_update(notebook_runs: NotebookRuns) -> None:
    needs("workbench.widgets.crud_editor", TASKS_NOTEBOOK)
    lab = notebook_runs.get(f"notebooks/{TASKS_NOTEBOOK}")
    editor = lab.outputs_containing("button").filter(has_text="edit and save").last
    editor.scroll_into_view_if_needed()
    rows = editor.get_by_label("Row", exact=True)
    keys = rows.locator("option").all_inner_texts()
    assert keys, "the CRUD editor offers no row to pick"
    rows.select_option(label=keys[0])
    status = editor.get_by_label("status", exact=True)
    wait_until(lambda: status.input_value() != "", 10, "picking a row filled no fields")
    status.fill("refunded by hand")
    lab.shot("crud-edited")
    editor.get_by_role("button", name="Save", exact=True).click()
    wait_until(
        lambda: "Saved: Row.Updated" in editor.inner_text(),
        20,
        lambda: f"Save did not record a Row.Updated: {editor.inner_text()[-400:]}",
    )
    newest = editor.locator("table").last.locator("tbody tr").first
    wait_until(
        lambda: "Row.Updated" in newest.inner_text() and "refunded by hand" in newest.inner_text(),
        20,
        lambda: f"the history does not show the update first: {newest.inner_text()!r}",
    )
    lab.shot("crud-saved")
    lab.assert_no_errors()
    lab.session.net.assert_clean()
