"""Reading an upstream application's events one at a time, by position.

A process manager follows another application's history. Events are decoded
from their stored records by the one reading path (the same values as
:func:`workbench.load_events` gives), without importing the classes named by
their topics: a process can follow an application or an SQLite file.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workbench.reading.decoding import short_name
from workbench.reading.loading import DecodedEvent, event_batches
from workbench.reading.opening import HistorySource, open_history

__all__ = ["UpstreamEvent", "UpstreamLog", "event_type_of"]

_META = ("originator_id", "originator_version", "timestamp", "class_version")


event_type_of = short_name
"""``"pkg.mod:TicketPurchase.Paid"`` → ``"TicketPurchase.Paid"`` (one rule: see short_name)."""


@dataclass(frozen=True)
class UpstreamEvent:
    """One upstream event as a process manager sees it.

    >>> e = UpstreamEvent(7, "TicketPurchase.Paid", "b0e1", 2, None, {"amount": 10})
    >>> e["amount"], e.name
    (10, 'Paid')
    """

    position: int
    """Its position in the upstream application's notification log."""
    type: str
    """Aggregate class and event class, e.g. ``"TicketPurchase.Paid"``."""
    originator_id: Any
    """The aggregate it happened to."""
    originator_version: int
    """The aggregate's version after it."""
    timestamp: datetime | None
    """When it happened (business time)."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """Its other attributes."""

    @property
    def name(self) -> str:
        """The event class name alone, e.g. ``"Paid"``."""
        return self.type.rsplit(".", 1)[-1]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


class UpstreamLog:
    """Reads a history forward from a position, one event at a time.

    Events are read in batches through the one reading path
    (:func:`workbench.reading.loading.event_batches`) and kept (a recorded
    event never changes), so moving a cursor one event at a time costs almost
    nothing, even deep in a long history. Only events of the asked types are
    read and decoded.

    >>> from workbench.examples.ticketing import Ticketing
    >>> from datetime import date
    >>> app = Ticketing()
    >>> _ = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
    >>> log = UpstreamLog(app)
    >>> log.next_after(0).type
    'Conference.Scheduled'
    """

    def __init__(self, source: HistorySource, batch: int = 500, **settings: Any) -> None:
        self.history = open_history(source, **settings)
        app = self.history.app
        self.name = app.name if app is not None else self.history.description
        self._batch = batch
        self._key: frozenset[str] | None = None
        self._start = self._end = 0
        self._events: list[UpstreamEvent] = []
        self._positions: list[int] = []
        self._topics: dict[frozenset[str], tuple[int, list[str]]] = {}

    def _topics_for(self, key: frozenset[str]) -> list[str]:
        top = self.history.max_position()
        known = self._topics.get(key)
        if known is None or known[0] < top:
            known = (top, self.history.topics_for(sorted(key)))
            self._topics[key] = known
        return known[1]

    def _fill(self, after: int, key: frozenset[str] | None) -> None:
        top = self.history.max_position()
        topics = self._topics_for(key) if key is not None else []
        events: list[UpstreamEvent] = []
        if key is None or topics:
            for batch in event_batches(
                self.history, after, upto=top, topics=topics, limit=self._batch
            ):
                events.extend(_upstream_event(decoded) for decoded in batch)
        self._key = key
        self._events = events
        self._positions = [e.position for e in events]
        self._start = after
        self._end = events[-1].position if len(events) >= self._batch else top

    def next_after(self, after: int, types: Collection[str] | None = None) -> UpstreamEvent | None:
        """The first event after position ``after`` (of one of ``types``), or ``None``."""
        key = None if types is None else frozenset(types)
        while True:
            if self._key != key or not self._start <= after < self._end:
                self._fill(after, key)
            index = bisect_right(self._positions, after)
            if index < len(self._events):
                return self._events[index]
            if self._end >= self.history.max_position():
                return None
            after = max(after, self._end)
            self._fill(after, key)
            if not self._events:
                return None

    def skipped_between(self, after: int, until: int) -> int:
        """How many events lie strictly between two positions (approximately: by id)."""
        return max(0, until - after - 1)

    def get(self, position: int) -> UpstreamEvent:
        """The event at ``position`` (``KeyError`` if there is none)."""
        index = bisect_right(self._positions, position) - 1
        if index >= 0 and self._positions[index] == position:
            return self._events[index]
        for batch in event_batches(self.history, position - 1, upto=position, limit=1):
            return _upstream_event(batch[0])
        raise KeyError(f"{self.name} has no event at position {position}")

    def max_position(self) -> int:
        """The position of the last recorded event (0 if none)."""
        return self.history.max_position()

    def first_timestamp(self) -> datetime | None:
        first = self.next_after(0)
        return first.timestamp if first else None


def _upstream_event(decoded: DecodedEvent) -> UpstreamEvent:
    position, stream_id, version, topic, payload, _ = decoded
    timestamp = payload.get("timestamp")
    return UpstreamEvent(
        position=position,
        type=short_name(topic),
        originator_id=stream_id,
        originator_version=version,
        timestamp=timestamp if isinstance(timestamp, datetime) else None,
        data={k: v for k, v in payload.items() if k not in _META},
    )
