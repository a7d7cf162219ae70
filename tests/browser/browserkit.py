"""Helpers for the real-browser tests: servers, network guard, screenshots, pages.

Everything here drives Debian's ``chromium`` through Playwright's sync API and
JupyterLab / Voila servers started on loopback.  Nothing may leave the machine:
:class:`NetworkLog` aborts and records every request to a host other than
``127.0.0.1`` / ``localhost``, and a test fails when that record is not empty.

Example (inside a test, with the fixtures of ``conftest.py``)::

    def test_smoke(lab: LabPage) -> None:
        lab.open("scratch/smoke.ipynb")
        lab.run_all()
        lab.assert_no_errors()
        assert all(n > 0 for n in lab.chart_marks())
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, WebSocket
from playwright.sync_api import Request as PwRequest

REPO = Path(__file__).resolve().parents[2]
"""The repository root (the folder holding ``pyproject.toml``)."""

CHROMIUM = Path(os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium"))
"""Debian's chromium; ``WORKBENCH_CHROMIUM`` overrides the path."""

NOTEBOOKS = Path(os.environ.get("WORKBENCH_NOTEBOOKS", REPO / "notebooks"))
"""The notebooks under test; ``WORKBENCH_NOTEBOOKS`` points the suite at another folder."""

ARTIFACTS = REPO / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
LOGS = ARTIFACTS / "browser-logs"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--metrics-recording-only",
    "--safebrowsing-disable-auto-update",
]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "chrome-error", "chrome"})

WIDGET_ERROR_TEXTS = (
    "Traceback (most recent call last)",
    "Error displaying widget",
    "Failed to load model class",
    "Failed to create view for",
    "Could not create a view for model",
)
"""Texts that, inside an output area, mean a cell or a widget failed."""


def write_notebook(path: Path, *sources: str) -> Path:
    """Write a python3 notebook (nbformat 4) with one code cell per source, no outputs."""
    cells: list[dict[str, Any]] = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": f"cell-{index}",
            "metadata": {},
            "outputs": [],
            "source": source,
        }
        for index, source in enumerate(sources)
    ]
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
                "name": "python3",
            },
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1))
    return path


def missing_chromium_message() -> str:
    """The message a browser test fails with when chromium is not installed."""
    return (
        f"Debian's chromium is missing at {CHROMIUM}. The browser tests need it: run the "
        "project set-up (`bash .ci/run` installs it) or `apt-get install -y chromium`. "
        "Do not run `playwright install`: its browser download does not work offline."
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def is_loopback(url: str) -> bool:
    """True when ``url`` stays on this machine (loopback host, data:, blob:, ...).

    >>> is_loopback("http://127.0.0.1:8888/lab")
    True
    >>> is_loopback("https://cdn.jsdelivr.net/npm/vega@6")
    False
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return (parts.hostname or "") in LOOPBACK_HOSTS


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, token: str | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET ``url`` without any proxy; returns (status, body), status 0 if unreachable."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with _NO_PROXY.open(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), b""
    except (urllib.error.URLError, OSError):
        return 0, b""


@dataclass
class Server:
    """A Jupyter-style server process started on loopback, logged to a file."""

    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    port: int
    token: str | None
    ready_path: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        """Start the process and wait until ``ready_path`` answers 200."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.process.returncode} before it was "
                    f"ready; last lines of {self.log_path}:\n{self.log_tail()}"
                )
            status, _ = http_get(self.base_url + self.ready_path, self.token, timeout=2.0)
            if status == 200:
                return
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not answer {self.ready_path} within {timeout:.0f} s; "
            f"last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server and the kernels it started (its own process group only)."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=grace)


def jupyter_env(home: Path) -> dict[str, str]:
    """Environment for a server: temporary Jupyter/IPython dirs under ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    for var, sub in {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTER_DATA_DIR": "data",
        "IPYTHONDIR": "ipython",
        "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
    }.items():
        path = home / sub
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


LAB_SETTINGS: dict[str, dict[str, Any]] = {
    # no news, no update checks: both would contact the internet
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # every cell stays attached to the DOM, so off-screen charts still draw
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # the test copies must not be rewritten behind our back
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


def write_lab_settings(settings_dir: Path) -> None:
    """Write the user settings the tests rely on into ``settings_dir``."""
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def prepare_root(root: Path) -> None:
    """Copy :data:`NOTEBOOKS` into ``root/notebooks`` (tests run copies, never originals).

    ``root/data`` links to the repo's ``data`` so relative sample paths resolve.
    """
    root.mkdir(parents=True, exist_ok=True)
    source = NOTEBOOKS
    if source.is_dir():
        shutil.copytree(
            source,
            root / "notebooks",
            ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
            dirs_exist_ok=True,
        )
    else:
        (root / "notebooks").mkdir(exist_ok=True)
    if (REPO / "data").is_dir() and not (root / "data").exists():
        (root / "data").symlink_to(REPO / "data", target_is_directory=True)
    (root / "scratch").mkdir(exist_ok=True)


@dataclass
class NetworkLog:
    """Every request a browser context makes; non-loopback ones are aborted.

    ``offenders`` lists the URLs that tried to leave the machine; a test that
    sees any of them must fail (:meth:`assert_clean`).
    """

    requests: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        """Route and record every request of ``context`` (and its pages)."""
        context.route("**/*", self._route)
        context.on("request", self._on_request)
        context.on("page", self._on_page)
        for page in context.pages:
            self._on_page(page)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if is_loopback(url):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")

    def _on_request(self, request: PwRequest) -> None:
        self.requests.append(request.url)

    def _on_websocket(self, socket_: WebSocket) -> None:
        self.websockets.append(socket_.url)

    def _on_page(self, page: Page) -> None:
        page.on("websocket", self._on_websocket)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on(
            "console",
            lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None,
        )

    def offenders(self) -> list[str]:
        """URLs (requests, websockets, aborted routes) that left loopback, in order."""
        seen: dict[str, None] = {}
        for url in [*self.blocked, *self.requests, *self.websockets]:
            if not is_loopback(url):
                seen.setdefault(url, None)
        return list(seen)

    def describe(self) -> str:
        """A short report for failure messages."""
        lines = [f"{len(self.requests)} requests, {len(self.websockets)} websockets"]
        offenders = self.offenders()
        if offenders:
            lines.append("requests that tried to leave loopback (aborted):")
            lines += [f"  {url}" for url in offenders[:20]]
        if self.page_errors:
            lines.append("uncaught page errors:")
            lines += [f"  {text[:300]}" for text in self.page_errors[:10]]
        if self.console_errors:
            lines.append(f"browser console errors ({len(self.console_errors)}, first 5):")
            lines += [f"  {text[:300]}" for text in self.console_errors[:5]]
        return "\n".join(lines)

    def assert_clean(self) -> None:
        """Fail when any request went (or tried to go) to a non-loopback host."""
        offenders = self.offenders()
        assert not offenders, (
            "the page tried to load from outside loopback (a CDN or other internet host); "
            "the workshop room has no internet, so this would show blank. Offending URLs:\n"
            + "\n".join(f"  {url}" for url in offenders)
        )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "step"


@dataclass
class Shots:
    """Numbered screenshots of each step under ``artifacts/screenshots/<test>/``."""

    folder: Path
    count: int = 0

    def take(self, page: Page, step: str, *, full_page: bool = False) -> Path:
        """Save a screenshot named ``NN-<step>.png`` and return its path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count += 1
        path = self.folder / f"{self.count:02d}-{_slug(step)}.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=str(path), full_page=full_page, timeout=10_000)
        return path


@dataclass
class BrowserSession:
    """One browser context + page with its network log and screenshots."""

    context: BrowserContext
    page: Page
    net: NetworkLog
    shots: Shots

    def shot(self, step: str) -> Path:
        """Screenshot the page for ``step``."""
        return self.shots.take(self.page, step)

    def close(self) -> None:
        """Close the context (the network log stays readable)."""
        with contextlib.suppress(Exception):
            self.context.close()


def open_session(browser: Browser, name: str) -> BrowserSession:
    """A fresh context whose every request is guarded by a :class:`NetworkLog`."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000},
        service_workers="block",
        locale="en-US",
        timezone_id="UTC",
    )
    context.set_default_timeout(30_000)
    net = NetworkLog()
    net.attach(context)
    page = context.new_page()
    folder = SCREENSHOTS / _slug(name)
    shutil.rmtree(folder, ignore_errors=True)
    return BrowserSession(context=context, page=page, net=net, shots=Shots(folder))


CHART_MARKS_JS = """
(root) => {
  // every altair output: the renderer's <div id="altair-viz-..."> and every vega-embed
  const charts = [];
  root.querySelectorAll('[id^="altair-viz-"], .vega-embed').forEach((el) => {
    if (!charts.some((c) => c.contains(el) || el.contains(c))) charts.push(el);
  });
  return charts.map((chart) => {
    const svg = chart.querySelector('svg.marks');
    if (svg) {
      // data marks live in groups with class role-mark; axes/legends use other roles
      let n = 0;
      svg.querySelectorAll('g.role-mark').forEach((g) => {
        n += Array.from(g.children).filter((c) => c.tagName !== 'g').length;
      });
      return n;
    }
    const canvas = chart.querySelector('canvas');
    if (canvas && canvas.width > 0 && canvas.height > 0) {
      // count coloured (non-grey) pixels: axes and text are grey, data marks are not
      const ctx = canvas.getContext('2d');
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4 * 7) {
        const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
        if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 30) n += 1;
      }
      return n;
    }
    return 0;  // an altair output that never drew (e.g. its vega could not load)
  });
}
"""

SVG_SHAPES_JS = """
(root) => {
  const shapes = 'rect, circle, ellipse, path, polygon, polyline, line';
  const inline = Array.from(root.querySelectorAll('.jp-OutputArea-output svg')).filter(
    (svg) => !svg.closest('.vega-embed') && !svg.parentElement.closest('svg')
      && svg.getBoundingClientRect().width > 40
  ).map((svg) => svg.querySelectorAll(shapes).length);
  // image/svg+xml and image/png outputs are drawn as <img>: parse SVG data, check PNGs loaded
  const images = Array.from(root.querySelectorAll('.jp-OutputArea-output img')).map((img) => {
    const src = img.getAttribute('src') || '';
    if (src.startsWith('data:image/svg+xml')) {
      const text = decodeURIComponent(src.slice(src.indexOf(',') + 1));
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
      return img.complete && img.naturalWidth > 0 ? doc.querySelectorAll(shapes).length : 0;
    }
    return img.complete && img.naturalWidth > 0 ? 1 : 0;
  });
  return inline.concat(images);
}
"""


def chart_marks(scope: Locator | Page) -> list[int]:
    """Number of drawn data marks for every altair/vega chart under ``scope``.

    An SVG chart counts the children of its ``g.role-mark`` groups; a canvas chart
    counts sampled coloured pixels.  A chart that failed to draw gives 0 (or no
    entry at all when vega-embed never ran).
    """
    root = scope.locator("body") if isinstance(scope, Page) else scope
    marks: list[int] = root.evaluate(CHART_MARKS_JS)
    return marks


def svg_shapes(scope: Locator) -> list[int]:
    """Shape counts of every diagram in the outputs under ``scope``.

    Inline SVGs (not vega charts, not icons) count their shapes; ``<img>`` outputs
    count the shapes of their SVG data, or 1 for a loaded bitmap; 0 means not drawn.
    """
    shapes: list[int] = scope.evaluate(SVG_SHAPES_JS)
    return shapes


def wait_until(
    check: Callable[[], Any], timeout: float, message: Callable[[], str] | str, step: float = 0.25
) -> Any:
    """Poll ``check`` until it returns a truthy value; fail with ``message`` on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(step)
    text = message() if callable(message) else message
    raise AssertionError(f"{text} (waited {timeout:.0f} s; last value {last!r})")


@dataclass
class LabPage:
    """A JupyterLab tab in the browser, driven like a person would."""

    session: BrowserSession
    server: Server
    path: str = ""
    log_seen: int = 0

    @property
    def page(self) -> Page:
        """The Playwright page."""
        return self.session.page

    @property
    def notebook(self) -> Locator:
        """The visible notebook panel."""
        return self.page.locator(".jp-NotebookPanel:visible").first

    def shot(self, step: str, focus: Locator | None = None) -> Path:
        """Screenshot the current state for ``step`` (scrolling ``focus`` into view first)."""
        if focus is not None:
            with contextlib.suppress(Exception):
                focus.scroll_into_view_if_needed(timeout=5_000)
        return self.session.shot(step)

    def open(self, path: str, timeout: float = 60.0) -> None:
        """Open the notebook at ``path`` (relative to the server root); wait for its kernel."""
        self.path = path
        url = (
            f"{self.server.base_url}/lab/tree/{urllib.parse.quote(path)}"
            f"?reset&token={self.server.token}"  # reset: no tabs restored from earlier tests
        )
        self.page.goto(url, wait_until="domcontentloaded")
        self.notebook.wait_for(state="visible", timeout=timeout * 1000)
        wait_until(
            self.kernel_idle,
            timeout,
            lambda: f"kernel of {path} never became idle\n{self.server.log_tail()}",
        )
        self.shot(f"opened-{Path(path).stem}")

    def kernel_idle(self) -> bool:
        """True when the status bar says the notebook's kernel is connected and idle."""
        status = self.page.locator(".jp-StatusBar-Widget").get_by_text(re.compile(r"\|\s*Idle$"))
        indicator = self.notebook.locator(".jp-Notebook-ExecutionIndicator")
        return status.count() > 0 and indicator.get_attribute("data-status") == "idle"

    def prompts(self) -> list[str]:
        """The execution prompts (``[3]:``, ``[*]:``, ``[ ]:``) of every code cell."""
        texts: list[str] = self.notebook.locator(".jp-CodeCell .jp-InputArea-prompt").evaluate_all(
            "(els) => els.map((e) => e.textContent.trim())"
        )
        return texts

    def _menu(self, menu: str, command: str) -> None:
        self.page.get_by_role("menuitem", name=menu, exact=True).click()
        self.page.locator(f"li.lm-Menu-item[data-command='{command}']").click()

    def run_all(self, timeout: float = 120.0) -> None:
        """Run > Run All Cells, then wait until nothing is queued and the kernel is idle."""
        self.notebook.click(position={"x": 5, "y": 5})
        self._menu("Run", "runmenu:run-all")

        def finished() -> bool:
            prompts = self.prompts()
            if any("*" in p for p in prompts):
                return False
            # before the run starts every prompt is "[ ]:"; after it, at least one is numbered
            if not any(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
                return False
            return self.kernel_idle()

        time.sleep(0.5)
        wait_until(
            finished,
            timeout,
            lambda: f"{self.path}: cells still running, prompts {self.prompts()}",
            step=0.5,
        )
        # let widgets and charts finish their first render
        self.page.wait_for_timeout(1000)
        self.shot(f"ran-all-{Path(self.path).stem}")

    def save(self) -> None:
        """File > Save, and wait for the server to have written the file."""
        self.notebook.click(position={"x": 5, "y": 5})
        with self.page.expect_response(
            lambda r: r.request.method == "PUT" and "/api/contents/" in r.url, timeout=20_000
        ) as saved:
            self._menu("File", "docmanager:save")
        assert saved.value.ok, f"saving {self.path} failed: HTTP {saved.value.status}"

    def saved_errors(self) -> list[str]:
        """Save the notebook and return its error outputs as ``cell N: Name: value``."""
        self.save()
        url = f"{self.server.base_url}/api/contents/{urllib.parse.quote(self.path)}?content=1"
        status, body = http_get(url, self.server.token)
        assert status == 200, f"could not read back {self.path} (HTTP {status})"
        model = json.loads(body)
        errors = []
        for index, cell in enumerate(model["content"]["cells"]):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    errors.append(f"cell {index}: {output['ename']}: {output['evalue']}")
        return errors

    def output_texts(self) -> list[str]:
        """Text of every output area in the notebook."""
        texts: list[str] = self.notebook.locator(".jp-OutputArea-output").evaluate_all(
            "(els) => els.map((e) => e.innerText)"
        )
        return texts

    def widget_errors(self) -> list[str]:
        """Output texts that show a traceback or a widget that failed to load."""
        return [
            text[:500]
            for text in self.output_texts()
            if any(marker in text for marker in WIDGET_ERROR_TEXTS)
        ]

    def log_console_errors(self) -> list[str]:
        """New tracebacks in JupyterLab's log console (where widget callback errors go).

        The status bar shows the log console item only when it has messages; then the
        console is opened (View > Show Log Console) and the entries not returned
        before are read, so each failure is reported once, by the test that caused it.
        """
        item = self.page.locator(".jp-LogConsoleStatusItem")
        if item.count() == 0 or "lm-mod-hidden" in (item.first.get_attribute("class") or ""):
            return []
        if self.page.locator(".jp-LogConsolePanel:visible").count() == 0:
            self._menu("View", "logconsole:open")
        entries = self.page.locator(".jp-LogConsolePanel .jp-OutputArea-child")
        wait_until(lambda: entries.count() > 0, 10, "the log console shows no entries")
        texts = entries.all_inner_texts()
        new, self.log_seen = texts[self.log_seen :], len(texts)
        self.shot("log-console")
        return [text[:800] for text in new if any(m in text for m in WIDGET_ERROR_TEXTS)]

    def assert_no_errors(self) -> None:
        """No error output in any cell, no traceback on screen or in the log console."""
        unrun = [i for i, p in enumerate(self.prompts()) if not re.fullmatch(r"\[\d+\]:", p)]
        errors = self.saved_errors()
        broken = self.widget_errors()
        logged = self.log_console_errors()
        assert not errors and not broken and not unrun and not logged, (
            f"{self.path}: error outputs {errors}; broken outputs {broken}; "
            f"cells not run (index) {unrun}; tracebacks in the log console (a widget "
            f"callback failed?) {logged}\n{self.session.net.describe()}"
        )

    def assert_drawn(self, timeout: float = 30.0) -> tuple[list[int], list[int]]:
        """Every altair chart has marks and every diagram SVG has shapes.

        Returns (marks per chart, shapes per diagram).  A notebook with neither
        passes with two empty lists.
        """

        def drawn() -> tuple[list[int], list[int]] | None:
            self.session.net.assert_clean()  # a blocked CDN load never draws: say so at once
            marks = chart_marks(self.notebook)
            shapes = svg_shapes(self.notebook)
            if all(n > 0 for n in marks) and all(n > 0 for n in shapes):
                return marks, shapes
            return None

        result: tuple[list[int], list[int]] = wait_until(
            drawn,
            timeout,
            lambda: (
                f"{self.path}: a chart or diagram drew nothing: chart marks "
                f"{chart_marks(self.notebook)}, diagram shapes {svg_shapes(self.notebook)}\n"
                f"{self.session.net.describe()}"
            ),
        )
        return result

    def outputs_containing(self, selector: str) -> Locator:
        """Output areas that contain ``selector``."""
        return self.notebook.locator(".jp-OutputArea-output").filter(
            has=self.page.locator(selector)
        )


def assert_charts_drawn(
    scope: Locator | Page, net: NetworkLog, minimum: int = 1, timeout: float = 30.0
) -> list[int]:
    """Wait until at least ``minimum`` charts exist under ``scope`` and each has marks."""

    def drawn() -> list[int] | None:
        net.assert_clean()  # a blocked CDN load never draws: say so at once
        marks = chart_marks(scope)
        if len(marks) >= minimum and all(n > 0 for n in marks):
            return marks
        return None

    result: list[int] = wait_until(
        drawn,
        timeout,
        lambda: (
            f"expected at least {minimum} altair chart(s) drawn with marks, got mark counts "
            f"{chart_marks(scope)}\n{net.describe()}"
        ),
    )
    return result


@dataclass
class VoilaPage:
    """A notebook rendered by Voila in the browser."""

    session: BrowserSession
    server: Server
    path: str = ""

    @property
    def page(self) -> Page:
        """The Playwright page."""
        return self.session.page

    def open(self, path: str, timeout: float = 120.0) -> None:
        """Render ``path`` and wait until every cell has been executed."""
        self.path = path
        url = f"{self.server.base_url}/voila/render/{urllib.parse.quote(path)}"
        self.page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
        wait_until(
            lambda: self.page.evaluate(
                "() => !document.querySelector('#loading, .voila-spinner-color1, #rendering_text')"
                " && !!document.querySelector('.jp-OutputArea, .jp-Cell, main')"
            ),
            timeout,
            lambda: f"voila did not finish rendering {path}\n{self.server.log_tail()}",
            step=0.5,
        )
        self.page.wait_for_timeout(1000)
        self.session.shot(f"voila-{Path(path).stem}")

    def errors(self) -> list[str]:
        """Tracebacks and broken widgets shown on the page."""
        texts: list[str] = self.page.locator(".jp-OutputArea-output").evaluate_all(
            "(els) => els.map((e) => e.innerText)"
        )
        return [t[:500] for t in texts if any(m in t for m in WIDGET_ERROR_TEXTS)]


@dataclass
class NotebookRuns:
    """Notebooks opened and run once per test session, each in its own browser page.

    ``get(path)`` opens ``path`` (relative to the server root) in JupyterLab, runs
    all cells and returns the :class:`LabPage`; later calls reuse it, so several
    tests can drive one run.  A run that failed fails every later ``get`` at once.
    """

    browser: Browser
    server: Server
    pages: dict[str, LabPage] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    last: str = ""

    @property
    def sessions(self) -> list[BrowserSession]:
        """The session of the notebook the current test asked for (guarded, screenshotted)."""
        return [self.pages[self.last].session] if self.last in self.pages else []

    def get(self, path: str, timeout: float = 150.0) -> LabPage:
        """The notebook at ``path``, opened and run (once)."""
        self.last = path
        if path in self.failures:
            raise AssertionError(f"{path} failed to run earlier: {self.failures[path]}")
        if path not in self.pages:
            session = open_session(self.browser, f"notebook-{Path(path).stem}")
            lab = LabPage(session=session, server=self.server)
            self.pages[path] = lab
            try:
                lab.open(path)
                lab.run_all(timeout=timeout)
            except Exception as error:
                self.failures[path] = str(error).splitlines()[0]
                raise
        return self.pages[path]

    def close(self) -> None:
        """Close every page."""
        for lab in self.pages.values():
            lab.session.close()
