"""Every notebook of the curriculum, run top to bottom in JupyterLab in chromium.

Each notebook must run without an error output, every altair chart must draw
marks and every diagram must draw shapes, with no request leaving loopback.
The per-widget tests (``test_widgets.py``) drive the widgets of some of them.
"""

from __future__ import annotations

import pytest
from browserkit import NOTEBOOKS, NotebookRuns, chart_marks, svg_shapes, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))

DRAWS: dict[str, tuple[int, int]] = {
    "01-welcome.ipynb": (1, 0),  # events per type
    "02-event-stream.ipynb": (0, 2),  # the stream viewer's events over time (SVG), time travel
    "03-task-based-ui.ipynb": (0, 0),  # forms and tables only
    "04-inside-the-model.ipynb": (1, 6),  # versions of a conference; the command cycle x6
    "05-projections.ipynb": (3, 0),  # projection view, sponsor pipeline, sales
    "06-process-managers.ipynb": (0, 1),  # the process stepper's state diagram
    "07-event-driven-architecture.ipynb": (1, 4),  # the lag (SystemView); the system map
    # (the run, the view, run.map()), the trace's timeline
    "08-event-storming.ipynb": (0, 7),  # your board (widget, exercise), the comparison;
    # the boards from code, the PNG handout, the coffee corner
    "09-closing.ipynb": (0, 2),  # the purchase process, the storming board
    "10-your-own-history.ipynb": (4, 0),  # funnel, time to pay, discount codes, cohorts
}
"""The altair charts and diagrams each notebook draws, at least.

A notebook that draws fewer (none: a blank output) fails; a new notebook
fails until it is added here.
"""


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_draws_offline(notebook_runs: NotebookRuns, name: str) -> None:
    assert name in DRAWS, f"say in DRAWS how many charts and diagrams {name} draws"
    charts, diagrams = DRAWS[name]
    lab = notebook_runs.get(f"notebooks/{name}")
    lab.assert_no_errors()

    def drawn() -> tuple[list[int], list[int]] | None:
        lab.session.net.assert_clean()  # a blocked CDN load never draws: say so at once
        marks, shapes = chart_marks(lab.notebook), svg_shapes(lab.notebook)
        enough = len(marks) >= charts and len(shapes) >= diagrams
        return (marks, shapes) if enough and all(n > 0 for n in marks + shapes) else None

    marks, shapes = wait_until(
        drawn,
        30,
        lambda: (
            f"{name}: expected at least {charts} charts and {diagrams} diagrams drawn, got "
            f"chart marks {chart_marks(lab.notebook)}, diagram shapes {svg_shapes(lab.notebook)}"
            f"\n{lab.session.net.describe()}"
        ),
    )
    lab.shot(f"drawn-{len(marks)}-charts-{len(shapes)}-diagrams")
    lab.session.net.assert_clean()


def test_the_curriculum_has_notebooks() -> None:
    assert NAMES, f"no notebooks found under {NOTEBOOKS}"
    assert sorted(DRAWS) == NAMES, "DRAWS names every notebook of the curriculum, no more"
