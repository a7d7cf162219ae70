"""The storming activity's widget in JupyterLab in chromium, driven from the keyboard.

A scratch notebook shows a :class:`~workbench.widgets.StormingActivityView` for a
scenario of the box office. The test finds each control by the name a screen reader
reads, types a sticky, reaches *Add* with Tab and presses Enter; the board redraws with
the sticky on it. *Compare with the code* then shows the comparison picture and the
verdict. Nothing is fetched from outside loopback.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from browserkit import LabPage, wait_until, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

CELLS = [
    "from workbench.examples.ticketing import Ticketing\n"
    "from workbench.storming import StormingActivity, storming_board\n"
    "from workbench.widgets import StormingActivityView\n"
    "\n"
    'activity = StormingActivity("A customer pays", commands=["pay"])\n'
    "StormingActivityView(activity, storming_board(Ticketing))",
]
VIEW = ".wb-storming-activity-view"


def test_a_sticky_added_from_the_keyboard_redraws_the_board_and_compares(
    lab: LabPage, scratch_dir: Path
) -> None:
    if importlib.util.find_spec("workbench.widgets.storming_activity") is None:
        pytest.fail("workbench.widgets.storming_activity is missing (renamed?)", pytrace=False)
    write_notebook(scratch_dir / "storming_activity.ipynb", *CELLS)
    lab.open("scratch/storming_activity.ipynb")
    lab.run_all()
    lab.assert_no_errors()
    view = lab.notebook.locator(VIEW)
    wait_until(lambda: view.count() == 1, 30, "the storming activity widget is not shown")
    board = view.locator("svg.wb-storming-activity")
    assert board.get_attribute("role") == "img"
    assert "no stickies yet" in (board.get_attribute("aria-label") or "")

    text = view.get_by_role("textbox", name="Sticky text")
    assert view.get_by_role("combobox", name="Kind").input_value() == "event"
    text.click()
    text.fill("Purchase paid")
    lab.page.keyboard.press("Tab")  # to the kind
    lab.page.keyboard.press("Tab")  # to Add
    add = view.get_by_role("button", name="Add")
    wait_until(
        lambda: add.evaluate("(b) => b === document.activeElement"), 5, "Tab does not reach Add"
    )
    lab.page.keyboard.press("Enter")
    sticky = view.locator('svg.wb-storming-activity g.wb-sticky[data-name="Purchase paid"]')
    wait_until(lambda: sticky.count() == 1, 20, "the board was not redrawn with the new sticky")
    label = view.locator("svg.wb-storming-activity").get_attribute("aria-label") or ""
    assert "event Purchase paid" in label, label
    lab.shot("storming-activity-added", focus=view)

    view.get_by_role("button", name="Compare with the code").click()
    verdict = view.locator("pre.wb-verdict")
    wait_until(lambda: verdict.count() == 1, 20, "Compare shows no verdict")
    assert verdict.inner_text().startswith("Correct:"), verdict.inner_text()
    assert "as Paid" in verdict.inner_text(), "the code's name of a near-miss is in the verdict"
    assert view.locator("svg g.wb-lane[data-lane='From the code']").count() == 1
    lab.shot("storming-activity-compared", focus=view)
    lab.assert_no_errors()
    lab.session.net.assert_clean()
