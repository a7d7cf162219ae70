"""The box office: Ticketing's side of the sponsor free-tickets process.

:class:`BoxOffice` is a Ticketing application (it sells tickets with every
Ticketing command) that also *follows* the sponsorship CRM: an eventsourcing
``ProcessApplication``. For each CRM event it is given, its :meth:`~BoxOffice.policy`
notes the fact in the sponsor's :class:`~.domainmodel.SponsorAccount`, and once
the sponsor is signed and every invoice is settled it issues the free tickets:
5 for Gold, 3 for Silver, 1 for Bronze, as a paid complimentary purchase in its
own ticketing model.

Why the tickets are granted exactly once
----------------------------------------

From eventsourcing (the infrastructure):

- *Atomic recording.* What the policy decides (the account's new facts, the
  conference's reserved stock, the free-ticket purchase) and the *tracking
  record* (the leader's name and the position of the event just processed) are
  written in ONE transaction (``ProcessingEvent`` → ``Application._record`` →
  the process recorder's ``insert_events(..., tracking=...)``). A crash before or
  during that write leaves neither; after it, both. There is no moment where
  the tickets exist but the event is not marked as processed, or the other way.
- *Unique tracking positions.* The recorder keeps, per leader, the highest
  position processed, and refuses to record a position that is not higher
  (``IntegrityError``). A follower restarted after a crash pulls from that
  position on; an event delivered twice is refused the second time and its
  transaction, grant included, is rolled back.
- *Unique aggregate versions.* The store refuses two events with the same
  aggregate id and version, so two writers that both decided to create the
  same purchase cannot both succeed.

From the domain (this example's own code):

- *An idempotent policy.* The account notes each fact once (sets, not
  counters), so hearing a settlement twice, or in another order, changes
  nothing; tickets are issued only when the account says they are due and not
  yet issued.
- *A deterministic grant id.* The free-ticket purchase's id is derived from the
  sponsor's id (:func:`~.domainmodel.free_tickets_id`). When the whole log is
  processed again in the same store (tracking lost, restored from a backup), the
  policy finds the account already granted, or the purchase already there, and
  issues nothing. If two box offices race on one store, the loser's write is
  refused (the position is tracked already, or a version of an aggregate
  it changed is taken); :meth:`BoxOffice.process_event` then asks the store:
  position processed, stop; otherwise process the event again, and the policy
  now sees the grant.

What is NOT covered:

- The rule is the CRM's (``Sponsor.is_settled``) applied to what the box office
  has heard, in the CRM's order: a sponsor whose invoices are all settled gets
  its tickets then, even if the CRM raises another invoice later.
- Catching up by itself. A follower processes when its leader records
  something; events the CRM recorded while the box office was down wait for
  the next one, or for :func:`~workbench.examples.free_tickets.system.catch_up`.
- Anything outside this store. Sending the sponsor an e-mail about its tickets
  from the policy would happen again after a crash: a side effect needs its own
  outbox and an idempotent receiver.
- Two *different* stores. A fresh box office store replaying the CRM's log
  grants every sponsor again *in that store* (once each, with the same ids): it
  is a new ticketing model, not the old one.
- Taking tickets back. An invoice raised after the grant, or a contract
  cancelled, does not revoke the tickets (the CRM has no such events).
- Tickets due before the conference sells any ticket: the account records that
  they are owed (``FreeTicketsOwed``) and :meth:`BoxOffice.issue_free_tickets`
  issues them later, with the same id.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.system import ProcessApplication
from eventsourcing.utils import get_topic

from workbench.examples.free_tickets.domainmodel import (
    SponsorAccount,
    free_tickets_id,
    free_tickets_reference,
)
from workbench.examples.sponsorship.domainmodel import Sponsor
from workbench.examples.ticketing.application import Ticketing
from workbench.examples.ticketing.domainmodel import (
    Conference,
    TicketingError,
    start_complimentary_purchase,
)

__all__ = ["BoxOffice"]

# The CRM's event classes (made by its @event decorators, so looked up by name).
REGISTERED, SIGNED, INVOICED, SETTLED = (
    cast(type[Sponsor.Event], getattr(Sponsor, name))
    for name in ("Registered", "ContractSigned", "InvoiceRaised", "InvoiceSettled")
)
_FOLLOWED = (REGISTERED, SIGNED, INVOICED, SETTLED)


class BoxOffice(ProcessApplication[UUID], Ticketing):
    """Sells tickets, and gives each signed and settled sponsor its free tickets, once.

    Follows the sponsorship CRM (see :mod:`workbench.examples.free_tickets.system`).
    Everything the policy decides is collected on the ``processing_event``, never
    saved directly, so it is recorded in the same transaction as the tracking
    record (the module docstring says why that makes the grant exactly once).

    >>> from datetime import date
    >>> from decimal import Decimal
    >>> from workbench.examples.free_tickets import running_system
    >>> from workbench.examples.sponsorship import Sponsorship
    >>> with running_system() as runner:
    ...     crm, box_office = runner.get(Sponsorship), runner.get(BoxOffice)
    ...     conf = box_office.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    ...     box_office.add_ticket_type(conf, "Standard", Decimal("450.00"), 100)
    ...     acme = crm.register_sponsor("Acme", "PHP18", contact="Wile")
    ...     crm.sign_contract(acme, "Silver")
    ...     crm.raise_invoice(acme, "INV-1", Decimal("5000.00"))
    ...     crm.settle_invoice(acme, "INV-1")
    ...     box_office.free_tickets_of(acme).ticket_count
    3
    """

    name = "BoxOffice"
    topics = tuple(get_topic(cls) for cls in _FOLLOWED)
    """Only the CRM events the policy uses are pulled."""
    free_ticket_type: ClassVar[str | None] = None
    """The ticket type of free tickets; ``None``: the conference's first ticket type."""
    conflict_attempts: ClassVar[int] = 3
    """How many times an event is processed again after a version conflict."""

    def policy(
        self, domain_event: DomainEventProtocol[Any], processing_event: ProcessingEvent[UUID]
    ) -> None:
        """Note the CRM's fact on the sponsor's account; issue free tickets when due."""
        if not isinstance(domain_event, _FOLLOWED):
            return
        fact: Any = domain_event
        kind = type(fact)
        account = self._account(fact.originator_id)
        if kind is REGISTERED:
            account.note_registration(fact.company, fact.conference_code)
        elif kind is SIGNED:
            account.note_contract(fact.level)
        elif kind is INVOICED:
            account.note_invoice(fact.invoice_number)
        else:
            account.note_settlement(fact.invoice_number)
        processing_event.collect_events(account, *self._grant(account))

    def process_event(self, domain_event: DomainEventProtocol[UUID], tracking: Tracking) -> None:
        """Process one CRM event; a position already processed is not processed again.

        When recording fails on a conflict, the store is asked: if this position is
        already tracked, the event was delivered twice and nothing more is done;
        otherwise another writer changed an aggregate the policy used (a ticket sold
        at the same moment, or a second box office granting the same tickets), and
        the event is processed again on what is now stored.
        """
        for attempt in range(1, self.conflict_attempts + 1):
            try:
                super().process_event(domain_event, tracking)
            except IntegrityError:
                if self.is_processed(tracking):
                    return
                if attempt == self.conflict_attempts:
                    raise
            else:
                return

    def is_processed(self, tracking: Tracking) -> bool:
        """Whether this box office has processed the leader's event at this position (or later)."""
        done = self.recorder.max_tracking_id(tracking.application_name)
        return done is not None and done >= tracking.notification_id

    # Commands and queries of the free tickets --------------------------------

    def issue_free_tickets(self, sponsor_id: UUID) -> UUID | None:
        """Issue a sponsor's free tickets if they are due and were owed; their purchase id.

        For tickets the policy could not issue (the conference was not scheduled,
        or sold no tickets yet): schedule it, then call this. Safe to call twice.
        """
        account = self.get_account(sponsor_id)
        self.save(account, *self._grant(account))
        return account.free_tickets

    def get_account(self, sponsor_id: UUID) -> SponsorAccount:
        """The box office's account of a sponsor (a clear error when it never heard of it)."""
        return self._get(SponsorAccount.create_id(sponsor_id), SponsorAccount, "sponsor account")

    def free_tickets_of(self, sponsor_id: UUID) -> Any:
        """The purchase holding a sponsor's free tickets (a clear error when none was issued)."""
        account = self.get_account(sponsor_id)
        if account.free_tickets is None:
            why = account.owed_because or "not signed and settled yet, as far as we have heard"
            raise TicketingError(f"no free tickets for {account.company or sponsor_id}: {why}")
        return self.get_purchase(account.free_tickets)

    # The policy's parts -------------------------------------------------------

    def _account(self, sponsor_id: UUID) -> SponsorAccount:
        account_id = SponsorAccount.create_id(sponsor_id)
        if account_id in self.repository:
            return self._get(account_id, SponsorAccount, "sponsor account")
        return SponsorAccount(sponsor_id=sponsor_id)

    def _grant(self, account: SponsorAccount) -> list[Any]:
        """The aggregates changed by issuing the account's due tickets (none if not due)."""
        count = account.tickets_due()
        if not count:
            return []
        code = str(account.conference_code)
        purchase_id = free_tickets_id(code, account.sponsor_id)
        if purchase_id in self.repository:  # issued before the account knew it
            issued = self.get_purchase(purchase_id)
            kind = next(iter(issued.quantities))
            account.record_free_tickets(purchase_id, kind, issued.ticket_count)
            return []
        conference_id = Conference.create_id(code)
        if conference_id not in self.repository:
            account.record_owed(f"conference {code} is not scheduled in the box office")
            return []
        conference = self.get_conference(conference_id)
        first = next(iter(conference.capacity), None)
        ticket_type = self.free_ticket_type or first
        if ticket_type is None:
            account.record_owed(f"{conference.name} sells no tickets yet")
            return []
        delegates = [f"{account.company} guest {n}" for n in range(1, count + 1)]
        try:
            purchase = start_complimentary_purchase(
                conference,
                free_tickets_reference(code, account.sponsor_id),
                str(account.company),
                ticket_type,
                delegates,
            )
        except TicketingError as e:  # e.g. sold out: owed, not lost
            account.record_owed(str(e))
            return []
        account.record_free_tickets(purchase.id, ticket_type, count)
        return [conference, purchase]
