"""The storming board of the two-system teaching domain, in JupyterLab in chromium, offline.

Notebook 08 is run top to bottom; its two-system board (ticketing + sponsorship, with
the purchase and sponsor-tickets process managers and three read models) is measured
in the page, with the fonts the browser really uses:

- it fits the notebook's width, and is not shrunk below readable;
- every line of every label lies inside its sticky (labels are never cut);
- the timeline reads left to right: the CRM's settle_invoice, its InvoiceSettled,
  the lilac policy, then the box office's issue_complimentary_tickets;
- no two arrows cross and no arrow runs under a sticky;
- nothing is fetched from outside loopback (the board needs no network).

The board is screenshotted to ``/tmp/storming-board.png`` (and the artifacts folder).
"""

from __future__ import annotations

import shutil
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from browserkit import LabPage, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NOTEBOOK = "notebooks/08-event-storming.ipynb"
COPY = "scratch/storming-06.ipynb"
"""A copy with a kernel of its own (the notebook run of the session has the original's)."""
BOARD = 'svg.wb-storming-board:has(g.wb-lane[data-lane="Sponsorship"])'
SCREENSHOT = Path("/tmp/storming-board.png")

MEASURE_JS = """
(svg) => {
  const view = svg.viewBox.baseVal;
  const shown = svg.getBoundingClientRect();
  const area = svg.closest('.jp-OutputArea-output').getBoundingClientRect();
  const stickies = [...svg.querySelectorAll('g.wb-sticky')].map((g) => {
    const r = g.querySelector('rect').getBBox();
    return {
      kind: g.classList[1].slice(3),
      name: g.dataset.name,
      box: [r.x, r.y, r.width, r.height],
      lines: [...g.querySelectorAll('text')].map((t) => {
        const b = t.getBBox();
        return [t.textContent, b.x, b.y, b.width, b.height];
      }),
    };
  });
  const links = [...svg.querySelectorAll('path.wb-link')].map((p) => {
    const n = p.getTotalLength();
    return [...Array(25).keys()].map((i) => {
      const q = p.getPointAtLength((n * i) / 24);
      return [q.x, q.y];
    });
  });
  return {
    scale: shown.width / view.width,
    shownWidth: shown.width,
    areaWidth: area.width,
    stickies,
    links,
  };
}
"""


def _crosses(a: list[list[float]], b: list[list[float]]) -> bool:
    def turn(p: list[float], q: list[float], r: list[float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    for p1, p2 in pairwise(a):
        for p3, p4 in pairwise(b):
            d1, d2, d3, d4 = turn(p3, p4, p1), turn(p3, p4, p2), turn(p1, p2, p3), turn(p1, p2, p4)
            if (d1 > 0) != (d2 > 0) and (d3 > 0) != (d4 > 0) and 0 not in (d1, d2, d3, d4):
                return True
    return False


def test_the_two_system_board_reads_left_to_right_whole_and_untangled(
    lab: LabPage, server_root: Path
) -> None:
    shutil.copyfile(server_root / NOTEBOOK, server_root / COPY)
    lab.open(COPY)
    lab.run_all()
    lab.assert_no_errors()
    board = lab.notebook.locator(BOARD)
    wait_until(lambda: board.count() == 1, 30, f"{NOTEBOOK}: the two-system board is not shown")
    board.scroll_into_view_if_needed()
    lab.page.wait_for_timeout(500)
    board.screenshot(path=str(SCREENSHOT))
    lab.shot("storming-board", focus=board)
    m: dict[str, Any] = board.evaluate(MEASURE_JS)

    # It fits the notebook's width and stays readable.
    assert m["shownWidth"] <= m["areaWidth"] + 1, m
    assert m["scale"] >= 0.8, f"the board is shrunk to {m['scale']:.2f}: too small to read"

    # Every line of every label lies inside its sticky (measured with the browser's font).
    for sticky in m["stickies"]:
        x, y, w, h = sticky["box"]
        for text, tx, ty, tw, th in sticky["lines"]:
            assert x < tx and tx + tw < x + w, f"{sticky['name']}: {text!r} sticks out sideways"
            assert y <= ty and ty + th <= y + h + 1, f"{sticky['name']}: {text!r} sticks out"
    assert {s["kind"] for s in m["stickies"]} == {
        "command",
        "aggregate",
        "event",
        "policy",
        "read-model",
    }

    # The timeline: command → aggregate → event → policy → next command, left to right.
    def box(kind: str, name: str) -> list[float]:
        found = [s["box"] for s in m["stickies"] if s["kind"] == kind and s["name"] == name]
        assert found, f"no {kind} {name!r} on the board"
        return list(found[0])

    settle = box("command", "Sponsorship.settle_invoice")
    settled = box("event", "Sponsor.InvoiceSettled")
    policy = box("policy", "Sponsor tickets: InvoiceSettled → issue free tickets")
    issue = box("command", "Ticketing.issue_complimentary_tickets")
    assert settle[0] + settle[2] < settled[0] < settled[0] + settled[2] < policy[0]
    assert policy[0] + policy[2] < issue[0]
    assert settle[1] < issue[1], "the CRM's lane is above the box office's it leads to"

    # No two arrows cross; no arrow runs under a sticky.
    links = m["links"]
    for i, a in enumerate(links):
        for b in links[i + 1 :]:
            shared = a[0] == b[0] or a[-1] == b[-1] or a[0] == b[-1] or a[-1] == b[0]
            assert shared or not _crosses(a, b), f"arrows cross: from {a[0]} and from {b[0]}"
    for link in links:
        for sticky in m["stickies"]:
            x, y, w, h = sticky["box"]
            inside = [
                p for p in link[1:-1] if x + 2 < p[0] < x + w - 2 and y + 2 < p[1] < y + h - 2
            ]
            assert not inside, f"an arrow from {link[0]} runs under {sticky['name']}"

    lab.session.net.assert_clean()
