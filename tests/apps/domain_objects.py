"""Road trips, whose commands take domain objects.

A ``Trip`` is planned from a home ``Address`` and a ``Transport`` (an ``Enum``) and
later given a ``Route``: a frozen dataclass holding ``Leg`` value objects. The events
carry these objects as they are, so the application registers one ``Transcoding`` per
type: ``Address``, ``Leg`` and ``Route`` as dicts (a route's legs are transcoded one
by one inside it) and ``Transport`` by its member name.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding


class RouteNotConnected(Exception):
    """Each leg of a route starts where the one before it ends."""


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    postcode: str
    country: str


@dataclass(frozen=True)
class Leg:
    start: str
    end: str
    km: Decimal


@dataclass(frozen=True)
class Route:
    legs: tuple[Leg, ...]

    @property
    def km(self) -> Decimal:
        return sum((leg.km for leg in self.legs), Decimal("0"))

    def gaps(self) -> list[str]:
        return [
            f"{before.end} -> {after.start}"
            for before, after in zip(self.legs, self.legs[1:], strict=False)
            if before.end != after.start
        ]


class Transport(Enum):
    CAR = 1
    TRAIN = 2
    BICYCLE = 3


class Trip(Aggregate):
    @event("Planned")
    def __init__(
        self, title: str, home: Address, transport: Transport, starts_on: date, travellers: int
    ) -> None:
        self.title = title
        self.home = home
        self.transport = transport
        self.starts_on = starts_on
        self.travellers = travellers
        self.route: Route | None = None
        self.transport_changes: list[str] = []
        self.departed_at: datetime | None = None
        self.luggage: dict[str, Any] = {}

    def plan_route(self, route: Route) -> None:
        gaps = route.gaps()
        if gaps:
            raise RouteNotConnected(f"{self.title!r}: the route breaks at {', '.join(gaps)}")
        self._route_set(route=route)

    @event("RouteSet")
    def _route_set(self, route: Route) -> None:
        self.route = route

    @event("TransportChanged")
    def change_transport(self, transport: Transport, reason: str | None) -> None:
        self.transport_changes.append(f"{self.transport.name}->{transport.name}")
        self.transport = transport

    @event("Departed")
    def depart(self, at: datetime, ticket_id: UUID | None, luggage: dict[str, Any]) -> None:
        self.departed_at = at
        self.luggage = dict(luggage)


class AddressAsDict(Transcoding):
    type = Address
    name = "address"

    def encode(self, obj: Address) -> dict[str, str]:
        return {
            "street": obj.street,
            "city": obj.city,
            "postcode": obj.postcode,
            "country": obj.country,
        }

    def decode(self, data: dict[str, str]) -> Address:
        return Address(**data)


class LegAsDict(Transcoding):
    type = Leg
    name = "leg"

    def encode(self, obj: Leg) -> dict[str, Any]:
        return {"start": obj.start, "end": obj.end, "km": obj.km}

    def decode(self, data: dict[str, Any]) -> Leg:
        return Leg(start=data["start"], end=data["end"], km=data["km"])


class RouteAsDict(Transcoding):
    type = Route
    name = "route"

    def encode(self, obj: Route) -> dict[str, Any]:
        return {"legs": list(obj.legs)}

    def decode(self, data: dict[str, Any]) -> Route:
        return Route(legs=tuple(data["legs"]))


class TransportByName(Transcoding):
    type = Transport
    name = "transport"

    def encode(self, obj: Transport) -> str:
        return obj.name

    def decode(self, data: str) -> Transport:
        return Transport[data]


class DateAsText(Transcoding):
    type = date
    name = "date"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class TripPlanner(Application):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(AddressAsDict())
        transcoder.register(LegAsDict())
        transcoder.register(RouteAsDict())
        transcoder.register(TransportByName())
        transcoder.register(DateAsText())

    def plan_trip(
        self, title: str, home: Address, transport: Transport, starts_on: date, travellers: int
    ) -> UUID:
        trip = Trip(title, home, transport, starts_on, travellers)
        self.save(trip)
        return trip.id

    def plan_route(self, trip_id: UUID, route: Route) -> None:
        trip: Trip = self.repository.get(trip_id)
        trip.plan_route(route)
        self.save(trip)

    def change_transport(
        self, trip_id: UUID, transport: Transport, reason: str | None = None
    ) -> None:
        trip: Trip = self.repository.get(trip_id)
        trip.change_transport(transport, reason)
        self.save(trip)

    def depart(
        self, trip_id: UUID, at: datetime, luggage: dict[str, Any], ticket_id: UUID | None = None
    ) -> None:
        trip: Trip = self.repository.get(trip_id)
        trip.depart(at, ticket_id, luggage)
        self.save(trip)

    def distance(self, trip_id: UUID) -> Decimal:
        trip: Trip = self.repository.get(trip_id)
        return trip.route.km if trip.route else Decimal("0")


HOME = Address("12 Elm Row", "London", "N1 7AA", "GB")
ALPS = Route(
    legs=(
        Leg("London", "Paris", Decimal("460.5")),
        Leg("Paris", "Geneva", Decimal("541.2")),
    )
)
DEPARTED = datetime(2024, 7, 1, 7, 2, tzinfo=UTC)
TICKET = UUID("5c2e8a4f-1d7b-4f9a-b3e6-9a1c7e5d2b08")


def scenario(app: TripPlanner) -> list[UUID]:
    alps = app.plan_trip("Alps by train", HOME, Transport.TRAIN, date(2024, 7, 1), 2)
    coast = app.plan_trip("Coast ride", HOME, Transport.BICYCLE, date(2024, 8, 10), 1)
    app.plan_route(alps, ALPS)
    app.change_transport(coast, Transport.CAR)
    app.depart(alps, DEPARTED, {"bags": 2, "skis": True, "extras": ["boots", "map"]}, TICKET)
    return [alps, coast]


def break_rule(app: TripPlanner, ids: list[UUID]) -> None:
    broken = Route(
        legs=(Leg("London", "Brighton", Decimal("85")), Leg("Dover", "Calais", Decimal("42")))
    )
    app.plan_route(ids[1], broken)


def ask(app: TripPlanner, ids: list[UUID]) -> list[Decimal]:
    return [app.distance(trip_id) for trip_id in ids]


APP = TripPlanner

EXPECTED: dict[str, Any] = {
    "aggregate": "Trip",
    "aggregates": ["Trip", "Trip"],
    "event_types": {"Trip.Planned", "Trip.RouteSet", "Trip.TransportChanged", "Trip.Departed"},
    "events": 5,
    "final_state": {
        0: {
            "version": 3,
            "title": "Alps by train",
            "home": HOME,
            "transport": Transport.TRAIN,
            "starts_on": date(2024, 7, 1),
            "travellers": 2,
            "route": ALPS,
            "departed_at": DEPARTED,
            "luggage": {"bags": 2, "skis": True, "extras": ["boots", "map"]},
        },
        1: {
            "version": 2,
            "title": "Coast ride",
            "transport": Transport.CAR,
            "transport_changes": ["BICYCLE->CAR"],
            "route": None,
            "departed_at": None,
        },
    },
    "error": "RouteNotConnected",
    "query": [Decimal("1001.7"), Decimal("0")],
}
