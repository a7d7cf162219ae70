"""A handout (``workbench export``) opened in chromium: nothing leaves loopback, the chart shows.

The page is served from 127.0.0.1 (a ``file://`` page would bypass the
network guard of ``conftest.py``); every request it makes is recorded and any
off loopback fails the test.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from browserkit import NOTEBOOKS, BrowserSession

from workbench.handouts import export_notebook

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def handout_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``01-welcome.ipynb`` exported and served on 127.0.0.1 (a free port)."""
    folder = tmp_path_factory.mktemp("handout")
    export_notebook(NOTEBOOKS / "01-welcome.ipynb", folder / "welcome.html")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/welcome.html"
    server.shutdown()
    server.server_close()


def test_handout_opens_offline_with_its_chart_drawn(
    session: BrowserSession, handout_url: str
) -> None:
    page = session.page
    page.goto(handout_url, wait_until="load")
    page.wait_for_load_state("networkidle")
    chart = page.locator('img[src^="data:image/svg+xml"]')
    assert chart.count() == 1
    chart.scroll_into_view_if_needed()
    size = chart.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
    assert size[0] and size[1] > 100 and size[2] > 50, size
    session.shots.take(page, "chart", full_page=False)
    assert page.get_by_text("Welcome to the Event-Driven Development Workbench").count() >= 1
    assert session.net.requests, "the page was not loaded through the guarded context"
    assert session.net.offenders() == []
    assert session.net.page_errors == []
    assert Path(handout_url).name in session.net.requests[0]
