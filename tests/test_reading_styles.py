"""Every reader gives the same values for the style applications' histories, from every store.

Each style in ``tests/apps`` records its scenario on memory, SQLite files (plain, gzip,
zlib, AES) and PostgreSQL. Then the history is read with the code (the open
application) and, for files, without it (the path, the ``sqlite:///`` string and an
opened :class:`~workbench.History`, with the store's settings or, for compressed files,
none): :func:`~workbench.load_events`, :func:`~workbench.event_types_of`, a projection's
handler and :meth:`~workbench.EventStream.payload` must all see the same values, and
those values must be the stored JSON with eventsourcing's standard encodings decoded
(an application's own transcodings, such as an Enum's or a date's, keep their raw data).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import numpy as np
import pandas as pd
import pytest
from apps import STYLES, app_classes, applications, sqlite_env, start, stop
from eventsourcing.application import Application
from eventsourcing.cipher import AESCipher
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Notification
from handled import Handled

from workbench import (
    EventStream,
    EventView,
    LoadError,
    Projection,
    ProjectionRun,
    ReadModel,
    event_types_of,
    handles,
    load_events,
    open_history,
)
from workbench.stores import parse_store

KEY = AESCipher.create_key(16)
ZLIB = "eventsourcing.compressor:ZlibCompressor"

# What each store adds to an SQLite application's settings (None: not an SQLite file).
STORES: dict[str, dict[str, str] | None] = {
    "memory": None,
    "sqlite": {},
    "sqlite+gzip": {"COMPRESSOR_TOPIC": "gzip"},
    "sqlite+zlib": {"COMPRESSOR_TOPIC": ZLIB},
    "sqlite+aes": {"CIPHER_KEY": KEY},
    "postgresql": None,
}
FILE_STORES = [name for name, extra in STORES.items() if extra is not None]
ALL_STORES = [
    pytest.param(name, marks=pytest.mark.postgres) if name == "postgresql" else name
    for name in STORES
]

ALL_TYPES = sorted({t for style in STYLES.values() for t in style.EXPECTED["event_types"]})
FIXED = ["position", "stream_id", "version", "event_type", "topic", "timestamp"]
# The loader's own columns: a payload field with one of these names is in "payload.<name>".
METADATA = {"position", "stream_id", "version", "event_type", "topic", "error"}


# --- recording a scenario (once per style and store; the tests only read it) ---------


@dataclass
class Recorded:
    """A style's scenario recorded on one store, with what it takes to read it back."""

    style: ModuleType
    store: str
    ids: list[UUID]
    apps: list[Application[Any]]
    files: dict[str, Path] = field(default_factory=dict)
    """The SQLite file of each application, by name (file stores only)."""
    _handled: dict[str, list[Handled]] = field(default_factory=dict)

    @property
    def settings(self) -> list[dict[str, Any]]:
        """Every way of giving a reader this store's settings (file stores only)."""
        extra = STORES[self.store] or {}
        variants: list[dict[str, Any]] = [{"env": dict(extra)}] if extra else [{}]
        if "CIPHER_KEY" in extra:
            variants.append({"cipher_key": extra["CIPHER_KEY"]})
        if "COMPRESSOR_TOPIC" in extra:
            # a compressor by name or topic, and none at all: it is recognised by its bytes
            variants += [{"compressor": extra["COMPRESSOR_TOPIC"]}, {}]
        return variants

    def sources(
        self, app: Application[Any], *, every_form: bool = True
    ) -> list[tuple[str, Any, dict[str, Any]]]:
        """``(label, source, settings)``: ``app``'s file as a path with every variant of the
        settings; with ``every_form``, also as a store string and an opened ``History``.
        """
        path = self.files[app.name]
        found = [(f"{path.name} {s}", path, s) for s in self.settings]
        if every_form:
            first = self.settings[0]
            found.append((f"sqlite:///{path.name} {first}", f"sqlite:///{path}", first))
            history = open_history(path, **first)
            found.append((f"open_history({path.name}, {first})", history, {}))
        return found

    def handled(self, app: Application[Any]) -> list[Handled]:
        """What ``EveryField``'s handler is given over ``app`` (projected once)."""
        if app.name not in self._handled:
            self._handled[app.name] = project(app)[1]
        return self._handled[app.name]


class Recordings:
    """Scenarios recorded on demand and kept until the module's tests are done."""

    def __init__(self, folder: Path, postgres_url: str | None = None) -> None:
        self.folder = folder
        self.postgres_url = postgres_url
        self.recorded: dict[tuple[str, str], Recorded] = {}
        self.handles: list[Any] = []

    def get(self, name: str, store: str) -> Recorded:
        key = (name, store)
        if key not in self.recorded:
            self.recorded[key] = self._record(name, store)
        return self.recorded[key]

    def _record(self, name: str, store: str) -> Recorded:
        style = STYLES[name]
        extra = STORES[store]
        files: dict[str, Path] = {}
        if store == "memory":
            env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        elif store == "postgresql":
            assert self.postgres_url is not None
            # one connection per application: the recordings stay open for the module
            pool = {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
            env = {**parse_store(self.postgres_url).env(), **pool}
        else:
            assert extra is not None
            folder = self.folder / f"{name}-{store}"
            folder.mkdir()
            env = {**sqlite_env(style, folder), **extra}
            files = {cls.name: folder / f"{cls.name}.sqlite" for cls in app_classes(style)}
        handle = start(style, env)
        self.handles.append(handle)
        ids = style.scenario(handle)
        return Recorded(style, store, ids, applications(handle), files)

    def close(self) -> None:
        for handle in self.handles:
            stop(handle)


@pytest.fixture(scope="module")
def local_recordings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recordings]:
    recordings = Recordings(tmp_path_factory.mktemp("styles"))
    yield recordings
    recordings.close()


@pytest.fixture(scope="module")
def postgres_recordings(postgres_module_url: str) -> Iterator[Recordings]:
    # depends on the schema, so it is closed before the schema is dropped
    recordings = Recordings(Path(), postgres_module_url)
    yield recordings
    recordings.close()


def recorded(name: str, store: str, request: pytest.FixtureRequest) -> Recorded:
    """The scenario of style ``name`` recorded on ``store`` (PostgreSQL: skipped if absent)."""
    kind = "postgres_recordings" if store == "postgresql" else "local_recordings"
    recordings: Recordings = request.getfixturevalue(kind)
    return recordings.get(name, store)


# --- comparing values ------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where ``a`` and ``b`` differ: NA, NaN and None are equal; so are equal numbers of the
    same kind (an int is not a float, a bool not an int); datetimes are compared with ``==``.
    """
    a, b = _plain(a), _plain(b)
    if _missing(a) or _missing(b):
        return [] if _missing(a) and _missing(b) else [f"{where}: {a!r} != {b!r}"]
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or a.keys() != b.keys():
            return [f"{where}: {a!r} != {b!r}"]
        return [d for k in a for d in differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        if not (isinstance(a, list | tuple) and isinstance(b, list | tuple)) or len(a) != len(b):
            return [f"{where}: {a!r} != {b!r}"]
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{where}[{i}]")]
    kinds = (bool, float, Decimal, datetime, str)
    if any(isinstance(a, k) != isinstance(b, k) for k in kinds) or a != b:
        return [f"{where}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"]
    return []


def assert_same(a: Any, b: Any, where: str) -> None:
    found = differences(a, b, where)
    assert not found, "\n".join(found[:10])


def frame_without_attrs(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df.attrs = {}
    return df


# --- what the store holds, decoded independently ------------------------------------

_STANDARD = {
    "uuid_hex": UUID,
    "uuid_str": UUID,
    "decimal_str": Decimal,
    "datetime_iso": datetime.fromisoformat,
    "date_iso": date.fromisoformat,
}


def _decoded(value: Any) -> Any:
    if isinstance(value, dict):
        if value.keys() == {"_type_", "_data_"}:
            data = _decoded(value["_data_"])
            decode = _STANDARD.get(value["_type_"])
            return data if decode is None else decode(data)
        return {k: _decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


def stored_payload(app: Application[Any], notification: Notification) -> dict[str, Any]:
    """The event's stored JSON as eventsourcing wrote it, with the standard encodings decoded."""
    state = notification.state
    if app.mapper.cipher is not None:
        state = app.mapper.cipher.decrypt(state)
    if app.mapper.compressor is not None:
        state = app.mapper.compressor.decompress(state)
    payload: dict[str, Any] = _decoded(json.loads(state))
    return payload


def notifications(app: Application[Any]) -> list[Notification]:
    return list(app.recorder.select_notifications(start=1, limit=1000))


# --- a projection that keeps everything its handler sees ----------------------------


class EveryField(Projection):
    """Counts events per type and keeps every payload field of every event."""

    def __init__(self) -> None:
        self.seen: list[Handled] = []

    @handles(*ALL_TYPES)
    def record(self, event: EventView, model: ReadModel) -> None:
        payload = event.payload
        self.seen.append(Handled.of(event))
        model["counts"].add(event.type)
        for name, value in payload.items():
            model["fields"][(event.position, name)] = value


def project(
    source: Any, projection: EveryField | None = None, **settings: Any
) -> tuple[dict[str, Any], list[Handled]]:
    """The read model ``EveryField`` builds from ``source``, and the events it handled."""
    projection = projection or EveryField()
    run = ProjectionRun(projection, source, **settings).run()
    assert run.status == "done", (run.status, run.failure, run.error)
    assert run.position == run.history.max_position()
    return run.model.snapshot(), projection.seen


def rows_by_position(df: pd.DataFrame) -> dict[int, dict[str, Any]]:
    return {int(row["position"]): row for row in df.to_dict("records")}


def as_row(payload: dict[str, Any], df: pd.DataFrame, where: str) -> dict[str, Any]:
    """``payload`` (without its timestamp) as a row of ``df``'s payload columns: a field named
    like one of the loader's columns in ``payload.<name>``, and missing where it has no value.
    """
    fields = {f"payload.{k}" if k in METADATA else k: v for k, v in payload.items()}
    fields.pop("timestamp", None)
    columns = [c for c in df.columns if c not in FIXED]
    assert set(fields) <= set(columns), (where, sorted(set(fields) - set(columns)))
    return {c: fields.get(c) for c in columns}


def assert_handler_saw_the_rows(seen: list[Handled], df: pd.DataFrame, where: str) -> None:
    """Each handled event has its row's metadata and payload; other payload columns are NA."""
    rows = rows_by_position(df)
    assert sorted(e.position for e in seen) == sorted(rows), where
    for event_view in seen:
        row = rows[event_view.position]
        at = f"{where} #{event_view.position} {event_view.type}"
        meta = {k: row[k] for k in ("stream_id", "version", "event_type", "topic")}
        assert meta == {
            "stream_id": event_view.stream_id,
            "version": event_view.version,
            "event_type": event_view.type,
            "topic": event_view.topic,
        }, at
        payload = event_view.payload
        assert_same(row["timestamp"], payload["timestamp"], f"{at} timestamp")
        expected = as_row(payload, df, at)
        assert_same({c: row[c] for c in expected}, expected, at)


# --- the tests ---------------------------------------------------------------------


@pytest.mark.parametrize("store", ALL_STORES)
@pytest.mark.parametrize("name", list(STYLES))
def test_loading_with_the_code_gives_what_was_stored(
    name: str, store: str, request: pytest.FixtureRequest
) -> None:
    history = recorded(name, store, request)
    total = 0
    types: set[str] = set()
    streams: set[str] = set()
    for app in history.apps:
        df = load_events(app)
        stored = notifications(app)
        total += len(df)
        types |= set(df["event_type"])
        streams |= set(df["stream_id"])
        assert list(df.columns[:6]) == FIXED
        assert df.attrs["last_position"] == stored[-1].id
        # metadata as eventsourcing recorded it
        assert df[["position", "stream_id", "version", "topic"]].to_dict("records") == [
            {
                "position": n.id,
                "stream_id": str(n.originator_id),
                "version": n.originator_version,
                "topic": n.topic,
            }
            for n in stored
        ]
        assert list(df["event_type"]) == [n.topic.split(":")[1] for n in stored]
        # values: the stored JSON with the standard encodings decoded, nothing else
        assert "error" not in df.columns
        for row, n in zip(df.to_dict("records"), stored, strict=True):
            payload = stored_payload(app, n)
            at = f"{app.name} #{n.id} {row['event_type']}"
            assert_same(row["timestamp"], payload["timestamp"], f"{at} timestamp")
            expected = as_row(payload, df, at)
            assert_same({c: row[c] for c in expected}, expected, at)
    assert total == history.style.EXPECTED["events"]
    assert types == history.style.EXPECTED["event_types"]
    assert streams == {str(i) for i in history.ids}


@pytest.mark.parametrize("store", FILE_STORES)
@pytest.mark.parametrize("name", list(STYLES))
def test_loading_without_the_code_gives_the_same_frame(
    name: str, store: str, request: pytest.FixtureRequest
) -> None:
    history = recorded(name, store, request)
    for app in history.apps:
        with_code = frame_without_attrs(load_events(app))
        for label, source, settings in history.sources(app):
            without = load_events(source, **settings)
            assert without.attrs["last_position"] == with_code["position"].iloc[-1], label
            pd.testing.assert_frame_equal(
                frame_without_attrs(without), with_code, check_exact=True, obj=label
            )


@pytest.mark.parametrize("reader", ["load_events", "EventStream", "ProjectionRun"])
@pytest.mark.parametrize("name", list(STYLES))
def test_an_encrypted_file_needs_its_key(
    name: str, reader: str, request: pytest.FixtureRequest
) -> None:
    def read(path: Path, **settings: Any) -> None:
        if reader == "load_events":
            load_events(path, **settings)
        elif reader == "EventStream":
            EventStream(path, **settings)
        else:
            ProjectionRun(EveryField(), path, **settings).run()

    history = recorded(name, "sqlite+aes", request)
    for path in history.files.values():
        with pytest.raises(LoadError) as no_key:
            read(path)
        assert "CIPHER_KEY" in str(no_key.value)
        assert "cipher_key=" in str(no_key.value)
        with pytest.raises(LoadError) as wrong_key:
            read(path, cipher_key=AESCipher.create_key(16))
        assert "cannot decrypt" in str(wrong_key.value)
        assert "CIPHER_KEY" in str(wrong_key.value)


@pytest.mark.parametrize("store", ALL_STORES)
@pytest.mark.parametrize("name", list(STYLES))
def test_event_types_of_every_source(name: str, store: str, request: pytest.FixtureRequest) -> None:
    history = recorded(name, store, request)
    found: set[str] = set()
    for app in history.apps:
        own = {n.topic.split(":")[1] for n in notifications(app)}
        assert event_types_of(app) == sorted(own)
        found |= own
        if history.files:
            for label, source, settings in history.sources(app):
                assert event_types_of(source, **settings) == sorted(own), label
    assert found == history.style.EXPECTED["event_types"]


@pytest.mark.parametrize("store", ALL_STORES)
@pytest.mark.parametrize("name", list(STYLES))
def test_a_projection_reads_the_same_from_every_source(
    name: str, store: str, request: pytest.FixtureRequest
) -> None:
    history = recorded(name, store, request)
    total = 0
    for app in history.apps:
        stored = notifications(app)
        model, seen = project(app)
        total += sum(model["counts"].values())
        assert model["counts"] == dict(Counter(n.topic.split(":")[1] for n in stored))
        assert [(e.position, e.stream_id, e.version, e.topic) for e in seen] == [
            (n.id, str(n.originator_id), n.originator_version, n.topic) for n in stored
        ]
        for event_view, n in zip(seen, stored, strict=True):
            at = f"{app.name} #{n.id} {event_view.type}"
            assert_same(event_view.payload, stored_payload(app, n), at)
        for label, source, settings in history.sources(app) if history.files else ():
            other, other_seen = project(source, **settings)
            assert_same(other, model, label)
            assert_same([e.payload for e in other_seen], [e.payload for e in seen], label)
            assert [(e.position, e.stream_id, e.version, e.topic) for e in other_seen] == [
                (e.position, e.stream_id, e.version, e.topic) for e in seen
            ], label
    assert total == history.style.EXPECTED["events"]


@pytest.mark.parametrize("store", ALL_STORES)
@pytest.mark.parametrize("name", list(STYLES))
def test_a_projection_sees_what_load_events_gives(
    name: str, store: str, request: pytest.FixtureRequest
) -> None:
    history = recorded(name, store, request)
    for app in history.apps:
        assert_handler_saw_the_rows(history.handled(app), load_events(app), app.name)


@pytest.mark.parametrize("store", ALL_STORES)
@pytest.mark.parametrize("name", list(STYLES))
def test_event_stream_payload_is_what_the_handler_sees(
    name: str, store: str, request: pytest.FixtureRequest
) -> None:
    history = recorded(name, store, request)
    for app in history.apps:
        seen = history.handled(app)
        sources: list[tuple[str, Any, dict[str, Any]]] = [(app.name, app, {})]
        if history.files:
            sources += history.sources(app, every_form=False)
        for label, source, settings in sources:
            stream = EventStream(source, **settings)
            assert len(stream.frame) == len(seen), label
            for event_view in seen:
                assert_same(
                    stream.payload(event_view.position),
                    event_view.payload,
                    f"{label} #{event_view.position} {event_view.type}",
                )


# --- a payload field named like one of the loader's columns ---------------------------


class Queue(Aggregate):
    @event("Opened")
    def __init__(self, title: str) -> None:
        self.title = title

    @event("Moved")
    def move(self, position: int, version: str, topic: str, error: str | None) -> None:
        pass


class QueueFields(EveryField):
    @handles("Queue.Moved")
    def moved(self, event: EventView, model: ReadModel) -> None:
        self.record(event, model)


@pytest.mark.parametrize("event_types", [None, ["Queue.Moved"]])
def test_a_payload_field_named_like_a_column_keeps_a_column_of_its_own(
    event_types: list[str] | None,
) -> None:
    # dataclass_agg's TodoList.ItemCompleted has a field 'position': it overwrote the
    # loader's column (an unfiltered load raised ValueError, a filtered one gave wrong positions)
    app: Application[UUID] = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    queue = Queue("jobs")
    queue.move(position=0, version="v9", topic="urgent", error=None)
    queue.move(position=3, version="v10", topic="later", error="late")
    app.save(queue)
    df = load_events(app, event_types=event_types)
    stored = [n for n in notifications(app) if event_types is None or "Moved" in n.topic]
    assert df[["position", "version", "topic"]].to_dict("records") == [
        {"position": n.id, "version": n.originator_version, "topic": n.topic} for n in stored
    ]
    moved = df[df["event_type"] == "Queue.Moved"]
    assert moved["payload.position"].tolist() == [0, 3]
    assert moved["payload.version"].tolist() == ["v9", "v10"]
    assert moved["payload.topic"].tolist() == ["urgent", "later"]
    assert differences(moved["payload.error"].tolist(), [None, "late"]) == []
    assert "error" not in df.columns
    assert any("'payload.position'" in note for note in df.attrs["notes"])
    _, seen = project(app, QueueFields())
    assert [e.payload["position"] for e in seen] == [0, 3]
    assert_handler_saw_the_rows(seen, moved, "Queue")
