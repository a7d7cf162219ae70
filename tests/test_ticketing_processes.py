"""The teaching processes: purchase timeout, confirmation e-mail, sponsors' free tickets."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.clock import ManualClock, use_clock
from workbench.examples.sponsorship import Sponsorship
from workbench.examples.ticketing import Ticketing, TicketingError
from workbench.examples.ticketing.processes import (
    PURCHASE,
    SPONSOR_TICKETS,
    purchase_handlers,
    sponsor_handlers,
)
from workbench.processes import Outbox, ProcessRun

START = datetime(2018, 3, 1, 9, 0, tzinfo=UTC)


class Box:
    """Given a conference on sale, a mail service and a purchase process."""

    def __init__(self) -> None:
        self.clock = ManualClock(START)
        self.ticketing = Ticketing()
        self.outbox = Outbox()
        with use_clock(self.clock):
            self.conf = self.ticketing.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
            self.ticketing.add_ticket_type(self.conf, "Standard", Decimal("450.00"), 100)
        self.run = ProcessRun(
            PURCHASE,
            self.ticketing,
            handlers=purchase_handlers(self.ticketing, self.outbox),
            clock=self.clock,
        )

    def reserve(self, customer: str = "Ada Lovelace", tickets: int = 1) -> str:
        with use_clock(self.clock):
            purchase = self.ticketing.reserve_tickets(self.conf, customer, {"Standard": tickets})
        return str(purchase)

    def pay(self, purchase: str) -> None:
        with use_clock(self.clock):
            tickets = self.ticketing.get_purchase(UUID(purchase)).ticket_count
            self.ticketing.pay(UUID(purchase), "card", [f"delegate {n}" for n in range(tickets)])

    def state(self, purchase: str) -> str:
        return self.run.states()[purchase]

    def status(self, purchase: str) -> str:
        return str(self.ticketing.get_purchase(UUID(purchase)).status)


@pytest.fixture
def box() -> Box:
    return Box()


# The 30-minute timeout ---------------------------------------------------------------


def test_paid_in_time_sends_one_confirmation_and_cancels_the_timeout(box: Box) -> None:
    purchase = box.reserve()
    box.run.run_to_end()
    assert box.state(purchase) == "awaiting payment"
    box.clock.advance(minutes=10)
    box.pay(purchase)
    box.run.run_to_end()
    assert box.state(purchase) == "paid"
    assert [m.to for m in box.outbox.messages] == ["ada.lovelace@example.org"]
    assert box.run.advance(minutes=31) == []
    assert box.status(purchase) == "paid"


def test_unpaid_purchase_times_out_and_late_payment_is_refused(box: Box) -> None:
    purchase = box.reserve()
    box.run.run_to_end()
    assert box.run.advance(minutes=29) == []
    [fired] = box.run.advance(minutes=2)
    assert fired.trigger == "timeout:payment"
    assert [(e.action, e.outcome) for e in fired.emitted] == [("release tickets", "done")]
    assert box.status(purchase) == "timed out"
    assert box.ticketing.get_tickets_remaining(box.conf) == {"Standard": 100}
    box.run.run_to_end()
    assert box.state(purchase) == "timed out"
    with pytest.raises(TicketingError, match="timed out"):
        box.pay(purchase)
    assert len(box.outbox) == 0


def test_race_payment_recorded_before_the_timeout_fires(box: Box) -> None:
    """Order 1: the customer pays at minute 29; the process only sees it after minute 31."""
    purchase = box.reserve()
    box.run.run_to_end()
    box.clock.advance(minutes=29)
    box.pay(purchase)
    [fired] = box.run.advance(minutes=2)  # the timeout fires before Paid is delivered
    assert [e.outcome for e in fired.emitted] == ["refused"]
    assert "is paid, so it cannot time out" in fired.emitted[0].detail
    assert box.state(purchase) == "releasing"
    step = box.run.step()
    assert step is not None and [(m.source, m.target) for m in step.moves] == [
        ("releasing", "paid")
    ]
    assert box.status(purchase) == "paid"
    assert len(box.outbox) == 1 and box.run.failures == []


def test_race_timeout_executed_before_the_payment(box: Box) -> None:
    """Order 2: the timeout wins; the payment that comes after is refused."""
    purchase = box.reserve()
    box.run.run_to_end()
    box.run.advance(minutes=31)
    with pytest.raises(TicketingError):
        box.pay(purchase)
    box.run.run_to_end()
    assert box.state(purchase) == "timed out"
    assert box.status(purchase) == "timed out"
    assert len(box.outbox) == 0


def test_process_catching_up_late_sees_the_timeout_in_event_time(box: Box) -> None:
    """Delivered late, events still time out 30 minutes after the reservation."""
    a = box.reserve("Ada")
    box.clock.advance(minutes=40)
    b = box.reserve("Alan")
    box.run.run_to_end()  # a's timeout falls due before b's reservation is delivered
    assert box.status(a) == "timed out"
    assert box.state(b) == "awaiting payment"


# The confirmation e-mail ------------------------------------------------------------


def test_mail_service_down_for_a_while_then_recovering(box: Box) -> None:
    purchase = box.reserve()
    box.outbox.go_down(until=START + timedelta(minutes=2))
    box.pay(purchase)
    box.run.run_to_end()
    assert box.state(purchase) == "awaiting payment"  # Paid not processed yet
    assert box.run.unprocessed() == [5]
    assert [f.attempt for f in box.run.failures] == [1]
    assert box.run.failures[0].error.startswith("ServiceUnavailable")
    [retry] = box.run.advance(minutes=1)
    assert retry.outcome == "failed"  # still down at 09:01
    [retry] = box.run.advance(minutes=2)
    assert retry.outcome == "transition"
    assert box.state(purchase) == "paid"
    assert len(box.outbox) == 1 and box.run.unprocessed() == []


def test_mail_service_down_parks_then_operator_retries(box: Box) -> None:
    purchase = box.reserve()
    box.outbox.go_down()
    box.pay(purchase)
    box.run.run_to_end()
    box.run.advance(minutes=1)
    box.run.advance(minutes=2)
    assert box.state(purchase) == "failed"
    [dead] = box.run.dead_letters()
    assert dead["action"] == "send confirmation" and dead["attempts"] == 3
    # the 30-minute timeout falls due while parked: held, not executed
    assert [s.outcome for s in box.run.advance(minutes=30)] == ["held"]
    assert box.status(purchase) == "paid"
    box.outbox.come_back()
    step = box.run.retry(purchase)
    assert step.outcome == "transition"
    assert box.state(purchase) == "paid"
    assert len(box.outbox) == 1
    assert box.run.dead_letters() == [] and box.run.anomalies == []


def test_safe_replays_never_resend_and_give_the_same_states(box: Box) -> None:
    paid, lapsed = box.reserve("Ada"), box.reserve("Alan")
    box.run.run_to_end()
    box.clock.advance(minutes=5)
    box.pay(paid)
    box.run.run_to_end()
    box.run.advance(minutes=31)
    box.run.run_to_end()
    states = box.run.states()
    sent = list(box.outbox.messages)
    upstream = box.ticketing.recorder.max_notification_id()
    assert states == {paid: "paid", lapsed: "timed out"}
    for _ in range(3):
        again = box.run.replay("safe")
        assert again.states() == states
        assert again.sent == []
    assert box.outbox.messages == sent
    assert box.ticketing.recorder.max_notification_id() == upstream
    naive = box.run.replay("naive")
    assert naive.states() == states
    assert box.outbox.duplicates() == {box.ticketing.get_purchase(UUID(paid)).reference: 2}


def test_a_safe_replay_never_executes_an_action_missing_from_the_ledger(box: Box) -> None:
    """A parked confirmation (it failed: no ledger entry) is not sent by a safe replay."""
    parked, paid = box.reserve("Ada"), box.reserve("Alan")
    box.pay(paid)
    box.run.run_to_end()
    box.outbox.go_down()
    box.pay(parked)
    box.run.run_to_end()
    box.run.advance(minutes=3)
    assert box.state(parked) == "failed" and box.state(paid) == "paid"
    [dead] = box.run.dead_letters()
    assert not any(key.startswith(f"{parked}/") for key in box.run.ledger)
    box.outbox.come_back()  # a replay that executed the action would now deliver it
    sent, refused = list(box.outbox.messages), box.outbox.refused
    again = box.run.replay("safe")
    assert box.outbox.messages == sent and box.outbox.refused == refused
    assert again.sent == []  # nothing executed at all
    assert again.states() == box.run.states()
    [(key, outcome)] = [(e.key, e.outcome) for e in again.emitted() if e.key.startswith(parked)]
    assert outcome == "not done before the rebuild" and key not in box.run.ledger
    assert [d["instance"] for d in again.dead_letters()] == [dead["instance"]]


def test_stepping_back_and_forward_never_resends(box: Box) -> None:
    purchase = box.reserve()
    box.pay(purchase)
    box.run.run_to_end()
    for _ in range(3):
        box.run.back()
        box.run.back()
        assert box.run.states() == {}
        box.run.run_to_end()
    assert box.state(purchase) == "paid"
    assert len(box.outbox) == 1


# Every transition is one the declaration allows (random sessions) ----------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), st.integers(1, 3)),
        st.tuples(st.just("pay"), st.integers(0, 9)),
        st.tuples(st.just("advance"), st.integers(1, 40)),
        st.tuples(st.just("step"), st.integers(1, 5)),
        st.tuples(st.just("mail"), st.booleans()),
        st.tuples(st.just("back"), st.integers(1, 3)),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_random_sessions_only_take_declared_transitions(ops: list[tuple[str, Any]]) -> None:
    box = Box()
    purchases: list[str] = []
    for op, arg in ops:
        if op == "reserve":
            purchases.append(box.reserve(f"Customer {len(purchases)}", arg))
        elif op == "pay" and purchases:
            # already paid, or timed out: the aggregate says no
            with contextlib.suppress(TicketingError):
                box.pay(purchases[arg % len(purchases)])
        elif op == "advance":
            box.run.run_to_end()
            box.run.advance(minutes=arg)
        elif op == "step":
            for _ in range(arg):
                box.run.step()
        elif op == "mail":
            (box.outbox.go_down if arg else box.outbox.come_back)()
        elif op == "back":
            for _ in range(arg):
                box.run.back()
    box.outbox.come_back()
    box.run.run_to_end()
    box.run.advance(minutes=60)  # waiting retries and timeouts fall due
    box.run.run_to_end()
    for dead in box.run.dead_letters():
        box.run.retry(dead["instance"])
    box.run.run_to_end()
    moves = box.run.moves()
    for move in moves:
        assert PURCHASE.allows(move.source, move.trigger, move.target), move
    assert box.outbox.duplicates() == {}
    assert box.run.anomalies == []
    # once everything has settled, the process agrees with the aggregate
    for purchase in purchases:
        assert box.run.states()[purchase] == box.status(purchase)
    # one e-mail per purchase the process saw paid
    paid = {
        box.ticketing.get_purchase(UUID(p)).reference
        for p in purchases
        if box.run.states()[p] == "paid"
    }
    assert set(box.outbox.keys()) == paid
    # replaying changes nothing outside
    sent = len(box.outbox)
    assert box.run.replay("safe").states() == box.run.states()
    assert len(box.outbox) == sent


# Sponsors' free tickets -------------------------------------------------------------------


def test_signed_and_settled_sponsor_gets_free_tickets() -> None:
    clock = ManualClock(START)
    ticketing, crm = Ticketing(), Sponsorship()
    with use_clock(clock):
        conf = ticketing.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
        ticketing.add_ticket_type(conf, "Standard", Decimal("450.00"), 100)
        gold = crm.register_sponsor("Acme", "PHP18", contact="Wile")
        crm.sign_contract(gold, "Gold")
        crm.raise_invoice(gold, "INV-1", Decimal("10000.00"))
        bronze = crm.register_sponsor("Tiny", "PHP18", contact="Tim")
        crm.sign_contract(bronze, "Bronze")
    run = ProcessRun(SPONSOR_TICKETS, crm, handlers=sponsor_handlers(ticketing), clock=clock)
    run.run_to_end()
    assert run.states() == {str(gold): "invoiced", str(bronze): "signed"}
    assert ticketing.get_tickets_remaining(conf) == {"Standard": 100}
    with use_clock(clock):
        crm.settle_invoice(gold, "INV-1")
    step = run.step()
    assert step is not None
    assert [e.outcome for e in step.emitted] == ["done"]
    assert ticketing.get_tickets_remaining(conf) == {"Standard": 95}
    assert run.replay("safe").states() == run.states()
    assert ticketing.get_tickets_remaining(conf) == {"Standard": 95}


def test_purchase_process_on_the_sample_history(tmp_path: Any) -> None:
    """A dry run over the committed sample: no anomalies, nothing executed."""
    history = pytest.importorskip("workbench.examples.history")
    from workbench.stores import open_app

    folder = history.copy_sample(tmp_path / "sample")
    app = open_app(Ticketing, folder / "ticketing.sqlite", readonly=True)
    run = ProcessRun(PURCHASE, app)
    steps = run.run_to_end()
    assert steps > 100
    assert run.anomalies == []
    for move in run.moves():
        assert PURCHASE.allows(move.source, move.trigger, move.target)
    states = set(run.states().values())
    assert {"paid", "timed out"} <= states
    before = run.states()
    run.back()
    run.step()
    assert run.states() == before
