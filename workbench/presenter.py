"""For the instructor: presenter mode on a projector, and the project's JupyterLab settings.

:func:`present` scales the workbench's widgets, diagrams and charts for the back
of the room; ``present(False)`` puts them back. It is one ``<style>`` element in
the cell's output, shown under one display id: a later ``present(...)``, in any
cell, updates every earlier one, so the last call wins.

What it scales (CSS ``zoom``, so text, controls and layout grow together):

- ipywidgets views (the outermost ``.jupyter-widgets`` element of an output):
  the stream viewer, time travel, projection view, command panel, CRUD editor,
  process stepper;
- the workbench's HTML and SVG: ``.wb-storming`` (event-storming board),
  ``.workbench-process-run`` (a process run), ``.wb-projection-run``,
  ``.wb-state`` (time travel), the state-machine diagram (``svg[role="img"]``);
- altair charts (``.vega-embed``) and pandas tables (``table.dataframe``);
- markdown cells and text outputs; the code in the cells gets a larger font
  (its ``--jp-code-font-size``), the rest of JupyterLab is left as it is.

:func:`write_lab_settings` writes the settings the project gives JupyterLab
(``overrides.json`` in JupyterLab's application settings folder): no "Would you
like to get notified about official Jupyter news?" prompt, no news fetched,
no update check. ``workbench lab`` (which ``make lab`` runs) writes them before it
starts JupyterLab; so should anything else that starts it.

>>> "zoom: 1.5" in presenter_css(1.5)
True
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "LAB_OVERRIDES",
    "ZOOMED",
    "lab_settings_dir",
    "present",
    "presenter_css",
    "write_lab_settings",
]

LAB_OVERRIDES: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {
        # "none" (JupyterLab's default) is what asks "Would you like to get notified
        # about official Jupyter news?" on every new profile; "false" is "Never".
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}
"""JupyterLab settings defaults the project sets (plugin id → setting → value).

A user's own choice in Settings still wins: these replace JupyterLab's defaults.
"""

ZOOMED = (
    ".jupyter-widgets",
    ".wb-storming",
    ".workbench-process-run",
    ".wb-projection-run",
    ".wb-state",
    'svg[role="img"]',
    ".vega-embed",
    "table.dataframe",
    ".jp-MarkdownOutput",
    ".jp-OutputArea-output > pre",
)
"""What presenter mode scales; each only where it is not inside another of them."""

CODE_FONT_PX = 13
"""JupyterLab's default ``--jp-code-font-size``."""
DISPLAY_ID = "workbench-presenter"
MIN_SCALE, MAX_SCALE = 0.5, 4.0


def presenter_css(scale: float) -> str:
    """The style sheet of presenter mode at ``scale`` (1 is off: an empty sheet).

    >>> ".vega-embed" in presenter_css(2)
    True
    >>> presenter_css(1)
    ''
    """
    if isinstance(scale, bool) or not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(
            f"scale {scale!r} is not between {MIN_SCALE} and {MAX_SCALE}: "
            "try present(1.5), or present(False) to switch presenter mode off"
        )
    if scale == 1:
        return ""
    roots = ", ".join(ZOOMED)
    return (
        f":is({roots}):not(:is({roots}) *) {{ zoom: {scale:g}; }}\n"
        f".jp-InputArea-editor {{ --jp-code-font-size: {CODE_FONT_PX * scale:g}px; }}\n"
    )


def _html(scale: float) -> str:
    css = presenter_css(scale)
    note = (
        f"Presenter mode: widgets, diagrams and charts at {scale:g}× "
        "(<code>present(False)</code> switches it off)."
        if css
        else "Presenter mode off."
    )
    return (
        f'<style class="workbench-presenter">{css}</style>'
        f'<div class="workbench-presenter-note" style="font-size:small;opacity:.6">{note}</div>'
    )


class _PresenterStyle:
    """The presenter-mode ``<style>`` as a cell output (it displays itself)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def _repr_html_(self) -> str:
        return _html(self.scale)

    def __repr__(self) -> str:
        return f"presenter mode at {self.scale:g}x" if self.scale != 1 else "presenter mode off"


def present(scale: float | bool = 1.5) -> None:
    """Scale widgets, diagrams and charts for a projector; ``present(False)`` switches off.

    Call it in a cell of the notebook on the projector; ``present()`` is 1.5×.
    Every earlier ``present`` output in this session is updated too, so the
    last call holds.

    >>> present(2)  # outside a notebook there is nothing to scale
    presenter mode at 2x
    """
    from IPython import get_ipython
    from IPython.display import display, update_display

    if scale is False:
        scale = 1.0
    elif scale is True:
        scale = 1.5
    style = _PresenterStyle(float(scale))
    _html(style.scale)  # a bad scale is refused before anything is shown
    display(style, display_id=DISPLAY_ID)  # type: ignore[no-untyped-call]
    if getattr(get_ipython(), "kernel", None) is not None:  # earlier outputs follow
        update_display(style, display_id=DISPLAY_ID)  # type: ignore[no-untyped-call]


def lab_settings_dir() -> Path:
    """JupyterLab's application settings folder for this Python (where overrides go).

    ``<sys.prefix>/share/jupyter/lab/settings`` (in ``.venv/``), or under
    ``JUPYTERLAB_DIR`` when that is set, as JupyterLab finds it.
    """
    app_dir = os.environ.get("JUPYTERLAB_DIR")
    base = Path(app_dir) if app_dir else Path(sys.prefix) / "share" / "jupyter" / "lab"
    return base / "settings"


def write_lab_settings(folder: str | Path | None = None) -> Path:
    """Write :data:`LAB_OVERRIDES` into ``overrides.json`` in ``folder``; return the file.

    Without ``folder``: :func:`lab_settings_dir`. Settings already in the file
    for other plugins or keys are kept; the file is replaced atomically.

    >>> import json, tempfile
    >>> path = write_lab_settings(tempfile.mkdtemp())
    >>> json.loads(path.read_text())["@jupyterlab/apputils-extension:notification"]["fetchNews"]
    'false'
    """
    target_dir = Path(folder) if folder is not None else lab_settings_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / "overrides.json"
    settings: dict[str, Any] = {}
    if path.exists():
        try:
            settings = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise ValueError(
                f"{path} is not JSON ({e}): fix or delete it, then run again"
            ) from None
    for plugin, values in LAB_OVERRIDES.items():
        settings.setdefault(plugin, {}).update(values)
    fd, partial = tempfile.mkstemp(dir=target_dir, prefix=".overrides-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(settings, out, indent=2)
        out.write("\n")
    os.replace(partial, path)
    return path


if __name__ == "__main__":  # pragma: no cover
    print(write_lab_settings())
