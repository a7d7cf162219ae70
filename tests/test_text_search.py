"""TextIndex: the same rows as looking at every value's text, and missing values never match."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import workbench.text_search as module
from workbench.text_search import TextIndex

words = st.text(alphabet="abcXYZ -7ée", max_size=6)
values = {
    "str": words,
    "int": st.integers(min_value=-(10**6), max_value=10**6),
    "bool": st.booleans(),
    "float": st.floats(width=64),
    "decimal": st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**4),
    "dict": st.dictionaries(words, st.integers(0, 9), max_size=2),
    "list": st.lists(words, max_size=2),
    "uuid": st.uuids(),
    # equal values that read differently, each its own object
    "mixed": st.sampled_from([Decimal("10"), Decimal("10.00"), True, 1, 1.0, 0.0, -0.0, "1"]),
    "array": st.lists(st.integers(0, 9), max_size=3).map(np.array),
    # from 1800: zones then had offsets in seconds (Paris +00:09:21)
    "time": st.datetimes(min_value=datetime(1800, 1, 2), max_value=datetime(2200, 1, 1)),
    "stamp": st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
    "float32": st.floats(width=32),
}
ZONES = ["UTC", "Europe/Paris", "America/Montreal"]


def _column(kind: str, items: list[Any], zone: str) -> Any:
    if kind == "str":
        return pd.array(items, dtype="str")
    if kind == "int":
        return pd.array(items, dtype="Int64")
    if kind == "bool":
        return pd.array(items, dtype="boolean")
    if kind == "float":
        return np.array([np.nan if v is None else v for v in items], dtype=float)
    if kind == "float32":
        return np.array([np.nan if v is None else v for v in items], dtype=np.float32)
    if kind == "stamp":  # pandas Timestamps in an object column
        stamps = [None if v is None else pd.Timestamp(v, tz=zone) for v in items]
        column = np.empty(len(stamps), dtype=object)
        column[:] = stamps
        return column
    if kind == "category":
        return pd.Categorical(items)
    if kind == "time":  # instants, shown in the column's zone
        return pd.array(items, dtype="datetime64[us]").tz_localize("UTC").tz_convert(zone)
    column = np.empty(len(items), dtype=object)
    for row, item in enumerate(items):  # one by one: lists stay values, not a dimension
        column[row] = item
    return column


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(min_value=0, max_value=12))
    columns = {}
    for number, kind in enumerate(
        draw(st.lists(st.sampled_from([*values, "category"]), max_size=4))
    ):
        strategy = values["str" if kind == "category" else kind]
        items = draw(st.lists(st.none() | strategy, min_size=rows, max_size=rows))
        columns[f"{kind}{number}"] = _column(kind, items, draw(st.sampled_from(ZONES)))
    return pd.DataFrame(columns, index=pd.RangeIndex(rows))


def _shown(value: Any) -> str | None:
    """A value's text as the stream viewer shows it; ``None`` when it is missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def _looked_at(df: pd.DataFrame, needle: str) -> list[bool]:
    """Row by row: does any non-missing value's text hold the needle (case ignored)?"""

    def holds(value: Any) -> bool:
        text = _shown(value)
        return text is not None and needle.lower() in text.lower()

    return [any(holds(v) for v in row) for row in df.itertuples(index=False)]


@st.composite
def needles(draw: st.DrawFn, df: pd.DataFrame) -> str:
    """Some text, or a piece of a value's text (so that there is something to find)."""
    texts = [t for row in df.itertuples(index=False) for v in row if (t := _shown(v))]
    if not texts or draw(st.booleans()):
        return draw(st.text(alphabet="abcXYZ -7ée0123.:+", min_size=1, max_size=5))
    text = draw(st.sampled_from(texts))
    start = draw(st.integers(0, max(0, len(text) - 1)))
    return text[start : start + draw(st.integers(1, 8))] or text


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_rows_found_are_those_whose_text_holds_it(data: st.DataObject) -> None:
    df = data.draw(frames())
    needle = data.draw(needles(df))
    index = TextIndex(df)
    assert index.mask(needle).tolist() == _looked_at(df, needle)
    assert index.mask(needle.upper()).tolist() == _looked_at(df, needle)


def test_datetimes_numbers_and_missing_values() -> None:
    df = pd.DataFrame(
        {
            "at": pd.array(
                [datetime(2018, 3, 7, 9, 30, tzinfo=UTC), None], dtype="datetime64[us, UTC]"
            ),
            "position": [17, 4021],
            "id": [UUID(int=1), None],
            "price": [Decimal("295.00"), Decimal("NaN")],
        }
    )
    index = TextIndex(df)
    assert index.mask("2018-03-07 09:30").tolist() == [True, False]
    assert index.mask("09:30:00+00:00").tolist() == [True, False]  # as the viewer shows it
    assert index.mask("402").tolist() == [False, True]
    assert index.mask("0000-000000000001").tolist() == [True, False]
    assert index.mask("nan").tolist() == [False, False]
    assert index.mask("none").tolist() == [False, False]
    assert index.mask("").tolist() == [True, True]


def test_equal_values_that_read_differently_are_told_apart() -> None:
    paris = pd.array([datetime(2018, 3, 7, 9, tzinfo=UTC)], dtype="datetime64[us, UTC]")
    df = pd.DataFrame(
        {
            "price": np.array([Decimal("10"), Decimal("10.00"), True, 1], dtype=object),
            "at": pd.array(list(paris) * 4).tz_convert("Europe/Paris"),
        }
    )
    index = TextIndex(df)
    assert index.mask("10.00").tolist() == [False, True, False, False]
    assert index.mask("true").tolist() == [False, False, True, False]
    assert index.mask("10:00:00+01:00").tolist() == [True] * 4  # in the column's own zone


def test_each_column_is_made_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real = module._column_text
    monkeypatch.setattr(module, "_column_text", lambda c: (made.append(str(c.name)), real(c))[1])
    index = TextIndex(pd.DataFrame({"a": ["x", "y"], "b": [{"k": 1}, None]}))
    assert index.mask("k").tolist() == [True, False]
    assert index.mask("y").tolist() == [False, True]
    assert made == ["a", "b"]
