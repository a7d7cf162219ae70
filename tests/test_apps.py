"""The style applications in tests/apps on every store: what they record, and what comes back.

Each style's scenario runs on memory and on SQLite files (plain, compressed, encrypted);
the file stores are then reopened by fresh applications, which must rebuild the
aggregates ``EXPECTED`` describes from the stored events alone.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest
from apps import STYLES, applications, load, sqlite_env, start, stop
from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import Notification

KEY = AESCipher.create_key(16)

# Settings added to an SQLite store: None means the memory store (POPO).
STORES: dict[str, dict[str, str] | None] = {
    "memory": None,
    "sqlite": {},
    "sqlite+gzip": {"COMPRESSOR_TOPIC": "gzip"},
    "sqlite+aes": {"CIPHER_KEY": KEY},
    "sqlite+zlib+aes": {"COMPRESSOR_TOPIC": "zlib", "CIPHER_KEY": KEY},
}

# Keys every stored event has; the payload is the rest.
ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def env_for(style: ModuleType, store: str, folder: Path) -> dict[str, str]:
    extra = STORES[store]
    if extra is None:
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    return {**sqlite_env(style, folder), **extra}


def notifications(handle: Any) -> list[Notification]:
    found: list[Notification] = []
    for app in applications(handle):
        found.extend(app.recorder.select_notifications(start=1, limit=1000))
    return found


def positions(handle: Any) -> list[int | None]:
    return [app.recorder.max_notification_id() for app in applications(handle)]


def check_recorded(style: ModuleType, handle: Any, store: str) -> None:
    expected = style.EXPECTED
    stored = notifications(handle)
    assert len(stored) == expected["events"]
    assert {n.topic for n in stored} == {
        f"{style.__name__}:{name}" for name in expected["event_types"]
    }
    readable = STORES[store] in (None, {})
    for n in stored:
        assert (b'"timestamp"' in n.state) is readable, (store, n.topic)


def check_state(style: ModuleType, handle: Any, ids: list[UUID]) -> None:
    expected = style.EXPECTED
    assert len(ids) == len(expected["aggregates"])
    for index, aggregate_id in enumerate(ids):
        obj = load(style, handle, aggregate_id)
        assert type(obj).__name__ == expected["aggregates"][index]
        assert obj.id == aggregate_id
        first = load(style, handle, aggregate_id, version=1)
        assert (type(first), first.id, first.version) == (type(obj), aggregate_id, 1)
    for index, attributes in expected["final_state"].items():
        obj = load(style, handle, ids[index])
        actual = {name: getattr(obj, name) for name in attributes}
        assert actual == attributes, (index, type(obj).__name__)


def check_rule_and_query(style: ModuleType, handle: Any, ids: list[UUID]) -> None:
    before = positions(handle)
    with pytest.raises(Exception) as raised:
        style.break_rule(handle, ids)
    assert type(raised.value).__name__ == style.EXPECTED["error"]
    assert type(raised.value).__module__ == style.__name__
    assert positions(handle) == before
    assert style.ask(handle, ids) == style.EXPECTED["query"]
    assert positions(handle) == before
    check_state(style, handle, ids)


@pytest.mark.parametrize("store", list(STORES))
@pytest.mark.parametrize("name", list(STYLES))
def test_scenario_round_trips(name: str, store: str, tmp_path: Path) -> None:
    style = STYLES[name]
    env = env_for(style, store, tmp_path)
    handle = start(style, env)
    try:
        ids = style.scenario(handle)
        check_recorded(style, handle, store)
        check_state(style, handle, ids)
        if STORES[store] is not None:
            stop(handle)
            handle = start(style, env)
            check_recorded(style, handle, store)
            check_state(style, handle, ids)
        check_rule_and_query(style, handle, ids)
    finally:
        stop(handle)


def payload_types(value: Any, found: set[type]) -> None:
    found.add(type(value))
    if isinstance(value, dict):
        for item in value.values():
            payload_types(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            payload_types(item, found)
    elif isinstance(value, datetime):
        assert value.tzinfo is not None, value
    elif hasattr(value, "__dataclass_fields__"):
        payload_types(vars(value), found)


@pytest.mark.parametrize("name", list(STYLES))
def test_payloads_cover_the_value_types(name: str) -> None:
    style = STYLES[name]
    handle = start(style, {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        style.scenario(handle)
        found: set[type] = set()
        for app in applications(handle):
            for n in app.recorder.select_notifications(start=1, limit=1000):
                state = vars(app.mapper.to_domain_event(n))
                payload_types({k: v for k, v in state.items() if k not in ENVELOPE}, found)
    finally:
        stop(handle)
    wanted = {str, int, bool, Decimal, UUID, datetime, date, dict, list, type(None)}
    assert wanted <= found
    if name == "domain_objects":
        objects = {style.Address, style.Route, style.Leg, style.Transport}
        assert objects <= found


def test_topics_are_distinct_across_styles() -> None:
    seen: dict[str, str] = {}
    for name, style in STYLES.items():
        names = {*style.EXPECTED["event_types"], *style.EXPECTED["aggregates"]}
        for short in names:
            assert short not in seen, f"{short} in both {seen.get(short)} and {name}"
            seen[short] = name
        for short in style.EXPECTED["event_types"]:
            assert not short.endswith(".Event"), short


def test_the_system_runs_in_memory() -> None:
    system = STYLES["system"]
    runner = system.run_in_memory()
    try:
        ids = system.scenario(runner)
        assert system.ask(runner, ids) == system.EXPECTED["query"]
        warehouse = runner.get(system.Warehouse)
        assert warehouse.recorder.max_tracking_id(system.Shop.name) == 3
    finally:
        stop(runner)
