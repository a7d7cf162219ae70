"""An event stream you can browse: load once, refresh incrementally, filter, page, inspect.

:class:`EventStream` holds the events of one store as a DataFrame (see
:func:`workbench.reading.loading.load_events`) and answers what a viewer needs: a page
of the filtered events (never the whole frame), the full payload of one
event, and the number of events per type over time (for a chart).
``refresh()`` reads only the events recorded since the last load.

>>> from workbench.examples.history import SAMPLE_TICKETING
>>> stream = EventStream(SAMPLE_TICKETING, page_size=5)
>>> len(stream.page(0))
5
>>> stream.filter(event_types=["TicketPurchase.Paid"]).page(0).event_type.unique().tolist()
['TicketPurchase.Paid']
>>> position = int(stream.page(0).position.iloc[0])
>>> sorted(stream.payload(position))[:2]
['amount', 'delegates']
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
import pandas as pd
from eventsourcing.application import Application

from workbench.reading.decoding import LoadError
from workbench.reading.loading import FIXED_COLUMNS, combine_frames, load_events
from workbench.reading.opening import HistorySource, open_history
from workbench.text_search import TextIndex

__all__ = ["EventStream", "StreamFilter", "choose_frequency"]

_FREQUENCIES = [
    ("min", pd.Timedelta(minutes=1)),
    ("5min", pd.Timedelta(minutes=5)),
    ("15min", pd.Timedelta(minutes=15)),
    ("h", pd.Timedelta(hours=1)),
    ("6h", pd.Timedelta(hours=6)),
    ("D", pd.Timedelta(days=1)),
    ("W", pd.Timedelta(weeks=1)),
    ("MS", pd.Timedelta(days=31)),
    ("QS", pd.Timedelta(days=92)),
    ("YS", pd.Timedelta(days=366)),
]


_PERIODS = {"W": "W", "MS": "M", "QS": "Q", "YS": "Y"}
"""Calendar buckets: pandas period aliases for the frequencies above."""


def choose_frequency(start: Any, end: Any, buckets: int = 60) -> str:
    """A pandas frequency that cuts ``start``..``end`` into at most about ``buckets`` buckets.

    >>> import pandas as pd
    >>> choose_frequency(pd.Timestamp("2018-01-01"), pd.Timestamp("2018-03-01"))
    'D'
    """
    span = pd.Timestamp(end) - pd.Timestamp(start)
    for name, width in _FREQUENCIES:
        if span / width <= buckets:
            return name
    return "YS"


@dataclass(frozen=True)
class StreamFilter:
    """What to show: every field left empty means "all"."""

    event_types: tuple[str, ...] = ()
    """Short event type names (e.g. ``"TicketPurchase.Paid"``)."""
    stream_id: str = ""
    """One stream (aggregate) id."""
    since: pd.Timestamp | None = None
    """Events at or after this time."""
    until: pd.Timestamp | None = None
    """Events before this time."""
    text: str = ""
    """Case-insensitive text found in any column."""

    def is_empty(self) -> bool:
        return self == StreamFilter()


def _timestamp(value: Any, name: str) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(
            f"{name}={value!r} is not a date or time; write e.g. '2018-03-07' or '2018-03-07 09:30'"
        ) from None
    if pd.isna(ts):
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts


@dataclass
class EventStream:
    """The events of one store, loaded once and then refreshed incrementally.

    ``source`` is any history :func:`~workbench.reading.opening.open_history`
    opens, with its keywords (``cipher_key``, ``compressor``, ``env``, ``table``).
    """

    source: HistorySource
    page_size: int = 25
    cipher_key: str | None = None
    compressor: Any = None
    env: Mapping[str, str] | None = None
    table: str | None = None
    last_position: int = field(init=False, default=0)
    """The position up to which the store has been read."""
    current: StreamFilter = field(init=False, default_factory=StreamFilter)
    _listeners: list[Callable[[EventStream], Any]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise ValueError(f"page_size must be at least 1 (got {self.page_size})")
        self.history = open_history(
            self.source,
            cipher_key=self.cipher_key,
            compressor=self.compressor,
            env=self.env,
            table=self.table,
        )
        first = self._load(after=0)
        self._attrs: dict[str, Any] = {str(k): v for k, v in first.attrs.items()}
        self._chunks: list[pd.DataFrame] = [first]
        """The loaded events in pieces (the first load, then each refresh), oldest first."""
        self._frame: pd.DataFrame | None = first
        self._parts: list[pd.DataFrame] | None = None
        """The filtered rows of each chunk (for the current filter), built lazily."""
        self._counts: dict[tuple[int, str], tuple[pd.DataFrame, pd.DataFrame]] = {}
        self._totals: _Totals = _Totals()
        self._texts: dict[int, TextIndex] = {}
        """Each chunk's text for searching (by the chunk's id), made on its first search."""
        self.last_position = int(first.attrs.get("last_position", 0))

    def _load(self, after: int) -> pd.DataFrame:
        return load_events(self.history, after=after)

    # --- loading -------------------------------------------------------------------

    def refresh(self) -> int:
        """Load the events recorded since the last load; returns how many there were.

        Costs in proportion to the new events: they are kept as a new chunk
        (the whole :attr:`frame` is only put together when asked for).
        """
        new = self._load(after=self.last_position)
        self.last_position = max(self.last_position, int(new.attrs.get("last_position", 0)))
        if len(new):
            notes = set(self._attrs.get("notes", [])) | set(new.attrs.get("notes", []))
            self._attrs["notes"] = sorted(notes)
            start = self._rows()
            new.index = pd.RangeIndex(start, start + len(new))
            self._chunks.append(new)
            self._frame = None
            if self._parts is not None:
                self._parts.append(self._filter_chunk(new))
            if len(self._chunks) > _MAX_CHUNKS:
                self._merge_tail()
            self._changed()
        return len(new)

    @property
    def frame(self) -> pd.DataFrame:
        """Every loaded event, oldest first (put together from the chunks when asked for)."""
        if self._frame is None:
            self._frame = combine_frames(self._chunks)
            self._chunks = [self._frame]
            self._forget_texts()
            if self._parts is not None:
                self._parts = [combine_frames(self._parts, keep_index=True)]
            self._counts.clear()
        self._frame.attrs.update(self._attrs)
        return self._frame

    def _rows(self) -> int:
        return sum(len(chunk) for chunk in self._chunks)

    def _merge_tail(self) -> None:
        """Put the chunks after the first together (their cost: the new events only)."""
        self._chunks = [self._chunks[0], combine_frames(self._chunks[1:], keep_index=True)]
        self._forget_texts()
        if self._parts is not None:
            self._parts = [self._parts[0], combine_frames(self._parts[1:], keep_index=True)]
        self._counts = {k: v for k, v in self._counts.items() if k[0] == 0}

    def on_change(self, callback: Callable[[EventStream], Any]) -> Callable[[], None]:
        """Call ``callback(stream)`` when new events arrive or the filter changes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _changed(self) -> None:
        for callback in list(self._listeners):
            callback(self)

    def follow(self, app: Application[Any] | None = None) -> Callable[[], None]:
        """Refresh after every save on ``app`` (default: the source, if it is an application).

        Returns a function that stops following.
        """
        from workbench.live import on_recorded

        target = app if app is not None else self.source
        if not isinstance(target, Application):
            raise ValueError(
                "live mode needs the application object that records the events "
                "(pass app=...; a file on disk has no in-kernel notifications)"
            )
        return on_recorded(target, lambda positions: self.refresh())

    # --- filtering -----------------------------------------------------------------

    @property
    def event_types(self) -> list[str]:
        """The event types present, sorted."""
        return sorted(self._totals.update(self._chunks).event_types)

    def filter(
        self,
        *,
        event_types: Sequence[str] | str | None = None,
        stream_id: str | UUID | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        text: str | None = None,
    ) -> EventStream:
        """Set the filter (arguments not given keep their value); returns the stream.

        Unknown event types raise ``ValueError`` naming the known ones.
        """
        changes: dict[str, Any] = {}
        if event_types is not None:
            types = (event_types,) if isinstance(event_types, str) else tuple(event_types)
            unknown = sorted(set(types) - set(self.event_types))
            if unknown:
                raise ValueError(
                    f"no events of type {', '.join(unknown)} in this stream; "
                    f"event types: {', '.join(self.event_types) or 'none'}"
                )
            changes["event_types"] = types
        if stream_id is not None:
            changes["stream_id"] = str(stream_id).strip()
        if since is not None:
            changes["since"] = _timestamp(since, "since")
        if until is not None:
            changes["until"] = _timestamp(until, "until")
        if text is not None:
            changes["text"] = text.strip()
        new = replace(self.current, **changes)
        if new != self.current:
            self.current = new
            self._filter_changed()
        return self

    def clear_filter(self) -> EventStream:
        """Show every event again."""
        if not self.current.is_empty():
            self.current = StreamFilter()
            self._filter_changed()
        return self

    def _filter_changed(self) -> None:
        self._parts = None
        self._counts.clear()
        self._changed()

    def filtered(self) -> pd.DataFrame:
        """The events that pass the filter (rows of :attr:`frame`, cached)."""
        parts = self._filtered_parts()
        if len(parts) == 1:
            return parts[0]
        return combine_frames(parts, keep_index=True)

    def _filtered_parts(self) -> list[pd.DataFrame]:
        if self._parts is None:
            self._parts = [self._filter_chunk(chunk) for chunk in self._chunks]
        return self._parts

    def _filter_chunk(self, df: pd.DataFrame) -> pd.DataFrame:
        f = self.current
        if f.is_empty():
            return df
        mask = np.ones(len(df), dtype=bool)
        if f.event_types:
            mask &= df["event_type"].isin(f.event_types).to_numpy()
        if f.stream_id:
            mask &= (df["stream_id"] == f.stream_id).to_numpy()
        if f.since is not None:
            mask &= (df["timestamp"] >= f.since).fillna(False).to_numpy(dtype=bool)
        if f.until is not None:
            mask &= (df["timestamp"] < f.until).fillna(False).to_numpy(dtype=bool)
        if f.text:
            mask &= self._text_mask(df, f.text)
        return df[mask]

    def _text_mask(self, df: pd.DataFrame, text: str) -> np.ndarray[Any, Any]:
        """Rows of ``df`` with ``text`` in any column (each chunk's text kept for next time)."""
        index = self._texts.get(id(df))
        if index is None or index.frame is not df:
            index = self._texts[id(df)] = TextIndex(df)
        return index.mask(text)

    def _forget_texts(self) -> None:
        """Let the text of chunks that are gone go with them."""
        current = {id(chunk) for chunk in self._chunks}
        self._texts = {k: v for k, v in self._texts.items() if k in current}

    # --- paging and inspecting ------------------------------------------------------

    @property
    def page_count(self) -> int:
        """Pages in the filtered events (at least 1)."""
        shown = sum(len(part) for part in self._filtered_parts())
        return max(1, -(-shown // self.page_size))

    def page(self, number: int = 0, *, drop_empty: bool = True) -> pd.DataFrame:
        """Page ``number`` (from 0; negative counts from the end) of the filtered events.

        Payload columns that are empty on this page are left out.
        """
        count = self.page_count
        if number < 0:
            number += count
        if not 0 <= number < count:
            raise IndexError(f"page {number} does not exist (there are {count} pages, from 0)")
        start = number * self.page_size
        page = self._slice(start, start + self.page_size)
        if drop_empty and len(page):
            keep = [c for c in page.columns if c in FIXED_COLUMNS or page[c].notna().any()]
            page = page[keep]
        return page

    def _slice(self, start: int, stop: int) -> pd.DataFrame:
        """Filtered rows ``start:stop``, taken from the chunks they are in."""
        parts = self._filtered_parts()
        pieces = []
        offset = 0
        for part in parts:
            size = len(part)
            if offset + size > start and offset < stop:
                pieces.append(part.iloc[max(0, start - offset) : stop - offset])
            offset += size
            if offset >= stop:
                break
        if not pieces:
            return parts[0].iloc[:0]
        return pieces[0] if len(pieces) == 1 else combine_frames(pieces, keep_index=True)

    def event(self, position: int) -> dict[str, Any]:
        """The loaded row of the event at ``position`` (metadata and payload fields)."""
        for chunk in reversed(self._chunks):
            positions = chunk["position"].to_numpy()
            if len(positions) and positions[0] <= position <= positions[-1]:
                rows = np.flatnonzero(positions == position)
                if len(rows):
                    row = chunk.iloc[int(rows[0])]
                    return {
                        str(k): v.item() if isinstance(v, np.generic) else v
                        for k, v in row.items()
                        if k in FIXED_COLUMNS or not _is_missing(v)
                    }
        raise KeyError(f"no event at position {position} in this stream")

    def payload(self, position: int) -> dict[str, Any]:
        """The full, exact payload of the event at ``position``, read from its stored record."""
        record = self.history.record(position)
        if record is None:
            raise KeyError(f"no event at position {position} in {self.history.description}")
        try:
            return self.history.payload(record.state)
        except Exception as e:
            raise LoadError(f"cannot decode the event at position {position}: {e}") from None

    # --- aggregates for charts --------------------------------------------------------

    def counts_over_time(self, freq: str | None = None, *, buckets: int = 60) -> pd.DataFrame:
        """Events per type per time bucket of the filtered events.

        Columns ``time`` (bucket start), ``event_type``, ``count``; ``freq`` is
        a pandas frequency, chosen for about ``buckets`` buckets when not given.
        Each chunk's counts are kept, so after a refresh only the new events are counted.
        """
        parts = self._filtered_parts()
        bounds = [_time_range(part["timestamp"]) for part in parts]
        found = [b for b in bounds if b is not None]
        if not found:
            return pd.DataFrame({"time": [], "event_type": [], "count": []})
        first = min(b[0] for b in found)
        last = max(b[1] for b in found)
        freq = freq or choose_frequency(first, last, buckets)
        pieces = []
        for index, part in enumerate(parts):
            key = (index, freq)
            cached = self._counts.get(key)
            if cached is None or cached[0] is not part:
                cached = (part, _bucket_counts(part, freq))
                self._counts[key] = cached
            pieces.append(cached[1])
        if len(pieces) == 1:
            counts = pieces[0].copy()
        else:
            counts = (
                pd.concat(pieces, ignore_index=True)
                .groupby(["time", "event_type"], sort=True)["count"]
                .sum()
                .reset_index()
            )
        counts.attrs["freq"] = freq
        return counts

    def summary(self) -> dict[str, Any]:
        """Counts for a heading: events, shown, streams, event types, first and last time."""
        totals = self._totals.update(self._chunks)
        return {
            "events": totals.rows,
            "shown": sum(len(part) for part in self._filtered_parts()),
            "streams": len(totals.streams),
            "event_types": len(totals.event_types),
            "first": totals.first,
            "last": totals.last,
            "last_position": self.last_position,
        }

    def _repr_html_(self) -> str:
        s = self.summary()
        head = (
            f"<p><b>Event stream</b> of {html.escape(str(self._attrs.get('source', '')))}: "
            f"{s['events']:,} events in {s['streams']:,} streams, {s['event_types']} event types"
            + (f", from {s['first']} to {s['last']}" if s["events"] else "")
            + (f"; filter shows {s['shown']:,}" if not self.current.is_empty() else "")
            + "</p>"
        )
        notes = self._attrs.get("notes") or []
        note_html = "".join(f"<p><i>{html.escape(n)}</i></p>" for n in notes[:5])
        table = self.page(-1).to_html(max_cols=12, index=False, escape=True) if s["events"] else ""
        return head + note_html + table


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


_MAX_CHUNKS = 32
"""Chunks kept apart before the ones after the first are put together."""


@dataclass
class _Totals:
    """Running totals over the chunks (each chunk's rows are looked at once)."""

    rows: int = 0
    streams: set[str] = field(default_factory=set)
    event_types: set[str] = field(default_factory=set)
    first: Any = None
    last: Any = None

    def update(self, chunks: Sequence[pd.DataFrame]) -> _Totals:
        offset = 0
        for chunk in chunks:
            end = offset + len(chunk)
            if end > self.rows:
                self._add(chunk.iloc[self.rows - offset :])
                self.rows = end
            offset = end
        return self

    def _add(self, df: pd.DataFrame) -> None:
        ids = pd.Series(df["stream_id"].dropna().unique(), dtype=object)
        self.streams.update(ids.astype(str).tolist())  # made in C, not a Python loop
        self.event_types.update(str(t) for t in df["event_type"].dropna().unique())
        bounds = _time_range(df["timestamp"])
        if bounds is not None:
            self.first = bounds[0] if self.first is None else min(self.first, bounds[0])
            self.last = bounds[1] if self.last is None else max(self.last, bounds[1])


def _time_range(ts: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    first, last = ts.min(), ts.max()
    if pd.isna(first) or pd.isna(last):
        return None
    return first, last


def _bucket_counts(df: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Events per (bucket, event type) in ``df``."""
    ts = df["timestamp"]
    types = df["event_type"]
    valid = ts.notna().to_numpy()
    if not valid.all():
        ts, types = ts[valid], types[valid]
    naive = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    if freq in _PERIODS:
        bucket = naive.dt.to_period(_PERIODS[freq]).dt.start_time
    else:
        bucket = naive.dt.floor(freq)
    if not isinstance(types.dtype, pd.CategoricalDtype):
        types = types.astype("category")
    # grouped by the types' codes (a million rows of text would cost more than the rest)
    counts = (
        pd.DataFrame({"time": bucket.to_numpy(), "event_type": types.array})
        .groupby(["time", "event_type"], observed=True)
        .size()
        .reset_index(name="count")
    )
    counts["event_type"] = counts["event_type"].astype(str).to_numpy(dtype=object)
    return counts.sort_values(["time", "event_type"], ignore_index=True)
