"""The sponsor free-tickets System: Sponsorship leads, BoxOffice follows; grants exactly once.

Each behaviour on memory, an SQLite folder and PostgreSQL; the kills on the two
stores that outlive a process.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import pytest
from eventsourcing.persistence import Tracking
from eventsourcing.system import MultiThreadedRunner, SingleThreadedRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.examples.free_tickets import (
    BoxOffice,
    SponsorAccount,
    free_tickets_id,
    free_tickets_reference,
    running_system,
    system_env,
)
from workbench.examples.free_tickets.breaking import (
    crash_box_office,
    deliver_twice,
    grants,
    open_alone,
    record_sample,
    replay,
)
from workbench.examples.sponsorship import FREE_TICKETS, Sponsor, Sponsorship, SponsorshipError
from workbench.examples.ticketing import Conference, TicketingError
from workbench.stores import StoreError

EXPECTED = {"Acme": 5, "Globex": 3, "Initech": 1}
ONCE_EACH = dict.fromkeys(EXPECTED, 1)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def system_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store for the whole system: in memory, an SQLite folder, a PostgreSQL schema."""
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite":
        return str(tmp_path)
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def lasting_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store that outlives a killed process: an SQLite folder or a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path)
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def running(system_store: str) -> Iterator[Any]:
    with running_system(system_store) as runner:
        yield runner


def box_office_down(store: str) -> tuple[Sponsorship, BoxOffice]:
    """The CRM and a box office on ``store`` that follows it but is never prompted."""
    crm, box_office = open_alone(Sponsorship, store), open_alone(BoxOffice, store)
    box_office.follow(Sponsorship.name, crm.notification_log)
    return crm, box_office


# Grants ----------------------------------------------------------------------------


def test_gold_silver_bronze_get_5_3_1_free_tickets_once(running: Any) -> None:
    sponsors = record_sample(running)
    box_office = running.get(BoxOffice)
    found = grants(box_office, running.get(Sponsorship))
    assert found.tickets == EXPECTED
    assert found.purchases == ONCE_EACH
    assert found.tracked == found.leader_position == 18
    for company, sponsor in sponsors.items():
        purchase = box_office.free_tickets_of(sponsor)
        assert purchase.id == free_tickets_id("PHP18", sponsor)
        assert purchase.status == "paid" and purchase.total == Decimal("0.00")
        assert purchase.tickets[1] == f"{company} guest 1"
    conference = Conference.create_id("PHP18")
    assert box_office.get_tickets_remaining(conference) == {"Standard": 100 - 9}


def test_no_free_tickets_until_every_invoice_is_settled(running: Any) -> None:
    crm, box_office = running.get(Sponsorship), running.get(BoxOffice)
    conference = box_office.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    box_office.add_ticket_type(conference, "Standard", Decimal("450.00"), 50)
    acme = crm.register_sponsor("Acme", "PHP18", contact="Wile")
    crm.sign_contract(acme, "Gold")
    for number in ("INV-1", "INV-2", "INV-3"):
        crm.raise_invoice(acme, number, Decimal("3000.00"))
    crm.settle_invoice(acme, "INV-3")  # out of order: the last one first
    crm.settle_invoice(acme, "INV-1")
    account = box_office.get_account(acme)
    assert account.settled == {"INV-1", "INV-3"} and account.tickets_due() == 5 - 5
    with pytest.raises(TicketingError, match="no free tickets for Acme"):
        box_office.free_tickets_of(acme)
    assert grants(box_office).purchases == {}
    crm.settle_invoice(acme, "INV-2")
    assert box_office.free_tickets_of(acme).ticket_count == 5
    assert box_office.get_tickets_remaining(conference) == {"Standard": 45}


def test_a_signed_sponsor_without_invoices_gets_nothing(running: Any) -> None:
    crm, box_office = running.get(Sponsorship), running.get(BoxOffice)
    record_sample(running)
    late = crm.register_sponsor("Hooli", "PHP18", contact="Gavin")
    crm.sign_contract(late, "Gold")
    assert box_office.get_account(late).level == "Gold"
    assert "Hooli" not in grants(box_office).purchases


def test_the_crm_refuses_a_second_settlement_and_nothing_more_is_granted(running: Any) -> None:
    sponsors = record_sample(running)
    crm, box_office = running.get(Sponsorship), running.get(BoxOffice)
    with pytest.raises(SponsorshipError, match="already settled"):
        crm.settle_invoice(sponsors["Acme"], "Acme-1")
    assert grants(box_office).purchases == ONCE_EACH


# Deliver twice, replay ---------------------------------------------------------------


def test_each_event_delivered_twice_is_processed_once(system_store: str) -> None:
    crm, box_office = box_office_down(system_store)
    record_sample((crm, box_office))
    recorded = []
    for position in range(1, 19):
        delivery = deliver_twice(box_office, position)
        assert not delivery.processed_before
        recorded.append(delivery.recorded)
    assert all(first > 0 and second == 0 for first, second in recorded)
    assert "the second recorded 0" in delivery.verdict
    found = grants(box_office, crm)
    assert found.purchases == ONCE_EACH and found.tickets == EXPECTED
    again = deliver_twice(box_office)
    assert again.processed_before and again.recorded == (0, 0) and again.position == 18
    assert "already processed position 18" in str(again)
    assert again._repr_html_().startswith("<pre>Sponsor.InvoiceSettled at position 18")


def test_a_redelivered_settlement_at_a_new_position_grants_nothing_more(running: Any) -> None:
    """A redelivery the tracking cannot catch (say a new position): the policy is idempotent."""
    sponsors = record_sample(running)
    crm, box_office = running.get(Sponsorship), running.get(BoxOffice)
    settled = [n for n in crm.notification_log.select(start=1, limit=10) if "Settled" in n.topic][
        -1
    ]
    event = crm.mapper.to_domain_event(settled)
    before = box_office.recorder.max_notification_id()
    box_office.process_event(event, Tracking(Sponsorship.name, 1000))
    assert box_office.recorder.max_notification_id() == before  # tracking only
    assert box_office.recorder.max_tracking_id(Sponsorship.name) == 1000
    assert box_office.free_tickets_of(sponsors["Acme"]).ticket_count == 5
    assert grants(box_office).purchases == ONCE_EACH


def test_replaying_the_whole_log_after_losing_the_tracking_grants_nothing_again(
    running: Any,
) -> None:
    record_sample(running)
    box_office = running.get(BoxOffice)
    before = box_office.recorder.max_notification_id()
    assert replay(box_office) == 0
    assert box_office.recorder.max_notification_id() == before
    found = grants(box_office, running.get(Sponsorship))
    assert found.purchases == ONCE_EACH and found.tracked == 18


def test_pulling_again_from_position_0_with_the_tracking_kept_is_harmless(running: Any) -> None:
    record_sample(running)
    box_office = running.get(BoxOffice)
    before = box_office.recorder.max_notification_id()
    box_office.pull_and_process(Sponsorship.name, start=0)  # each one refused as processed
    assert box_office.recorder.max_notification_id() == before
    assert grants(box_office).purchases == ONCE_EACH


def test_a_grant_already_there_is_recognised_by_its_id_not_repeated(running: Any) -> None:
    """The deterministic purchase id: tickets issued under it before are the grant."""
    sponsors = record_sample(running)
    crm = running.get(Sponsorship)
    fresh = _box_office()  # its tickets were issued by hand, under the sponsor's reference
    by_hand = fresh.issue_complimentary_tickets(
        Conference.create_id("PHP18"),
        "Acme",
        "Standard",
        ["Ada", "Bob", "Cy", "Di", "Ed"],
        reference=free_tickets_reference("PHP18", sponsors["Acme"]),
    )
    fresh.follow(Sponsorship.name, crm.notification_log)
    fresh.pull_and_process(Sponsorship.name)
    assert fresh.get_account(sponsors["Acme"]).free_tickets == by_hand
    assert grants(fresh).purchases == ONCE_EACH
    assert fresh.get_tickets_remaining(Conference.create_id("PHP18")) == {"Standard": 91}


def test_a_new_box_office_store_replays_the_log_into_the_same_grant_ids(running: Any) -> None:
    sponsors = record_sample(running)
    crm = running.get(Sponsorship)
    fresh = BoxOffice()  # a new, empty store
    fresh.follow(Sponsorship.name, crm.notification_log)
    fresh.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    fresh.add_ticket_type(Conference.create_id("PHP18"), "Standard", Decimal("450.00"), 100)
    fresh.pull_and_process(Sponsorship.name)
    assert grants(fresh).purchases == ONCE_EACH
    for sponsor in sponsors.values():
        assert (
            fresh.free_tickets_of(sponsor).id == running.get(BoxOffice).free_tickets_of(sponsor).id
        )


def test_tickets_owed_before_the_conference_sells_are_issued_later_once(running: Any) -> None:
    crm, box_office = running.get(Sponsorship), running.get(BoxOffice)
    acme = crm.register_sponsor("Acme", "PHP18", contact="Wile")
    crm.sign_contract(acme, "Bronze")
    crm.raise_invoice(acme, "INV-1", Decimal("2000.00"))
    crm.settle_invoice(acme, "INV-1")
    assert "PHP18 is not scheduled" in str(box_office.get_account(acme).owed_because)
    with pytest.raises(TicketingError, match="not scheduled"):
        box_office.free_tickets_of(acme)
    conference = box_office.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    box_office.add_ticket_type(conference, "Standard", Decimal("450.00"), 10)
    first = box_office.issue_free_tickets(acme)
    assert first == box_office.issue_free_tickets(acme) == free_tickets_id("PHP18", acme)
    assert grants(box_office).purchases == {"Acme": 1}
    assert box_office.get_tickets_remaining(conference) == {"Standard": 9}


# Conflicts: another writer between the policy's decision and its recording ----------


class Interrupted(BoxOffice):
    """A box office that lets something happen just before it records a grant."""

    name = BoxOffice.name
    interruptions: ClassVar[list[Any]] = []
    recordings = 0
    """Grants recorded or tried by processing a CRM event."""

    def _record(self, processing_event: Any) -> Any:
        grant = processing_event.tracking is not None and any(
            "Purchase" in type(e).__qualname__ for e in processing_event.events
        )
        if grant:
            type(self).recordings += 1
        if grant and self.interruptions:
            self.interruptions.pop()()
        return super()._record(processing_event)


def test_a_ticket_sold_while_the_grant_is_decided_makes_the_policy_decide_again(
    system_store: str,
) -> None:
    crm = open_alone(Sponsorship, system_store)
    box_office = open_alone(Interrupted, system_store)
    box_office.follow(Sponsorship.name, crm.notification_log)
    record_sample((crm, box_office))
    conference = Conference.create_id("PHP18")
    Interrupted.recordings = 0
    Interrupted.interruptions[:] = [
        lambda: box_office.reserve_tickets(conference, "Walk-in", {"Standard": 1})
    ]
    box_office.pull_and_process(Sponsorship.name)
    assert Interrupted.recordings == 3 + 1  # the first grant was decided twice
    assert grants(box_office).purchases == ONCE_EACH
    assert box_office.get_tickets_remaining(conference) == {"Standard": 100 - 9 - 1}


def test_two_box_offices_racing_on_one_store_grant_once(lasting_store: str) -> None:
    record_sample(lasting_store)
    crm = open_alone(Sponsorship, lasting_store)
    first, second = open_alone(Interrupted, lasting_store), open_alone(BoxOffice, lasting_store)
    for box_office in (first, second):
        box_office.follow(Sponsorship.name, crm.notification_log)
    Interrupted.recordings = 0
    # Just before the first records its first grant, the second processes everything.
    Interrupted.interruptions[:] = [lambda: second.pull_and_process(Sponsorship.name)]
    first.pull_and_process(Sponsorship.name)
    found = grants(first, crm)
    assert found.purchases == ONCE_EACH and found.tickets == EXPECTED
    assert found.tracked == 18
    assert Interrupted.recordings == 1  # it lost the race, saw the position done, stopped


# Runners ---------------------------------------------------------------------------


def test_the_multithreaded_runner_grants_once(system_store: str) -> None:
    with running_system(system_store, MultiThreadedRunner) as runner:
        record_sample(runner)
        box_office = runner.get(BoxOffice)
        deadline = time.monotonic() + 20
        while box_office.recorder.max_tracking_id(Sponsorship.name) != 18:
            assert not runner.has_errored.is_set()
            assert time.monotonic() < deadline, "the box office did not catch up in 20 s"
            time.sleep(0.05)
        assert grants(box_office).purchases == ONCE_EACH


def test_a_restarted_system_catches_up_on_what_the_crm_recorded_alone(lasting_store: str) -> None:
    record_sample(lasting_store)  # the box office is down
    with running_system(lasting_store, SingleThreadedRunner) as runner:
        found = grants(runner.get(BoxOffice), runner.get(Sponsorship))
    assert found.purchases == ONCE_EACH and found.tracked == 18


@pytest.mark.parametrize("runner", ["single", "threads"])
def test_workbench_open_system_runs_it_and_sees_no_lag(runner: str) -> None:
    from workbench.examples.free_tickets.system import system
    from workbench.systems import open_system

    with open_system(system, "memory", runner=runner) as run:  # type: ignore[arg-type]
        record_sample(run)
        assert run.wait(10)
        assert run.lag()["lag"].tolist() == [0]
        assert grants(run.get(BoxOffice)).purchases == ONCE_EACH


def test_a_system_on_one_sqlite_file_asks_for_a_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="needs a folder"):
        system_env(tmp_path / "events.sqlite")
    env = system_env(tmp_path)
    assert env["BOXOFFICE_SQLITE_DBNAME"] == str(tmp_path / "boxoffice.sqlite")
    assert env["SPONSORSHIP_SQLITE_DBNAME"] == str(tmp_path / "sponsorship.sqlite")


# Killed mid-way -----------------------------------------------------------------------


@pytest.mark.parametrize("at", ["before", "during", "after"])
def test_killed_mid_grant_and_restarted_grants_exactly_once(lasting_store: str, at: str) -> None:
    record_sample(lasting_store)
    crash = crash_box_office(lasting_store, at, grant=2)  # type: ignore[arg-type]
    killed, restarted = crash.after_kill, crash.after_restart
    assert killed.purchases == ({"Acme": 1, "Globex": 1} if at == "after" else {"Acme": 1})
    assert killed.tracked == (crash.position if at == "after" else crash.position - 1)
    assert restarted.purchases == ONCE_EACH and restarted.tickets == EXPECTED
    assert restarted.tracked == restarted.leader_position == 18
    assert "SIGKILL" in str(crash)


def test_the_child_without_a_hook_is_a_restart_that_catches_up(tmp_path: Path) -> None:
    record_sample(str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "workbench.examples.free_tickets.crash", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "CAUGHT UP"
    crm, box_office = open_alone(Sponsorship, str(tmp_path)), open_alone(BoxOffice, str(tmp_path))
    assert grants(box_office, crm).purchases == ONCE_EACH


def test_crashing_needs_a_store_that_outlives_the_process() -> None:
    with pytest.raises(StoreError, match="SQLite folder or a PostgreSQL URL"):
        crash_box_office("memory")
    with pytest.raises(ValueError, match="not a crash point"):
        crash_box_office("memory", "sometime")  # type: ignore[arg-type]


# The invariant -------------------------------------------------------------------------


def _sponsor_events(level: str, invoices: int) -> list[Any]:
    """A sponsor's whole history: registered, signed, invoices raised, all settled."""
    sponsor = Sponsor(company="Acme", conference_code="PHP18", contact="Wile")
    sponsor.sign_contract(level)  # type: ignore[arg-type]
    for n in range(invoices):
        sponsor.raise_invoice(f"INV-{n}", Decimal("100.00"))
    for n in range(invoices):
        sponsor.settle_invoice(f"INV-{n}")
    return list(sponsor.collect_events())


def _box_office() -> BoxOffice:
    box_office = BoxOffice()
    conference = box_office.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    box_office.add_ticket_type(conference, "Standard", Decimal("450.00"), 100)
    return box_office


def _deliver(box_office: BoxOffice, events: list[Any]) -> None:
    for position, event in enumerate(events, start=1):
        box_office.process_event(event, Tracking(Sponsorship.name, position))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    level=st.sampled_from(sorted(FREE_TICKETS)),
    invoices=st.integers(1, 3),
    data=st.data(),
)
def test_any_order_and_duplication_of_settlements_grants_once_iff_all_settled(
    level: str, invoices: int, data: st.DataObject
) -> None:
    history = _sponsor_events(level, invoices)
    leading, settlements = history[: 2 + invoices], history[2 + invoices :]
    chosen = data.draw(st.lists(st.integers(0, invoices - 1), max_size=3 * invoices))
    box_office = _box_office()
    _deliver(box_office, leading + [settlements[i] for i in chosen])
    sponsor_id = history[0].originator_id
    found = grants(box_office)
    if set(chosen) == set(range(invoices)):
        assert found.purchases == {"Acme": 1} and found.tickets == {"Acme": FREE_TICKETS[level]}
        assert box_office.free_tickets_of(sponsor_id).id == free_tickets_id("PHP18", sponsor_id)
    else:
        assert found.purchases == {}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoices=st.integers(1, 3), data=st.data())
def test_any_order_and_duplication_of_all_events_grants_at_most_once(
    invoices: int, data: st.DataObject
) -> None:
    history = _sponsor_events("Silver", invoices)
    order = data.draw(st.permutations(range(len(history))))
    extra = data.draw(st.lists(st.integers(0, len(history) - 1), max_size=len(history)))
    box_office = _box_office()
    _deliver(box_office, [history[i] for i in [*order, *extra]])
    account: SponsorAccount = box_office.get_account(history[0].originator_id)
    assert account.settled == {f"INV-{n}" for n in range(invoices)}
    assert grants(box_office).purchases == {"Acme": 1}  # everything heard: granted, once


def test_the_account_notes_each_fact_once_and_owes_nothing_after_the_grant() -> None:
    account = SponsorAccount(sponsor_id=UUID(int=1))
    for _ in range(2):
        account.note_registration("Acme", "PHP18")
        account.note_contract("Gold")
        account.note_invoice("INV-1")
        account.note_settlement("INV-1")
    assert [type(e).__name__ for e in account.collect_events()] == [
        "Opened",
        "RegistrationNoted",
        "ContractNoted",
        "InvoiceNoted",
        "SettlementNoted",
    ]
    assert account.tickets_due() == 5
    account.record_free_tickets(free_tickets_id("PHP18", UUID(int=1)), "Standard", 5)
    account.record_free_tickets(UUID(int=2), "Standard", 5)
    assert account.tickets_due() == 0
    assert account.free_tickets == free_tickets_id("PHP18", UUID(int=1))
    assert len(account.collect_events()) == 1


def test_crashing_a_box_office_with_nothing_left_to_grant_says_so(tmp_path: Path) -> None:
    with running_system(str(tmp_path)) as runner:
        record_sample(runner)  # every sponsor granted already
    with pytest.raises(RuntimeError, match="never reached 'during' of a grant"):
        crash_box_office(str(tmp_path), "during")
