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
    "decimal": st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**4),
    "dict": st.dictionaries(words, st.integers(0, 9), max_size=2),
    "list": st.lists(words, max_size=2),
    "uuid": st.uuids(),
}


def _column(kind: str, items: list[Any]) -> Any:
    if kind == "str":
        return pd.array(items, dtype="str")
    if kind == "int":
        return pd.array(items, dtype="Int64")
    if kind == "category":
        return pd.Categorical(items)
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
        columns[f"{kind}{number}"] = _column(kind, items)
    return pd.DataFrame(columns, index=pd.RangeIndex(rows))


def _looked_at(df: pd.DataFrame, needle: str) -> list[bool]:
    """Row by row: does any non-missing value's text hold the needle (case ignored)?"""

    def holds(value: Any) -> bool:
        missing = value is None or value is pd.NA or (isinstance(value, float) and value != value)
        return not missing and needle.lower() in str(value).lower()

    return [any(holds(v) for v in row) for row in df.itertuples(index=False)]


@settings(max_examples=200, deadline=None)
@given(frames(), words.filter(bool))
def test_the_rows_found_are_those_whose_text_holds_it(df: pd.DataFrame, needle: str) -> None:
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
    assert index.mask("402").tolist() == [False, True]
    assert index.mask("0000-000000000001").tolist() == [True, False]
    assert index.mask("nan").tolist() == [False, False]
    assert index.mask("none").tolist() == [False, False]
    assert index.mask("").tolist() == [True, True]


def test_each_column_is_made_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real = module._column_text
    monkeypatch.setattr(module, "_column_text", lambda c: (made.append(str(c.name)), real(c))[1])
    index = TextIndex(pd.DataFrame({"a": ["x", "y"], "b": [{"k": 1}, None]}))
    assert index.mask("k").tolist() == [True, False]
    assert index.mask("y").tolist() == [False, True]
    assert made == ["a", "b"]
