"""Hostile files and arguments: the workbench speaks (StoreError / LoadError), never a raw error.

A damaged SQLite page, a file or folder that cannot be read, a PostgreSQL
server that refuses (a wrong password, port or database: each says which),
arguments of the wrong kind; and the command line prints one line for each,
never a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from workbench.cli import main
from workbench.examples.ticketing import Ticketing
from workbench.reading import LoadError, load_events, open_history
from workbench.samples import SAMPLE_TICKETING
from workbench.stores import StoreError, open_app


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    """A copy of the sample history with pages overwritten in the middle of its table."""
    path = tmp_path / "damaged.sqlite"
    shutil.copy(SAMPLE_TICKETING, path)
    size = path.stat().st_size
    with path.open("r+b") as f:
        for offset in range(8192, size, 4096 * 7):
            f.seek(offset)
            f.write(b"\xde\xad\xbe\xef" * 256)
    return path


@pytest.mark.parametrize(
    "read",
    [load_events, open_history, lambda path: open_app(Ticketing, path, readonly=True)],
    ids=["load_events", "open_history", "open_app"],
)
def test_a_damaged_file_is_named_as_damaged(damaged: Path, read: Callable[[Path], Any]) -> None:
    try:
        read(damaged)
    except StoreError as e:
        assert "damaged" in str(e) or "malformed" in str(e)
    # (open_app may read nothing yet: a damaged page elsewhere is found when it is read)


def test_a_file_that_cannot_be_read_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.sqlite"
    shutil.copy(SAMPLE_TICKETING, path)
    opened = Path.open

    def denied(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return opened(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    for read in (load_events, open_history, lambda p: open_app(Ticketing, p, readonly=True)):
        with pytest.raises(StoreError, match="cannot read .*secret.sqlite: Permission denied"):
            read(path)


def test_a_folder_that_cannot_be_listed_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = Path.iterdir

    def denied(self: Path) -> Any:
        if self == tmp_path:
            raise PermissionError(13, "Permission denied", str(self))
        return listed(self)

    monkeypatch.setattr(Path, "iterdir", denied)
    with pytest.raises(StoreError, match="Permission denied"):
        open_app(Ticketing, tmp_path)


def test_a_folder_without_permission_really_refuses(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    folder = tmp_path / "locked"
    folder.mkdir()
    shutil.copy(SAMPLE_TICKETING, folder / "ticketing.sqlite")
    folder.chmod(0)
    try:
        for read in (load_events, open_history):
            with pytest.raises(StoreError):
                read(folder / "ticketing.sqlite")
        with pytest.raises(StoreError):
            open_app(Ticketing, folder)
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda url: url.replace("://workbench:workbench@", "://workbench:wrong@"), "password"),
        (lambda url: url.replace(":5432/", ":1/"), "refused"),
        (lambda url: url.replace("/workbench_test", "/no_such_database"), "does not exist"),
    ],
    ids=["password", "port", "database"],
)
@pytest.mark.parametrize("readonly", [False, True])
def test_postgres_says_why_it_cannot_connect(
    postgres_url: str, change: Callable[[str], str], said: str, readonly: bool
) -> None:
    url = change(postgres_url) + "&connect_timeout=1"
    if url == postgres_url + "&connect_timeout=1":
        pytest.skip("the test server's URL is not the one these changes expect")
    with pytest.raises(StoreError, match="cannot open Ticketing") as raised:
        open_app(Ticketing, url, readonly=readonly)
    assert said in str(raised.value)
    assert "couldn't get a connection" not in str(raised.value)


_load: Any = load_events  # called with arguments of the wrong kind, on purpose
_open_app: Any = open_app


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda: _load(123), "cannot read a history from int"),
        (lambda: _load(SAMPLE_TICKETING, event_types=5), "event_types takes"),
        (lambda: _load(SAMPLE_TICKETING, event_types=[5]), "event_types takes"),
        (lambda: _load(SAMPLE_TICKETING, streams=5), "streams takes"),
        (lambda: _load(SAMPLE_TICKETING, after="x"), "after must be a whole number"),
        (lambda: _load(SAMPLE_TICKETING, upto="5"), "upto must be a whole number"),
        (lambda: _load(SAMPLE_TICKETING, limit="3"), "limit must be a whole number"),
        (lambda: _load(SAMPLE_TICKETING, newest=1.5), "newest must be a whole number"),
        (lambda: _load(SAMPLE_TICKETING, batch_size="x"), "batch_size must be"),
        (lambda: _load(SAMPLE_TICKETING, since=5), "since must be"),
        (lambda: _load(SAMPLE_TICKETING, table=5), "table must be"),
        (lambda: _load(SAMPLE_TICKETING, cipher_key=5), "cipher_key must be text"),
        (lambda: _load(SAMPLE_TICKETING, compressor=5), "compressor must be"),
        (lambda: _load(SAMPLE_TICKETING, env=5), "env must be a mapping"),
        (lambda: _open_app("Ticketing", "memory"), "needs an eventsourcing Application class"),
    ],
)
def test_arguments_of_the_wrong_kind_are_named(call: Callable[[], Any], said: str) -> None:
    with pytest.raises(StoreError, match=said):
        call()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from workbench.cli import main; sys.exit(main())",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "store",
    ["damaged", "missing.sqlite", "not-sqlite.sqlite", "folder", "postgresql://u:p@127.0.0.1:1/x"],
)
def test_the_command_line_says_one_line_never_a_traceback(
    damaged: Path, tmp_path: Path, store: str
) -> None:
    (tmp_path / "not-sqlite.sqlite").write_text("shopping list")
    (tmp_path / "folder").mkdir()
    target = str(damaged) if store == "damaged" else store
    if not store.startswith("postgresql"):
        target = str(tmp_path / store) if store != "damaged" else target
    done = _cli("info", target)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("workbench info: ")


def test_the_command_line_reports_an_interrupt_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import workbench.reading

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(workbench.reading, "open_history", interrupted)
    assert main(["info", str(SAMPLE_TICKETING)]) == 130
    assert capsys.readouterr().err == "workbench info: interrupted\n"


def test_a_load_error_is_a_store_error() -> None:
    assert issubclass(LoadError, StoreError)


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"batch_size": -5}, "batch_size must be at least 1"),
        ({"limit": -1}, "limit cannot be negative"),
        ({"newest": -3}, "newest cannot be negative"),
        ({"after": -1}, "after cannot be negative"),
    ],
)
def test_absurd_load_sizes_are_refused_at_once(arguments: dict[str, int], said: str) -> None:
    # before: batch_size=0 never returned, and negative limits were taken as given
    with pytest.raises(LoadError, match=said):
        load_events(SAMPLE_TICKETING, **arguments)
