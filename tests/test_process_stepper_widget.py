"""The process stepper, driven headlessly: buttons clicked, traits set."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from workbench import clock as wclock
from workbench.clock import ManualClock, use_clock
from workbench.examples.ticketing import Ticketing
from workbench.examples.ticketing.processes import PURCHASE, purchase_handlers
from workbench.processes import (
    Action,
    ActionContext,
    Outbox,
    ProcessDeclaration,
    ProcessRun,
    Timeout,
    Transition,
    timeout,
)
from workbench.widgets.process_stepper import ProcessStepper

START = datetime(2018, 3, 1, 9, 0, tzinfo=UTC)


class Setup:
    def __init__(self) -> None:
        self.clock = ManualClock(START)
        self.ticketing = Ticketing()
        self.outbox = Outbox()
        with use_clock(self.clock):
            self.conf = self.ticketing.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
            self.ticketing.add_ticket_type(self.conf, "Standard", Decimal("450.00"), 10)
        self.run = ProcessRun(
            PURCHASE,
            self.ticketing,
            handlers=purchase_handlers(self.ticketing, self.outbox),
            clock=self.clock,
        )
        self.stepper = ProcessStepper(self.run)

    def reserve(self, who: str) -> str:
        with use_clock(self.clock):
            return str(self.ticketing.reserve_tickets(self.conf, who, {"Standard": 1}))

    def pay(self, purchase: str) -> None:
        with use_clock(self.clock):
            self.ticketing.pay(UUID(purchase), "card", ["delegate"])


@pytest.fixture
def setup() -> Setup:
    return Setup()


def test_step_back_and_reset_with_buttons(setup: Setup) -> None:
    purchase = setup.reserve("Ada")
    setup.pay(purchase)
    stepper = setup.stepper
    assert stepper.back_button.disabled
    stepper.step_button.click()
    assert setup.run.states() == {purchase: "awaiting payment"}
    assert 'class="state current" data-state="awaiting payment"' in stepper.view.value
    stepper.step_button.click()
    assert setup.run.states() == {purchase: "paid"}
    assert 'class="edge last"' in stepper.view.value
    assert "send confirmation" in stepper.view.value and "done" in stepper.view.value
    stepper.back_button.click()
    assert setup.run.states() == {purchase: "awaiting payment"}
    assert "Pending timeouts (1)" in stepper.view.value
    stepper.step_button.click()
    assert "replayed a recorded step" in stepper.message
    assert len(setup.outbox) == 1
    stepper.reset_button.click()
    assert setup.run.states() == {} and setup.run.view == 0
    stepper.end_button.click()
    assert setup.run.states() == {purchase: "paid"}
    assert len(setup.outbox) == 1
    stepper.step_button.click()
    assert stepper.message.startswith("nothing to do")


def test_breakpoint_and_clock(setup: Setup) -> None:
    a, b = setup.reserve("Ada"), setup.reserve("Alan")
    setup.pay(b)
    stepper = setup.stepper
    stepper.break_kind.value = "event_type"
    assert "TicketPurchase.Paid" in stepper.break_value.options
    stepper.break_value.value = "TicketPurchase.Paid"
    stepper.break_button.click()
    assert setup.run.current is not None and setup.run.current.instance == b
    stepper.minutes.value = 31
    stepper.advance_button.click()
    assert "1 step(s) fell due" in stepper.message
    assert setup.run.states()[a] == "releasing"
    stepper.break_kind.value = "state"
    stepper.break_value.value = "timed out"
    stepper.break_button.click()
    assert setup.run.states()[a] == "timed out"
    stepper.break_kind.value = "instance"
    assert a in stepper.break_value.options
    stepper.break_value.value = "nobody"
    stepper.break_button.click()
    assert "no step matched" in stepper.message


def test_every_input_is_named_for_a_screen_reader(setup: Setup) -> None:
    from typing import Any

    import ipywidgets as widgets

    def walk(widget: Any) -> Any:
        yield widget
        for child in getattr(widget, "children", ()):
            yield from walk(child)

    kinds = (widgets.Dropdown, widgets.Text, widgets.IntText, widgets.BoundedIntText)
    inputs = [w for w in walk(setup.stepper) if isinstance(w, kinds)]
    assert len(inputs) >= 4
    # ipywidgets draws a description as a <label> tied to the input; a placeholder names it too
    unnamed = [
        type(w).__name__ for w in inputs if not (w.description or w.get_state().get("placeholder"))
    ]
    assert not unnamed, f"inputs without a name: {unnamed}"


def test_errors_are_shown_not_raised(setup: Setup) -> None:
    setup.reserve("Ada")
    stepper = setup.stepper
    stepper.break_value.value = "Nothing.Happened"
    stepper.break_button.click()
    assert "never triggers Purchase" in stepper.message
    assert "#b00020" in stepper.status.value
    stepper.step_button.click()
    stepper.back_button.click()
    stepper.advance_button.click()
    assert "the past is read-only" in stepper.message
    stepper.retry_button.click()
    assert "dead letter is empty" in stepper.message


def test_retry_from_the_dead_letter(setup: Setup) -> None:
    purchase = setup.reserve("Ada")
    setup.outbox.go_down()
    setup.pay(purchase)
    stepper = setup.stepper
    stepper.end_button.click()
    assert "Failures (1)" in stepper.view.value
    stepper.minutes.value = 1
    stepper.advance_button.click()
    stepper.minutes.value = 2
    stepper.advance_button.click()
    assert [v for _, v in stepper.dead_letter.options] == [purchase]
    assert not stepper.retry_button.disabled
    assert "Dead letter (1)" in stepper.view.value
    stepper.retry_button.click()  # still down
    assert "retried: parked" in stepper.message
    setup.outbox.come_back()
    stepper.retry_button.click()
    assert setup.run.states() == {purchase: "paid"}
    assert stepper.dead_letter.options == ()
    assert stepper.retry_button.disabled
    assert len(setup.outbox) == 1


def test_abandon_from_the_dead_letter(setup: Setup) -> None:
    purchase = setup.reserve("Ada")
    setup.outbox.go_down()
    setup.pay(purchase)
    stepper = setup.stepper
    stepper.end_button.click()
    for minutes in (1, 2):
        stepper.minutes.value = minutes
        stepper.advance_button.click()
    stepper.abandon_button.click()
    assert setup.run.states() == {purchase: "abandoned"}
    assert 'data-state="abandoned"' in stepper.view.value.split('class="state current"')[1][:40]


def test_the_stepper_shows_what_the_run_shows(setup: Setup) -> None:
    """One rendering: the stepper's view is the run's own HTML, only with its class added."""
    stepper = setup.stepper

    def same() -> str:
        own = setup.run._repr_html_()
        assert stepper.view.value == own.replace(
            "'workbench-process-run'", "'workbench-process-run workbench-process-stepper'", 1
        )
        return own

    assert "no step yet" in same()
    ada, alan = setup.reserve("Ada"), setup.reserve("Alan")
    setup.outbox.go_down()
    setup.pay(alan)
    stepper.step_button.click()
    assert 'class="state current" data-state="awaiting payment"' in same()
    stepper.end_button.click()
    assert "Failures (1)" in same()
    stepper.minutes.value = 31
    stepper.advance_button.click()
    shown = same()
    assert "Dead letter (1)" in shown and "release" in shown
    stepper.back_button.click()
    assert "replaying recorded steps" in same()
    assert {ada, alan} == set(setup.run.instances)


# A process for an application defined only here ------------------------------------------


class Parcel(Aggregate):
    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return wclock.now()

    @event("Shipped")
    def __init__(self, address: str) -> None:
        self.address = address

    @event("Delivered")
    def deliver(self) -> None:
        pass


class Courier(Application[UUID]):
    def ship(self, address: str) -> UUID:
        parcel = Parcel(address=address)
        self.save(parcel)
        return parcel.id

    def deliver(self, parcel_id: UUID) -> None:
        parcel: Parcel = self.repository.get(parcel_id)
        parcel.deliver()
        self.save(parcel)


DELIVERY = ProcessDeclaration(
    name="Delivery",
    states=("none", "in transit", "delivered", "lost"),
    initial="none",
    transitions=(
        Transition("none", "Parcel.Shipped", "in transit", schedule=("late",)),
        Transition("in transit", "Parcel.Delivered", "delivered", cancel=("late",)),
        Transition("in transit", timeout("late"), "lost", actions=("apologise",)),
    ),
    actions=(Action("apologise", "side effect"),),
    timeouts=(Timeout("late", timedelta(days=3)),),
)


def test_the_stepper_works_unchanged_on_any_application() -> None:
    clock = ManualClock(START)
    courier = Courier()
    apologies: list[str] = []

    def apologise(ctx: ActionContext) -> None:
        apologies.append(ctx.instance)

    with use_clock(clock):
        first = courier.ship("1 Main St")
        second = courier.ship("2 High St")
        courier.deliver(first)
    run = ProcessRun(DELIVERY, courier, handlers={"apologise": apologise}, clock=clock)
    stepper = ProcessStepper(run)
    stepper.end_button.click()
    assert run.states() == {str(first): "delivered", str(second): "in transit"}
    assert "Delivery" in stepper.view.value and "<svg" in stepper.view.value
    stepper.minutes.value = 3 * 24 * 60
    stepper.advance_button.click()
    assert run.states()[str(second)] == "lost"
    assert apologies == [str(second)]
    stepper.back_button.click()
    assert run.states()[str(second)] == "in transit"
    stepper.step_button.click()
    assert apologies == [str(second)]
