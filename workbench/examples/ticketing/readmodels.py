"""Read models of the ticketing application, written as a user would write them.

Each projection handles a few event types and keeps its tables in the read
model it is given. Run one over a history with
:class:`~workbench.projections.ProjectionRun`::

    >>> from workbench.projections import ProjectionRun
    >>> from workbench.examples.history import SAMPLE_TICKETING
    >>> run = ProjectionRun(TicketsRemaining(), SAMPLE_TICKETING).run()
    >>> remaining_frame(run.model).columns.tolist()
    ['conference', 'ticket_type', 'capacity', 'remaining', 'sold']
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from workbench.projections import EventView, Projection, ReadModel, handles

__all__ = [
    "PurchaseRecords",
    "SalesOverTime",
    "TicketsRemaining",
    "purchases_frame",
    "remaining_frame",
    "sales_frame",
]


class TicketsRemaining(Projection):
    """Tickets left to sell, per conference and ticket type.

    Tables: ``conferences`` (conference id to code), ``capacity`` and
    ``remaining`` (``(code, ticket type)`` to a number of tickets).
    """

    name = "tickets_remaining"

    @handles("Conference.Scheduled")
    def scheduled(self, event: EventView, model: ReadModel) -> None:
        model["conferences"][event.stream_id] = event.code

    @handles("Conference.TicketTypeAdded")
    def ticket_type_added(self, event: EventView, model: ReadModel) -> None:
        key = (model["conferences"][event.stream_id], event.ticket_type)
        model["capacity"][key] = event.capacity
        model["remaining"][key] = event.capacity

    @handles("Conference.TicketsReserved")
    def reserved(self, event: EventView, model: ReadModel) -> None:
        code = model["conferences"][event.stream_id]
        remaining = model["remaining"]
        for ticket_type, quantity in event.quantities.items():
            remaining.add((code, ticket_type), -quantity)

    @handles("Conference.TicketsReleased")
    def released(self, event: EventView, model: ReadModel) -> None:
        code = model["conferences"][event.stream_id]
        remaining = model["remaining"]
        for ticket_type, quantity in event.quantities.items():
            remaining.add((code, ticket_type), quantity)


def remaining_frame(model: ReadModel) -> pd.DataFrame:
    """Tickets remaining as a small table: conference, ticket type, capacity, remaining, sold."""
    capacity = model["capacity"]
    rows = [
        {
            "conference": code,
            "ticket_type": ticket_type,
            "capacity": capacity.get((code, ticket_type), 0),
            "remaining": left,
            "sold": capacity.get((code, ticket_type), 0) - left,
        }
        for (code, ticket_type), left in sorted(model["remaining"].items())
    ]
    return pd.DataFrame(
        rows, columns=["conference", "ticket_type", "capacity", "remaining", "sold"]
    )


class PurchaseRecords(Projection):
    """One row per purchase: who, which conference, how many tickets, total, status."""

    name = "purchase_records"

    @handles("Conference.Scheduled")
    def scheduled(self, event: EventView, model: ReadModel) -> None:
        model["conferences"][event.stream_id] = event.code

    @handles("TicketPurchase.Started")
    def started(self, event: EventView, model: ReadModel) -> None:
        model["purchases"][event.stream_id] = {
            "reference": event.reference,
            "conference": model["conferences"].get(str(event.conference_id), "?"),
            "customer": event.customer,
            "tickets": sum(event.quantities.values()),
            "total": event.total,
            "status": "awaiting payment",
            "cancelled": 0,
            "started_at": event.timestamp,
        }

    @handles("TicketPurchase.Paid")
    def paid(self, event: EventView, model: ReadModel) -> None:
        model["purchases"].update(event.stream_id, status="paid", paid_at=event.timestamp)

    @handles("TicketPurchase.TimedOut")
    def timed_out(self, event: EventView, model: ReadModel) -> None:
        model["purchases"].update(event.stream_id, status="timed out")

    @handles("TicketPurchase.TicketCancelled")
    def cancelled(self, event: EventView, model: ReadModel) -> None:
        purchases = model["purchases"]
        purchases.update(event.stream_id, cancelled=purchases[event.stream_id]["cancelled"] + 1)


def purchases_frame(model: ReadModel) -> pd.DataFrame:
    """Purchase records as a DataFrame, one row per purchase."""
    frame = model["purchases"].to_frame(["purchase_id"])
    return frame


class SalesOverTime(Projection):
    """Revenue and tickets sold per day (a purchase counts on the day it is paid).

    Table ``daily``: ISO date to ``{"revenue", "tickets", "cancelled"}``.
    """

    name = "sales_over_time"

    @handles("TicketPurchase.Paid")
    def paid(self, event: EventView, model: ReadModel) -> None:
        day = event.timestamp.date().isoformat()
        daily = model["daily"]
        row = daily.get(day) or {"revenue": Decimal("0.00"), "tickets": 0, "cancelled": 0}
        daily[day] = {
            **row,
            "revenue": row["revenue"] + event.amount,
            "tickets": row["tickets"] + len(event.delegates),
        }

    @handles("TicketPurchase.TicketCancelled")
    def cancelled(self, event: EventView, model: ReadModel) -> None:
        day = event.timestamp.date().isoformat()
        daily = model["daily"]
        row = daily.get(day) or {"revenue": Decimal("0.00"), "tickets": 0, "cancelled": 0}
        daily[day] = {**row, "cancelled": row["cancelled"] + 1}


def sales_frame(model: ReadModel) -> pd.DataFrame:
    """Daily sales: date, revenue (float), tickets, cancelled, and running totals."""
    rows = [
        {
            "date": pd.Timestamp(day),
            "revenue": float(row["revenue"]),
            "tickets": row["tickets"],
            "cancelled": row["cancelled"],
        }
        for day, row in sorted(model["daily"].items())
    ]
    frame = pd.DataFrame(rows, columns=["date", "revenue", "tickets", "cancelled"])
    frame["total_revenue"] = frame["revenue"].cumsum()
    frame["total_tickets"] = frame["tickets"].cumsum()
    return frame
