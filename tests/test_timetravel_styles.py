"""Time travel over every style in tests/apps, on every store, with and without the code.

With the code (the application as the source), the newest state is the aggregate
``EXPECTED["final_state"]`` describes, read the way a user reads it (properties by
their names), and every event after the first changes something. Without the code (the
SQLite file, or ``use_repository=False`` where there is no file), the view is the
events' payloads grouped by event type, and says it is not the aggregate's state.

Stores: memory, an SQLite file (plain, gzip-compressed, AES-encrypted) and PostgreSQL
(``WORKBENCH_TEST_POSTGRES_URL``; each test gets its own schema from the ``postgres_url``
fixture in conftest.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest
from apps import STYLES, applications, sqlite_env, start, stop
from eventsourcing.application import Application
from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import JSONTranscoder

from workbench.reading.opening import open_history
from workbench.stores import parse_store
from workbench.timetravel import FOLDED, REPOSITORY, TimeTravel

KEY = AESCipher.create_key(16)

# What each store adds to an SQLite store's settings; None: not an SQLite file.
STORES: dict[str, dict[str, str] | None] = {
    "memory": None,
    "sqlite": {},
    "sqlite+gzip": {"COMPRESSOR_TOPIC": "gzip"},
    "sqlite+aes": {"CIPHER_KEY": KEY},
    "postgresql": None,
}

HEADER = {"id", "version", "type"}
"""The keys of a folded state that are not event types."""


class Run:
    """A style's scenario, recorded on one store."""

    def __init__(self, style: ModuleType, store: str, env: dict[str, str]) -> None:
        self.style = style
        self.store = store
        self.env = env
        self.handle = start(style, env)
        self.ids: list[UUID] = style.scenario(self.handle)

    def holder(self, aggregate_id: UUID) -> Application[Any]:
        """The application whose store holds the aggregate's events."""
        for app in applications(self.handle):
            if app.recorder.select_events(aggregate_id, limit=1):
                return app
        raise AssertionError(f"no application holds {aggregate_id}")

    def without_the_code(self, aggregate_id: UUID, index: int) -> TimeTravel:
        """Time travel that reads the stored events only."""
        app = self.holder(aggregate_id)
        extra = STORES[self.store]
        if extra is None:  # no file to read: the events through the application's recorder
            return TimeTravel(app, aggregate_id, use_repository=False)
        path = Path(self.env[f"{app.name.upper()}_SQLITE_DBNAME"])
        if index % 2:
            return TimeTravel(open_history(path, env=extra), aggregate_id)
        return TimeTravel(
            str(path),
            aggregate_id,
            cipher_key=extra.get("CIPHER_KEY"),
            compressor=extra.get("COMPRESSOR_TOPIC"),
        )


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def record(style: ModuleType, store: str, request: pytest.FixtureRequest, folder: Path) -> Run:
    """Run the style's scenario on ``store``."""
    extra = STORES[store]
    if store == "memory":
        env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    elif store == "postgresql":
        env = parse_store(request.getfixturevalue("postgres_url")).env()
    else:
        assert extra is not None
        env = {**sqlite_env(style, folder), **extra}
    return Run(style, store, env)


@pytest.fixture(params=list(STYLES))
def run(request: pytest.FixtureRequest, store: str, tmp_path: Path) -> Iterator[Run]:
    recorded = record(STYLES[request.param], store, request, tmp_path)
    try:
        yield recorded
    finally:
        stop(recorded.handle)


def test_with_the_code_the_state_is_the_aggregate(run: Run) -> None:
    expected = run.style.EXPECTED
    for index, attributes in expected["final_state"].items():
        aggregate_id = run.ids[index]
        travel = TimeTravel(run.holder(aggregate_id), aggregate_id)
        assert travel.mode.startswith(REPOSITORY), travel.note
        assert travel.note == ""
        if run.style.__name__ == "apps.functional":
            assert travel.mode == f"{REPOSITORY} with projector apps.functional.project"
        newest = travel.state_at(travel.versions[-1])
        assert {name: newest.get(name) for name in attributes} == attributes, index
        assert newest["type"] == expected["aggregates"][index]
        steps = travel.steps()
        assert [s.version for s in steps] == travel.versions
        for before, step in itertools.pairwise(steps):
            assert not step.folded
            unchanged = {k for k in step.state if k not in ("version", "modified_on")}
            assert any(before.state.get(k) != step.state[k] for k in unchanged), step.version
            assert step.changes, f"{step.event_type} (version {step.version}) changed nothing"


def test_the_system_follower_aggregates_travel_too(
    store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    system = STYLES["system"]
    run = record(system, store, request, tmp_path)
    try:
        warehouse = run.handle.get(system.Warehouse)
        for pick_list, status in [(run.ids[2], "picked"), (run.ids[3], "voided")]:
            assert run.holder(pick_list) is warehouse
            travel = TimeTravel(warehouse, pick_list)
            assert travel.mode == REPOSITORY
            opened, changed = travel.steps()
            assert opened.event_type == "PickList.Opened"
            assert opened.state["status"] == "open"
            assert {c.name: (c.before, c.after) for c in changed.changes}["status"] == (
                "open",
                status,
            )
            folded = run.without_the_code(pick_list, 0)
            assert folded.mode == FOLDED
            assert list(folded.state_at(2))[-2:] == ["PickList.Opened", changed.event_type]
    finally:
        stop(run.handle)


def test_without_the_code_the_payloads_are_grouped_by_event_type(run: Run) -> None:
    expected = run.style.EXPECTED
    for index, aggregate_id in enumerate(run.ids):
        travel = run.without_the_code(aggregate_id, index)
        assert travel.mode == FOLDED
        assert "not the aggregate's state" in travel.note
        assert "not the aggregate&#x27;s state" in travel._repr_html_()
        seen: list[str] = []
        for step in travel.steps():
            assert step.folded
            groups = {k: v for k, v in step.state.items() if k not in HEADER}
            if step.event_type not in seen:
                seen.append(step.event_type)
            assert list(groups) == seen
            assert set(groups) <= expected["event_types"]
            assert all(isinstance(payload, dict) for payload in groups.values())
            assert groups[step.event_type] == step.event
            assert [c.name for c in step.changes if c.name not in HEADER] in (
                [step.event_type],
                [],  # the same payload as the event type's last one
            )


@pytest.mark.parametrize("store", ["sqlite", "sqlite+aes"])
def test_a_functional_aggregate_read_by_an_application_without_its_projector(
    store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    functional = STYLES["functional"]
    run = record(functional, store, request, tmp_path)
    stop(run.handle)

    class Kennel(Application[UUID]):
        """The kennel's store, opened by an application that doesn't know the projector."""

        def register_transcodings(self, transcoder: JSONTranscoder) -> None:
            super().register_transcodings(transcoder)
            transcoder.register(functional.DateAsISO())

    bare = Kennel(env=run.env)
    try:
        dog = run.ids[0]
        travel = TimeTravel(bare, dog)
        assert travel.mode == FOLDED
        assert (
            "this aggregate is not an eventsourcing Aggregate (its events have no mutate); "
            "pass projector=<your projector function> to rebuild it"
        ) in travel.note
        given = TimeTravel(bare, dog, projector=functional.project)
        assert given.mode == f"{REPOSITORY} with projector apps.functional.project"
        newest = given.state_at(given.versions[-1])
        expected = functional.EXPECTED["final_state"][0]
        assert {name: newest[name] for name in expected} == expected
    finally:
        bare.close()
