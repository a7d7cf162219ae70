"""eventsourcing Systems in the workbench: opening on a store, lag, policy stepping, the map.

The system here is the test's own: a ``Till`` records sales; a ``Ledger``
(``ProcessApplication``, ``singledispatchmethod`` policy) books an entry per sale
and reverses it per refund, and refuses a negative price; an ``Auditor``
(``ProcessApplication`` with a plain policy: every event) notes each ledger entry.
Each test runs on memory, an SQLite folder and PostgreSQL, with both runners.
"""

from __future__ import annotations

from decimal import Decimal
from functools import singledispatchmethod
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import pytest
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol, event
from eventsourcing.system import ProcessApplication, System
from eventsourcing.utils import get_topic

from workbench.systems import (
    PolicyStepper,
    SystemRun,
    SystemRunError,
    handled_types,
    open_system,
)


class Sale(Aggregate):
    @event("Made")
    def __init__(self, item: str, price: Decimal) -> None:
        self.item = item
        self.price = price
        self.refunded = False

    @event("Refunded")
    def refund(self, reason: str) -> None:
        self.refunded = True


class Drawer(Aggregate):
    @event("Opened")
    def __init__(self, by: str) -> None:
        self.by = by


ENTRIES = UUID("6b1f4c3e-0d2a-4e8b-9c7d-5a3e1f2b4c6d")


class Entry(Aggregate):
    @staticmethod
    def create_id(sale: UUID, amount: Decimal) -> UUID:
        return uuid5(ENTRIES, sale.hex)

    @event("Booked")
    def __init__(self, sale: UUID, amount: Decimal) -> None:
        self.sale = sale
        self.amount = amount

    @event("Reversed")
    def reverse(self, why: str) -> None:
        self.amount = Decimal("0")


class Note(Aggregate):
    @event("Written")
    def __init__(self, about: str) -> None:
        self.about = about


class Till(Application[UUID]):
    def sell(self, item: str, price: str) -> UUID:
        sale = Sale(item, Decimal(price))
        self.save(sale)
        return sale.id

    def refund(self, sale_id: UUID, reason: str) -> None:
        sale: Sale = self.repository.get(sale_id)
        sale.refund(reason)
        self.save(sale)

    def open_drawer(self, by: str) -> None:
        self.save(Drawer(by))


class Ledger(ProcessApplication[UUID]):
    @singledispatchmethod
    def policy(
        self, domain_event: DomainEventProtocol[UUID], processing_event: ProcessingEvent[UUID]
    ) -> None:
        """A drawer opening books nothing."""

    @policy.register(Sale.Made)  # type: ignore[attr-defined]
    def _(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        if domain_event.price < 0:
            raise ValueError(f"a sale cannot have a negative price ({domain_event.price})")
        entry = Entry(domain_event.originator_id, domain_event.price)
        processing_event.collect_events(entry)

    @policy.register(Sale.Refunded)  # type: ignore[attr-defined]
    def _(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        entry: Entry = self.repository.get(Entry.create_id(domain_event.originator_id, Decimal(0)))
        entry.reverse(domain_event.reason)
        processing_event.collect_events(entry)


class Auditor(ProcessApplication[UUID]):
    def policy(  # type: ignore[override]
        self, domain_event: DomainEventProtocol[UUID], processing_event: ProcessingEvent[UUID]
    ) -> None:
        processing_event.collect_events(Note(type(domain_event).__qualname__))


SHOP = System(pipes=[[Till, Ledger, Auditor]])

RUNNERS = ["single", "threads"]


@pytest.fixture(params=["memory", "sqlite folder", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every kind of store a system can live on: one place per application in each."""
    return _place(request, tmp_path)


@pytest.fixture(params=["sqlite folder", "postgresql"])
def lasting(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every kind of store that outlives a run (not memory)."""
    return _place(request, tmp_path)


def _place(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite folder":
        folder = tmp_path / "shop"
        folder.mkdir()
        return str(folder)
    return str(request.getfixturevalue("postgres_url"))


def positions(run: SystemRun) -> dict[str, int]:
    """Each application's newest position and tracking positions (to see nothing moved)."""
    found = {}
    for name, app in run.apps.items():
        found[name] = app.recorder.max_notification_id() or 0
        for leader in run.system.follows.get(name, []):
            found[f"{name}<{leader}"] = app.recorder.max_tracking_id(leader) or 0  # type: ignore[attr-defined]
    return found


def lag_rows(run: SystemRun) -> list[tuple[str, str, int, int, int]]:
    frame = run.lag()
    return [
        (r.leader, r.follower, r.tracking, r.leader_position, r.lag)
        for r in frame.itertuples(index=False)
    ]


@pytest.mark.parametrize("runner", RUNNERS)
def test_lag_is_exact_while_paused_and_after_running(where: str, runner: str) -> None:
    with open_system(SHOP, where, runner=runner, paused=True) as run:  # type: ignore[arg-type]
        till = run.get(Till)
        sales = [till.sell(item, "3.50") for item in ("tea", "cake", "scone")]
        till.open_drawer("Ana")
        assert run.paused
        assert lag_rows(run) == [("Till", "Ledger", 0, 4, 4), ("Ledger", "Auditor", 0, 0, 0)]
        run.resume()
        assert run.wait(10)
        assert lag_rows(run) == [("Till", "Ledger", 4, 4, 0), ("Ledger", "Auditor", 3, 3, 0)]
        till.refund(sales[0], "cold")
        assert run.wait(10)
        assert lag_rows(run) == [("Till", "Ledger", 5, 5, 0), ("Ledger", "Auditor", 4, 4, 0)]
        assert run.get(Auditor).recorder.max_notification_id() == 4
        assert run.error is None


def test_each_application_has_its_own_place_in_a_folder(tmp_path: Path) -> None:
    with open_system(SHOP, tmp_path) as run:
        run.get(Till).sell("tea", "2.00")
    assert sorted(p.name for p in tmp_path.glob("*.sqlite")) == [
        "auditor.sqlite",
        "ledger.sqlite",
        "till.sqlite",
    ]
    with open_system(SHOP, tmp_path) as run:  # opened again: the history is there
        assert lag_rows(run) == [("Till", "Ledger", 1, 1, 0), ("Ledger", "Auditor", 1, 1, 0)]


def test_one_sqlite_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SystemRunError, match="Name a folder instead") as raised:
        open_system(SHOP, tmp_path / "shop.sqlite")
    assert "Till, Ledger, Auditor" in str(raised.value)
    assert not (tmp_path / "shop.sqlite").exists()


def test_unknown_runner_and_not_a_system_say_what_to_use() -> None:
    with pytest.raises(SystemRunError, match="'single'.*'threads'"):
        open_system(SHOP, runner="processes")  # type: ignore[arg-type]
    with pytest.raises(SystemRunError, match="needs an eventsourcing System"):
        open_system([Till, Ledger])  # type: ignore[arg-type]


@pytest.mark.parametrize("runner", RUNNERS)
def test_sandbox_stepper_shows_in_and_out_and_goes_back(where: str, runner: str) -> None:
    with open_system(SHOP, where, runner=runner) as run:  # type: ignore[arg-type]
        till = run.get(Till)
        tea = till.sell("tea", "3.50")
        till.open_drawer("Ana")
        till.refund(tea, "cold")
        assert run.wait(10)
        before = positions(run)
        stepper = run.stepper(Ledger)
        first = stepper.step()
        assert first is not None and first.ok
        assert (first.event_type, first.position, first.incoming.stream) == ("Sale.Made", 1, tea)
        assert first.payload == {"item": "tea", "price": Decimal("3.50")}
        assert [e.event_type for e in first.recorded] == ["Entry.Booked"]
        assert first.recorded[0].payload == {"sale": tea, "amount": Decimal("3.50")}
        assert (first.tracking_before, first.tracking_after, first.sandbox) == (0, 1, True)
        drawer = stepper.step()
        assert drawer is not None
        assert (drawer.event_type, drawer.recorded) == ("Drawer.Opened", ())
        assert drawer.tracking_after == 2
        refund = stepper.step()
        assert refund is not None
        assert refund.payload == {"reason": "cold"}
        assert [(e.event_type, e.version) for e in refund.recorded] == [("Entry.Reversed", 2)]
        assert stepper.step() is None and stepper.at_end
        undone = stepper.back()
        assert undone is not None and undone.number == 3
        assert (stepper.position, len(stepper.steps)) == (2, 2)
        again = stepper.step()
        assert again is not None
        assert (again.number, again.recorded) == (3, refund.recorded)
        stepper.reset()
        assert (stepper.position, stepper.steps, stepper.back()) == (0, [], None)
        assert stepper.run_to_end() == 3
        assert positions(run) == before  # the sandbox never touched the real stores
        assert "Entry.Reversed" in stepper._repr_html_()


def test_a_failing_policy_is_shown_and_records_nothing(where: str) -> None:
    with open_system(SHOP, where, paused=True) as run:
        till = run.get(Till)
        till.sell("tea", "3.50")
        till.sell("refund voucher", "-1.00")
        before = positions(run)
        stepper = run.stepper("Ledger")
        assert stepper.run_to_end() == 1
        failed = stepper.last
        assert failed is not None and not failed.ok
        assert failed.error == "ValueError: a sale cannot have a negative price (-1.00)"
        assert (failed.recorded, failed.tracking_before, failed.tracking_after) == ((), 1, 1)
        assert isinstance(failed.exception, ValueError)
        assert "nothing was recorded" in failed._repr_html_()
        retried = stepper.step()
        assert retried is not None and retried.position == 2 and not retried.ok
        assert len(stepper.steps) == 1
        assert positions(run) == before

        real = run.stepper("Ledger", sandbox=False)
        done = real.step()
        assert done is not None and done.ok and not done.sandbox
        assert [e.event_type for e in done.recorded] == ["Entry.Booked"]
        assert run.get(Ledger).recorder.max_tracking_id("Till") == 1
        after_good = positions(run)
        bad = real.step()
        assert bad is not None and bad.error is not None and "negative price" in bad.error
        assert positions(run) == after_good  # the real store is unchanged too
        with pytest.raises(SystemRunError, match="cannot step back"):
            real.back()


def test_the_real_follower_is_stepped_only_while_paused() -> None:
    with open_system(SHOP) as run:
        stepper = run.stepper("Ledger", sandbox=False)
        with pytest.raises(SystemRunError, match=r"run.pause\(\)"):
            stepper.step()
        run.pause()
        assert stepper.step() is None  # nothing waiting
        run.get(Till).sell("tea", "1.00")
        step = stepper.step()
        assert step is not None and step.tracking_after == 1
        run.resume()
        assert lag_rows(run)[1] == ("Ledger", "Auditor", 1, 1, 0)  # downstream caught up


def test_stepper_names_the_followers_and_leaders() -> None:
    with open_system(SHOP) as run:
        with pytest.raises(SystemRunError, match="its followers: Ledger, Auditor"):
            run.stepper("Till")
        with pytest.raises(SystemRunError, match="does not follow 'Till'"):
            run.stepper("Auditor", leader="Till")


@pytest.mark.parametrize("runner", RUNNERS)
def test_map_counts_what_each_policy_handled(where: str, runner: str, tmp_path: Path) -> None:
    with open_system(SHOP, where, runner=runner) as run:  # type: ignore[arg-type]
        till = run.get(Till)
        tea = till.sell("tea", "3.50")
        till.sell("cake", "4.00")
        till.open_drawer("Ana")
        till.refund(tea, "cold")
        assert run.wait(10)
        picture = run.map()
        assert picture.edges() == [("Till", "Ledger"), ("Ledger", "Auditor")]
        assert picture.nodes == {
            "Till": "leader",
            "Ledger": "process application",
            "Auditor": "follower",
        }
        assert picture.counts("Till", "Ledger") == {"Sale.Made": 2, "Sale.Refunded": 1}
        assert picture.counts("Ledger", "Auditor") == {"Entry.Booked": 2, "Entry.Reversed": 1}
        run.pause()
        till.sell("scone", "2.00")  # recorded, not yet processed: not counted
        assert run.map().counts("Till", "Ledger") == {"Sale.Made": 2, "Sale.Refunded": 1}
        run.resume()
        assert run.wait(10)
        assert run.map().counts("Till", "Ledger") == {"Sale.Made": 3, "Sale.Refunded": 1}
        svg = picture.to_svg()
        assert svg.startswith("<svg") and 'role="img"' in svg and "<title>" in svg
        assert "Till → Ledger: 2 Sale.Made, 1 Sale.Refunded." in picture.text
        assert "aria-label=" in svg and "<script" not in svg
        saved = picture.save(tmp_path / "map.svg")
        assert saved.read_text(encoding="utf-8") == svg
        assert picture.save(tmp_path / "map.png").read_bytes().startswith(b"\x89PNG")
        with pytest.raises(ValueError, match="use .svg or .png"):
            picture.save(tmp_path / "map.pdf")


def test_handled_types_are_a_singledispatch_registry_or_everything() -> None:
    assert set(handled_types(Ledger) or ()) == {Sale.Made, Sale.Refunded}  # type: ignore[attr-defined]
    assert handled_types(Auditor) is None


def test_a_run_shows_itself() -> None:
    with open_system(SHOP) as run:
        run.get(Till).sell("tea", "1.00")
        bundle = run._repr_mimebundle_()
        assert "<svg" in bundle["text/html"] and "Ledger" in bundle["text/html"]
        assert "running" in bundle["text/plain"]
        spec = run.lag_chart().to_dict()
        assert spec["mark"]["type"] == "bar"
    assert "closed" in repr(run)
    with pytest.raises(SystemRunError, match="closed"):
        run.lag()


# Our Shop → Warehouse system (tests/apps/system.py) -----------------------------------


def test_stepper_and_map_on_the_shop_and_warehouse() -> None:
    from apps import system as shop

    with open_system(shop.SYSTEM) as run:
        shop.scenario(run)  # type: ignore[arg-type]
        picture = run.map()
        assert picture.counts("Shop", "Warehouse") == {"Order.Placed": 2, "Order.Cancelled": 1}
        stepper = run.stepper(shop.Warehouse)
        assert isinstance(stepper, PolicyStepper)
        assert stepper.run_to_end() == 3
        made = [[e.event_type for e in s.recorded] for s in stepper.steps]
        assert made == [["PickList.Opened"], ["PickList.Opened"], ["PickList.Voided"]]
        assert stepper.steps[0].payload["customer"] == "Mina"
        assert stepper.steps[2].recorded[0].payload == {"reason": "order cancelled: changed mind"}
        stepper.back()
        assert stepper.position == 2


# Tracing: what a follower records carries its cause ------------------------------------


@pytest.mark.parametrize("runner", RUNNERS)
def test_what_a_follower_records_is_caused_by_the_upstream_event(where: str, runner: str) -> None:
    from workbench.tracing import event_id, trace_of

    with open_system(SHOP, where, runner=runner) as run:  # type: ignore[arg-type]
        sale = run.get(Till).sell("tea", "3.50")
        assert run.wait(10)
        ledger, auditor = run.get(Ledger), run.get(Auditor)
        booked = ledger.mapper.to_domain_event(ledger.recorder.select_notifications(1, 1)[0])
        cause = trace_of(booked)
        assert cause is not None and cause.causation_id == event_id(sale, 1)
        entry = Entry.create_id(sale, Decimal(0))
        noted = auditor.mapper.to_domain_event(auditor.recorder.select_notifications(1, 1)[0])
        down = trace_of(noted)
        assert down is not None and down.causation_id == event_id(entry, 1)
        assert down.correlation_id == cause.correlation_id  # one business process
        step = run.stepper("Ledger").step()  # the sandbox copy traces as the real one
        assert step is not None and step.recorded[0].causation_id == event_id(sale, 1)


def test_map_of_a_follower_with_two_leaders_counts_each_edge() -> None:
    both = System(pipes=[[Till, Ledger, Auditor], [Till, Auditor]])
    with open_system(both) as run:
        till = run.get(Till)
        tea = till.sell("tea", "3.50")
        till.open_drawer("Ana")
        till.refund(tea, "cold")
        picture = run.map()
        assert picture.edges() == [("Till", "Ledger"), ("Ledger", "Auditor"), ("Till", "Auditor")]
        # the Auditor's plain policy takes every event: the drawer opening counts there
        assert picture.counts("Till", "Auditor") == {
            "Sale.Made": 1,
            "Drawer.Opened": 1,
            "Sale.Refunded": 1,
        }
        assert picture.flow("Till", "Auditor").handles is None
        assert picture.to_frame()["count"].sum() == 2 + 2 + 3
        with pytest.raises(SystemRunError, match="say which one to step with leader="):
            run.stepper("Auditor")
        step = run.stepper("Auditor", leader="Till").step()
        assert step is not None and [e.event_type for e in step.recorded] == ["Note.Written"]
        svg = picture.to_svg()
        assert svg.count('class="flow"') == 3


class Cashier(ProcessApplication[UUID]):
    """A follower that names its topics: it only ever sees refunds."""

    topics = (get_topic(Sale.Refunded),)  # type: ignore[attr-defined]

    def policy(  # type: ignore[override]
        self, domain_event: DomainEventProtocol[UUID], processing_event: ProcessingEvent[UUID]
    ) -> None:
        processing_event.collect_events(Note("refund"))


def test_a_follower_with_topics_lags_only_by_the_events_it_will_process(where: str) -> None:
    with open_system(System(pipes=[[Till, Cashier]]), where, paused=True) as run:
        till = run.get(Till)
        sales = [till.sell("tea", "1.00") for _ in range(3)]
        till.refund(sales[0], "cold")
        till.sell("cake", "2.00")
        till.refund(sales[1], "stale")
        till.open_drawer("Ana")
        assert lag_rows(run) == [("Till", "Cashier", 0, 7, 2)]
        run.resume()
        assert lag_rows(run) == [("Till", "Cashier", 6, 7, 0)]  # the drawer is not waiting
        assert run.map().counts("Till", "Cashier") == {"Sale.Refunded": 2}


def test_a_folder_named_with_a_slash_is_created(tmp_path: Path) -> None:
    with open_system(SHOP, f"{tmp_path}/new/shop/") as run:
        run.get(Till).sell("tea", "1.00")
        assert "folder" in repr(run)
    assert (tmp_path / "new" / "shop" / "till.sqlite").exists()


def test_one_application_alone_and_private_sqlite_databases() -> None:
    with open_system(System(pipes=[[Till]]), "sqlite::memory:") as run:
        run.get(Till).sell("tea", "1.00")
        assert run.lag().empty and list(run.lag().columns) == [
            "follower",
            "leader",
            "tracking",
            "leader_position",
            "lag",
        ]
        picture = run.map()
        assert (picture.nodes, picture.edges()) == ({"Till": "application"}, [])
        assert "<svg" in picture.to_svg()
    with open_system(SHOP, "sqlite::memory:") as run:  # each application its own database
        run.get(Till).sell("tea", "1.00")
        assert lag_rows(run) == [("Till", "Ledger", 1, 1, 0), ("Ledger", "Auditor", 1, 1, 0)]


def test_encrypted_and_compressed_applications_are_stepped_and_counted(tmp_path: Path) -> None:
    from eventsourcing.cipher import AESCipher

    env = {"CIPHER_KEY": AESCipher.create_key(16), "COMPRESSOR_TOPIC": "zlib"}
    with open_system(SHOP, tmp_path, env=env) as run:
        tea = run.get(Till).sell("tea", "3.50")
    assert b"tea" not in (tmp_path / "till.sqlite").read_bytes()
    with open_system(SHOP, tmp_path, env=env) as run:
        step = run.stepper("Ledger").step()
        assert step is not None and step.payload == {"item": "tea", "price": Decimal("3.50")}
        assert step.recorded[0].payload == {"sale": tea, "amount": Decimal("3.50")}
        assert run.map().counts("Till", "Ledger") == {"Sale.Made": 1}


@pytest.mark.parametrize("runner", RUNNERS)
def test_catch_up_processes_what_was_recorded_before_the_run(lasting: str, runner: str) -> None:
    where = lasting
    with open_system(System(pipes=[[Till]]), where) as alone:  # the till records on its own
        alone.get(Till).sell("tea", "1.00")
        alone.get(Till).sell("cake", "2.00")
    with open_system(SHOP, where, runner=runner) as run:  # type: ignore[arg-type]
        assert lag_rows(run)[0] == ("Till", "Ledger", 0, 2, 2)  # opening runs nothing
        run.catch_up()
        assert run.wait(10)
        assert lag_rows(run) == [("Till", "Ledger", 2, 2, 0), ("Ledger", "Auditor", 2, 2, 0)]


# A policy that reads what the follower's own commands recorded ---------------------------

RATES = UUID("0c6e2f4a-8b1d-4d3e-9f5a-7b2c4e6d8f10")


class Rate(Aggregate):
    @staticmethod
    def create_id(currency: str) -> UUID:
        return uuid5(RATES, currency)

    @event("Set")
    def __init__(self, currency: str, per_unit: Decimal) -> None:
        self.currency = currency
        self.per_unit = per_unit


class Pricing(ProcessApplication[UUID]):
    """Books each sale in euros, at the rate its own command set (not its policy)."""

    def set_rate(self, per_unit: str) -> None:
        self.save(Rate("EUR", Decimal(per_unit)))

    @singledispatchmethod
    def policy(
        self, domain_event: DomainEventProtocol[UUID], processing_event: ProcessingEvent[UUID]
    ) -> None:
        """Other events need no price."""

    @policy.register(Sale.Made)  # type: ignore[attr-defined]
    def _(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        rate: Rate = self.repository.get(Rate.create_id("EUR"))
        amount = domain_event.price * rate.per_unit
        processing_event.collect_events(Entry(domain_event.originator_id, amount))


def test_a_sandbox_seeded_with_the_followers_own_events(where: str) -> None:
    with open_system(System(pipes=[[Till, Pricing]]), where) as run:
        run.get(Pricing).set_rate("0.5")
        run.get(Till).sell("tea", "3.00")
        empty = run.stepper("Pricing").step()
        assert empty is not None and empty.error is not None
        assert "AggregateNotFoundError" in empty.error  # the empty copy has no rate
        seeded = run.stepper("Pricing", seed="own")
        assert [type(e).__qualname__ for e in seeded.own_events()] == ["Rate.Set"]
        step = seeded.step()
        assert step is not None and step.ok
        assert step.recorded[0].payload["amount"] == Decimal("1.500")
        assert seeded.back() is not None  # Back seeds the new copy again
        again = seeded.step()
        assert again is not None and again.recorded == step.recorded
        by_hand = run.stepper("Pricing", seed=lambda pricing: pricing.set_rate("2"))
        done = by_hand.step()
        assert done is not None and done.recorded[0].payload["amount"] == Decimal("6.00")
        with pytest.raises(SystemRunError, match="seed='own'"):
            run.stepper("Pricing", seed="everything")  # type: ignore[arg-type]
