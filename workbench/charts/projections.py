"""Charts of read models: aggregated data in, altair chart out.

Every function takes a small DataFrame (already aggregated: one row per bar or
per day, never one per event) and returns a fresh altair chart, so a chart is
tested by looking at ``chart.to_dict()``. The frame is the chart's only
dataset (any reshaping is done by Vega-Lite transforms), so a live view can
build the chart once and then only swap its data (:func:`spec_with_data`):

>>> import pandas as pd
>>> frame = pd.DataFrame({"conference": ["PHP18"], "ticket_type": ["Standard"],
...                       "capacity": [100], "remaining": [40], "sold": [60]})
>>> spec = remaining_chart(frame).to_dict()
>>> spec["mark"]["type"]
'bar'

Rendering needs no internet: :func:`save` draws SVG or PNG with vl-convert
in the kernel (:func:`workbench.charts.to_svg`, :func:`workbench.charts.to_png`),
and :func:`workbench.charts.enable_offline` makes altair load Vega from
vl-convert instead of a CDN.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

__all__ = [
    "auto_chart",
    "pipeline_chart",
    "remaining_chart",
    "sales_chart",
    "save",
    "spec_with_data",
]


def _require(frame: pd.DataFrame, columns: list[str], chart: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{chart} needs columns {columns}; the data has {list(frame.columns)} "
            f"(missing {missing})"
        )


def remaining_chart(frame: pd.DataFrame, *, width: int = 420) -> Any:
    """Sold and remaining tickets per conference and ticket type (stacked bars).

    ``frame``: columns ``conference``, ``ticket_type``, ``sold``, ``remaining``
    (see :func:`workbench.examples.ticketing.readmodels.remaining_frame`).
    """
    _require(frame, ["conference", "ticket_type", "sold", "remaining"], "remaining_chart")
    return (
        alt.Chart(frame)
        .transform_calculate(item="datum.conference + ' · ' + datum.ticket_type")
        .transform_fold(["sold", "remaining"], as_=["tickets", "count"])
        .mark_bar()
        .encode(
            y=alt.Y("item:N", title=None, sort=None),
            x=alt.X("count:Q", title="tickets", stack="zero"),
            color=alt.Color(
                "tickets:N",
                scale=alt.Scale(domain=["sold", "remaining"], range=["#4c78a8", "#d0d7de"]),
                legend=alt.Legend(orient="top", title=None),
            ),
            order=alt.Order("tickets:N", sort="descending"),
            tooltip=["item:N", "tickets:N", "count:Q"],
        )
        .properties(width=width, title="Tickets remaining")
    )


def sales_chart(frame: pd.DataFrame, *, width: int = 480, height: int = 200) -> Any:
    """Revenue per day (bars) with the running total (line).

    ``frame``: columns ``date``, ``revenue``, ``total_revenue`` (see
    :func:`workbench.examples.ticketing.readmodels.sales_frame`).
    """
    _require(frame, ["date", "revenue", "total_revenue"], "sales_chart")
    base = alt.Chart(frame).encode(x=alt.X("date:T", title=None))
    bars = base.mark_bar(color="#4c78a8", opacity=0.6).encode(
        y=alt.Y("revenue:Q", title="revenue per day"), tooltip=["date:T", "revenue:Q"]
    )
    line = base.mark_line(color="#e45756").encode(y=alt.Y("total_revenue:Q", title="total revenue"))
    return (
        alt.layer(bars, line)
        .resolve_scale(y="independent")
        .properties(width=width, height=height, title="Sales over time")
    )


def pipeline_chart(frame: pd.DataFrame, *, width: int = 360) -> Any:
    """Sponsors per pipeline stage (bars in stage order).

    ``frame``: columns ``stage`` and ``sponsors`` (see
    :func:`workbench.examples.sponsorship.readmodels.pipeline_frame`).
    """
    _require(frame, ["stage", "sponsors"], "pipeline_chart")
    return (
        alt.Chart(frame)
        .mark_bar(color="#54a24b")
        .encode(
            x=alt.X("stage:N", sort=list(frame["stage"]), title=None),
            y=alt.Y("sponsors:Q", title="sponsors"),
            tooltip=list(frame.columns),
        )
        .properties(width=width, title="Sponsor pipeline")
    )


def auto_chart(frame: pd.DataFrame, *, width: int = 420, title: str = "") -> Any:
    """A bar chart of any small table: first text column against first number column.

    For read models of applications the workbench knows nothing about.
    """
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object and len(values) and values.map(_is_number).all():
            frame[column] = values.astype(float)
    numbers = [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    labels = [c for c in frame.columns if c not in numbers]
    if not numbers:
        raise ValueError(
            f"auto_chart needs a numeric column to draw; the data has {list(frame.columns)}. "
            "Aggregate the read model into counts or amounts first"
        )
    data = frame.copy()
    if labels:
        label = "label"
        data[label] = data[labels].astype(str).agg(" · ".join, axis=1)
    else:
        label = "row"
        data[label] = range(len(data))
    return (
        alt.Chart(data[[label, numbers[0]]])
        .mark_bar()
        .encode(y=alt.Y(f"{label}:N", sort=None, title=None), x=alt.X(f"{numbers[0]}:Q"))
        .properties(width=width, title=title)
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def spec_with_data(spec: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    """A copy of a Vega-Lite ``spec`` (from ``chart.to_dict()``) with its data replaced.

    The chart is built (and validated) once; redraws only swap the data, which
    is much cheaper than building a new chart.
    """
    records = _records(frame)
    new = dict(spec)
    datasets = spec.get("datasets")
    if isinstance(datasets, dict) and len(datasets) == 1:
        name = next(iter(datasets))
        new["datasets"] = {name: records}
        return new
    if isinstance(spec.get("data"), dict):
        new["data"] = {"values": records}
        return new
    raise ValueError("spec_with_data needs a spec with a single dataset (from chart.to_dict())")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%S")
        elif out[column].dtype == object:
            out[column] = out[column].map(_plain)
    records: list[dict[str, Any]] = out.to_dict(orient="records")  # type: ignore[assignment]
    return records


def _plain(value: Any) -> Any:
    """A JSON-friendly version of a cell (decimals to floats, dates to ISO text)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def save(chart: alt.TopLevelMixin | dict[str, Any], path: str | Path) -> Path:
    """Write the chart to ``path`` as ``.svg`` or ``.png`` (for handouts)."""
    from workbench.charts import save_picture, to_png, to_svg

    if isinstance(chart, dict):
        chart = alt.Chart.from_dict(chart)
    shown = chart
    return save_picture(path, "a chart", lambda: to_svg(shown), lambda: to_png(shown))
