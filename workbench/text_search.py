"""Case-insensitive text search over every column of a frame, fast when repeated.

:class:`TextIndex` turns each column once into lower-case text: Arrow-backed
strings, numbers and datetimes column-wide in Arrow (a datetime reads
``2018-03-07 09:00:00.000000``, in its own time zone); categories and Python
objects (UUIDs, Decimals, dicts, lists) as each distinct value's ``str()``,
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

__all__ = ["TextIndex"]


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
    if not pd.api.types.is_object_dtype(dtype):
        try:
            arrow = pa.array(column, from_pandas=True)
            if pa.types.is_timestamp(arrow.type) and arrow.type.tz is not None:
                arrow = arrow.cast(pa.timestamp(arrow.type.unit))  # the text without a "Z"
            return _ColumnText(_lower(arrow.cast(pa.string())))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            pass
    values = column.to_numpy(dtype=object)
    try:
        codes, uniques = pd.factorize(values)
    except TypeError:  # unhashable values (dicts, lists): their text, then its distinct values
        texts = np.array([None if _missing(v) else str(v) for v in values], dtype=object)
        codes, uniques = pd.factorize(texts)
        return _ColumnText(_lower(pa.array(uniques, pa.string())), codes)
    words = [str(u) for u in uniques]
    return _ColumnText(_lower(pa.array(words, pa.string())), codes)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or value != value


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
