"""Event-Driven Development Workbench: learn, teach and explore event-sourced systems.

Open any eventsourcing application on a store, look at its events, issue
commands, rebuild projections and step process managers::

    >>> import workbench as wb
    >>> from workbench.examples.ticketing import Ticketing
    >>> app = wb.open_app(Ticketing, "memory")
    >>> wb.open_records(wb.SAMPLE_TICKETING).max_position()
    4000

Stores are named by one string: ``"memory"``, an SQLite file path, or a
``postgresql://`` URL (see :mod:`workbench.stores`).
"""

from workbench.charts import enable_offline, to_png, to_svg
from workbench.clock import ManualClock, SystemClock, now, use_clock
from workbench.examples.history import (
    SAMPLE_SPONSORSHIP,
    SAMPLE_TICKETING,
    HistorySummary,
    copy_sample,
    generate_history,
)
from workbench.records import Record, RecordReader, open_records
from workbench.stores import Store, StoreError, describe_store, open_app, parse_store

__all__ = [
    "SAMPLE_SPONSORSHIP",
    "SAMPLE_TICKETING",
    "HistorySummary",
    "ManualClock",
    "Record",
    "RecordReader",
    "Store",
    "StoreError",
    "SystemClock",
    "copy_sample",
    "default_store",
    "describe_store",
    "enable_offline",
    "generate_history",
    "now",
    "open_app",
    "open_records",
    "parse_store",
    "to_png",
    "to_svg",
    "use_clock",
]


def default_store() -> str:
    """The store notebooks use for your own work: ``$WORKBENCH_STORE``, else ``"memory"``.

    ``make lab`` sets it to an SQLite file under ``var/`` (the embedded default
    store), so what you record survives a kernel restart.
    """
    import os

    return os.environ.get("WORKBENCH_STORE") or "memory"
