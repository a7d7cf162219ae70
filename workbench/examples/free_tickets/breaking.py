"""Break the free-tickets system on purpose, and see that nothing is granted twice.

Each helper does one bad thing and returns what happened, in plain words when
printed:

- :func:`deliver_twice`: give the box office one CRM event twice.
- :func:`replay`: lose the box office's tracking record and process the CRM's
  whole log again, from position 1, into the same store.
- :func:`crash_box_office`: run the box office in a child process, kill it with
  ``SIGKILL`` before, during or after the transaction that records a grant,
  restart it, and look at the store after each step.

>>> from workbench.examples.free_tickets import running_system
>>> with running_system("memory") as runner:
...     sponsors = record_sample(runner)
...     print(deliver_twice(runner.get(BoxOffice), position=1).verdict)
nothing recorded: the box office had already processed position 1
"""

from __future__ import annotations

import html
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

from workbench.examples.free_tickets.application import BoxOffice
from workbench.examples.free_tickets.system import running_system, system_env
from workbench.examples.sponsorship.application import Sponsorship
from workbench.stores import Store, StoreError, parse_store

__all__ = [
    "CRASH_POINTS",
    "Crash",
    "Delivery",
    "Grants",
    "crash_box_office",
    "deliver_twice",
    "forget_tracking",
    "grants",
    "open_alone",
    "record_sample",
    "replay",
]

LEADER = Sponsorship.name
CrashPoint = Literal["before", "during", "after"]
CRASH_POINTS: dict[str, str] = {
    "before": "after the policy decided to grant, before anything was written",
    "during": "inside the transaction that writes the grant and the tracking record",
    "after": "just after that transaction committed, before the next event",
}
"""Where :func:`crash_box_office` can kill the box office, in plain words."""

TApp = TypeVar("TApp", bound=Application[Any])


def open_alone(app_class: type[TApp], store: str | Path | Store | None = "memory") -> TApp:
    """One application of the system on ``store``, without a runner (nothing follows it).

    For the CRM recording while the box office is down, or for looking at a store.
    """
    return app_class(env=system_env(store))


class HasApplications(Protocol):
    """A running system: eventsourcing's runners, or :func:`workbench.systems.open_system`'s run."""

    def get(self, cls: type[TApp]) -> TApp: ...


def record_sample(
    where: HasApplications | tuple[Sponsorship, BoxOffice] | str | Path | Store | None = "memory",
) -> dict[str, UUID]:
    """A conference on sale in the box office, and three sponsors signed and settled.

    Gold (Acme), Silver (Globex), Bronze (Initech), each with two invoices settled
    the other way round (the second first). ``where`` is a running system (the
    box office grants as the CRM records), the two applications, or a store (they
    are opened alone: the box office processes nothing yet). Returns each
    company's sponsor id.
    """
    if isinstance(where, tuple):
        return _record_sample(*where)
    if isinstance(where, str | Path | Store) or where is None:
        crm, box_office = open_alone(Sponsorship, where), open_alone(BoxOffice, where)
        try:
            return _record_sample(crm, box_office)
        finally:
            crm.close()
            box_office.close()
    return _record_sample(where.get(Sponsorship), where.get(BoxOffice))


def _record_sample(crm: Sponsorship, box_office: BoxOffice) -> dict[str, UUID]:
    conference = box_office.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
    box_office.add_ticket_type(conference, "Standard", Decimal("450.00"), 100)
    sponsors = {}
    for company, level in (("Acme", "Gold"), ("Globex", "Silver"), ("Initech", "Bronze")):
        sponsor = crm.register_sponsor(company, "PHP18", contact=f"{company} events team")
        crm.sign_contract(sponsor, level)  # type: ignore[arg-type]
        crm.raise_invoice(sponsor, f"{company}-1", Decimal("1000.00"))
        crm.raise_invoice(sponsor, f"{company}-2", Decimal("1000.00"))
        crm.settle_invoice(sponsor, f"{company}-2")
        crm.settle_invoice(sponsor, f"{company}-1")
        sponsors[company] = sponsor
    return sponsors


# What the store says ----------------------------------------------------------------


class _ShowsItself:
    """Shown in a notebook as its plain-words ``str``."""

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


@dataclass(frozen=True)
class Grants(_ShowsItself):
    """What a box office's store holds about free tickets, read from its events."""

    tracked: int | None
    """The last CRM position the box office processed (``None``: none yet)."""
    leader_position: int | None
    """The last position in the CRM's log."""
    purchases: dict[str, int] = field(default_factory=dict)
    """Company → free-ticket purchases recorded for it (exactly once: 1 each)."""
    tickets: dict[str, int] = field(default_factory=dict)
    """Company → free tickets in those purchases."""

    def __str__(self) -> str:
        done = "nothing" if self.tracked is None else f"up to position {self.tracked}"
        granted = ", ".join(f"{c}: {n} ticket(s)" for c, n in self.tickets.items())
        of = "" if self.leader_position is None else f" of the CRM's {self.leader_position}"
        return f"processed {done}{of}; free tickets: {granted or 'none'}"


def grants(box_office: BoxOffice, crm: Sponsorship | None = None) -> Grants:
    """Count the free-ticket purchases in the box office's store, per company."""
    purchases: dict[str, int] = {}
    tickets: dict[str, int] = {}
    start: int | None = 1
    while start is not None:
        page = box_office.recorder.select_notifications(start=start, limit=500)
        for notification in page:
            if not notification.topic.endswith("TicketPurchase.Started"):
                continue
            started: Any = box_office.mapper.to_domain_event(notification)
            if "-SPONSOR-" in started.reference:
                purchases[started.customer] = purchases.get(started.customer, 0) + 1
                count = sum(started.quantities.values())
                tickets[started.customer] = tickets.get(started.customer, 0) + count
        start = page[-1].id + 1 if len(page) == 500 else None
    return Grants(
        tracked=box_office.recorder.max_tracking_id(LEADER),
        leader_position=crm.recorder.max_notification_id() if crm is not None else None,
        purchases=purchases,
        tickets=tickets,
    )


# Deliver twice ----------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery(_ShowsItself):
    """What delivering one CRM event twice to the box office did."""

    position: int
    """The event's position in the CRM's log."""
    event: str
    """The event's type, e.g. ``Sponsor.InvoiceSettled``."""
    processed_before: bool
    """Whether the box office had processed this position before the first delivery."""
    recorded: tuple[int, int]
    """Events the box office recorded on the first and on the second delivery."""

    @property
    def verdict(self) -> str:
        """One line: what the second delivery (and the first) recorded."""
        if self.processed_before:
            return (
                f"nothing recorded: the box office had already processed position {self.position}"
            )
        return (
            f"first delivery recorded {self.recorded[0]} event(s); the second recorded "
            f"{self.recorded[1]}: position {self.position} was tracked by then"
        )

    def __str__(self) -> str:
        return (
            f"{self.event} at position {self.position}, delivered twice: {self.verdict}. "
            "Why: the tracking record (the last position processed) is written in the same "
            "transaction as what the policy decided, and the store refuses a position that "
            "is not after it, so the whole second transaction is refused."
        )


def deliver_twice(box_office: BoxOffice, position: int | None = None) -> Delivery:
    """Give the box office the CRM's event at ``position`` (default: the last one) twice.

    Calls the box office's own ``process_event`` twice with the same event and the
    same tracking position, as a message bus that redelivers would.
    """
    reader = box_office.readers.get(LEADER)
    if reader is None:
        raise StoreError(
            "this box office follows no CRM: take it from a running system "
            "(runner.get(BoxOffice)), or call "
            "box_office.follow('Sponsorship', crm.notification_log)"
        )
    log = reader.notification_log
    if position is None:
        notification = None
        for notification in reader.read(start=1):  # noqa: B007 - the last one is wanted
            pass
    else:
        found = log.select(start=position, limit=1)
        notification = found[0] if found and found[0].id == position else None
    if notification is None:
        raise StoreError(
            f"the CRM's log has no event at position {position}"
            if position is not None
            else "the CRM's log is empty: record something first (record_sample)"
        )
    tracking = Tracking(application_name=LEADER, notification_id=notification.id)
    processed_before = box_office.is_processed(tracking)
    event = box_office.mappers[LEADER].to_domain_event(notification)
    counts = []
    for _ in range(2):
        before = box_office.recorder.max_notification_id() or 0
        box_office.process_event(event, tracking)
        counts.append((box_office.recorder.max_notification_id() or 0) - before)
    kind = notification.topic.rpartition(":")[2]
    return Delivery(notification.id, kind, processed_before, (counts[0], counts[1]))


# Replay -----------------------------------------------------------------------------


def forget_tracking(box_office: BoxOffice) -> None:
    """Delete the box office's tracking record of the CRM, as a lost table or a restore would.

    The box office's own events stay. Its next pull starts at the CRM's first event.
    """
    recorder: Any = box_office.recorder
    kind = type(recorder).__module__
    if kind == "eventsourcing.popo":
        with recorder._database_lock:
            recorder._max_tracking_ids.pop(LEADER, None)
    elif kind == "eventsourcing.sqlite":
        with recorder.datastore.transaction(commit=True) as cursor:
            cursor.execute("DELETE FROM tracking WHERE application_name = ?", (LEADER,))
    elif kind == "eventsourcing.postgres":
        from psycopg.sql import SQL, Identifier

        table = Identifier(recorder.datastore.schema or "public", recorder.tracking_table_name)
        with recorder.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                SQL("DELETE FROM {} WHERE application_name = %s").format(table), (LEADER,)
            )
    else:
        raise StoreError(f"cannot forget the tracking of a {type(recorder).__name__}")


def replay(box_office: BoxOffice) -> int:
    """Forget the tracking record and process the CRM's whole log again; events recorded.

    0 means the replay changed nothing: every fact was already noted, every grant
    already made.
    """
    forget_tracking(box_office)
    before = box_office.recorder.max_notification_id() or 0
    box_office.pull_and_process(LEADER)
    return (box_office.recorder.max_notification_id() or 0) - before


# Kill it mid-way --------------------------------------------------------------------


@dataclass(frozen=True)
class Crash(_ShowsItself):
    """What killing the box office at one point of a grant, then restarting it, did."""

    at: str
    """Where it was killed: a key of :data:`CRASH_POINTS`."""
    position: int
    """The CRM position it was processing when killed."""
    after_kill: Grants
    """The store just after the kill."""
    after_restart: Grants
    """The store after a restarted box office caught up."""

    def __str__(self) -> str:
        kept = {
            "before": "nothing of it was written: neither tickets nor tracking",
            "during": "the database rolled the open transaction back: neither tickets nor tracking",
            "after": "the transaction had committed: the tickets AND the tracking record",
        }[self.at]
        again = (
            f"pulled from position {self.position + 1} on: the grant was not repeated"
            if self.at == "after"
            else f"processed position {self.position} again and granted, once"
        )
        return (
            f"Killed (SIGKILL) {CRASH_POINTS[self.at]}, at position {self.position}: {kept}.\n"
            f"  after the kill:    {self.after_kill}\n"
            f"  after the restart: {self.after_restart}\n"
            f"On restart the box office {again}."
        )


def crash_box_office(
    store: str | Path | Store,
    at: CrashPoint = "during",
    *,
    grant: int = 1,
    timeout: float = 60.0,
) -> Crash:
    """Kill a box office in a child process at a point of its ``grant``-th grant; restart it.

    ``store`` must outlive a process (an SQLite folder or PostgreSQL), with CRM
    events the box office has not processed yet (see :func:`record_sample`). The
    child stops at the hooked point and waits; this process kills it with
    ``os.kill(pid, SIGKILL)``, looks at the store, then restarts the box office
    here (a new process for it: it catches up from its tracking record), and
    looks again.
    """
    if at not in CRASH_POINTS:
        raise ValueError(f"'{at}' is not a crash point (points: {', '.join(CRASH_POINTS)})")
    parsed = parse_store(store)
    if parsed.kind == "memory" or parsed.sqlite_memory:
        raise StoreError(
            "an in-memory store dies with the process that holds it: crash the box "
            "office on an SQLite folder or a PostgreSQL URL"
        )
    target = str(store)
    child = _start_child(target, at, grant)
    try:
        position = _wait_for_hook(child, at, timeout)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=timeout)
    finally:
        if child.poll() is None:  # pragma: no cover - only when waiting failed
            child.kill()
            child.wait()
    after_kill = _look(target)
    with running_system(target):  # the restart: a new box office process catches up
        pass
    return Crash(at, position, after_kill, _look(target))


def _look(store: str) -> Grants:
    crm, box_office = open_alone(Sponsorship, store), open_alone(BoxOffice, store)
    try:
        return grants(box_office, crm)
    finally:
        crm.close()
        box_office.close()


def _start_child(store: str, at: str, grant: int) -> subprocess.Popen[str]:
    root = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, "-m", "workbench.examples.free_tickets.crash", store, at, str(grant)]
    return subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for_hook(child: subprocess.Popen[str], at: str, timeout: float) -> int:
    """The position the child reports from its hook (it then waits to be killed)."""
    assert child.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([child.stdout], [], [], 0.1)
        if ready:
            line = child.stdout.readline()
            if line.startswith("HOOK "):
                return int(line.split()[2])
            if not line and child.poll() is not None:
                break
    err = child.stderr.read() if child.stderr and child.poll() is not None else ""
    raise RuntimeError(
        f"the box office never reached '{at}' of a grant (nothing left to grant? "
        f"record CRM events it has not processed first){': ' + err.strip() if err else ''}"
    )
