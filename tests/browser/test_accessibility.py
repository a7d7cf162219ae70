"""Every notebook's outputs audited with axe-core in chromium: no critical or serious finding.

What is audited: the OUTPUT areas of each notebook in ``notebooks/`` (globbed, so a
new notebook is audited without listing it), after the notebook has run in
JupyterLab: our widgets (``workbench/widgets/``), our drawings (state diagrams,
storming boards, images) and the altair charts.  JupyterLab's own chrome (menus,
toolbars, the file browser, cell prompts and editors) is left out: we don't own
it and cannot fix it here.  So is one finding inside the outputs that is
JupyterLab's and pandas', not ours: a DataFrame wider than the notebook makes
JupyterLab's own output box scroll, and that box takes no keyboard focus
(``scrollable-region-focusable``); it is reported as a warning, not a failure.
Scroll boxes that the workbench draws itself must take focus (``tabindex="0"``).

How: axe-core's ``axe.min.js`` comes from the ``axe-playwright-python`` wheel (the
dev extra, so ``make test`` installs it and nothing is fetched at test time); it is
injected into the page with Playwright and run over ``.jp-OutputArea`` with the
WCAG 2.0/2.1 A and AA rules plus axe's best practices.  A finding of impact
``critical`` or ``serious`` fails the test, listed as rule, impact, the element's
HTML, the notebook and the cell; every finding of any impact is written to
``artifacts/accessibility/<notebook>.json``.  The notebooks are run once per session
(``notebook_runs``), shared with ``test_notebooks.py``: the audit costs no second run.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
from browserkit import (
    ARTIFACTS,
    NOTEBOOKS,
    BrowserSession,
    NotebookRuns,
    chart_marks,
    svg_shapes,
    wait_until,
)
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))

AXE_JS = Path(axe_playwright_python.__file__).parent / "axe.min.js"
"""axe-core, as shipped inside the ``axe-playwright-python`` wheel."""

OUTPUTS = ".jp-Notebook .jp-OutputArea"
"""What is audited: the notebook's output areas, not JupyterLab's chrome."""

RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
"""axe-core tags run: WCAG 2.0 and 2.1, levels A and AA, and axe's best practices."""

FAILING = ("critical", "serious")
"""Impacts that fail the audit (``moderate`` and ``minor`` are not counted)."""

REPORTS = ARTIFACTS / "accessibility"
"""Where axe-core's full findings (moderate and minor too) go, one JSON file per notebook."""


def axe_violations(page: Page, include: str) -> list[dict[str, Any]]:
    """axe-core's violations for the elements matching ``include`` on ``page``."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))
    assert page.evaluate("() => typeof window.axe === 'object'"), f"{AXE_JS} did not load"
    found: list[dict[str, Any]] = page.evaluate(
        """async ([include, tags]) => {
            if (!document.querySelector(include)) return [];
            const results = await axe.run(
                {include: [[include]]},
                {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']},
            );
            // say where each finding is: the cell (counted from 0, as in the .ipynb) and
            // the start of that output's text
            const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'));
            for (const violation of results.violations) {
                for (const node of violation.nodes) {
                    const el = document.querySelector(node.target[0]);
                    const output = el && el.closest('.jp-OutputArea-output');
                    node.cell = el ? cells.indexOf(el.closest('.jp-Cell')) : -1;
                    node.text = output ? output.innerText.slice(0, 80) : '';
                    // JupyterLab's own output box scrolling a DataFrame as pandas shows it
                    // (class "dataframe" alone; our tables add a class of their own)
                    const table = el && el.querySelector(':scope > table, :scope > div > table');
                    node.theirs = violation.id === 'scrollable-region-focusable' && !!el
                        && el.matches('.jp-OutputArea-output')
                        && !!table && table.className === 'dataframe';
                }
            }
            return results.violations;
        }""",
        [include, RULES],
    )
    return found


def failing(violations: list[dict[str, Any]], theirs: bool = False) -> list[str]:
    """One readable line per element with a critical or serious finding.

    ``theirs=True`` lists instead the findings that are JupyterLab's and pandas' (a
    DataFrame too wide for JupyterLab's output box, which scrolls but takes no focus).
    """
    lines = []
    for violation in violations:
        if violation.get("impact") not in FAILING:
            continue
        for node in violation["nodes"]:
            if bool(node.get("theirs")) != theirs:
                continue
            html = " ".join(node["html"].split())[:240]
            lines.append(
                f"{violation['id']} ({violation['impact']}): {violation['help']}\n"
                f"      element: {html}\n"
                f"      where:   cell {node.get('cell')}, output {node.get('text', '')!r}"
            )
    return lines


@pytest.mark.parametrize("name", NAMES)
def test_notebook_outputs_have_no_serious_accessibility_violation(
    notebook_runs: NotebookRuns, name: str
) -> None:
    lab = notebook_runs.get(f"notebooks/{name}")
    # audit what a person sees: every chart and diagram drawn, and no new one coming
    # (test_notebooks checks how many each notebook draws)
    seen: tuple[int, int] | None = None
    for _ in range(60):
        marks, shapes = chart_marks(lab.notebook), svg_shapes(lab.notebook)
        drawn = (len(marks), len(shapes))
        if all(n > 0 for n in marks + shapes) and drawn == seen:
            break
        seen = drawn
        lab.page.wait_for_timeout(500)
    found = axe_violations(lab.page, OUTPUTS)
    REPORTS.mkdir(parents=True, exist_ok=True)  # every finding, any impact, for the curious
    (REPORTS / f"{Path(name).stem}.json").write_text(json.dumps(found, indent=1), "utf-8")
    problems = failing(found)
    lab.shot("audited")
    for line in failing(found, theirs=True):
        warnings.warn(f"{name}: JupyterLab's, not ours: {line}", stacklevel=1)
    assert not problems, (
        f"{name}: axe-core finds {len(problems)} critical or serious accessibility "
        "problem(s) in the outputs:\n  " + "\n  ".join(problems)
    )


def test_the_time_travel_slider_is_named_and_moves_by_keyboard(
    notebook_runs: NotebookRuns,
) -> None:
    """A screen reader finds the slider by its name, and the arrow keys travel in time."""
    shown = [n for n in NAMES if "TimeTravelView(" in (NOTEBOOKS / n).read_text("utf-8")]
    assert shown, "no notebook shows a TimeTravelView: show one, or drop this test"
    lab = notebook_runs.get(f"notebooks/{shown[0]}")
    travel = lab.notebook.locator(".wb-travel").first
    slider = travel.get_by_role("slider", name="Version")
    readout = travel.locator(".wb-travel-version .widget-readout")
    newest = int(readout.inner_text())
    assert newest > 1, f"the chosen stream should have several versions, shows {newest}"
    slider.focus()
    slider.press("ArrowLeft")
    state = travel.locator(".wb-travel-heading")
    wait_until(
        lambda: (
            readout.inner_text() == str(newest - 1)
            and f"version {newest - 1} of {newest}" in state.inner_text()
        ),
        20,
        lambda: f"ArrowLeft did not travel to version {newest - 1}: {state.inner_text()!r}",
    )
    slider.press("End")
    wait_until(
        lambda: f"version {newest} of {newest}" in state.inner_text(),
        20,
        lambda: f"End did not travel back to version {newest}: {state.inner_text()!r}",
    )
    lab.shot("travelled-by-keyboard")


def test_the_audit_finds_an_unnamed_control_and_an_unnamed_drawing(
    session: BrowserSession,
) -> None:
    """The audit can fail: the problems the workbench once had are found in a bare page."""
    session.page.set_content(
        """<main><div class="jp-Notebook"><div class="jp-OutputArea">
             <input type="number" value="3">
             <select><option>1</option></select>
             <svg role="img" width="40" height="40"><rect width="40" height="40"/></svg>
             <img src="data:image/png;base64,iVBORw0KGgo=">
             <div role="slider" aria-valuenow="1" aria-valuemin="0" aria-valuemax="5"
                  tabindex="0"></div>
             <div class="ours" style="width:100px;overflow:auto">
               <p style="white-space:nowrap">a line far wider than its box</p></div>
             <div class="jp-OutputArea-output" style="width:100px;overflow:auto">
               <table class="dataframe"><tr><td style="white-space:nowrap">a table far wider
               than its box</td></tr></table></div>
             <div class="jp-OutputArea-output" style="width:100px;overflow:auto">
               <table class="dataframe wb-ours"><tr><td style="white-space:nowrap">our table
               far wider than its box</td></tr></table></div>
           </div></div>
           <input type="number" value="4"></main>"""
    )
    violations = axe_violations(session.page, OUTPUTS)
    found = {v["id"]: v for v in violations}
    assert {
        "label",
        "select-name",
        "svg-img-alt",
        "image-alt",
        "aria-input-field-name",
        "scrollable-region-focusable",
    } <= set(found), sorted(found)
    assert len(found["label"]["nodes"]) == 1, "the input outside the outputs is not audited"
    problems, theirs = failing(violations), failing(violations, theirs=True)
    assert len(problems) >= 7, problems
    assert any('class="ours"' in line for line in problems), "our scroll box must take focus"
    assert any("our table" in line for line in problems), "a table of ours is ours"
    assert len(theirs) == 1 and "dataframe" in theirs[0], theirs


def test_every_notebook_is_audited() -> None:
    assert NAMES, f"no notebooks found under {NOTEBOOKS}"
