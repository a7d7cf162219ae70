"""What the box office knows about a sponsor: its own record, built from the CRM's events.

The box office never reads the sponsorship CRM's aggregates. It keeps a
:class:`SponsorAccount` of its own, one per sponsor, and writes into it the facts
the CRM's events tell it: the company and conference, the contract's level, the
invoices raised and settled. Each fact is noted once: hearing it again records
nothing, whatever order the facts arrive in.

>>> from uuid import uuid4
>>> account = SponsorAccount(sponsor_id=uuid4())
>>> account.note_registration("Acme", "PHP18")
>>> account.note_contract("Bronze")
>>> account.note_invoice("INV-1")
>>> account.tickets_due()
0
>>> account.note_settlement("INV-1")
>>> account.tickets_due()
1
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import event

from workbench.examples.sponsorship.domainmodel import FREE_TICKETS
from workbench.examples.ticketing.domainmodel import ID_NAMESPACE, ClockedAggregate, TicketPurchase

__all__ = ["SponsorAccount", "free_tickets_id", "free_tickets_reference"]


def free_tickets_reference(conference_code: str, sponsor_id: UUID) -> str:
    """The purchase reference of a sponsor's free tickets: one per sponsor, always the same.

    >>> free_tickets_reference("PHP18", UUID(int=1))
    'PHP18-SPONSOR-00000000000000000000000000000001'
    """
    return f"{conference_code}-SPONSOR-{sponsor_id.hex.upper()}"


def free_tickets_id(conference_code: str, sponsor_id: UUID) -> UUID:
    """The id of a sponsor's free-ticket purchase, derived from the sponsor's id.

    A second grant for the same sponsor would have this same id: it cannot be
    recorded beside the first (the store refuses a second version 1 of one
    aggregate), and the box office sees it already exists.
    """
    return TicketPurchase.create_id(free_tickets_reference(conference_code, sponsor_id))


class SponsorAccount(ClockedAggregate):
    """One sponsor as the box office knows it, from the sponsorship CRM's events.

    Its id is derived from the sponsor's id, so hearing of a sponsor twice
    finds the same account. Sets, not lists: a fact heard twice is one fact.
    """

    @staticmethod
    def create_id(sponsor_id: UUID, **_: object) -> UUID:
        """One account per sponsor: the id is derived from the sponsor's id."""
        return uuid5(ID_NAMESPACE, f"sponsor-account/{sponsor_id}")

    @event("Opened")
    def __init__(self, sponsor_id: UUID) -> None:
        self.sponsor_id = sponsor_id
        self.company: str | None = None
        self.conference_code: str | None = None
        self.level: str | None = None
        self.invoices: set[str] = set()
        self.settled: set[str] = set()
        self.free_tickets: UUID | None = None
        """The purchase holding the sponsor's free tickets, once issued."""
        self.owed_because: str | None = None
        """Why due free tickets could not be issued yet (no conference, no ticket type)."""

    # Facts heard from the CRM: each is noted once.

    def note_registration(self, company: str, conference_code: str) -> None:
        if self.company is None:
            self._registration_noted(company, conference_code)

    @event("RegistrationNoted")
    def _registration_noted(self, company: str, conference_code: str) -> None:
        self.company = company
        self.conference_code = conference_code

    def note_contract(self, level: str) -> None:
        if self.level is None:
            self._contract_noted(level)

    @event("ContractNoted")
    def _contract_noted(self, level: str) -> None:
        self.level = level

    def note_invoice(self, invoice_number: str) -> None:
        if invoice_number not in self.invoices:
            self._invoice_noted(invoice_number)

    @event("InvoiceNoted")
    def _invoice_noted(self, invoice_number: str) -> None:
        self.invoices.add(invoice_number)

    def note_settlement(self, invoice_number: str) -> None:
        if invoice_number not in self.settled:
            self._settlement_noted(invoice_number)

    @event("SettlementNoted")
    def _settlement_noted(self, invoice_number: str) -> None:
        self.settled.add(invoice_number)

    # The rule, and what the box office did about it.

    @property
    def is_signed_and_settled(self) -> bool:
        """Registered, signed, at least one invoice, and every invoice heard of settled.

        The CRM's own rule (``Sponsor.is_settled``), applied to what the box
        office has heard so far.
        """
        return (
            self.company is not None
            and self.level is not None
            and bool(self.invoices)
            and self.invoices <= self.settled
        )

    def tickets_due(self) -> int:
        """How many free tickets to issue now: 5 / 3 / 1 by level, or 0 (not yet, or done)."""
        if self.free_tickets is not None or not self.is_signed_and_settled:
            return 0
        return FREE_TICKETS.get(str(self.level), 0)

    def record_free_tickets(self, purchase_id: UUID, ticket_type: str, count: int) -> None:
        """Note that the free tickets were issued (once: a second note records nothing)."""
        if self.free_tickets is None:
            self._free_tickets_issued(purchase_id, ticket_type, count)

    @event("FreeTicketsIssued")
    def _free_tickets_issued(self, purchase_id: UUID, ticket_type: str, count: int) -> None:
        self.free_tickets = purchase_id
        self.owed_because = None

    def record_owed(self, reason: str) -> None:
        """Note that due tickets cannot be issued yet, and why (once per reason)."""
        if self.free_tickets is None and self.owed_because != reason:
            self._free_tickets_owed(reason)

    @event("FreeTicketsOwed")
    def _free_tickets_owed(self, reason: str) -> None:
        self.owed_because = reason
