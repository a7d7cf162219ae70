"""Charts of event streams: aggregated counts in, altair chart out.

>>> import pandas as pd
>>> counts = pd.DataFrame({"time": pd.to_datetime(["2018-01-01", "2018-01-02"]),
...                        "event_type": ["Order.Placed", "Order.Placed"], "count": [3, 5]})
>>> events_per_type_chart(counts).to_dict()["mark"]["type"]
'bar'

Rendering needs no internet: :func:`workbench.charts.to_svg` draws the chart
with vl-convert in the kernel.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

__all__ = ["events_per_type_chart", "events_per_type_svg"]

_UNITS = {
    "min": "yearmonthdatehoursminutes",
    "5min": "yearmonthdatehoursminutes",
    "15min": "yearmonthdatehoursminutes",
    "h": "yearmonthdatehours",
    "6h": "yearmonthdatehours",
    "D": "yearmonthdate",
    "W": "yearmonthdate",
    "MS": "yearmonth",
    "QS": "yearquarter",
    "YS": "year",
}


def _time_unit(freq: str) -> Any:
    return _UNITS.get(freq, "yearmonthdate")


def events_per_type_chart(
    counts: pd.DataFrame, *, width: int = 520, height: int = 160, title: str = ""
) -> Any:
    """Stacked bars: events per type per time bucket.

    ``counts`` has columns ``time`` (bucket start), ``event_type`` and
    ``count`` (see :meth:`workbench.stream.EventStream.counts_over_time`); its
    ``attrs["freq"]`` (a pandas frequency) labels the time axis.
    """
    missing = [c for c in ("time", "event_type", "count") if c not in counts.columns]
    if missing:
        raise ValueError(
            "events_per_type_chart needs columns time, event_type, count; "
            f"the data has {list(counts.columns)} (missing {missing})"
        )
    data = counts[["time", "event_type", "count"]].copy()
    data["time"] = pd.to_datetime(data["time"]).dt.tz_localize(None)
    freq = counts.attrs.get("freq", "D")
    return (
        alt.Chart(data, title=title or alt.Undefined)
        .mark_bar()
        .encode(
            x=alt.X("time:T", title=None, timeUnit=_time_unit(freq)),
            y=alt.Y("sum(count):Q", title="events"),
            color=alt.Color("event_type:N", title="event type"),
            tooltip=[
                alt.Tooltip("time:T", title="from"),
                alt.Tooltip("event_type:N", title="event type"),
                alt.Tooltip("sum(count):Q", title="events"),
            ],
        )
        .properties(width=width, height=height)
    )


def events_per_type_svg(counts: pd.DataFrame, **kwargs: Any) -> str:
    """The chart of :func:`events_per_type_chart` as SVG, drawn in the kernel (offline)."""
    from workbench.charts import to_svg

    if counts.empty:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    return to_svg(events_per_type_chart(counts, **kwargs))
