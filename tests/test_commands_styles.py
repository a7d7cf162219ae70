"""The command panel on the style applications in tests/apps, one per eventsourcing style.

For each style (decorated methods, explicit event classes with ``trigger_event``,
``@event(EventClass)``, a nested ``Created``, a dataclass aggregate, functional
aggregates with a projector, private state behind properties, domain-object
parameters, and a ``System`` with a process application), on memory and on SQLite:

- the commands found, and the queries left out (whatever their names);
- a form with an input for every parameter, none disabled;
- good input, typed into the form as a user would, records the expected event and the
  aggregate reads back the typed values (never a repr);
- bad input names the field and records nothing;
- the command that breaks the style's rule is refused with the error's type and text,
  and records nothing; the style's queries still answer as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import apps
import pytest
from apps import STYLES, applications, sqlite_env, start, stop
from apps.decorated import ALICE
from apps.domain_objects import Address, Transport
from apps.private_state import TILL
from apps.system import PickList

from workbench.commands import CommandResult, CommandSet
from workbench.widgets.command_panel import CommandPanel, ObjectInput

Inputs = Callable[[list[UUID]], dict[str, Any]]


@dataclass
class Case:
    """What the panel must find and do for one style."""

    commands: dict[str, list[str]]
    """Commands per application class, in source order."""
    queries: dict[str, list[str]]
    """Public methods left out, per application class."""
    good: tuple[str, Inputs, str]
    """A command, its inputs (as text, as a form sends them), the event it records."""
    state: Callable[[Any, UUID], None]
    """Checks the aggregate the good command changed (``load``-ed, id given)."""
    bad: tuple[str, Inputs, str, str]
    """A command, inputs with one bad field, that field, words of its message."""
    rule: tuple[str, Inputs]
    """The command and inputs that break the style's rule (``break_rule``, typed in)."""


def _decorated(book: Any, _: UUID) -> None:
    assert (book.pages, book.published, book.tags, book.edition) == (
        204,
        date(1961, 6, 1),
        ["sf", "classic"],
        None,
    )


def _explicit(account: Any, _: UUID) -> None:
    assert account.frozen
    assert account.freeze_details == {
        "reason": "audit",
        "until": None,
        "flags": ["manual"],
        "score": 12,
    }


def _event_class(recipe: Any, _: UUID) -> None:
    assert recipe.ingredients == [
        {"name": "butter", "quantity": Decimal("10"), "unit": "g", "optional": True}
    ]


def _nested(parcel: Any, _: UUID) -> None:
    assert parcel.dimensions_cm == {"length": 10, "width": 5}
    assert parcel.contents == [] and parcel.insurance_id is None and parcel.fragile is False


def _dataclass(todo: Any, _: UUID) -> None:
    assert todo.items[-1] == {
        "text": "",  # required text, left empty: given to the domain as ""
        "priority": 3,
        "estimate_hours": Decimal("0.5"),
        "labels": [],
        "done_at": None,
    }


def _functional(dog: Any, _: UUID) -> None:
    assert dog.shows[-1] == {
        "show": "Village fete",
        "starts_at": datetime(2024, 6, 1, 10, 0, tzinfo=UTC),
        "class": "obedience",
        "number": 7,
    }


def _private(card: Any, _: UUID) -> None:
    assert card.balance == Decimal("18.60")


def _domain_objects(trip: Any, _: UUID) -> None:
    assert trip.home == Address("1 Lake Rd", "Keswick", "CA12 5AB", "GB")
    assert trip.transport is Transport.CAR and trip.travellers == 3


def _system(order: Any, order_id: UUID) -> None:
    assert order.total == Decimal("17.00") and order.coupon is None
    assert order.lines == [{"sku": "MUG-01", "qty": 2, "price": Decimal("8.50")}]


ROUTE_BROKEN = (
    '[{"start": "London", "end": "Brighton", "km": "85"}, '
    '{"start": "Dover", "end": "Calais", "km": "42"}]'
)

CASES: dict[str, Case] = {
    "decorated": Case(
        {"Library": ["register_book", "lend", "give_back"]},
        {"Library": ["is_available"]},
        (
            "register_book",
            lambda ids: {
                "title": "Solaris",
                "isbn": "978-0156027601",
                "pages": "204",
                "published": "1961-06-01",
                "tags": "sf\nclassic",
                "edition": "",
            },
            "Book.Registered",
        ),
        _decorated,
        ("register_book", lambda ids: {"title": "X", "pages": "many"}, "pages", "whole number"),
        (
            "lend",
            lambda ids: {"book_id": str(ids[1]), "member_id": str(ALICE), "due": "2024-03-11"},
        ),
    ),
    "explicit": Case(
        {"Bank": ["open_account", "deposit", "withdraw", "freeze"]},
        {"Bank": ["balance"]},
        (
            "freeze",
            lambda ids: {
                "account_id": str(ids[0]),
                "reason": "audit",
                "details": '{"flags": ["manual"], "score": 12}',
                "until": "",
                "notify_owner": "no",
            },
            "Account.Frozen",
        ),
        _explicit,
        (
            "deposit",
            lambda ids: {"account_id": str(ids[0]), "amount": "ten", "reference": str(ids[1])},
            "amount",
            "not a decimal number",
        ),
        (
            "withdraw",
            lambda ids: {"account_id": str(ids[0]), "amount": "1000.00", "payee": "Car dealer"},
        ),
    ),
    "event_class": Case(
        {"Cookbook": ["draft", "add_ingredient", "publish", "rate"]},
        {"Cookbook": ["shopping_list"]},
        (
            "add_ingredient",
            lambda ids: {
                "recipe_id": str(ids[1]),
                "name": "butter",
                "quantity": "10",
                "unit": "g",
                "optional": "yes",
            },
            "Recipe.IngredientAdded",
        ),
        _event_class,
        (
            "rate",
            lambda ids: {"recipe_id": str(ids[0]), "stars": "five", "cooked_on": "2024-04-08"},
            "stars",
            "not a whole number",
        ),
        (
            "add_ingredient",
            lambda ids: {
                "recipe_id": str(ids[0]),
                "name": "chorizo",
                "quantity": "100",
                "unit": "g",
            },
        ),
    ),
    "nested_created": Case(
        {"Courier": ["send", "scan", "deliver"]},
        {"Courier": ["whereabouts"]},
        (
            "send",
            lambda ids: {
                "tracking_code": "PK-0003",
                "sender": "Tea Co",
                "recipient": "A. Reader",
                "weight_grams": "500",
                "declared_value": "20.00",
                "fragile": "no",
                "ship_by": "2024-03-01",
                "dimensions_cm": "length=10, width=5",
                "contents": "",
                "insurance_id": "",
            },
            "Parcel.Created",
        ),
        _nested,
        (
            "scan",
            lambda ids: {"parcel_id": "PK-0002", "depot": "Leeds", "at": "2024-02-21 09:00"},
            "parcel_id",
            "'PK-0002' is not a parcel id",
        ),
        (
            "scan",
            lambda ids: {
                "parcel_id": str(ids[0]),
                "depot": "Returns desk",
                "at": "2024-02-21 09:00",
            },
        ),
    ),
    "dataclass_agg": Case(
        {"Planner": ["start_list", "add_item", "complete", "archive"]},
        {"Planner": ["open_items"]},
        (
            "add_item",
            lambda ids: {
                "list_id": str(ids[0]),
                "text": "",
                "priority": "3",
                "estimate_hours": "0.5",
                "labels": "",
            },
            "TodoList.ItemAdded",
        ),
        _dataclass,
        (
            "complete",
            lambda ids: {"list_id": str(ids[0]), "position": "2.5", "at": "2024-05-02 11:20"},
            "position",
            "it has a fraction",
        ),
        (
            "complete",
            lambda ids: {"list_id": str(ids[0]), "position": "0", "at": "2024-05-02 11:20"},
        ),
    ),
    "functional": Case(
        {"Kennel": ["register_dog", "teach", "enter_show"]},
        {"Kennel": ["dog", "tricks"]},
        (
            "enter_show",
            lambda ids: {
                "dog_id": str(ids[1]),
                "show": "Village fete",
                "starts_at": "2024-06-01 10:00",
                "entry": '{"class": "obedience", "number": 7}',
            },
            "ShowEntered",
        ),
        _functional,
        (
            "teach",
            lambda ids: {
                "dog_id": str(ids[1]),
                "trick": "roll",
                "sessions": "inf",
                "treats_used": "1",
                "reliable": "no",
            },
            "sessions",
            "not a whole number",
        ),
        (
            "teach",
            lambda ids: {
                "dog_id": str(ids[0]),
                "trick": "sit",
                "sessions": "1",
                "treats_used": "0.10",
                "reliable": "yes",
            },
        ),
    ),
    "private_state": Case(
        {"Canteen": ["issue_card", "top_up", "pay", "report_lost"]},
        {"Canteen": ["balance"]},
        (
            "top_up",
            lambda ids: {
                "card_id": str(ids[0]),
                "amount": "5.00",
                "paid_with": "cash",
                "at": "2024-01-18 08:00",
            },
            "CanteenCard.ToppedUp",
        ),
        _private,
        (
            "pay",
            lambda ids: {
                "card_id": str(ids[0]),
                "amount": "1.00",
                "basket": "soup",
                "till_id": str(TILL),
                "at": "2024-01-18 12:00",
            },
            "basket",
            "write it as JSON",
        ),
        (
            "pay",
            lambda ids: {
                "card_id": str(ids[0]),
                "amount": "50.00",
                "basket": '[{"item": "catering for 10", "qty": 1}]',
                "till_id": str(TILL),
                "at": "2024-01-17 12:40",
            },
        ),
    ),
    "domain_objects": Case(
        {"TripPlanner": ["plan_trip", "plan_route", "change_transport", "depart"]},
        {"TripPlanner": ["distance"]},
        (
            "plan_trip",
            lambda ids: {
                "title": "Lakes",
                "home": {
                    "street": "1 Lake Rd",
                    "city": "Keswick",
                    "postcode": "CA12 5AB",
                    "country": "GB",
                },
                "transport": "CAR",
                "starts_on": "2024-09-01",
                "travellers": "3",
            },
            "Trip.Planned",
        ),
        _domain_objects,
        (
            "plan_route",
            lambda ids: {
                "trip_id": str(ids[1]),
                "route": {"legs": '[{"start": "A", "end": "B", "km": "far"}]'},
            },
            "route",
            "legs: item 1: km: 'far' is not a decimal number",
        ),
        ("plan_route", lambda ids: {"trip_id": str(ids[1]), "route": {"legs": ROUTE_BROKEN}}),
    ),
    "system": Case(
        {"Shop": ["place_order", "cancel_order"], "Warehouse": ["mark_picked"]},
        {"Shop": ["order_status"], "Warehouse": ["pick_status"]},
        (
            "place_order",
            lambda ids: {
                "customer": "Pat",
                "lines": '[{"sku": "MUG-01", "qty": 2, "price": 8.50}]',
                "express": "no",
                "deliver_by": "2024-09-10",
                "coupon": "",
            },
            "Order.Placed",
        ),
        _system,
        (
            "place_order",
            lambda ids: {"customer": "Pat", "lines": "two mugs", "deliver_by": "2024-09-10"},
            "lines",
            "write it as JSON",
        ),
        ("cancel_order", lambda ids: {"order_id": str(ids[1]), "reason": "cancelled twice"}),
    ),
}

STORES = ["memory", "sqlite"]


@pytest.fixture(params=list(STYLES))
def style(request: pytest.FixtureRequest) -> ModuleType:
    return STYLES[request.param]


@pytest.fixture(params=STORES)
def running(
    request: pytest.FixtureRequest, style: ModuleType, tmp_path: Path
) -> Any:  # a started style: its handle
    env = (
        {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        if request.param == "memory"
        else sqlite_env(style, tmp_path)
    )
    handle = start(style, env)
    yield handle
    stop(handle)


def case_of(style: ModuleType) -> Case:
    return CASES[style.__name__.split(".")[-1]]


def snapshot(handle: Any) -> list[list[tuple[int, str, int, str]]]:
    return [
        [
            (n.id, str(n.originator_id), n.originator_version, n.topic)
            for n in app.recorder.select_notifications(1, 10_000)
        ]
        for app in applications(handle)
    ]


def command_sets(handle: Any) -> dict[str, CommandSet]:
    return {type(app).__name__: CommandSet(app) for app in applications(handle)}


def leader(handle: Any, style: ModuleType) -> Any:
    return next(a for a in applications(handle) if isinstance(a, style.APP))


def test_the_commands_are_found_and_the_queries_left_out(style: ModuleType) -> None:
    case = case_of(style)
    handle = start(style, {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        sets = command_sets(handle)
        assert {name: list(cs.commands) for name, cs in sets.items()} == case.commands
        assert {name: list(cs.queries) for name, cs in sets.items()} == case.queries
        for cs in sets.values():
            assert all(c.reason.startswith("reaches save") for c in cs)
    finally:
        stop(handle)


def test_a_form_with_an_input_for_every_parameter(style: ModuleType) -> None:
    handle = start(style, {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        for app in applications(handle):
            panel = CommandPanel(app)
            assert list(panel.forms) == list(panel.commands.commands)
            for name, form in panel.forms.items():
                command = panel.commands[name]
                assert list(form.inputs) == [f.name for f in command.fields]
                assert not command.unavailable and not form.submit_button.disabled
                assert not any(f.note for f in command.fields), name  # typed: nothing guessed
    finally:
        stop(handle)


def submit_in_form(panel: CommandPanel, command: str, inputs: dict[str, Any]) -> CommandResult:
    form = panel.form(command)
    form.clear()
    form.fill(**inputs)
    form.submit_button.click()
    assert form.result is not None
    return form.result


def test_good_input_typed_into_the_form_records_its_event(style: ModuleType, running: Any) -> None:
    case = case_of(style)
    ids = style.scenario(running)
    app = leader(running, style)
    panel = CommandPanel(app)
    command, inputs, event_type = case.good
    result = submit_in_form(panel, command, inputs(ids))
    assert result.outcome == "recorded", result.summary()
    assert [e.type_name for e in result.events] == [event_type]  # its own, nothing else
    changed = UUID(result.events[0].stream_id)
    case.state(apps.load(style, running, changed), changed)


def test_bad_input_names_the_field_and_records_nothing(style: ModuleType, running: Any) -> None:
    case = case_of(style)
    ids = style.scenario(running)
    panel = CommandPanel(leader(running, style))
    before = snapshot(running)
    command, inputs, field, words = case.bad
    result = submit_in_form(panel, command, inputs(ids))
    assert result.outcome == "invalid"
    assert words in result.errors[field]
    assert words in panel.forms[command].errors[field].value.replace("&#x27;", "'")
    assert snapshot(running) == before


def test_a_broken_rule_is_refused_with_its_type_and_records_nothing(
    style: ModuleType, running: Any
) -> None:
    case = case_of(style)
    ids = style.scenario(running)
    commands = CommandSet(leader(running, style))
    before = snapshot(running)
    command, inputs = case.rule
    result = commands.submit(command, inputs(ids))
    error = style.EXPECTED["error"]
    assert result.outcome == "refused", result.summary()
    assert result.exception == error
    assert result.message.startswith(f"{error}: ")
    assert result.events == []
    assert snapshot(running) == before
    assert style.ask(running, ids) == style.EXPECTED["query"]


def test_domain_objects_from_a_sub_form_and_later_commands_still_work(tmp_path: Path) -> None:
    style = STYLES["domain_objects"]
    handle = start(style, sqlite_env(style, tmp_path))
    try:
        style.scenario(handle)
        panel = CommandPanel(handle)
        plan = panel.form("plan_trip")
        home = plan.inputs["home"]
        assert isinstance(home, ObjectInput) and list(home.members) == [
            "street",
            "city",
            "postcode",
            "country",
        ]
        plan.fill(title="Lakes", transport="CAR", starts_on="2024-09-01", travellers="3")
        plan.submit_button.click()
        assert plan.result is not None and "required: enter an Address" in plan.errors["home"].value
        home.members["street"].widget.value = "1 Lake Rd"
        assert plan.errors["home"].value == ""  # being filled in: no stale message
        for name, value in {"city": "Keswick", "postcode": "CA12 5AB", "country": "GB"}.items():
            home.members[name].widget.value = value
        plan.submit_button.click()
        assert plan.result.outcome == "recorded", plan.result.summary()
        trip = plan.result.returned
        route = panel.form("plan_route")
        route.fill(
            trip_id=trip, route={"legs": '[{"start": "Keswick", "end": "Leeds", "km": "x"}]'}
        )
        route.submit_button.click()
        assert "km: 'x' is not a decimal number" in route.errors["route"].value.replace(
            "&#x27;", "'"
        )
        legs = route.inputs["route"].members["legs"]  # type: ignore[attr-defined]
        legs.widget.value = '[{"start": "Keswick", "end": "Leeds", "km": "190.5"}]'
        assert route.errors["route"].value == ""
        route.submit_button.click()
        assert route.result is not None and route.result.outcome == "recorded"
        assert handle.distance(trip) == Decimal("190.5")
        route.fill(route=handle.repository.get(trip).route)  # an object shows as its fields
        assert "190.5" in legs.widget.value and "Route(" not in legs.widget.value
        change = panel.form("change_transport")
        change.fill(trip_id=trip, transport=Transport.TRAIN, reason="")
        change.submit_button.click()
        assert change.result is not None and change.result.outcome == "recorded"
    finally:
        stop(handle)


def test_in_a_system_a_command_lists_its_own_application_s_events() -> None:
    style = STYLES["system"]
    handle = start(style, {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        ids = style.scenario(handle)
        sets = command_sets(handle)
        placed = sets["Shop"].submit(case_of(style).good[0], case_of(style).good[1](ids))
        assert [e.type_name for e in placed.events] == ["Order.Placed"]
        order = placed.returned
        warehouse = handle.get(style.Warehouse)
        assert warehouse.pick_status(order) == "open"  # the process application followed
        picked = sets["Warehouse"].submit(
            "mark_picked", order_id=str(order), picker="Jo", at="2024-09-03 10:00"
        )
        assert [e.type_name for e in picked.events] == ["PickList.Picked"]
        assert picked.events[0].stream_id == str(PickList.create_id(order))
        again = sets["Warehouse"].submit(
            "mark_picked", order_id=str(order), picker="Jo", at="2024-09-03 10:00"
        )
        assert again.outcome == "refused" and again.exception == "OrderClosed"
    finally:
        stop(handle)
