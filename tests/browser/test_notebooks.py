"""Every notebook of the curriculum, run top to bottom in JupyterLab in chromium.

Each notebook must run without an error output, every altair chart must draw
marks and every diagram must draw shapes, with no request leaving loopback.
The per-widget tests (``test_widgets.py``) drive the widgets of some of them.
"""

from __future__ import annotations

import pytest
from browserkit import NOTEBOOKS, NotebookRuns

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_draws_offline(notebook_runs: NotebookRuns, name: str) -> None:
    lab = notebook_runs.get(f"notebooks/{name}")
    lab.assert_no_errors()
    marks, shapes = lab.assert_drawn()
    lab.shot(f"drawn-{len(marks)}-charts-{len(shapes)}-diagrams")
    lab.session.net.assert_clean()


def test_the_curriculum_has_notebooks() -> None:
    assert NAMES, f"no notebooks found under {NOTEBOOKS}"
