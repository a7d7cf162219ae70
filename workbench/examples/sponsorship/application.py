"""The sponsorship CRM application."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from eventsourcing.application import Application

from workbench.examples.sponsorship.domainmodel import Level, Sponsor, SponsorshipError


class Sponsorship(Application[UUID]):
    """Tracks sponsors from registration to settled invoices.

    >>> from workbench.stores import open_app
    >>> crm = open_app(Sponsorship)
    >>> acme = crm.register_sponsor("Acme", "PHP18", contact="Wile")
    >>> crm.sign_contract(acme, "Gold")
    >>> crm.get_sponsor(acme).level
    'Gold'
    """

    name = "Sponsorship"

    def register_sponsor(self, company: str, conference_code: str, contact: str) -> UUID:
        """Add a prospective sponsor for a conference."""
        if not company.strip():
            raise SponsorshipError("a sponsor needs a company name")
        sponsor_id = Sponsor.create_id(company, conference_code)
        if sponsor_id in self.repository:
            raise SponsorshipError(f"{company} is already registered for {conference_code}")
        sponsor = Sponsor(company=company, conference_code=conference_code, contact=contact)
        self.save(sponsor)
        return sponsor.id

    def sign_contract(self, sponsor_id: UUID, level: Level) -> None:
        """Sign a Gold, Silver or Bronze sponsorship contract."""
        sponsor = self.get_sponsor(sponsor_id)
        sponsor.sign_contract(level)
        self.save(sponsor)

    def raise_invoice(self, sponsor_id: UUID, invoice_number: str, amount: Decimal) -> None:
        """Invoice the sponsor."""
        sponsor = self.get_sponsor(sponsor_id)
        sponsor.raise_invoice(invoice_number, amount)
        self.save(sponsor)

    def settle_invoice(self, sponsor_id: UUID, invoice_number: str) -> None:
        """Record that the sponsor paid an invoice."""
        sponsor = self.get_sponsor(sponsor_id)
        sponsor.settle_invoice(invoice_number)
        self.save(sponsor)

    def get_sponsor(self, sponsor_id: UUID) -> Sponsor:
        """The sponsor with this id."""
        if sponsor_id not in self.repository:
            raise SponsorshipError(f"there is no sponsor with id {sponsor_id}")
        sponsor: object = self.repository.get(sponsor_id)
        if not isinstance(sponsor, Sponsor):
            raise SponsorshipError(f"{sponsor_id} is not a sponsor")
        return sponsor
