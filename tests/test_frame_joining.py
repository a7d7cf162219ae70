"""FrameSink: frames written into whole-load columns equal the frames concatenated."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from workbench.frame_joining import FrameSink, combine_frames

START = datetime(2018, 3, 7, 9, tzinfo=UTC)


def _column(kind: str, rows: int, seed: int) -> Any:
    """One frame's column of a kind the loader makes."""
    values = list(range(seed, seed + rows))
    if kind == "int":
        return np.array(values, dtype=np.int64)
    if kind == "int32":
        return np.array(values, dtype=np.int32)
    if kind == "Int64":
        return pd.array([None if v % 3 == 0 else v for v in values], dtype="Int64")
    if kind == "boolean":
        return pd.array([v % 2 == 0 for v in values], dtype="boolean")
    if kind == "float":
        return np.array([v / 2 for v in values])
    if kind == "object":
        return np.array([Decimal(v) if v % 4 else None for v in values], dtype=object)
    if kind == "str":
        return pd.array([f"s{v}" if v % 5 else None for v in values], dtype="str")
    if kind == "datetime":
        moments = [START + timedelta(seconds=v) for v in values]
        return pd.array(moments, dtype="datetime64[us, UTC]")
    if kind == "paris":  # a zone with summer time: the instants must not move
        moments = [START + timedelta(days=40 * v) for v in values]
        return pd.array(moments, dtype="datetime64[us, UTC]").tz_convert("Europe/Paris")
    if kind == "category":
        return pd.Categorical([f"c{v % 3}" for v in values], categories=["c2", "c0", "c1"])
    if kind == "numbered":  # categories that are not text
        return pd.Categorical([v % 3 for v in values], categories=[2, 0, 1])
    raise AssertionError(kind)


KINDS = ["int", "int32", "Int64", "boolean", "float", "object", "str", "datetime", "paris"]
KINDS += ["category", "numbered"]

frame_specs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=6),  # rows
        st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(KINDS), max_size=3),
    ),
    min_size=1,
    max_size=5,
)


def _frames(specs: list[tuple[int, dict[str, str]]]) -> list[pd.DataFrame]:
    frames = []
    for number, (rows, kinds) in enumerate(specs):
        columns = {name: _column(kind, rows, 10 * number) for name, kind in kinds.items()}
        frames.append(pd.DataFrame(columns, index=pd.RangeIndex(rows)))
    return frames


def _same(a: Any, b: Any) -> bool:
    missing_a = a is None or a is pd.NA or a is pd.NaT or (isinstance(a, float) and math.isnan(a))
    missing_b = b is None or b is pd.NA or b is pd.NaT or (isinstance(b, float) and math.isnan(b))
    return missing_a == missing_b and (missing_a or a == b)


@settings(max_examples=150, deadline=None)
@given(frame_specs, st.integers(min_value=1, max_value=12))
@example([(2, {"a": "int"}), (3, {"a": "object"})], 1)  # a kind that changes
@example([(2, {"a": "int"}), (3, {"b": "str"})], 5)  # missing from one frame each
@example([(2, {"a": "category"}), (2, {})], 4)
def test_the_sink_equals_the_frames_concatenated(
    specs: list[tuple[int, dict[str, str]]], capacity: int
) -> None:
    frames = _frames(specs)
    sink = FrameSink(capacity)  # too small on purpose at times: the columns grow
    for frame in frames:
        sink.add(frame)
    got = sink.frame()
    if not any(len(f) for f in frames):
        assert len(got) == 0
        return
    want = combine_frames(frames)  # empty frames too: their columns are kept
    assert len(got) == len(want)
    assert list(got.columns) == list(want.columns)
    for name in want.columns:
        assert str(got[name].dtype) == str(want[name].dtype), (name, got[name], want[name])
        if isinstance(want[name].dtype, pd.CategoricalDtype):
            assert list(got[name].cat.categories) == list(want[name].cat.categories)
        pairs = zip(got[name].tolist(), want[name].tolist(), strict=True)
        assert all(_same(a, b) for a, b in pairs), (name, got[name], want[name])


def test_far_fewer_rows_than_expected_keep_no_more_memory() -> None:
    sink = FrameSink(capacity=1000)
    sink.add(pd.DataFrame({"n": np.arange(3), "o": np.array([None, 1, "x"], dtype=object)}))
    frame = sink.frame()
    assert frame.n.tolist() == [0, 1, 2]
    assert frame.o.tolist() == [None, 1, "x"]
    assert frame.n.to_numpy().base is None or frame.n.to_numpy().base.size == 3
    assert sink.capacity == 3


def test_a_load_in_batches_equals_the_same_load_concatenated() -> None:
    """The loader writes batches into the sink; its frame equals their concatenation."""
    from workbench.examples.history import SAMPLE_TICKETING
    from workbench.reading.loading import load_events

    whole = load_events(SAMPLE_TICKETING, batch_size=700)  # six batches into the sink
    parts = [
        load_events(SAMPLE_TICKETING, after=after, upto=after + 700)
        for after in range(0, int(whole.position.max()), 700)
    ]
    joined = combine_frames(parts)
    assert list(whole.columns) == list(joined.columns)
    for name in whole.columns:
        assert str(whole[name].dtype) == str(joined[name].dtype), name
        pairs = zip(whole[name].tolist(), joined[name].tolist(), strict=True)
        assert all(_same(a, b) for a, b in pairs), name
