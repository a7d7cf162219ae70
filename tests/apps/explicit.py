"""Bank accounts, written with explicit event classes.

``Account`` declares one nested class per event. Each class lists its fields as
annotations and says how it changes an account in ``apply(self, account)``. Command
methods check the rules, then call ``self.trigger_event(EventClass, field=...)``.
``Opened`` subclasses ``Aggregate.Created`` and a class method passes it to ``_create``,
so the aggregate needs no ``__init__``.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Transcoding


class InsufficientFunds(Exception):
    """A withdrawal would take the balance below the overdraft limit."""


class AccountFrozen(Exception):
    """A frozen account takes no withdrawals."""


class Account(Aggregate):
    class Opened(Aggregate.Created):
        owner: str
        currency: str
        opened_on: date
        overdraft_limit: Decimal

        def apply(self, account: "Account") -> None:
            account.owner = self.owner
            account.currency = self.currency
            account.opened_on = self.opened_on
            account.overdraft_limit = self.overdraft_limit
            account.balance = Decimal("0.00")
            account.transactions = 0
            account.frozen = False
            account.freeze_details = None

    class Deposited(Aggregate.Event):
        amount: Decimal
        reference: UUID
        memo: str | None

        def apply(self, account: "Account") -> None:
            account.balance += self.amount
            account.transactions += 1

    class Withdrawn(Aggregate.Event):
        amount: Decimal
        payee: str

        def apply(self, account: "Account") -> None:
            account.balance -= self.amount
            account.transactions += 1

    class Frozen(Aggregate.Event):
        reason: str
        details: dict[str, Any]
        until: datetime | None
        notify_owner: bool

        def apply(self, account: "Account") -> None:
            account.frozen = True
            account.freeze_details = {"reason": self.reason, "until": self.until, **self.details}

    # The attributes are set by Opened.apply. They are not annotated on the class:
    # eventsourcing turns an aggregate class with annotations into a dataclass.

    @classmethod
    def open(
        cls, owner: str, currency: str, opened_on: date, overdraft_limit: Decimal
    ) -> "Account":
        return cls._create(
            cls.Opened,
            owner=owner,
            currency=currency,
            opened_on=opened_on,
            overdraft_limit=overdraft_limit,
        )

    def deposit(self, amount: Decimal, reference: UUID, memo: str | None = None) -> None:
        if amount <= 0:
            raise ValueError("deposit a positive amount")
        self.trigger_event(self.Deposited, amount=amount, reference=reference, memo=memo)

    def withdraw(self, amount: Decimal, payee: str) -> None:
        if self.frozen:
            raise AccountFrozen(f"account of {self.owner} is frozen")
        if self.balance - amount < -self.overdraft_limit:
            raise InsufficientFunds(
                f"{self.owner} has {self.balance} {self.currency}, "
                f"overdraft {self.overdraft_limit}: can't withdraw {amount}"
            )
        self.trigger_event(self.Withdrawn, amount=amount, payee=payee)

    def freeze(
        self,
        reason: str,
        details: dict[str, Any],
        until: datetime | None = None,
        notify_owner: bool = True,
    ) -> None:
        self.trigger_event(
            self.Frozen, reason=reason, details=details, until=until, notify_owner=notify_owner
        )


class DateAsISO(Transcoding):
    type = date
    name = "date"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Bank(Application):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def open_account(
        self, owner: str, currency: str, opened_on: date, overdraft_limit: Decimal
    ) -> UUID:
        account = Account.open(owner, currency, opened_on, overdraft_limit)
        self.save(account)
        return account.id

    def deposit(
        self, account_id: UUID, amount: Decimal, reference: UUID, memo: str | None = None
    ) -> None:
        account: Account = self.repository.get(account_id)
        account.deposit(amount, reference, memo)
        self.save(account)

    def withdraw(self, account_id: UUID, amount: Decimal, payee: str) -> None:
        account: Account = self.repository.get(account_id)
        account.withdraw(amount, payee)
        self.save(account)

    def freeze(
        self,
        account_id: UUID,
        reason: str,
        details: dict[str, Any],
        until: datetime | None = None,
        notify_owner: bool = True,
    ) -> None:
        account: Account = self.repository.get(account_id)
        account.freeze(reason, details, until, notify_owner)
        self.save(account)

    def balance(self, account_id: UUID) -> Decimal:
        account: Account = self.repository.get(account_id)
        return account.balance


def scenario(app: Bank) -> list[UUID]:
    ada = app.open_account("Ada", "EUR", date(2023, 11, 2), Decimal("100.00"))
    brian = app.open_account("Brian", "GBP", date(2024, 1, 15), Decimal("0.00"))
    app.deposit(ada, Decimal("250.00"), UUID("3c9a1f0e-7b2d-4f6a-8e5c-1d0b9a8f7e61"), "salary")
    app.withdraw(ada, Decimal("75.25"), "Grocer & Sons")
    app.deposit(brian, Decimal("10.00"), UUID("a4e2b7c9-1f3d-4a6b-9c8e-2f7d5b3a1e62"))
    app.freeze(
        brian,
        "unusual activity",
        {"flags": ["velocity", "new device"], "score": 87},
        until=datetime(2024, 2, 1, 9, 0, tzinfo=UTC),
    )
    return [ada, brian]


def break_rule(app: Bank, ids: list[UUID]) -> None:
    app.withdraw(ids[0], Decimal("1000.00"), "Car dealer")


def ask(app: Bank, ids: list[UUID]) -> list[Decimal]:
    return [app.balance(account_id) for account_id in ids]


EXPECTED: dict[str, Any] = {
    "aggregate": "Account",
    "aggregates": ["Account", "Account"],
    "event_types": {"Account.Opened", "Account.Deposited", "Account.Withdrawn", "Account.Frozen"},
    "events": 6,
    "final_state": {
        0: {
            "version": 3,
            "owner": "Ada",
            "currency": "EUR",
            "opened_on": date(2023, 11, 2),
            "overdraft_limit": Decimal("100.00"),
            "balance": Decimal("174.75"),
            "transactions": 2,
            "frozen": False,
            "freeze_details": None,
        },
        1: {
            "version": 3,
            "owner": "Brian",
            "balance": Decimal("10.00"),
            "transactions": 1,
            "frozen": True,
            "freeze_details": {
                "reason": "unusual activity",
                "until": datetime(2024, 2, 1, 9, 0, tzinfo=UTC),
                "flags": ["velocity", "new device"],
                "score": 87,
            },
        },
    },
    "error": "InsufficientFunds",
    "query": [Decimal("174.75"), Decimal("10.00")],
}


APP = Bank
