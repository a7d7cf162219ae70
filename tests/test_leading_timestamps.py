"""Timestamps split off stored states: the rest parses to the same payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from workbench.reading._leading_timestamps import split_leading_timestamps


def _encoded(when: datetime) -> dict[str, str]:
    return {"_type_": "datetime_iso", "_data_": when.isoformat()}


def _states(rows: list[bytes]) -> pa.Array:
    """Rows as JSON lines in a large_binary array (as the loader's batches hold them)."""
    joined = b"".join(row + b"\n" for row in rows)
    offsets = np.cumsum([0, *(len(row) + 1 for row in rows)], dtype=np.int64)
    return pa.Array.from_buffers(
        pa.large_binary(), len(rows), [None, pa.py_buffer(offsets), pa.py_buffer(joined)]
    )


def _dump(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


payloads = st.dictionaries(
    st.text(max_size=8).filter(lambda k: k != "timestamp"),
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    max_size=4,
)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
)


@given(st.lists(st.tuples(moments, payloads), min_size=1, max_size=30), st.randoms())
def test_the_rest_parses_to_the_payload_and_the_timestamps_are_exact(
    rows: list[tuple[datetime, dict[str, object]]], rng: object
) -> None:
    states = _states([_dump({"timestamp": _encoded(when), **payload}) for when, payload in rows])
    order = np.arange(len(rows))
    rng.shuffle(order)  # type: ignore[attr-defined]
    split = split_leading_timestamps(states, order)
    assert split is not None
    assert [json.loads(s) for s in split.states.to_pylist()] == [rows[i][1] for i in order]
    assert split.timestamps.to_pylist() == [when for when, _ in rows]


def test_a_state_with_nothing_but_its_timestamp() -> None:
    when = datetime(2018, 3, 7, 9, tzinfo=UTC)
    split = split_leading_timestamps(_states([_dump({"timestamp": _encoded(when)})]))
    assert split is not None
    assert split.states.to_pylist() == [b"{}\n"]


def test_anything_else_is_left_whole_and_untouched() -> None:
    when = datetime(2018, 3, 7, 9, 0, 0, 123456, tzinfo=UTC)
    good = _dump({"timestamp": _encoded(when), "n": 1})
    others = [
        _dump({"n": 1, "timestamp": _encoded(when)}),  # another key first
        _dump({"timestamp": _encoded(when.replace(tzinfo=None)), "n": 1}),  # no offset
        _dump({"timestamp": {"_type_": "datetime_iso", "_data_": "not a time at all, no"}}),
        b"{}",
    ]
    for other in others:
        states = _states([good, other])
        assert split_leading_timestamps(states) is None, other


def test_the_states_are_only_read() -> None:
    """The states may sit in a buffer that is not ours (read-only bytes from SQLite)."""
    when = datetime(2018, 3, 7, 9, tzinfo=UTC)
    row = _dump({"timestamp": _encoded(when), "n": 1}) + b"\n"
    offsets = np.array([0, len(row)], dtype=np.int64)
    states = pa.Array.from_buffers(
        pa.large_binary(), 1, [None, pa.py_buffer(offsets), pa.py_buffer(row)]
    )
    split = split_leading_timestamps(states)
    assert split is not None
    assert split.states.to_pylist() == [b'{"n":1}\n']
    assert states.to_pylist() == [row]


def test_a_corrupt_rest_stays_corrupt() -> None:
    """What follows the timestamp is not checked here: the JSON parser finds it."""
    when = datetime(2018, 3, 7, 9, tzinfo=UTC)
    split = split_leading_timestamps(_states([_dump({"timestamp": _encoded(when), "n": 1})[:-1]]))
    assert split is not None
    assert split.states.to_pylist() == [b'{"n":1\n']
