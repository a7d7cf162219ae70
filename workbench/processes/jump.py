"""Jumping a process run to a position or a time, without taking every step.

Reaching position 900,000 of a million-event history step by step means
900,000 steps, each recording its instance's events and keeping a
:class:`~workbench.processes.run.Step`: about 80 s and 2 GB. A dry run's
steps need none of that to know where they lead. A jump reads the upstream
events of the declaration's types in one streamed pass (the reader's column
batches, :func:`workbench.reading.loading.event_batches`) and *folds* them:
per instance, a small record (:class:`~workbench.processes.window.Folded`)
of what a run that stepped would hold — state, version, pending timeouts,
remembered data, the actions' ledger, anomalies — with the run's own wakeup
heap deciding, exactly as a step does, when each timeout fires between the
events. The clock follows the events and the fired timeouts as a step's does.

The last ``keep`` events are then taken as ordinary steps, so stepping back
works over them; the jump itself counts as the step before those (numbered as
the step it replaces: step numbers are those of a run that took every step).
An instance stays a record until something reads it (a step, its timeouts),
and is then made a :class:`~workbench.processes.ProcessInstance` and recorded
as an eventsourcing *snapshot* in the run's process log, so that stepping
back to its version works.

Why a fold and not a snapshot every N events: a snapshot can only be taken
by a run that has stepped there, so the first visit to a point still costs
every step (and a fresh notebook session starts with none); and each one
holds every instance (300,000 at a million events), so keeping one every N
events costs hundreds of MB each. The fold needs no earlier visit and holds
one record per instance, once.

Measured by ``benchmarks/process_step.py`` on the 1M-event history, jumping
to position 900,000 (555,000 purchase events, 599,222 steps, 277,478
instances) on a shared 2-core machine: 9.0 s against 487 s stepping there
in the same run (54x), and 24.6 s against 820 s (33x) in a run slowed by a
load of about 8; peak memory +309 MB and +338 MB (the child's ``ru_maxrss``
growth over the jump) against about 2 GB for the run that stepped. The
states, pending timeouts, step count, cursor and clock are the same (one
digest).

Limits, by design:

- only a *dry run* jumps (``handlers=None``, mode ``"live"``): a jump never
  executes an action, and a dry run has no failures, retries or parked
  instances, which keeps the fold small;
- only on an in-memory process store, with a
  :class:`~workbench.clock.ManualClock`: the jumped-over steps are not
  recorded, so a file store could not resume them; a jump back before the
  kept steps starts over with a new process log and a new clock (a
  ``ManualClock`` never goes back), then folds forward;
- an instance made from its record has its history from the jump on
  (:meth:`~workbench.processes.ProcessRun.history` starts at the snapshot).
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.utils import get_topic

from workbench.clock import ManualClock
from workbench.processes.declaration import TIMEOUT_PREFIX, timeout
from workbench.processes.log import ProcessInstance, ProcessLog, plain, process_log_class
from workbench.processes.upstream import _META, UpstreamEvent
from workbench.processes.window import Folded, Instances
from workbench.reading.decoding import short_name
from workbench.reading.loading import event_batches
from workbench.stores import open_app

if TYPE_CHECKING:
    from workbench.processes.run import ProcessRun, Step

__all__ = ["FAR", "jump"]

FAR = 2_000
"""Moving the view over more recorded steps than this starts over and folds instead."""

_BATCH = 20_000
_META_SET = frozenset(_META)


def jump(
    run: ProcessRun, *, position: int | None = None, time: datetime | None = None, keep: int = 100
) -> Step | None:
    """Move ``run`` to ``position`` or ``time`` (see :meth:`ProcessRun.jump`)."""
    _check(run, position, time, keep)
    if position is not None:
        _jump_to_position(run, position, keep)
    else:
        assert time is not None
        _jump_to_time(run, time, keep)
    return run.current


# Checks: everything is checked before anything changes --------------------------


def _check(run: ProcessRun, position: int | None, time: datetime | None, keep: int) -> None:
    from workbench.processes.run import ProcessError

    if (position is None) == (time is None):
        raise ProcessError(
            "jump to a position or to a time, not both: "
            "run.jump(position=900_000) or run.jump(time=datetime(2018, 3, 1, tzinfo=UTC))"
        )
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ProcessError(
            f"keep is how many steps to keep before the target: 0 or more, not {keep!r}"
        )
    name = run.declaration.name
    if run.handlers is not None or run.mode != "live":
        raise ProcessError(
            f"only a dry run can jump (handlers=None, mode 'live'): a jump would skip the "
            f"actions of every step it jumps over. Jump a dry run of {name} to look around, "
            "or step this one"
        )
    if not isinstance(run.clock, ManualClock):
        raise ProcessError(
            f"a jump moves the run's clock: it needs a ManualClock, not {type(run.clock).__name__}"
        )
    if not isinstance(run.log.recorder, POPOApplicationRecorder):
        raise ProcessError(
            "a jump does not record the steps it jumps over, so it needs an in-memory "
            "process store (store='memory', the default); this run records into "
            f"{type(run.log.recorder).__name__}"
        )
    if run.resumed_at:
        raise ProcessError(
            f"this run resumed from its store at position {run.resumed_at}: it cannot jump"
        )
    top = run.upstream.max_position()
    if position is not None:
        if isinstance(position, bool) or not isinstance(position, int):
            raise ProcessError(
                f"position is a whole number (an upstream position), not {position!r}"
            )
        if position < 0:
            raise ProcessError(
                f"position {position} is negative: positions start at 1 (0 is the start)"
            )
        if position > top:
            raise ProcessError(
                f"position {position:,} is past the end of {run.upstream.name}: "
                f"its last event is at position {top:,}"
            )
        return
    if not isinstance(time, datetime) or time.tzinfo is None:
        raise ProcessError(
            "time is a timezone-aware datetime, e.g. datetime(2018, 3, 1, tzinfo=UTC); "
            f"got {time!r}"
        )
    first = run.upstream.first_timestamp()
    if first is None:
        raise ProcessError(f"{run.upstream.name} has no event with a time to jump to")
    if time < first:
        raise ProcessError(
            f"{time.isoformat()} is before the history's first event ({first.isoformat()}): "
            "jump to that time or later"
        )
    if time < run._start_clock:
        raise ProcessError(
            f"{time.isoformat()} is before this run's clock started "
            f"({run._start_clock.isoformat()}): jump to that time or later"
        )


# Where to go -------------------------------------------------------------------------


def _head_cursor(run: ProcessRun) -> int:
    return run.steps[-1].cursor_after if len(run.steps) else run.cursor


def _jump_to_position(run: ProcessRun, position: int, keep: int) -> None:
    if position > _head_cursor(run):
        if len(run.steps) - run.view > FAR:
            _start_over(run)
        if _forward(run, position, None, keep):
            return
    target = _delivered_by(run, position)
    if target is None or abs(run.view - target) > FAR:
        _start_over(run)
        _forward(run, position, None, keep)
        return
    while run.view > target:
        run.back()
    while run.view < target:
        run.step()


def _delivered_by(run: ProcessRun, position: int) -> int | None:
    """The recorded step after which a run stepping to ``position`` stops (``None``: not kept)."""
    for step in reversed(run.steps[: len(run.steps)]):
        if step.kind == "jump" and step.cursor_after <= position:
            return step.number
        if step.kind == "event" and step.position is not None and step.position <= position:
            return step.number
    return None if run.steps.floor else 0


def _jump_to_time(run: ProcessRun, when: datetime, keep: int) -> None:
    if when < run.clock.now() or len(run.steps) - run.view > FAR:
        _start_over(run)
    _forward(run, None, when, keep)


def _start_over(run: ProcessRun) -> None:
    """The run as it was made: no steps, no instances, the clock at its start, a new log."""
    start = run._start_clock
    if run.clock.now() != start:
        run.clock = ManualClock(start)
    run.log = _fresh_log(run)
    run.steps.restart()
    run.view = 0
    run.cursor = 0
    run.instances = Instances()
    run.anomalies = []
    run.failures = []
    run.ledger = dict(run._given_ledger)
    run._attention = set()
    run._wakeups = []
    run._seq = itertools.count()
    run._unsure = set()


def _fresh_log(run: ProcessRun) -> ProcessLog:
    """An in-memory process log that keeps snapshots (a folded instance starts at one)."""
    return open_app(
        process_log_class(run.declaration.name), "memory", env={"IS_SNAPSHOTTING_ENABLED": "y"}
    )


def _forward(run: ProcessRun, position: int | None, when: datetime | None, keep: int) -> bool:
    """From the head: fold all but the last ``keep`` events up to the target, step those.

    Returns whether any upstream event was delivered.
    """
    while not run.at_head:
        run.step()
    upto = position if position is not None else run.upstream.max_position()
    held: deque[UpstreamEvent] = deque()
    fold: _Fold | None = None
    for event in _events(run, run.cursor, upto):
        if when is not None and event.timestamp is not None and event.timestamp > when:
            break
        held.append(event)
        if len(held) > keep:
            if fold is None:
                fold = _Fold(run)
            fold.deliver(held.popleft())
    if fold is not None:
        fold.commit()
    elif not held and when is None:
        return False  # nothing new up to the position (and nothing to ask the upstream log)
    types = run.declaration.event_types
    while True:
        nxt = run.upstream.next_after(run.cursor, types)
        if nxt is None:
            break
        if position is not None and nxt.position > position:
            break
        if when is not None and nxt.timestamp is not None and nxt.timestamp > when:
            break
        if run.step() is None:
            break
    if when is not None:
        run.advance(when - run.clock.now())
    return True


# Reading ---------------------------------------------------------------------------------


class _Payload(Mapping[str, Any]):
    """An event's attributes without its metadata, read from the batch when asked."""

    __slots__ = ("_row", "names")

    def __init__(self, row: Mapping[str, Any], names: frozenset[str]) -> None:
        self._row = row
        self.names = names
        """The fields of this event type in this batch (the same set for each of its events)."""

    def __getitem__(self, key: str) -> Any:
        if key in _META:
            raise KeyError(key)
        return self._row[key]

    def __iter__(self) -> Iterator[str]:
        return (key for key in self._row if key not in _META)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _events(run: ProcessRun, after: int, upto: int) -> Iterator[UpstreamEvent]:
    """The declaration's upstream events after ``after`` up to ``upto``, as a step sees them."""
    history = run.upstream.history
    topics = history.topics_for(sorted(run.declaration.event_types))
    if not topics or upto <= after:
        return
    names: dict[str, str] = {}
    for batch in event_batches(history, after, upto=upto, topics=topics, batch_size=_BATCH):
        fields: dict[str, frozenset[str]] = {}
        for position, stream_id, version, topic, payload, error in batch:
            name = names.get(topic)
            if name is None:
                name = names[topic] = short_name(topic)
            present = fields.get(topic)
            if present is None or error is not None:
                present = frozenset(payload) - _META_SET
                if error is None:
                    fields[topic] = present
            stamp = payload.get("timestamp")
            yield UpstreamEvent(
                position,
                name,
                stream_id,
                version,
                stamp if isinstance(stamp, datetime) else None,
                _Payload(payload, present),
            )


# The fold ----------------------------------------------------------------------------------


class _Fold:
    """A dry run's steps, folded into per-instance records (mirrors ``ProcessRun``'s steps)."""

    def __init__(self, run: ProcessRun) -> None:
        from workbench.processes.run import ALREADY, DRY, Anomaly

        self.already, self.dry = ALREADY, DRY
        self.run = run
        self.decl = run.declaration
        self.records = run.instances.fold_all()
        self.owned: set[str] = set()
        """Records this fold may change in place (the others are copied first)."""
        self.heap = list(run._wakeups)
        self.seq = next(run._seq)
        self.clock = self.start_clock = run.clock.now()
        self.follow = run.follow_event_time
        self.cursor = self.start_cursor = run.cursor
        self.number = self.start_number = len(run.steps)
        self.ledger = dict(run.ledger)
        self.anomalies: list[Anomaly] = []
        self._anomaly = Anomaly
        self.after = {item.name: item.after for item in self.decl.timeouts}
        self.remember = self.decl.remember

    # one step each ------------------------------------------------------------------

    def deliver(self, event: UpstreamEvent) -> None:
        stamp = event.timestamp
        heap = self.heap
        while heap:
            wake = self._next_wakeup()
            if wake is None:
                break
            due = wake[0]
            if stamp is None:
                fire = due <= self.clock
            else:
                fire = due <= stamp and (due <= self.clock or self.follow)
            if not fire:
                break
            self._follow(due)
            heapq.heappop(heap)
            self._fire(wake)
        if stamp is not None and self.follow and stamp > self.clock:
            self.clock = stamp
        key = self.decl.correlate(event)
        self.number += 1
        if key is not None:
            key = str(key)
            record = self._record(key)
            self._handle(record, key, event.type, event.position, event, stamp)
        self.cursor = event.position

    def _fire(self, wake: tuple[datetime, int, str, str, str]) -> None:
        due, _seq, key, _kind, name = wake
        self.number += 1
        self._handle(self._record(key), key, timeout(name), None, None, due)

    def _follow(self, when: datetime) -> None:
        if self.follow and when > self.clock:
            self.clock = when

    def _next_wakeup(self) -> tuple[datetime, int, str, str, str] | None:
        heap = self.heap
        while heap:
            due, _seq, key, kind, name = heap[0]
            record = self.records.get(key)
            if record is not None and kind == "timeout":
                timeouts = record.timeouts
                if timeouts is not None and timeouts.get(name) == due:
                    return heap[0]
            heapq.heappop(heap)
        return None

    def _record(self, key: str) -> Folded:
        record = self.records.get(key)
        if record is None:
            record = Folded(self.decl.initial, 1, self.clock)
        elif key in self.owned:
            return record
        else:
            record = record.copy()
        self.records[key] = record
        self.owned.add(key)
        return record

    def _handle(
        self,
        record: Folded,
        key: str,
        trigger: str,
        position: int | None,
        event: UpstreamEvent | None,
        base: datetime | None,
    ) -> None:
        decl = self.decl
        record.modified_on = self.clock
        found = decl.transition_for(record.state, trigger)
        is_timeout = trigger.startswith(TIMEOUT_PREFIX)
        if found is None:
            allowed = ", ".join(decl.allowed_from(record.state)) or "nothing: it is a final state"
            reason = f"{trigger} is not allowed in state {record.state!r} (allowed: {allowed})"
            record.anomalies += 1
            if is_timeout and record.timeouts:
                record.timeouts.pop(trigger[len(TIMEOUT_PREFIX) :], None)
                record.timeouts = record.timeouts or None
            record.version += 1
            self.anomalies.append(
                self._anomaly(self.number, key, trigger, position, record.state, reason)
            )
            return
        base = base or self.clock
        if found.actions:
            trigger_id = f"{trigger}@{base.isoformat()}" if is_timeout else f"@{position}"
            ledger = self.ledger
            for name in found.actions:
                action_key = f"{key}/{trigger_id}/{name}"
                if action_key in record.done[::2]:
                    continue
                outcome = self.already if action_key in ledger else self.dry
                record.done += (action_key, outcome)
                ledger[action_key] = outcome
                record.version += 1
        record.state = found.target
        timeouts = record.timeouts
        if timeouts:
            if is_timeout:
                timeouts.pop(trigger[len(TIMEOUT_PREFIX) :], None)
            for name in found.cancel:
                timeouts.pop(name, None)
        if event is not None and self.remember:
            data = event.data
            present = data.names if isinstance(data, _Payload) else data
            for field in self.remember:
                if field in present:
                    if record.data is None:
                        record.data = {}
                    record.data[field] = plain(data[field])
        record.version += 1
        for name in found.schedule:
            due = base + self.after[name]
            if timeouts is None:
                timeouts = {}
            timeouts[name] = due
            heapq.heappush(self.heap, (due, self.seq, key, "timeout", name))
            self.seq += 1
        record.timeouts = timeouts or None

    # the run takes the result --------------------------------------------------------------

    def commit(self) -> None:
        from workbench.processes.run import Step

        run = self.run
        log = _fresh_log(run)
        name = self.decl.name
        topic = get_topic(ProcessInstance)

        def thaw(key: str, record: Folded) -> ProcessInstance:
            snapshot = ProcessInstance.Snapshot(  # type: ignore[call-arg]
                originator_id=ProcessInstance.create_id(name, key),
                originator_version=record.version,
                timestamp=record.modified_on,
                topic=topic,
                state=record.snapshot_state(name, key),
            )
            inst: ProcessInstance = snapshot.mutate(None)  # type: ignore[assignment]
            assert log.snapshots is not None
            log.snapshots.put([snapshot])
            return inst

        first = self.start_number + 1
        anchor = Step(
            number=self.number,
            kind="jump",
            trigger="jump",
            position=None,
            instance=None,
            outcome="jumped",
            clock_before=self.start_clock,
            clock_after=self.clock,
            cursor_before=self.start_cursor,
            cursor_after=self.cursor,
            note=(
                f"steps {first:,} to {self.number:,} derived in one pass, not kept: "
                "stepping back stops here"
            ),
        )
        assert isinstance(run.clock, ManualClock)
        run.clock.set(self.clock)
        run.log = log
        run.instances = Instances(self.records, thaw)
        run.steps.restart(self.number - 1, anchor)
        run.view = self.number
        run.cursor = self.cursor
        run._wakeups = self.heap
        run._seq = itertools.count(self.seq)
        run.anomalies = [*run.anomalies, *self.anomalies]
        run.ledger = self.ledger
        run._attention = {key for key, record in self.records.items() if record.timeouts}
        run._unsure = set()
