"""Dogs and their tricks, written functionally: immutable state, no ``Aggregate``.

A ``Dog`` is a frozen dataclass that is never changed in place. Events are
``DomainEvent`` subclasses (eventsourcing makes each one a frozen dataclass with
``originator_id``, ``originator_version`` and ``timestamp``). Decisions are plain
functions that take the current ``Dog`` and return the next event (numbering it
themselves), and ``project(dog, events)`` folds events into a new ``Dog``.

The application saves the events themselves with ``self.save(event)`` and reads a dog
with ``self.repository.get(dog_id, projector_func=project)``: the repository's default
projector calls ``event.mutate(...)``, which these events don't have.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import singledispatch
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import JSONTranscoder, Transcoding


class TrickAlreadyKnown(Exception):
    """A dog learns each trick once."""


@dataclass(frozen=True)
class Dog:
    id: UUID
    version: int
    registered_at: datetime
    name: str
    breed: str
    born: date
    chip_id: UUID | None
    tricks: tuple[str, ...] = ()
    treats_used: Decimal = Decimal("0")
    shows: tuple[dict[str, Any], ...] = ()


class DogRegistered(DomainEvent):
    name: str
    breed: str
    born: date
    chip_id: UUID | None


class TrickLearned(DomainEvent):
    trick: str
    sessions: int
    treats_used: Decimal
    reliable: bool


class ShowEntered(DomainEvent):
    show: str
    starts_at: datetime
    entry: dict[str, Any]


# Decisions: current state in, new event out.


def register(name: str, breed: str, born: date, chip_id: UUID | None = None) -> DogRegistered:
    return DogRegistered(
        originator_id=uuid4(),
        originator_version=1,
        timestamp=DogRegistered.create_timestamp(),
        name=name,
        breed=breed,
        born=born,
        chip_id=chip_id,
    )


def learn(
    dog: Dog, trick: str, sessions: int, treats_used: Decimal, reliable: bool
) -> TrickLearned:
    if trick in dog.tricks:
        raise TrickAlreadyKnown(f"{dog.name} already knows {trick!r}")
    return TrickLearned(
        originator_id=dog.id,
        originator_version=dog.version + 1,
        timestamp=TrickLearned.create_timestamp(),
        trick=trick,
        sessions=sessions,
        treats_used=treats_used,
        reliable=reliable,
    )


def enter_show(dog: Dog, show: str, starts_at: datetime, entry: dict[str, Any]) -> ShowEntered:
    return ShowEntered(
        originator_id=dog.id,
        originator_version=dog.version + 1,
        timestamp=ShowEntered.create_timestamp(),
        show=show,
        starts_at=starts_at,
        entry=entry,
    )


# Evolution: state and event in, new state out.


@singledispatch
def evolve(event: DomainEvent, dog: Dog | None) -> Dog:
    raise TypeError(f"a dog can't follow {type(event).__qualname__}")


@evolve.register
def _(event: DogRegistered, dog: Dog | None) -> Dog:
    return Dog(
        id=event.originator_id,
        version=event.originator_version,
        registered_at=event.timestamp,
        name=event.name,
        breed=event.breed,
        born=event.born,
        chip_id=event.chip_id,
    )


@evolve.register
def _(event: TrickLearned, dog: Dog | None) -> Dog:
    assert dog is not None
    return replace(
        dog,
        version=event.originator_version,
        tricks=(*dog.tricks, event.trick),
        treats_used=dog.treats_used + event.treats_used,
    )


@evolve.register
def _(event: ShowEntered, dog: Dog | None) -> Dog:
    assert dog is not None
    show = {"show": event.show, "starts_at": event.starts_at, **event.entry}
    return replace(dog, version=event.originator_version, shows=(*dog.shows, show))


def project(dog: Dog | None, events: Iterable[DomainEvent]) -> Dog | None:
    for each in events:
        dog = evolve(each, dog)
    return dog


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Kennel(Application):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def register_dog(self, name: str, breed: str, born: date, chip_id: UUID | None = None) -> UUID:
        registered = register(name, breed, born, chip_id)
        self.save(registered)
        return registered.originator_id

    def teach(
        self, dog_id: UUID, trick: str, sessions: int, treats_used: Decimal, reliable: bool
    ) -> None:
        self.save(learn(self.dog(dog_id), trick, sessions, treats_used, reliable))

    def enter_show(
        self, dog_id: UUID, show: str, starts_at: datetime, entry: dict[str, Any]
    ) -> None:
        self.save(enter_show(self.dog(dog_id), show, starts_at, entry))

    def dog(self, dog_id: UUID, version: int | None = None) -> Dog:
        return self.repository.get(dog_id, version=version, projector_func=project)

    def tricks(self, dog_id: UUID) -> list[str]:
        return list(self.dog(dog_id).tricks)


CHIP = UUID("4b8d0f2c-6e1a-4c3b-9f5d-2a7e9c1b3d06")
SHOW_TIME = datetime(2024, 3, 9, 8, 30, tzinfo=UTC)


def scenario(app: Kennel) -> list[UUID]:
    rex = app.register_dog("Rex", "border collie", date(2021, 6, 14), CHIP)
    bella = app.register_dog("Bella", "beagle", date(2022, 1, 3))
    app.teach(rex, "sit", 3, Decimal("1.20"), True)
    app.teach(rex, "roll over", 12, Decimal("4.75"), False)
    app.teach(bella, "paw", 5, Decimal("2.00"), True)
    app.enter_show(
        rex, "Crufts", SHOW_TIME, {"class": "agility", "number": 42, "handlers": ["Sam"]}
    )
    return [rex, bella]


def break_rule(app: Kennel, ids: list[UUID]) -> None:
    app.teach(ids[0], "sit", 1, Decimal("0.10"), True)


def ask(app: Kennel, ids: list[UUID]) -> list[list[str]]:
    return [app.tricks(dog_id) for dog_id in ids]


def load(app: Kennel, dog_id: UUID, version: int | None = None) -> Dog:
    return app.dog(dog_id, version)


APP = Kennel

EXPECTED: dict[str, Any] = {
    "aggregate": "Dog",
    "aggregates": ["Dog", "Dog"],
    "event_types": {"DogRegistered", "TrickLearned", "ShowEntered"},
    "events": 6,
    "final_state": {
        0: {
            "version": 4,
            "name": "Rex",
            "breed": "border collie",
            "born": date(2021, 6, 14),
            "chip_id": CHIP,
            "tricks": ("sit", "roll over"),
            "treats_used": Decimal("5.95"),
            "shows": (
                {
                    "show": "Crufts",
                    "starts_at": SHOW_TIME,
                    "class": "agility",
                    "number": 42,
                    "handlers": ["Sam"],
                },
            ),
        },
        1: {
            "version": 2,
            "name": "Bella",
            "chip_id": None,
            "tricks": ("paw",),
            "treats_used": Decimal("2.00"),
            "shows": (),
        },
    },
    "error": "TrickAlreadyKnown",
    "query": [["sit", "roll over"], ["paw"]],
}
