"""An injectable clock, so that histories can carry realistic past timestamps.

Event timestamps in the teaching domain come from :func:`now`. Normally that is
the wall clock; inside :func:`use_clock` it is whatever clock you give, for
example a :class:`ManualClock` that you move by hand::

    >>> from datetime import datetime, timedelta, timezone
    >>> from workbench.clock import ManualClock, now, use_clock
    >>> clock = ManualClock(datetime(2018, 3, 7, 9, 0, tzinfo=timezone.utc))
    >>> with use_clock(clock):
    ...     _ = clock.advance(minutes=31)
    ...     now().isoformat()
    '2018-03-07T09:31:00+00:00'
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "current_clock", "now", "use_clock"]


class Clock(Protocol):
    """Anything that can tell the time (timezone-aware)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(tz=UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to: ``set()`` or ``advance()``.

    Time never goes backwards: setting an earlier time raises ``ValueError``,
    because events recorded later must not carry earlier timestamps.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2018, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError(
                f"ManualClock needs a timezone-aware start, got {start!r}; "
                "pass e.g. datetime(2018, 3, 7, tzinfo=timezone.utc)"
            )
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        """Move the clock to ``when`` (not earlier than the current time)."""
        if when.tzinfo is None:
            raise ValueError(f"ManualClock.set() needs a timezone-aware datetime, got {when!r}")
        with self._lock:
            if when < self._now:
                raise ValueError(
                    f"cannot move the clock back from {self._now.isoformat()} "
                    f"to {when.isoformat()}: time only moves forward"
                )
            self._now = when

    def advance(
        self, delta: timedelta | None = None, *, minutes: float = 0, seconds: float = 0
    ) -> datetime:
        """Move the clock forward and return the new time.

        >>> clock = ManualClock()
        >>> clock.advance(minutes=30).isoformat()
        '2018-01-01T00:30:00+00:00'
        """
        step = (delta or timedelta()) + timedelta(minutes=minutes, seconds=seconds)
        if step < timedelta():
            raise ValueError(f"cannot advance the clock by a negative amount ({step})")
        with self._lock:
            self._now = self._now + step
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()!r})"


_system_clock = SystemClock()
_current: list[Clock] = [_system_clock]


def current_clock() -> Clock:
    """The clock that :func:`now` reads."""
    return _current[-1]


def now() -> datetime:
    """The current time by the current clock (timezone-aware)."""
    return _current[-1].now()


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Make ``clock`` the current clock inside the ``with`` block."""
    _current.append(clock)
    try:
        yield clock
    finally:
        _current.remove(clock)
