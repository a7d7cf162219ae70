"""Case-insensitive text search over every column of a frame, fast when repeated.

:class:`TextIndex` turns each column once into lower-case text, as
``str()`` reads its values (a datetime as the stream viewer shows it,
``2018-03-07 09:00:00+00:00``): whole numbers, booleans and Arrow-backed
strings column-wide in Arrow; categories, floats and Python objects (UUIDs,
Decimals, dicts, lists) once per distinct value (per distinct object: equal
values may read differently, ``Decimal("10")`` and ``Decimal("10.00")``),
with every row's code into them. A search then looks for the text in those
(pyarrow's substring match, no regular expressions): a fraction of the cost
of turning every value into text again. Missing values never match.

>>> import pandas as pd
>>> from decimal import Decimal
>>> df = pd.DataFrame({"customer": ["Ada Lovelace", "Grace Hopper", None],
...                    "total": [Decimal("295.00"), None, Decimal("99.99")]})
>>> index = TextIndex(df)
>>> index.mask("LOVE").tolist(), index.mask("99.9").tolist(), index.mask("none").tolist()
([True, False, False], [False, False, True], [False, False, False])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["TextIndex", "shown_text"]


class _ColumnText:
    """One column as lower-case text: per row, or per distinct value with the rows' codes."""

    def __init__(self, texts: pa.Array, codes: np.ndarray[Any, Any] | None = None) -> None:
        self.texts = texts
        self.codes = None if codes is None else codes.astype(np.int32, copy=False)
        """Each row's index into ``texts`` (``-1``: missing); ``None``: one text per row."""

    def mask(self, needle: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
        found = pc.match_substring(self.texts, needle)
        hits = found.fill_null(False).to_numpy(zero_copy_only=False)
        if self.codes is not None:
            hits = np.append(hits, False)[self.codes]  # code -1 takes the last: False
        return np.asarray(hits, dtype=bool)


def _lower(texts: pa.Array) -> pa.Array:
    try:
        return pc.utf8_lower(texts.cast(pa.string()))
    except (pa.ArrowInvalid, pa.ArrowCapacityError):  # over 2 GB of text
        return pc.utf8_lower(texts.cast(pa.large_string()))


def _column_text(column: pd.Series) -> _ColumnText:
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = pa.array([str(c) for c in dtype.categories], pa.string())
        return _ColumnText(_lower(categories), column.cat.codes.to_numpy())
    if isinstance(column.array, pd.arrays.DatetimeArray):
        return _ColumnText(_lower(_datetime_text(column.array)))
    is_ = pd.api.types
    arrow_text = isinstance(dtype, pd.ArrowDtype) and pa.types.is_string(dtype.pyarrow_dtype)
    if (
        isinstance(dtype, pd.StringDtype)
        or arrow_text
        or is_.is_integer_dtype(dtype)
        or is_.is_bool_dtype(dtype)
    ):
        # strings, whole numbers, booleans: Arrow's text is Python's (once lower-cased)
        return _ColumnText(_lower(pa.array(column, from_pandas=True).cast(pa.string())))
    if is_.is_float_dtype(dtype) and not isinstance(dtype, pd.ArrowDtype):
        # as Python floats, as pandas hands them out row by row (float32 widened)
        numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
        codes, _ = pd.factorize(numbers.view(np.int64))  # by their bits: -0.0 is not 0.0
        codes[np.isnan(numbers)] = -1
        return _by_codes(numbers, codes)
    values = column.to_numpy(dtype=object)
    # One text per distinct *object*: values that are equal may still read differently
    # (Decimal("10") and Decimal("10.00"), 1 and True); the loader shares each
    # distinct value's object between its rows, so there are few of them.
    ids = np.fromiter(map(id, values), dtype=np.uint64, count=len(values))
    codes, _ = pd.factorize(ids)
    codes[pd.isna(values)] = -1
    return _by_codes(values, codes)


def _by_codes(values: np.ndarray[Any, Any], codes: np.ndarray[Any, Any]) -> _ColumnText:
    """The text of a row of each code (every row of a code holds the same object or bits)."""
    count = int(codes.max()) + 1 if len(codes) else 0
    rows = np.zeros(count, dtype=np.int64)  # a code no row has any more reads row 0: unused
    kept = codes >= 0
    rows[codes[kept]] = np.flatnonzero(kept)
    words = pa.array([shown_text(values[row]) for row in rows], pa.string())
    return _ColumnText(_lower(words), codes)


def shown_text(value: Any) -> str:
    """A value's text as the stream viewer shows it (and a search reads it).

    >>> import pandas as pd
    >>> shown_text(pd.Timestamp("2018-03-07 09:00:00.5", tz="UTC"))
    '2018-03-07 09:00:00+00:00'
    """
    if isinstance(value, np.generic):  # a numpy number: as the Python one
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def _datetime_text(values: pd.arrays.DatetimeArray) -> pa.Array:
    """Datetimes as the stream viewer shows them, e.g. ``2018-03-07 09:00:00+00:00``."""
    local = values.tz_localize(None) if values.tz is not None else values  # wall time
    seconds = pc.utf8_slice_codeunits(pa.array(local).cast(pa.string()), 0, 19)
    if values.tz is None:
        return seconds
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[values.unit]
    seconds_east = (local.asi8 - values.asi8) // per_second  # type: ignore[attr-defined]
    offsets, inverse = np.unique(seconds_east, return_inverse=True)
    words = [_utc_offset(int(offset)) for offset in offsets]
    return pc.binary_join_element_wise(seconds, pa.array(words, pa.string()).take(inverse), "")


def _utc_offset(seconds: int) -> str:
    """``+01:00``, ``-04:56:02``: as ``datetime.isoformat`` writes an offset."""
    sign, left = ("-" if seconds < 0 else "+"), abs(seconds)
    text = f"{sign}{left // 3600:02d}:{left % 3600 // 60:02d}"
    return text + f":{left % 60:02d}" if left % 60 else text


class TextIndex:
    """Every column of ``frame`` as lower-case text, for repeated searches.

    Each column is turned into text on its first search, then kept.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._columns: dict[str, _ColumnText] = {}

    def mask(self, text: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Rows where ``text`` (case ignored) is found in any column."""
        needle = str(pc.utf8_lower(pa.scalar(text, pa.string())).as_py())  # as the texts were
        found = np.zeros(len(self.frame), dtype=bool)
        if not needle:
            return found | True
        for name in self.frame.columns:
            column = self._columns.get(name)
            if column is None:
                column = self._columns[name] = _column_text(self.frame[name])
            found |= column.mask(needle)
        return found
