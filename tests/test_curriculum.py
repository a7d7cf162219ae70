"""Every notebook in notebooks/ runs top to bottom in a fresh kernel, and is stored clean."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds the curriculum; it must not be empty"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    dirty = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and c.get("outputs")]
    assert not dirty, f"{path.name} has outputs in cells {dirty}: clear them before committing"


MINUTES = re.compile(r"^\*\*Time:\*\* (\d+) minutes", re.M)


def bullets_after(text: str, heading: str) -> list[str]:
    """The "- " lines of the list that follows the line starting with `heading`."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    if start is None:
        return []
    found: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("- "):
            found.append(line)
        elif line.strip() or found:
            break
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_opens_with_goals_and_minutes_and_closes_with_a_recap(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and MINUTES.search(first), (
        f"{path.name}: the first cell says how long it takes, on a line '**Time:** N minutes'"
    )
    goals = bullets_after(first, "You will")
    assert 2 <= len(goals) <= 4, (
        f"{path.name}: the first cell lists 2 to 4 goals after 'You will:' (found {len(goals)})"
    )
    last = "".join(cells[-1]["source"])
    assert cells[-1]["cell_type"] == "markdown" and last.startswith("## Recap"), (
        f"{path.name}: the last cell is a markdown recap starting '## Recap'"
    )
    learnt = bullets_after(last, "What you learnt")
    assert 3 <= len(learnt) <= 5, (
        f"{path.name}: the recap lists 3 to 5 points after 'What you learnt:' (found {len(learnt)})"
    )
    assert re.search(r"^\*\*Next:\*\* ", last, re.M), f"{path.name}: the recap says what is next"


def test_a_notebook_without_goals_or_recap_fails(tmp_path: Path) -> None:
    bare = {"cells": [{"cell_type": "markdown", "source": ["# A title\n"]}]}
    (tmp_path / "bare.ipynb").write_text(json.dumps(bare))
    with pytest.raises(AssertionError, match="Time"):
        test_notebook_opens_with_goals_and_minutes_and_closes_with_a_recap(tmp_path / "bare.ipynb")


GUIDE = Path(__file__).parents[1] / "INSTRUCTOR.md"
ROW = re.compile(r"^\| (\d+):(\d\d) \|[^|\n]*\|([^|\n]*)\| (\d+) \|$", re.M)


def timetable() -> list[tuple[int, str, int]]:
    """(start in minutes, notebook column, minutes) of each row of INSTRUCTOR.md's timetable."""
    return [
        (int(h) * 60 + int(m), notebook, int(minutes))
        for h, m, notebook, minutes in ROW.findall(GUIDE.read_text())
    ]


def test_the_instructors_timetable_gives_each_notebook_its_own_minutes() -> None:
    rows = timetable()
    assert len(rows) >= 5, "INSTRUCTOR.md has a timetable: | time | section | notebook | minutes |"
    for (start, notebook, minutes), (following, _, _) in pairwise(rows):
        assert following == start + minutes, (
            f"INSTRUCTOR.md: {notebook.strip() or 'the break'} starts at {start // 60}:"
            f"{start % 60:02d} and takes {minutes} minutes, but the next row starts at "
            f"{following // 60}:{following % 60:02d}"
        )
    for path in NOTEBOOKS:
        time = MINUTES.search("".join(json.loads(path.read_text())["cells"][0]["source"]))
        assert time, f"{path.name} says its minutes ('**Time:** N minutes')"
        if "at home" in time.string[time.start() : time.string.find("\n", time.start())]:
            continue
        listed = [minutes for _, notebook, minutes in rows if f"`{path.name}`" in notebook]
        assert listed == [int(time.group(1))], (
            f"INSTRUCTOR.md's timetable gives {path.name} {listed or 'no row'}, and the notebook "
            f"says {time.group(1)} minutes: give it one row with the same minutes"
        )


@pytest.mark.notebook
@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    errors = [
        (i, o.get("ename"), o.get("evalue"))
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
