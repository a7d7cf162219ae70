"""Where a process manager keeps its own state: events in its own application.

Each process instance is an aggregate, :class:`ProcessInstance`, whose events
record everything the process did: triggers handled, actions done (the ledger
that makes replays safe), failures, anomalies, operator decisions. Its state at
any earlier version is a replay of its own events only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder

from workbench import clock
from workbench.processes.declaration import ABANDONED, FAILED, TIMEOUT_PREFIX
from workbench.transcodings import DateAsISO

__all__ = ["ProcessInstance", "ProcessLog", "process_log_class"]

NAMESPACE = uuid5(NAMESPACE_URL, "https://example.org/workbench/processes")
_PLAIN = (str, int, float, bool, type(None), Decimal, UUID, datetime)


def plain(value: Any) -> Any:
    """A value the process log can store (anything unusual becomes text)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    return str(value)


class ProcessInstance(Aggregate):
    """One business process (one purchase, one sponsor...) and what happened to it."""

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return clock.now()

    @staticmethod
    def create_id(process: str, key: str, **_: object) -> UUID:
        return uuid5(NAMESPACE, f"{process}/{key}")

    @event("Started")
    def __init__(self, process: str, key: str, state: str) -> None:
        self.process = process
        self.key = key
        self.state = state
        self.status = "active"
        self.data: dict[str, Any] = {}
        self.timeouts: dict[str, datetime] = {}
        self.pending: dict[str, Any] | None = None
        self.attempts = 0
        self.retry_at: datetime | None = None
        self.last_error: str | None = None
        self.held: list[dict[str, Any]] = []
        self.done: dict[str, str] = {}
        self.anomalies = 0

    # Derived ----------------------------------------------------------------

    @property
    def blocked(self) -> bool:
        """Waiting for a failing action (retrying, or parked): new triggers are held."""
        return self.pending is not None or self.status == FAILED

    @property
    def shown_state(self) -> str:
        """The state to show: ``failed`` / ``abandoned`` override the machine state."""
        return self.status if self.status in (FAILED, ABANDONED) else self.state

    @property
    def needs_attention(self) -> bool:
        return bool(self.timeouts or self.pending or self.held or self.status == FAILED)

    # Events -----------------------------------------------------------------

    @event("TriggerHandled")
    def trigger_handled(
        self,
        step: int,
        trigger: str,
        position: int | None,
        source: str,
        target: str,
        actions: list[str],
        scheduled: dict[str, datetime],
        cancelled: list[str],
        data: dict[str, Any],
    ) -> None:
        self.state = target
        if trigger.startswith(TIMEOUT_PREFIX):
            self.timeouts.pop(trigger[len(TIMEOUT_PREFIX) :], None)
        for name in cancelled:
            self.timeouts.pop(name, None)
        gone = {TIMEOUT_PREFIX + name for name in cancelled}
        self.held = [h for h in self.held if h["trigger"] not in gone]
        self.timeouts.update(scheduled)
        self.data.update(data)
        self.pending = None
        self.attempts = 0
        self.retry_at = None
        self.last_error = None
        self._unhold(trigger, position)

    @event("AnomalyRecorded")
    def anomaly_recorded(
        self, step: int, trigger: str, position: int | None, state: str, reason: str
    ) -> None:
        self.anomalies += 1
        if trigger.startswith(TIMEOUT_PREFIX):
            self.timeouts.pop(trigger[len(TIMEOUT_PREFIX) :], None)
        self._unhold(trigger, position)

    @event("TriggerHeld")
    def trigger_held(
        self, step: int, trigger: str, position: int | None, due: datetime | None
    ) -> None:
        self.held.append({"trigger": trigger, "position": position, "due": due})
        if trigger.startswith(TIMEOUT_PREFIX):
            self.timeouts.pop(trigger[len(TIMEOUT_PREFIX) :], None)

    @event("TriggerIgnored")
    def trigger_ignored(self, step: int, trigger: str, position: int | None, reason: str) -> None:
        self._unhold(trigger, position)

    @event("ActionDone")
    def action_done(self, step: int, key: str, action: str, outcome: str, detail: str) -> None:
        self.done[key] = outcome

    @event("ActionFailed")
    def action_failed(
        self,
        step: int,
        key: str,
        action: str,
        error: str,
        attempt: int,
        retry_at: datetime | None,
        transition: dict[str, Any],
    ) -> None:
        self.pending = transition
        trigger = transition["trigger"]
        if trigger.startswith(TIMEOUT_PREFIX):
            self.timeouts.pop(trigger[len(TIMEOUT_PREFIX) :], None)
        self._unhold(trigger, transition.get("position"))
        self.attempts = attempt
        self.retry_at = retry_at
        self.last_error = error

    @event("Parked")
    def parked(self, step: int, action: str, error: str) -> None:
        self.status = FAILED
        self.retry_at = None

    @event("RetryRequested")
    def retry_requested(self, step: int, by: str) -> None:
        self.status = "active"

    @event("Abandoned")
    def abandoned(self, step: int, action: str, by: str) -> None:
        if self.pending is not None:
            self.done[self.pending.get("failed_key", "")] = "abandoned"
        self.status = ABANDONED
        self.pending = None
        self.retry_at = None
        self.timeouts = {}

    def _unhold(self, trigger: str, position: int | None) -> None:
        for i, item in enumerate(self.held):
            if item["trigger"] == trigger and item["position"] == position:
                del self.held[i]
                return


class ProcessLog(Application[UUID]):
    """The application that stores process instances (one per process declaration)."""

    name = "ProcessLog"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())


_classes: dict[str, type[ProcessLog]] = {}


def process_log_class(process_name: str) -> type[ProcessLog]:
    """A :class:`ProcessLog` subclass named after the process (``PurchaseProcess``).

    Its name decides its file in a folder store (``purchaseprocess.sqlite``).
    """
    app_name = "".join(part.capitalize() for part in process_name.split()) + "Process"
    app_name = "".join(ch for ch in app_name if ch.isalnum()) or "Process"
    if app_name not in _classes:
        _classes[app_name] = type(app_name, (ProcessLog,), {"name": app_name})
    return _classes[app_name]
