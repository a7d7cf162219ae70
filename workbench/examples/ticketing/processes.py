"""The ticketing process managers, declared the way you would declare your own.

- :data:`PURCHASE`: an unpaid purchase times out after 30 minutes and its
  tickets are released (``Ticketing.time_out``); a paid purchase gets one
  confirmation e-mail, sent through an :class:`~workbench.processes.Outbox`.
- :data:`SPONSOR_TICKETS`: a sponsor whose contract is signed and whose invoice
  is settled gets free tickets (5 / 3 / 1 for Gold / Silver / Bronze).

The declarations are data; the handlers bind their actions to applications:

>>> from datetime import datetime, timezone
>>> from workbench.clock import ManualClock
>>> from workbench.examples.ticketing import Ticketing
>>> from workbench.processes import Outbox, ProcessRun
>>> clock = ManualClock(datetime(2018, 3, 1, 9, tzinfo=timezone.utc))
>>> ticketing, outbox = Ticketing(), Outbox()
>>> handlers = purchase_handlers(ticketing, outbox)
>>> run = ProcessRun(PURCHASE, ticketing, handlers=handlers, clock=clock)
>>> PURCHASE.transition_for("awaiting payment", "TicketPurchase.Paid").actions
('send confirmation',)
"""

from __future__ import annotations

import re
from datetime import timedelta
from uuid import UUID

from workbench.examples.sponsorship import FREE_TICKETS
from workbench.examples.ticketing.application import Ticketing
from workbench.examples.ticketing.domainmodel import (
    RESERVATION_MINUTES,
    Conference,
    TicketingError,
)
from workbench.processes import (
    Action,
    ActionContext,
    Handler,
    Outbox,
    ProcessDeclaration,
    Refused,
    RetryPolicy,
    Timeout,
    Transition,
    UpstreamEvent,
    timeout,
)

__all__ = [
    "PURCHASE",
    "SPONSOR_TICKETS",
    "confirmation_address",
    "purchase_handlers",
    "sponsor_handlers",
]

STARTED = "TicketPurchase.Started"
PAID = "TicketPurchase.Paid"
TIMED_OUT = "TicketPurchase.TimedOut"


def _purchase_key(event: UpstreamEvent) -> str | None:
    """One instance per purchase: the purchase's id."""
    if event.type.startswith("TicketPurchase."):
        return str(event.originator_id)
    return None


PURCHASE = ProcessDeclaration(
    name="Purchase",
    description=(
        "Holds reserved tickets for 30 minutes. Paid in time: one confirmation e-mail. "
        "Not paid: the tickets are released (Ticketing.time_out). If the payment and the "
        "timeout cross, the purchase aggregate decides: a paid purchase cannot time out, "
        "a timed-out purchase cannot be paid."
    ),
    states=("new", "awaiting payment", "releasing", "paid", "timed out"),
    initial="new",
    transitions=(
        Transition("new", STARTED, "awaiting payment", schedule=("payment",)),
        Transition(
            "awaiting payment",
            PAID,
            "paid",
            actions=("send confirmation",),
            cancel=("payment",),
            note="paid in time",
        ),
        Transition(
            "awaiting payment",
            timeout("payment"),
            "releasing",
            actions=("release tickets",),
            note="30 minutes without payment",
        ),
        Transition("releasing", TIMED_OUT, "timed out", note="Ticketing released the tickets"),
        Transition(
            "releasing",
            PAID,
            "paid",
            actions=("send confirmation",),
            note="the payment won the race: Ticketing refused the timeout",
        ),
        Transition(
            "awaiting payment", TIMED_OUT, "timed out", cancel=("payment",), note="timed out"
        ),
    ),
    actions=(
        Action("release tickets", "command", "Ticketing.time_out(purchase)"),
        Action("send confirmation", "side effect", "e-mail the customer their tickets"),
    ),
    timeouts=(Timeout("payment", timedelta(minutes=RESERVATION_MINUTES)),),
    correlate=_purchase_key,
    remember=("reference", "customer", "total", "conference_id"),
    retry=RetryPolicy(attempts=3, backoff=timedelta(minutes=1), factor=2),
)
"""The purchase process: 30-minute timeout and the confirmation e-mail."""


def confirmation_address(customer: str) -> str:
    """A made-up address for a customer: ``"Ada Lovelace"`` → ``"ada.lovelace@example.org"``."""
    local = re.sub(r"[^a-z0-9]+", ".", customer.lower()).strip(".") or "customer"
    return f"{local}@example.org"


def purchase_handlers(ticketing: Ticketing, outbox: Outbox) -> dict[str, Handler]:
    """Bind :data:`PURCHASE`'s actions: the timeout command and the e-mail side effect."""

    def release_tickets(ctx: ActionContext) -> str:
        try:
            ticketing.time_out(UUID(ctx.instance))
        except TicketingError as e:
            raise Refused(str(e)) from e
        return "tickets released"

    def send_confirmation(ctx: ActionContext) -> str:
        customer = str(ctx.data.get("customer", "customer"))
        reference = str(ctx.data.get("reference", ctx.instance))
        message = outbox.send(
            confirmation_address(customer),
            f"Your tickets, purchase {reference}",
            key=reference,
            body=f"Dear {customer}, thank you: purchase {reference} is paid.",
        )
        return f"e-mail to {message.to}"

    return {"release tickets": release_tickets, "send confirmation": send_confirmation}


# Sponsors' free tickets ---------------------------------------------------------


def _sponsor_key(event: UpstreamEvent) -> str | None:
    if event.type.startswith("Sponsor."):
        return str(event.originator_id)
    return None


SPONSOR_TICKETS = ProcessDeclaration(
    name="Sponsor tickets",
    description=(
        "Crosses from the sponsorship CRM into Ticketing: once a sponsor's contract is "
        "signed and its invoice settled, Ticketing issues its free tickets."
    ),
    states=("new", "registered", "signed", "invoiced", "tickets issued"),
    initial="new",
    transitions=(
        Transition("new", "Sponsor.Registered", "registered"),
        Transition("registered", "Sponsor.ContractSigned", "signed"),
        Transition("signed", "Sponsor.InvoiceRaised", "invoiced"),
        Transition(
            "invoiced",
            "Sponsor.InvoiceSettled",
            "tickets issued",
            actions=("issue free tickets",),
        ),
    ),
    actions=(
        Action(
            "issue free tickets",
            "command",
            "Ticketing.issue_complimentary_tickets (5 / 3 / 1 by level)",
        ),
    ),
    correlate=_sponsor_key,
    remember=("company", "conference_code", "level"),
)
"""The sponsor free-tickets process (Sponsorship → Ticketing)."""


def sponsor_handlers(ticketing: Ticketing, ticket_type: str | None = None) -> dict[str, Handler]:
    """Bind :data:`SPONSOR_TICKETS`' action to a Ticketing application.

    The free tickets are of ``ticket_type`` (by default the conference's first one).
    """

    def issue(ctx: ActionContext) -> str:
        company = str(ctx.data.get("company", "sponsor"))
        code = str(ctx.data.get("conference_code", ""))
        level = str(ctx.data.get("level", ""))
        count = FREE_TICKETS.get(level)
        if count is None:
            raise Refused(f"{company} has no sponsorship level (got {level!r})")
        conference_id = Conference.create_id(code)
        try:
            conference = ticketing.get_conference(conference_id)
            kind = ticket_type or next(iter(conference.capacity), None)
            if kind is None:
                raise Refused(f"{conference.name} sells no tickets yet")
            delegates = [f"{company} guest {n}" for n in range(1, count + 1)]
            ticketing.issue_complimentary_tickets(
                conference_id,
                company,
                kind,
                delegates,
                reference=f"{code}-SPONSOR-{ctx.instance[:8].upper()}",
            )
        except TicketingError as e:
            raise Refused(str(e)) from e
        return f"{count} free {kind} ticket(s) for {company}"

    return {"issue free tickets": issue}
