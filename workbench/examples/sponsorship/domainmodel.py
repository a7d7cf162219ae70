"""The sponsorship domain model: a sponsor's contract and invoices."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal
from uuid import UUID, uuid5

from eventsourcing.domain import event

from workbench.examples.ticketing.domainmodel import ID_NAMESPACE, ClockedAggregate

Level = Literal["Gold", "Silver", "Bronze"]
LEVELS: dict[str, Decimal] = {
    "Gold": Decimal("10000.00"),
    "Silver": Decimal("5000.00"),
    "Bronze": Decimal("2000.00"),
}
"""Contract value per sponsorship level."""

FREE_TICKETS: dict[str, int] = {"Gold": 5, "Silver": 3, "Bronze": 1}
"""Free tickets a sponsor gets once signed and settled."""


class SponsorshipError(Exception):
    """A command broke a sponsorship rule."""


class Sponsor(ClockedAggregate):
    """A company sponsoring one conference."""

    @staticmethod
    def create_id(company: str, conference_code: str, **_: object) -> UUID:
        return uuid5(ID_NAMESPACE, f"sponsor/{conference_code}/{company}")

    @event("Registered")
    def __init__(self, company: str, conference_code: str, contact: str) -> None:
        self.company = company
        self.conference_code = conference_code
        self.contact = contact
        self.level: str | None = None
        self.invoices: dict[str, Decimal] = {}
        self.settled: set[str] = set()

    @property
    def is_signed(self) -> bool:
        return self.level is not None

    @property
    def is_settled(self) -> bool:
        return bool(self.invoices) and set(self.invoices) == self.settled

    def sign_contract(self, level: Level) -> None:
        if level not in LEVELS:
            raise SponsorshipError(
                f"'{level}' is not a sponsorship level (levels: {', '.join(LEVELS)})"
            )
        if self.level is not None:
            raise SponsorshipError(f"{self.company} already signed a {self.level} contract")
        self._contract_signed(level, LEVELS[level])

    @event("ContractSigned")
    def _contract_signed(self, level: str, value: Decimal) -> None:
        self.level = level

    def raise_invoice(self, invoice_number: str, amount: Decimal) -> None:
        if self.level is None:
            raise SponsorshipError(f"{self.company} has no contract yet: sign one first")
        if amount <= 0:
            raise SponsorshipError(f"an invoice amount must be positive (got {amount})")
        if invoice_number in self.invoices:
            raise SponsorshipError(f"invoice {invoice_number} was already raised")
        self._invoice_raised(invoice_number, amount)

    @event("InvoiceRaised")
    def _invoice_raised(self, invoice_number: str, amount: Decimal) -> None:
        self.invoices[invoice_number] = amount

    def settle_invoice(self, invoice_number: str) -> None:
        if invoice_number not in self.invoices:
            raise SponsorshipError(f"{self.company} has no invoice {invoice_number}")
        if invoice_number in self.settled:
            raise SponsorshipError(f"invoice {invoice_number} is already settled")
        self._invoice_settled(invoice_number, self.invoices[invoice_number])

    @event("InvoiceSettled")
    def _invoice_settled(self, invoice_number: str, amount: Decimal) -> None:
        self.settled.add(invoice_number)
