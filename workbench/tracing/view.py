"""Follow one business process across applications: :func:`trace` and :class:`Trace`.

Read from the stored records alone (:func:`~workbench.load_events`'s
``causation_id`` and ``correlation_id`` columns), so it needs none of the
domain code. Each history is loaded whole and filtered in the frame (one
pass, columnar); for many histories, or large ones, load them once and pass
the frames.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from workbench.reading.loading import load_events
from workbench.reading.opening import HistorySource

__all__ = ["Trace", "TraceError", "trace"]

TRACE_COLUMNS = [
    "application",
    "position",
    "timestamp",
    "event_type",
    "stream_id",
    "version",
    "event_id",
    "causation_id",
    "caused_by",
]
"""The columns of :attr:`Trace.events`, in order."""


SHOWN_ROWS = 50
"""Rows of the table a trace shows in a notebook (the chart shows every event)."""


class TraceError(ValueError):
    """A trace could not be drawn; the message says why and what to do."""


@dataclass(frozen=True)
class Trace:
    """One business process's events across applications, in time order.

    Shows itself in a notebook (the timeline and the table); :meth:`chart` is
    the altair chart.
    """

    correlation_id: str
    """The business process: the id of its first command or event."""
    events: pd.DataFrame
    """One row per event: the columns in :data:`TRACE_COLUMNS`."""

    def __len__(self) -> int:
        return len(self.events)

    @property
    def applications(self) -> list[str]:
        """The applications the process went through, in the order it reached them."""
        return list(dict.fromkeys(self.events["application"]))

    def chart(self, *, axis: Literal["auto", "time", "step"] = "auto", width: int = 560) -> Any:
        """The timeline: one lane per application, a rule from each cause to its effect.

        ``axis`` as :func:`workbench.charts.traces.trace_chart` takes it (steps
        when the whole process took under a second, else time).
        """
        from workbench.charts.traces import trace_chart

        title = f"business process {self.short_id}"
        return trace_chart(self.events, axis=axis, width=width, title=title)

    @property
    def short_id(self) -> str:
        text = self.correlation_id
        return text if len(text) <= 40 else f"{text[:37]}..."

    def __repr__(self) -> str:
        apps = ", ".join(self.applications)
        return f"<Trace {self.short_id}: {len(self)} event(s) in {apps}>"

    def _repr_html_(self) -> str:
        from workbench.charts import to_svg

        shown = self.events.drop(columns=["event_id"]).head(SHOWN_ROWS)
        table = shown.to_html(index=False, border=0, classes="wb-trace")
        more = len(self.events) - len(shown)
        if more:
            table += f"<p>... and {more} more event(s): Trace.events has them all</p>"
        return (
            # it scrolls itself when wider than the notebook, and takes focus so the
            # keyboard can scroll it (not JupyterLab's output box, which takes none)
            f"<div class='wb-trace' tabindex='0' role='region' style='overflow-x:auto' "
            f"aria-label='{html.escape(repr(self), quote=True)}'>"
            f"<p>{html.escape(repr(self))}</p>"
            f"{to_svg(self.chart())}{table}</div>"
        )

    def _repr_mimebundle_(self, **_: Any) -> dict[str, str]:
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}


Histories = (
    Mapping[str, HistorySource | pd.DataFrame]
    | Sequence[pd.DataFrame | HistorySource]
    | pd.DataFrame
)


def trace(histories: Histories, correlation_id: str | None = None, **settings: Any) -> Trace:
    """The events of the business process ``correlation_id`` across ``histories``.

    ``histories`` is a dict of application name to a history (anything
    :func:`~workbench.load_events` reads, or a frame it returned), or a list of
    them (named by each frame's source). Without ``correlation_id``, the
    process of the newest traced event. ``settings`` go to ``load_events``
    (e.g. ``cipher_key``).

    >>> from workbench.commands import CommandSet
    >>> from workbench.examples.ticketing import Ticketing
    >>> from workbench.stores import open_app
    >>> app = open_app(Ticketing)
    >>> result = CommandSet(app).submit(
    ...     "schedule_conference", code="PHP18", name="PHP 2018", starts_on="2018-03-07")
    >>> t = trace({"Ticketing": app})
    >>> t.events[["application", "event_type", "version"]].values.tolist()
    [['Ticketing', 'Conference.Scheduled', 1]]
    >>> t.events.caused_by[0]
    'command schedule_conference'
    """
    frames = _frames(histories, settings)
    traced = [(name, df) for name, df in frames if df["correlation_id"].notna().any()]
    if not traced:
        names = ", ".join(name for name, _ in frames) or "no histories"
        raise TraceError(
            f"no event in {names} carries a trace (causation and correlation): record "
            "through the workbench (CommandSet.submit, a ProcessRun, follow_causes), on "
            "an application opened with open_app"
        )
    if correlation_id is None:
        correlation_id = _newest_correlation(traced)
    parts = []
    for name, df in traced:
        found = df[df["correlation_id"] == correlation_id]
        if len(found):
            parts.append(_rows(name, found))
    if not parts:
        known = sorted({str(c) for _, df in traced for c in df["correlation_id"].dropna()})
        shown = ", ".join(repr(c) for c in known[-5:])
        raise TraceError(
            f"no event belongs to the business process {correlation_id!r}; the newest "
            f"ones recorded are {shown} (or call trace without an id for the newest)"
        )
    events = pd.concat(parts, ignore_index=True)
    order = {name: i for i, (name, _) in enumerate(frames)}
    events["_app_order"] = events["application"].map(order)
    events = events.sort_values(["timestamp", "_app_order", "position"], kind="stable")
    events = events.drop(columns=["_app_order"]).reset_index(drop=True)
    events["caused_by"] = _caused_by(events)
    return Trace(str(correlation_id), events[TRACE_COLUMNS])


def _newest_correlation(traced: list[tuple[str, pd.DataFrame]]) -> str:
    """The correlation id of the newest traced event."""
    best: tuple[Any, str] | None = None
    for _, df in traced:
        rows = df[df["correlation_id"].notna()]
        stamps = rows["timestamp"].to_numpy()
        at = int(stamps.argmax())
        if best is None or stamps[at] > best[0]:
            best = (stamps[at], str(rows["correlation_id"].iloc[at]))
    assert best is not None
    return best[1]


def _frames(histories: Histories, settings: Mapping[str, Any]) -> list[tuple[str, pd.DataFrame]]:
    if isinstance(histories, pd.DataFrame):
        items: list[tuple[str | None, Any]] = [(None, histories)]
    elif isinstance(histories, Mapping):
        items = [(str(name), source) for name, source in histories.items()]
    elif isinstance(histories, Sequence) and not isinstance(histories, str | bytes):
        items = [(None, source) for source in histories]
    else:
        items = [(None, histories)]
    frames = []
    for index, (name, source) in enumerate(items):
        df = source if isinstance(source, pd.DataFrame) else load_events(source, **settings)
        missing = [c for c in ("correlation_id", "causation_id", "position") if c not in df]
        if missing:
            raise TraceError(
                f"history {name or index + 1} has no columns {missing}: pass what "
                "load_events returns (or the history itself)"
            )
        frames.append((name or _name_of(source, df, index), df))
    return frames


def _name_of(source: Any, df: pd.DataFrame, index: int) -> str:
    name = getattr(source, "name", None)
    if isinstance(name, str) and name:
        return name
    return str(df.attrs.get("source") or f"history {index + 1}")


def _rows(name: str, df: pd.DataFrame) -> pd.DataFrame:
    stream = df["stream_id"].astype(str)
    return pd.DataFrame(
        {
            "application": name,
            "position": df["position"].to_numpy(),
            "timestamp": df["timestamp"].array,
            "event_type": df["event_type"].astype(str).to_numpy(),
            "stream_id": stream.to_numpy(),
            "version": df["version"].to_numpy(),
            "event_id": (stream + ":" + df["version"].astype(str)).to_numpy(),
            "causation_id": df["causation_id"].astype(object).to_numpy(),
        }
    )


def _caused_by(events: pd.DataFrame) -> list[str]:
    """Each event's cause in words: the event in the trace, a command, or the id."""
    known = {
        eid: f"{app}: {etype}"
        for eid, app, etype in zip(
            events["event_id"], events["application"], events["event_type"], strict=True
        )
    }
    out = []
    for cause in events["causation_id"]:
        if not isinstance(cause, str) or not cause:
            out.append("")
        elif cause in known:
            out.append(known[cause])
        elif "@" in cause:
            out.append(f"command {cause.split('@', 1)[0]}")
        else:
            out.append(cause)
    return out
