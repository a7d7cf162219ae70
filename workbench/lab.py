"""JupyterLab on the notebooks, set up with Python alone (``workbench lab``).

``make lab`` runs this job, and on a laptop without ``make`` (macOS, Windows)
``pip install`` of the project then ``workbench lab`` does the same:

1. prepare the workspace (:func:`workbench.samples.workspace`: the sample
   history copied once into ``var/workspace/`` beside the notebooks folder, or
   ``--workspace``, or ``$WORKBENCH_WORKSPACE``);
2. register this Python as the ``python3`` kernel ("Python 3 (workbench)") in
   this environment (``ipykernel install --sys-prefix``; per user when that
   folder is not writable);
3. write the project's JupyterLab settings (no news prompt:
   :func:`workbench.presenter.write_lab_settings`; skipped when this
   environment's folder is not writable);
4. start JupyterLab (``python -m jupyter lab``) on the notebooks on 127.0.0.1,
   without news or update checks (nothing leaves the machine), and without
   opening a browser unless ``--browser`` is given.

Which notebooks: those of the checkout the package runs from (``notebooks/``
beside the ``workbench`` package, as ``make setup`` or ``pip install -e .``
from a clone has it). A package installed from a wheel or an sdist (``pip
install .`` on a laptop) carries the notebooks and the sample history
(:mod:`workbench.content`): ``workbench lab`` copies the notebooks once into
a folder of your own, ``~/workbench-workshop/notebooks/`` (``--home`` names
another), and never overwrites one you have changed. ``--notebooks PATH``
serves any folder.

>>> command = lab_command(Path("nb"), port=9999)
>>> command[1:3], "--ServerApp.port=9999" in command, "--no-browser" in command
(['-m', 'jupyter'], True, True)
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from workbench import content
from workbench.samples import SAMPLE_TICKETING, WORKSPACE_ENV, workspace

__all__ = [
    "DEFAULT_HOME",
    "KERNEL_DISPLAY_NAME",
    "LabPlan",
    "find_notebooks",
    "lab_command",
    "prepare_lab",
    "register_kernel",
    "run_lab",
]

KERNEL_DISPLAY_NAME = "Python 3 (workbench)"
"""The kernel's name in JupyterLab's launcher (the same as ``make setup`` registers)."""

DEFAULT_HOME = Path("~") / "workbench-workshop"
"""Where an installed package's notebooks are copied (``--home`` names another folder)."""


def find_notebooks(explicit: str | Path | None = None, *, home: str | Path | None = None) -> Path:
    """The notebooks folder to serve.

    ``explicit``, else the checkout's ``notebooks/``, else the installed package's
    notebooks copied into ``home/notebooks`` (default ``~/workbench-workshop``).
    """
    if explicit is not None:
        folder = Path(explicit).expanduser().resolve()
        if not folder.is_dir():
            raise FileNotFoundError(f"--notebooks {explicit}: there is no such folder")
        return folder
    if content.CHECKOUT_NOTEBOOKS.is_dir():
        return content.CHECKOUT_NOTEBOOKS
    bundled = content.bundled_notebooks()
    if bundled is None:
        raise FileNotFoundError(
            "this workbench has no notebooks (neither a checkout nor an installed copy): "
            "pass --notebooks PATH, the notebooks/ folder of a clone of the project"
        )
    folder = (Path(home) if home is not None else DEFAULT_HOME).expanduser().resolve()
    content.copy_notebooks(bundled, folder / "notebooks")
    return folder / "notebooks"


def lab_command(
    notebooks: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8888,
    browser: bool = False,
    allow_root: bool | None = None,
) -> list[str]:
    """The JupyterLab command line that serves ``notebooks`` offline (as ``make lab``)."""
    if allow_root is None:
        allow_root = hasattr(os, "geteuid") and os.geteuid() == 0
    return [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        *([] if browser else ["--no-browser"]),
        f"--ServerApp.ip={host}",
        f"--ServerApp.port={port}",
        *(["--allow-root"] if allow_root else []),
        f"--ServerApp.root_dir={notebooks}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]


def register_kernel() -> Path:
    """Register this Python as the ``python3`` kernel; return the kernelspec's folder.

    In this environment (``--sys-prefix``, as ``make setup`` does), or for the
    user when the environment's folder is not writable (a system Python).
    """
    from ipykernel.kernelspec import install

    try:
        return Path(
            install(kernel_name="python3", display_name=KERNEL_DISPLAY_NAME, prefix=sys.prefix)
        )
    except PermissionError:
        return Path(install(kernel_name="python3", display_name=KERNEL_DISPLAY_NAME, user=True))


@dataclass(frozen=True)
class LabPlan:
    """What ``workbench lab`` starts: the command and its environment, all prepared."""

    command: list[str]
    """JupyterLab's command line (``sys.executable -m jupyter lab ...``)."""
    env: dict[str, str]
    """The environment it runs in (with ``WORKBENCH_WORKSPACE``)."""
    notebooks: Path
    """The folder JupyterLab serves."""
    workspace: Path
    """The embedded default store, prepared (the sample history copied in once)."""
    kernel: Path
    """The registered kernelspec's folder."""

    def command_line(self) -> str:
        """The command as one line to paste into this system's shell."""
        if os.name == "nt":
            return subprocess.list2cmdline(self.command)
        return shlex.join(self.command)


def prepare_lab(
    notebooks: str | Path | None = None,
    *,
    home: str | Path | None = None,
    workspace_dir: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8888,
    browser: bool = False,
) -> LabPlan:
    """Prepare the workspace and the kernel, and say how JupyterLab will be started.

    The workspace is ``workspace_dir``, else ``$WORKBENCH_WORKSPACE``, else
    ``var/workspace/`` beside the notebooks folder.
    """
    folder = find_notebooks(notebooks, home=home)
    if not SAMPLE_TICKETING.is_file():
        raise FileNotFoundError(
            f"the sample history is not installed ({SAMPLE_TICKETING} is missing): "
            "install the workbench again from a clone (pip install .), which carries it"
        )
    chosen = workspace_dir or os.environ.get(WORKSPACE_ENV) or folder.parent / "var" / "workspace"
    env = dict(os.environ)
    env[WORKSPACE_ENV] = str(Path(chosen).expanduser().resolve())
    previous = os.environ.get(WORKSPACE_ENV)
    os.environ[WORKSPACE_ENV] = env[WORKSPACE_ENV]
    try:
        prepared = workspace()
    finally:
        if previous is None:
            del os.environ[WORKSPACE_ENV]
        else:
            os.environ[WORKSPACE_ENV] = previous
    from workbench.presenter import write_lab_settings

    with contextlib.suppress(PermissionError):  # a system Python: JupyterLab's defaults
        write_lab_settings()
    return LabPlan(
        command=lab_command(folder, host=host, port=port, browser=browser),
        env=env,
        notebooks=folder,
        workspace=prepared,
        kernel=register_kernel(),
    )


def run_lab(plan: LabPlan) -> int:
    """Run JupyterLab until it stops; its exit code.

    Ctrl-C goes to JupyterLab, which asks to confirm (or stops on a second one);
    this process waits for it rather than leaving it behind.
    """
    process = subprocess.Popen(plan.command, env=plan.env)
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue
