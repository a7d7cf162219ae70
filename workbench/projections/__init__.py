"""Projections: rebuildable read models, built from events by handlers in plain Python.

>>> from workbench.projections import Projection, ProjectionRun, handles
>>> class Paid(Projection):
...     @handles("TicketPurchase.Paid")
...     def paid(self, event, model):
...         model["payments"].add(event.stream_id, event.amount)

See :mod:`workbench.projections.core` for running, rebuilding, stepping,
stopping at a position or time, lag, and :func:`diff`.
"""

from workbench.projections.core import (
    HandlerFailure,
    Lag,
    Progress,
    Projection,
    ProjectionError,
    ProjectionRun,
    diff,
    handles,
)
from workbench.projections.events import EventView, short_name
from workbench.projections.readmodel import ReadModel, Table
from workbench.projections.storage import (
    MemoryStorage,
    PostgresStorage,
    ReadModelStorage,
    SQLiteStorage,
    StaleTrackingError,
    open_storage,
)

__all__ = [
    "EventView",
    "HandlerFailure",
    "Lag",
    "MemoryStorage",
    "PostgresStorage",
    "Progress",
    "Projection",
    "ProjectionError",
    "ProjectionRun",
    "ReadModel",
    "ReadModelStorage",
    "SQLiteStorage",
    "StaleTrackingError",
    "Table",
    "diff",
    "handles",
    "open_storage",
    "short_name",
]
