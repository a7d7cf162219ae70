"""Charts: pure functions from data to altair charts, rendered without a network.

Altair's default renderer loads Vega from a CDN, so in a room without internet
charts stay blank. :func:`enable_offline` switches altair to its ``jupyter``
renderer with the Vega bundle that ``vl-convert-python`` ships, served by the
kernel; :func:`to_svg` and :func:`to_png` render a chart in Python for handouts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["EMBED_OPTIONS", "enable_offline", "live_chart", "save_picture", "to_png", "to_svg"]

EMBED_OPTIONS: dict[str, Any] = {"actions": False}
"""vega-embed options for every chart shown in a notebook: no "…" actions menu.

Its button is a ``<summary>`` holding only an icon, which a screen reader cannot
name (axe-core: ``summary-name``, serious), and its "Open in Vega Editor" leaves
the machine. A handout saves a chart with :func:`to_svg` / :func:`to_png` instead.
"""

_enabled = False


def enable_offline() -> None:
    """Render altair charts from the bundled Vega libraries (no CDN). Idempotent.

    >>> enable_offline()
    >>> import altair as alt
    >>> alt.renderers.active
    'jupyter'
    >>> alt.renderers.options["embed_options"]
    {'actions': False}
    """
    global _enabled
    if _enabled:
        return
    import altair as alt

    alt.JupyterChart.enable_offline()
    alt.renderers.enable("jupyter", offline=True, embed_options=EMBED_OPTIONS)
    _enabled = True


def live_chart(chart: Any) -> Any:
    """An ``altair.JupyterChart`` of ``chart`` for a widget to redraw: offline, no menu.

    The one way a widget makes a live chart: Vega from the bundle (:func:`enable_offline`)
    and vega-embed's :data:`EMBED_OPTIONS` (no "…" menu a screen reader cannot name).

    >>> import altair as alt
    >>> live_chart(alt.Chart().mark_point()).embed_options
    {'actions': False}
    """
    import altair as alt

    enable_offline()
    return alt.JupyterChart(chart, embed_options=EMBED_OPTIONS)


def to_svg(chart: Any) -> str:
    """The chart as an SVG document, rendered in Python by vl-convert."""
    import vl_convert as vlc

    return str(vlc.vegalite_to_svg(chart.to_dict()))


def to_png(chart: Any, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes, rendered in Python by vl-convert."""
    import vl_convert as vlc

    return bytes(vlc.vegalite_to_png(chart.to_dict(), scale=scale))


def save_picture(
    path: str | Path, what: str, svg: Callable[[], str], png: Callable[[], bytes]
) -> Path:
    """Write a picture to ``path`` as ``.svg`` or ``.png``, by its suffix; return the path.

    ``what`` names the picture in the error for any other suffix. Charts, storming
    boards and system maps all save this way (for handouts).

    >>> save_picture("map.gif", "a map", lambda: "", lambda: b"")
    Traceback (most recent call last):
    ...
    ValueError: cannot save a map as .gif: use .svg or .png
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(svg(), encoding="utf-8")
    elif suffix == ".png":
        path.write_bytes(png())
    else:
        raise ValueError(
            f"cannot save {what} as {suffix or 'a file without suffix'}: use .svg or .png"
        )
    return path
