"""A seeded generator of believable conference-ticketing histories.

Months of ticket sales for a few conferences: early-bird and standard prices,
discount codes, purchases that time out, cancelled tickets, and sponsors whose
signed and settled contracts bring free tickets. The same seed gives the same
events, ids included (every id is derived from a name or a reference), and the
same timestamps (they come from a :class:`~workbench.clock.ManualClock`).
The sample paths, :func:`copy_sample` and :func:`workspace` live in
:mod:`workbench.samples`; they are importable from here too.

:func:`write_history` (what ``workbench generate`` runs) writes a history into
a store all at once: into an SQLite file (or a folder of them) under a
temporary name, renamed when complete, so an interrupted run never leaves a
history that looks complete.

>>> from workbench.examples.ticketing import Ticketing
>>> from workbench.stores import open_app
>>> app = open_app(Ticketing)
>>> summary = generate_history(app, events=500, seed=1)
>>> summary.events >= 500
True
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import os
import random
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from workbench.clock import ManualClock, use_clock
from workbench.examples.sponsorship.application import Sponsorship
from workbench.examples.sponsorship.domainmodel import FREE_TICKETS, LEVELS, Sponsor
from workbench.examples.ticketing.application import Ticketing
from workbench.examples.ticketing.domainmodel import (
    RESERVATION_MINUTES,
    Conference,
    TicketingError,
    TicketPurchase,
    cancel_purchased_ticket,
    start_complimentary_purchase,
    start_purchase,
    time_out_purchase,
)
from workbench.samples import (
    SAMPLE_DIR,
    SAMPLE_SPONSORSHIP,
    SAMPLE_TICKETING,
    WORKSPACE_ENV,
    copy_sample,
    workspace,
)
from workbench.stores import (
    Store,
    StoreError,
    open_app,
    parse_store,
    read_sqlite,
    sqlite_event_tables,
)

__all__ = [
    "SAMPLE_DIR",
    "SAMPLE_EVENTS",
    "SAMPLE_SEED",
    "SAMPLE_SPONSORSHIP",
    "SAMPLE_TICKETING",
    "WORKSPACE_ENV",
    "HistorySummary",
    "copy_sample",
    "generate_history",
    "workspace",
    "write_history",
]

SAMPLE_EVENTS = 4000
SAMPLE_SEED = 2018

EVENTS_PER_CONFERENCE = 60_000
EVENTS_PER_PURCHASE = 3.2  # reserved + started + paid, plus timeouts and cancellations

CITIES = [
    "Montreal", "Vancouver", "Toronto", "Lyon", "Berlin", "Lisbon", "Austin", "Dublin",
    "Krakow", "Porto", "Oslo", "Seville", "Chicago", "Ghent", "Tallinn", "Bologna",
]  # fmt: skip
FIRST = [
    "Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia",
    "Linus", "Frances", "Guido", "Katherine", "Niklaus", "Sophie", "John", "Hedy", "Tim",
    "Rasmus", "Fabien", "Sara", "Nikita", "Chris", "Amira", "Jonas", "Mei", "Olu", "Priya",
]  # fmt: skip
LAST = [
    "Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson",
    "Perlman", "Torvalds", "Allen", "van Rossum", "Johnson", "Wirth", "Wilson", "Backus",
    "Lamarr", "Berners-Lee", "Lerdorf", "Potencier", "Golemon", "Popov", "Riley", "Haddad",
    "Berg", "Chen", "Adeyemi", "Raman",
]  # fmt: skip
COMPANIES = [
    "Acme", "Initech", "Globex", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises",
    "Cyberdyne", "Soylent", "Tyrell", "Wonka", "Vandelay Industries", "Pied Piper", "Aperture",
]  # fmt: skip
TICKET_TYPES = [
    ("Early bird", Decimal("395.00")),
    ("Standard", Decimal("545.00")),
    ("Workshop day", Decimal("295.00")),
    ("Student", Decimal("195.00")),
]
DISCOUNTS = [("COMMUNITY15", 15), ("TEAM10", 10), ("SPEAKER", 100)]


@dataclass
class HistorySummary:
    """What a generator run wrote."""

    events: int = 0
    """Events recorded in the ticketing application."""
    sponsorship_events: int = 0
    """Events recorded in the sponsorship application (0 if it was not given)."""
    conferences: int = 0
    purchases: int = 0
    paid: int = 0
    timed_out: int = 0
    cancelled_tickets: int = 0
    sold_out_refusals: int = 0
    sponsors: int = 0
    complimentary_purchases: int = 0
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None


@dataclass(order=True)
class _Action:
    when: datetime
    seq: int
    run: Callable[[], None] = field(compare=False)


class _Generator:
    def __init__(
        self,
        ticketing: Ticketing,
        sponsorship: Sponsorship | None,
        events: int,
        seed: int,
        start: datetime,
        batch_size: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.ticketing = ticketing
        self.sponsorship = sponsorship
        self.target = events
        self.rng = random.Random(seed)
        self.clock = ManualClock(start)
        self.start = start
        self.batch_size = batch_size
        self.progress = progress
        self.queue: list[_Action] = []
        self.seq = itertools.count()
        self.pending: list[DomainEventProtocol[Any]] = []
        self.pending_crm: list[DomainEventProtocol[Any]] = []
        self.summary = HistorySummary()
        self.conferences: dict[str, Conference] = {}
        self.purchase_numbers = itertools.count(1)

    # Scheduling -------------------------------------------------------------

    def at(self, when: datetime, run: Callable[[], None]) -> None:
        heapq.heappush(self.queue, _Action(when, next(self.seq), run))

    def record(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            events = aggregate.collect_events()
            if isinstance(aggregate, Sponsor):
                if self.sponsorship is not None:
                    self.pending_crm.extend(events)
                    self.summary.sponsorship_events += len(events)
            else:
                self.pending.extend(events)
                self.summary.events += len(events)
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.ticketing.save(*self.pending)
            if self.progress:
                self.progress(len(self.pending))
            self.pending = []
        if self.pending_crm and self.sponsorship is not None:
            self.sponsorship.save(*self.pending_crm)
        self.pending_crm = []

    def run(self) -> HistorySummary:
        count = max(3, math.ceil(self.target / EVENTS_PER_CONFERENCE))
        per_conference = self.target / count / EVENTS_PER_PURCHASE
        for index in range(count):
            self.plan_conference(index, per_conference)
        with use_clock(self.clock):
            while self.summary.events < self.target:
                if not self.queue:  # every sale is over and still too few events: one more
                    missing = self.target - self.summary.events
                    self.plan_conference(count, max(10.0, missing / EVENTS_PER_PURCHASE))
                    count += 1
                action = heapq.heappop(self.queue)
                self.clock.set(max(action.when, self.clock.now()))
                if self.summary.first_timestamp is None:
                    self.summary.first_timestamp = self.clock.now()
                action.run()
            self.flush()
        self.summary.last_timestamp = self.clock.now()
        return self.summary

    # A conference and its sales ---------------------------------------------

    def plan_conference(self, index: int, purchases: float) -> None:
        rng = self.rng
        city = CITIES[index % len(CITIES)]
        earliest = self.start + timedelta(days=75 * index)
        if earliest < self.clock.now():  # planned late: open the next day
            earliest = self.clock.now() + timedelta(days=1)
        opens = earliest + timedelta(hours=rng.randint(8, 11))
        starts_on = (opens + timedelta(days=150)).date()
        code = f"{city[:3].upper()}{starts_on:%y}" + (
            f"-{index // len(CITIES) + 1}" if index >= len(CITIES) else ""
        )
        name = f"PHP Conference {city} {starts_on.year}"
        expected_tickets = purchases * 1.45
        capacity = {
            "Early bird": max(5, int(expected_tickets * 0.22)),
            "Standard": max(10, int(expected_tickets * 0.62)),
            "Workshop day": max(5, int(expected_tickets * 0.16)),
            "Student": max(3, int(expected_tickets * 0.07)),
        }

        def open_sales() -> None:
            conference = Conference(code=code, name=name, starts_on=starts_on)
            for ticket_type, price in TICKET_TYPES:
                conference.add_ticket_type(ticket_type, price, capacity[ticket_type])
            for discount, percent in DISCOUNTS:
                conference.create_discount_code(discount, percent)
            self.conferences[code] = conference
            self.summary.conferences += 1
            self.record(conference)

        self.at(opens, open_sales)
        early_bird_ends = opens + timedelta(days=60)
        self.at(early_bird_ends, lambda: self.end_sale(code, "Early bird"))
        window = timedelta(days=148)
        arrivals = sorted(rng.random() ** 0.8 for _ in range(max(1, int(purchases))))
        for fraction in arrivals:
            when = opens + timedelta(minutes=5) + window * fraction
            self.at(when, functools.partial(self.arrive, code))
        for company in rng.sample(COMPANIES, k=rng.randint(3, 6)):
            day = timedelta(days=rng.uniform(1, 40), hours=rng.uniform(0, 8))
            self.at(opens + day, functools.partial(self.register_sponsor, company, code))

    def end_sale(self, code: str, ticket_type: str) -> None:
        conference = self.conferences[code]
        conference.end_sale(ticket_type)
        self.record(conference)

    def arrive(self, code: str) -> None:
        rng = self.rng
        conference = self.conferences[code]
        if conference.on_sale["Early bird"] and rng.random() < 0.75:
            main = "Early bird"
        else:
            main = rng.choices(["Standard", "Student"], weights=[9, 1])[0]
        quantity = rng.choices([1, 2, 3, 4, 5], weights=[70, 18, 6, 4, 2])[0]
        if main == "Early bird" and conference.remaining(main) < quantity:
            main = "Standard"  # early bird sold out: most people buy a standard ticket
        quantities = {main: quantity}
        if rng.random() < 0.15:
            quantities["Workshop day"] = rng.randint(1, 2)
        discount = rng.choice(DISCOUNTS[:2])[0] if rng.random() < 0.12 else None
        if rng.random() < 0.01:
            discount = "SPEAKER"
        customer = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        reference = f"{code}-{next(self.purchase_numbers):06d}"
        try:
            purchase = start_purchase(conference, reference, customer, quantities, discount)
        except TicketingError:
            self.summary.sold_out_refusals += 1
            return
        self.summary.purchases += 1
        self.record(conference, purchase)
        now = self.clock.now()
        if rng.random() < 0.84:
            delay = timedelta(minutes=rng.uniform(1, RESERVATION_MINUTES - 2))
            self.at(now + delay, lambda: self.pay(purchase))
        self.at(now + timedelta(minutes=RESERVATION_MINUTES), lambda: self.time_out(purchase))

    def pay(self, purchase: TicketPurchase) -> None:
        rng = self.rng
        delegates = [purchase.customer] + [
            f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(purchase.ticket_count - 1)
        ]
        purchase.pay(f"PAY-{rng.getrandbits(40):010X}", delegates)
        self.summary.paid += 1
        self.record(purchase)
        if rng.random() < 0.05:
            later = timedelta(days=rng.uniform(1, 30))
            ticket = rng.randint(1, purchase.ticket_count)
            self.at(self.clock.now() + later, lambda: self.cancel(purchase, ticket))

    def time_out(self, purchase: TicketPurchase) -> None:
        if purchase.status != "awaiting payment":
            return
        conference = self.conferences_by_id(purchase)
        time_out_purchase(purchase, conference)
        self.summary.timed_out += 1
        self.record(purchase, conference)

    def cancel(self, purchase: TicketPurchase, ticket: int) -> None:
        conference = self.conferences_by_id(purchase)
        reason = self.rng.choice(["cannot travel", "changed jobs", "duplicate booking", "ill"])
        cancel_purchased_ticket(purchase, conference, ticket, reason)
        self.summary.cancelled_tickets += 1
        self.record(purchase, conference)

    def conferences_by_id(self, purchase: TicketPurchase) -> Conference:
        for conference in self.conferences.values():
            if conference.id == purchase.conference_id:
                return conference
        raise LookupError(purchase.conference_id)

    # Sponsors ---------------------------------------------------------------

    def register_sponsor(self, company: str, code: str) -> None:
        rng = self.rng
        contact = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        sponsor = Sponsor(company=company, conference_code=code, contact=contact)
        self.summary.sponsors += 1
        self.record(sponsor)
        if rng.random() < 0.8:
            level = rng.choices(list(LEVELS), weights=[1, 2, 3])[0]
            self.at(
                self.clock.now() + timedelta(days=rng.uniform(3, 20)),
                lambda: self.sign(sponsor, level),
            )

    def sign(self, sponsor: Sponsor, level: Any) -> None:
        rng = self.rng
        sponsor.sign_contract(level)
        invoice = (
            f"INV-{sponsor.conference_code}-{len(sponsor.invoices) + 1:02d}-{rng.randint(100, 999)}"
        )
        sponsor.raise_invoice(invoice, LEVELS[level])
        self.record(sponsor)
        if rng.random() < 0.85:
            self.at(
                self.clock.now() + timedelta(days=rng.uniform(10, 40)),
                lambda: self.settle(sponsor, invoice),
            )

    def settle(self, sponsor: Sponsor, invoice: str) -> None:
        sponsor.settle_invoice(invoice)
        self.record(sponsor)
        assert sponsor.level is not None
        conference = self.conferences[sponsor.conference_code]
        delegates = [
            f"{sponsor.company} guest {n}" for n in range(1, FREE_TICKETS[sponsor.level] + 1)
        ]
        reference = f"{conference.code}-COMP-{sponsor.company.upper().replace(' ', '')}"
        try:
            purchase = start_complimentary_purchase(
                conference, reference, sponsor.company, "Standard", delegates
            )
        except TicketingError:
            self.summary.sold_out_refusals += 1
            return
        self.summary.complimentary_purchases += 1
        self.record(conference, purchase)


def generate_history(
    ticketing: Ticketing,
    sponsorship: Sponsorship | None = None,
    *,
    events: int = SAMPLE_EVENTS,
    seed: int = SAMPLE_SEED,
    start: datetime = datetime(2017, 9, 4, 9, 0, tzinfo=UTC),
    batch_size: int = 5_000,
    progress: bool | Callable[[int], None] = False,
) -> HistorySummary:
    """Write a believable history of about ``events`` ticketing events.

    The run stops at the first command that takes the ticketing history to
    ``events`` events (so it may write a few more). Sponsorship events go to
    ``sponsorship`` when it is given (its free tickets are issued in ticketing
    either way). ``progress=True`` shows a progress bar.

    Refuses to write into an application that already has events, so a
    history is never mixed into another one. The events are saved in batches
    of ``batch_size``: an interrupted run leaves the batches saved so far (use
    :func:`write_history` to write a store all at once).
    """
    _check_arguments(events, batch_size)
    for app in (ticketing, sponsorship):
        if app is not None and (app.recorder.max_notification_id() or 0) > 0:
            raise ValueError(
                f"the {app.name} store already holds events; generate into a new, empty store"
            )
    bar = None
    callback: Callable[[int], None] | None = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=events, unit="event", desc="generating history")
        progress_bar = bar

        def callback(n: int) -> None:
            progress_bar.update(n)

    elif progress is not False:
        callback = progress
    try:
        generator = _Generator(ticketing, sponsorship, events, seed, start, batch_size, callback)
        return generator.run()
    finally:
        if bar is not None:
            bar.close()


def _check_arguments(events: int, batch_size: int) -> None:
    if isinstance(events, bool) or not isinstance(events, int) or events < 1:
        raise ValueError(f"events must be a whole number of at least 1 (got {events!r})")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1 (got {batch_size!r})")


PARTIAL = ".partial"
"""Added to a file's name while it is being written (see :func:`write_history`)."""


def write_history(
    store: str | Path | Store,
    *,
    events: int = SAMPLE_EVENTS,
    seed: int = SAMPLE_SEED,
    folder: bool = False,
    progress: bool | Callable[[int], None] = False,
    batch_size: int = 5_000,
) -> HistorySummary:
    """Write a generated history into a new (or empty) store, all at once.

    An SQLite file gets the ticketing history; a folder (an existing one, or
    any path with ``folder=True``) gets ``ticketing.sqlite`` and
    ``sponsorship.sqlite``. Each file is written under a temporary name
    (``ticketing.sqlite.partial``) and renamed when the history is complete:
    an interrupted run (Ctrl-C, an error, a kill) never leaves a file that
    looks like a complete history. After an exception nothing is left; after
    a kill, a ``.partial`` file, which the next run replaces. In a folder the
    sponsorship file is renamed first, the ticketing file last.

    Bad arguments and stores that already hold events are refused before
    anything is created. A PostgreSQL (or in-memory) store is written in
    place, batch by batch, as :func:`generate_history` does: an interrupted
    run leaves the batches saved so far there.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "history.sqlite"
    >>> write_history(path, events=200, seed=1).events >= 200
    True
    >>> sorted(p.name for p in path.parent.iterdir())
    ['history.sqlite']
    """
    _check_arguments(events, batch_size)
    if folder and isinstance(store, str | Path) and "://" not in str(store):
        parsed = Store("sqlite", path=Path(store).expanduser())  # a folder yet to be made
    else:
        parsed = parse_store(store)
    in_files = parsed.kind == "sqlite" and not parsed.sqlite_memory and parsed.path is not None
    if not in_files:
        if folder:
            raise StoreError(f"--folder needs a folder path, not the {parsed}")
        ticketing = open_app(Ticketing, parsed)
        sponsorship = open_app(Sponsorship, parsed) if parsed.kind != "sqlite" else None
        try:
            return generate_history(
                ticketing,
                sponsorship,
                events=events,
                seed=seed,
                progress=progress,
                batch_size=batch_size,
            )
        finally:
            ticketing.close()
            if sponsorship is not None:
                sponsorship.close()
    assert parsed.path is not None
    path = parsed.path
    if folder or path.is_dir():
        if path.exists() and not path.is_dir():
            raise StoreError(f"{path} is a file, not a folder: name a folder, or drop --folder")
        made = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(parents=True, exist_ok=True)
        try:
            targets = [parsed.sqlite_file(Sponsorship.name), parsed.sqlite_file(Ticketing.name)]
            return _write_files(targets, events, seed, progress, batch_size)
        finally:
            for created in made:  # the deepest first: what this run made and left empty
                if created.is_dir() and not any(created.iterdir()):
                    created.rmdir()
    if not path.parent.exists():
        raise StoreError(f"cannot create {path}: the folder {path.parent} does not exist")
    return _write_files([path], events, seed, progress, batch_size)


def _write_files(
    targets: list[Path],
    events: int,
    seed: int,
    progress: bool | Callable[[int], None],
    batch_size: int,
) -> HistorySummary:
    """Generate into ``target.partial`` files, then rename them (the last target last)."""
    for target in targets:
        _refuse_events_in(target)
    partials = [target.with_name(target.name + PARTIAL) for target in targets]
    for partial in partials:
        _remove_sqlite_file(partial)  # left by a run that was killed
    apps: list[Any] = []
    try:
        ticketing = open_app(Ticketing, Store("sqlite", path=partials[-1]))
        apps.append(ticketing)
        sponsorship = None
        if len(partials) > 1:
            sponsorship = open_app(Sponsorship, Store("sqlite", path=partials[0]))
            apps.append(sponsorship)
        summary = generate_history(
            ticketing,
            sponsorship,
            events=events,
            seed=seed,
            progress=progress,
            batch_size=batch_size,
        )
        for app in apps:
            app.close()
        apps = []
        for partial, target in zip(partials, targets, strict=True):
            with closing(sqlite3.connect(partial)) as conn:
                conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            _remove_sqlite_file(target)  # an empty store, or nothing
            os.replace(partial, target)
        return summary
    except BaseException:
        for app in apps:
            app.close()
        for partial in partials:
            _remove_sqlite_file(partial)
        raise


def _refuse_events_in(path: Path) -> None:
    """Raise unless ``path`` is absent, empty, or an event store without events."""
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return
    tables = sqlite_event_tables(path)  # refuses folders and files that are not SQLite
    with read_sqlite(path) as conn:
        if "stored_events" not in tables:
            if conn.execute("SELECT name FROM sqlite_master").fetchall():
                raise StoreError(
                    f"{path} is an SQLite database but not an event store; generate into a new file"
                )
            return
        held = conn.execute("SELECT EXISTS (SELECT 1 FROM stored_events)").fetchone()[0]
    if held:
        raise ValueError(f"{path} already holds events; generate into a new, empty store")


def _remove_sqlite_file(path: Path) -> None:
    for name in (path.name, path.name + "-wal", path.name + "-shm", path.name + "-journal"):
        path.with_name(name).unlink(missing_ok=True)
