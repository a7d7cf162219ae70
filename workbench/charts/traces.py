"""A business process across applications as a timeline: one lane per application.

Data in (the rows of a :class:`workbench.tracing.view.Trace`), altair chart out:
a point per event in its application's lane at its time, a rule from each
event's cause to it, and the cause in the tooltip.

>>> import pandas as pd
>>> rows = pd.DataFrame({
...     "application": ["Sponsorship", "BoxOffice"],
...     "timestamp": pd.to_datetime(["2018-03-01 09:00", "2018-03-01 09:01"], utc=True),
...     "event_type": ["Sponsor.Settled", "Grant.Issued"], "event_id": ["s:2", "g:1"],
...     "causation_id": ["settle@1", "s:2"], "caused_by": ["command settle", "Sponsor.Settled"]})
>>> spec = trace_chart(rows).to_dict()
>>> [layer["mark"]["type"] for layer in spec["layer"]]
['rule', 'point', 'text']
"""

from __future__ import annotations

from typing import Any, Literal

import altair as alt
import pandas as pd

__all__ = ["TRACE_CHART_COLUMNS", "trace_chart"]

TRACE_CHART_COLUMNS = (
    "application",
    "timestamp",
    "event_type",
    "event_id",
    "causation_id",
    "caused_by",
)
"""The columns :func:`trace_chart` needs."""
_MAX_WIDTH = 1400


def trace_chart(
    rows: pd.DataFrame,
    *,
    axis: Literal["auto", "time", "step"] = "auto",
    width: int = 560,
    title: str = "",
) -> Any:
    """One lane per application, one point per event, a rule from cause to effect.

    ``rows`` has the columns :data:`TRACE_CHART_COLUMNS` (a trace's ``events``),
    in time order. Causes outside the rows (a command) are named in the
    tooltip only. ``axis``: ``"time"`` places events at their time,
    ``"step"`` one after another (1, 2, 3, ...); ``"auto"`` takes steps when
    the whole process took less than a second (a system reacting at once,
    where times would all fall on one spot).
    """
    if axis not in ("auto", "time", "step"):
        raise ValueError(f"axis={axis!r}: use 'auto', 'time' or 'step'")
    missing = [c for c in TRACE_CHART_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(
            f"trace_chart needs the columns {list(TRACE_CHART_COLUMNS)}; the data has "
            f"{list(rows.columns)} (missing {missing}): pass a Trace's events"
        )
    data = pd.DataFrame(
        {
            "application": rows["application"].astype(str).to_numpy(),
            "time": pd.to_datetime(rows["timestamp"], utc=True).dt.tz_localize(None).to_numpy(),
            "event_type": rows["event_type"].astype(str).to_numpy(),
            "event_id": rows["event_id"].astype(str).to_numpy(),
            "caused_by": rows["caused_by"].fillna("").astype(str).to_numpy(),
            "step": range(1, len(rows) + 1),
        }
    )
    # the label: the event's own name (its aggregate is in the tooltip), slanted
    data["label"] = data["event_type"].str.rsplit(".", n=1).str[-1]
    if axis == "auto":
        span = data["time"].max() - data["time"].min() if len(data) else pd.Timedelta(0)
        axis = "step" if pd.isna(span) or span < pd.Timedelta(seconds=1) else "time"
    at = "step" if axis == "step" else "time"
    # A rule from each event's cause (when the cause is one of the rows) to the event.
    places = zip(data["application"], data[at], strict=True)
    where = dict(zip(rows["event_id"].astype(str), places, strict=True))
    links = []
    for cause, app, time, effect in zip(
        rows["causation_id"], data["application"], data[at], data["event_type"], strict=True
    ):
        found = where.get(str(cause)) if isinstance(cause, str) else None
        if found is not None:
            links.append(
                {
                    "from_app": found[0],
                    "from_time": found[1],
                    "to_app": app,
                    "to_time": time,
                    "effect": effect,
                }
            )
    lanes = sorted(set(data["application"]), key=list(data["application"]).index)
    y = alt.Y("application:N", title=None, sort=lanes)
    kind = "Q" if at == "step" else "T"
    x = alt.X(
        f"{at}:{kind}",
        title="step (in time order)" if at == "step" else "time",
        # steps: a tick at each, room for the last one's label on the right
        axis=alt.Axis(values=list(data["step"]), format="d") if at == "step" else alt.Undefined,
        scale=alt.Scale(domain=[0.5, len(data) + 1]) if at == "step" else alt.Undefined,
    )
    height = max(100, 90 * len(lanes))
    if at == "step":  # room for each step's label
        width = max(width, min(_MAX_WIDTH, 55 * len(data)))
    rules = (
        alt.Chart(
            pd.DataFrame(links, columns=["from_app", "from_time", "to_app", "to_time", "effect"])
        )
        .mark_rule(strokeDash=[4, 3], color="#888")
        .encode(
            x=alt.X(f"from_time:{kind}"),
            x2=f"to_time:{kind}",
            y=alt.Y("from_app:N", sort=lanes, title=None),
            y2="to_app:N",
            tooltip=[alt.Tooltip("effect:N", title="caused")],
        )
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=120)
        .encode(
            x=x,
            y=y,
            color=alt.Color("application:N", legend=None, sort=lanes),
            tooltip=[
                alt.Tooltip("step:Q"),
                alt.Tooltip("application:N"),
                alt.Tooltip("event_type:N", title="event"),
                alt.Tooltip("event_id:N", title="event id"),
                alt.Tooltip("caused_by:N", title="caused by"),
                alt.Tooltip("time:T", format="%Y-%m-%d %H:%M:%S"),
            ],
        )
    )
    labels = (
        alt.Chart(data)
        .mark_text(align="left", dx=6, dy=-8, fontSize=10, angle=330)
        .encode(x=x, y=y, text="label:N")
    )
    chart = alt.layer(rules, points, labels).properties(width=width, height=height)
    return chart.properties(title=title) if title else chart
