"""The generic process-manager model, on an application defined only here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from workbench import clock as wclock
from workbench.charts.statemachine import state_diagram
from workbench.clock import ManualClock, use_clock
from workbench.processes import (
    FAILED,
    Action,
    ActionContext,
    DeclarationError,
    Handler,
    ProcessDeclaration,
    ProcessError,
    ProcessRun,
    Refused,
    RetryPolicy,
    Timeout,
    Transition,
    timeout,
)
from workbench.reading import LoadError

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


# A tiny kitchen: orders are placed, cooked and served. ------------------------


class Order(Aggregate):
    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return wclock.now()

    @event("Placed")
    def __init__(self, dish: str, table: int) -> None:
        self.dish = dish
        self.table = table
        self.status = "placed"

    @event("Cooked")
    def cook(self) -> None:
        self.status = "cooked"

    @event("Served")
    def serve(self) -> None:
        self.status = "served"

    @event("Cancelled")
    def cancel(self) -> None:
        if self.status == "served":
            raise ValueError("a served order cannot be cancelled")
        self.status = "cancelled"


class Kitchen(Application[UUID]):
    def place(self, dish: str, table: int) -> UUID:
        order = Order(dish=dish, table=table)
        self.save(order)
        return order.id

    def cook(self, order_id: UUID) -> None:
        order: Order = self.repository.get(order_id)
        order.cook()
        self.save(order)

    def serve(self, order_id: UUID) -> None:
        order: Order = self.repository.get(order_id)
        order.serve()
        self.save(order)

    def cancel(self, order_id: UUID) -> None:
        order: Order = self.repository.get(order_id)
        order.cancel()
        self.save(order)


ORDER = ProcessDeclaration(
    name="Order",
    states=("new", "waiting", "ready", "done", "given up"),
    initial="new",
    transitions=(
        Transition("new", "Order.Placed", "waiting", schedule=("too slow",)),
        Transition(
            "waiting", "Order.Cooked", "ready", actions=("call waiter",), cancel=("too slow",)
        ),
        Transition("ready", "Order.Served", "done"),
        Transition("waiting", timeout("too slow"), "given up", actions=("cancel order",)),
        Transition("given up", "Order.Cancelled", "given up"),
    ),
    actions=(
        Action("call waiter", "side effect"),
        Action("cancel order", "command"),
    ),
    timeouts=(Timeout("too slow", timedelta(minutes=20)),),
    remember=("dish", "table"),
    retry=RetryPolicy(attempts=3, backoff=timedelta(minutes=1), factor=2),
)


class Waiter:
    """A side-effect target that can be made to fail."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.failures_left = 0

    def __call__(self, ctx: ActionContext) -> str:
        if self.failures_left:
            self.failures_left -= 1
            raise ConnectionError("pager network down")
        self.calls.append(ctx.key)
        return f"table {ctx.data['table']}"


class Scenario:
    def __init__(self) -> None:
        self.clock = ManualClock(START)
        self.kitchen = Kitchen()
        self.waiter = Waiter()
        self.cancels: list[str] = []

        def cancel(ctx: ActionContext) -> None:
            self.cancels.append(ctx.key)
            try:
                with use_clock(self.clock):
                    self.kitchen.cancel(UUID(ctx.instance))
            except ValueError as e:
                raise Refused(str(e)) from e

        self.handlers: dict[str, Handler] = {"call waiter": self.waiter, "cancel order": cancel}
        self.run = ProcessRun(ORDER, self.kitchen, handlers=self.handlers, clock=self.clock)

    def do(self, command: str, *args: Any) -> Any:
        with use_clock(self.clock):
            return getattr(self.kitchen, command)(*args)


@pytest.fixture
def s() -> Scenario:
    return Scenario()


# Declarations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial": "nowhere"}, "initial state 'nowhere' is not one of its states"),
        ({"states": ("new", "new")}, "more than once"),
        ({"states": ("new", "failed")}, "reserved"),
        (
            {"transitions": (Transition("new", "X.Happened", "elsewhere"),)},
            "'elsewhere' is not a declared state",
        ),
        (
            {"transitions": (Transition("new", "X.A", "new"), Transition("new", "X.A", "new"))},
            "already has a transition on 'X.A'",
        ),
        (
            {"transitions": (Transition("new", "X.A", "new", actions=("bake",)),)},
            "action 'bake' is not declared",
        ),
        ({"transitions": (Transition("new", timeout("later"), "new"),)}, "no timeout named"),
        ({"name": " "}, "needs a name"),
    ],
)
def test_bad_declarations_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"name": "P", "states": ("new",), "initial": "new", "transitions": ()}
    base.update(kwargs)
    with pytest.raises(DeclarationError, match=message):
        ProcessDeclaration(**base)


def test_declaration_is_data() -> None:
    data = ORDER.to_dict()
    assert data["initial"] == "new"
    assert {"source": "waiting", "on": "Order.Cooked", "target": "ready"}.items() <= data[
        "transitions"
    ][1].items()
    assert set(ORDER.final_states) == {"done"}
    assert ORDER.allows("waiting", "Order.Cooked", "ready")
    assert not ORDER.allows("waiting", "Order.Cooked", "done")
    assert ORDER.retry.describe() == "3 attempts, waiting 1 min, then 2 min; then parked as failed"


def test_handlers_must_match_the_declared_actions(s: Scenario) -> None:
    with pytest.raises(ProcessError, match=r"no handler for \['cancel order'\]"):
        ProcessRun(ORDER, s.kitchen, handlers={"call waiter": s.waiter})
    with pytest.raises(ProcessError, match="does not declare"):
        ProcessRun(ORDER, s.kitchen, handlers={**s.handlers, "dance": s.waiter})
    with pytest.raises(LoadError, match="pass an eventsourcing application"):
        ProcessRun(ORDER, object())


# Stepping -----------------------------------------------------------------------


def test_step_delivers_one_event_and_emits_actions(s: Scenario) -> None:
    order = s.do("place", "soup", 4)
    step = s.run.step()
    assert step is not None and step.position == 1
    assert [(m.source, m.target) for m in step.moves] == [("new", "waiting")]
    assert s.run.states() == {str(order): "waiting"}
    assert s.run.pending_timeouts() == [(str(order), "too slow", START + timedelta(minutes=20))]
    s.do("cook", order)
    step = s.run.step()
    assert step is not None
    assert [e.outcome for e in step.emitted] == ["done"]
    assert s.waiter.calls == [f"{order}/@2/call waiter"]
    assert s.run.pending_timeouts() == []
    assert s.run.step() is None


def test_step_back_rederives_only_the_affected_instance(
    s: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = s.do("place", "soup", 1)
    b = s.do("place", "pie", 2)
    s.do("cook", a)
    s.run.run_to_end()
    assert s.run.states() == {str(a): "ready", str(b): "waiting"}
    calls: list[Any] = []
    real_get = s.run.log.repository.get

    def counting_get(aggregate_id: Any, **kwargs: Any) -> Any:
        calls.append((aggregate_id, kwargs))
        return real_get(aggregate_id, **kwargs)

    monkeypatch.setattr(s.run.log.repository, "get", counting_get)
    back = s.run.back()
    assert back is not None and back.trigger == "Order.Cooked"
    assert s.run.states() == {str(a): "waiting", str(b): "waiting"}
    assert len(calls) == 1  # one instance re-derived, nothing else
    assert s.run.cursor == 2
    assert not s.run.at_head
    # stepping forward replays the recorded step: the waiter is not called again
    again = s.run.step()
    assert again is back
    assert s.waiter.calls == [f"{a}/@3/call waiter"]
    assert s.run.states() == {str(a): "ready", str(b): "waiting"}
    assert s.run.at_head


def test_back_to_the_start_and_reset(s: Scenario) -> None:
    s.do("place", "soup", 1)
    s.run.run_to_end()
    assert s.run.back() is not None
    assert s.run.back() is None
    assert s.run.states() == {}
    s.run.step()
    s.run.reset()
    assert s.run.states() == {} and s.run.view == 0
    assert s.run.run_to_end() == 1
    assert len(s.run.steps) == 1


def test_the_past_is_read_only(s: Scenario) -> None:
    s.do("place", "soup", 1)
    s.run.step()
    s.run.back()
    with pytest.raises(ProcessError, match="the past is read-only"):
        s.run.advance(minutes=30)


def test_breakpoints(s: Scenario) -> None:
    a = s.do("place", "soup", 1)
    b = s.do("place", "pie", 2)
    s.do("cook", b)
    s.do("cook", a)
    step = s.run.run_to(event_type="Cooked")
    assert step is not None and step.instance == str(b)
    step = s.run.run_to(instance=str(a))
    assert step is not None and step.trigger == "Order.Cooked"
    s.do("serve", a)
    step = s.run.run_to(state="done")
    assert step is not None and s.run.states()[str(a)] == "done"
    assert s.run.run_to(event_type="Order.Served") is None
    with pytest.raises(ProcessError, match="never triggers Order"):
        s.run.run_to(event_type="Order.Eaten")
    with pytest.raises(ProcessError, match="is not a state"):
        s.run.run_to(state="eaten")
    with pytest.raises(ProcessError, match="name a breakpoint"):
        s.run.run_to()


# Timeouts -------------------------------------------------------------------------


def test_advancing_the_clock_fires_due_timeouts_deterministically(s: Scenario) -> None:
    order = s.do("place", "soup", 1)
    s.run.step()
    assert s.run.advance(minutes=19) == []
    fired = s.run.advance(minutes=2)
    assert [f.trigger for f in fired] == ["timeout:too slow"]
    due = (START + timedelta(minutes=20)).isoformat()
    assert s.cancels == [f"{order}/timeout:too slow@{due}/cancel order"]
    assert s.run.states() == {str(order): "given up"}
    step = s.run.step()  # the Cancelled event the command caused
    assert step is not None and step.trigger == "Order.Cancelled"
    assert s.run.advance(minutes=60) == []


def test_events_in_time_cancel_the_timeout(s: Scenario) -> None:
    order = s.do("place", "soup", 1)
    s.clock.advance(minutes=5)
    s.do("cook", order)
    s.run.run_to_end()
    assert s.run.advance(minutes=60) == []
    assert s.cancels == []


# Anomalies and failures ------------------------------------------------------------


def test_an_event_not_allowed_is_an_anomaly_not_a_crash(s: Scenario) -> None:
    order = s.do("place", "soup", 1)
    s.do("serve", order)  # served before it was cooked
    s.do("cook", order)
    s.run.run_to_end()
    [anomaly] = s.run.anomalies
    assert anomaly.trigger == "Order.Served" and anomaly.state == "waiting"
    assert "not allowed in state 'waiting'" in anomaly.reason
    assert "Order.Cooked" in anomaly.reason
    assert s.run.states() == {str(order): "ready"}  # the run went on
    assert s.run.history(str(order))[2]["event"] == "AnomalyRecorded"


def test_a_failing_side_effect_keeps_its_event_unprocessed(s: Scenario) -> None:
    order = s.do("place", "soup", 1)
    s.waiter.failures_left = 10
    s.do("cook", order)
    s.run.run_to_end()
    key = str(order)
    assert s.run.states() == {key: "waiting"}  # not moved on
    assert s.run.unprocessed() == [2]
    assert s.run.processed_up_to == 1
    [failure] = s.run.failures
    assert failure.error == "ConnectionError: pager network down" and failure.attempt == 1
    assert s.run.pending_retries() == [(key, "call waiter", START + timedelta(minutes=1))]
    # an event arriving meanwhile is held, not lost and not processed
    s.do("serve", order)
    held = s.run.step()
    assert held is not None and held.outcome == "held"
    assert s.run.unprocessed() == [2, 3]
    # retries follow the policy in clock time, then the instance is parked
    assert [st.outcome for st in s.run.advance(minutes=1)] == ["failed"]
    assert [st.outcome for st in s.run.advance(minutes=2)] == ["parked"]
    assert s.run.states() == {key: FAILED}
    [dead] = s.run.dead_letters()
    assert dead["action"] == "call waiter" and dead["attempts"] == 3 and dead["held"] == 1
    # parked: no more automatic retries; the timeout falling due meanwhile is held
    assert [st.outcome for st in s.run.advance(minutes=60)] == ["held"]
    assert s.waiter.calls == []
    # an operator retries once the pager works again: the held event follows
    s.waiter.failures_left = 0
    step = s.run.retry(key)
    assert [m.target for m in step.moves] == ["ready", "done"]
    assert s.run.states() == {key: "done"}
    assert s.run.unprocessed() == [] and s.run.dead_letters() == []
    assert len(s.waiter.calls) == 1


def test_an_operator_can_abandon_a_parked_instance(s: Scenario) -> None:
    order = s.do("place", "soup", 1)
    s.waiter.failures_left = 99
    s.do("cook", order)
    s.run.run_to_end()
    s.run.advance(minutes=1)
    s.run.advance(minutes=2)
    step = s.run.abandon(str(order))
    assert step.outcome == "abandoned"
    assert s.run.states() == {str(order): "abandoned"}
    s.do("serve", order)
    ignored = s.run.step()
    assert ignored is not None and ignored.outcome == "ignored"
    with pytest.raises(ProcessError, match="only a parked"):
        s.run.abandon(str(order))


def test_retry_refuses_an_instance_that_is_not_parked(s: Scenario) -> None:
    order = s.do("place", "soup", 1)
    s.run.step()
    with pytest.raises(ProcessError, match="not in the dead letter"):
        s.run.retry(str(order))
    with pytest.raises(ProcessError, match="has no instance"):
        s.run.retry("nope")


def test_a_refused_command_is_recorded_not_retried(s: Scenario) -> None:
    order = s.do("place", "soup", 1)
    s.run.step()
    s.do("cook", order)
    s.do("serve", order)  # served, but the process has not seen it yet
    [fired] = s.run.advance(minutes=21)
    assert [e.outcome for e in fired.emitted] == ["refused"]
    assert "cannot be cancelled" in fired.emitted[0].detail
    assert s.run.failures == []


# Replays ---------------------------------------------------------------------------------


def _history(s: Scenario) -> None:
    a = s.do("place", "soup", 1)
    s.do("place", "pie", 2)
    s.run.run_to_end()
    s.clock.advance(minutes=3)
    s.do("cook", a)
    s.run.run_to_end()
    s.run.advance(minutes=30)  # b times out: cancel command
    s.run.run_to_end()


def test_safe_replays_repeat_nothing_and_give_the_same_states(s: Scenario) -> None:
    _history(s)
    states, calls, cancels = s.run.states(), list(s.waiter.calls), list(s.cancels)
    upstream = s.kitchen.recorder.max_notification_id()
    assert sorted(states.values()) == ["given up", "ready"]
    for _ in range(3):
        again = s.run.replay("safe")
        assert again.states() == states
        assert all(e.outcome.startswith("already done") for e in again.emitted())
    assert s.waiter.calls == calls and s.cancels == cancels
    assert s.kitchen.recorder.max_notification_id() == upstream


def test_a_naive_replay_repeats_side_effects(s: Scenario) -> None:
    _history(s)
    calls = len(s.waiter.calls)
    again = s.run.replay("naive")
    assert again.states() == s.run.states()
    assert len(s.waiter.calls) == 2 * calls  # the hazard: the waiter is called twice


def test_a_dry_run_records_actions_without_executing_them(s: Scenario) -> None:
    s.do("cook", s.do("place", "soup", 1))
    dry = ProcessRun(ORDER, s.kitchen)
    dry.run_to_end()
    assert [e.outcome for e in dry.emitted()] == ["recorded (dry run)"]
    assert s.waiter.calls == []


def test_process_state_is_persisted_in_its_own_store(s: Scenario, tmp_path: Any) -> None:
    order = s.do("place", "soup", 1)
    s.do("cook", order)
    store = tmp_path / "order-process.sqlite"
    run = ProcessRun(ORDER, s.kitchen, handlers=s.handlers, clock=s.clock, store=store)
    run.run_to_end()
    assert store.exists()
    events = [r["event"] for r in run.history(str(order))]
    assert events == ["Started", "TriggerHandled", "ActionDone", "TriggerHandled"]
    assert run.log.recorder.max_notification_id() == 4


def test_the_run_shows_itself(s: Scenario) -> None:
    s.do("place", "soup", 1)
    s.run.step()
    bundle = s.run._repr_mimebundle_()
    assert "<svg" in bundle["text/html"] and "waiting" in bundle["text/html"]
    assert "ProcessRun Order on Kitchen" in bundle["text/plain"]


# The diagram --------------------------------------------------------------------------------


def test_state_diagram_highlights_the_current_state_and_last_transition() -> None:
    diagram = state_diagram(ORDER, current="ready", last=("waiting", "Order.Cooked", "ready"))
    svg = diagram.svg
    assert svg.count('class="state current"') == 1
    assert 'data-state="ready"' in svg.split('class="state current"')[1][:40]
    assert svg.count('class="edge last"') == 1
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    xs = {name: pos[0] for name, pos in diagram.positions.items()}
    assert xs["new"] < xs["waiting"] < xs["ready"] < xs["done"]
    assert state_diagram(ORDER).svg == state_diagram(ORDER).svg  # deterministic
    assert 'class="state current"' not in state_diagram(ORDER).svg
    with pytest.raises(TypeError, match="ProcessDeclaration or a dict"):
        state_diagram(42)


def test_state_diagram_says_in_words_what_it_shows() -> None:
    import xml.etree.ElementTree as ET

    diagram = state_diagram(ORDER, current="ready", last=("waiting", "Order.Cooked", "ready"))
    svg = ET.fromstring(diagram.svg)
    title = svg.find("{http://www.w3.org/2000/svg}title")
    assert svg.get("role") == "img" and title is not None and svg[0] is title
    assert svg.get("aria-label") == title.text == diagram.text
    name = ORDER.to_dict()["name"]
    assert diagram.text.startswith(f"State diagram of {name}: 5 states (new, waiting, ready")
    assert "current: ready" in diagram.text and "last: waiting to ready on Order.Cooked" in (
        diagram.text
    )
    assert "current: none" in state_diagram(ORDER).text


def test_a_run_resumes_from_its_store(s: Scenario, tmp_path: Any) -> None:
    store = tmp_path / "order-process.sqlite"
    a = s.do("place", "soup", 1)
    b = s.do("place", "pie", 2)
    s.do("cook", a)
    first = ProcessRun(ORDER, s.kitchen, handlers=s.handlers, clock=s.clock, store=store)
    first.run_to_end()
    states, calls = first.states(), list(s.waiter.calls)
    del first
    again = ProcessRun(ORDER, s.kitchen, handlers=s.handlers, clock=s.clock, store=store)
    assert again.states() == states and again.cursor == 3
    assert again.step() is None  # nothing delivered twice
    assert [st.trigger for st in again.advance(minutes=21)] == ["timeout:too slow"]
    assert again.states()[str(b)] == "given up"
    s.do("serve", a)
    again.run_to_end()
    assert again.states()[str(a)] == "done"
    assert s.waiter.calls == calls
    with pytest.raises(ProcessError, match="give each process its own store"):
        ProcessRun(DELIVERY_LIKE, s.kitchen, store=store)


DELIVERY_LIKE = ProcessDeclaration(
    name="Other",
    states=("new", "seen"),
    initial="new",
    transitions=(Transition("new", "Order.Placed", "seen"),),
)


def test_advance_fires_each_wakeup_at_its_due_time(s: Scenario) -> None:
    order = s.do("place", "soup", 1)
    s.waiter.failures_left = 99
    s.do("cook", order)
    s.run.run_to_end()
    steps = s.run.advance(minutes=10)
    assert [(st.outcome, st.clock_after) for st in steps] == [
        ("failed", START + timedelta(minutes=1)),
        ("parked", START + timedelta(minutes=3)),
    ]
    assert s.clock.now() == START + timedelta(minutes=10)
    with pytest.raises(ProcessError, match="time only moves forward"):
        s.run.advance(minutes=-1)


# All or nothing per step ----------------------------------------------------------------


def recorded(run: ProcessRun, store: Any) -> tuple[dict[str, str], dict[str, str], int]:
    """What a new run reading the same store finds."""
    again = ProcessRun(ORDER, run.upstream.history, store=store)
    return again.states(), again.ledger, again.cursor


def test_an_interrupted_step_is_undone_and_taken_again(s: Scenario, tmp_path: Any) -> None:
    store = tmp_path / "order-process.sqlite"
    order = s.do("place", "soup", 1)
    s.do("cook", order)
    run = ProcessRun(ORDER, s.kitchen, handlers=s.handlers, clock=s.clock, store=store)
    run.step()
    waiter = s.handlers["call waiter"]

    def interrupted(ctx: ActionContext) -> str:
        waiter(ctx)  # the waiter is called...
        raise KeyboardInterrupt  # ...and "interrupt kernel" lands before the step is recorded

    run.handlers = {**s.handlers, "call waiter": interrupted}
    with pytest.raises(KeyboardInterrupt):
        run.step()
    assert run.states() == {str(order): "waiting"} and len(run.steps) == 1
    assert recorded(run, store) == (run.states(), run.ledger, run.cursor)
    run.handlers = s.handlers
    assert run.step() is not None and run.states() == {str(order): "ready"}
    # at least once: the same idempotency key both times
    assert s.waiter.calls == [f"{order}/@2/call waiter"] * 2
    assert recorded(run, store) == (run.states(), run.ledger, run.cursor)


@pytest.mark.parametrize("lost", ["before", "after"])
def test_a_step_the_store_fails_to_record_is_undone(s: Scenario, tmp_path: Any, lost: str) -> None:
    store = tmp_path / "order-process.sqlite"
    order = s.do("place", "soup", 1)
    s.do("cook", order)
    run = ProcessRun(ORDER, s.kitchen, handlers=s.handlers, clock=s.clock, store=store)
    run.step()
    put = run.log.events.put

    def failing(events: Any, **kwargs: Any) -> Any:
        run.log.events.put = put  # type: ignore[method-assign]
        if lost == "after":
            put(events, **kwargs)  # recorded, but the reply is lost
        raise OSError("disk I/O error")

    run.log.events.put = failing  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk I/O"):
        run.step()
    assert recorded(run, store) == (run.states(), run.ledger, run.cursor)
    assert len(run.steps) == (2 if lost == "after" else 1)
    run.run_to_end()
    assert run.states() == {str(order): "ready"}
    assert len(run.history(str(order))) == 4  # Started, handled, action done, handled


def test_a_run_resumes_a_failing_action_at_its_trigger(s: Scenario, tmp_path: Any) -> None:
    store = tmp_path / "order-process.sqlite"
    order = s.do("place", "soup", 1)
    s.do("cook", order)
    s.waiter.failures_left = 1
    first = ProcessRun(ORDER, s.kitchen, handlers=s.handlers, clock=s.clock, store=store)
    first.run_to_end()
    assert first.unprocessed() == [2]
    again = ProcessRun(ORDER, s.kitchen, handlers=s.handlers, clock=s.clock, store=store)
    assert again.cursor == first.cursor == 2
    assert again.step() is None  # the failing trigger is not delivered a second time
    [retry] = again.advance(minutes=1)
    assert retry.outcome == "transition" and again.states() == {str(order): "ready"}
    assert "TriggerHeld" not in [r["event"] for r in again.history(str(order))]
