"""What a projection's handler was given, kept by the reading tests to compare sources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.projections import EventView


@dataclass(frozen=True)
class Handled:
    """What a handler was given: the event's metadata and its payload, as it was then."""

    position: int
    stream_id: str
    version: int
    topic: str
    type: str
    payload: dict[str, Any]

    @classmethod
    def of(cls, event: EventView) -> Handled:
        """What ``event`` holds now (its payload copied)."""
        return cls(
            event.position, event.stream_id, event.version, event.topic, event.type, event.payload
        )
