"""Handouts: a notebook as one static HTML page, with its outputs and charts, offline.

:func:`export_notebook` runs a copy of a notebook (nbclient, kernel ``python3``,
in a temporary folder, on a fresh copy of the sample history: your own
workspace is neither read nor changed), then writes it as HTML with
nbconvert's ``lab`` template. The page loads nothing from the internet:

- altair charts are widgets in the notebooks (:func:`workbench.enable_offline`
  renders them with ``JupyterChart``), and widgets cannot run in a static page.
  Each chart is drawn in Python by vl-convert (:func:`workbench.charts.to_svg`)
  and embedded as an SVG image (``<img src="data:image/svg+xml;base64,...">``);
- other widgets show their last state where it is plain content (HTML, labels,
  boxes of them, Output widgets); the rest are replaced by a one-line note;
- the template's require.js, MathJax, Mermaid and widget-manager scripts, all
  on CDNs, are left out (LaTeX in Markdown stays as typed);
- the page is then checked: a ``src``/``href`` to a remote address on a
  ``<script>``, ``<link>``, ``<img>``, ... or a CSS ``url(http...)`` raises
  :class:`RemoteReferenceError` naming it, rather than writing a page that would
  fetch it.

From the command line::

    workbench export notebooks/01-welcome.ipynb -o welcome.html

>>> find_remote_references('<a href="https://pypi.org">a link is fine</a>')
[]
>>> find_remote_references('<script src="https://cdn.example/x.js"></script>')
['https://cdn.example/x.js']
"""

from __future__ import annotations

import copy
import html
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["RemoteReferenceError", "export_notebook", "find_remote_references", "static_widgets"]

_TEMPLATE = "workbench-handout.html.j2"
_TEMPLATE_SOURCE = """\
{%- extends 'index.html.j2' -%}
{#- Everything the lab template loads from a CDN, left out: the page is static. -#}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

_LOADING_TAG = re.compile(
    r"<(?:script|link|img|iframe|source|video|audio|embed|object|input|track|image|use)\b[^>]*?"
    r"\s(?:src|href|data|srcset|poster|xlink:href)\s*=\s*[\"']?\s*((?:https?:)?//[^\s\"'>]+)",
    re.IGNORECASE,
)
_CSS_URL = re.compile(
    r"(?:url\(\s*[\"']?|@import\s+[\"'])\s*((?:https?:)?//[^\s\"')]+)", re.IGNORECASE
)


class RemoteReferenceError(ValueError):
    """The exported page would still load something from outside this machine."""


def find_remote_references(page: str) -> list[str]:
    """The remote addresses a browser would fetch when opening ``page`` (in order)."""
    found = [m.group(1) for m in _LOADING_TAG.finditer(page)]
    found += [m.group(1) for m in _CSS_URL.finditer(page)]
    return list(dict.fromkeys(found))


class _Spec:
    """A Vega-Lite spec as :func:`workbench.charts.to_svg` takes a chart."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._spec = spec

    def to_dict(self) -> dict[str, Any]:
        return self._spec


def _widget_html(model_id: str, states: dict[str, Any], depth: int = 0) -> str | None:
    """The last state of widget ``model_id`` as static HTML, or None when it has none."""
    from workbench.charts import to_svg

    entry = states.get(model_id)
    if entry is None or depth > 20:
        return None
    name = str(entry.get("model_name", ""))
    state: dict[str, Any] = entry.get("state", {})
    spec = state.get("spec")
    if isinstance(spec, dict) and "vega-lite" in str(spec.get("$schema", "")):
        return to_svg(_Spec(spec))
    if name in ("HTMLModel", "HTMLMathModel"):
        return str(state.get("value", ""))
    if name == "LabelModel":
        return f"<span>{html.escape(str(state.get('value', '')))}</span>"
    if name == "OutputModel":
        return "".join(_output_html(o) for o in state.get("outputs", []))
    children = state.get("children")
    if name.endswith("BoxModel") and isinstance(children, list):
        parts = [
            _widget_html(str(c).removeprefix("IPY_MODEL_"), states, depth + 1) for c in children
        ]
        kept = [p for p in parts if p]
        if not kept:
            return None
        direction = "row" if name.startswith(("HBox", "GridBox")) else "column"
        return (
            f'<div style="display:flex;flex-direction:{direction};gap:8px">'
            + "".join(f"<div>{p}</div>" for p in kept)
            + "</div>"
        )
    return None


def _output_html(output: dict[str, Any]) -> str:
    """One output of an Output widget as static HTML."""
    if output.get("output_type") == "stream":
        return f"<pre>{html.escape(str(output.get('text', '')))}</pre>"
    data: dict[str, Any] = output.get("data", {})
    if "text/html" in data:
        return (
            "".join(data["text/html"]) if isinstance(data["text/html"], list) else data["text/html"]
        )
    if "image/svg+xml" in data:
        return str(data["image/svg+xml"])
    if "image/png" in data:
        alt = html.escape(_alt_text(data), quote=True)
        return f'<img src="data:image/png;base64,{data["image/png"]}" alt="{alt}">'
    if "text/plain" in data:
        return f"<pre>{html.escape(str(data['text/plain']))}</pre>"
    return ""


def _alt_text(data: dict[str, Any]) -> str:
    """Words for an image output, for a screen reader: its plain text, unless that is a repr."""
    plain = data.get("text/plain", "")
    text = ("".join(plain) if isinstance(plain, list) else str(plain)).strip()
    if text and not text.startswith("<"):
        return text
    return "A picture from the notebook (run the notebook to explore it)"


def static_widgets(notebook: Any) -> int:
    """Replace every widget output of an executed notebook by its static last state.

    Charts become SVG, plain-content widgets HTML, and a widget without either a
    note that says to run the notebook. The notebook's widget state is dropped.
    Returns how many widget outputs were replaced. ``notebook`` is changed in place.
    """
    states: dict[str, Any] = (
        notebook.metadata.get("widgets", {}).get(_WIDGET_STATE, {}).get("state", {})
    )
    replaced = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            view = data.get(_WIDGET_VIEW)
            if view is None:
                continue
            model_id = str(view.get("model_id", ""))
            content = _widget_html(model_id, states)
            if content is not None and content.lstrip().startswith("<svg"):
                output["data"] = {"image/svg+xml": content}
            elif content is not None:
                output["data"] = {"text/html": content}
            else:
                kind = states.get(model_id, {}).get("model_name", "widget")
                output["data"] = {
                    "text/html": (
                        "<p><em>An interactive widget was here "
                        f"({html.escape(str(kind))}); run the notebook in JupyterLab "
                        "to use it.</em></p>"
                    )
                }
            replaced += 1
    notebook.metadata.pop("widgets", None)
    return replaced


def _execute(notebook: Any, folder: Path, timeout: int) -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    env = dict(os.environ)
    env["WORKBENCH_WORKSPACE"] = str(folder / "workspace")  # a fresh copy of the sample
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=timeout,
        resources={"metadata": {"path": str(folder)}},
    )
    try:
        client.execute(env=env, cwd=str(folder))
    except CellExecutionError as e:
        first = str(e).strip().splitlines()
        raise ValueError(
            "a cell failed while the notebook ran, so no handout was written: "
            + (first[-1] if first else type(e).__name__)
        ) from None


def export_notebook(
    notebook: str | Path, output: str | Path | None = None, *, timeout: int = 600
) -> Path:
    """Run ``notebook`` and write it as a static, offline HTML page; return the page's path.

    ``output`` defaults to ``<notebook name>.html`` in the current folder. The
    notebook file is not changed: a copy runs in a temporary folder.
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    source = Path(notebook)
    if not source.is_file():
        raise FileNotFoundError(f"there is no notebook {source}")
    target = Path(output) if output is not None else Path.cwd() / f"{source.stem}.html"
    folder = Path(tempfile.mkdtemp(prefix="workbench-handout-"))
    try:
        copied = folder / source.name
        shutil.copyfile(source, copied)
        nb = nbformat.read(copied, as_version=4)  # type: ignore[no-untyped-call]
        _execute(nb, folder, timeout)
        static_widgets(nb)
        exporter = HTMLExporter(  # type: ignore[no-untyped-call]
            template_name="lab",
            template_file=_TEMPLATE,
            extra_loaders=[DictLoader({_TEMPLATE: _TEMPLATE_SOURCE})],
            embed_images=True,
        )
        page, _ = exporter.from_notebook_node(
            copy.deepcopy(nb), resources={"metadata": {"name": source.stem, "path": str(folder)}}
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    remote = find_remote_references(page)
    if remote:
        raise RemoteReferenceError(
            f"the handout of {source} would load {len(remote)} thing(s) from the internet: "
            + ", ".join(remote[:5])
            + "; remove them from the notebook (a Markdown image? an output's <script src>?)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target
