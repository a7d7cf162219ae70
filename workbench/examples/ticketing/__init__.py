"""Ticketing: conferences sell tickets; purchases are reserved, paid, timed out."""

from workbench.examples.ticketing.application import Ticketing
from workbench.examples.ticketing.domainmodel import (
    RESERVATION_MINUTES,
    Conference,
    TicketingError,
    TicketPurchase,
)

__all__ = ["RESERVATION_MINUTES", "Conference", "TicketPurchase", "Ticketing", "TicketingError"]
