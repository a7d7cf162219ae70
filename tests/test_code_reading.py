"""Reading an application's code: source read safely, calls resolved, followed once each.

The command panel (command or query?) and the event-storming board (which events?)
both follow calls through :mod:`workbench.code_reading`; the last tests show cases
one of them used to miss and both now find.
"""

from __future__ import annotations

import doctest
import functools
import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from workbench import code_reading
from workbench.code_reading import (
    UNKNOWN,
    CodeReader,
    Site,
    call_name,
    function_node,
    is_library,
    is_user_module,
)
from workbench.commands import decide
from workbench.storming.code import AppCode


class Kettle(Aggregate):
    def __init__(self, litres: float) -> None:
        self.litres = litres

    def close(self) -> None:
        self._finish()

    @event("Finished")
    def _finish(self) -> None:
        self.finished = True

    @event("Descaled")
    def descale(self) -> None:
        pass


class Descaler:
    """A helper object the application keeps (not an aggregate)."""

    def run(self, kettle: Any) -> None:
        kettle.descale()


class Kitchen(Application[UUID]):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.descaler = Descaler()

    def fill(self, litres: float) -> UUID:
        kettle = Kettle(litres)
        self.save(kettle)
        return kettle.id

    def close_kettle(self, kettle_id: UUID) -> None:
        self.repository.get(kettle_id).close()

    def descale_kettle(self, kettle_id: UUID) -> None:
        self.descaler.run(self.repository.get(kettle_id))

    def first(self) -> None:
        self.second()

    def second(self) -> None:
        self.third()

    def third(self) -> None:
        self.first()

    def count(self) -> int:
        return len(json.dumps({}))


class BigKitchen(Kitchen):
    def fill(self, litres: float) -> UUID:
        return super().fill(litres * 2)


def _site(func: Callable[..., Any], owner: type[Any] | None) -> Site:
    node = function_node(func)
    assert node is not None
    return Site(func, owner, node.body, ())


def _callees(
    reader: CodeReader, func: Callable[..., Any], owner: type[Any]
) -> dict[str, list[Any]]:
    site = _site(func, owner)
    return {call_name(call): [c.member for c in reader.callees(call, site)] for call in site.calls}


def test_the_module_examples_run() -> None:
    assert doctest.testmod(code_reading).failed == 0


def test_source_that_cannot_be_read_is_none_not_an_error() -> None:
    namespace: dict[str, Any] = {}
    exec("def built(self):\n    self.save()\n", namespace)
    assert function_node(namespace["built"]) is None
    assert function_node(len) is None
    assert function_node(lambda: None) is None


def test_a_wrapped_function_is_read_as_written() -> None:
    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any) -> Any:
            return func(*args)

        return wrapper

    @wrap
    def saves(app: Any) -> None:
        app.save()

    node = function_node(saves)
    assert node is not None and node.name == "saves"


def test_libraries_are_eventsourcing_the_standard_library_and_given_a_home_the_rest() -> None:
    assert is_library("eventsourcing.domain") and is_library("json") and is_library("")
    assert not is_user_module("typing") and is_user_module("tests.test_code_reading")
    assert not is_library("workbench.examples.ticketing")  # no home: anyone's code
    assert is_library("workbench.stores", "shop") and not is_library("shop.domain", "shop")
    assert not is_library("workbench.stores", "workbench")


def test_the_application_s_classes_and_functions_come_from_its_modules() -> None:
    reader = CodeReader(Kitchen)
    assert reader.modules[0].__name__ == __name__
    aggregates: list[type[Any]] = list(reader.aggregate_classes)
    assert Kettle in aggregates and Descaler not in aggregates
    assert Descaler in reader.classes and "_site" in reader.functions


def test_a_call_is_resolved_where_the_code_says() -> None:
    reader = CodeReader(Kitchen)
    fill = _callees(reader, Kitchen.fill, Kitchen)
    assert fill["Kettle"] == [Kettle]
    assert fill["save"] == [Application.save]
    assert _callees(reader, BigKitchen.fill, BigKitchen)["fill"] == [Kitchen.fill]
    assert _callees(reader, Kettle.close, Kettle)["_finish"] == [vars(Kettle)["_finish"]]
    assert _callees(reader, Kitchen.count, Kitchen)["dumps"] == [json.dumps]


def test_a_method_of_an_object_of_unknown_class_is_any_method_of_that_name() -> None:
    reader = CodeReader(Kitchen)
    close = _callees(reader, Kitchen.close_kettle, Kitchen)
    assert close["close"] == [Kettle.close]
    assert close["get"] == []  # the repository is eventsourcing's: not read
    assert _callees(reader, Kitchen.descale_kettle, Kitchen)["run"] == [Descaler.run]


def test_every_function_reached_is_visited_once_nearest_first() -> None:
    reader = CodeReader(Kitchen)
    sites = [(site.path, site.func) for site in reader.walk(Kitchen.first, Kitchen)]
    assert sites == [
        ((), Kitchen.first),
        (("second",), Kitchen.second),
        (("second", "third"), Kitchen.third),
    ]
    assert [s.path for s in reader.walk(Kitchen.first, Kitchen, depth=1)] == [(), ("second",)]
    close = [(s.path, s.owner) for s in reader.walk(Kitchen.close_kettle, Kitchen)]
    assert close == [((), Kitchen), (("close",), Kettle), (("close", "_finish"), Kettle)]


def test_a_call_stopped_by_the_reader_is_not_followed() -> None:
    reader = CodeReader(Kitchen)
    visited = []
    for site in reader.walk(Kitchen.first, Kitchen):
        visited.append(site.func)
        for call in site.calls:
            site.stop(call)
    assert visited == [Kitchen.first]


def test_an_unreadable_method_yields_no_site() -> None:
    namespace: dict[str, Any] = {}
    exec("def built(self):\n    self.save()\n", namespace)
    assert list(CodeReader(Kitchen).walk(namespace["built"], Kitchen)) == []
    assert _site(Kitchen.count, Kitchen).resolve(None) is UNKNOWN


# --- what the command panel and the board both find now ----------------------------------


def _board_events(app: type[Any], name: str) -> list[str]:
    code = AppCode(app)
    return sorted(ref.name for ref in code.reach(getattr(app, name), app).events)


def test_an_aggregate_method_calling_its_own_event_method_is_a_command() -> None:
    # the command panel resolved ``self._finish()`` in Kettle.close on the application
    assert decide(Kitchen)["close_kettle"].reason == "reaches _finish via close"
    assert _board_events(Kitchen, "close_kettle") == ["Kettle.Finished"]


def test_an_event_method_reached_through_a_helper_object_is_on_the_board() -> None:
    # the board matched a method of unknown receiver against aggregates only
    assert decide(Kitchen)["descale_kettle"].reason == "reaches descale via run"
    assert _board_events(Kitchen, "descale_kettle") == ["Kettle.Descaled"]


def test_a_command_calling_super_reaches_what_the_base_method_records() -> None:
    # both looked ``super().fill`` up on the subclass (itself) or not at all
    assert decide(BigKitchen)["fill"].reason == "reaches save via fill"
    assert _board_events(BigKitchen, "fill") == ["Kettle.Created"]


def test_loops_and_queries_end() -> None:
    decisions = decide(Kitchen)
    assert not decisions["first"].is_command and not decisions["count"].is_command
    assert _board_events(Kitchen, "first") == []
