"""The committed sample history, and the folder that holds your own work.

The sample is one SQLite file per application in ``data/sample/`` (the
checkout's, or the copy an installed package carries: :mod:`workbench.content`). It never changes:
:func:`copy_sample` copies it, and :func:`workspace` gives the folder you work
in, a copy of the sample. :func:`default_store` names that folder as a store
string for :func:`~workbench.stores.open_app`. :func:`reset_workspace` puts the
sample back in that folder (``workbench reset``).

Nothing here imports the teaching domain: the sample files are plain stores.

>>> SAMPLE_TICKETING.relative_to(SAMPLE_DIR.parent).as_posix()
'sample/ticketing.sqlite'
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from workbench import content
from workbench.stores import Store

__all__ = [
    "PROJECT_WORKSPACE",
    "SAMPLE_DIR",
    "SAMPLE_SPONSORSHIP",
    "SAMPLE_TICKETING",
    "WORKSPACE_ENV",
    "WorkspaceInUse",
    "copy_sample",
    "default_store",
    "reset_plan",
    "reset_workspace",
    "workspace",
]

SAMPLE_DIR = content.SAMPLE_DIR
"""The committed sample history: one SQLite file per application (see :mod:`workbench.content`)."""
SAMPLE_TICKETING = SAMPLE_DIR / "ticketing.sqlite"
"""The sample's Ticketing events."""
SAMPLE_SPONSORSHIP = SAMPLE_DIR / "sponsorship.sqlite"
"""The sample's Sponsorship events."""
SAMPLE_FILES = (SAMPLE_TICKETING, SAMPLE_SPONSORSHIP)

WORKSPACE_ENV = "WORKBENCH_WORKSPACE"
"""Environment variable naming the folder of your own store (``make lab`` sets it)."""
PROJECT_WORKSPACE = content.CHECKOUT / "var" / "workspace"
"""The folder ``make lab`` names in ``WORKBENCH_WORKSPACE``: ``var/workspace/``."""
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database while it is open (or after a crash)."""


def copy_sample(to: str | Path | None = None) -> Path:
    """Copy the committed sample history into a folder and return that folder.

    Open applications on the copy (``open_app(Ticketing, folder)``) so that the
    committed sample never changes. Without ``to`` a new temporary folder is used.

    >>> sorted(p.name for p in copy_sample().iterdir())
    ['sponsorship.sqlite', 'ticketing.sqlite']
    """
    folder = Path(to) if to is not None else Path(tempfile.mkdtemp(prefix="workbench-sample-"))
    folder.mkdir(parents=True, exist_ok=True)
    for source in SAMPLE_FILES:
        target = folder / source.name
        if target.exists():
            raise FileExistsError(f"{target} exists already; copy the sample into a new folder")
        shutil.copyfile(source, target)
    return folder


def workspace() -> Path:
    """The embedded default store for your own work: a folder of SQLite files.

    With ``make lab`` it is ``var/workspace/``: the sample history copied there
    once, then kept, so what you record survives a kernel restart. Set
    ``WORKBENCH_WORKSPACE`` to use another folder. Without it (tests, a plain
    kernel) every call gives a fresh temporary copy of the sample.

    >>> (workspace() / "ticketing.sqlite").exists()
    True
    """
    folder = os.environ.get(WORKSPACE_ENV)
    if not folder:
        return copy_sample()
    path = Path(folder).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    store = Store("sqlite", path=path)
    for source in SAMPLE_FILES:
        # Found as open_app finds it (any case, any SQLite suffix): never a copy beside it.
        target = store.sqlite_file(source.stem)
        if not target.exists():
            shutil.copyfile(source, target)
    return path


def default_store() -> str:
    """The store for your own work, as a store string: the folder :func:`workspace` gives.

    ``make lab`` makes it ``var/workspace/`` (kept across kernel restarts);
    elsewhere it is a fresh temporary copy of the sample history.

    >>> from workbench.examples.ticketing import Ticketing
    >>> from workbench.stores import open_app
    >>> app = open_app(Ticketing, default_store())
    >>> app.recorder.max_notification_id() >= 4000
    True
    """
    return str(workspace())


class WorkspaceInUse(OSError):
    """A workspace file is open in another connection (a running kernel): not replaced."""


def _workspace_folder(folder: str | Path | None) -> Path:
    if folder is not None:
        return Path(folder).expanduser()
    named = os.environ.get(WORKSPACE_ENV)
    return Path(named).expanduser() if named else PROJECT_WORKSPACE


def reset_plan(folder: str | Path | None = None) -> tuple[Path, list[Path]]:
    """The workspace folder and the files :func:`reset_workspace` would remove there.

    Without ``folder``: ``WORKBENCH_WORKSPACE`` if set, else ``var/workspace/``.
    The files are each sample application's SQLite file (found as
    :func:`workspace` finds it) and the journals SQLite keeps beside it; other
    files in the folder are never touched.

    >>> folder, files = reset_plan(copy_sample())
    >>> [p.name for p in files]
    ['ticketing.sqlite', 'sponsorship.sqlite']
    """
    path = _workspace_folder(folder)
    if not path.is_dir():
        return path, []
    store = Store("sqlite", path=path)
    removed: list[Path] = []
    for source in SAMPLE_FILES:
        target = store.sqlite_file(source.stem)
        for candidate in (target, *(Path(f"{target}{end}") for end in SQLITE_COMPANIONS)):
            if candidate.exists():
                removed.append(candidate)
    return path, removed


def _open_elsewhere(path: Path) -> list[str]:
    """Processes (other than this one) with ``path`` open, where ``/proc`` says so (Linux)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    wanted = {str(path.resolve()), *(f"{path.resolve()}{end}" for end in SQLITE_COMPANIONS)}
    holders: list[str] = []
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
            continue
        try:
            fds = list((pid_dir / "fd").iterdir())
            if any(os.readlink(fd) in wanted for fd in fds):
                name = (pid_dir / "comm").read_text().strip()
                holders.append(f"{name} (pid {pid_dir.name})")
        except OSError:  # gone, or not ours to look at
            continue
    return holders


def _refuse_if_open(path: Path) -> None:
    holders = _open_elsewhere(path)
    if holders:
        raise WorkspaceInUse(
            f"{path} is open in {', '.join(holders)}: shut down the kernels using the "
            "workspace (Kernel > Shut Down Kernel) or stop JupyterLab, then reset again"
        )
    # A file in WAL mode cannot leave it while another connection (in this process
    # too: an application still open in this kernel) has it open.
    try:
        with closing(sqlite3.connect(path, timeout=1)) as conn:
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.OperationalError as e:  # locked by a writer
        mode = str(e)
    except sqlite3.DatabaseError:  # not an SQLite file (damaged): nothing to keep open
        return
    if str(mode).lower() != "delete":
        raise WorkspaceInUse(
            f"{path} is open in another connection ({mode}): close the applications "
            "opened on it (app.close()) or restart their kernel, then reset again"
        )


def reset_workspace(folder: str | Path | None = None) -> list[Path]:
    """Put the committed sample history back in the workspace; return the files removed.

    Without ``folder``: ``WORKBENCH_WORKSPACE`` if set, else ``var/workspace/``
    (as ``make lab`` has it). Every event recorded there since is lost; files
    other than the sample applications' are left alone. Each file is replaced
    atomically (copied beside it under a temporary name, then renamed over it),
    and a file another process or connection has open is refused with
    :class:`WorkspaceInUse`, before anything is changed.

    >>> folder = copy_sample()
    >>> [p.name for p in reset_workspace(folder)]
    ['ticketing.sqlite', 'sponsorship.sqlite']
    """
    path, removed = reset_plan(folder)
    path.mkdir(parents=True, exist_ok=True)
    store = Store("sqlite", path=path)
    targets = [(source, store.sqlite_file(source.stem)) for source in SAMPLE_FILES]
    for _, target in targets:
        if target.exists():
            _refuse_if_open(target)
    for source, target in targets:
        partial = target.with_name(f".{target.name}.reset-partial")
        shutil.copyfile(source, partial)
        for end in SQLITE_COMPANIONS:  # a stale log must never meet the new file
            Path(f"{target}{end}").unlink(missing_ok=True)
        os.replace(partial, target)
    return removed
