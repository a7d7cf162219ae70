"""What a submitted command did: its outcome and the events it recorded.

The outcomes, and what each tells the user:

====================  ==========================================================
outcome               meaning
====================  ==========================================================
``recorded``          it ran and recorded the events in :attr:`CommandResult.events`
``nothing recorded``  it ran and recorded no events
``invalid``           an input did not convert (:attr:`CommandResult.errors`); not run
``unavailable``       a parameter has no input a form can give; not run
``refused``           the domain said no: the error's type and its text
``duplicate``         it creates an aggregate whose id (derived from the input)
                      is taken; submitting again will not help
``conflict``          someone else changed the aggregate after the command read
                      it; submitting again reads the new state
``error``             the application's code failed (a ``ZeroDivisionError``, a
                      ``TypeError``): a bug, not a business rule
``store error``       the event store refused the write
====================  ==========================================================
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Literal

from eventsourcing.application import Application

from workbench.reading.decoding import Codec, short_name

# --- results --------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedEvent:
    """One event a command recorded, as the store recorded it."""

    position: int
    """Its position in the application's notification log."""
    stream_id: str
    """The aggregate (originator) id."""
    version: int
    """The aggregate version this event made."""
    topic: str
    """The stored topic, ``module:Class.Event``."""
    payload: dict[str, Any]
    """The event's attributes, decoded (``timestamp`` is separate)."""
    timestamp: Any = None
    """When it happened, if the event carries a timestamp."""

    @property
    def type_name(self) -> str:
        """``"TicketPurchase.Paid"``."""
        return short_name(self.topic)

    def as_row(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "type": self.type_name,
            "stream": self.stream_id,
            "version": self.version,
            "payload": self.payload,
        }


Outcome = Literal[
    "recorded",
    "nothing recorded",
    "invalid",
    "unavailable",
    "refused",
    "duplicate",
    "conflict",
    "error",
    "store error",
]


@dataclass
class CommandResult:
    """What happened when a command was submitted (one row of the history)."""

    command: str
    """The command's name."""
    inputs: dict[str, Any]
    """What was entered."""
    submitted_at: _dt.datetime
    """When (by :mod:`workbench.clock`)."""
    outcome: Outcome
    """What happened (see the table in :mod:`workbench.commands.results`)."""
    arguments: dict[str, Any] = field(default_factory=dict)
    """The converted arguments the command was called with."""
    events: list[RecordedEvent] = field(default_factory=list)
    """The events this call recorded (and no other writer's), oldest first."""
    errors: dict[str, str] = field(default_factory=dict)
    """Field-level messages when ``invalid``."""
    message: str = ""
    """The refusal, duplicate, conflict or error, in words."""
    exception: str = ""
    """The class name of the exception the command raised (``""`` when none)."""
    returned: Any = None
    """What the command returned (e.g. a new aggregate id)."""
    position_before: int = 0
    """The log position before the call."""
    duration_ms: float = 0.0
    """How long the call took (conversion, command, decoding its events)."""
    command_id: str = ""
    """This run's id, the cause of the events it recorded (:mod:`workbench.tracing`)."""
    correlation_id: str = ""
    """The business process its events belong to: follow it with :func:`workbench.trace`."""

    @property
    def ok(self) -> bool:
        return self.outcome in ("recorded", "nothing recorded")

    def summary(self) -> str:
        """One line: ``reserve_tickets: recorded 2 events`` or the refusal."""
        if self.outcome == "recorded":
            n = len(self.events)
            return f"{self.command}: recorded {n} event{'s' if n != 1 else ''}"
        if self.outcome == "invalid":
            return f"{self.command}: not run — " + "; ".join(
                f"{k}: {v}" for k, v in self.errors.items()
            )
        if self.outcome == "nothing recorded":
            return f"{self.command}: ran, recorded no events"
        return f"{self.command}: {self.outcome} — {self.message}"

    def _repr_html_(self) -> str:
        import html

        colour = "#1b5e20" if self.ok else "#b00020"
        rows = "".join(
            f"<tr><td>{e.position}</td><td><b>{html.escape(e.type_name)}</b></td>"
            f"<td><code>{html.escape(e.stream_id[:8])}…</code></td><td>{e.version}</td>"
            f"<td><code>{html.escape(str(e.payload)[:160])}</code></td></tr>"
            for e in self.events
        )
        table = (
            "<table><tr><th>position</th><th>event</th><th>stream</th><th>version</th>"
            f"<th>payload</th></tr>{rows}</table>"
            if rows
            else ""
        )
        return f"<p style='color:{colour}'>{html.escape(self.summary())}</p>{table}"

    def as_row(self) -> dict[str, Any]:
        return {
            "when": self.submitted_at.isoformat(timespec="seconds"),
            "command": self.command,
            "arguments": self.arguments or self.inputs,
            "outcome": self.outcome,
            "events": ", ".join(e.type_name for e in self.events),
            "message": self.message or "; ".join(f"{k}: {v}" for k, v in self.errors.items()),
        }


def decode_payload(app: Application[Any], state: bytes) -> dict[str, Any]:
    """An event's stored state as a dict, decoded as every reader decodes it.

    Decrypts and decompresses first when the application does; topics are not
    imported (see :mod:`workbench.reading.decoding`).
    """
    return Codec.of_app(app).payload(state)
