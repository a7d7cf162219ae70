"""Running a process manager one step at a time: :class:`ProcessRun`.

A run follows an upstream application's notification log. Each *step* is one
occurrence: an upstream event delivered, a timeout or retry falling due, or an
operator's decision. Everything a step does is recorded as events of the
process instance it touched (see :mod:`workbench.processes.log`), so:

- **step back** re-derives only that instance's state from its own events, up
  to the version before the step (fast on any history length);
- stepping forward again over recorded steps *replays* them: nothing is sent
  twice; new steps happen only at the head;
- :meth:`ProcessRun.replay` rebuilds everything from the upstream history,
  either safely (actions looked up in the ledger, never repeated) or naively
  (actions executed again: the hazard).

A step is all or nothing: its events are recorded in one transaction, and if
anything stops it before they are (a handler's ``KeyboardInterrupt``, a store
that fails, a kill), the run is as it was before the step and taking the step
again redoes it. An action is recorded in the same transaction as the step
that did it, so an action recorded as done is never repeated; but an action
done just before a crash, whose step was not recorded yet, *is* done again
when the run resumes. Nothing on this side can tell whether an e-mail left
before the crash: only the receiving service can. So actions are delivered
*at least once*, each with an idempotency key (:attr:`ActionContext.key`, the
same on every attempt, in this run or a resumed one): pass it on to a service
that drops repeated keys (as payment providers and mail APIs do, or as
``Outbox(idempotent=True)`` does) and each action takes effect exactly once.

>>> from datetime import date, datetime, timezone
>>> from workbench.clock import ManualClock, use_clock
>>> from workbench.examples.ticketing import Ticketing
>>> from workbench.processes import ProcessDeclaration, Transition
>>> decl = ProcessDeclaration(
...     name="Conference watch", states=("new", "scheduled"), initial="new",
...     transitions=(Transition("new", "Conference.Scheduled", "scheduled"),))
>>> clock = ManualClock(datetime(2018, 3, 1, 9, tzinfo=timezone.utc))
>>> app = Ticketing()
>>> with use_clock(clock):
...     _ = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
>>> run = ProcessRun(decl, app, clock=clock)
>>> run.step().moves[0].target
'scheduled'
>>> run.back().number, run.states()
(1, {})
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from workbench.clock import Clock, ManualClock, use_clock
from workbench.processes.declaration import (
    ABANDONED,
    FAILED,
    TIMEOUT_PREFIX,
    ProcessDeclaration,
    timeout,
)
from workbench.processes.log import ProcessInstance, ProcessLog, plain, process_log_class
from workbench.processes.upstream import UpstreamEvent, UpstreamLog
from workbench.processes.view import run_html, short_key
from workbench.processes.window import Instances, Steps
from workbench.reading.opening import HistorySource
from workbench.stores import Store, open_app
from workbench.tracing import process_step_cause

__all__ = [
    "ActionContext",
    "Anomaly",
    "Emitted",
    "Failure",
    "Handler",
    "Move",
    "ProcessError",
    "ProcessRun",
    "Refused",
    "Step",
]

Mode = Literal["live", "safe", "naive"]

DONE = "done"
REFUSED = "refused"
DRY = "recorded (dry run)"
ALREADY = "already done (not repeated)"
FAILED_OUTCOME = "failed"
NOT_DONE = "not done before the rebuild"
EXECUTED = (DONE, REFUSED, FAILED_OUTCOME)


class ProcessError(Exception):
    """A run was asked something it cannot do; the message says what to do instead."""


class Refused(Exception):
    """Raised by a handler when the target *refused* the command (a business answer).

    A refusal is recorded, not retried: e.g. ``Ticketing.time_out`` on a purchase
    that was paid in the meantime.
    """


@dataclass(frozen=True)
class ActionContext:
    """What a handler gets when its action is executed."""

    process: str
    """The process's name."""
    instance: str
    """The instance's key (e.g. the purchase id)."""
    action: str
    """The action's name."""
    kind: str
    """``"command"`` or ``"side effect"``."""
    key: str
    """An idempotency key: the same for the same action of the same trigger, on every
    attempt and after a resume. Actions are delivered at least once (a crash between
    doing an action and recording it means doing it again on resume): give this key to
    the service, so that it can drop a repeat."""
    source: str
    """The state the transition leaves."""
    target: str
    """The state the transition enters."""
    trigger: str
    """The upstream event type or ``timeout:<name>``."""
    event: UpstreamEvent | None
    """The upstream event (``None`` for a timeout)."""
    data: Mapping[str, Any]
    """What the instance remembered from earlier events (plus this one's)."""
    now: datetime
    """The run's clock."""
    attempt: int
    """1 for the first attempt."""


Handler = Callable[[ActionContext], object]
"""Executes one action. Raise :class:`Refused` for a business refusal; any other
exception is a failure, retried by the declaration's policy."""


@dataclass(frozen=True)
class Emitted:
    """An action a step emitted, and what became of it."""

    action: str
    kind: str
    key: str
    outcome: str
    """``done``, ``refused``, ``failed``, ``recorded (dry run)``, ``already done``..."""
    detail: str = ""


@dataclass(frozen=True)
class Move:
    """A transition a run took."""

    instance: str
    source: str
    trigger: str
    target: str
    position: int | None


@dataclass(frozen=True)
class Anomaly:
    """A trigger the machine does not allow in the instance's state (recorded, not raised)."""

    step: int
    instance: str
    trigger: str
    position: int | None
    state: str
    reason: str


@dataclass(frozen=True)
class Failure:
    """An attempt at an action that failed."""

    step: int
    instance: str
    action: str
    error: str
    attempt: int
    retry_at: datetime | None
    parked: bool


@dataclass(frozen=True)
class Step:
    """One step of a run: what triggered it and what it did."""

    number: int
    kind: str
    """``event``, ``timeout``, ``retry`` or ``operator``."""
    trigger: str
    position: int | None
    instance: str | None
    outcome: str
    """``transition``, ``anomaly``, ``held``, ``failed``, ``parked``, ``ignored``, ``abandoned``."""
    moves: tuple[Move, ...] = ()
    emitted: tuple[Emitted, ...] = ()
    scheduled: tuple[tuple[str, datetime], ...] = ()
    error: str | None = None
    clock_before: datetime = field(default=datetime.min.replace(tzinfo=UTC))
    clock_after: datetime = field(default=datetime.min.replace(tzinfo=UTC))
    cursor_before: int = 0
    cursor_after: int = 0
    version_before: int = 0
    version_after: int = 0
    skipped: int = 0
    event: UpstreamEvent | None = None
    note: str = ""

    def summary(self) -> str:
        """One line: ``#3 TicketPurchase.Paid @7 → instance ab12…: awaiting payment → paid``."""
        where = f" @{self.position}" if self.position is not None else ""
        who = f" → instance {short_key(self.instance)}" if self.instance else ""
        if self.moves:
            what = "; ".join(f"{m.source} → {m.target}" for m in self.moves)
        else:
            what = self.outcome
        extra = f" ({self.note})" if self.note else ""
        return f"#{self.number} {self.trigger}{where}{who}: {what}{extra}"


_Wakeup = tuple[datetime, int, str, str, str]  # due, seq, instance key, kind, name


class ProcessRun:
    """A process manager following an upstream application, one step at a time.

    Parameters
    ----------
    declaration:
        The process (:class:`~workbench.processes.ProcessDeclaration`).
    upstream:
        The history whose events drive it: an application, an SQLite file or a
        store string (anything :func:`~workbench.reading.opening.open_history` opens).
    handlers:
        Action name → :data:`Handler`. ``None`` (the default) is a *dry run*:
        actions are recorded as emitted but nothing is executed (what you want
        when exploring a recorded history).
    clock:
        A :class:`~workbench.clock.ManualClock`; by default one starting at the
        first upstream event. With ``follow_event_time`` the clock moves forward
        to each event's timestamp, so timeouts fall due as the history unfolds.
    store:
        Where the process keeps its own events (see :func:`workbench.stores.open_app`).
    mode:
        ``"live"``; ``"safe"`` and ``"naive"`` are the replay modes used by :meth:`replay`.
    cipher_key, compressor, env, table:
        How to read the upstream history (as for :func:`~workbench.load_events`).
    """

    def __init__(
        self,
        declaration: ProcessDeclaration,
        upstream: HistorySource,
        *,
        handlers: Mapping[str, Handler] | None = None,
        clock: Clock | None = None,
        store: str | Path | Store | None = "memory",
        follow_event_time: bool = True,
        mode: Mode = "live",
        ledger: Mapping[str, str] | None = None,
        cipher_key: str | None = None,
        compressor: str | Any | None = None,
        env: Mapping[str, str] | None = None,
        table: str | None = None,
    ) -> None:
        if not isinstance(declaration, ProcessDeclaration):
            raise TypeError(
                f"a ProcessRun needs a ProcessDeclaration, got {type(declaration).__name__}"
            )
        if mode not in ("live", "safe", "naive"):
            raise ProcessError(f"unknown mode {mode!r}: use 'live', 'safe' or 'naive'")
        self.declaration = declaration
        self.upstream = UpstreamLog(
            upstream, cipher_key=cipher_key, compressor=compressor, env=env, table=table
        )
        self.handlers = _check_handlers(declaration, handlers)
        self.mode: Mode = mode
        self.follow_event_time = follow_event_time
        if clock is None:
            first = self.upstream.first_timestamp()
            clock = ManualClock(first) if first else ManualClock()
        self.clock: Clock = clock
        self.log: ProcessLog = open_app(process_log_class(declaration.name), store)
        self.ledger: dict[str, str] = dict(ledger or {})
        self._given_ledger = dict(self.ledger)
        self.sent: list[Emitted] = []
        self.steps = Steps()
        """Every step, numbered; after a :meth:`jump`, only those since it are kept."""
        self.view = 0
        self.cursor = 0
        self.instances = Instances()
        """Key → instance; after a :meth:`jump`, instances are made when first read."""
        self.anomalies: list[Anomaly] = []
        self.failures: list[Failure] = []
        self._attention: set[str] = set()
        self._wakeups: list[_Wakeup] = []
        self._seq = itertools.count()
        self._types = declaration.event_types
        self._start_clock = clock.now()
        self._ledger_step: dict[str, str] = {}
        """Ledger entries of the step in hand (added to the ledger once it is recorded)."""
        self._unsure: set[str] = set()
        """Instances whose state in memory could not be restored after a failed step."""
        self.resumed_at = 0
        if (self.log.recorder.max_notification_id() or 0) > 0:  # type: ignore[attr-defined]
            self._resume()

    # Where we are -------------------------------------------------------------

    @property
    def at_head(self) -> bool:
        """``False`` after stepping back: stepping forward then replays recorded steps."""
        return self.view == len(self.steps)

    @property
    def now(self) -> datetime:
        """The clock as of the step in view."""
        if self.at_head:
            return self.clock.now()
        return self.steps[self.view - 1].clock_after if self.view else self._start_clock

    @property
    def current(self) -> Step | None:
        """The step in view (the last one taken, or the one stepped back to)."""
        return self.steps[self.view - 1] if self.view else None

    def states(self) -> dict[str, str]:
        """Instance key → state shown (``failed`` / ``abandoned`` when parked or given up)."""
        return self.instances.shown_states()

    def instance(self, key: str) -> ProcessInstance:
        """The instance with this key, as of the step in view."""
        try:
            return self.instances[key]
        except KeyError:
            known = ", ".join(short_key(k) for k in list(self.instances)[:5]) or "none yet"
            raise ProcessError(
                f"{self.declaration.name} has no instance {key!r} at this step "
                f"(instances: {known}{'…' if len(self.instances) > 5 else ''})"
            ) from None

    def history(self, key: str) -> list[dict[str, Any]]:
        """The instance's own recorded events up to the step in view, as plain dicts."""
        inst = self.instance(key)
        events = self.log.repository.event_store.get(
            ProcessInstance.create_id(self.declaration.name, key), lte=inst.version
        )
        rows = []
        for e in events:
            row = {"version": e.originator_version, "event": type(e).__name__}
            row.update(
                {
                    k: v
                    for k, v in e.__dict__.items()
                    if k not in ("originator_id", "originator_version", "originator_topic")
                }
            )
            rows.append(row)
        return rows

    def pending_timeouts(self) -> list[tuple[str, str, datetime]]:
        """(instance, timeout, due) for every scheduled timeout, earliest first."""
        found = [
            (key, name, due)
            for key in self._attention
            for name, due in self.instances[key].timeouts.items()
        ]
        return sorted(found, key=lambda item: item[2])

    def pending_retries(self) -> list[tuple[str, str, datetime]]:
        """(instance, failing action, retry at) for actions waiting to be retried."""
        found = []
        for key in self._attention:
            inst = self.instances[key]
            if inst.pending is not None and inst.retry_at is not None and inst.status == "active":
                found.append((key, str(inst.pending.get("failed_action", "")), inst.retry_at))
        return sorted(found, key=lambda item: item[2])

    def dead_letters(self) -> list[dict[str, Any]]:
        """Instances parked as failed: what failed, why, after how many attempts."""
        rows = []
        for key in sorted(self._attention):
            inst = self.instances[key]
            if inst.status == FAILED and inst.pending is not None:
                rows.append(
                    {
                        "instance": key,
                        "state": inst.state,
                        "trigger": inst.pending["trigger"],
                        "position": inst.pending.get("position"),
                        "action": inst.pending.get("failed_action"),
                        "error": inst.last_error,
                        "attempts": inst.attempts,
                        "held": len(inst.held),
                    }
                )
        return rows

    def unprocessed(self) -> list[int]:
        """Upstream positions delivered but not processed yet (failing or held)."""
        found: set[int] = set()
        for key in self._attention:
            inst = self.instances[key]
            if inst.pending is not None and inst.pending.get("position") is not None:
                found.add(int(inst.pending["position"]))
            found.update(int(h["position"]) for h in inst.held if h["position"] is not None)
        return sorted(found)

    @property
    def processed_up_to(self) -> int:
        """Every upstream position up to this one has been processed (tracking)."""
        waiting = self.unprocessed()
        return min(waiting) - 1 if waiting else self.cursor

    def moves(self) -> list[Move]:
        """Every transition taken, in order, up to the step in view."""
        return [m for s in self.steps[: self.view] for m in s.moves]

    def emitted(self) -> list[Emitted]:
        """Every action emitted, up to the step in view."""
        return [e for s in self.steps[: self.view] for e in s.emitted]

    def visible_anomalies(self) -> list[Anomaly]:
        return [a for a in self.anomalies if a.step <= self.view]

    def visible_failures(self) -> list[Failure]:
        return [f for f in self.failures if f.step <= self.view]

    # Moving -------------------------------------------------------------------

    def step(self) -> Step | None:
        """Take the next step (``None`` when there is nothing to do until the clock moves)."""
        if not self.at_head:
            return self._redo()
        with use_clock(self.clock):
            return self._live_step()

    def back(self) -> Step | None:
        """Step back: re-derive the affected instance as it was before the step.

        Only that instance's own events are replayed; nothing is undone in the
        outside world (an e-mail sent stays sent) and stepping forward again
        replays the recorded step without repeating it. ``None`` at the start,
        and at a :meth:`jump`'s own step (the steps before it were not kept).
        """
        if self.view == 0 or self.view <= self.steps.floor:
            return None
        step = self.steps[self.view - 1]
        if step.instance is not None:
            self._show(step.instance, step.version_before)
        self.cursor = step.cursor_before
        self.view -= 1
        return step

    def run_to_end(self, max_steps: int | None = None) -> int:
        """Step until nothing is left to do; returns how many steps were taken."""
        taken = 0
        while max_steps is None or taken < max_steps:
            if self.step() is None:
                break
            taken += 1
        return taken

    def run_to(
        self,
        *,
        event_type: str | None = None,
        state: str | None = None,
        instance: str | None = None,
        max_steps: int | None = None,
    ) -> Step | None:
        """Step until a breakpoint: a trigger type, a state entered, or an instance touched.

        Returns the step that hit it, or ``None`` if the run ran out of steps first.
        """
        if event_type is None and state is None and instance is None:
            raise ProcessError(
                "name a breakpoint: run_to(event_type='TicketPurchase.Paid'), "
                "run_to(state='timed out') or run_to(instance=key)"
            )
        triggers = {t.on for t in self.declaration.transitions}
        if event_type is not None and not any(_same_trigger(event_type, t) for t in triggers):
            raise ProcessError(
                f"{event_type!r} never triggers {self.declaration.name}; "
                f"its triggers are {', '.join(sorted(triggers))}"
            )
        states = (*self.declaration.states, FAILED, ABANDONED)
        if state is not None and state not in states:
            raise ProcessError(f"{state!r} is not a state of {self.declaration.name} ({states})")
        taken = 0
        while max_steps is None or taken < max_steps:
            step = self.step()
            if step is None:
                return None
            taken += 1
            if event_type is not None and _same_trigger(event_type, step.trigger):
                return step
            if instance is not None and step.instance == instance:
                return step
            if state is not None and step.instance is not None:
                inst = self.instances.get(step.instance)
                if inst is not None and inst.shown_state == state and step.moves:
                    return step
                if inst is not None and state in (FAILED, ABANDONED) and inst.status == state:
                    return step
        return None

    def reset(self) -> None:
        """Back to before the first step (the recorded steps can be replayed forward).

        After a :meth:`jump` the steps before it were not kept: the run starts over
        (as ``jump(position=0)``), and stepping forward derives them again.
        """
        if self.steps.floor:
            self.jump(position=0)
            return
        if self.resumed_at:
            raise ProcessError(
                "this run resumed from its store at position "
                f"{self.resumed_at}; it can step back only over the steps taken since"
            )
        self.instances.clear()
        self._attention.clear()
        self.view = 0
        self.cursor = 0

    def jump(
        self, *, position: int | None = None, time: datetime | None = None, keep: int = 100
    ) -> Step | None:
        """Go to an upstream position or a business time without taking every step.

        The state is the one a run that stepped there has (instances, pending
        timeouts, step numbers, clock): ``position`` stops after the last event
        at or before it; ``time`` delivers the events up to it, fires what falls
        due and sets the clock there. Far moves derive the states in one pass
        over the upstream events (:mod:`workbench.processes.jump`) and take the
        last ``keep`` events as real steps, so stepping back works over those.
        Only a dry run (``handlers=None``) on an in-memory process store can
        jump: a jump never executes an action. Returns the step in view.
        """
        from workbench.processes.jump import jump

        return jump(self, position=position, time=time, keep=keep)

    def advance(
        self, delta: timedelta | None = None, *, minutes: float = 0, seconds: float = 0
    ) -> list[Step]:
        """Let time pass: whatever falls due meanwhile fires, each at its due time.

        A retry due in 1 minute fires at minute 1 (and may schedule the next one
        for minute 3, which fires too if still within the advance); upstream
        events are not delivered (use :meth:`step` for those).
        """
        self._require_head("advance the clock")
        if not isinstance(self.clock, ManualClock):
            raise ProcessError(
                f"the clock is a {type(self.clock).__name__}; only a ManualClock can be advanced"
            )
        step = (delta or timedelta()) + timedelta(minutes=minutes, seconds=seconds)
        if step < timedelta():
            raise ProcessError(f"time only moves forward: cannot advance by {step}")
        until = self.clock.now() + step
        fired: list[Step] = []
        with use_clock(self.clock):
            while True:
                wake = self._next_wakeup()
                if wake is None or wake[0] > until:
                    break
                if wake[0] > self.clock.now():
                    self.clock.set(wake[0])
                fired.append(self._fire(wake))
        self.clock.set(until)
        return fired

    def retry(self, key: str) -> Step:
        """Operator: try a parked instance's failing action once more, now."""
        self._require_head("retry")
        inst = self.instance(key)
        if inst.status != FAILED or inst.pending is None:
            raise ProcessError(
                f"instance {key} is not in the dead letter (its state is {inst.shown_state!r}); "
                f"parked instances: {[d['instance'] for d in self.dead_letters()] or 'none'}"
            )
        with use_clock(self.clock):
            return self._record(
                "operator", "retry", None, key, lambda n, i: self._operator_retry(n, i)
            )

    def abandon(self, key: str) -> Step:
        """Operator: give up on a parked instance (it ends as ``abandoned``)."""
        self._require_head("abandon")
        inst = self.instance(key)
        if inst.status != FAILED:
            raise ProcessError(
                f"only a parked (failed) instance can be abandoned; {key} is {inst.shown_state!r}"
            )
        with use_clock(self.clock):
            return self._record("operator", "abandon", None, key, self._operator_abandon)

    def replay(self, mode: Literal["safe", "naive"] = "safe") -> ProcessRun:
        """Rebuild the process from the upstream history, in a new run.

        ``"safe"`` re-derives every state and looks each action up in this run's
        ledger: nothing is executed again. ``"naive"`` executes every action
        again, like a process that forgot what it did: the hazard.
        """
        if mode not in ("safe", "naive"):
            raise ProcessError(f"replay mode is 'safe' or 'naive', not {mode!r}")
        first = self.upstream.first_timestamp()
        clock = ManualClock(first) if first else ManualClock(self._start_clock)
        again = ProcessRun(
            self.declaration,
            self.upstream.history,
            handlers=self.handlers,
            clock=clock,
            follow_event_time=True,
            mode=mode,
            ledger=self.ledger if mode == "safe" else None,
        )
        until = self.cursor
        while True:
            nxt = again.upstream.next_after(again.cursor, again._types)
            wake = again._next_wakeup()
            if (nxt is None or nxt.position > until) and (
                wake is None or wake[0] > again.clock.now()
            ):
                break
            if nxt is not None and nxt.position > until:
                again._fire_due()
                break
            if again.step() is None:
                break
        if isinstance(clock, ManualClock) and self.clock.now() > clock.now():
            clock.set(self.clock.now())
            again._fire_due()
        return again

    # Live steps -----------------------------------------------------------------

    def _require_head(self, what: str) -> None:
        if not self.at_head:
            raise ProcessError(
                f"cannot {what} while looking at step {self.view} of {len(self.steps)}: "
                "the past is read-only. Step forward (or run_to_end()) back to the head first"
            )

    def _follow_to(self, when: datetime) -> None:
        if (
            self.follow_event_time
            and isinstance(self.clock, ManualClock)
            and when > self.clock.now()
        ):
            self.clock.set(when)

    def _live_step(self) -> Step | None:
        nxt = self.upstream.next_after(self.cursor, self._types)
        wake = self._next_wakeup()
        now = self.clock.now()
        if wake is not None:
            # one thing at a time, in business-time order: a timeout due before the
            # next event fires first; without a next event, only once it is due
            due = wake[0]
            if nxt is None or nxt.timestamp is None:
                fire = due <= now
            else:
                fire = due <= nxt.timestamp and (due <= now or self.follow_event_time)
            if fire:
                self._follow_to(due)
                return self._fire(wake)
        if nxt is None:
            return None
        if nxt.timestamp is not None:
            self._follow_to(nxt.timestamp)
        return self._deliver(nxt)

    def _fire_due(self) -> list[Step]:
        fired: list[Step] = []
        with use_clock(self.clock):
            while True:
                wake = self._next_wakeup()
                if wake is None or wake[0] > self.clock.now():
                    return fired
                fired.append(self._fire(wake))

    def _next_wakeup(self) -> _Wakeup | None:
        heap = self._wakeups
        while heap:
            due, _seq, key, kind, name = heap[0]
            inst = self.instances.get(key)
            if inst is not None and inst.status != ABANDONED:
                # a timeout due while the instance is blocked fires, and is held
                if kind == "timeout" and inst.timeouts.get(name) == due:
                    return heap[0]
                if (
                    kind == "retry"
                    and inst.status == "active"
                    and inst.pending is not None
                    and inst.retry_at == due
                ):
                    return heap[0]
            heapq.heappop(heap)
        return None

    def _push(self, due: datetime, key: str, kind: str, name: str) -> None:
        heapq.heappush(self._wakeups, (due, next(self._seq), key, kind, name))

    def _deliver(self, event: UpstreamEvent) -> Step:
        key = self.declaration.correlate(event)
        skipped = max(0, event.position - self.cursor - 1)
        if key is None:
            step = Step(
                number=len(self.steps) + 1,
                kind="event",
                trigger=event.type,
                position=event.position,
                instance=None,
                outcome="ignored",
                clock_before=self.clock.now(),
                clock_after=self.clock.now(),
                cursor_before=self.cursor,
                cursor_after=event.position,
                skipped=skipped,
                event=event,
                note="not for any instance",
            )
            self.cursor = event.position
            self.steps.append(step)
            self.view += 1
            return step

        def act(number: int, inst: ProcessInstance) -> _Result:
            if inst.status == ABANDONED:
                inst.trigger_ignored(number, event.type, event.position, "instance abandoned")
                return _Result("ignored", note="instance abandoned")
            if inst.blocked:
                inst.trigger_held(number, event.type, event.position, None)
                return _Result("held", note="held until the failing action succeeds")
            result = self._handle(number, inst, event.type, event.position, event, event.timestamp)
            return self._then_release(number, inst, result)

        return self._record("event", event.type, event, str(key), act, skipped=skipped)

    def _fire(self, wake: _Wakeup) -> Step:
        heapq.heappop(self._wakeups)
        try:
            return self._fire_popped(wake)
        except BaseException:
            due, _seq, key, kind, name = wake
            self._push(due, key, kind, name)  # not fired after all: still due
            raise

    def _fire_popped(self, wake: _Wakeup) -> Step:
        due, _seq, key, kind, name = wake
        if kind == "timeout":
            trigger = timeout(name)

            def act(number: int, inst: ProcessInstance) -> _Result:
                if inst.blocked:
                    inst.trigger_held(number, trigger, None, due)
                    return _Result("held", note="held until the failing action succeeds")
                result = self._handle(number, inst, trigger, None, None, due)
                return self._then_release(number, inst, result)

            return self._record("timeout", trigger, None, key, act)

        def retry(number: int, inst: ProcessInstance) -> _Result:
            result = self._attempt(number, inst, dict(inst.pending or {}))
            return self._then_release(number, inst, result)

        return self._record("retry", f"retry {name}", None, key, retry)

    def _record(
        self,
        kind: str,
        trigger: str,
        event: UpstreamEvent | None,
        key: str,
        act: Callable[[int, ProcessInstance], _Result],
        skipped: int = 0,
    ) -> Step:
        number = len(self.steps) + 1
        clock_before = self.clock.now()
        cursor_before = self.cursor
        if key in self._unsure:
            self._reload_instance(key)
        inst = self.instances.get(key)
        if inst is None:
            inst = ProcessInstance(
                process=self.declaration.name, key=key, state=self.declaration.initial
            )
            version_before = 0
        else:
            version_before = inst.version
        marks = (len(self.anomalies), len(self.failures))
        self._ledger_step = {}
        putting = False
        interrupted: BaseException | None = None
        try:
            # the upstream event (or, for a timeout, the instance's last event) causes
            # what the step records and the commands its handlers run (workbench.tracing)
            with process_step_cause(self, inst, event):
                result = act(number, inst)
                new_events = inst.collect_events()
                putting = True
                # the instance's new events go straight to the event store, in one
                # transaction: nothing follows a process log, so the application's
                # notification machinery is skipped
                self.log.events.put(new_events)
        except BaseException as error:
            if not (putting and self._recorded(inst.id, inst.version)):
                self._undo_step(key, version_before, marks)
                raise
            interrupted = error  # recorded, though the store's reply was lost: the step stands
        self.ledger.update(self._ledger_step)
        self._ledger_step = {}
        self.instances[key] = inst
        self._refresh(key)
        if event is not None:
            self.cursor = event.position
        step = Step(
            number=number,
            kind=kind,
            trigger=trigger,
            position=event.position if event is not None else None,
            instance=key,
            outcome=result.outcome,
            moves=tuple(result.moves),
            emitted=tuple(result.emitted),
            scheduled=tuple(result.scheduled),
            error=result.error,
            clock_before=clock_before,
            clock_after=self.clock.now(),
            cursor_before=cursor_before,
            cursor_after=self.cursor,
            version_before=version_before,
            version_after=inst.version,
            skipped=skipped,
            event=event,
            note=result.note,
        )
        self.steps.append(step)
        self.view += 1
        if interrupted is not None:
            raise interrupted
        return step

    def _recorded(self, aggregate_id: Any, version: int) -> bool:
        """Whether the store holds the instance's events up to ``version``."""
        try:
            found = self.log.recorder.select_events(  # type: ignore[attr-defined]
                aggregate_id, gt=version - 1, lte=version, limit=1
            )
        except Exception:
            return False
        return bool(found)

    def _undo_step(self, key: str, version_before: int, marks: tuple[int, int]) -> None:
        """Forget a step that was not recorded: the run is as it was before it."""
        del self.anomalies[marks[0] :]
        del self.failures[marks[1] :]
        self._ledger_step = {}
        self.instances.pop(key, None)  # the step changed it in place
        if version_before:
            self._unsure.add(key)
            self._reload_instance(key)
        self._refresh(key)

    def _reload_instance(self, key: str) -> None:
        """The instance as the store holds it, with its wakeups."""
        aggregate_id = ProcessInstance.create_id(self.declaration.name, key)
        try:
            if not self.log.recorder.select_events(aggregate_id, limit=1):  # type: ignore[attr-defined]
                self._unsure.discard(key)
                return
            inst: ProcessInstance = self.log.repository.get(aggregate_id)
        except Exception:
            return  # the store cannot be read now: tried again at the instance's next step
        self._unsure.discard(key)
        self.instances[key] = inst
        for name, due in inst.timeouts.items():
            self._push(due, key, "timeout", name)
        if inst.pending is not None and inst.retry_at is not None:
            self._push(inst.retry_at, key, "retry", str(inst.pending["failed_action"]))
        self._refresh(key)

    def _handle(
        self,
        number: int,
        inst: ProcessInstance,
        trigger: str,
        position: int | None,
        event: UpstreamEvent | None,
        base: datetime | None,
    ) -> _Result:
        decl = self.declaration
        found = decl.transition_for(inst.state, trigger)
        if found is None:
            allowed = ", ".join(decl.allowed_from(inst.state)) or "nothing: it is a final state"
            reason = f"{trigger} is not allowed in state {inst.state!r} (allowed: {allowed})"
            inst.anomaly_recorded(number, trigger, position, inst.state, reason)
            self.anomalies.append(Anomaly(number, inst.key, trigger, position, inst.state, reason))
            return _Result("anomaly", note=reason)
        base = base or self.clock.now()
        scheduled = {name: base + decl.timeout(name).after for name in found.schedule}
        data: dict[str, Any] = {}
        if event is not None:
            data = {f: plain(event.data[f]) for f in decl.remember if f in event.data}
        if trigger.startswith(TIMEOUT_PREFIX):
            trigger_id = f"{trigger}@{base.isoformat()}"
        else:
            trigger_id = f"@{position}"
        transition = {
            "trigger": trigger,
            "position": position,
            "trigger_id": trigger_id,
            "source": found.source,
            "target": found.target,
            "actions": list(found.actions),
            "scheduled": scheduled,
            "cancelled": list(found.cancel),
            "data": data,
        }
        return self._attempt(number, inst, transition)

    def _attempt(self, number: int, inst: ProcessInstance, transition: dict[str, Any]) -> _Result:
        decl = self.declaration
        emitted: list[Emitted] = []
        position = transition.get("position")
        event = self.upstream.get(position) if position is not None else None
        for name in transition["actions"]:
            key = f"{inst.key}/{transition['trigger_id']}/{name}"
            if key in inst.done:
                continue
            done = self._execute(inst, name, key, transition, event)
            emitted.append(done)
            if done.outcome in (FAILED_OUTCOME, NOT_DONE, ABANDONED):
                attempt = inst.attempts + 1
                last = attempt >= decl.retry.attempts or self.mode == "safe"
                retry_at = None if last else self.clock.now() + decl.retry.delay(attempt)
                pending = {**transition, "failed_key": key, "failed_action": name}
                inst.action_failed(number, key, name, done.detail, attempt, retry_at, pending)
                self.failures.append(
                    Failure(number, inst.key, name, done.detail, attempt, retry_at, last)
                )
                if done.outcome == ABANDONED:
                    inst.parked(number, name, done.detail)
                    inst.abandoned(number, name, "operator (before the rebuild)")
                    return _Result("abandoned", emitted=emitted, error=done.detail)
                if last:
                    inst.parked(number, name, done.detail)
                    return _Result("parked", emitted=emitted, error=done.detail)
                assert retry_at is not None
                self._push(retry_at, inst.key, "retry", name)
                return _Result(
                    "failed",
                    emitted=emitted,
                    error=done.detail,
                    note=f"attempt {attempt} of {decl.retry.attempts}; retry at {retry_at:%H:%M}",
                )
            inst.action_done(number, key, name, done.outcome, done.detail)
            if self.mode != "safe":
                self._ledger_step[key] = done.outcome
        scheduled: dict[str, datetime] = dict(transition["scheduled"])
        inst.trigger_handled(
            number,
            transition["trigger"],
            position,
            transition["source"],
            transition["target"],
            list(transition["actions"]),
            scheduled,
            list(transition["cancelled"]),
            dict(transition["data"]),
        )
        for name, due in scheduled.items():
            self._push(due, inst.key, "timeout", name)
        move = Move(
            inst.key, transition["source"], transition["trigger"], transition["target"], position
        )
        return _Result(
            "transition", moves=[move], emitted=emitted, scheduled=list(scheduled.items())
        )

    def _execute(
        self,
        inst: ProcessInstance,
        name: str,
        key: str,
        transition: dict[str, Any],
        event: UpstreamEvent | None,
    ) -> Emitted:
        action = self.declaration.action(name)

        def emitted(outcome: str, detail: str = "") -> Emitted:
            return Emitted(name, action.kind, key, outcome, detail)

        if self.mode == "safe":
            before = self.ledger.get(key)
            if before == ABANDONED:
                return emitted(ABANDONED, "abandoned by an operator before the rebuild")
            if before is None:
                return emitted(
                    NOT_DONE,
                    "a rebuild never executes actions; retry it from the dead letter",
                )
            return emitted(ALREADY, f"{before} before the rebuild")
        if self.mode == "live" and key in self.ledger:
            return emitted(ALREADY, self.ledger[key])
        if self.mode == "live" and key in self._ledger_step:
            return emitted(ALREADY, self._ledger_step[key])
        if self.handlers is None:
            return emitted(DRY)
        handler = self.handlers[name]
        context = ActionContext(
            process=self.declaration.name,
            instance=inst.key,
            action=name,
            kind=action.kind,
            key=key,
            source=transition["source"],
            target=transition["target"],
            trigger=transition["trigger"],
            event=event,
            data={**inst.data, **transition["data"]},
            now=self.clock.now(),
            attempt=inst.attempts + 1,
        )
        try:
            result = handler(context)
        except Refused as e:
            done = emitted(REFUSED, str(e))
        except Exception as e:
            done = emitted(FAILED_OUTCOME, f"{type(e).__name__}: {e}")
        else:
            done = emitted(DONE, "" if result is None else str(result))
        self.sent.append(done)
        return done

    def _then_release(self, number: int, inst: ProcessInstance, result: _Result) -> _Result:
        """After a trigger is dealt with, process what was held behind it."""
        while inst.held and not inst.blocked:
            held = inst.held[0]
            trigger, position, due = held["trigger"], held["position"], held["due"]
            if inst.status == ABANDONED:
                inst.trigger_ignored(number, trigger, position, "instance abandoned")
                continue
            event = self.upstream.get(position) if position is not None else None
            base = event.timestamp if event is not None else due
            more = self._handle(number, inst, trigger, position, event, base)
            result = result.merge(more)
        return result

    def _operator_retry(self, number: int, inst: ProcessInstance) -> _Result:
        inst.retry_requested(number, "operator")
        result = self._attempt(number, inst, dict(inst.pending or {}))
        return self._then_release(number, inst, result)

    def _operator_abandon(self, number: int, inst: ProcessInstance) -> _Result:
        failed_key = str((inst.pending or {}).get("failed_key", ""))
        action = str((inst.pending or {}).get("failed_action", ""))
        inst.abandoned(number, action, "operator")
        if self.mode != "safe" and failed_key:
            self._ledger_step[failed_key] = ABANDONED
        result = _Result("abandoned", note=f"gave up on {action!r}")
        return self._then_release(number, inst, result)

    def _resume(self) -> None:
        """Pick up where a run on the same store stopped: instances, ledger, tracking.

        Everything comes from the process's own recorded events; the upstream
        cursor is the last upstream position those events mention.
        """
        ids: dict[Any, None] = {}
        recorder = self.log.recorder
        after = 0
        while True:
            rows = recorder.select_notifications(start=after + 1, limit=1000)  # type: ignore[attr-defined]
            if not rows:
                break
            for row in rows:
                ids[row.originator_id] = None
                after = row.id
        cursor = 0
        for aggregate_id in ids:
            inst: ProcessInstance = self.log.repository.get(aggregate_id)
            if inst.process != self.declaration.name:
                raise ProcessError(
                    f"the store holds instances of process {inst.process!r}, "
                    f"not {self.declaration.name!r}: give each process its own store"
                )
            self.instances[inst.key] = inst
            self._refresh(inst.key)
            for key, outcome in inst.done.items():
                self.ledger.setdefault(key, outcome)
            for name, due in inst.timeouts.items():
                self._push(due, inst.key, "timeout", name)
            if inst.pending is not None and inst.retry_at is not None:
                self._push(inst.retry_at, inst.key, "retry", str(inst.pending["failed_action"]))
            for e in self.log.repository.event_store.get(aggregate_id):
                position = getattr(e, "position", None)
                transition = getattr(e, "transition", None)
                if position is None and isinstance(transition, dict):
                    position = transition.get("position")  # a failed action's trigger
                if isinstance(position, int):
                    cursor = max(cursor, position)
        self.cursor = self.resumed_at = cursor

    # Viewing the past -------------------------------------------------------------

    def _redo(self) -> Step:
        step = self.steps[self.view]
        if step.instance is not None:
            self._show(step.instance, step.version_after)
        self.cursor = step.cursor_after
        self.view += 1
        return step

    def _show(self, key: str, version: int) -> None:
        if version == 0:
            self.instances.pop(key, None)
        else:
            aggregate_id = ProcessInstance.create_id(self.declaration.name, key)
            self.instances[key] = self.log.repository.get(aggregate_id, version=version)
        self._refresh(key)

    def _refresh(self, key: str) -> None:
        inst = self.instances.get(key)
        if inst is not None and inst.needs_attention:
            self._attention.add(key)
        else:
            self._attention.discard(key)

    # Showing itself -----------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"<ProcessRun {self.declaration.name} on {self.upstream.name}: "
            f"step {self.view} of {len(self.steps)}, position {self.cursor}, "
            f"{len(self.instances)} instance(s), {self.mode}>"
        )

    def _repr_html_(self) -> str:
        """The run as HTML (:func:`workbench.processes.view.run_html`, as the stepper shows it)."""
        return run_html(self)

    def _repr_mimebundle_(self, **_: Any) -> dict[str, str]:
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}


@dataclass
class _Result:
    outcome: str
    moves: list[Move] = field(default_factory=list)
    emitted: list[Emitted] = field(default_factory=list)
    scheduled: list[tuple[str, datetime]] = field(default_factory=list)
    error: str | None = None
    note: str = ""

    def merge(self, other: _Result) -> _Result:
        return _Result(
            outcome=other.outcome if other.outcome != "transition" else self.outcome,
            moves=self.moves + other.moves,
            emitted=self.emitted + other.emitted,
            scheduled=self.scheduled + other.scheduled,
            error=other.error or self.error,
            note="; ".join(n for n in (self.note, other.note) if n),
        )


def _same_trigger(asked: str, trigger: str) -> bool:
    return asked == trigger or trigger.endswith("." + asked)


def _check_handlers(
    declaration: ProcessDeclaration, handlers: Mapping[str, Handler] | None
) -> dict[str, Handler] | None:
    if handlers is None:
        return None
    declared = [a.name for a in declaration.actions]
    unknown = sorted(set(handlers) - set(declared))
    if unknown:
        raise ProcessError(
            f"handlers given for {unknown}, which {declaration.name} does not declare "
            f"(its actions: {declared})"
        )
    missing = [name for name in declared if name not in handlers]
    if missing:
        raise ProcessError(
            f"no handler for {missing}: bind every action of {declaration.name}, "
            "or pass handlers=None for a dry run that only records them"
        )
    for name, handler in handlers.items():
        if not callable(handler):
            raise ProcessError(f"the handler for {name!r} is not callable: {handler!r}")
    return dict(handlers)
