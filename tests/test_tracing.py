"""Causation and correlation on every event the workbench records, read back without the code.

Commands (CommandSet), process runs (ProcessRun) and followers (follow_causes)
record a trace in each stored state; load_events gives it as two columns; the
trace view follows one business process across applications. Plain
eventsourcing, and every aggregate style in tests/apps, still read traced
histories.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import pandas as pd
import pytest
from apps import STYLES, app_classes, load, sqlite_env, start, stop
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.cipher import AESCipher
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Mapper
from eventsourcing.system import ProcessApplication, SingleThreadedRunner, System

from workbench import (
    CommandSet,
    ManualClock,
    ProcessDeclaration,
    ProcessRun,
    Trace,
    Transition,
    caused_by,
    correlated,
    event_batches,
    follow_causes,
    load_events,
    open_app,
    trace,
    trace_of,
    tracing_env,
    use_clock,
)
from workbench.processes import Action, ActionContext, Timeout, timeout
from workbench.reading._columns import trace_columns
from workbench.samples import SAMPLE_TICKETING
from workbench.tracing import TRACE_KEY, TracingMapper, event_id
from workbench.tracing.view import SHOWN_ROWS, TraceError

START = datetime(2018, 3, 1, 9, 0, tzinfo=UTC)
KEY = AESCipher.create_key(16)


# A small domain, written as a user would -------------------------------------------


class Order(Aggregate):
    @event("Placed")
    def __init__(self, dish: str) -> None:
        self.dish = dish
        self.cooked = False

    @event("Cooked")
    def cook(self) -> None:
        self.cooked = True


class Kitchen(Application[UUID]):
    def place(self, dish: str) -> UUID:
        order = Order(dish=dish)
        self.save(order)
        return order.id

    def cook(self, order_id: UUID) -> None:
        order: Order = self.repository.get(order_id)
        order.cook()
        self.save(order)


class Ticket(Aggregate):
    """What the follower records for each order placed."""

    @event("Printed")
    def __init__(self, order_id: UUID) -> None:
        self.order_id = order_id


class Printer(ProcessApplication[UUID]):
    """Prints a ticket for each order placed (a follower in a System)."""

    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        if isinstance(domain_event, Order.Placed):
            processing_event.collect_events(Ticket(order_id=domain_event.originator_id))


COMMAND_ID = r"^[a-z_]+@[0-9a-f-]{36}$"


def stored_traces(app: Application[Any]) -> list[dict[str, str] | None]:
    """Each stored record's trace, read from the plain JSON state."""
    found = []
    for n in app.recorder.select_notifications(start=1, limit=1000):
        found.append(json.loads(n.state).get(TRACE_KEY))
    return found


# Commands --------------------------------------------------------------------------


def test_commands_carry_their_cause_on_every_store(store: str) -> None:
    app = open_app(Kitchen, store)
    commands = CommandSet(app)
    placed = commands.submit("place", dish="soup")
    assert placed.outcome == "recorded", placed.message
    cooked = commands.submit("cook", order_id=str(placed.returned))
    assert cooked.outcome == "recorded", cooked.message
    df = load_events(app)
    assert list(df.columns[-2:]) == ["causation_id", "correlation_id"]
    assert df.event_type.tolist() == ["Order.Placed", "Order.Cooked"]
    first, second = df.causation_id.tolist()
    assert first.startswith("place@") and second.startswith("cook@")
    assert df.causation_id.str.match(COMMAND_ID).all()
    # each command starts its own business process
    assert df.correlation_id.tolist() == [first, second]
    # the result names its run and its business process, to follow with trace()
    assert (placed.command_id, placed.correlation_id) == (first, first)
    assert (cooked.command_id, cooked.correlation_id) == (second, second)
    if store != "memory":  # the SQLite file or the PostgreSQL URL alone, no application
        assert load_events(store).causation_id.tolist() == [first, second]


def test_commands_inside_correlated_share_the_business_process() -> None:
    app = open_app(Kitchen)
    commands = CommandSet(app)
    with correlated("lunch-7"):
        order = commands.submit("place", dish="soup").returned
        commands.submit("cook", order_id=str(order))
    commands.submit("place", dish="bread")
    df = load_events(app)
    assert df.correlation_id.tolist()[:2] == ["lunch-7", "lunch-7"]
    assert df.correlation_id[2] == df.causation_id[2] != "lunch-7"
    assert df.causation_id[0] != df.causation_id[1]  # two commands, two causes
    assert df.causation_id[0] == commands.history[0].command_id
    assert commands.history[1].correlation_id == "lunch-7"


def test_an_event_read_by_the_tracing_mapper_keeps_its_trace_apart() -> None:
    app = open_app(Kitchen)
    with caused_by("place@1", "lunch-1"):
        order_id = app.place("soup")
    assert isinstance(app.mapper, TracingMapper)
    (placed,) = app.events.get(order_id)
    assert TRACE_KEY not in vars(placed)
    cause = trace_of(placed)
    assert cause is not None
    assert (cause.causation_id, cause.correlation_id) == ("place@1", "lunch-1")
    assert app.repository.get(order_id).dish == "soup"


def test_nothing_is_added_outside_a_cause() -> None:
    app = open_app(Kitchen)
    app.place("soup")
    assert stored_traces(app) == [None]
    df = load_events(app)
    assert df.causation_id.isna().all() and df.correlation_id.isna().all()


@pytest.mark.parametrize(
    "settings",
    [
        {"CIPHER_TOPIC": "eventsourcing.cipher:AESCipher", "CIPHER_KEY": KEY},
        {"COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"},
    ],
    ids=["encrypted", "compressed"],
)
def test_encrypted_and_compressed_stores_keep_the_trace(
    settings: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "kitchen.sqlite"
    app = open_app(Kitchen, path, env=settings)
    result = CommandSet(app).submit("place", dish="soup")
    state = app.recorder.select_notifications(start=1, limit=1)[0].state
    assert b"causation_id" not in state  # encrypted or compressed with the rest
    from_app = load_events(app)
    from_file = load_events(path, cipher_key=settings.get("CIPHER_KEY"))
    for df in (from_app, from_file):
        assert df.causation_id[0].startswith("place@")
        assert df.correlation_id[0] == df.causation_id[0]
        assert df.dish[0] == "soup"
    assert result.outcome == "recorded"


# Reading: the loader, without the code ---------------------------------------------


def test_a_history_without_traces_loads_with_empty_columns() -> None:
    df = load_events(SAMPLE_TICKETING)
    assert len(df) == 4000
    assert df.causation_id.isna().all() and df.correlation_id.isna().all()
    assert "__trace__" not in df.columns
    with pytest.raises(TraceError, match="carries a trace"):
        trace([df])


def test_traced_and_untraced_events_of_one_type_load_side_by_side() -> None:
    app = open_app(Kitchen)
    for dish in ("a", "b", "c"):
        app.place(dish)  # untraced first: the parser learns the type without the trace
    with caused_by("place@9", "lunch-9"):
        app.place("d")
    app.place("e")
    df = load_events(app)
    assert df.dish.tolist() == ["a", "b", "c", "d", "e"]
    assert df.causation_id.isna().tolist() == [True, True, True, False, True]
    assert df.correlation_id[3] == "lunch-9"
    # batches of one: the columns still line up
    assert load_events(app, batch_size=1).causation_id.isna().tolist() == [
        True,
        True,
        True,
        False,
        True,
    ]
    # event_batches (what projections and processes read) leave the trace in the payload
    payloads = [dict(p) for batch in event_batches(app) for _, _, _, _, p, _ in batch]
    assert payloads[3][TRACE_KEY]["correlation_id"] == "lunch-9"


def test_trace_columns_from_the_exact_route() -> None:
    values = pd.Series(
        [{"causation_id": "c@1", "correlation_id": "c@1"}, None, {"x": 1}], dtype=object
    ).to_numpy()
    columns = trace_columns(values)
    assert columns["causation_id"][0] == "c@1"
    assert pd.isna(columns["causation_id"][1]) and pd.isna(columns["correlation_id"][2])


def test_a_payload_field_named_like_a_trace_column_keeps_its_own_column() -> None:
    class Note(Aggregate):
        @event("Written")
        def __init__(self, causation_id: str) -> None:
            self.causation_id = causation_id

    class Notes(Application[UUID]):
        pass

    app = open_app(Notes)
    with caused_by("write@1"):
        app.save(Note(causation_id="mine"))
    df = load_events(app)
    assert df["payload.causation_id"][0] == "mine"
    assert df["causation_id"][0] == "write@1"


# Plain eventsourcing reads traced histories -----------------------------------------


def test_plain_eventsourcing_reads_a_traced_history_and_its_snapshots(tmp_path: Path) -> None:
    path = tmp_path / "kitchen.sqlite"
    env = {"IS_SNAPSHOTTING_ENABLED": "y"}
    traced = open_app(Kitchen, path, env=env)
    with caused_by("place@1", "lunch-1"):
        order_id = traced.place("soup")
        traced.cook(order_id)
        traced.take_snapshot(order_id)
    snapshot = traced.snapshots.recorder.select_events(order_id)[0]  # type: ignore[union-attr]
    assert TRACE_KEY.encode() in snapshot.state
    plain = Kitchen(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path), **env}
    )
    assert type(plain.mapper) is Mapper
    order = plain.repository.get(order_id)
    assert (order.dish, order.cooked, order.version) == ("soup", True, 2)
    first = plain.repository.get(order_id, version=1)  # from the events, not the snapshot
    assert (first.dish, first.cooked) == ("soup", False)
    # the plain mapper leaves the trace among the attributes; trace_of finds it there too
    placed = next(iter(plain.events.get(order_id)))
    cause = trace_of(placed)
    assert cause is not None and cause.correlation_id == "lunch-1"


@pytest.mark.parametrize("name", list(STYLES))
def test_every_aggregate_style_reads_its_traced_history(name: str, tmp_path: Path) -> None:
    style = STYLES[name]
    plain_env = sqlite_env(style, tmp_path)
    handle = start(style, {**plain_env, **tracing_env()})
    try:
        with correlated(f"{name}-1"):
            ids = style.scenario(handle)
        expected = {
            i: {k: getattr(load(style, handle, ids[i]), k) for k in a}
            for i, a in style.EXPECTED["final_state"].items()
        }
    finally:
        stop(handle)
    for cls in app_classes(style):
        db = tmp_path / f"{cls.name}.sqlite"
        df = load_events(db)
        assert len(df) and (df.correlation_id == f"{name}-1").all(), (cls.name, df.correlation_id)
    handle = start(style, plain_env)  # plain eventsourcing: no tracing mapper
    try:
        for index, attributes in style.EXPECTED["final_state"].items():
            obj = load(style, handle, ids[index])
            assert {k: getattr(obj, k) for k in attributes} == attributes, (name, index)
            assert {k: getattr(obj, k) for k in attributes} == expected[index]
            first = load(style, handle, ids[index], version=1)
            assert first.id == ids[index]
    finally:
        stop(handle)


def test_an_application_with_its_own_mapper_keeps_it() -> None:
    class OwnMapper(Mapper[UUID]):
        pass

    class Own(Kitchen):
        env: ClassVar[dict[str, str]] = {"MAPPER_TOPIC": f"{__name__}:OwnMapper"}

    globals()["OwnMapper"] = OwnMapper  # a topic needs a module attribute
    try:
        app = open_app(Own)
        assert type(app.mapper) is OwnMapper
        assert tracing_env(Own) == {}
        assert tracing_env(Kitchen) == tracing_env()
        CommandSet(app).submit("place", dish="soup")
        assert stored_traces(app) == [None]  # not traced, as the docs say
    finally:
        del globals()["OwnMapper"]


# Process runs ----------------------------------------------------------------------

COOKING = ProcessDeclaration(
    name="Cooking",
    states=("new", "cooking", "late"),
    initial="new",
    transitions=(
        Transition("new", "Order.Placed", "cooking", actions=("cook",), schedule=("slow",)),
        Transition("cooking", timeout("slow"), "late"),
    ),
    actions=(Action("cook", "command"),),
    timeouts=(Timeout("slow", timedelta(minutes=20)),),
)


def test_a_process_run_step_causes_its_log_events_and_its_commands() -> None:
    clock = ManualClock(START)
    kitchen = open_app(Kitchen)

    def cook(ctx: ActionContext) -> None:
        with use_clock(clock):
            kitchen.cook(UUID(ctx.instance))

    with use_clock(clock):
        placed = CommandSet(kitchen).submit("place", dish="soup")
    command = load_events(kitchen).causation_id[0]
    run = ProcessRun(COOKING, kitchen, handlers={"cook": cook}, clock=clock)
    run.step()
    clock.advance(timedelta(minutes=30))
    run.advance(timedelta(0))
    assert run.states() == {str(placed.returned): "late"}
    upstream = load_events(kitchen)
    placed_id = event_id(upstream.stream_id[0], 1)
    # the command the handler ran: caused by the upstream event, in the command's process
    assert upstream.causation_id.tolist() == [command, placed_id]
    assert set(upstream.correlation_id) == {command}
    log = load_events(run.log)
    assert len(log) >= 2
    assert set(log.correlation_id) == {command}
    delivered = log[log.causation_id == placed_id]
    assert len(delivered) >= 1
    # the timeout is caused by the instance's last event before it
    fired = log.iloc[len(delivered) :]
    assert len(fired) >= 1
    last = delivered.iloc[-1]
    assert fired.causation_id.iloc[0] == event_id(last.stream_id, last.version)
    # one business process, across the kitchen and the process log
    t = trace({"Kitchen": kitchen, "Cooking": run.log}, command)
    assert t.applications == ["Kitchen", "Cooking"]
    assert len(t) == len(upstream) + len(log)


# A follower in a System ---------------------------------------------------------------


def test_a_follower_wrapped_with_follow_causes_records_what_caused_its_events() -> None:
    system = System(pipes=[[Kitchen, Printer]])
    runner = SingleThreadedRunner(system, env=tracing_env())
    runner.start()
    try:
        kitchen = runner.get(Kitchen)
        printer = runner.get(Printer)
        follow_causes(printer)
        follow_causes(printer)  # twice changes nothing
        commands = CommandSet(kitchen)
        first = commands.submit("place", dish="soup")
        commands.submit("place", dish="bread")
        orders = load_events(kitchen)
        tickets = load_events(printer)
        assert len(tickets) == 2
        # each ticket: caused by its order's Placed event, in that order's business process
        assert tickets.causation_id.tolist() == [
            event_id(s, v) for s, v in zip(orders.stream_id, orders.version, strict=True)
        ]
        assert tickets.correlation_id.tolist() == orders.causation_id.tolist()
        t = trace({"Kitchen": kitchen, "Printer": printer}, orders.correlation_id[0])
        assert isinstance(t, Trace)
        assert t.events[["application", "event_type"]].values.tolist() == [
            ["Kitchen", "Order.Placed"],
            ["Printer", "Ticket.Printed"],
        ]
        assert t.events.caused_by.tolist() == ["command place", "Kitchen: Order.Placed"]
        assert t.events.stream_id[0] == str(first.returned)
        # the same from frames loaded beforehand
        again = trace([orders.assign(), tickets], orders.correlation_id[0])
        assert again.events.event_type.tolist() == t.events.event_type.tolist()
        # the newest process, without an id
        assert (
            trace({"Kitchen": kitchen, "Printer": printer}).correlation_id
            == (orders.correlation_id[1])
        )
        chart = t.chart().to_dict()
        rule, point, text = chart["layer"]
        assert [rule["mark"]["type"], point["mark"]["type"], text["mark"]["type"]] == [
            "rule",
            "point",
            "text",
        ]
        assert point["encoding"]["y"]["field"] == "application"
        datasets = chart["datasets"]
        # a system reacting within the second: events one step after another
        assert point["encoding"]["x"]["field"] == "step"
        assert text["encoding"]["text"]["field"] == "label"  # the event's own name
        assert [x["label"] for x in datasets[text["data"]["name"]]] == ["Placed", "Printed"]
        assert t.chart(axis="time").to_dict()["layer"][1]["encoding"]["x"]["field"] == "time"
        with pytest.raises(ValueError, match="'auto', 'time' or 'step'"):
            t.chart(axis="later")  # type: ignore[arg-type]
        assert point["encoding"]["y"]["sort"] == ["Kitchen", "Printer"]
        links = datasets[rule["data"]["name"]]
        assert [(x["from_app"], x["to_app"], x["effect"]) for x in links] == [
            ("Kitchen", "Printer", "Ticket.Printed")
        ]
        tooltips = [x["field"] for x in point["encoding"]["tooltip"]]
        assert "caused_by" in tooltips
        bundle = t._repr_mimebundle_()
        assert "<svg" in bundle["text/html"] and "Ticket.Printed" in bundle["text/html"]
        assert "2 event(s) in Kitchen, Printer" in bundle["text/plain"]
    finally:
        runner.stop()


def test_follow_causes_installs_the_mapper_on_a_follower_built_without_it() -> None:
    runner = SingleThreadedRunner(System(pipes=[[Kitchen, Printer]]))
    runner.start()
    try:
        kitchen, printer = runner.get(Kitchen), runner.get(Printer)
        follow_causes(printer)
        assert isinstance(printer.mapper, TracingMapper)
        kitchen.place("soup")  # untraced upstream: the ticket starts a business process
        tickets = load_events(printer)
        orders = load_events(kitchen)
        placed = event_id(orders.stream_id[0], 1)
        assert tickets.causation_id.tolist() == [placed]
        assert tickets.correlation_id.tolist() == [placed]
    finally:
        runner.stop()


def test_follow_causes_refuses_what_is_not_a_process_application() -> None:
    with pytest.raises(TypeError, match="ProcessApplication"):
        follow_causes(object())


def test_a_long_process_shows_the_first_rows_and_says_how_many_more() -> None:
    app = open_app(Kitchen)
    with correlated("banquet"):
        for n in range(SHOWN_ROWS + 5):
            app.place(f"dish {n}")
    t = trace({"Kitchen": app}, "banquet")
    assert len(t) == SHOWN_ROWS + 5
    page = t._repr_html_()
    assert "dish" not in page  # payloads are not part of a trace
    assert page.count("</tr>") == SHOWN_ROWS + 1  # the header and the rows shown
    assert "... and 5 more event(s)" in page
    assert t.events.caused_by.eq("banquet").all()  # a named process, not an event or command


def test_an_unknown_business_process_says_which_ones_there_are() -> None:
    app = open_app(Kitchen)
    with correlated("lunch-1"):
        app.place("soup")
    with pytest.raises(TraceError, match="lunch-1"):
        trace({"Kitchen": app}, "dinner-2")


class Tab(Aggregate):
    """An aggregate whose ``__init__`` takes any keywords, built by an explicit event class."""

    class Opened(Aggregate.Created):
        table: int
        guests: int

    class Paid(Aggregate.Event):
        amount: int

        def apply(self, aggregate: Aggregate) -> None:
            aggregate.paid = self.amount  # type: ignore[attr-defined]

    def __init__(self, table: int, guests: int, **kwargs: Any) -> None:
        self.opened_with = {"table": table, "guests": guests, **kwargs}
        self.paid = 0


class Tabs(Application[UUID]):
    def open(self, table: int, guests: int) -> UUID:
        tab = Tab._create(Tab.Opened, table=table, guests=guests)
        self.save(tab)
        return tab.id

    def pay(self, tab_id: UUID, amount: int) -> None:
        tab: Tab = self.repository.get(tab_id)
        tab.trigger_event(Tab.Paid, amount=amount)
        self.save(tab)


def test_an_init_taking_any_keywords_is_not_given_the_trace(tmp_path: Path) -> None:
    path = tmp_path / "tabs.sqlite"
    traced = open_app(Tabs, path)
    with correlated("dinner-1"):
        tab_id = traced.open(table=4, guests=2)
        traced.pay(tab_id, 30)
    plain = Tabs(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)})
    for app in (plain, traced):
        tab = app.repository.get(tab_id)
        assert tab.opened_with == {"table": 4, "guests": 2}
        assert (tab.paid, tab.version) == (30, 2)
        assert TRACE_KEY not in vars(tab)
    # the same events, whichever mapper read them (dataclass equality: the fields)
    assert list(plain.events.get(tab_id)) == list(traced.events.get(tab_id))
    assert load_events(path).correlation_id.tolist() == ["dinner-1", "dinner-1"]


def test_the_trace_view_needs_no_domain_code(tmp_path: Path) -> None:
    path = tmp_path / "kitchen.sqlite"
    app = open_app(Kitchen, path)
    commands = CommandSet(app)
    order = commands.submit("place", dish="soup").returned
    with correlated("lunch-3"):
        commands.submit("cook", order_id=str(order))
    app.close()
    with sqlite3.connect(path) as conn:  # topics of a module nobody has
        conn.execute("UPDATE stored_events SET topic = replace(topic, ?, 'gone.away')", [__name__])
    t = trace({"Kitchen": path}, "lunch-3")
    assert t.events.event_type.tolist() == ["Order.Cooked"]
    assert t.events.caused_by.tolist() == ["command cook"]
    assert t.events.version.tolist() == [2]


def test_free_tickets_one_sponsor_traced_from_the_crm_into_the_box_office() -> None:
    from workbench.examples.free_tickets import BoxOffice
    from workbench.examples.free_tickets.system import system
    from workbench.examples.sponsorship import Sponsorship
    from workbench.systems import open_system

    run = open_system(system)
    try:
        crm, box_office = run.get(Sponsorship), run.get(BoxOffice)
        conference = box_office.schedule_conference("PHP18", "ConFoo PHP", date(2018, 3, 7))
        box_office.add_ticket_type(conference, "Conference", Decimal("450.00"), 100)
        commands = CommandSet(crm)
        with correlated("acme"):
            sponsor = str(
                commands.submit(
                    "register_sponsor", company="Acme", conference_code="PHP18", contact="a@b"
                ).returned
            )
            commands.submit("sign_contract", sponsor_id=sponsor, level="Bronze")
            commands.submit("raise_invoice", sponsor_id=sponsor, invoice_number="I1", amount="9")
        settled = commands.submit("settle_invoice", sponsor_id=sponsor, invoice_number="I1")
        assert settled.outcome == "recorded", settled.message
        t = trace({"Sponsorship": crm, "BoxOffice": box_office})  # the newest: the settlement
        rows = t.events[["application", "event_type", "caused_by"]].values.tolist()
        assert rows[0] == ["Sponsorship", "Sponsor.InvoiceSettled", "command settle_invoice"]
        assert ["BoxOffice", "TicketPurchase.Paid", "Sponsorship: Sponsor.InvoiceSettled"] in rows
        assert {app for app, _, _ in rows[1:]} == {"BoxOffice"}
        earlier = trace({"Sponsorship": crm, "BoxOffice": box_office}, "acme")
        assert earlier.applications == ["Sponsorship", "BoxOffice"]
        assert "TicketPurchase.Paid" not in set(earlier.events.event_type)
    finally:
        run.close()
