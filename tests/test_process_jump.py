"""ProcessRun.jump: the state of a run that stepped there, without taking every step.

Every jump is checked against a fresh run that took every step to the same
place, on a generated ticketing history, for the purchase process and for a
stricter one that makes anomalies, ignored events and chained timeouts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.clock import ManualClock, SystemClock
from workbench.examples.history import generate_history
from workbench.examples.ticketing import Ticketing
from workbench.examples.ticketing.processes import PURCHASE
from workbench.processes import (
    Action,
    ProcessDeclaration,
    ProcessError,
    ProcessRun,
    Timeout,
    Transition,
    UpstreamEvent,
    timeout,
)
from workbench.processes.window import JumpedOver
from workbench.stores import open_app

STARTED, PAID, TIMED_OUT = (
    "TicketPurchase.Started",
    "TicketPurchase.Paid",
    "TicketPurchase.TimedOut",
)


def _strict_key(event: UpstreamEvent) -> str | None:
    """Half the time-outs are not for any instance (ignored steps); the rest are anomalies."""
    key = str(event.originator_id)
    if event.type == TIMED_OUT and int(key[-1], 16) % 2:
        return None
    return key


STRICT = ProcessDeclaration(
    name="Strict purchase",
    states=("new", "awaiting", "reminded", "paid", "gone"),
    initial="new",
    transitions=(
        Transition("new", STARTED, "awaiting", schedule=("reminder",)),
        # no cancel: the reminder still fires once paid, and is an anomaly there
        Transition("awaiting", PAID, "paid", actions=("thank",)),
        Transition(
            "awaiting",
            timeout("reminder"),
            "reminded",
            actions=("remind",),
            schedule=("last call",),
        ),
        Transition("reminded", PAID, "paid", actions=("thank",), cancel=("last call",)),
        Transition("reminded", timeout("last call"), "gone"),
        Transition("gone", TIMED_OUT, "gone"),
    ),
    actions=(Action("thank", "side effect"), Action("remind", "side effect")),
    timeouts=(
        Timeout("reminder", timedelta(minutes=10)),
        Timeout("last call", timedelta(minutes=15)),
    ),
    correlate=_strict_key,
    remember=("reference", "total"),
)


@pytest.fixture(scope="module")
def history() -> Ticketing:
    app = open_app(Ticketing)
    generate_history(app, events=700, seed=11)
    return app


def fresh(app: Ticketing, decl: ProcessDeclaration = PURCHASE, **kwargs: Any) -> ProcessRun:
    first = ProcessRun(decl, app).upstream.first_timestamp()
    assert first is not None
    return ProcessRun(decl, app, clock=ManualClock(first), **kwargs)


def stepped_to(app: Ticketing, position: int, decl: ProcessDeclaration = PURCHASE) -> ProcessRun:
    """The reference: every step, until the next event is past ``position``."""
    run = fresh(app, decl)
    while True:
        nxt = run.upstream.next_after(run.cursor, decl.event_types)
        if nxt is None or nxt.position > position:
            return run
        run.step()


def stepped_until(
    app: Ticketing, when: datetime, decl: ProcessDeclaration = PURCHASE
) -> ProcessRun:
    """The reference: every event up to ``when``, then the clock advanced to it."""
    run = fresh(app, decl)
    while True:
        nxt = run.upstream.next_after(run.cursor, decl.event_types)
        if nxt is None or (nxt.timestamp is not None and nxt.timestamp > when):
            break
        run.step()
    run.advance(when - run.clock.now())
    return run


FIELDS = ("state", "status", "version", "timeouts", "data", "done", "anomalies")
FIELDS += ("held", "pending", "created_on", "modified_on")


def assert_same(jumped: ProcessRun, stepped: ProcessRun) -> None:
    assert jumped.states() == stepped.states()
    assert jumped.pending_timeouts() == stepped.pending_timeouts()
    assert (len(jumped.steps), jumped.view) == (len(stepped.steps), stepped.view)
    assert (jumped.cursor, jumped.now, jumped.clock.now()) == (
        stepped.cursor,
        stepped.now,
        stepped.clock.now(),
    )
    assert jumped.ledger == stepped.ledger
    assert jumped.anomalies == stepped.anomalies
    assert jumped.visible_anomalies() == stepped.visible_anomalies()
    assert jumped.processed_up_to == stepped.processed_up_to
    for key in stepped.instances:
        mine, theirs = jumped.instance(key), stepped.instance(key)
        for name in FIELDS:
            assert getattr(mine, name) == getattr(theirs, name), (key, name)
    if jumped.view:
        assert jumped.current is not None and stepped.current is not None
        assert jumped.current.number == stepped.current.number
        if jumped.current.kind != "jump":
            assert jumped.current == stepped.current


def top_of(app: Ticketing) -> int:
    return int(app.recorder.max_notification_id() or 0)


DECLS = st.sampled_from([PURCHASE, STRICT])
FAST = settings(
    max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@FAST
@given(data=st.data(), decl=DECLS, keep=st.integers(0, 30))
def test_a_jump_to_a_position_is_a_run_that_stepped_there(
    history: Ticketing, data: st.DataObject, decl: ProcessDeclaration, keep: int
) -> None:
    position = data.draw(st.integers(0, top_of(history)), label="position")
    jumped = fresh(history, decl)
    jumped.jump(position=position, keep=keep)
    assert_same(jumped, stepped_to(history, position, decl))


@FAST
@given(
    data=st.data(),
    decl=DECLS,
    keep=st.integers(0, 20),
    backs=st.integers(0, 25),
    forwards=st.integers(0, 40),
)
def test_stepping_back_and_forward_after_a_jump_matches_a_run_that_stepped(
    history: Ticketing,
    data: st.DataObject,
    decl: ProcessDeclaration,
    keep: int,
    backs: int,
    forwards: int,
) -> None:
    position = data.draw(st.integers(1, top_of(history)), label="position")
    jumped = fresh(history, decl)
    jumped.jump(position=position, keep=keep)
    stepped = stepped_to(history, position, decl)
    for _ in range(backs):
        if jumped.view <= jumped.steps.floor:
            assert jumped.back() is None  # the jump's own step: nothing kept before it
            break
        assert jumped.back() == stepped.back()
        assert_same(jumped, stepped)
    for _ in range(forwards):  # replays the recorded steps, then live steps past the target
        mine, theirs = jumped.step(), stepped.step()
        assert mine == theirs
        assert_same(jumped, stepped)


def test_back_stops_at_the_jump_and_says_why_an_earlier_step_is_gone(history: Ticketing) -> None:
    position = top_of(history) * 3 // 4
    run = fresh(history)
    run.jump(position=position, keep=5)
    floor = run.steps.floor
    assert floor > 1 and run.view > floor
    while run.back() is not None:
        pass
    assert run.view == floor and run.current is not None and run.current.kind == "jump"
    assert run.current.number == floor and "derived in one pass" in run.current.note
    with pytest.raises(JumpedOver, match=f"step #{floor - 1} was jumped over"):
        run.steps[floor - 2]
    assert [s.number for s in run.steps[: run.view + 2]] == [floor, floor + 1, floor + 2]
    # the instances the jump derived stay records until read, then are real instances
    assert run.instances.folded > 0
    key = next(iter(run.instances))
    assert run.instance(key).key == key and len(run.history(key)) >= 0


@FAST
@given(data=st.data(), decl=DECLS, keep=st.integers(0, 20))
def test_a_jump_to_a_time_sets_the_clock_there(
    history: Ticketing, data: st.DataObject, decl: ProcessDeclaration, keep: int
) -> None:
    run = fresh(history, decl)
    first = run.upstream.first_timestamp()
    last = run.upstream.get(top_of(history)).timestamp
    assert first is not None and last is not None
    span = (last - first).total_seconds() + 3600  # an hour past the end: timeouts fall due
    seconds = data.draw(st.floats(0, span, allow_nan=False), label="seconds")
    when = first + timedelta(seconds=seconds)
    run.jump(time=when, keep=keep)
    assert run.clock.now() == when
    assert_same(run, stepped_until(history, when, decl))


def test_one_run_jumps_back_and_forth(history: Ticketing) -> None:
    top = top_of(history)
    run = fresh(history, STRICT)
    for position in (top // 2, top - 3, top - 40, top // 5, top, 0, top // 3):
        run.jump(position=position, keep=15)
        assert_same(run, stepped_to(history, position, STRICT))
    first = run.upstream.first_timestamp()
    assert first is not None
    for hours in (24 * 40, 24 * 10, 24 * 90):  # forward, back (a new clock), forward
        when = first + timedelta(hours=hours)
        run.jump(time=when, keep=10)
        assert_same(run, stepped_until(history, when, STRICT))


def test_reset_after_a_jump_starts_over(history: Ticketing) -> None:
    run = fresh(history)
    run.jump(position=top_of(history) // 2)
    run.reset()
    assert (run.view, len(run.steps), len(run.instances), run.cursor) == (0, 0, 0, 0)
    for _ in range(30):
        run.step()
    assert_same(run, stepped_to(history, run.cursor))


def fingerprint(run: ProcessRun) -> tuple[Any, ...]:
    return (
        run.states(),
        run.pending_timeouts(),
        len(run.steps),
        run.view,
        run.cursor,
        run.clock.now(),
        dict(run.ledger),
    )


@pytest.mark.parametrize(
    ("jump", "message"),
    [
        (lambda run, top: run.jump(position=top + 1), "past the end"),
        (lambda run, top: run.jump(position=-1), "negative"),
        (lambda run, top: run.jump(position=True), "whole number"),
        (lambda run, top: run.jump(position="10"), "whole number"),
        (lambda run, top: run.jump(), "a position or to a time"),
        (lambda run, top: run.jump(position=1, time=datetime.now(UTC)), "not both"),
        (lambda run, top: run.jump(position=1, keep=-1), "keep"),
        (lambda run, top: run.jump(time=datetime(2000, 1, 1, tzinfo=UTC)), "before the history"),
        (lambda run, top: run.jump(time=datetime(2018, 1, 1)), "timezone-aware"),
    ],
)
def test_bad_input_says_what_is_wrong_and_changes_nothing(
    history: Ticketing, jump: Callable[[ProcessRun, int], Any], message: str
) -> None:
    run = fresh(history)
    run.jump(position=top_of(history) // 2, keep=10)
    run.back()
    before = fingerprint(run)
    with pytest.raises(ProcessError, match=message):
        jump(run, top_of(history))
    assert fingerprint(run) == before


def test_only_a_dry_run_in_memory_with_a_manual_clock_jumps(
    history: Ticketing, tmp_path: Any
) -> None:
    handlers = {"release tickets": lambda ctx: None, "send confirmation": lambda ctx: None}
    with pytest.raises(ProcessError, match="only a dry run can jump"):
        fresh(history, handlers=handlers).jump(position=10)
    with pytest.raises(ProcessError, match="ManualClock"):
        ProcessRun(PURCHASE, history, clock=SystemClock()).jump(position=10)
    on_file = fresh(history, store=tmp_path / "purchase.sqlite")
    with pytest.raises(ProcessError, match="in-memory process store"):
        on_file.jump(position=10)
    assert on_file.view == 0 and not on_file.instances


def test_the_stepper_jumps_to_a_position_or_a_time_and_says_what_went_wrong(
    history: Ticketing,
) -> None:
    from workbench.widgets.process_stepper import ProcessStepper

    run = fresh(history)
    stepper = ProcessStepper(run)
    assert stepper.jump_to.description == "Jump to"  # its name for a screen reader
    position = top_of(history) // 2
    stepper.jump_to.value = f"{position:,}"
    stepper.jump_button.click()
    assert stepper.message.startswith(f"jumped to step {run.view:,}")
    assert_same(run, stepped_to(history, position))
    while not stepper.back_button.disabled:
        stepper.back_button.click()
    assert run.view == run.steps.floor and "jump" in stepper.view.value
    first = run.upstream.first_timestamp()
    assert first is not None
    when = first + timedelta(days=20)
    stepper.jump_to.value = when.strftime("%Y-%m-%d %H:%M")  # no zone: the run's clock's
    stepper.jump_button.click()
    assert run.clock.now() == when.replace(second=0, microsecond=0)
    before = fingerprint(run)
    for bad, said in [("next tuesday", "cannot read"), (str(top_of(history) + 5), "past the end")]:
        stepper.jump_to.value = bad
        stepper.jump_button.click()
        assert said in stepper.message and "#b00020" in stepper.status.value
        assert fingerprint(run) == before


def test_a_time_before_the_run_clock_started_is_refused(history: Ticketing) -> None:
    first = fresh(history).upstream.first_timestamp()
    assert first is not None
    run = ProcessRun(PURCHASE, history, clock=ManualClock(first + timedelta(days=30)))
    run.jump(position=top_of(history) // 2)
    before = fingerprint(run)
    with pytest.raises(ProcessError, match="before this run's clock started"):
        run.jump(time=first + timedelta(days=1))
    assert fingerprint(run) == before


def test_a_run_whose_clock_does_not_follow_the_events_jumps_too(history: Ticketing) -> None:
    top = top_of(history)
    for position in (top // 3, top):
        jumped = fresh(history, STRICT, follow_event_time=False)
        jumped.jump(position=position, keep=5)
        stepped = fresh(history, STRICT, follow_event_time=False)
        while (nxt := stepped.upstream.next_after(stepped.cursor, STRICT.event_types)) and (
            nxt.position <= position
        ):
            stepped.step()
        assert_same(jumped, stepped)
        jumped.advance(minutes=20)
        stepped.advance(minutes=20)
        assert_same(jumped, stepped)
