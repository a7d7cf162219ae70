"""The loader's row codes for nested columns: equal exactly when the values are equal."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.reading._columns import _codes, _first_of_each

_encoded = st.fixed_dictionaries(
    {"_type_": st.sampled_from(["decimal_str", "uuid_hex"]), "_data_": st.sampled_from("abc")}
)
_row = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "n": st.none() | st.integers(-3, 3),
        "s": st.none() | st.sampled_from(["", "x", "y\x1f"]),
        "e": st.none() | _encoded,
        "inner": st.none() | st.fixed_dictionaries({}, optional={"k": st.integers(0, 2)}),
    },
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_row, min_size=1, max_size=30))
def test_codes_are_equal_exactly_when_rows_are(rows: list[dict[str, Any] | None]) -> None:
    if all(r is None or not r for r in rows):
        rows = [*rows, {"n": 1}]
    array = pa.array(rows)
    if not pa.types.is_struct(array.type):
        return
    codes = _codes(array)
    assert codes is not None
    values = array.to_pylist()
    for i in range(len(values)):
        for j in range(len(values)):
            assert (codes[i] == codes[j]) == (values[i] == values[j]), (values[i], values[j])


def test_lists_have_no_codes() -> None:
    assert _codes(pa.array([{"a": [1, 2]}, {"a": [1]}])) is None


@given(st.lists(st.integers(min_value=0, max_value=6), max_size=60))
def test_each_distinct_value_is_converted_once_from_its_first_row(values: list[int]) -> None:
    """Nested columns convert each distinct value once: the first row of each, then spread."""
    codes = np.array(values, dtype=np.int64)
    inverse, first = _first_of_each(codes)
    assert (codes[first][inverse] == codes).all()
    assert list(first) == sorted({values.index(v) for v in values})
