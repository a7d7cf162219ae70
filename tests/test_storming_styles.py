"""The storming board of every aggregate and event style eventsourcing supports.

One application per style, written in ``tests/apps`` the way users write them (the
workbench authors shaped none of them): decorated methods, explicit event classes with
``trigger_event``, ``@event(EventClass)``, a nested ``Created``, a dataclass aggregate,
a functional aggregate with a projector, private state, domain objects, and a System
whose process application has a policy. Each board is checked as data: its stickies,
which command leads to which event through which aggregate, and the policies.
"""

from __future__ import annotations

from decimal import Decimal
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import apps
import pytest
from apps import STYLES, app_classes
from apps.system import SYSTEM, Order, Shop, Warehouse
from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol, event
from eventsourcing.system import ProcessApplication, SingleThreadedRunner, System

from workbench.storming import Board, storming_board
from workbench.storming.drawing import tangles

COMMAND_EVENTS: dict[str, set[tuple[str, str]]] = {
    "decorated": {
        ("register_book", "Book.Registered"),
        ("lend", "Book.Borrowed"),
        ("give_back", "Book.Returned"),
    },
    "explicit": {
        ("open_account", "Account.Opened"),
        ("deposit", "Account.Deposited"),
        ("withdraw", "Account.Withdrawn"),
        ("freeze", "Account.Frozen"),
    },
    "event_class": {
        ("draft", "Recipe.Drafted"),
        ("add_ingredient", "Recipe.IngredientAdded"),
        ("publish", "Recipe.Published"),
        ("rate", "Recipe.Rated"),
    },
    "nested_created": {
        ("send", "Parcel.Created"),
        ("scan", "Parcel.Scanned"),
        ("deliver", "Parcel.Delivered"),
    },
    "dataclass_agg": {
        ("start_list", "TodoList.Started"),
        ("add_item", "TodoList.ItemAdded"),
        ("complete", "TodoList.ItemCompleted"),
        ("archive", "TodoList.Archived"),
    },
    "functional": {
        ("register_dog", "DogRegistered"),
        ("teach", "TrickLearned"),
        ("enter_show", "ShowEntered"),
    },
    "private_state": {
        ("issue_card", "CanteenCard.Issued"),
        ("top_up", "CanteenCard.ToppedUp"),
        ("pay", "CanteenCard.Paid"),
        ("report_lost", "CanteenCard.Blocked"),
    },
    "domain_objects": {
        ("plan_trip", "Trip.Planned"),
        ("plan_route", "Trip.RouteSet"),
        ("change_transport", "Trip.TransportChanged"),
        ("depart", "Trip.Departed"),
    },
    "system": {
        ("Shop.place_order", "Order.Placed"),
        ("Shop.cancel_order", "Order.Cancelled"),
        ("Warehouse.mark_picked", "PickList.Picked"),
    },
}
"""Which events each command of each style records (found by reading its calls)."""


def board_of(style: str) -> Board:
    module = STYLES[style]
    return storming_board(SYSTEM if style == "system" else module.APP)


def aggregate_of(board: Board, event_name: str) -> set[str]:
    return {a for a, e in board.pairs("aggregate", "event") if e == event_name}


def test_every_style_has_its_expected_commands() -> None:
    assert set(COMMAND_EVENTS) == set(STYLES)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_the_board_has_every_event_type_of_the_style(style: str) -> None:
    board = board_of(style)
    expected = STYLES[style].EXPECTED
    assert board.names("event") == expected["event_types"]
    assert expected["aggregate"] in board.names("aggregate")
    assert not any(name.endswith(".None") for name in board.names("event"))


@pytest.mark.parametrize("style", sorted(STYLES))
def test_each_command_leads_through_its_aggregate_to_its_events(style: str) -> None:
    board = board_of(style)
    assert board.command_events() == COMMAND_EVENTS[style]
    command_aggregates = board.pairs("command", "aggregate")
    for command, event_name in COMMAND_EVENTS[style]:
        (aggregate,) = aggregate_of(board, event_name)
        assert (command, aggregate) in command_aggregates


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_event_belongs_to_an_aggregate_and_is_recorded_by_something(style: str) -> None:
    board = board_of(style)
    caused = {e for _, e in board.command_events()} | {e for _, e in board.pairs("policy", "event")}
    for name in board.names("event"):
        assert len(aggregate_of(board, name)) == 1, f"{name} has no aggregate (or several)"
        assert name in caused, f"nothing on the board records {name}"


@pytest.mark.parametrize("style", sorted(STYLES))
def test_the_board_of_each_style_is_drawn_whole_and_untangled(style: str) -> None:
    board = board_of(style)
    layout = board.layout()
    assert {box.key for box in layout.boxes} == {s.key for s in board.stickies}
    assert tangles(layout) == []
    for source, target in layout.arrows():
        assert target.x > source.right, f"{source.name} → {target.name} points backwards"
    assert board.to_svg().startswith("<svg")


# Styles one by one -----------------------------------------------------------------------


def test_decorated_methods_name_their_events() -> None:
    board = board_of("decorated")
    assert [s.name for s in board.of_kind("event")] == [
        "Book.Registered",
        "Book.Borrowed",
        "Book.Returned",
    ], "the created event first, then in the order the class declares them"
    assert "is_available" not in board.names("command")


def test_explicit_event_classes_are_found_through_trigger_event_and_create() -> None:
    board = board_of("explicit")
    assert board.pairs("aggregate", "event") == {
        ("Account", f"Account.{name}") for name in ("Opened", "Deposited", "Withdrawn", "Frozen")
    }
    assert board.sticky("event", "Account.Deposited").detail == "fields: amount, reference, memo"
    assert "Account.Created" not in board.names("event"), "the unused default Created is left off"


def test_event_decorator_given_a_class_shows_the_class_name() -> None:
    board = board_of("event_class")
    assert ("publish", "Recipe.Published") in board.command_events()
    assert board.sticky("event", "Recipe.Rated").detail == "fields: stars, cooked_on, notes"


def test_a_nested_created_class_is_the_event_a_new_aggregate_records() -> None:
    board = board_of("nested_created")
    assert ("Parcel", "Parcel.Created") in board.pairs("aggregate", "event")
    assert ("send", "Parcel.Created") in board.command_events()


def test_a_dataclass_aggregate_shows_its_events_not_its_signature() -> None:
    board = board_of("dataclass_agg")
    assert board.sticky("aggregate", "TodoList").detail == ""
    assert ("TodoList", "TodoList.Started") in board.pairs("aggregate", "event")


def test_a_functional_aggregate_is_its_state_and_its_top_level_events() -> None:
    board = board_of("functional")
    assert board.names("aggregate") == {"Dog"}
    assert board.sticky("aggregate", "Dog").detail == "immutable state, folded by project()"
    assert board.pairs("aggregate", "event") == {
        ("Dog", "DogRegistered"),
        ("Dog", "TrickLearned"),
        ("Dog", "ShowEntered"),
    }
    assert ("teach", "Dog") in board.pairs("command", "aggregate")


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_command_the_command_panel_offers_records_an_event_on_the_board(
    style: str,
) -> None:
    board = board_of(style)
    assert not board.notes
    assert not any(box.dashed for box in board.layout().boxes)


# Systems -------------------------------------------------------------------------------------

WAREHOUSE_POLICIES = {
    "Warehouse: Order.Placed → PickList.Opened",
    "Warehouse: Order.Cancelled → PickList.Voided",
}


def test_a_system_puts_each_application_in_its_lane_and_its_policies_on_the_board() -> None:
    board = storming_board(SYSTEM)
    assert board.lanes == ["Shop", "Warehouse"]
    assert board.names("policy") == WAREHOUSE_POLICIES
    assert {s.app for s in board.of_kind("policy")} == {"Warehouse"}
    assert board.pairs("event", "policy") == {
        ("Order.Placed", "Warehouse: Order.Placed → PickList.Opened"),
        ("Order.Cancelled", "Warehouse: Order.Cancelled → PickList.Voided"),
    }
    assert board.pairs("policy", "event") == {
        ("Warehouse: Order.Placed → PickList.Opened", "PickList.Opened"),
        ("Warehouse: Order.Cancelled → PickList.Voided", "PickList.Voided"),
    }


def test_a_system_timeline_runs_from_the_leader_through_the_policy_to_the_follower() -> None:
    layout = storming_board(SYSTEM).layout()
    assert [lane.name for lane in layout.lanes] == ["Shop", "Warehouse"]
    (place,) = layout.find("command", "Shop.place_order")
    (placed,) = layout.find("event", "Order.Placed")
    (policy,) = layout.find("policy", "Warehouse: Order.Placed → PickList.Opened")
    (opened,) = layout.find("event", "PickList.Opened")
    assert place.right < placed.x < placed.right < policy.x < policy.right < opened.x
    assert placed.lane == "Shop" and opened.lane == "Warehouse"
    targets = {(a.name, b.name) for a, b in layout.arrows()}
    assert ("Warehouse: Order.Placed → PickList.Opened", "PickList") in targets


def test_a_runner_or_the_applications_give_the_same_policies() -> None:
    runner: SingleThreadedRunner[UUID] = apps.system.run_in_memory()
    try:
        assert storming_board(runner).names("policy") == WAREHOUSE_POLICIES
    finally:
        runner.stop()
    assert storming_board(*app_classes(STYLES["system"])).names("policy") == WAREHOUSE_POLICIES


class Invoice(Aggregate):
    @event("Raised")
    def __init__(self, order_id: UUID, amount: Decimal) -> None:
        self.order_id = order_id
        self.amount = amount
        self.void = False

    @event("Voided")
    def cancel(self, reason: str) -> None:
        self.void = True


class Invoicing(ProcessApplication[UUID]):
    """A process application whose policy tests the event's class with isinstance."""

    def policy(
        self, domain_event: DomainEventProtocol[UUID], processing_event: ProcessingEvent[UUID]
    ) -> None:
        if isinstance(domain_event, Order.Placed):
            invoice = Invoice(domain_event.originator_id, domain_event.total)  # type: ignore[attr-defined]
            processing_event.collect_events(invoice)
        elif isinstance(domain_event, Order.Cancelled):
            self._void(domain_event, processing_event)

    def _void(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        invoice: Invoice = self.repository.get(domain_event.originator_id)
        invoice.cancel("order cancelled")
        processing_event.collect_events(invoice)

    def invoice_total(self, order_id: UUID) -> Decimal:
        invoice: Invoice = self.repository.get(order_id)
        return invoice.amount


def test_a_policy_written_with_isinstance_is_read_branch_by_branch() -> None:
    board = storming_board(System(pipes=[[Shop, Warehouse], [Shop, Invoicing]]))
    assert board.lanes == ["Shop", "Warehouse", "Invoicing"]
    assert {
        ("Invoicing: Order.Placed → Invoice.Raised", "Invoice.Raised"),
        ("Invoicing: Order.Cancelled → Invoice.Voided", "Invoice.Voided"),
    } <= board.pairs("policy", "event")
    assert ("Order.Cancelled", "Invoicing: Order.Cancelled → Invoice.Voided") in board.pairs(
        "event", "policy"
    )
    # Two followers of the same two events: one crossing is unavoidable with a lane each,
    # but no sticky is covered and no arrow runs under one.
    assert [t for t in tangles(board.layout()) if " crosses " not in t] == []


class Restocking(ProcessApplication[UUID]):
    """A process application whose policy calls its own command."""

    @singledispatchmethod
    def policy(
        self, domain_event: DomainEventProtocol[UUID], processing_event: ProcessingEvent[UUID]
    ) -> None:
        """Nothing to do."""

    @policy.register(Order.Cancelled)
    def _(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Put the cancelled order's goods back on the shelf."""
        self.restock(domain_event.originator_id)

    def restock(self, order_id: UUID) -> None:
        self.save(Invoice(order_id, Decimal("0")))


def test_a_policy_that_calls_a_command_links_to_it() -> None:
    board = storming_board(System(pipes=[[Shop, Restocking]]))
    policy = "Restocking: Order.Cancelled → restock"
    assert (
        board.sticky("policy", policy).detail
        == "Put the cancelled order's goods back on the shelf."
    )
    assert (policy, "Restocking.restock") in board.pairs("policy", "command")
    layout = board.layout()
    (restock,) = layout.find("command", "Restocking.restock")
    (cancelled,) = layout.find("event", "Order.Cancelled")
    assert cancelled.right < restock.x, "the command the policy calls comes after the event"
