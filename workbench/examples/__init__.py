"""The teaching domains, written the way you would write your own application.

- :mod:`workbench.examples.ticketing`: conferences, ticket purchases, timeouts.
- :mod:`workbench.examples.sponsorship`: a sponsorship CRM (contracts, invoices).
- :mod:`workbench.examples.free_tickets`: the two as an eventsourcing ``System``:
  the box office follows the CRM and grants sponsors free tickets exactly once.
- :mod:`workbench.examples.history`: a seeded generator of believable histories.
"""
