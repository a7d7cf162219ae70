"""Event-Driven Development Workbench: learn, teach and explore event-sourced systems.

Open any eventsourcing application on a store, look at its events, issue
commands, rebuild projections and step process managers::

    >>> import workbench as wb
    >>> from workbench.examples.ticketing import Ticketing
    >>> app = wb.open_app(Ticketing, "memory")
    >>> wb.open_history(wb.SAMPLE_TICKETING).max_position()
    4000
    >>> events = wb.load_events(wb.SAMPLE_TICKETING, event_types=["TicketPurchase.Paid"])
    >>> len(events)
    1035

Stores are named by one string: ``"memory"``, an SQLite file path, or a
``postgresql://`` URL (see :mod:`workbench.stores`). Every reader of a history
(``load_events``, ``EventStream``, ``TimeTravel``, ``ProjectionRun``,
``ProcessRun``) opens it one way, :func:`open_history`, and takes the same
keywords (``cipher_key``, ``compressor``, ``env``, ``table``); see
:mod:`workbench.reading`. The widgets live in
:mod:`workbench.widgets` (the core never imports ipywidgets).
"""

from typing import TYPE_CHECKING, Any

from workbench.charts import enable_offline, to_png, to_svg
from workbench.clock import ManualClock, SystemClock, now, use_clock
from workbench.commands import (
    CommandResult,
    CommandSet,
    InvalidInput,
    command,
    discover_commands,
    not_a_command,
)
from workbench.crud import CrudTable
from workbench.frame_joining import combine_frames
from workbench.live import on_recorded
from workbench.processes import (
    Action,
    Outbox,
    ProcessDeclaration,
    ProcessRun,
    RetryPolicy,
    ServiceUnavailable,
    Timeout,
    Transition,
    timeout,
)
from workbench.projections import (
    EventView,
    HandlerFailure,
    Projection,
    ProjectionError,
    ProjectionRun,
    ReadModel,
    diff,
    handles,
    open_storage,
)
from workbench.reading import (
    Codec,
    History,
    LoadError,
    event_batches,
    event_types_of,
    load_events,
    open_history,
)
from workbench.reading.records import Record, RecordReader, open_records
from workbench.samples import (
    SAMPLE_SPONSORSHIP,
    SAMPLE_TICKETING,
    copy_sample,
    default_store,
    workspace,
)
from workbench.stores import Store, StoreError, describe_store, open_app, parse_store
from workbench.storming import Board, StormingActivity, storming_board
from workbench.stream import EventStream, StreamFilter
from workbench.systems import PolicyStep, PolicyStepper, SystemMap, SystemRun, open_system
from workbench.text_search import TextIndex
from workbench.timetravel import TimeTravel
from workbench.tracing import caused_by, correlated, follow_causes, trace_of, tracing_env
from workbench.tracing.view import Trace, trace

if TYPE_CHECKING:
    from workbench.examples.history import HistorySummary, generate_history

__all__ = [
    "SAMPLE_SPONSORSHIP",
    "SAMPLE_TICKETING",
    "Action",
    "Board",
    "Codec",
    "CommandResult",
    "CommandSet",
    "CrudTable",
    "EventStream",
    "EventView",
    "HandlerFailure",
    "History",
    "HistorySummary",
    "InvalidInput",
    "LoadError",
    "ManualClock",
    "Outbox",
    "PolicyStep",
    "PolicyStepper",
    "ProcessDeclaration",
    "ProcessRun",
    "Projection",
    "ProjectionError",
    "ProjectionRun",
    "ReadModel",
    "Record",
    "RecordReader",
    "RetryPolicy",
    "ServiceUnavailable",
    "Store",
    "StoreError",
    "StormingActivity",
    "StreamFilter",
    "SystemClock",
    "SystemMap",
    "SystemRun",
    "TextIndex",
    "TimeTravel",
    "Timeout",
    "Trace",
    "Transition",
    "caused_by",
    "combine_frames",
    "command",
    "copy_sample",
    "correlated",
    "default_store",
    "describe_store",
    "diff",
    "discover_commands",
    "enable_offline",
    "event_batches",
    "event_types_of",
    "follow_causes",
    "generate_history",
    "handles",
    "load_events",
    "not_a_command",
    "now",
    "on_recorded",
    "open_app",
    "open_history",
    "open_records",
    "open_storage",
    "open_system",
    "parse_store",
    "storming_board",
    "timeout",
    "to_png",
    "to_svg",
    "trace",
    "trace_of",
    "tracing_env",
    "use_clock",
    "workspace",
]


_LAZY = {"HistorySummary", "generate_history"}
"""Names from the teaching domain (workbench.examples.history), imported when first used."""


def __getattr__(name: str) -> Any:
    """Import the history generator only when it is asked for (``wb.generate_history``)."""
    if name in _LAZY:
        from workbench.examples import history

        return getattr(history, name)
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The package's names, the lazily imported ones included (for tab completion)."""
    return sorted({*globals(), *_LAZY})
