"""The ticketing application: the commands a box office gives, and its queries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder

from workbench.examples.ticketing.domainmodel import (
    Conference,
    TicketingError,
    TicketPurchase,
    cancel_purchased_ticket,
    start_complimentary_purchase,
    start_purchase,
    time_out_purchase,
)
from workbench.transcodings import DateAsISO

T = TypeVar("T")


class Ticketing(Application[UUID]):
    """Sells conference tickets.

    >>> from workbench.stores import open_app
    >>> app = open_app(Ticketing)
    >>> conf = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
    >>> app.add_ticket_type(conf, "Standard", Decimal("450.00"), capacity=100)
    >>> purchase = app.reserve_tickets(conf, "Ada", {"Standard": 2})
    >>> app.get_purchase(purchase).total
    Decimal('900.00')
    """

    name = "Ticketing"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # Commands ---------------------------------------------------------------

    def schedule_conference(self, code: str, name: str, starts_on: date) -> UUID:
        """Put a new conference on the calendar."""
        conference_id = Conference.create_id(code)
        if conference_id in self.repository:
            raise TicketingError(f"a conference with code '{code}' is already scheduled")
        conference = Conference(code=code, name=name, starts_on=starts_on)
        self.save(conference)
        return conference.id

    def add_ticket_type(
        self, conference_id: UUID, ticket_type: str, price: Decimal, capacity: int
    ) -> None:
        """Start selling a type of ticket at a price, up to a capacity."""
        conference = self.get_conference(conference_id)
        conference.add_ticket_type(ticket_type, price, capacity)
        self.save(conference)

    def end_ticket_sale(self, conference_id: UUID, ticket_type: str) -> None:
        """Stop selling a ticket type (for example when early-bird ends)."""
        conference = self.get_conference(conference_id)
        conference.end_sale(ticket_type)
        self.save(conference)

    def create_discount_code(self, conference_id: UUID, code: str, percent: int) -> None:
        """Create a discount code worth a percentage off a purchase."""
        conference = self.get_conference(conference_id)
        conference.create_discount_code(code, percent)
        self.save(conference)

    def reserve_tickets(
        self,
        conference_id: UUID,
        customer: str,
        quantities: dict[str, int],
        discount_code: str | None = None,
        *,
        reference: str | None = None,
    ) -> UUID:
        """Reserve tickets for a customer; they are held for 30 minutes until paid."""
        conference = self.get_conference(conference_id)
        reference = reference or f"{conference.code}-{uuid4().hex[:8].upper()}"
        purchase = start_purchase(conference, reference, customer, quantities, discount_code)
        self.save(conference, purchase)
        return purchase.id

    def pay(self, purchase_id: UUID, payment_reference: str, delegates: list[str]) -> None:
        """Record payment and name one delegate per ticket."""
        purchase = self.get_purchase(purchase_id)
        purchase.pay(payment_reference, delegates)
        self.save(purchase)

    def time_out(self, purchase_id: UUID) -> None:
        """Release the tickets of an unpaid purchase."""
        purchase = self.get_purchase(purchase_id)
        conference = self.get_conference(purchase.conference_id)
        time_out_purchase(purchase, conference)
        self.save(purchase, conference)

    def cancel_ticket(self, purchase_id: UUID, ticket_number: int, reason: str) -> None:
        """Cancel one paid ticket and put it back on sale."""
        purchase = self.get_purchase(purchase_id)
        conference = self.get_conference(purchase.conference_id)
        cancel_purchased_ticket(purchase, conference, ticket_number, reason)
        self.save(purchase, conference)

    def issue_complimentary_tickets(
        self,
        conference_id: UUID,
        sponsor: str,
        ticket_type: str,
        delegates: list[str],
        *,
        reference: str | None = None,
    ) -> UUID:
        """Give a sponsor free tickets: reserved and paid at once, total zero."""
        conference = self.get_conference(conference_id)
        reference = reference or f"{conference.code}-COMP-{uuid4().hex[:6].upper()}"
        purchase = start_complimentary_purchase(
            conference, reference, sponsor, ticket_type, delegates
        )
        self.save(conference, purchase)
        return purchase.id

    # Queries ----------------------------------------------------------------

    def get_conference(self, conference_id: UUID) -> Conference:
        """The conference with this id (a clear error when there is none)."""
        return self._get(conference_id, Conference, "conference")

    def get_purchase(self, purchase_id: UUID) -> TicketPurchase:
        """The purchase with this id (a clear error when there is none)."""
        return self._get(purchase_id, TicketPurchase, "purchase")

    def get_tickets_remaining(self, conference_id: UUID) -> dict[str, int]:
        """Tickets left per ticket type."""
        conference = self.get_conference(conference_id)
        return {t: conference.remaining(t) for t in conference.capacity}

    def _get(self, aggregate_id: UUID, kind: type[T], label: str) -> T:
        if not isinstance(aggregate_id, UUID):
            raise TicketingError(f"a {label} id is a UUID, got {aggregate_id!r}")
        if aggregate_id not in self.repository:
            raise TicketingError(f"there is no {label} with id {aggregate_id}")
        aggregate: Any = self.repository.get(aggregate_id)
        if not isinstance(aggregate, kind):
            raise TicketingError(f"{aggregate_id} is a {type(aggregate).__name__}, not a {label}")
        return aggregate
