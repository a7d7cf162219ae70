"""Notebooks as dashboards with Voila, offline.

Voila 0.5's stock ``lab`` template links Font Awesome from a CDN, although the
same CSS is bundled in its JavaScript; in a room without internet that request
fails (and a strict browser policy may block the page). The workbench serves
Voila with a copy of that template without the CDN links.

From the command line::

    workbench voila notebooks/06-process-managers.ipynb

>>> import tempfile, pathlib
>>> folder = write_offline_voila_template(pathlib.Path(tempfile.mkdtemp()))
>>> [line for line in (folder / "index.html.j2").read_text().splitlines()
...  if "<link" in line and "https://" in line]
[]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["VOILA_TEMPLATE", "serve_dashboard", "voila_command", "write_offline_voila_template"]

VOILA_TEMPLATE = "workbench-offline"
"""The Voila template the workbench serves with: stock ``lab`` minus its CDN stylesheet links."""


def write_offline_voila_template(share: Path) -> Path:
    """Write :data:`VOILA_TEMPLATE` under ``share/voila/templates`` and return its folder.

    Put ``share`` on ``JUPYTER_PATH`` and pass ``--template=workbench-offline`` to Voila.
    """
    from jupyter_core.paths import jupyter_path

    for root in jupyter_path():
        stock = Path(root) / "voila" / "templates" / "lab" / "index.html.j2"
        if stock.is_file():
            break
    else:
        raise RuntimeError("voila's lab template was not found: install voila (make setup)")
    kept = [
        line
        for line in stock.read_text().splitlines(keepends=True)
        if not ("<link" in line and "https://" in line)
    ]
    folder = share / "voila" / "templates" / VOILA_TEMPLATE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html.j2").write_text("".join(kept))
    (folder / "conf.json").write_text(json.dumps({"base_template": "lab"}))
    return folder


def voila_command(target: Path, *, port: int = 8866, host: str = "127.0.0.1") -> list[str]:
    """The Voila command line that serves ``target`` (a notebook or a folder) offline."""
    return [
        sys.executable,
        "-m",
        "voila",
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        f"--template={VOILA_TEMPLATE}",
        str(target),
    ]


def serve_dashboard(target: str | Path, *, port: int = 8866, host: str = "127.0.0.1") -> int:
    """Serve a notebook (or a folder of them) as a Voila dashboard until interrupted."""
    path = Path(target)
    if not path.exists():
        raise FileNotFoundError(f"there is no notebook or folder {path}")
    share = Path(tempfile.mkdtemp(prefix="workbench-voila-"))
    write_offline_voila_template(share)
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(share), env.get("JUPYTER_PATH")) if p)
    return subprocess.call(voila_command(path, port=port, host=host), env=env)
