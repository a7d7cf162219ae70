"""Sponsors' free tickets as a real eventsourcing system, granted exactly once.

The sponsorship CRM (:class:`~workbench.examples.sponsorship.Sponsorship`) leads;
the box office (:class:`BoxOffice`, a Ticketing application that is also a
``ProcessApplication``) follows it and issues each signed and settled sponsor
its free tickets: 5 / 3 / 1 for Gold / Silver / Bronze.

- :mod:`~workbench.examples.free_tickets.domainmodel`: the box office's own
  record of a sponsor (:class:`SponsorAccount`) and the grant's deterministic id.
- :mod:`~workbench.examples.free_tickets.application`: :class:`BoxOffice` and its
  policy; its docstring says why the grant is exactly once, and what is not covered.
- :mod:`~workbench.examples.free_tickets.system`: the ``System`` (its ``system``),
  :func:`start_system`, :func:`running_system`.
- :mod:`~workbench.examples.free_tickets.breaking`: break it on purpose: deliver
  an event twice, lose the tracking, kill the box office mid-way.
"""

from workbench.examples.free_tickets.application import BoxOffice
from workbench.examples.free_tickets.domainmodel import (
    SponsorAccount,
    free_tickets_id,
    free_tickets_reference,
)
from workbench.examples.free_tickets.system import (
    catch_up,
    running_system,
    start_system,
    system_env,
)

__all__ = [
    "BoxOffice",
    "SponsorAccount",
    "catch_up",
    "free_tickets_id",
    "free_tickets_reference",
    "running_system",
    "start_system",
    "system_env",
]
