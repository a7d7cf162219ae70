"""The ticketing domain model: a conference's ticket stock and ticket purchases.

Written as an ordinary eventsourcing domain model. Event names are what a
conference organiser would say: tickets are *reserved*, a purchase is *paid*,
an unpaid purchase *times out*, a ticket is *cancelled*.

Every value a command takes has bounds a box office would recognise (a
capacity, a purchase's number of tickets, a price, a discount), so no
command can ask the model for something absurd; and nothing the model keeps
grows with a number of tickets (a purchase of five tickets and one of fifty
hold the same few values, until delegates are named).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from workbench import clock

RESERVATION_MINUTES = 30
"""How long reserved tickets are held for an unpaid purchase."""
MAX_CAPACITY = 1_000_000_000
"""The most tickets of one type a conference can sell."""
MAX_TICKETS_PER_PURCHASE = 100
"""The most tickets one purchase can reserve (each needs a delegate's name)."""
MAX_PRICE = Decimal("100000.00")
"""The highest price of a ticket."""

ID_NAMESPACE = uuid5(NAMESPACE_URL, "https://example.org/workbench/ticketing")


class TicketingError(Exception):
    """A command broke a ticketing rule. The message says which, in plain words."""


def _whole_number(value: object, what: str, low: int, high: int) -> int:
    """``value`` if it is a whole number from ``low`` to ``high``, else a clear refusal."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TicketingError(f"{what} is a whole number, got {value!r}")
    if value < low:
        raise TicketingError(f"{what} must be at least {low:,} (got {value:,})")
    if value > high:
        raise TicketingError(f"{what} can be at most {high:,} (got {value:,})")
    return value


def _price(value: object) -> Decimal:
    """``value`` if it is a price: a Decimal from 0 to :data:`MAX_PRICE`, in cents."""
    if not isinstance(value, Decimal):
        raise TicketingError(f"a ticket price is a Decimal, e.g. Decimal('450.00'); got {value!r}")
    if not value.is_finite():
        raise TicketingError(f"a ticket price is an amount, not {value}")
    if value < 0:
        raise TicketingError(f"a ticket price cannot be negative (got {value})")
    if value > MAX_PRICE:
        raise TicketingError(f"a ticket price can be at most {MAX_PRICE:,} (got {value:,})")
    if value != value.quantize(Decimal("0.01")):
        raise TicketingError(f"a ticket price is in cents, at most two decimals (got {value})")
    return value


class ClockedAggregate(Aggregate):
    """An aggregate whose events take their timestamps from ``workbench.clock``."""

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return clock.now()


class Conference(ClockedAggregate):
    """A conference and its stock of tickets, per ticket type.

    The stock lives here so that capacity is checked in one place: a purchase
    can only reserve tickets that this conference still has.
    """

    @staticmethod
    def create_id(code: str, **_: object) -> UUID:
        """One conference per code: the id is derived from the code."""
        return uuid5(ID_NAMESPACE, f"conference/{code}")

    @event("Scheduled")
    def __init__(self, code: str, name: str, starts_on: date) -> None:
        self.code = code
        self.name = name
        self.starts_on = starts_on
        self.prices: dict[str, Decimal] = {}
        self.capacity: dict[str, int] = {}
        self.reserved: dict[str, int] = {}
        self.discounts: dict[str, int] = {}
        self.on_sale: dict[str, bool] = {}

    def remaining(self, ticket_type: str) -> int:
        """Tickets of this type not reserved or sold."""
        return self.capacity[ticket_type] - self.reserved[ticket_type]

    def add_ticket_type(self, ticket_type: str, price: Decimal, capacity: int) -> None:
        if ticket_type in self.capacity:
            raise TicketingError(f"{self.name} already sells '{ticket_type}' tickets")
        price = _price(price)
        _whole_number(capacity, "a ticket type's capacity", 1, MAX_CAPACITY)
        self._ticket_type_added(ticket_type, price, capacity)

    @event("TicketTypeAdded")
    def _ticket_type_added(self, ticket_type: str, price: Decimal, capacity: int) -> None:
        self.prices[ticket_type] = price
        self.capacity[ticket_type] = capacity
        self.reserved[ticket_type] = 0
        self.on_sale[ticket_type] = True

    def end_sale(self, ticket_type: str) -> None:
        """Stop selling a ticket type (e.g. when the early-bird period ends)."""
        self.check_ticket_type(ticket_type)
        if self.on_sale[ticket_type]:
            self._ticket_sale_ended(ticket_type)

    @event("TicketSaleEnded")
    def _ticket_sale_ended(self, ticket_type: str) -> None:
        self.on_sale[ticket_type] = False

    def create_discount_code(self, code: str, percent: int) -> None:
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 < percent <= 100:
            raise TicketingError(f"a discount is a percentage from 1 to 100 (got {percent!r})")
        if code in self.discounts:
            raise TicketingError(f"discount code '{code}' already exists")
        self._discount_code_created(code, percent)

    @event("DiscountCodeCreated")
    def _discount_code_created(self, code: str, percent: int) -> None:
        self.discounts[code] = percent

    def check_ticket_type(self, ticket_type: str) -> None:
        if ticket_type not in self.capacity:
            known = ", ".join(sorted(self.capacity)) or "none yet"
            raise TicketingError(
                f"{self.name} has no ticket type '{ticket_type}' (ticket types: {known})"
            )

    def reserve(self, purchase_id: UUID, quantities: dict[str, int]) -> None:
        """Take tickets out of stock for a purchase, or refuse with the reason."""
        if not isinstance(quantities, dict) or not quantities:
            raise TicketingError("a reservation needs at least one ticket")
        for ticket_type, quantity in quantities.items():
            self.check_ticket_type(ticket_type)
            _whole_number(
                quantity, f"the quantity of '{ticket_type}' tickets", 1, MAX_TICKETS_PER_PURCHASE
            )
        total = sum(quantities.values())
        if total > MAX_TICKETS_PER_PURCHASE:
            raise TicketingError(
                f"one purchase reserves at most {MAX_TICKETS_PER_PURCHASE} tickets "
                f"({total:,} were asked for); split it into several purchases"
            )
        for ticket_type, quantity in quantities.items():
            if not self.on_sale[ticket_type]:
                raise TicketingError(f"'{ticket_type}' tickets are no longer on sale")
            if quantity > self.remaining(ticket_type):
                raise TicketingError(
                    f"only {self.remaining(ticket_type)} '{ticket_type}' tickets are left, "
                    f"{quantity} were asked for"
                )
        self._tickets_reserved(purchase_id, dict(quantities))

    @event("TicketsReserved")
    def _tickets_reserved(self, purchase_id: UUID, quantities: dict[str, int]) -> None:
        for ticket_type, quantity in quantities.items():
            self.reserved[ticket_type] += quantity

    def release(self, purchase_id: UUID, quantities: dict[str, int], reason: str) -> None:
        """Put tickets back in stock (timeout or cancellation)."""
        self._tickets_released(purchase_id, dict(quantities), reason)

    @event("TicketsReleased")
    def _tickets_released(self, purchase_id: UUID, quantities: dict[str, int], reason: str) -> None:
        for ticket_type, quantity in quantities.items():
            self.reserved[ticket_type] -= quantity

    def price_of(self, quantities: dict[str, int], discount_code: str | None) -> Decimal:
        subtotal = sum((self.prices[t] * q for t, q in quantities.items()), start=Decimal("0.00"))
        if discount_code:
            if discount_code not in self.discounts:
                raise TicketingError(f"discount code '{discount_code}' is not valid here")
            subtotal = subtotal * (100 - self.discounts[discount_code]) / 100
        return subtotal.quantize(Decimal("0.01"))


class TicketPurchase(ClockedAggregate):
    """One customer's purchase of tickets, from reservation to payment.

    Rules: completing needs one delegate per ticket; a paid purchase cannot
    time out; an unpaid one cannot be paid after it timed out; only a paid
    ticket can be cancelled, and only once.
    """

    @staticmethod
    def create_id(reference: str, **_: object) -> UUID:
        return uuid5(ID_NAMESPACE, f"purchase/{reference}")

    @event("Started")
    def __init__(
        self,
        conference_id: UUID,
        reference: str,
        customer: str,
        quantities: dict[str, int],
        unit_prices: dict[str, Decimal],
        discount_code: str | None,
        total: Decimal,
        reserved_until: datetime,
    ) -> None:
        self.conference_id = conference_id
        self.reference = reference
        self.customer = customer
        self.quantities = quantities
        self.unit_prices = unit_prices
        self.discount_code = discount_code
        self.total = total
        self.reserved_until = reserved_until
        self.status = "awaiting payment"
        self.tickets: dict[int, str] = {}
        self.cancelled: set[int] = set()

    @property
    def ticket_count(self) -> int:
        return sum(self.quantities.values())

    def ticket_type_of(self, ticket_number: int) -> str:
        """The type of ticket ``ticket_number`` (numbered from 1, in the order reserved)."""
        last = 0
        for ticket_type, quantity in self.quantities.items():
            last += quantity
            if ticket_number <= last:
                return ticket_type
        raise TicketingError(
            f"purchase {self.reference} has tickets 1 to {self.ticket_count}, not {ticket_number}"
        )

    def pay(self, payment_reference: str, delegates: list[str]) -> None:
        """Pay for the tickets and name a delegate for each one."""
        if self.status == "paid":
            raise TicketingError(f"purchase {self.reference} is already paid")
        if self.status == "timed out":
            raise TicketingError(
                f"purchase {self.reference} timed out and its tickets were released; "
                "start a new purchase"
            )
        if isinstance(delegates, str) or len(delegates) > self.ticket_count:
            raise TicketingError(
                f"completing purchase {self.reference} needs one delegate per ticket: "
                f"{self.ticket_count} tickets, a list of names"
                + ("" if isinstance(delegates, str) else f" (got {len(delegates):,})")
            )
        names = [str(d).strip() for d in delegates if str(d).strip()]
        if len(names) != self.ticket_count:
            raise TicketingError(
                f"completing purchase {self.reference} needs one delegate per ticket: "
                f"{self.ticket_count} tickets, {len(names)} delegates given"
            )
        self._paid(payment_reference, self.total, names)

    @event("Paid")
    def _paid(self, payment_reference: str, amount: Decimal, delegates: list[str]) -> None:
        self.status = "paid"
        self.payment_reference = payment_reference
        self.tickets = {n: d for n, d in enumerate(delegates, start=1)}

    def time_out(self) -> None:
        """Release an unpaid reservation."""
        if self.status == "paid":
            raise TicketingError(f"purchase {self.reference} is paid, so it cannot time out")
        if self.status == "timed out":
            raise TicketingError(f"purchase {self.reference} has already timed out")
        self._timed_out(dict(self.quantities))

    @event("TimedOut")
    def _timed_out(self, released: dict[str, int]) -> None:
        self.status = "timed out"

    def cancel_ticket(self, ticket_number: int, reason: str) -> str:
        """Cancel one paid ticket; returns its ticket type."""
        if self.status != "paid":
            raise TicketingError(
                f"only a paid ticket can be cancelled; purchase {self.reference} is {self.status}"
            )
        _whole_number(ticket_number, "a ticket number", 1, MAX_TICKETS_PER_PURCHASE)
        if ticket_number not in self.tickets:
            raise TicketingError(
                f"purchase {self.reference} has tickets 1 to {self.ticket_count}, "
                f"not {ticket_number}"
            )
        if ticket_number in self.cancelled:
            raise TicketingError(f"ticket {ticket_number} of {self.reference} is already cancelled")
        ticket_type = self.ticket_type_of(ticket_number)
        self._ticket_cancelled(ticket_number, ticket_type, reason)
        return ticket_type

    @event("TicketCancelled")
    def _ticket_cancelled(self, ticket_number: int, ticket_type: str, reason: str) -> None:
        self.cancelled.add(ticket_number)

    def is_due_to_time_out(self, at: datetime) -> bool:
        return self.status == "awaiting payment" and at >= self.reserved_until


def reservation_deadline(reserved_at: datetime) -> datetime:
    """When tickets reserved at ``reserved_at`` are released if still unpaid."""
    return reserved_at + timedelta(minutes=RESERVATION_MINUTES)


# Commands that touch two aggregates, as plain functions the application calls.


def start_purchase(
    conference: Conference,
    reference: str,
    customer: str,
    quantities: dict[str, int],
    discount_code: str | None,
) -> TicketPurchase:
    """Reserve tickets from the conference's stock and start a purchase for them."""
    if not customer.strip():
        raise TicketingError("a purchase needs the customer's name")
    purchase_id = TicketPurchase.create_id(reference)
    conference.reserve(purchase_id, quantities)
    total = conference.price_of(quantities, discount_code or None)
    return TicketPurchase(
        conference_id=conference.id,
        reference=reference,
        customer=customer.strip(),
        quantities=dict(quantities),
        unit_prices={t: conference.prices[t] for t in quantities},
        discount_code=discount_code or None,
        total=total,
        reserved_until=reservation_deadline(clock.now()),
    )


def time_out_purchase(purchase: TicketPurchase, conference: Conference) -> None:
    """Time out an unpaid purchase and put its tickets back in stock."""
    purchase.time_out()
    conference.release(purchase.id, purchase.quantities, reason="timed out")


def cancel_purchased_ticket(
    purchase: TicketPurchase, conference: Conference, ticket_number: int, reason: str
) -> None:
    """Cancel one paid ticket and put it back in stock."""
    ticket_type = purchase.cancel_ticket(ticket_number, reason)
    conference.release(purchase.id, {ticket_type: 1}, reason="cancelled")


def start_complimentary_purchase(
    conference: Conference, reference: str, sponsor: str, ticket_type: str, delegates: list[str]
) -> TicketPurchase:
    """Free tickets for a sponsor: reserved and paid at once, total zero."""
    if isinstance(delegates, str):
        raise TicketingError(f"free tickets need a list of delegates' names, got {delegates!r}")
    quantities = {ticket_type: len(delegates)}
    conference.check_ticket_type(ticket_type)
    purchase_id = TicketPurchase.create_id(reference)
    conference.reserve(purchase_id, quantities)
    purchase = TicketPurchase(
        conference_id=conference.id,
        reference=reference,
        customer=sponsor,
        quantities=quantities,
        unit_prices={ticket_type: Decimal("0.00")},
        discount_code=None,
        total=Decimal("0.00"),
        reserved_until=reservation_deadline(clock.now()),
    )
    purchase.pay(f"complimentary/{sponsor}", delegates)
    return purchase
