"""Every ticketing rule: the events a command records, and refusals that record nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from workbench.clock import ManualClock, use_clock
from workbench.examples.ticketing import Ticketing, TicketingError

T0 = datetime(2018, 1, 15, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    clock = ManualClock(T0)
    with use_clock(clock):
        yield clock


@pytest.fixture
def app(clock: ManualClock) -> Ticketing:
    return Ticketing()


@pytest.fixture
def conference(app: Ticketing) -> UUID:
    conference_id = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
    app.add_ticket_type(conference_id, "Standard", Decimal("450.00"), capacity=5)
    app.add_ticket_type(conference_id, "Workshop", Decimal("200.00"), capacity=2)
    app.create_discount_code(conference_id, "COMMUNITY", 10)
    return conference_id


def positions(app: Ticketing) -> int:
    return app.recorder.max_notification_id() or 0


def recorded(app: Ticketing, after: int) -> list[str]:
    """Short names of the events recorded after a position."""
    notes = app.recorder.select_notifications(start=after + 1, limit=100)
    return [n.topic.rsplit(":", 1)[1] for n in notes]


def refused(app: Ticketing, command: Callable[[], Any], message: str) -> None:
    """The command is refused with a plain message and records nothing."""
    before = positions(app)
    with pytest.raises(TicketingError, match=message):
        command()
    assert positions(app) == before


def test_reserving_starts_a_purchase_and_takes_tickets_from_stock(
    app: Ticketing, conference: UUID
) -> None:
    before = positions(app)
    purchase_id = app.reserve_tickets(conference, "Ada", {"Standard": 2, "Workshop": 1})
    assert recorded(app, before) == ["Conference.TicketsReserved", "TicketPurchase.Started"]
    purchase = app.get_purchase(purchase_id)
    assert purchase.total == Decimal("1100.00")
    assert purchase.reserved_until == T0 + timedelta(minutes=30)
    assert app.get_tickets_remaining(conference) == {"Standard": 3, "Workshop": 1}


def test_discount_code_applies_to_the_total(app: Ticketing, conference: UUID) -> None:
    purchase_id = app.reserve_tickets(conference, "Ada", {"Standard": 2}, "COMMUNITY")
    assert app.get_purchase(purchase_id).total == Decimal("810.00")


def test_unknown_discount_code_is_refused(app: Ticketing, conference: UUID) -> None:
    refused(
        app,
        lambda: app.reserve_tickets(conference, "Ada", {"Standard": 1}, "FREE4ALL"),
        "discount code 'FREE4ALL' is not valid",
    )


def test_unknown_ticket_type_is_refused(app: Ticketing, conference: UUID) -> None:
    refused(
        app,
        lambda: app.reserve_tickets(conference, "Ada", {"VIP": 1}),
        r"no ticket type 'VIP' \(ticket types: Standard, Workshop\)",
    )


@pytest.mark.parametrize("quantity", [0, -1])
def test_non_positive_quantities_are_refused(
    app: Ticketing, conference: UUID, quantity: int
) -> None:
    refused(
        app,
        lambda: app.reserve_tickets(conference, "Ada", {"Standard": quantity}),
        "must be at least 1",
    )


def test_empty_reservation_and_missing_customer_are_refused(
    app: Ticketing, conference: UUID
) -> None:
    refused(app, lambda: app.reserve_tickets(conference, "Ada", {}), "at least one ticket")
    refused(app, lambda: app.reserve_tickets(conference, " ", {"Standard": 1}), "customer's name")


def test_capacity_is_respected(app: Ticketing, conference: UUID) -> None:
    app.reserve_tickets(conference, "Ada", {"Workshop": 2})
    refused(
        app,
        lambda: app.reserve_tickets(conference, "Alan", {"Workshop": 1}),
        "only 0 'Workshop' tickets are left, 1 were asked for",
    )


def test_paying_completes_the_purchase_with_one_delegate_per_ticket(
    app: Ticketing, conference: UUID
) -> None:
    purchase_id = app.reserve_tickets(conference, "Ada", {"Standard": 2})
    before = positions(app)
    app.pay(purchase_id, "PAY-1", ["Ada Lovelace", "Alan Turing"])
    assert recorded(app, before) == ["TicketPurchase.Paid"]
    purchase = app.get_purchase(purchase_id)
    assert purchase.status == "paid"
    assert purchase.tickets == {1: "Ada Lovelace", 2: "Alan Turing"}


def test_completing_needs_one_delegate_per_ticket(app: Ticketing, conference: UUID) -> None:
    purchase_id = app.reserve_tickets(conference, "Ada", {"Standard": 2})
    refused(
        app,
        lambda: app.pay(purchase_id, "PAY-1", ["Ada Lovelace", " "]),
        "needs one delegate per ticket: 2 tickets, 1 delegates given",
    )


def test_paying_twice_is_refused(app: Ticketing, conference: UUID) -> None:
    purchase_id = app.reserve_tickets(conference, "Ada", {"Standard": 1})
    app.pay(purchase_id, "PAY-1", ["Ada"])
    refused(app, lambda: app.pay(purchase_id, "PAY-2", ["Ada"]), "already paid")


def test_timing_out_releases_the_tickets(
    app: Ticketing, conference: UUID, clock: ManualClock
) -> None:
    purchase_id = app.reserve_tickets(conference, "Ada", {"Standard": 3})
    clock.advance(minutes=31)
    before = positions(app)
    app.time_out(purchase_id)
    assert recorded(app, before) == ["TicketPurchase.TimedOut", "Conference.TicketsReleased"]
    assert app.get_tickets_remaining(conference)["Standard"] == 5


def test_a_paid_purchase_cannot_time_out(app: Ticketing, conference: UUID) -> None:
    purchase_id = app.reserve_tickets(conference, "Ada", {"Standard": 1})
    app.pay(purchase_id, "PAY-1", ["Ada"])
    refused(app, lambda: app.time_out(purchase_id), "is paid, so it cannot time out")


def test_a_timed_out_purchase_cannot_be_paid_or_time_out_again(
    app: Ticketing, conference: UUID
) -> None:
    purchase_id = app.reserve_tickets(conference, "Ada", {"Standard": 1})
    app.time_out(purchase_id)
    refused(app, lambda: app.pay(purchase_id, "PAY-1", ["Ada"]), "timed out.*start a new purchase")
    refused(app, lambda: app.time_out(purchase_id), "already timed out")


def test_cancelling_a_paid_ticket_releases_it(app: Ticketing, conference: UUID) -> None:
    purchase_id = app.reserve_tickets(conference, "Ada", {"Standard": 1, "Workshop": 1})
    app.pay(purchase_id, "PAY-1", ["Ada", "Alan"])
    before = positions(app)
    app.cancel_ticket(purchase_id, 2, "cannot travel")
    assert recorded(app, before) == ["TicketPurchase.TicketCancelled", "Conference.TicketsReleased"]
    assert app.get_tickets_remaining(conference) == {"Standard": 4, "Workshop": 2}


def test_only_a_paid_ticket_can_be_cancelled(app: Ticketing, conference: UUID) -> None:
    purchase_id = app.reserve_tickets(conference, "Ada", {"Standard": 1})
    refused(app, lambda: app.cancel_ticket(purchase_id, 1, "x"), "only a paid ticket")
    app.pay(purchase_id, "PAY-1", ["Ada"])
    refused(app, lambda: app.cancel_ticket(purchase_id, 7, "x"), "tickets 1 to 1, not 7")
    app.cancel_ticket(purchase_id, 1, "x")
    refused(app, lambda: app.cancel_ticket(purchase_id, 1, "x"), "already cancelled")


def test_ending_a_sale_stops_reservations(app: Ticketing, conference: UUID) -> None:
    app.end_ticket_sale(conference, "Workshop")
    refused(
        app,
        lambda: app.reserve_tickets(conference, "Ada", {"Workshop": 1}),
        "no longer on sale",
    )


def test_conference_rules(app: Ticketing, conference: UUID) -> None:
    refused(
        app,
        lambda: app.schedule_conference("PHP18", "Again", date(2018, 1, 1)),
        "already scheduled",
    )
    refused(
        app,
        lambda: app.add_ticket_type(conference, "Standard", Decimal("1"), 1),
        "already sells 'Standard'",
    )
    refused(
        app,
        lambda: app.add_ticket_type(conference, "VIP", Decimal("-1"), 1),
        "cannot be negative",
    )
    refused(app, lambda: app.add_ticket_type(conference, "VIP", Decimal("1"), 0), "at least 1")
    refused(app, lambda: app.create_discount_code(conference, "BIG", 101), "from 1 to 100")
    refused(app, lambda: app.create_discount_code(conference, "COMMUNITY", 5), "already exists")


def test_complimentary_tickets_are_free_and_paid(app: Ticketing, conference: UUID) -> None:
    before = positions(app)
    purchase_id = app.issue_complimentary_tickets(conference, "Acme", "Standard", ["A", "B"])
    assert recorded(app, before) == [
        "Conference.TicketsReserved",
        "TicketPurchase.Started",
        "TicketPurchase.Paid",
    ]
    purchase = app.get_purchase(purchase_id)
    assert (purchase.status, purchase.total) == ("paid", Decimal("0.00"))


def test_unknown_ids_are_clear(app: Ticketing, conference: UUID) -> None:
    refused(app, lambda: app.pay(uuid4(), "PAY", ["A"]), "there is no purchase with id")
    refused(app, lambda: app.get_purchase(conference), "is a Conference, not a purchase")


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (lambda app, c: app.add_ticket_type(c, "Huge", Decimal("1.00"), 10**30), "at most"),
        (lambda app, c: app.add_ticket_type(c, "Zero", Decimal("1.00"), 0), "at least 1"),
        (lambda app, c: app.add_ticket_type(c, "Half", Decimal("1.00"), 2.5), "whole number"),
        (lambda app, c: app.add_ticket_type(c, "Yes", Decimal("1.00"), True), "whole number"),
        (lambda app, c: app.add_ticket_type(c, "Dear", Decimal("1E+30"), 10), "at most"),
        (lambda app, c: app.add_ticket_type(c, "Minus", Decimal("-1.00"), 10), "negative"),
        (lambda app, c: app.add_ticket_type(c, "NaN", Decimal("NaN"), 10), "an amount"),
        (lambda app, c: app.add_ticket_type(c, "Inf", Decimal("Infinity"), 10), "an amount"),
        (lambda app, c: app.add_ticket_type(c, "Cents", Decimal("9.999"), 10), "in cents"),
        (lambda app, c: app.add_ticket_type(c, "Float", 9.99, 10), "a Decimal"),
        (lambda app, c: app.create_discount_code(c, "NONE", 0), "from 1 to 100"),
        (lambda app, c: app.create_discount_code(c, "HALF", 0.5), "from 1 to 100"),
        (lambda app, c: app.create_discount_code(c, "YES", True), "from 1 to 100"),
        (lambda app, c: app.create_discount_code(c, "BIG", 101), "from 1 to 100"),
        (lambda app, c: app.reserve_tickets(c, "Ada", {"Standard": 10**20}), "at most 100"),
        (lambda app, c: app.reserve_tickets(c, "Ada", {"Standard": 1.0}), "whole number"),
        (lambda app, c: app.reserve_tickets(c, "Ada", {"Standard": "2"}), "whole number"),
    ],
    ids=lambda value: "" if callable(value) else value,
)
def test_absurd_values_are_refused(
    app: Ticketing, conference: UUID, command: Callable[[Ticketing, UUID], Any], message: str
) -> None:
    refused(app, lambda: command(app, conference), message)


def test_a_purchase_holds_no_more_for_more_tickets(clock: ManualClock) -> None:
    import pickle

    from workbench.examples.ticketing.domainmodel import MAX_TICKETS_PER_PURCHASE

    app = Ticketing()
    conference = app.schedule_conference("BIG", "A big one", date(2018, 3, 7))
    app.add_ticket_type(conference, "Standard", Decimal("450.00"), 10**9)
    app.add_ticket_type(conference, "Workshop", Decimal("200.00"), 10**9)
    sizes = []
    for quantity in (1, MAX_TICKETS_PER_PURCHASE - 1):
        purchase = app.get_purchase(
            app.reserve_tickets(conference, "Ada", {"Standard": quantity, "Workshop": 1})
        )
        sizes.append(len(pickle.dumps(vars(purchase))))
        assert purchase.ticket_type_of(quantity) == "Standard"
        assert purchase.ticket_type_of(quantity + 1) == "Workshop"
    assert abs(sizes[1] - sizes[0]) < 20  # nothing kept per ticket (only a number changes)
    refused(
        app,
        lambda: app.reserve_tickets(conference, "Ada", {"Standard": 60, "Workshop": 60}),
        f"at most {MAX_TICKETS_PER_PURCHASE} tickets",
    )


def test_a_cancelled_ticket_goes_back_as_its_own_type(app: Ticketing, conference: UUID) -> None:
    purchase = app.reserve_tickets(conference, "Ada", {"Standard": 2, "Workshop": 1})
    app.pay(purchase, "PAY-1", ["Ada", "Alan", "Grace"])
    app.cancel_ticket(purchase, 3, "ill")
    assert app.get_tickets_remaining(conference) == {"Standard": 3, "Workshop": 2}
    refused(app, lambda: app.cancel_ticket(purchase, 10**20, "absurd"), "at most")
    names: Any = "Ada"  # a text, not a list of names
    refused(app, lambda: app.pay(purchase, "PAY-2", names), "already paid")
