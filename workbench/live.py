"""Hear about events recorded by an application in this kernel.

:func:`on_recorded` calls back after every save on one application object, so a
live view (a stream viewer, a read model) can pick up what a command just
recorded without polling the store. It wraps the instance's ``_notify`` hook
(eventsourcing calls it after each save with the new recordings) once; the
class and other instances are left alone.

>>> from workbench.examples.ticketing import Ticketing
>>> from workbench.stores import open_app
>>> from datetime import date
>>> app = open_app(Ticketing)
>>> seen = []
>>> stop = on_recorded(app, lambda positions: seen.append(positions))
>>> _ = app.schedule_conference("PHP18", "ConFoo 2018", date(2018, 3, 7))
>>> seen
[[1]]
>>> stop()
>>> _ = app.schedule_conference("JS18", "ConFoo JS 2018", date(2018, 3, 8))
>>> seen
[[1]]
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application

__all__ = ["on_recorded"]

_ATTR = "_workbench_recorded_callbacks"
_LOCK = threading.Lock()
log = logging.getLogger(__name__)

Callback = Callable[[list[int]], Any]


def on_recorded(app: Application[Any], callback: Callback) -> Callable[[], None]:
    """Call ``callback(positions)`` after each save on ``app``; returns an unsubscribe function.

    ``positions`` are the new events' notification ids (empty if the store
    does not give them). A callback that raises is logged and kept; it never
    breaks the save that triggered it.
    """
    if not isinstance(app, Application):
        raise TypeError(
            f"on_recorded needs an eventsourcing application object, got {type(app).__name__}"
        )
    with _LOCK:
        callbacks: list[Callback] | None = app.__dict__.get(_ATTR)
        if callbacks is None:
            callbacks = []
            original = app._notify

            def _notify(recordings: list[Any]) -> None:
                original(recordings)
                positions = [
                    int(r.notification.id)
                    for r in recordings
                    if getattr(getattr(r, "notification", None), "id", None) is not None
                ]
                for cb in list(app.__dict__.get(_ATTR, ())):
                    try:
                        cb(positions)
                    except Exception:
                        log.exception("a callback of on_recorded(%s) failed", app.name)

            app.__dict__[_ATTR] = callbacks
            app._notify = _notify  # type: ignore[method-assign]
        callbacks.append(callback)

    def unsubscribe() -> None:
        with _LOCK:
            current = app.__dict__.get(_ATTR, [])
            if callback in current:
                current.remove(callback)

    return unsubscribe
