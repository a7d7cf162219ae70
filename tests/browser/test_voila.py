"""Notebooks rendered as dashboards by Voila in chromium, offline.

Voila runs every cell on the server and shows only the outputs: tables,
widgets, charts and diagrams must draw, with no traceback and no request
leaving loopback.
"""

from __future__ import annotations

import pytest
from browserkit import NOTEBOOKS, VoilaPage, chart_marks, svg_shapes, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

# notebook -> (altair charts at least, diagrams at least, a button to press, what it changes)
DASHBOARDS: dict[str, tuple[int, int, str | None, str]] = {
    "01-welcome.ipynb": (1, 0, None, ""),
    "06-process-managers.ipynb": (0, 1, "Step ▶", ".workbench-process-stepper"),
}


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_notebook_renders_in_voila(voila: VoilaPage, name: str) -> None:
    if not (NOTEBOOKS / name).exists():
        pytest.fail(f"notebooks/{name} is missing (renamed?)", pytrace=False)
    charts, diagrams, button, changes = DASHBOARDS[name]
    voila.open(f"notebooks/{name}")
    errors = voila.errors()
    assert not errors, f"Voila shows errors: {errors}"
    page = voila.page
    body = page.locator("body")

    def drawn() -> tuple[list[int], list[int]] | None:
        marks, shapes = chart_marks(body), svg_shapes(body)
        ok = len(marks) >= charts and len(shapes) >= diagrams
        return (marks, shapes) if ok and all(n > 0 for n in marks + shapes) else None

    marks, shapes = wait_until(
        drawn,
        30,
        lambda: (
            f"{name} in Voila: expected >= {charts} charts and >= {diagrams} diagrams drawn, "
            f"got chart marks {chart_marks(body)}, diagram shapes {svg_shapes(body)}\n"
            f"{voila.session.net.describe()}"
        ),
    )
    if button is not None:
        widget = page.get_by_role("button", name=button, exact=True)
        assert widget.count() >= 1, f"the {button!r} widget did not render in Voila"
        widget.first.scroll_into_view_if_needed()
        target = page.locator(changes).last
        before = target.inner_text()
        widget.last.click()  # the live widget answers: the kernel behind Voila redraws it
        wait_until(
            lambda: target.inner_text() != before,
            20,
            f"pressing {button!r} in Voila changed nothing in {changes}",
        )
    elif marks:
        page.locator(".vega-embed").first.scroll_into_view_if_needed()
    voila.session.shot(f"voila-{len(marks)}-charts-{len(shapes)}-diagrams")
    voila.session.net.assert_clean()
