"""A shop and its warehouse: two applications joined in an eventsourcing ``System``.

``Shop`` (the leader) records ``Order`` events. ``Warehouse`` is a
``ProcessApplication`` that follows the shop: its ``policy`` (a
``singledispatchmethod``) opens a ``PickList`` when an order is placed and voids it when
the order is cancelled, handing the new events to ``processing_event.collect_events``
so they are stored together with the position of the shop event that caused them. A
pick list's id is derived from its order's id (``PickList.create_id``), so the id can be
computed from the order's id.

Each application keeps its own store: on SQLite, give each one a file with the
prefixed setting ``SHOP_SQLITE_DBNAME`` / ``WAREHOUSE_SQLITE_DBNAME``. The two
applications can't share one file, because both would use the same events table.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import singledispatchmethod
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol, event
from eventsourcing.persistence import JSONTranscoder, Transcoding
from eventsourcing.system import ProcessApplication, SingleThreadedRunner, System


class OrderClosed(Exception):
    """Only an open order can be cancelled; only an open pick list can be picked."""


class Order(Aggregate):
    @event("Placed")
    def __init__(
        self,
        customer: str,
        lines: list[dict[str, Any]],
        total: Decimal,
        express: bool,
        deliver_by: date,
        coupon: str | None,
    ) -> None:
        self.customer = customer
        self.lines = [dict(line) for line in lines]
        self.total = total
        self.express = express
        self.deliver_by = deliver_by
        self.coupon = coupon
        self.status = "placed"
        self.refund = Decimal("0.00")

    def cancel(self, reason: str, refund: Decimal) -> None:
        if self.status != "placed":
            raise OrderClosed(f"the order of {self.customer} is {self.status}")
        self._cancelled(reason=reason, refund=refund)

    @event("Cancelled")
    def _cancelled(self, reason: str, refund: Decimal) -> None:
        self.status = "cancelled"
        self.refund = refund


PICK_LISTS = UUID("0f5e3a1c-9b7d-4c2e-a8f6-1e3c5a7b9d09")


class PickList(Aggregate):
    @staticmethod
    def create_id(order_id: UUID) -> UUID:
        return uuid5(PICK_LISTS, order_id.hex)

    @event("Opened")
    def __init__(self, order_id: UUID, items: list[dict[str, Any]], express: bool) -> None:
        self.order_id = order_id
        self.items = [dict(item) for item in items]
        self.express = express
        self.status = "open"
        self.picked_by: str | None = None
        self.picked_at: datetime | None = None
        self.void_reason: str | None = None

    def pick(self, picker: str, at: datetime) -> None:
        if self.status != "open":
            raise OrderClosed(f"the pick list of order {self.order_id} is {self.status}")
        self._picked(picker=picker, at=at)

    @event("Picked")
    def _picked(self, picker: str, at: datetime) -> None:
        self.status = "picked"
        self.picked_by = picker
        self.picked_at = at

    @event("Voided")
    def void(self, reason: str) -> None:
        self.status = "voided"
        self.void_reason = reason


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Shop(Application):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def place_order(
        self,
        customer: str,
        lines: list[dict[str, Any]],
        express: bool,
        deliver_by: date,
        coupon: str | None = None,
    ) -> UUID:
        total = sum((line["price"] * line["qty"] for line in lines), Decimal("0.00"))
        order = Order(customer, lines, total, express, deliver_by, coupon)
        self.save(order)
        return order.id

    def cancel_order(self, order_id: UUID, reason: str) -> None:
        order: Order = self.repository.get(order_id)
        order.cancel(reason, refund=order.total)
        self.save(order)

    def order_status(self, order_id: UUID) -> str:
        order: Order = self.repository.get(order_id)
        return order.status


class Warehouse(ProcessApplication):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    @singledispatchmethod
    def policy(
        self, domain_event: DomainEventProtocol[UUID], processing_event: ProcessingEvent[UUID]
    ) -> None:
        """Other events of the shop need nothing from the warehouse."""

    @policy.register(Order.Placed)
    def _(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        items = [{"sku": line["sku"], "qty": line["qty"]} for line in domain_event.lines]
        pick_list = PickList(
            order_id=domain_event.originator_id, items=items, express=domain_event.express
        )
        processing_event.collect_events(pick_list)

    @policy.register(Order.Cancelled)
    def _(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        pick_list: PickList = self.repository.get(PickList.create_id(domain_event.originator_id))
        if pick_list.status == "open":
            pick_list.void(f"order cancelled: {domain_event.reason}")
            processing_event.collect_events(pick_list)

    def mark_picked(self, order_id: UUID, picker: str, at: datetime) -> None:
        pick_list: PickList = self.repository.get(PickList.create_id(order_id))
        pick_list.pick(picker, at)
        self.save(pick_list)

    def pick_status(self, order_id: UUID) -> str:
        pick_list: PickList = self.repository.get(PickList.create_id(order_id))
        return pick_list.status


SYSTEM = System(pipes=[[Shop, Warehouse]])


def start(env: Mapping[str, str] | None = None) -> SingleThreadedRunner[UUID]:
    """Start the shop and its warehouse in one thread (``env`` as for an application)."""
    runner: SingleThreadedRunner[UUID] = SingleThreadedRunner(
        SYSTEM, env=dict(env) if env is not None else None
    )
    runner.start()
    return runner


def run_in_memory() -> SingleThreadedRunner[UUID]:
    """Start the system with every application in memory."""
    return start({"PERSISTENCE_MODULE": "eventsourcing.popo"})


PICKED_AT = datetime(2024, 9, 2, 14, 5, tzinfo=UTC)


def scenario(runner: SingleThreadedRunner[UUID]) -> list[UUID]:
    shop = runner.get(Shop)
    warehouse = runner.get(Warehouse)
    mugs = shop.place_order(
        "Mina",
        [{"sku": "MUG-01", "qty": 2, "price": Decimal("8.50")}],
        express=True,
        deliver_by=date(2024, 9, 4),
    )
    tea = shop.place_order(
        "Olu",
        [
            {"sku": "TEA-12", "qty": 1, "price": Decimal("6.00")},
            {"sku": "POT-02", "qty": 1, "price": Decimal("21.00")},
        ],
        express=False,
        deliver_by=date(2024, 9, 9),
        coupon="SPRING10",
    )
    warehouse.mark_picked(mugs, "Jo", PICKED_AT)
    shop.cancel_order(tea, "changed mind")
    return [mugs, tea, PickList.create_id(mugs), PickList.create_id(tea)]


def break_rule(runner: SingleThreadedRunner[UUID], ids: list[UUID]) -> None:
    runner.get(Shop).cancel_order(ids[1], "cancelled twice")


def ask(runner: SingleThreadedRunner[UUID], ids: list[UUID]) -> list[str]:
    shop = runner.get(Shop)
    warehouse = runner.get(Warehouse)
    return [shop.order_status(ids[0]), shop.order_status(ids[1]), warehouse.pick_status(ids[0])]


def load(
    runner: SingleThreadedRunner[UUID], aggregate_id: UUID, version: int | None = None
) -> Aggregate:
    for app in (runner.get(Shop), runner.get(Warehouse)):
        if aggregate_id in app.repository:
            return app.repository.get(aggregate_id, version=version)
    raise KeyError(aggregate_id)


APP = Shop
APPS = (Shop, Warehouse)

EXPECTED: dict[str, Any] = {
    "aggregate": "Order",
    "aggregates": ["Order", "Order", "PickList", "PickList"],
    "event_types": {
        "Order.Placed",
        "Order.Cancelled",
        "PickList.Opened",
        "PickList.Picked",
        "PickList.Voided",
    },
    "events": 7,
    "final_state": {
        0: {
            "version": 1,
            "customer": "Mina",
            "lines": [{"sku": "MUG-01", "qty": 2, "price": Decimal("8.50")}],
            "total": Decimal("17.00"),
            "express": True,
            "deliver_by": date(2024, 9, 4),
            "coupon": None,
            "status": "placed",
        },
        1: {
            "version": 2,
            "customer": "Olu",
            "total": Decimal("27.00"),
            "coupon": "SPRING10",
            "status": "cancelled",
            "refund": Decimal("27.00"),
        },
        2: {
            "version": 2,
            "items": [{"sku": "MUG-01", "qty": 2}],
            "express": True,
            "status": "picked",
            "picked_by": "Jo",
            "picked_at": PICKED_AT,
        },
        3: {
            "version": 2,
            "items": [{"sku": "TEA-12", "qty": 1}, {"sku": "POT-02", "qty": 1}],
            "express": False,
            "status": "voided",
            "void_reason": "order cancelled: changed mind",
            "picked_by": None,
        },
    },
    "error": "OrderClosed",
    "query": ["placed", "cancelled", "picked"],
}
