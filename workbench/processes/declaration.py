"""A process manager declared as data: states, triggers, actions and timeouts.

The declaration says *what* the process does; :class:`~workbench.processes.ProcessRun`
runs it. Because it is plain data, the workbench can draw it, check it, and
tell whether a transition a run took is one the declaration allows.

>>> from datetime import timedelta
>>> decl = ProcessDeclaration(
...     name="Doorbell",
...     states=("idle", "ringing", "answered"),
...     initial="idle",
...     transitions=(
...         Transition("idle", "Door.BellPressed", "ringing", schedule=("give up",)),
...         Transition("ringing", "Door.Opened", "answered", cancel=("give up",)),
...         Transition("ringing", timeout("give up"), "idle"),
...     ),
...     timeouts=(Timeout("give up", timedelta(minutes=1)),),
... )
>>> decl.transition_for("idle", "Door.BellPressed").target
'ringing'
>>> decl.transition_for("answered", "Door.Opened") is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from workbench.processes.upstream import UpstreamEvent

__all__ = [
    "ABANDONED",
    "FAILED",
    "TIMEOUT_PREFIX",
    "Action",
    "DeclarationError",
    "ProcessDeclaration",
    "RetryPolicy",
    "Timeout",
    "Transition",
    "by_originator",
    "timeout",
]

TIMEOUT_PREFIX = "timeout:"
"""Triggers that start with this are timeouts, not upstream events."""

FAILED = "failed"
"""Where an instance is parked after its last failed attempt (the dead letter)."""

ABANDONED = "abandoned"
"""Where an instance ends when an operator gives up on it."""

ActionKind = Literal["command", "side effect"]


class DeclarationError(ValueError):
    """A process declaration is inconsistent; the message says what to fix."""


def timeout(name: str) -> str:
    """The trigger name of a timeout, for use in :class:`Transition`.

    >>> timeout("payment")
    'timeout:payment'
    """
    return f"{TIMEOUT_PREFIX}{name}"


def by_originator(event: UpstreamEvent) -> str:
    """The default correlation: one process instance per upstream aggregate."""
    return str(event.originator_id)


@dataclass(frozen=True)
class Action:
    """Something a transition makes happen.

    A *command* asks an application to do something (its aggregate may refuse);
    a *side effect* touches the outside world (an e-mail, a payment provider)
    and cannot be taken back, so it must never be repeated by a replay.
    """

    name: str
    """How transitions refer to it, e.g. ``"release tickets"``."""
    kind: ActionKind = "command"
    """``"command"`` or ``"side effect"``."""
    description: str = ""
    """One line for people, e.g. ``"Ticketing.time_out(purchase)"``."""


@dataclass(frozen=True)
class Timeout:
    """A named timeout: a transition schedules it, a later one may cancel it."""

    name: str
    """Referred to by ``Transition.schedule`` / ``cancel`` and ``timeout(name)``."""
    after: timedelta
    """How long after the triggering event (by its timestamp) it becomes due."""


@dataclass(frozen=True)
class Transition:
    """In state ``source``, trigger ``on`` moves the process to ``target``."""

    source: str
    """The state the transition leaves."""
    on: str
    """An upstream event type (``"TicketPurchase.Paid"``) or ``timeout("name")``."""
    target: str
    """The state the transition enters."""
    actions: tuple[str, ...] = ()
    """Names of the actions (commands, side effects) it emits, in order."""
    schedule: tuple[str, ...] = ()
    """Timeouts it starts (by name)."""
    cancel: tuple[str, ...] = ()
    """Timeouts it cancels (by name)."""
    note: str = ""
    """Why, in a few words (shown in the diagram's tooltips)."""

    @property
    def is_timeout(self) -> bool:
        return self.on.startswith(TIMEOUT_PREFIX)

    def label(self) -> str:
        """A short label: the trigger without the aggregate name."""
        if self.is_timeout:
            return "⏰ " + self.on[len(TIMEOUT_PREFIX) :]
        return self.on.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class RetryPolicy:
    """How failing actions are retried, in clock time.

    >>> policy = RetryPolicy(attempts=3, backoff=timedelta(minutes=1), factor=2)
    >>> [str(policy.delay(n)) for n in (1, 2)]
    ['0:01:00', '0:02:00']
    >>> policy.describe()
    '3 attempts, waiting 1 min, then 2 min; then parked as failed'
    """

    attempts: int = 3
    """Attempts in all (the first one included) before the instance is parked."""
    backoff: timedelta = timedelta(minutes=1)
    """Wait after the first failure."""
    factor: float = 2.0
    """Each further wait is this many times longer."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise DeclarationError(f"a retry policy needs at least 1 attempt (got {self.attempts})")
        if self.backoff < timedelta() or self.factor < 1:
            raise DeclarationError(
                "a retry policy needs a backoff >= 0 and a factor >= 1 "
                f"(got {self.backoff}, {self.factor})"
            )

    def delay(self, failed_attempt: int) -> timedelta:
        """The wait after failed attempt number ``failed_attempt`` (1-based)."""
        return self.backoff * (self.factor ** (failed_attempt - 1))

    def describe(self) -> str:
        waits = [_minutes(self.delay(n)) for n in range(1, self.attempts)]
        if not waits:
            return "1 attempt; then parked as failed"
        return f"{self.attempts} attempts, waiting {', then '.join(waits)}; then parked as failed"


def _minutes(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:g} min"


@dataclass(frozen=True)
class ProcessDeclaration:
    """A process manager as data. Checked when constructed.

    ``correlate`` maps an upstream event to the key of its process instance
    (``None`` to ignore the event); by default, one instance per aggregate.
    ``remember`` names event fields the instance keeps for its actions.
    """

    name: str
    """The process's name, e.g. ``"Purchase"``."""
    states: tuple[str, ...]
    """Every state the process can be in."""
    initial: str
    """The state of an instance before its first event."""
    transitions: tuple[Transition, ...]
    """What moves the process, and what each move emits."""
    actions: tuple[Action, ...] = ()
    """The actions transitions may emit."""
    timeouts: tuple[Timeout, ...] = ()
    """The timeouts transitions may schedule."""
    correlate: Callable[[UpstreamEvent], str | None] = field(default=by_originator, compare=False)
    """Upstream event → instance key (``None``: not for this process)."""
    remember: tuple[str, ...] = ()
    """Fields of handled events the instance keeps (available to actions)."""
    retry: RetryPolicy = RetryPolicy()
    """How failing actions are retried."""
    description: str = ""
    """One paragraph for people."""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise DeclarationError("a process declaration needs a name, e.g. name='Purchase'")
        object.__setattr__(self, "states", tuple(self.states))
        object.__setattr__(self, "transitions", tuple(self.transitions))
        object.__setattr__(self, "actions", tuple(self.actions))
        object.__setattr__(self, "timeouts", tuple(self.timeouts))
        object.__setattr__(self, "remember", tuple(self.remember))
        _check(self)
        index = {(t.source, t.on): t for t in self.transitions}
        object.__setattr__(self, "_index", index)

    # Questions a run (or a test) asks --------------------------------------

    def transition_for(self, state: str, trigger: str) -> Transition | None:
        """The transition ``trigger`` takes from ``state``, or ``None`` if not allowed."""
        index: dict[tuple[str, str], Transition] = self.__dict__["_index"]
        return index.get((state, trigger))

    def allows(self, source: str, trigger: str, target: str) -> bool:
        """Whether the declaration has this exact transition."""
        found = self.transition_for(source, trigger)
        return found is not None and found.target == target

    @property
    def event_types(self) -> frozenset[str]:
        """Upstream event types the process reacts to."""
        return frozenset(t.on for t in self.transitions if not t.is_timeout)

    @property
    def final_states(self) -> tuple[str, ...]:
        """States with no way out."""
        sources = {t.source for t in self.transitions}
        return tuple(s for s in self.states if s not in sources)

    def action(self, name: str) -> Action:
        for action in self.actions:
            if action.name == name:
                return action
        raise KeyError(name)

    def timeout(self, name: str) -> Timeout:
        for item in self.timeouts:
            if item.name == name:
                return item
        raise KeyError(name)

    def allowed_from(self, state: str) -> list[str]:
        """Triggers allowed in ``state``."""
        return [t.on for t in self.transitions if t.source == state]

    def to_dict(self) -> dict[str, Any]:
        """The declaration as plain data (what a diagram or a check needs)."""
        return {
            "name": self.name,
            "states": list(self.states),
            "initial": self.initial,
            "final": list(self.final_states),
            "transitions": [
                {
                    "source": t.source,
                    "on": t.on,
                    "target": t.target,
                    "actions": list(t.actions),
                    "schedule": list(t.schedule),
                    "cancel": list(t.cancel),
                }
                for t in self.transitions
            ],
            "actions": [{"name": a.name, "kind": a.kind} for a in self.actions],
            "timeouts": {t.name: t.after.total_seconds() for t in self.timeouts},
            "retry": self.retry.describe(),
        }

    def _repr_html_(self) -> str:
        from workbench.charts.statemachine import state_diagram

        return state_diagram(self).svg


def _names(items: Iterable[str]) -> str:
    return ", ".join(repr(i) for i in items) or "none"


def _check(decl: ProcessDeclaration) -> None:
    where = f"process {decl.name!r}"
    if not decl.states:
        raise DeclarationError(f"{where} declares no states: list them in states=(...)")
    if len(set(decl.states)) != len(decl.states):
        dupes = sorted({s for s in decl.states if decl.states.count(s) > 1})
        raise DeclarationError(f"{where} lists the state(s) {_names(dupes)} more than once")
    for reserved in (FAILED, ABANDONED):
        if reserved in decl.states:
            raise DeclarationError(
                f"{where}: the state name {reserved!r} is reserved for the dead letter; "
                "pick another name"
            )
    if decl.initial not in decl.states:
        raise DeclarationError(
            f"{where}: the initial state {decl.initial!r} is not one of its states "
            f"({_names(decl.states)})"
        )
    actions = [a.name for a in decl.actions]
    if len(set(actions)) != len(actions):
        raise DeclarationError(f"{where} declares an action name twice: {_names(actions)}")
    for a in decl.actions:
        if a.kind not in ("command", "side effect"):
            raise DeclarationError(
                f"{where}: action {a.name!r} has kind {a.kind!r}; use 'command' or 'side effect'"
            )
    timeouts = [t.name for t in decl.timeouts]
    if len(set(timeouts)) != len(timeouts):
        raise DeclarationError(f"{where} declares a timeout name twice: {_names(timeouts)}")
    for item in decl.timeouts:
        if item.after <= timedelta():
            raise DeclarationError(f"{where}: timeout {item.name!r} must last more than zero")
    seen: dict[tuple[str, str], Transition] = {}
    for t in decl.transitions:
        label = f"{where}, transition {t.source!r} --{t.on}--> {t.target!r}"
        for state in (t.source, t.target):
            if state not in decl.states:
                raise DeclarationError(
                    f"{label}: {state!r} is not a declared state ({_names(decl.states)})"
                )
        if not t.on.strip():
            raise DeclarationError(f"{label}: the trigger is empty; name an event type")
        if t.is_timeout and t.on[len(TIMEOUT_PREFIX) :] not in timeouts:
            raise DeclarationError(
                f"{label}: no timeout named {t.on[len(TIMEOUT_PREFIX) :]!r} is declared "
                f"(timeouts: {_names(timeouts)})"
            )
        if (t.source, t.on) in seen:
            raise DeclarationError(
                f"{label}: state {t.source!r} already has a transition on {t.on!r} "
                f"(to {seen[t.source, t.on].target!r}); a state machine takes one path"
            )
        seen[t.source, t.on] = t
        for name in t.actions:
            if name not in actions:
                raise DeclarationError(
                    f"{label}: action {name!r} is not declared (actions: {_names(actions)})"
                )
        for name in (*t.schedule, *t.cancel):
            if name not in timeouts:
                raise DeclarationError(
                    f"{label}: timeout {name!r} is not declared (timeouts: {_names(timeouts)})"
                )
