"""Random histories read the same through every entrance, and as they were recorded.

A small aggregate's ``@event`` methods take drawn arguments (text with any unicode and
newlines, integers beyond 2**53 and 2**63 and negative ones, Decimals, bools, None,
UUIDs, timezone-aware datetimes with various UTC offsets, and dicts and lists of them,
with a field whose type changes from event to event). An application records them in
an SQLite file; a projection's handler then reads the history over the application,
the file's path and its ``sqlite:///`` store string, and must receive the same values
each time, the values the methods were called with; :func:`~workbench.load_events`
(over the application and the path) must agree with the handler on every field.
"""

from __future__ import annotations

import math
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pandas as pd
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from handled import Handled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import EventView, Projection, ProjectionRun, ReadModel, handles, load_events


class Thing(Aggregate):
    @event("Made")
    def __init__(self, name: str, value: Any) -> None:
        self.name = name

    @event("Noted")
    def note(self, value: Any, extra: dict[str, Any]) -> None:
        pass

    @event("Counted")
    def count(
        self, number: int, amount: Decimal, ref: UUID, when: datetime, flag: bool, text: str
    ) -> None:
        pass


class Things(Application[UUID]):
    pass


class Seen(Projection):
    """Keeps what its handler receives."""

    def __init__(self) -> None:
        self.events: list[Handled] = []

    @handles("Thing.Made", "Thing.Noted", "Thing.Counted")
    def seen(self, event: EventView, model: ReadModel) -> None:
        self.events.append(Handled.of(event))
        model["counts"].add(event.type)


# --- drawn values -----------------------------------------------------------------

texts = st.text(max_size=12) | st.sampled_from(["", "line\nbreak", "tab\tand\r\n", "é ✓ 🙂 \x00"])
ints = st.integers(min_value=-(2**70), max_value=2**70) | st.sampled_from(
    [2**53 + 1, -(2**53) - 1, 2**63 - 1, 2**63, -(2**63), 2**64 + 7, 0, -1]
)
decimals = st.decimals(allow_nan=False, allow_infinity=False)
offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
datetimes = st.datetimes(timezones=offsets | st.just(UTC))
scalars = st.one_of(texts, ints, decimals, st.booleans(), st.none(), st.uuids(), datetimes)
keys = st.text(max_size=8).filter(lambda key: key not in ("_type_", "_data_"))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
made = st.fixed_dictionaries({"name": texts, "value": values})
noted = st.fixed_dictionaries(
    {"value": values, "extra": st.dictionaries(keys, values, max_size=3)}
).map(lambda kwargs: ("note", kwargs))
counted = st.fixed_dictionaries(
    {
        "number": ints,
        "amount": decimals,
        "ref": st.uuids(),
        "when": datetimes,
        "flag": st.booleans(),
        "text": texts,
    }
).map(lambda kwargs: ("count", kwargs))
histories = st.lists(st.tuples(made, st.lists(noted | counted, max_size=4)), min_size=1, max_size=4)


# --- comparing values -------------------------------------------------------------


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


def differences(a: Any, b: Any, where: str = "", nested: bool = False) -> list[str]:
    """Where ``a`` and ``b`` differ: NA, NaN and None are equal; numbers must be of the
    same kind (an int is not a float, a bool not an int); datetimes are compared with ``==``.
    """
    a, b = _plain(a), _plain(b)
    if _missing(a) or _missing(b):
        return [] if _missing(a) and _missing(b) else [f"{where}: {a!r} != {b!r}"]
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or a.keys() != b.keys():
            return [f"{where}: {a!r} != {b!r}"]
        return [d for k in a for d in differences(a[k], b[k], f"{where}.{k}", True)]
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        if not (isinstance(a, list | tuple) and isinstance(b, list | tuple)) or len(a) != len(b):
            return [f"{where}: {a!r} != {b!r}"]
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{where}[{i}]", True)]
    kinds = (bool, int, float, Decimal, datetime, str, UUID)
    if any(isinstance(a, k) != isinstance(b, k) for k in kinds) or a != b:
        return [f"{where}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"]
    return []


def without_nested_nulls(value: Any, top: bool = True) -> Any:
    """``value`` without the keys of nested dicts whose value is None.

    The loader's documented limit: inside a nested object a null cannot be told from a
    missing key, so such keys are left out (``workbench.reading.loading``).
    """
    if isinstance(value, dict):
        return {k: without_nested_nulls(v, False) for k, v in value.items() if top or v is not None}
    if isinstance(value, list | tuple):
        return [without_nested_nulls(v, False) for v in value]
    return value


def assert_same(a: Any, b: Any, where: str) -> None:
    found = differences(a, b, where)
    assert not found, "\n".join(found[:10])


# --- recording and reading ----------------------------------------------------------


History = list[tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]]
"""Per aggregate: the arguments it is made with, then ``(method, arguments)`` per change."""

EVENT_TYPES = {"note": "Thing.Noted", "count": "Thing.Counted"}


def handled(source: Any) -> list[Handled]:
    projection = Seen()
    run = ProjectionRun(projection, source).run()
    assert run.status == "done", (run.failure, run.error)
    return projection.events


def check(history: History) -> None:
    """Record ``history`` in an SQLite file; every entrance must read what was recorded."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "things.sqlite"
        app = Things(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)})
        try:
            calls: list[tuple[str, dict[str, Any]]] = []
            for made_with, changes in history:
                thing = Thing(**made_with)
                calls.append(("Thing.Made", made_with))
                for method, kwargs in changes:
                    getattr(thing, method)(**kwargs)
                    calls.append((EVENT_TYPES[method], kwargs))
                app.save(thing)
            check_readers(app, path, calls)
        finally:
            app.close()


def check_readers(app: Things, path: Path, calls: list[tuple[str, dict[str, Any]]]) -> None:
    over_app = handled(app)
    # the handler receives the values the methods were called with
    assert [e.type for e in over_app] == [event_type for event_type, _ in calls]
    for event_view, (event_type, kwargs) in zip(over_app, calls, strict=True):
        payload = event_view.payload
        assert_same(
            without_nested_nulls({k: payload[k] for k in kwargs}),
            without_nested_nulls(kwargs),
            f"#{event_view.position} {event_type}",
        )
    # ... and the same values over the file and the store string
    for source in (path, f"sqlite:///{path}"):
        other = handled(source)
        assert [(e.position, e.stream_id, e.version, e.topic) for e in other] == [
            (e.position, e.stream_id, e.version, e.topic) for e in over_app
        ], source
        assert_same([e.payload for e in other], [e.payload for e in over_app], str(source))
    # load_events agrees with the handler on every field the handler saw
    for source in (app, path):
        df = load_events(source)
        assert df["position"].tolist() == [e.position for e in over_app]
        for row, event_view in zip(df.to_dict("records"), over_app, strict=True):
            at = f"load_events({source}) #{event_view.position} {event_view.type}"
            assert row["stream_id"] == event_view.stream_id, at
            assert row["version"] == event_view.version, at
            payload = event_view.payload
            assert_same({k: row[k] for k in payload}, payload, at)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories)
def test_every_entrance_reads_the_values_that_were_recorded(history: History) -> None:
    check(history)


UUID_1 = UUID("88155dad-c766-438b-a1cb-dd921b1ba765")
# Shapes pyarrow's parse once got wrong (a list starting with nulls; encodings and dicts at
# one place; datetimes beyond Python's years once in UTC), each read as recorded now.
HARD_SHAPES = [
    # pyarrow built an invalid list column (load_events and handlers raised ArrowIndexError)
    ("a list of two nulls", [[None, None]]),
    ("a list of a null and an empty list", [[None, []]]),
    ("a list of nulls and an empty dict, under a key", [{"a": [None, None, {}]}]),
    # an empty dict read as None
    ("an empty dict where another event has a UUID", [UUID_1, {}]),
    ("an empty dict in a list next to a Decimal", [[Decimal("1.5"), {}]]),
    # the key whose value was an empty dict was left out
    (
        "an empty dict where another event has a UUID, under a key",
        [{"k": UUID_1}, {"k": {}}],
    ),
    # the UUID or Decimal read as its raw encoding, {"_type_": "uuid_hex", "_data_": ...}
    ("a UUID where another event has a dict", [UUID_1, {"x": 1}]),
    ("a Decimal in a list next to a dict", [[Decimal("2"), {"x": 1}]]),
    ("year 1 at UTC+00:01", [datetime(1, 1, 1, tzinfo=timezone(timedelta(minutes=1)))]),
    (
        "year 9999 at UTC-00:01",
        [[datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(minutes=1)))]],
    ),
]


@pytest.mark.parametrize("values", [pytest.param(values, id=name) for name, values in HARD_SHAPES])
def test_hard_shapes_read_as_recorded(values: list[Any]) -> None:
    history: History = [({"name": "", "value": value}, []) for value in values]
    check(history)
