"""Canteen cards, keeping their state in private attributes.

``CanteenCard`` stores everything in underscore attributes (``_balance``,
``_history``, ...) and shows it only through read-only properties, so the names a
reader sees (``balance``) differ from the names in the object's ``__dict__``
(``_balance``). Events are recorded by private ``@event`` methods behind public
methods that check the rules.
"""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding


class InsufficientCredit(Exception):
    """A card pays only what it holds."""


class CardBlocked(Exception):
    """A blocked card neither pays nor takes top-ups."""


class CanteenCard(Aggregate):
    @event("Issued")
    def __init__(
        self, holder: str, employee_no: int, issued_on: date, daily_limit: Decimal | None
    ) -> None:
        self._holder = holder
        self._employee_no = employee_no
        self._issued_on = issued_on
        self._daily_limit = daily_limit
        self._balance = Decimal("0.00")
        self._history: list[dict[str, Any]] = []
        self._blocked = False

    @property
    def holder(self) -> str:
        return self._holder

    @property
    def employee_no(self) -> int:
        return self._employee_no

    @property
    def daily_limit(self) -> Decimal | None:
        return self._daily_limit

    @property
    def balance(self) -> Decimal:
        return self._balance

    @property
    def history(self) -> list[dict[str, Any]]:
        return [dict(entry) for entry in self._history]

    @property
    def blocked(self) -> bool:
        return self._blocked

    def top_up(self, amount: Decimal, paid_with: str, at: datetime) -> None:
        self._check_usable()
        self._topped_up(amount=amount, paid_with=paid_with, at=at)

    @event("ToppedUp")
    def _topped_up(self, amount: Decimal, paid_with: str, at: datetime) -> None:
        self._balance += amount
        self._history.append({"what": f"top-up by {paid_with}", "amount": amount, "at": at})

    def pay(
        self, amount: Decimal, basket: list[dict[str, Any]], till_id: UUID, at: datetime
    ) -> None:
        self._check_usable()
        if amount > self._balance:
            raise InsufficientCredit(f"{self._holder} has {self._balance}, the bill is {amount}")
        self._paid(amount=amount, basket=basket, till_id=till_id, at=at)

    @event("Paid")
    def _paid(
        self, amount: Decimal, basket: list[dict[str, Any]], till_id: UUID, at: datetime
    ) -> None:
        self._balance -= amount
        what = ", ".join(item["item"] for item in basket)
        self._history.append({"what": what, "amount": -amount, "at": at})

    @event("Blocked")
    def block(self, reason: str, reported_lost: bool) -> None:
        self._blocked = True
        self._history.append({"what": f"blocked: {reason}", "amount": Decimal("0.00"), "at": None})

    def _check_usable(self) -> None:
        if self._blocked:
            raise CardBlocked(f"the card of {self._holder} is blocked")


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Canteen(Application):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def issue_card(
        self, holder: str, employee_no: int, issued_on: date, daily_limit: Decimal | None = None
    ) -> UUID:
        card = CanteenCard(holder, employee_no, issued_on, daily_limit)
        self.save(card)
        return card.id

    def top_up(self, card_id: UUID, amount: Decimal, paid_with: str, at: datetime) -> None:
        card: CanteenCard = self.repository.get(card_id)
        card.top_up(amount, paid_with, at)
        self.save(card)

    def pay(
        self,
        card_id: UUID,
        amount: Decimal,
        basket: list[dict[str, Any]],
        till_id: UUID,
        at: datetime,
    ) -> None:
        card: CanteenCard = self.repository.get(card_id)
        card.pay(amount, basket, till_id, at)
        self.save(card)

    def report_lost(self, card_id: UUID) -> None:
        card: CanteenCard = self.repository.get(card_id)
        card.block("lost", reported_lost=True)
        self.save(card)

    def balance(self, card_id: UUID) -> Decimal:
        card: CanteenCard = self.repository.get(card_id)
        return card.balance


LUNCH = datetime(2024, 1, 17, 12, 40, tzinfo=timezone(timedelta(hours=5, minutes=30)))
MORNING = datetime(2024, 1, 17, 3, 15, tzinfo=UTC)
TILL = UUID("e8f1a3c5-7b9d-4e2f-8a6c-0d4b2f9e7a07")


def scenario(app: Canteen) -> list[UUID]:
    priya = app.issue_card("Priya", 1042, date(2024, 1, 8), Decimal("15.00"))
    tom = app.issue_card("Tom", 77, date(2024, 1, 9))
    app.top_up(priya, Decimal("20.00"), "debit card", MORNING)
    app.pay(
        priya,
        Decimal("6.40"),
        [{"item": "soup", "price": Decimal("3.20"), "qty": 1}, {"item": "bread", "qty": 2}],
        TILL,
        LUNCH,
    )
    app.report_lost(tom)
    return [priya, tom]


def break_rule(app: Canteen, ids: list[UUID]) -> None:
    app.pay(ids[0], Decimal("50.00"), [{"item": "catering for 10", "qty": 1}], TILL, LUNCH)


def ask(app: Canteen, ids: list[UUID]) -> list[Decimal]:
    return [app.balance(card_id) for card_id in ids]


APP = Canteen

EXPECTED: dict[str, Any] = {
    "aggregate": "CanteenCard",
    "aggregates": ["CanteenCard", "CanteenCard"],
    "event_types": {
        "CanteenCard.Issued",
        "CanteenCard.ToppedUp",
        "CanteenCard.Paid",
        "CanteenCard.Blocked",
    },
    "events": 5,
    "final_state": {
        0: {
            "version": 3,
            "holder": "Priya",
            "employee_no": 1042,
            "daily_limit": Decimal("15.00"),
            "balance": Decimal("13.60"),
            "blocked": False,
            "history": [
                {"what": "top-up by debit card", "amount": Decimal("20.00"), "at": MORNING},
                {"what": "soup, bread", "amount": Decimal("-6.40"), "at": LUNCH},
            ],
        },
        1: {
            "version": 2,
            "holder": "Tom",
            "daily_limit": None,
            "balance": Decimal("0.00"),
            "blocked": True,
            "history": [{"what": "blocked: lost", "amount": Decimal("0.00"), "at": None}],
        },
    },
    "error": "InsufficientCredit",
    "query": [Decimal("13.60"), Decimal("0.00")],
}
