"""Reading an upstream application's events one at a time, by position.

A process manager follows another application's notification log. Events are
decoded from their stored records with the application's own transcoder
(custom transcodings, compression and encryption included) without importing
the classes named by their topics.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

__all__ = ["UpstreamEvent", "UpstreamLog", "event_type_of"]

_META = ("originator_id", "originator_version", "timestamp", "class_version")


def event_type_of(topic: str) -> str:
    """``"pkg.mod:TicketPurchase.Paid"`` → ``"TicketPurchase.Paid"``."""
    return topic.rsplit(":", 1)[-1]


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
    """Reads an application's notification log forward from a position.

    Reading is batched and cached (a recorded event never changes), so moving
    a cursor one event at a time costs almost nothing, even deep in a long
    history. Only events of the given types are decoded.

    >>> from workbench.examples.ticketing import Ticketing
    >>> from datetime import date
    >>> app = Ticketing()
    >>> _ = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
    >>> log = UpstreamLog(app)
    >>> log.next_after(0).type
    'Conference.Scheduled'
    """

    def __init__(self, app: Application[Any], batch: int = 500) -> None:
        if not isinstance(app, Application):
            raise TypeError(
                f"a process follows an eventsourcing Application; got {type(app).__name__}. "
                "Pass the application object (e.g. open_app(Ticketing, 'history.sqlite'))"
            )
        self.app = app
        self.name = app.name
        self._batch = batch
        self._cache: list[Notification] = []
        self._cache_start = 0
        self._decoded: dict[int, UpstreamEvent] = {}

    def _load(self, after: int) -> list[Notification]:
        recorder = self.app.recorder
        rows = recorder.select_notifications(  # type: ignore[attr-defined]
            start=after + 1, limit=self._batch
        )
        return list(rows)

    def _window(self, after: int) -> tuple[list[Notification], int]:
        """Cached notifications starting just after ``after`` (may be empty)."""
        cache = self._cache
        if cache and cache[0].id <= after + 1 and cache[-1].id > after:
            # binary search for the first id > after
            lo, hi = 0, len(cache)
            while lo < hi:
                mid = (lo + hi) // 2
                if cache[mid].id <= after:
                    lo = mid + 1
                else:
                    hi = mid
            return cache, lo
        rows = self._load(after)
        if rows:
            self._cache = rows
        return rows, 0

    def next_after(self, after: int, types: Collection[str] | None = None) -> UpstreamEvent | None:
        """The first event after position ``after`` (of one of ``types``), or ``None``."""
        while True:
            rows, i = self._window(after)
            if i >= len(rows):
                return None
            for row in rows[i:]:
                if types is None or event_type_of(row.topic) in types:
                    return self._decode(row)
                after = row.id

    def skipped_between(self, after: int, until: int) -> int:
        """How many events lie strictly between two positions (approximately: by id)."""
        return max(0, until - after - 1)

    def get(self, position: int) -> UpstreamEvent:
        """The event at ``position`` (``KeyError`` if there is none)."""
        if position in self._decoded:
            return self._decoded[position]
        rows = self.app.recorder.select_notifications(  # type: ignore[attr-defined]
            start=position, limit=1
        )
        if not rows or rows[0].id != position:
            raise KeyError(f"{self.name} has no event at position {position}")
        return self._decode(rows[0])

    def max_position(self) -> int:
        """The position of the last recorded event (0 if none)."""
        return int(self.app.recorder.max_notification_id() or 0)  # type: ignore[attr-defined]

    def first_timestamp(self) -> datetime | None:
        first = self.next_after(0)
        return first.timestamp if first else None

    def _decode(self, row: Notification) -> UpstreamEvent:
        found = self._decoded.get(row.id)
        if found is not None:
            return found
        mapper = self.app.mapper
        state = row.state
        if mapper.cipher:
            state = mapper.cipher.decrypt(state)
        if mapper.compressor:
            state = mapper.compressor.decompress(state)
        data: dict[str, Any] = mapper.transcoder.decode(state)
        timestamp = data.get("timestamp")
        event = UpstreamEvent(
            position=row.id,
            type=event_type_of(row.topic),
            originator_id=row.originator_id,
            originator_version=row.originator_version,
            timestamp=timestamp if isinstance(timestamp, datetime) else None,
            data={k: v for k, v in data.items() if k not in _META},
        )
        if len(self._decoded) > 4096:
            self._decoded.clear()
        self._decoded[row.id] = event
        return event
