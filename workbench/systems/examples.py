"""A two-application system small enough for docstrings: a counter and a follower that doubles.

``Counter`` records ``Tally.Counted`` events; ``Doubler`` is a
``ProcessApplication`` whose policy records a ``Double.Made`` for each one it
hears about (and refuses a negative number, to show a failing policy).

>>> from eventsourcing.system import SingleThreadedRunner
>>> with SingleThreadedRunner(SYSTEM, env={"PERSISTENCE_MODULE": "eventsourcing.popo"}) as r:
...     _ = r.get(Counter).count(21)
...     r.get(Doubler).recorder.max_notification_id()
1
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol, event
from eventsourcing.system import ProcessApplication, System

__all__ = ["SYSTEM", "Counter", "Double", "Doubler", "Tally"]


class Tally(Aggregate):
    @event("Counted")
    def __init__(self, number: int) -> None:
        self.number = number


class Double(Aggregate):
    @event("Made")
    def __init__(self, of: UUID, value: int) -> None:
        self.of = of
        self.value = value


class Counter(Application[UUID]):
    def count(self, number: int) -> UUID:
        tally = Tally(number)
        self.save(tally)
        return tally.id


class Doubler(ProcessApplication[UUID]):
    @singledispatchmethod
    def policy(
        self, domain_event: DomainEventProtocol[UUID], processing_event: ProcessingEvent[UUID]
    ) -> None:
        """Nothing to do for other events."""

    @policy.register(Tally.Counted)  # type: ignore[attr-defined]
    def _(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        if domain_event.number < 0:
            raise ValueError(f"cannot double a negative number ({domain_event.number})")
        processing_event.collect_events(
            Double(of=domain_event.originator_id, value=2 * domain_event.number)
        )


SYSTEM = System(pipes=[[Counter, Doubler]])
