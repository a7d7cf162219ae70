"""Build hook: the wheel carries the notebooks and the sample history.

Everything else about the package is in ``pyproject.toml``. A wheel (and so
``pip install`` from a clone, an sdist or a wheel file) copies ``notebooks/*.ipynb``
and ``data/sample/*.sqlite`` into ``workbench/_content/``, where
:mod:`workbench.content` finds them when there is no checkout beside the
package. An editable install (``make setup``) reads the checkout's own files
and copies nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
CONTENT = {"notebooks": ("notebooks", "*.ipynb"), "sample": ("data/sample", "*.sqlite")}


class BuildWithContent(build_py):
    """``build_py`` that also copies the notebooks and the sample into the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name, (folder, pattern) in CONTENT.items():
            target = Path(self.build_lib) / "workbench" / "_content" / name
            target.mkdir(parents=True, exist_ok=True)
            for source in sorted((HERE / folder).glob(pattern)):
                shutil.copyfile(source, target / source.name)


setup(cmdclass={"build_py": BuildWithContent})
