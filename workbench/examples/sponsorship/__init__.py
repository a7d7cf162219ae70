"""Sponsorship CRM: sponsors sign contracts at a level and settle invoices."""

from workbench.examples.sponsorship.application import Sponsorship
from workbench.examples.sponsorship.domainmodel import (
    FREE_TICKETS,
    LEVELS,
    Sponsor,
    SponsorshipError,
)

__all__ = ["FREE_TICKETS", "LEVELS", "Sponsor", "Sponsorship", "SponsorshipError"]
