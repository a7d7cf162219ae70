"""Step a follower's real policy one upstream event at a time.

A :class:`PolicyStepper` takes the next event a follower would process from its
leader (one notification, read by position: a step never re-reads the leader's
log), decodes it with the follower's own mapper for that leader, and hands it to
the follower's real ``process_event`` — so its real ``policy`` runs, and what
the policy collected is recorded atomically with the new tracking position, as
eventsourcing records it. Each :class:`PolicyStep` says which event came in
(type, stream, position, payload), what the policy did (the events it recorded,
or the exception it raised) and the tracking position before and after.

Two places to step in, because eventsourcing cannot un-record a processed event:

* ``sandbox=True`` (the default): a copy of the follower, opened in memory
  (:func:`workbench.stores.open_app` with ``"memory"``), fed from the leader's
  recorded events from ``start`` on. The real follower and both stores are
  never touched. **Back** rebuilds the sandbox and processes steps 1 … N-1 again
  (the events are kept, so the leader is not read again; the policy runs N-1
  times in memory). The copy starts empty, so it holds only what its policy
  recorded, unless ``seed=`` prepares it: ``seed="own"`` copies in the events
  the real follower's own commands recorded (a policy that reads them, as a
  box office reading the conference it scheduled, then works as in the real
  follower), or ``seed=function`` does your own preparation.
* ``sandbox=False``: the real follower, while the run is paused
  (``run.pause()``). Steps are recorded in the follower's store and are
  **forward only**: ``back()`` says why it cannot.

A failing policy records nothing (the processing event is not recorded, the
tracking position does not move): the step shows the exception, and stepping
again tries the same event again.

>>> from workbench.systems import open_system
>>> from workbench.systems.examples import SYSTEM, Counter
>>> run = open_system(SYSTEM)
>>> _ = run.get(Counter).count(5)
>>> stepper = run.stepper("Doubler")
>>> step = stepper.step()
>>> step.event_type, step.payload["number"], [e.event_type for e in step.recorded]
('Tally.Counted', 5, ['Double.Made'])
>>> step.recorded[0].payload["value"], step.tracking_after
(10, 1)
>>> stepper.back().number, stepper.position
(1, 0)
>>> run.close()
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, Notification, Tracking
from eventsourcing.system import Follower

from workbench.reading.decoding import short_name
from workbench.stores import open_app
from workbench.tracing import TRACE_KEY, Cause, TracingMapper, follow_causes, trace_of

if TYPE_CHECKING:
    from workbench.systems.run import SystemRun

__all__ = ["PolicyStep", "PolicyStepper", "RecordedEvent", "Seed"]

ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic")
"""Attributes every event has; the payload is the rest."""


@dataclass(frozen=True)
class RecordedEvent:
    """One event, as a step shows it: where it is, what it is, what it says."""

    position: int
    """Its position in its application's notification log."""
    event_type: str
    """Aggregate class and event class, e.g. ``"Order.Placed"``."""
    stream: Any
    """The aggregate it happened to (its ``originator_id``)."""
    version: int
    """The aggregate's version after it."""
    payload: Mapping[str, Any] = field(default_factory=dict)
    """Its other attributes, decoded."""
    causation_id: str | None = None
    """What caused it (``"<stream>:<version>"`` of the upstream event, or a command's id),
    when it was recorded with tracing (:mod:`workbench.tracing`)."""

    @classmethod
    def of(cls, notification: Notification, event: DomainEventProtocol[Any]) -> RecordedEvent:
        cause = trace_of(event)
        return cls(
            position=int(notification.id),
            event_type=short_name(notification.topic),
            stream=event.originator_id,
            version=int(event.originator_version),
            payload=payload_of(event),
            causation_id=cause.causation_id if cause is not None else None,
        )


def payload_of(event: Any) -> dict[str, Any]:
    """An event's attributes other than its envelope (stream, version, timestamp)."""
    state = getattr(event, "__dict__", {})
    return {k: v for k, v in state.items() if k not in ENVELOPE and k != TRACE_KEY}


@dataclass(frozen=True)
class PolicyStep:
    """What happened when one upstream event met the follower's policy."""

    number: int
    """1 for the stepper's first step, and so on (a failed step keeps its number)."""
    leader: str
    follower: str
    incoming: RecordedEvent
    """The upstream event (its position is in the leader's log)."""
    recorded: tuple[RecordedEvent, ...]
    """The events the policy collected, as the follower recorded them."""
    error: str | None
    """``"ValueError: ..."`` when the policy raised (then nothing was recorded)."""
    tracking_before: int
    tracking_after: int
    """The follower's tracking position for the leader, before and after."""
    sandbox: bool
    """Whether the step ran in the sandbox copy (``False``: the real follower)."""
    seconds: float = 0.0
    """How long the step took (reading, decoding, policy, recording)."""
    exception: BaseException | None = field(default=None, compare=False, repr=False)
    """The exception itself, when the policy raised."""

    @property
    def event_type(self) -> str:
        return self.incoming.event_type

    @property
    def payload(self) -> Mapping[str, Any]:
        return self.incoming.payload

    @property
    def position(self) -> int:
        return self.incoming.position

    @property
    def ok(self) -> bool:
        return self.error is None

    def _repr_html_(self) -> str:
        return step_html(self)


Seed = Literal["own"] | Callable[[Any], object] | None
"""How a sandbox copy starts: empty (``None``), with the follower's own events, or by a function."""


def _by_policy(cause: Cause | None) -> bool:
    """Whether an event with this trace was recorded by a policy (caused by an upstream event)."""
    if cause is None:
        return False
    causation = cause.causation_id
    return "@" not in causation and causation.rpartition(":")[2].isdigit()


class PolicyStepper:
    """Step ``follower``'s real policy over ``leader``'s events (see the module docstring).

    Build one with :meth:`SystemRun.stepper`. ``leader`` may be left out when
    the follower follows one application. ``start`` (sandbox only) is the
    upstream position to start after.

    ``seed`` prepares each new sandbox copy (at the start, and again on Back):

    * ``None`` (default): an empty copy; it holds only what its policy records.
      A policy that reads state the follower's own commands made (a conference
      scheduled on a box office) fails there, and the step says so.
    * ``"own"``: the real follower's own events first — every event it recorded
      that its policy did not (told apart by their cause, :mod:`workbench.tracing`),
      all of them, whenever they were recorded. Close to the real follower's
      state, not exact: a command recorded after step N is already there at step 1.
    * a function ``seed(copy)``: your own preparation, e.g.
      ``lambda box_office: box_office.schedule_conference(...)``.
    """

    def __init__(
        self,
        run: SystemRun,
        follower: str,
        *,
        leader: str | None = None,
        sandbox: bool = True,
        start: int = 0,
        seed: Seed = None,
    ) -> None:
        from workbench.systems.run import SystemRunError

        self.run = run
        self.follower_name = follower
        self.real: Follower[Any] = run.follower(follower)
        leaders = run.system.follows[follower]
        if leader is None:
            if len(leaders) != 1:
                raise SystemRunError(
                    f"{follower} follows {len(leaders)} applications ({', '.join(leaders)}): "
                    "say which one to step with leader=..."
                )
            leader = leaders[0]
        elif leader not in leaders:
            raise SystemRunError(
                f"{follower} does not follow {leader!r}; it follows {', '.join(leaders)}"
            )
        self.leader_name = leader
        self.leader = run.app(leader)
        self.sandbox = sandbox
        self.start = 0 if not sandbox else int(start)
        if seed is not None and not callable(seed) and seed != "own":
            raise SystemRunError(
                f"seed={seed!r} is not understood: use seed='own' (the follower's own "
                "events), a function that takes the sandbox copy, or None (an empty copy)"
            )
        if seed is not None and not sandbox:
            raise SystemRunError("seed= prepares a sandbox copy: the real follower has its state")
        self.seed = seed
        """How a new sandbox copy is prepared before the first step (see the class docstring)."""
        self._own: list[DomainEventProtocol[Any]] | None = None
        self.mapper: Mapper[Any] = self.real.mappers[leader]
        """The follower's mapper for the leader's events (the leader's cipher, transcodings)."""
        self.steps: list[PolicyStep] = []
        """The steps taken and kept, oldest first (a failed step is not kept)."""
        self.last: PolicyStep | None = None
        """The latest step tried (it may have failed), or ``None``."""
        self._jobs: list[tuple[DomainEventProtocol[Any], Tracking]] = []
        self.copy: Follower[Any] | None = self._new_copy() if sandbox else None
        """The sandbox copy of the follower (``None`` when stepping the real one)."""

    @property
    def app(self) -> Follower[Any]:
        """The follower the steps go to: the sandbox copy, or the real one."""
        return self.copy if self.copy is not None else self.real

    @property
    def position(self) -> int:
        """The tracking position for the leader: the last upstream position processed."""
        if self.copy is None:
            return self.real.recorder.max_tracking_id(self.leader_name) or 0
        return int(self._jobs[-1][1].notification_id) if self._jobs else self.start

    def _new_copy(self) -> Follower[Any]:
        copy = open_app(type(self.real), "memory", env=self.run.env)
        follow_causes(copy)  # as the real follower: what it records is caused by the event in
        if self.seed == "own":
            own = self.own_events()
            if own:
                copy.save(*own)
        elif callable(self.seed):
            self.seed(copy)
        return copy

    def own_events(self) -> list[DomainEventProtocol[Any]]:
        """The real follower's events its policy did not record (read once, then kept).

        Those its own commands recorded: events without a cause, or caused by a
        command, as :mod:`workbench.tracing` recorded them (what its policy
        records is caused by the upstream event, ``"<stream>:<version>"``).
        """
        from workbench.systems.run import SystemRunError

        if self._own is not None:
            return self._own
        if not isinstance(self.real.mapper, TracingMapper):
            raise SystemRunError(
                f"seed='own' tells the {self.follower_name}'s own events from its policy's by "
                f"their cause, and {self.follower_name} records none (it has a mapper of its "
                f"own, {type(self.real.mapper).__name__}): pass seed=a function that prepares "
                "the sandbox copy instead"
            )
        own: list[DomainEventProtocol[Any]] = []
        start = 1
        while True:
            page = self.real.recorder.select_notifications(start=start, limit=1_000)
            for n in page:
                event = self.real.mapper.to_domain_event(n)
                if not _by_policy(trace_of(event)):
                    own.append(event)
            if len(page) < 1_000:
                break
            start = page[-1].id + 1
        self._own = own
        return own

    def _next(self) -> Notification | None:
        found = self.leader.recorder.select_notifications(
            start=self.position + 1, limit=1, topics=self.real.topics
        )
        return found[0] if found else None

    def peek(self) -> RecordedEvent | None:
        """The upstream event the next step will process, or ``None`` at the end."""
        notification = self._next()
        if notification is None:
            return None
        return RecordedEvent.of(notification, self.mapper.to_domain_event(notification))

    @property
    def at_end(self) -> bool:
        """Whether the leader has no event after the tracking position."""
        return self._next() is None

    def step(self) -> PolicyStep | None:
        """Process the next upstream event through the real policy; ``None`` at the end."""
        from workbench.systems.run import SystemRunError

        if self.copy is None and not self.run.paused:
            raise SystemRunError(
                f"stepping the real {self.follower_name} needs the system paused (the "
                "runner would process the same events): call run.pause() first, or step "
                "a sandbox copy (run.stepper(..., sandbox=True))"
            )
        began = time.perf_counter()
        notification = self._next()
        if notification is None:
            return None
        domain_event = self.mapper.to_domain_event(notification)
        tracking = Tracking(application_name=self.leader_name, notification_id=notification.id)
        app = self.app
        before = app.recorder.max_notification_id() or 0
        tracking_before = self.position
        error: BaseException | None = None
        try:
            app.process_event(domain_event, tracking)
        except Exception as e:
            error = e
        else:
            self._jobs.append((domain_event, tracking))
        recorded = tuple(
            RecordedEvent.of(n, app.mapper.to_domain_event(n))
            for n in app.recorder.select_notifications(start=before + 1, limit=10_000)
        )
        step = PolicyStep(
            number=len(self.steps) + 1,
            leader=self.leader_name,
            follower=self.follower_name,
            incoming=RecordedEvent.of(notification, domain_event),
            recorded=recorded,
            error=None if error is None else f"{type(error).__name__}: {error}",
            tracking_before=tracking_before,
            tracking_after=self.position,
            sandbox=self.copy is not None,
            seconds=time.perf_counter() - began,
            exception=error,
        )
        if error is None:
            self.steps.append(step)
        self.last = step
        return step

    def back(self) -> PolicyStep | None:
        """Undo the last step in the sandbox; returns the step undone (``None`` at the start).

        The sandbox is rebuilt and steps 1 … N-1 are processed again (the policy
        runs again for each, in memory). The real follower cannot go back.
        """
        from workbench.systems.run import SystemRunError

        if self.copy is None:
            raise SystemRunError(
                f"the real {self.follower_name} cannot step back: eventsourcing cannot "
                "un-record a processed event (its tracking position only moves forward). "
                "Step a sandbox copy to go back and forth: run.stepper(..., sandbox=True)"
            )
        if not self._jobs:
            return None
        undone = self.steps.pop()
        jobs = self._jobs[:-1]
        self._rebuild(jobs)
        self.last = self.steps[-1] if self.steps else None
        return undone

    def reset(self) -> None:
        """Back to the start (sandbox only): an empty copy, no steps."""
        self.back_to(0)

    def back_to(self, steps: int) -> None:
        """Keep the first ``steps`` steps and rebuild the sandbox to there."""
        if self.copy is None:
            self.back()  # raises, saying why
            return
        steps = max(0, min(steps, len(self._jobs)))
        del self.steps[steps:]
        self._rebuild(self._jobs[:steps])
        self.last = self.steps[-1] if self.steps else None

    def _rebuild(self, jobs: list[tuple[DomainEventProtocol[Any], Tracking]]) -> None:
        old = self.copy
        self.copy = self._new_copy()
        if old is not None:
            old.close()
        self._jobs = []
        for domain_event, tracking in jobs:
            self.copy.process_event(domain_event, tracking)
            self._jobs.append((domain_event, tracking))

    def run_to_end(self, max_steps: int = 10_000) -> int:
        """Step until the leader has no more, a policy fails, or ``max_steps``; returns steps."""
        taken = 0
        while taken < max_steps:
            step = self.step()
            if step is None or not step.ok:
                break
            taken += 1
        return taken

    def close(self) -> None:
        """Close the sandbox copy (the real follower is the run's)."""
        if self.copy is not None:
            self.copy.close()

    def __repr__(self) -> str:
        where = "sandbox copy of" if self.copy is not None else "real"
        return (
            f"<PolicyStepper {where} {self.follower_name} following {self.leader_name}: "
            f"{len(self.steps)} step(s), at position {self.position}>"
        )

    def _repr_html_(self) -> str:
        head = f"<p>{html.escape(repr(self))}</p>"
        return head + (step_html(self.last) if self.last is not None else "")


def _value(value: Any) -> str:
    text = str(value) if isinstance(value, UUID) else repr(value)
    return html.escape(text if len(text) <= 80 else text[:77] + "…")


def _event_html(event: RecordedEvent, where: str) -> str:
    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{_value(v)}</td></tr>"
        for k, v in event.payload.items()
    )
    cause = (
        f", caused by {html.escape(event.causation_id)}" if event.causation_id is not None else ""
    )
    return (
        f"<div class='wb-event'><b>{html.escape(event.event_type)}</b> at position "
        f"{event.position} of {html.escape(where)} (stream {html.escape(str(event.stream))}, "
        f"version {event.version}{cause})<table>{rows}</table></div>"
    )


def step_html(step: PolicyStep) -> str:
    """A step as HTML: the upstream event in, what the policy did out, the tracking."""
    incoming = _event_html(step.incoming, step.leader)
    if step.error is not None:
        out = (
            f"<p class='wb-step-error' style='color:#b00020'>the policy raised "
            f"{html.escape(step.error)}; nothing was recorded and the tracking position "
            "stayed where it was</p>"
        )
    elif step.recorded:
        out = "".join(_event_html(e, step.follower) for e in step.recorded)
    else:
        out = "<p>the policy recorded nothing for this event</p>"
    where = "sandbox copy" if step.sandbox else "real follower"
    return (
        f"<div class='wb-policy-step' role='group' aria-label='step {step.number}'>"
        f"<p><b>Step {step.number}</b> ({where} {html.escape(step.follower)}): tracking "
        f"position for {html.escape(step.leader)} {step.tracking_before} → "
        f"{step.tracking_after}</p>"
        f"<div style='display:flex;gap:2em'><div><h4>In</h4>{incoming}</div>"
        f"<div><h4>Out</h4>{out}</div></div></div>"
    )
