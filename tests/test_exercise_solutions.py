"""Every notebook exercise has a solution (in a "A solution" fold) that passes its own check.

The attendee's version of each notebook runs in tests/test_curriculum.py; here each
solution is put after its exercise cell and the notebook runs again: its check cell must
then say the exercise is done, not "Not yet".
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
SOLUTION = re.compile(r"<summary>A solution</summary>\s*```python\n(.*?)```", re.S)


def with_solutions(path: Path) -> tuple[nbformat.NotebookNode, list[int]]:
    """The notebook with each solution placed after its exercise; and the check cells."""
    nb = nbformat.read(path, as_version=4)
    checks = []
    cells = list(nb.cells)
    for index, cell in enumerate(list(cells)):
        found = SOLUTION.search(cell.source) if cell.cell_type == "markdown" else None
        if found:
            exercise = cells[index - 2]
            exercise.source += "\n\n# the solution\n" + found.group(1)
            checks.append(index - 1)
    nb.cells = cells
    return nb, checks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_exercise_has_a_solution(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    exercises = [
        c for c in cells if c.cell_type == "markdown" and re.match(r"#+ Exercise", c.source)
    ]
    solutions = [c for c in cells if c.cell_type == "markdown" and SOLUTION.search(c.source)]
    assert len(solutions) == len(exercises), (
        f"{path.name}: {len(exercises)} exercises, {len(solutions)} solution folds"
    )


@pytest.mark.notebook
@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_solutions_pass_their_checks(path: Path) -> None:
    nb, checks = with_solutions(path)
    if not checks:
        pytest.skip(f"{path.name} has no exercise")
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    for index in checks:
        out = "".join(
            o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
            for o in nb.cells[index].get("outputs", [])
        )
        assert "Not yet" not in out and "Error" not in out, f"{path.name} cell {index}: {out}"
        assert out.strip(), f"{path.name} cell {index} printed nothing"
