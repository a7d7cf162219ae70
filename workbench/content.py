"""Where the notebooks and the sample history are: a checkout, or inside the package.

From a clone (``make setup``, ``pip install -e .``, ``python -m workbench.cli``)
they are the checkout's own ``notebooks/`` and ``data/sample/``, beside the
``workbench`` package. A package installed from a wheel or an sdist (``pip
install .`` on a laptop) carries copies in ``workbench/_content/`` (the build
hook in ``setup.py`` puts them there). Those copies are never edited:
``workbench lab`` copies the notebooks into a folder of the attendee's own
(:func:`copy_notebooks`), and the sample is copied into the workspace.

>>> SAMPLE_DIR.name, (SAMPLE_DIR / "ticketing.sqlite").is_file()
('sample', True)
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = [
    "BUNDLED",
    "CHECKOUT",
    "CHECKOUT_NOTEBOOKS",
    "SAMPLE_DIR",
    "bundled_notebooks",
    "copy_notebooks",
]

CHECKOUT = Path(__file__).resolve().parents[1]
"""The folder above the package: a clone's root when the workbench runs from one."""
BUNDLED = Path(__file__).resolve().parent / "_content"
"""The copies an installed package carries (absent in a checkout)."""
CHECKOUT_NOTEBOOKS = CHECKOUT / "notebooks"
"""The checkout's notebooks (absent in an installed package)."""


def _sample_dir() -> Path:
    checkout = CHECKOUT / "data" / "sample"
    if (checkout / "ticketing.sqlite").is_file() or not (BUNDLED / "sample").is_dir():
        return checkout
    return BUNDLED / "sample"


SAMPLE_DIR = _sample_dir()
"""The sample history: the checkout's ``data/sample/``, else the package's copy."""


def bundled_notebooks() -> Path | None:
    """The notebooks an installed package carries, or ``None`` (a checkout has none)."""
    folder = BUNDLED / "notebooks"
    return folder if folder.is_dir() else None


def copy_notebooks(source: Path, to: Path) -> list[Path]:
    """Copy the notebooks of ``source`` that ``to`` does not have yet; return those copied.

    A notebook already in ``to`` is the attendee's own work and is never overwritten
    (delete it to get the original back).
    """
    to.mkdir(parents=True, exist_ok=True)
    copied = []
    for notebook in sorted(source.glob("*.ipynb")):
        target = to / notebook.name
        if not target.exists():
            shutil.copyfile(notebook, target)
            copied.append(target)
    return copied
