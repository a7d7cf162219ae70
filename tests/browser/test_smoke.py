"""The harness itself: a tiny generated notebook in JupyterLab and Voila, offline.

Also proves the guard: a chart from altair's default (CDN) renderer is caught.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from browserkit import (
    BrowserSession,
    LabPage,
    Server,
    VoilaPage,
    assert_charts_drawn,
    chart_marks,
    open_session,
    wait_until,
    write_notebook,
)
from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SETUP_OFFLINE = 'import altair as alt\nalt.renderers.enable("jupyter", offline=True)'
SETUP_CDN = "import altair as alt\n# altair's default renderer: loads vega from a CDN"

WIDGET_CELL = """\
import ipywidgets as widgets

clicks = widgets.IntText(value=0, description="clicks")
button = widgets.Button(description="Add one")
button.add_class("smoke-add-one")


def add_one(_: object) -> None:
    clicks.value += 1


button.on_click(add_one)
widgets.HBox([button, clicks])"""

CHART_CELL = """\
import pandas as pd

data = pd.DataFrame({"kind": ["a", "b", "c"], "count": [1, 3, 2]})
alt.Chart(data).mark_bar().encode(x="kind", y="count")"""


@pytest.fixture(scope="module")
def smoke_notebook(scratch_dir: Path) -> str:
    """``scratch/smoke.ipynb``: a button that counts clicks and an offline altair chart."""
    write_notebook(scratch_dir / "smoke.ipynb", SETUP_OFFLINE, WIDGET_CELL, CHART_CELL)
    return "scratch/smoke.ipynb"


def test_lab_runs_widget_and_offline_chart(lab: LabPage, smoke_notebook: str) -> None:
    lab.open(smoke_notebook)
    lab.run_all()
    lab.assert_no_errors()
    marks = assert_charts_drawn(lab.notebook, lab.session.net)
    assert marks == [3], f"one bar chart with three bars expected, got {marks}"

    count = lab.notebook.locator(".widget-inline-hbox input[type=number]")
    assert count.input_value() == "0"
    lab.notebook.locator(".smoke-add-one").click()
    wait_until(lambda: count.input_value() == "1", 10, "the click did not reach the kernel")
    lab.shot("clicked-add-one")
    lab.session.net.assert_clean()


def test_voila_renders_widget_and_offline_chart(voila: VoilaPage, smoke_notebook: str) -> None:
    voila.open(smoke_notebook)
    assert not voila.errors()
    marks = assert_charts_drawn(voila.page, voila.session.net)
    assert marks == [3]
    count = voila.page.locator(".widget-inline-hbox input[type=number]")
    voila.page.locator(".smoke-add-one").click()
    wait_until(lambda: count.input_value() == "1", 10, "the click did not reach the kernel")
    voila.session.shot("clicked-add-one")
    voila.session.net.assert_clean()


def test_guard_catches_a_chart_loaded_from_a_cdn(
    browser: Browser, lab_server: Server, scratch_dir: Path
) -> None:
    """The offline guard must see (and abort) altair's default CDN renderer."""
    write_notebook(scratch_dir / "cdn.ipynb", SETUP_CDN, CHART_CELL)
    session: BrowserSession = open_session(browser, "guard-catches-cdn")
    try:
        lab = LabPage(session=session, server=lab_server)
        lab.open("scratch/cdn.ipynb")
        lab.run_all()
        offenders = session.net.offenders()
        assert offenders, "altair's CDN renderer made no outside request: is the guard broken?"
        assert all("127.0.0.1" not in url for url in offenders)
        assert not [n for n in chart_marks(lab.notebook) if n > 0], "a CDN chart drew offline"
        with pytest.raises(AssertionError, match="outside loopback"):
            session.net.assert_clean()
    finally:
        session.close()


def test_a_failing_widget_callback_is_caught(lab: LabPage, scratch_dir: Path) -> None:
    """A button whose callback raises shows no cell error, only a log-console traceback."""
    write_notebook(scratch_dir / "boom.ipynb", BOOM_CELL)
    lab.open("scratch/boom.ipynb")
    lab.run_all()
    lab.assert_no_errors()
    lab.page.get_by_role("button", name="Boom", exact=True).click()
    logged = wait_until(lab.log_console_errors, 20, "the callback's traceback was not seen")
    assert "kaboom in a callback" in logged[0]
    lab.log_seen = 0  # let assert_no_errors see the traceback again
    with pytest.raises(AssertionError, match="log console"):
        lab.assert_no_errors()


BOOM_CELL = """\
import ipywidgets as widgets

boom = widgets.Button(description="Boom")


def explode(_: object) -> None:
    raise RuntimeError("kaboom in a callback")


boom.on_click(explode)
boom"""


@pytest.mark.parametrize(("required", "outcome"), [("1", "1 error"), ("", "1 skipped")])
def test_a_missing_chromium_fails_when_required(
    tmp_path: Path, required: str, outcome: str
) -> None:
    """``WORKBENCH_REQUIRE_BROWSER`` (set by ``make test``) turns the skip into a failure."""
    env = {
        **os.environ,
        "WORKBENCH_CHROMIUM": str(tmp_path / "no-chromium"),
        "WORKBENCH_REQUIRE_BROWSER": required,
    }
    test = f"{Path(__file__)}::test_guard_catches_a_chart_loaded_from_a_cdn"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", test],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert outcome in done.stdout, done.stdout[-2000:]
    assert "chromium is missing" in done.stdout
    assert (done.returncode != 0) == bool(required)
