"""Recipes for a history you did not write: events in, tables and charts out.

Every function takes a frame of events as :func:`workbench.load_events` gives it
(columns ``stream_id``, ``position``, ``event_type``, ``timestamp`` and the payload
fields) and names event types as strings, so the same recipe answers the same
question for any domain: a purchase *started* and then *paid*, a book *borrowed*
and then *returned*, an order *placed* and then *shipped*.

>>> import pandas as pd
>>> events = pd.DataFrame({
...     "stream_id": ["a", "a", "b"], "position": [1, 2, 3],
...     "event_type": ["Order.Placed", "Order.Shipped", "Order.Placed"],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True)})
>>> funnel(events, ["Order.Placed", "Order.Shipped"])[["event_type", "count"]].values.tolist()
[['Order.Placed', 2], ['Order.Shipped', 1]]

Charts follow :mod:`workbench.charts`: data in, an altair chart out, drawn
without a network once :func:`workbench.enable_offline` has been called. Nothing
here imports the domain that wrote the history, nor ipywidgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

__all__ = [
    "cohort_chart",
    "cohorts",
    "durations",
    "durations_chart",
    "funnel",
    "funnel_chart",
    "outcome_chart",
    "outcome_counts",
    "outcomes",
    "overview",
    "streams_per_kind",
    "time_span",
]

Steps = Sequence[str | Sequence[str]]
"""Funnel steps: an event type, or several alternatives at the same step."""

NONE_LABEL = "(none)"
"""How a missing value of a ``by`` column is shown (a purchase without a discount code)."""


def _need(events: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in events.columns]
    if missing:
        raise ValueError(
            f"{what} needs columns {list(columns)}; the data has {list(events.columns)} "
            f"(missing {missing}). Pass a frame from workbench.load_events."
        )


def _check_types(events: pd.DataFrame, types: Sequence[str], what: str) -> None:
    known = {str(t) for t in events["event_type"].unique()}
    unknown = [t for t in types if t not in known]
    if unknown and len(events):
        raise ValueError(
            f"{what}: no events of type {unknown} in the data; "
            f"its event types are {sorted(known)} (see overview(events))"
        )


def _as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _naive(times: pd.Series) -> pd.Series:
    """Times without a time zone (UTC), as altair draws them the same in every browser."""
    naive: pd.Series = pd.to_datetime(times, utc=True).dt.tz_localize(None)
    return naive


def kind_of(event_type: str) -> str:
    """The aggregate kind an event type belongs to: ``"Book"`` for ``"Book.Borrowed"``."""
    return event_type.rsplit(".", 1)[0] if "." in event_type else event_type


# Discovery


def overview(events: pd.DataFrame) -> pd.DataFrame:
    """One row per event type: its aggregate kind, how many events and streams, first and last.

    >>> overview(pd.DataFrame({"stream_id": ["a", "a"], "event_type": ["B.X", "B.Y"],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"])})).events.tolist()
    [1, 1]
    """
    _need(events, ["stream_id", "event_type", "timestamp"], "overview")
    types = events["event_type"].astype(str)
    table = (
        events.assign(event_type=types)
        .groupby("event_type")
        .agg(
            events=("stream_id", "size"),
            streams=("stream_id", "nunique"),
            first=("timestamp", "min"),
            last=("timestamp", "max"),
        )
        .reset_index()
    )
    table.insert(0, "kind", table["event_type"].map(kind_of))
    return table.sort_values(["kind", "events"], ascending=[True, False], ignore_index=True)


def streams_per_kind(events: pd.DataFrame) -> pd.DataFrame:
    """One row per aggregate kind: its streams and events (a stream's kind is its first event's).

    >>> streams_per_kind(pd.DataFrame({"stream_id": ["a", "a", "b"], "position": [1, 2, 3],
    ...     "event_type": ["Book.Registered", "Book.Borrowed", "Member.Joined"]})).values.tolist()
    [['Book', 1, 2], ['Member', 1, 1]]
    """
    _need(events, ["stream_id", "position", "event_type"], "streams_per_kind")
    ordered = events.sort_values("position")
    kinds = ordered.groupby("stream_id")["event_type"].first().astype(str).map(kind_of)
    sizes = ordered.groupby("stream_id").size()
    table = pd.DataFrame({"kind": kinds, "events": sizes})
    return (
        table.groupby("kind")
        .agg(streams=("events", "size"), events=("events", "sum"))
        .reset_index()
        .sort_values("streams", ascending=False, ignore_index=True)
    )


def time_span(events: pd.DataFrame) -> pd.Series:
    """The first and last event's times, how far apart, and how many events and streams."""
    _need(events, ["stream_id", "timestamp"], "time_span")
    first, last = events["timestamp"].min(), events["timestamp"].max()
    return pd.Series(
        {
            "first": first,
            "last": last,
            "span": last - first,
            "events": len(events),
            "streams": events["stream_id"].nunique(),
        }
    )


# Funnel


def funnel(events: pd.DataFrame, steps: Steps, key: str = "stream_id") -> pd.DataFrame:
    """How many keys (streams, by default) reach each step, in order.

    A step is an event type, or a list of alternatives (``["Paid", "TimedOut"]``:
    the branches a purchase can take). A key reaches a step with its first event
    of that type recorded after it reached the step before.

    Columns: ``step`` (from 1), ``event_type``, ``count``, ``share`` (of the first
    step) and ``of_previous`` (of the step before, all its branches together).
    """
    _need(events, [key, "position", "event_type"], "funnel")
    if not steps:
        raise ValueError("funnel needs at least one step, e.g. ['Order.Placed', 'Order.Shipped']")
    groups = [[s] if isinstance(s, str) else list(s) for s in steps]
    _check_types(events, [t for g in groups for t in g], "funnel")
    types = events["event_type"]
    firsts = {t: events[types == t].groupby(key)["position"].min() for g in groups for t in set(g)}
    reached: pd.Series | None = None  # the position at which each key reached the step before
    rows: list[dict[str, Any]] = []
    for number, group in enumerate(groups, start=1):
        here: list[pd.Series] = []
        before = 0 if reached is None else len(reached)
        for event_type in group:
            at = firsts[event_type]
            if reached is not None:  # after the step before (never reached: NaN, never after)
                at = at[at > reached.reindex(at.index)]
            here.append(at)
            rows.append(
                {
                    "step": number,
                    "event_type": event_type,
                    "count": len(at),
                    "of_previous": len(at) / before if before else 1.0,
                }
            )
        reached = pd.concat(here).groupby(level=0).min() if here else pd.Series(dtype=int)
    table = pd.DataFrame(rows)
    first = table.loc[table.step == 1, "count"].sum()
    table.insert(3, "share", table["count"] / first if first else 0.0)
    return table


def funnel_chart(table: pd.DataFrame, *, width: int = 420, title: str = "") -> Any:
    """Horizontal bars, one per funnel row, top to bottom, labelled with their share."""
    _need(table, ["step", "event_type", "count", "share"], "funnel_chart")
    data = table[["step", "event_type", "count", "share"]].copy()
    data["event_type"] = data["event_type"].astype(str)
    order = data["event_type"].tolist()
    base = alt.Chart(data, title=title or alt.Undefined).encode(
        y=alt.Y("event_type:N", sort=order, title=None),
        x=alt.X("count:Q", title="streams"),
    )
    bars = base.mark_bar().encode(
        color=alt.Color("step:O", title="step", legend=None),
        tooltip=[
            alt.Tooltip("event_type:N", title="event type"),
            alt.Tooltip("count:Q", title="streams"),
            alt.Tooltip("share:Q", title="of the first step", format=".1%"),
        ],
    )
    labels = base.mark_text(align="left", dx=4).encode(text=alt.Text("share:Q", format=".0%"))
    return (bars + labels).properties(width=width, height=max(60, 28 * len(data)))


# Durations


def durations(
    events: pd.DataFrame,
    start_type: str,
    end_type: str,
    *,
    by: str | Sequence[str] | None = None,
    key: str = "stream_id",
) -> pd.DataFrame:
    """The time from a key's first ``start_type`` event to its first ``end_type`` after it.

    One row per key that has both: ``key``, ``start``, ``end``, ``duration``
    (a timedelta), ``minutes``, and the ``by`` columns as the start event had them.
    Keys that never reached ``end_type`` are left out (see :func:`outcomes`).
    """
    columns = _as_list(by)
    _need(events, [key, "position", "event_type", "timestamp", *columns], "durations")
    _check_types(events, [start_type, end_type], "durations")
    types = events["event_type"]
    starts = (
        events[types == start_type]
        .sort_values("position")
        .drop_duplicates(key)[[key, "position", "timestamp", *columns]]
        .rename(columns={"position": "_start_at", "timestamp": "start"})
    )
    ends = events[types == end_type][[key, "position", "timestamp"]].rename(
        columns={"position": "_end_at", "timestamp": "end"}
    )
    pairs = starts.merge(ends, on=key)
    pairs = pairs[pairs["_end_at"] > pairs["_start_at"]].sort_values("_end_at")
    pairs = pairs.drop_duplicates(key).sort_values("_start_at", ignore_index=True)
    pairs["duration"] = pairs["end"] - pairs["start"]
    pairs["minutes"] = pairs["duration"].dt.total_seconds() / 60
    return pairs[[key, "start", "end", "duration", "minutes", *columns]]


def _period(times: pd.Series, freq: str) -> pd.Series:
    starts: pd.Series = _naive(times).dt.to_period(freq).dt.start_time
    return starts


def durations_chart(
    table: pd.DataFrame,
    *,
    by: str | None = None,
    freq: str = "W",
    width: int = 480,
    height: int = 200,
    title: str = "",
) -> Any:
    """The median duration (minutes) per period of the start, a line per value of ``by``.

    ``table`` is :func:`durations`'s; it is aggregated here (the chart gets one
    row per period and group, never one per stream).
    """
    _need(table, ["start", "minutes", *_as_list(by)], "durations_chart")
    data = table.assign(period=_period(table["start"], freq))
    group = ["period"] + ([by] if by else [])
    if by:
        data[by] = data[by].astype("string").fillna(NONE_LABEL)
    summary = (
        data.groupby(group)["minutes"]
        .agg(median="median", count="size")
        .reset_index()
        .rename(columns={"median": "median_minutes", "count": "streams"})
    )
    tooltip = [alt.Tooltip("period:T", title="from"), alt.Tooltip("streams:Q")]
    encoding: dict[str, Any] = {
        "x": alt.X("period:T", title=None),
        "y": alt.Y("median_minutes:Q", title="median minutes"),
    }
    if by:
        encoding["color"] = alt.Color(f"{by}:N")
        tooltip.append(alt.Tooltip(f"{by}:N"))
    tooltip.append(alt.Tooltip("median_minutes:Q", title="median minutes", format=".1f"))
    return (
        alt.Chart(summary, title=title or alt.Undefined)
        .mark_line(point=True)
        .encode(**encoding, tooltip=tooltip)
        .properties(width=width, height=height)
    )


# Outcomes and cohorts


def outcomes(
    events: pd.DataFrame,
    start_type: str,
    end_types: Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    key: str = "stream_id",
    open_label: str = "open",
) -> pd.DataFrame:
    """How each key that had a ``start_type`` event ended: the first of ``end_types`` after it.

    One row per key: ``key``, ``start`` (time), ``outcome`` (an event type from
    ``end_types``, or ``open_label`` when none came yet) and the ``by`` columns
    as the start event had them.
    """
    columns = _as_list(by)
    if isinstance(end_types, str):
        end_types = [end_types]
    _need(events, [key, "position", "event_type", "timestamp", *columns], "outcomes")
    _check_types(events, [start_type, *end_types], "outcomes")
    types = events["event_type"]
    starts = (
        events[types == start_type]
        .sort_values("position")
        .drop_duplicates(key)[[key, "position", "timestamp", *columns]]
        .rename(columns={"position": "_start_at", "timestamp": "start"})
    )
    ends = events[types.isin(list(end_types))][[key, "position", "event_type"]]
    ends = ends.rename(columns={"position": "_end_at", "event_type": "outcome"})
    pairs = starts.merge(ends, on=key)
    pairs = pairs[pairs["_end_at"] > pairs["_start_at"]].sort_values("_end_at")
    first = pairs.drop_duplicates(key).set_index(key)["outcome"].astype(str)
    table = starts.sort_values("_start_at", ignore_index=True)
    table["outcome"] = table[key].map(first).fillna(open_label)
    return table[[key, "start", "outcome", *columns]]


def outcome_counts(table: pd.DataFrame, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Counts of each outcome per group of ``by``, and each one's share of its group.

    A missing ``by`` value (no discount code) is counted as ``"(none)"``.
    """
    columns = _as_list(by)
    _need(table, ["outcome", *columns], "outcome_counts")
    data = table[["outcome", *columns]].copy()
    for column in columns:
        data[column] = data[column].astype("string").fillna(NONE_LABEL)
    counts = data.groupby([*columns, "outcome"]).size().rename("count").reset_index()
    totals = counts.groupby(columns)["count"].transform("sum") if columns else counts["count"].sum()
    counts["share"] = counts["count"] / totals
    return counts


def outcome_chart(
    counts: pd.DataFrame, by: str, *, width: int = 420, title: str = "", share: bool = False
) -> Any:
    """Stacked horizontal bars: one bar per value of ``by``, split by outcome.

    ``counts`` is :func:`outcome_counts`'s; ``share=True`` draws each bar as 100%.
    """
    _need(counts, [by, "outcome", "count", "share"], "outcome_chart")
    data = counts[[by, "outcome", "count", "share"]].copy()
    data[by] = data[by].astype(str)
    x = (
        alt.X("share:Q", title="share", axis=alt.Axis(format="%"))
        if share
        else alt.X("count:Q", title="streams")
    )
    return (
        alt.Chart(data, title=title or alt.Undefined)
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", title=by, sort="-x"),
            x=x,
            color=alt.Color("outcome:N", title="outcome"),
            tooltip=[
                alt.Tooltip(f"{by}:N"),
                alt.Tooltip("outcome:N"),
                alt.Tooltip("count:Q", title="streams"),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(width=width, height=max(60, 24 * data[by].nunique()))
    )


def cohorts(table: pd.DataFrame, freq: str = "W") -> pd.DataFrame:
    """:func:`outcome_counts` by period of the start: ``cohort`` (its first day), outcome, ...

    ``table`` is :func:`outcomes`'s; ``freq`` is a pandas period (``"W"``, ``"MS"``, ``"D"``).
    """
    _need(table, ["start", "outcome"], "cohorts")
    data = table.assign(cohort=_period(table["start"], freq))
    counts = data.groupby(["cohort", "outcome"]).size().rename("count").reset_index()
    counts["share"] = counts["count"] / counts.groupby("cohort")["count"].transform("sum")
    counts.attrs["freq"] = freq
    return counts


def cohort_chart(
    counts: pd.DataFrame,
    *,
    share: bool = True,
    width: int = 520,
    height: int = 200,
    title: str = "",
) -> Any:
    """Stacked bars per cohort, split by outcome: shares (default) or counts."""
    _need(counts, ["cohort", "outcome", "count", "share"], "cohort_chart")
    data = counts[["cohort", "outcome", "count", "share"]].copy()
    y = (
        alt.Y("share:Q", title="share of the cohort", axis=alt.Axis(format="%"))
        if share
        else alt.Y("count:Q", title="streams")
    )
    return (
        alt.Chart(data, title=title or alt.Undefined)
        .mark_bar()
        .encode(
            x=alt.X("cohort:T", title="started in the period from"),
            y=y,
            color=alt.Color("outcome:N", title="outcome"),
            tooltip=[
                alt.Tooltip("cohort:T", title="from"),
                alt.Tooltip("outcome:N"),
                alt.Tooltip("count:Q", title="streams"),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(width=width, height=height)
    )
