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

import html
from typing import Any

import altair as alt
import pandas as pd

__all__ = ["describe_counts", "events_per_type_chart", "events_per_type_svg"]

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


def describe_counts(counts: pd.DataFrame) -> str:
    """The chart in words, for a screen reader: how many events, of which types, when.

    >>> counts = pd.DataFrame({"time": pd.to_datetime(["2018-01-01", "2018-01-02"]),
    ...                        "event_type": ["Order.Placed", "Order.Placed"], "count": [3, 5]})
    >>> describe_counts(counts)
    'Events per type over time: 8 events of 1 type (Order.Placed), from 2018-01-01 to 2018-01-02'
    """
    if counts.empty:
        return "Events per type over time: no events"
    per_type = counts.groupby("event_type")["count"].sum().sort_values(ascending=False)
    shown = ", ".join(str(t) for t in per_type.index[:5])
    more = f" and {len(per_type) - 5} more" if len(per_type) > 5 else ""
    times = pd.to_datetime(counts["time"])
    total = int(per_type.sum())
    return (
        f"Events per type over time: {total} event{'s' if total != 1 else ''} of {len(per_type)} "
        f"type{'s' if len(per_type) != 1 else ''} ({shown}{more}), "
        f"from {times.min():%Y-%m-%d} to {times.max():%Y-%m-%d}"
    )


def events_per_type_svg(counts: pd.DataFrame, **kwargs: Any) -> str:
    """The chart of :func:`events_per_type_chart` as SVG, drawn in the kernel (offline).

    The picture is one image for a screen reader (``role="img"``), named by a
    ``<title>`` that says it in words (:func:`describe_counts`).
    """
    from workbench.charts import to_svg

    words = html.escape(describe_counts(counts))
    if counts.empty:
        svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    else:
        svg = to_svg(events_per_type_chart(counts, **kwargs))
    end = svg.index(">", svg.index("<svg"))
    return f'{svg[:end]} role="img"><title>{words}</title>{svg[end + 1 :]}'
