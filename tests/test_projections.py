"""Projections: incremental == rebuilt, stop-at, resume, failing handlers, lag, diff.

The invariants run over random sequences of valid Ticketing commands.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.clock import ManualClock, use_clock
from workbench.examples.ticketing import Ticketing, TicketingError
from workbench.examples.ticketing.readmodels import (
    PurchaseRecords,
    SalesOverTime,
    TicketsRemaining,
)
from workbench.projections import (
    EventView,
    MemoryStorage,
    Projection,
    ProjectionError,
    ProjectionRun,
    ReadModel,
    diff,
    handles,
)
from workbench.reading import load_events, open_records
from workbench.stores import open_app

T0 = datetime(2018, 1, 15, 10, 0, tzinfo=UTC)
PROJECTIONS = [TicketsRemaining, PurchaseRecords, SalesOverTime]

# A command is (kind, a, b): kind picks the command, a and b pick its arguments.
commands = st.lists(
    st.tuples(st.integers(0, 7), st.integers(0, 10_000), st.integers(0, 10_000)),
    min_size=1,
    max_size=30,
)


def apply_command(app: Ticketing, state: dict[str, Any], kind: int, a: int, b: int) -> None:
    """Turn (kind, a, b) into one valid-looking Ticketing command (refusals are fine)."""
    conferences: list[UUID] = state.setdefault("conferences", [])
    purchases: list[UUID] = state.setdefault("purchases", [])
    try:
        if kind == 0 or not conferences:
            n = len(conferences)
            conf = app.schedule_conference(f"C{n}", f"Conf {n}", date(2018, 3, 7))
            app.add_ticket_type(conf, "Standard", Decimal("450.00"), capacity=6)
            app.add_ticket_type(conf, "Student", Decimal("99.50"), capacity=3)
            app.create_discount_code(conf, "TEN", 10)
            conferences.append(conf)
        elif kind in (1, 2):
            conf = conferences[a % len(conferences)]
            quantities = {"Standard": 1 + a % 2} if b % 3 else {"Student": 1, "Standard": 1}
            purchases.append(
                app.reserve_tickets(
                    conf, f"Customer {a}", quantities, "TEN" if b % 4 == 0 else None
                )
            )
        elif kind == 3 and purchases:
            purchase = app.get_purchase(purchases[a % len(purchases)])
            app.pay(purchase.id, f"pay-{b}", [f"D{i}" for i in range(purchase.ticket_count)])
        elif kind == 4 and purchases:
            app.time_out(purchases[a % len(purchases)])
        elif kind == 5 and purchases:
            app.cancel_ticket(purchases[a % len(purchases)], 1 + b % 2, "ill")
        elif kind == 6:
            conf = conferences[a % len(conferences)]
            purchases.append(
                app.issue_complimentary_tickets(conf, f"Sponsor {a}", "Standard", ["X"])
            )
        elif kind == 7:
            app.end_ticket_sale(conferences[a % len(conferences)], "Student")
    except TicketingError:
        pass


def build(ops: list[tuple[int, int, int]], store: str = "memory") -> Ticketing:
    """A Ticketing app holding the history that ``ops`` make, a few minutes apart."""
    clock = ManualClock(T0)
    with use_clock(clock):
        app = open_app(Ticketing, store)
        state: dict[str, Any] = {}
        for kind, a, b in ops:
            clock.advance(minutes=1 + b % 90)
            apply_command(app, state, kind, a, b)
    return app


def first_events(app: Ticketing, upto: int) -> Ticketing:
    """A new app holding only the first ``upto`` events of ``app``'s history."""
    copy = open_app(Ticketing)
    stored = [
        StoredEvent(UUID(r.stream_id), r.version, r.topic, r.state)
        for batch in open_records(app).batches(0, upto=upto)
        for r in batch
    ]
    if stored:
        copy.recorder.insert_events(stored)
    return copy


def tables(run: ProjectionRun) -> dict[str, dict[Any, Any]]:
    return run.model.snapshot()


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def history() -> Ticketing:
    return build([(k % 8, k * 7, k * 13) for k in range(60)])


# Invariants -------------------------------------------------------------------------


@SETTINGS
@given(ops=commands, splits=st.lists(st.integers(0, 30), max_size=5))
def test_incremental_equals_rebuilt(ops: list[tuple[int, int, int]], splits: list[int]) -> None:
    clock = ManualClock(T0)
    with use_clock(clock):
        app = open_app(Ticketing)
        state: dict[str, Any] = {}
        runs = [ProjectionRun(p(), app) for p in PROJECTIONS]
        for i, (kind, a, b) in enumerate(ops):
            clock.advance(minutes=1 + b % 90)
            apply_command(app, state, kind, a, b)
            if i in splits:
                for run in runs:
                    run.run()
    for run, projection in zip(runs, PROJECTIONS, strict=True):
        run.run()
        rebuilt = ProjectionRun(projection(), app).rebuild()
        assert tables(run) == tables(rebuilt)
        assert run.position == rebuilt.position == app.recorder.max_notification_id()


@SETTINGS
@given(ops=commands)
def test_rebuilding_twice_gives_the_same(ops: list[tuple[int, int, int]]) -> None:
    app = build(ops)
    for projection in PROJECTIONS:
        run = ProjectionRun(projection(), app)
        first = tables(run.rebuild())
        assert tables(run.rebuild()) == first


@SETTINGS
@given(ops=commands, data=st.data())
def test_stop_at_position_equals_rebuilding_the_first_n(
    ops: list[tuple[int, int, int]], data: st.DataObject
) -> None:
    app = build(ops)
    top = app.recorder.max_notification_id() or 0
    n = data.draw(st.integers(0, top))
    copy = first_events(app, n)
    for projection in PROJECTIONS:
        stopped = ProjectionRun(projection(), app).rebuild(upto=n)
        reference = ProjectionRun(projection(), copy).rebuild()
        assert stopped.position == n
        assert tables(stopped) == tables(reference)


@SETTINGS
@given(ops=commands, data=st.data())
def test_stop_at_a_time_equals_the_events_up_to_that_time(
    ops: list[tuple[int, int, int]], data: st.DataObject
) -> None:
    app = build(ops)
    minutes = data.draw(st.integers(-5, 30 * 90))
    when = T0 + timedelta(minutes=minutes)
    stamps = list(load_events(app).timestamp)
    n = sum(1 for t in stamps if t <= when)
    run = ProjectionRun(TicketsRemaining(), app)
    assert run.position_at(when) == n
    stopped = run.rebuild(until=when)
    assert stopped.position == n
    assert tables(stopped) == tables(ProjectionRun(TicketsRemaining(), first_events(app, n)).run())


@SETTINGS
@given(ops=commands, cuts=st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_resume_after_interruption_equals_uninterrupted(
    ops: list[tuple[int, int, int]], cuts: list[int]
) -> None:
    app = build(ops)
    for projection in PROJECTIONS:
        storage = MemoryStorage()
        run = ProjectionRun(projection(), app, storage, batch_size=3)
        for i, cut in enumerate(cuts):
            if i % 3 == 0:
                run.run(upto=run.position + cut)
            elif i % 3 == 1:
                run.step(cut)
            else:
                # a "kernel restart": a new run object over the same storage
                run = ProjectionRun(projection(), app, storage, batch_size=3)
        run.run()
        assert tables(run) == tables(ProjectionRun(projection(), app).run())


def test_tickets_remaining_agrees_with_the_application(history: Ticketing) -> None:
    run = ProjectionRun(TicketsRemaining(), history).run()
    for conference_id in run.model["conferences"]:
        conference = history.get_conference(UUID(conference_id))
        expected = history.get_tickets_remaining(conference.id)
        assert {t: run.model["remaining"][(conference.code, t)] for t in expected} == expected


# Failing handlers ---------------------------------------------------------------


class Fragile(Projection):
    """Counts paid purchases, but raises on the third payment after half-writing."""

    name = "fragile"
    fail_on = 3

    @handles("TicketPurchase.Paid")
    def paid(self, event: EventView, model: ReadModel) -> None:
        count = model["counts"].add("paid")
        model["amounts"][event.stream_id] = event.amount
        if count == self.fail_on:
            raise ValueError("boom on the third payment")


class Fixed(Fragile):
    fail_on = -1


def test_failing_handler_stops_shows_and_stays_consistent(history: Ticketing) -> None:
    storage = MemoryStorage()
    run = ProjectionRun(Fragile(), history, storage, batch_size=100).run()
    paid = [
        r.position
        for batch in open_records(history).batches()
        for r in batch
        if r.topic.endswith(":TicketPurchase.Paid")
    ]
    failure = run.failure
    assert run.status == "failed" and failure is not None
    assert failure.position == paid[2]
    assert failure.type == "TicketPurchase.Paid"
    assert isinstance(failure.payload["amount"], Decimal)
    assert "boom" in str(failure.error) and "ValueError" in failure.traceback
    assert "boom" in run._repr_html_() and "wb-projection-failure" in run._repr_html_()
    # nothing half-applied: the model is exactly the first two payments, in storage too
    assert run.position == paid[2] - 1
    assert run.model["counts"]["paid"] == 2 and len(run.model["amounts"]) == 2
    assert storage.load("fragile") == (paid[2] - 1, tables(run))
    # after the fix, the run resumes from the failed event
    run.use(Fixed()).run()
    assert run.status == "done" and run.failure is None
    assert tables(run) == tables(ProjectionRun(Fixed(), history).run())


def test_failing_handler_in_the_first_event_keeps_position_zero() -> None:
    app = build([(0, 1, 1)])

    def explode(event: EventView, model: ReadModel) -> None:
        raise RuntimeError(f"cannot handle {event.type}")

    run = ProjectionRun(Projection.from_handlers("x", {"Conference.Scheduled": explode}), app).run()
    assert run.failure is not None and run.failure.position == 1 and run.position == 0


def test_storage_refusing_a_row_leaves_model_and_tracking_consistent(
    history: Ticketing, tmp_path: Any
) -> None:
    class Bad(Projection):
        @handles("TicketPurchase.Paid")
        def paid(self, event: EventView, model: ReadModel) -> None:
            model["bad"][event.stream_id] = object()  # not storable

    run = ProjectionRun(Bad(), history, tmp_path / "rm.sqlite")
    with pytest.raises(TypeError, match="cannot hold a object"):
        run.run()
    assert run.status == "failed" and run.position == 0 and len(run.model["bad"]) == 0
    assert ProjectionRun(Bad(), history, tmp_path / "rm.sqlite").position == 0


class Interrupted(Fixed):
    """Counts paid purchases; "interrupt kernel" lands in the handler of the third payment."""

    interrupt_on = 3

    @handles("TicketPurchase.Paid")
    def paid(self, event: EventView, model: ReadModel) -> None:
        count = model["counts"].add("paid")
        model["amounts"][event.stream_id] = event.amount
        if count == self.interrupt_on:
            self.interrupt_on = -1
            raise KeyboardInterrupt


@pytest.mark.parametrize("batch_size", [1, 2, 100])
def test_an_interrupted_run_keeps_nothing_of_its_batch(history: Ticketing, batch_size: int) -> None:
    storage = MemoryStorage()
    run = ProjectionRun(Interrupted(), history, storage, batch_size=batch_size)
    with pytest.raises(KeyboardInterrupt):
        run.run()
    assert run.status == "stopped" and isinstance(run.error, KeyboardInterrupt)
    assert "stopped by KeyboardInterrupt" in repr(run)
    assert run.model["counts"].get("paid", 0) < 3

    def with_rows(tables: dict[str, dict[Any, Any]]) -> dict[str, dict[Any, Any]]:
        return {name: rows for name, rows in tables.items() if rows}

    position, stored = storage.load(run.name)
    assert (position, with_rows(stored)) == (run.position, with_rows(tables(run)))
    run.run()  # the same run, again: each payment counted once
    assert run.status == "done"
    assert tables(run) == tables(ProjectionRun(Fixed(), history).run())
    assert storage.load(run.name) == (run.position, tables(run))


# Counting, stepping, background runs, lag ------------------------------------------


def test_unhandled_events_are_skipped_and_counted(history: Ticketing) -> None:
    records = [r for batch in open_records(history).batches() for r in batch]
    paid = sum(1 for r in records if r.topic.endswith(":TicketPurchase.Paid"))
    run = ProjectionRun(Fixed(), history).run()
    assert run.progress.handled == paid
    assert run.progress.skipped == len(records) - paid
    assert run.progress.done == run.progress.total == len(records)
    assert "skipped" in str(run.progress)


def test_step_applies_the_next_handled_events(history: Ticketing) -> None:
    run = ProjectionRun(Fixed(), history)
    stepped = run.step(2)
    assert [e.type for e in stepped] == ["TicketPurchase.Paid"] * 2
    assert run.position == stepped[-1].position
    assert run.model["counts"]["paid"] == 2
    assert run.step(1)[0].position > stepped[-1].position


def test_background_rebuild_pauses_resumes_and_reports_progress(history: Ticketing) -> None:
    seen: list[int] = []
    run = ProjectionRun(PurchaseRecords(), history, batch_size=5)
    run.on_progress(lambda r: seen.append(r.progress.done))
    run.start(rebuild=True, paused=True)
    time.sleep(0.1)
    assert run.status == "paused" and run.position == 0 and seen == []
    run.resume()
    run.wait(10)
    assert run.status == "done" and run.position == history.recorder.max_notification_id()
    assert seen == sorted(seen) and len(seen) > 3
    assert tables(run) == tables(ProjectionRun(PurchaseRecords(), history).run())
    with pytest.raises(ProjectionError, match="while it runs"):
        run.start(rebuild=True, paused=True)
        run.reset()
    run.stop()
    assert run.status in ("stopped", "done")


def test_lag_is_visible_and_catch_up_closes_it() -> None:
    clock = ManualClock(T0)
    with use_clock(clock):
        app = build([(0, 1, 1)])
        run = ProjectionRun(TicketsRemaining(), app).run()
        assert run.lag().behind == 0
        conference = app.schedule_conference("LATE", "Late", date(2018, 9, 1))
        app.add_ticket_type(conference, "Standard", Decimal("1.00"), capacity=2)
        lag = run.lag()
        assert lag.behind == 2 and "2 events behind" in str(lag)
        assert ("LATE", "Standard") not in run.model["remaining"]
        run.catch_up()
        assert run.lag().behind == 0 and run.model["remaining"][("LATE", "Standard")] == 2
        run.follow(every=0.01)
        app.reserve_tickets(conference, "Ada", {"Standard": 1})
        deadline = time.time() + 5
        while run.lag().behind and time.time() < deadline:
            time.sleep(0.01)
        run.stop()
        assert run.model["remaining"][("LATE", "Standard")] == 1


# Diff -----------------------------------------------------------------------------


class SalesWithoutComplimentary(SalesOverTime):
    """A handler change: free tickets no longer count as sold."""

    @handles("TicketPurchase.Paid")
    def paid(self, event: EventView, model: ReadModel) -> None:
        if event.amount:
            super().paid(event, model)


def test_diff_shows_what_a_handler_change_changes(history: Ticketing) -> None:
    before = ProjectionRun(SalesOverTime(), history).run()
    after = ProjectionRun(SalesWithoutComplimentary(), history).run()
    table = diff(before, after, names=("before", "after"))
    assert list(table.columns) == ["table", "key", "field", "before", "after"]
    assert not table.empty and set(table["field"]) <= {"tickets", "revenue", "cancelled"}
    assert (table["before"] > table["after"]).all()
    assert diff(before, ProjectionRun(SalesOverTime(), history).rebuild()).empty


def test_diff_lists_rows_missing_on_one_side() -> None:
    table = diff({"t": {"a": 1}}, {"t": {"b": {"n": 2}}, "u": {1: 2}})
    assert set(map(tuple, table[["table", "key", "field"]].values.tolist())) == {
        ("t", "a", "value"),
        ("t", "b", "n"),
        ("u", 1, "value"),
    }


# Events and bad input ---------------------------------------------------------------


def test_event_view_decodes_payload_without_importing_topics(history: Ticketing) -> None:
    seen: dict[str, EventView] = {}

    def keep(event: EventView, model: ReadModel) -> None:
        seen.setdefault(event.type, event)

    projection = Projection.from_handlers(
        "keep", {"TicketPurchase.Started": keep, "Conference.Scheduled": keep}
    )
    ProjectionRun(projection, history).run()
    started = seen["TicketPurchase.Started"]
    assert isinstance(started.total, Decimal) and isinstance(started.conference_id, UUID)
    assert isinstance(started["reserved_until"], datetime) and started.timestamp.tzinfo
    assert isinstance(seen["Conference.Scheduled"].starts_on, date)
    assert started.stream_id == str(UUID(started.stream_id)) and started.version == 1
    with pytest.raises(AttributeError, match="has no field 'nope'.*customer"):
        _ = started.nope
    assert "customer" in dict(started) and started.payload["customer"] == started.customer


def test_full_topics_match_too(history: Ticketing) -> None:
    topic = "workbench.examples.ticketing.domainmodel:Conference.Scheduled"
    count = Projection.from_handlers("n", {topic: lambda e, m: m["n"].add("n")})
    assert ProjectionRun(count, history).run().model["n"]["n"] >= 1


def test_bad_input_says_what_to_do(history: Ticketing) -> None:
    with pytest.raises(ProjectionError, match="add \\(\\)"):
        ProjectionRun(TicketsRemaining, history)  # type: ignore[arg-type]
    with pytest.raises(ProjectionError, match="event type names"):
        handles()
    with pytest.raises(ProjectionError, match="timezone-aware"):
        ProjectionRun(TicketsRemaining(), history).run(until=datetime(2018, 1, 1))
    with pytest.raises(ProjectionError, match="at least 1"):
        ProjectionRun(TicketsRemaining(), history).step(0)
    with pytest.raises(ValueError, match="use 'memory'"):
        ProjectionRun(TicketsRemaining(), history, "ftp://nowhere")


def test_a_run_shows_itself(history: Ticketing) -> None:
    run = ProjectionRun(TicketsRemaining(), history).run()
    page = run._repr_html_()
    assert "tickets_remaining" in page and "<progress" in page and "up to date" in page
    assert "done at position" in repr(run)


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    """Fail a test that leaves a thread it started running (a run not stopped).

    A thread gets a short grace period to finish what it was doing; psycopg's
    pool workers belong to an application, not to a run, and are left to it.
    """
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    while True:
        left = [
            t
            for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith("pool-")
        ]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not left, f"threads started by the test are still running: {[t.name for t in left]}"


def test_a_misspelt_event_type_is_pointed_out(history: Ticketing) -> None:
    class Typo(Projection):
        @handles("TicketPurchase.Payed", "TicketPurchase.Started")
        def paid(self, event: EventView, model: ReadModel) -> None:
            model["n"].add("n")

    run = ProjectionRun(Typo(), history).run()
    assert run.unmatched == ["TicketPurchase.Payed"]
    assert "no events of type TicketPurchase.Payed" in repr(run)
    assert "TicketPurchase.Paid" in run._repr_html_()
    assert ProjectionRun(Fixed(), history).run().unmatched == []


def test_a_missing_store_is_named() -> None:
    from workbench.stores import StoreError

    with pytest.raises(StoreError, match="no file"):
        ProjectionRun(TicketsRemaining(), "no/such/history.sqlite")


def test_one_run_at_a_time(history: Ticketing) -> None:
    run = ProjectionRun(PurchaseRecords(), history).follow(every=0.01)
    assert run.following and run.busy
    with pytest.raises(ProjectionError, match="stop\\(\\) it"):
        run.start(rebuild=True)
    with pytest.raises(ProjectionError, match="stop\\(\\) it"):
        run.step(1)
    deadline = time.monotonic() + 10
    while run.position < run.history.max_position() and time.monotonic() < deadline:
        time.sleep(0.01)
    run.stop()
    assert not run.busy
    assert tables(run) == tables(ProjectionRun(PurchaseRecords(), history).run())
