"""The committed sample history, and the folder that holds your own work.

The sample is one SQLite file per application in ``data/sample/`` (found beside
the ``workbench`` package, as an editable install has it). It never changes:
:func:`copy_sample` copies it, and :func:`workspace` gives the folder you work
in, a copy of the sample. :func:`default_store` names that folder as a store
string for :func:`~workbench.stores.open_app`.

Nothing here imports the teaching domain: the sample files are plain stores.

>>> SAMPLE_TICKETING.relative_to(SAMPLE_DIR.parent.parent).as_posix()
'data/sample/ticketing.sqlite'
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from workbench.stores import Store

__all__ = [
    "SAMPLE_DIR",
    "SAMPLE_SPONSORSHIP",
    "SAMPLE_TICKETING",
    "WORKSPACE_ENV",
    "copy_sample",
    "default_store",
    "workspace",
]

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
"""The committed sample history: one SQLite file per application."""
SAMPLE_TICKETING = SAMPLE_DIR / "ticketing.sqlite"
"""The sample's Ticketing events."""
SAMPLE_SPONSORSHIP = SAMPLE_DIR / "sponsorship.sqlite"
"""The sample's Sponsorship events."""
SAMPLE_FILES = (SAMPLE_TICKETING, SAMPLE_SPONSORSHIP)

WORKSPACE_ENV = "WORKBENCH_WORKSPACE"
"""Environment variable naming the folder of your own store (``make lab`` sets it)."""


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
