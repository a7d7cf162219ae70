"""Fixtures for the real-browser tests (JupyterLab and Voila in Debian's chromium).

One JupyterLab server, one Voila server and one chromium are shared by the
whole session; every test gets a fresh browser context whose requests are
recorded, and aborted when they leave loopback.  A test fails when any request
tried to leave loopback.  Screenshots land in ``artifacts/screenshots/``.

Run them with ``.venv/bin/python -m pytest -m browser tests/browser`` (or
``make browser``).  Screenshots of every step: ``artifacts/screenshots/<test>/``
(a failing test adds ``NN-FAILED.png``); server logs: ``artifacts/browser-logs/``.
``WORKBENCH_CHROMIUM`` overrides ``/usr/bin/chromium``; ``WORKBENCH_NOTEBOOKS``
points the suite at another folder of notebooks.

Without chromium the browser tests are skipped, saying how to install it;
with ``WORKBENCH_REQUIRE_BROWSER`` set (``make test`` sets it) they fail instead.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from browserkit import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LOGS,
    BrowserSession,
    LabPage,
    NotebookRuns,
    Server,
    VoilaPage,
    free_port,
    jupyter_env,
    missing_chromium_message,
    open_session,
    prepare_root,
    write_lab_settings,
)
from playwright.sync_api import Browser, Playwright, sync_playwright

from workbench.dashboards import VOILA_TEMPLATE, write_offline_voila_template

_FAILED = pytest.StashKey[bool]()


def _sessions(item: pytest.Item) -> list[BrowserSession]:
    found: dict[int, BrowserSession] = {}
    for value in getattr(item, "funcargs", {}).values():
        candidates = getattr(value, "sessions", None) or [getattr(value, "session", value)]
        for candidate in candidates:
            if isinstance(candidate, BrowserSession):
                found[id(candidate)] = candidate
    return list(found.values())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Screenshot every open page of a test that just failed (before teardown)."""
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    if report.when == "call" and report.failed:
        for session in _sessions(item):
            path = session.shot("FAILED")
            report.sections.append(("screenshot", str(path)))
    return report


@pytest.fixture(autouse=True)
def _offline_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each browser test: fail it if any of its pages tried to leave loopback."""
    yield
    if request.node.stash.get(_FAILED, False):
        return  # already failed (its message includes the network report)
    for session in _sessions(request.node):
        offenders = session.net.offenders()
        if offenders:
            pytest.fail(
                "requests left loopback during this test (a CDN load?):\n"
                + "\n".join(f"  {url}" for url in offenders),
                pytrace=False,
            )


@pytest.fixture(scope="session")
def browser_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Temporary home for Jupyter config/runtime/data and the copied notebooks."""
    return tmp_path_factory.mktemp("browser-home")


@pytest.fixture(scope="session")
def server_root(browser_home: Path) -> Path:
    """The folder both servers serve: copies of ``notebooks/`` plus ``scratch/``."""
    root = browser_home / "root"
    prepare_root(root)
    return root


@pytest.fixture(scope="session")
def scratch_dir(server_root: Path) -> Path:
    """A folder under the server root where tests may write their own notebooks."""
    return server_root / "scratch"


@pytest.fixture(scope="session")
def lab_server(browser_home: Path, server_root: Path) -> Iterator[Server]:
    """JupyterLab on 127.0.0.1, a free port, a known token and a temporary config."""
    home = browser_home / "lab"
    env = jupyter_env(home)
    write_lab_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))
    port = free_port()
    token = secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={server_root}",
        "--ServerApp.open_browser=False",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        # a server orphaned by a killed pytest culls its kernels, then stops itself
        "--MappingKernelManager.cull_idle_timeout=900",
        "--MappingKernelManager.cull_interval=60",
        "--ServerApp.shutdown_no_activity_timeout=600",
    ]
    server = Server(
        name="JupyterLab",
        command=command,
        env=env,
        cwd=server_root,
        port=port,
        token=token,
        ready_path="/api/status",
        log_path=LOGS / "jupyterlab.log",
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def voila_server(browser_home: Path, server_root: Path) -> Iterator[Server]:
    """Voila on 127.0.0.1, a free port, no token, a temporary config, tracebacks on."""
    env = jupyter_env(browser_home / "voila")
    share = browser_home / "voila" / "share"
    write_offline_voila_template(share)
    env["JUPYTER_PATH"] = str(share)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "voila",
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        "--show_tracebacks=True",
        f"--template={VOILA_TEMPLATE}",
        "--Voila.tornado_settings=allow_remote_access=False",
        str(server_root),
    ]
    server = Server(
        name="Voila",
        command=command,
        env=env,
        cwd=server_root,
        port=port,
        token=None,
        ready_path="/voila/tree",
        log_path=LOGS / "voila.log",
    )
    server.start()
    yield server
    server.stop()


REQUIRE_BROWSER = "WORKBENCH_REQUIRE_BROWSER"


def browser_required() -> bool:
    """Whether a missing browser fails the tests rather than skipping them."""
    return os.environ.get(REQUIRE_BROWSER, "").strip().lower() not in ("", "0", "no", "false")


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium: when it is missing the browser tests skip, or FAIL when
    ``WORKBENCH_REQUIRE_BROWSER`` is set."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        if browser_required():
            pytest.fail(f"{REQUIRE_BROWSER} is set: {missing_chromium_message()}", pytrace=False)
        pytest.skip(missing_chromium_message())
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    """Playwright's sync driver."""
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright, chromium_path: Path) -> Iterator[Browser]:
    """Headless Debian chromium with background networking off."""
    browser = playwright_instance.chromium.launch(
        executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def session(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserSession]:
    """A fresh browser context + page for one test, guarded against internet access."""
    session = open_session(browser, request.node.name)
    yield session
    session.close()


@pytest.fixture
def lab(session: BrowserSession, lab_server: Server) -> LabPage:
    """A JupyterLab tab (open a notebook with ``lab.open(path)``)."""
    return LabPage(session=session, server=lab_server)


@pytest.fixture
def voila(session: BrowserSession, voila_server: Server) -> VoilaPage:
    """A Voila page (render a notebook with ``voila.open(path)``)."""
    return VoilaPage(session=session, server=voila_server)


@pytest.fixture(scope="session")
def notebook_runs(browser: Browser, lab_server: Server) -> Iterator[NotebookRuns]:
    """Notebooks run once per session in JupyterLab (``notebook_runs.get(path)``)."""
    runs = NotebookRuns(browser=browser, server=lab_server)
    yield runs
    runs.close()
