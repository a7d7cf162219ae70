"""Parcels, with a nested ``Created`` class that holds the fields of a new parcel.

``Parcel`` declares ``class Created(Aggregate.Created)`` with the fields a parcel is
sent with. Its plain (undecorated) ``__init__`` takes the same names and runs whenever
a parcel is created or rebuilt. Later changes use ``@event`` methods; one of them is
private and guarded by a public method that checks the rule first.
"""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding


class ParcelAlreadyDelivered(Exception):
    """A delivered parcel is not scanned or delivered again."""


class Parcel(Aggregate):
    class Created(Aggregate.Created):
        tracking_code: str
        sender: str
        recipient: str
        weight_grams: int
        declared_value: Decimal
        fragile: bool
        ship_by: date
        dimensions_cm: dict[str, int]
        contents: list[str]
        insurance_id: UUID | None

    def __init__(
        self,
        tracking_code: str,
        sender: str,
        recipient: str,
        weight_grams: int,
        declared_value: Decimal,
        fragile: bool,
        ship_by: date,
        dimensions_cm: dict[str, int],
        contents: list[str],
        insurance_id: UUID | None,
    ) -> None:
        self.tracking_code = tracking_code
        self.sender = sender
        self.recipient = recipient
        self.weight_grams = weight_grams
        self.declared_value = declared_value
        self.fragile = fragile
        self.ship_by = ship_by
        self.dimensions_cm = dict(dimensions_cm)
        self.contents = list(contents)
        self.insurance_id = insurance_id
        self.scans: list[str] = []
        self.delivered_at: datetime | None = None
        self.signed_by: str | None = None

    def scan(self, depot: str, at: datetime, note: str | None = None) -> None:
        self._check_not_delivered()
        self._scanned(depot=depot, at=at, note=note)

    @event("Scanned")
    def _scanned(self, depot: str, at: datetime, note: str | None) -> None:
        self.scans.append(depot)

    def deliver(self, at: datetime, signed_by: str | None) -> None:
        self._check_not_delivered()
        self._delivered(at=at, signed_by=signed_by)

    @event("Delivered")
    def _delivered(self, at: datetime, signed_by: str | None) -> None:
        self.delivered_at = at
        self.signed_by = signed_by

    def _check_not_delivered(self) -> None:
        if self.delivered_at is not None:
            raise ParcelAlreadyDelivered(
                f"{self.tracking_code} was delivered at {self.delivered_at.isoformat()}"
            )


class DateAsISO(Transcoding):
    type = date
    name = "iso_date"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Courier(Application):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def send(
        self,
        tracking_code: str,
        sender: str,
        recipient: str,
        weight_grams: int,
        declared_value: Decimal,
        fragile: bool,
        ship_by: date,
        dimensions_cm: dict[str, int],
        contents: list[str],
        insurance_id: UUID | None = None,
    ) -> UUID:
        parcel = Parcel(
            tracking_code=tracking_code,
            sender=sender,
            recipient=recipient,
            weight_grams=weight_grams,
            declared_value=declared_value,
            fragile=fragile,
            ship_by=ship_by,
            dimensions_cm=dimensions_cm,
            contents=contents,
            insurance_id=insurance_id,
        )
        self.save(parcel)
        return parcel.id

    def scan(self, parcel_id: UUID, depot: str, at: datetime, note: str | None = None) -> None:
        parcel: Parcel = self.repository.get(parcel_id)
        parcel.scan(depot, at, note)
        self.save(parcel)

    def deliver(self, parcel_id: UUID, at: datetime, signed_by: str | None = None) -> None:
        parcel: Parcel = self.repository.get(parcel_id)
        parcel.deliver(at, signed_by)
        self.save(parcel)

    def whereabouts(self, parcel_id: UUID) -> str:
        parcel: Parcel = self.repository.get(parcel_id)
        if parcel.delivered_at is not None:
            return f"delivered to {parcel.recipient}"
        if parcel.scans:
            return f"at {parcel.scans[-1]}"
        return "not yet collected"


INSURANCE = UUID("d2a7c4e9-5b1f-4e3a-9c6d-8b0f2a4e6c04")
CET = timezone(timedelta(hours=1))


def scenario(app: Courier) -> list[UUID]:
    vase = app.send(
        "PK-0001",
        "Ceramics Ltd",
        "M. Rossi",
        2350,
        Decimal("120.00"),
        True,
        date(2024, 2, 20),
        {"length": 40, "width": 30, "height": 30},
        ["vase", "bubble wrap"],
        insurance_id=INSURANCE,
    )
    socks = app.send(
        "PK-0002", "Knit Co", "J. Smith", 180, Decimal("12.99"), False, date(2024, 2, 22), {}, []
    )
    app.scan(vase, "Leeds hub", datetime(2024, 2, 19, 7, 45, tzinfo=UTC))
    app.scan(vase, "Milan depot", datetime(2024, 2, 20, 9, 10, tzinfo=CET), note="handle with care")
    app.deliver(vase, datetime(2024, 2, 20, 16, 5, tzinfo=CET), signed_by="M. Rossi")
    app.scan(socks, "Leeds hub", datetime(2024, 2, 21, 8, 0, tzinfo=UTC))
    return [vase, socks]


def break_rule(app: Courier, ids: list[UUID]) -> None:
    app.scan(ids[0], "Returns desk", datetime(2024, 2, 21, 9, 0, tzinfo=UTC))


def ask(app: Courier, ids: list[UUID]) -> list[str]:
    return [app.whereabouts(parcel_id) for parcel_id in ids]


APP = Courier

EXPECTED: dict[str, Any] = {
    "aggregate": "Parcel",
    "aggregates": ["Parcel", "Parcel"],
    "event_types": {"Parcel.Created", "Parcel.Scanned", "Parcel.Delivered"},
    "events": 6,
    "final_state": {
        0: {
            "version": 4,
            "tracking_code": "PK-0001",
            "weight_grams": 2350,
            "declared_value": Decimal("120.00"),
            "fragile": True,
            "ship_by": date(2024, 2, 20),
            "dimensions_cm": {"length": 40, "width": 30, "height": 30},
            "contents": ["vase", "bubble wrap"],
            "insurance_id": INSURANCE,
            "scans": ["Leeds hub", "Milan depot"],
            "delivered_at": datetime(2024, 2, 20, 16, 5, tzinfo=CET),
            "signed_by": "M. Rossi",
        },
        1: {
            "version": 2,
            "tracking_code": "PK-0002",
            "fragile": False,
            "insurance_id": None,
            "dimensions_cm": {},
            "contents": [],
            "scans": ["Leeds hub"],
            "delivered_at": None,
        },
    },
    "error": "ParcelAlreadyDelivered",
    "query": ["delivered to M. Rossi", "at Leeds hub"],
}
