"""Which events *this* call recorded: what the store returned, not what the log holds now.

Reading the notification log after a command lists whatever anyone recorded
meanwhile (another panel, a process application, another thread). Instead the
application's event store is watched: :func:`capturing` collects, for the
calling thread only, the recordings ``events.put`` returns (each with its
notification id) and, when a write fails, the events it tried to write (so a
duplicate id can be told from a concurrency conflict).

The watch is one wrapper on the application's ``events.put`` (installed once;
without an active capture it only passes the call on).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

_local = threading.local()
_INSTALLED = "__workbench_capture__"


class Capture:
    """What one call wrote through the event store, in this thread."""

    def __init__(self) -> None:
        self.recordings: list[Any] = []
        """The stored recordings (``domain_event``, ``notification`` with its id)."""
        self.written: list[Any] = []
        """Every domain event successfully put."""
        self.failed: list[Any] | None = None
        """The domain events of the put that raised (``None`` when none did)."""


def _captures() -> dict[int, Capture]:
    found: dict[int, Capture] | None = getattr(_local, "captures", None)
    if found is None:
        found = {}
        _local.captures = found
    return found


def watch(app: Any) -> bool:
    """Install the wrapper on ``app.events.put`` (once); ``False`` if there is no event store."""
    store = getattr(app, "events", None)
    original = getattr(store, "put", None)
    if store is None or original is None:
        return False
    if getattr(store, _INSTALLED, False):
        return True
    key = id(store)

    def put(domain_events: Sequence[Any], **kwargs: Any) -> Any:
        capture = _captures().get(key)
        if capture is None:
            return original(domain_events, **kwargs)
        events = list(domain_events)
        try:
            recordings = original(events, **kwargs)
        except BaseException:
            capture.failed = events
            raise
        capture.written.extend(events)
        capture.recordings.extend(recordings or [])
        return recordings

    try:
        store.put = put
        setattr(store, _INSTALLED, True)
    except (AttributeError, TypeError):
        return False
    return True


@contextlib.contextmanager
def capturing(app: Any) -> Iterator[Capture]:
    """Collect what ``app``'s event store records in this thread while the block runs."""
    captures = _captures()
    key = id(getattr(app, "events", None))
    previous = captures.get(key)
    capture = Capture()
    captures[key] = capture
    try:
        yield capture
    finally:
        if previous is None:
            captures.pop(key, None)
        else:
            captures[key] = previous
