"""What a projection's handler receives: one decoded event.

Events are decoded from their stored records by the one reading path
(:func:`workbench.reading.loading.event_batches`): the values a handler sees
are those :func:`~workbench.reading.loading.load_events` gives for the same
event, whatever the source. Topics are never imported.

>>> from datetime import datetime, timezone
>>> when = datetime(2018, 3, 7, 9, tzinfo=timezone.utc)
>>> event = EventView(7, "c0ffee", 2, "shop.domain:Conference.TicketTypeAdded",
...                   {"timestamp": when, "capacity": 100})
>>> event.type, event.capacity, event["capacity"], event.timestamp.year
('Conference.TicketTypeAdded', 100, 100, 2018)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from workbench.reading.decoding import DecodeError, short_name

__all__ = ["EventView", "short_name"]


class EventView(Mapping[str, Any]):
    """One stored event as a handler sees it: attribute or key access to its payload.

    Besides the payload fields: ``position`` (in the whole history),
    ``stream_id`` (the aggregate id, a string), ``version``, ``topic``,
    ``type`` (the short name, e.g. ``"TicketPurchase.Paid"``) and ``timestamp``.
    ``error`` says why a corrupt state could not be decoded (reading a field of
    such an event raises :class:`~workbench.reading.decoding.DecodeError`).
    """

    __slots__ = ("_payload", "error", "position", "stream_id", "topic", "version")

    def __init__(
        self,
        position: int,
        stream_id: str,
        version: int,
        topic: str,
        payload: Mapping[str, Any],
        error: str | None = None,
    ) -> None:
        self.position = position
        self.stream_id = stream_id
        self.version = version
        self.topic = topic
        self._payload = payload
        self.error = error

    @property
    def type(self) -> str:
        """The short event type, e.g. ``"TicketPurchase.Paid"``."""
        return short_name(self.topic)

    @property
    def payload(self) -> dict[str, Any]:
        """All payload fields (timestamp included), as a new dict."""
        return dict(self._payload)

    @property
    def timestamp(self) -> datetime:
        """When the event happened."""
        value = self._payload.get("timestamp")
        if not isinstance(value, datetime):
            raise DecodeError(
                f"{self.type} at position {self.position} has no timestamp"
                + (f" ({self.error})" if self.error else "")
            )
        return value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        payload = self._payload
        try:
            return payload[name]
        except KeyError:
            if self.error:
                raise DecodeError(
                    f"{self.type} at position {self.position} cannot be read: {self.error}"
                ) from None
            fields = ", ".join(sorted(payload)) or "none"
            raise AttributeError(
                f"{self.type} at position {self.position} has no field {name!r} "
                f"(its fields: {fields})"
            ) from None

    def __getitem__(self, name: str) -> Any:
        try:
            return self.__getattr__(name)
        except AttributeError as e:
            raise KeyError(str(e)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._payload)

    def __len__(self) -> int:
        return len(self._payload)

    def __repr__(self) -> str:
        return f"<{self.type} #{self.position} of {self.stream_id} v{self.version}>"
