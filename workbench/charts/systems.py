"""The lag of a system's followers, as an altair chart (data in, chart out).

One bar per follower and leader: the leader's events the follower has processed
(up to its tracking position) and, stacked after them, the ones still waiting
(the lag). The frame is :meth:`workbench.systems.SystemRun.lag`'s (a few rows,
one per edge), and it is the chart's only dataset, so a live view swaps the data
with :func:`workbench.charts.projections.spec_with_data`.

>>> import pandas as pd
>>> frame = pd.DataFrame({"follower": ["Warehouse"], "leader": ["Shop"], "tracking": [3],
...                       "leader_position": [5], "lag": [2]})
>>> spec = lag_chart(frame).to_dict()
>>> spec["mark"]["type"], spec["encoding"]["y"]["field"]
('bar', 'edge')
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

__all__ = ["lag_chart"]

COLOURS = {"processed": "#90a4ae", "waiting (lag)": "#e65100"}


def lag_chart(frame: pd.DataFrame, *, width: int = 420) -> Any:
    """A stacked bar per (leader → follower): events processed, and events waiting."""
    missing = [c for c in ("follower", "leader", "tracking", "lag") if c not in frame.columns]
    if missing:
        raise ValueError(
            f"lag_chart needs the columns of SystemRun.lag() (follower, leader, tracking, "
            f"lag); the data has {list(frame.columns)} (missing {missing})"
        )
    return (
        alt.Chart(frame, title="Followers' lag behind their leaders", width=width)
        .transform_calculate(edge="datum.leader + ' → ' + datum.follower")
        .transform_calculate(processed="datum.tracking")
        .transform_fold(["processed", "lag"], as_=["what", "events"])
        .transform_calculate(
            what="datum.what == 'lag' ? 'waiting (lag)' : 'processed'",
        )
        .mark_bar()
        .encode(
            y=alt.Y("edge:N", title=None),
            x=alt.X(
                "events:Q",
                title="leader's events (by position)",
                stack="zero",
                axis=alt.Axis(format="d", tickMinStep=1),
            ),
            color=alt.Color(
                "what:N",
                title=None,
                scale=alt.Scale(domain=list(COLOURS), range=list(COLOURS.values())),
            ),
            order=alt.Order("what:N", sort="ascending"),
            tooltip=["leader:N", "follower:N", "tracking:Q", "leader_position:Q", "lag:Q"],
        )
    )
