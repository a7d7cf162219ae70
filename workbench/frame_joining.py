"""Frames of consecutive rows written into whole-load columns as they come.

A load in batches would otherwise end with one big concatenation: on one core,
after every other stage of the loader's pipeline has finished (and with the
batches' own arrays freed only then). :class:`FrameSink` copies each batch's
columns into columns sized for the whole load as soon as the batch is ready,
so the batch's arrays go at once and the last step only wraps the columns.

The result equals :func:`combine_frames` of the same frames: a column
missing from some frames keeps a kind with room for missing values
(``Int64``, ``boolean``), categories are united, Arrow-backed strings keep
their chunks, and a column whose kind changes between frames is joined the
same way from its pieces. One difference: an object column has ``None``
(not ``NaN``) in the rows of frames that lacked it, as within a frame.

>>> import pandas as pd
>>> sink = FrameSink(capacity=4)
>>> sink.add(pd.DataFrame({"n": [1, 2], "s": ["a", "b"]}))
>>> sink.add(pd.DataFrame({"n": [3, 4]}))
>>> frame = sink.frame()
>>> frame.n.tolist(), frame.s.tolist(), str(frame.n.dtype)
([1, 2, 3, 4], ['a', 'b', nan, nan], 'int64')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["FrameSink", "combine_frames"]

_NAT = np.iinfo(np.int64).min


class _Column:
    """One whole-load column: ``write`` rows ``[start, start + len(values))``."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.spans: list[tuple[int, int]] = []
        """The rows written, frame by frame."""

    def accepts(self, values: Any) -> bool:
        raise NotImplementedError

    def write(self, start: int, values: Any) -> None:
        raise NotImplementedError

    def grow(self, capacity: int) -> None:
        self.capacity = capacity

    def finish(self, count: int, seen: int, frames: int) -> Any:
        """The column's first ``count`` rows; it was in ``seen`` of the ``frames``."""
        raise NotImplementedError


def _grown(array: np.ndarray[Any, Any], capacity: int, fill: Any) -> np.ndarray[Any, Any]:
    """``array`` in a new array of ``capacity`` rows (cut short, or padded with ``fill``)."""
    out = np.full(capacity, fill, dtype=array.dtype)
    kept = min(capacity, len(array))
    out[:kept] = array[:kept]
    return out


class _NumpyColumn(_Column):
    """int64, float64, bool or object values (missing: NaN, or ``None`` for objects)."""

    def __init__(self, capacity: int, dtype: np.dtype[Any]) -> None:
        super().__init__(capacity)
        self.dtype = dtype
        self.fill: Any = np.nan if dtype.kind == "f" else (None if dtype.kind == "O" else 0)
        self.data = (
            np.empty(capacity, dtype=dtype)  # all None
            if dtype.kind == "O"
            else np.full(capacity, self.fill, dtype=dtype)
        )
        self.written = np.zeros(capacity, dtype=bool) if dtype.kind in "ib" else None

    def accepts(self, values: Any) -> bool:
        if not isinstance(values, pd.arrays.NumpyExtensionArray):
            return False
        return bool(values.to_numpy().dtype == self.dtype)

    def write(self, start: int, values: Any) -> None:
        self.data[start : start + len(values)] = values.to_numpy()
        if self.written is not None:
            self.written[start : start + len(values)] = True

    def grow(self, capacity: int) -> None:
        super().grow(capacity)
        self.data = _grown(self.data, capacity, self.fill)
        if self.written is not None:
            self.written = _grown(self.written, capacity, False)

    def finish(self, count: int, seen: int, frames: int) -> Any:
        data = self.data[:count]
        if seen == frames or self.written is None:
            return data
        mask = ~self.written[:count]
        if self.dtype.kind == "b":
            return pd.arrays.BooleanArray(data, mask)
        return pd.arrays.IntegerArray(data.astype(np.int64, copy=False), mask)


class _MaskedColumn(_Column):
    """Nullable whole numbers or booleans (``Int64``, ``boolean``)."""

    def __init__(self, capacity: int, dtype: Any) -> None:
        super().__init__(capacity)
        self.dtype: Any = dtype
        self.data = np.zeros(capacity, dtype=dtype.numpy_dtype)
        self.mask = np.ones(capacity, dtype=bool)

    def accepts(self, values: Any) -> bool:
        return isinstance(values, pd.api.extensions.ExtensionArray) and values.dtype == self.dtype

    def write(self, start: int, values: Any) -> None:
        stop = start + len(values)
        self.data[start:stop] = values._data
        self.mask[start:stop] = values._mask

    def grow(self, capacity: int) -> None:
        super().grow(capacity)
        self.data = _grown(self.data, capacity, 0)
        self.mask = _grown(self.mask, capacity, True)

    def finish(self, count: int, seen: int, frames: int) -> Any:
        data, mask = self.data[:count], self.mask[:count]
        if self.dtype.numpy_dtype.kind == "b":
            return pd.arrays.BooleanArray(data, mask)
        if seen < frames:  # missing from some frames: Int64, as combine_frames makes it
            data = data.astype(np.int64, copy=False)
        return pd.arrays.IntegerArray(data, mask)


class _DatetimeColumn(_Column):
    """Datetimes of one time zone and unit (missing: ``NaT``)."""

    def __init__(self, capacity: int, dtype: Any) -> None:
        super().__init__(capacity)
        self.dtype = dtype
        self.data = np.full(capacity, _NAT, dtype=np.int64)

    def accepts(self, values: Any) -> bool:
        return isinstance(values, pd.arrays.DatetimeArray) and values.dtype == self.dtype

    def write(self, start: int, values: Any) -> None:
        self.data[start : start + len(values)] = values.asi8

    def grow(self, capacity: int) -> None:
        super().grow(capacity)
        self.data = _grown(self.data, capacity, _NAT)

    def finish(self, count: int, seen: int, frames: int) -> Any:
        instants = pd.Series(self.data[:count].view(f"M8[{self.dtype.unit}]"))
        return instants.dt.tz_localize("UTC").dt.tz_convert(self.dtype.tz).array


class _ArrowColumn(_Column):
    """Arrow-backed values (strings): the frames' chunks kept, gaps as null chunks."""

    def __init__(self, capacity: int, dtype: Any) -> None:
        super().__init__(capacity)
        self.dtype = dtype
        self.chunks: list[tuple[int, pa.Array]] = []

    def accepts(self, values: Any) -> bool:
        return hasattr(values, "_pa_array") and values.dtype == self.dtype

    def write(self, start: int, values: Any) -> None:
        self.chunks.extend((start, chunk) for chunk in values._pa_array.chunks)

    def finish(self, count: int, seen: int, frames: int) -> Any:
        kind = self.chunks[0][1].type if self.chunks else pa.string()
        chunks: list[pa.Array] = []
        at = 0
        for start, chunk in self.chunks:
            if start > at:
                chunks.append(pa.nulls(start - at, kind))
            chunks.append(chunk if chunk.type == kind else chunk.cast(kind))
            at = start + len(chunk)
        if count > at:
            chunks.append(pa.nulls(count - at, kind))
        return pd.array(pa.chunked_array(chunks, kind), dtype=self.dtype)


class _CategoricalColumn(_Column):
    """Categories united as ``combine_frames`` does (sorted, unless there is one frame)."""

    def __init__(self, capacity: int, dtype: Any) -> None:
        super().__init__(capacity)
        self.codes = np.full(capacity, -1, dtype=np.int32)
        self.categories: dict[Any, int] = {}
        self.first = list(dtype.categories)

    def accepts(self, values: Any) -> bool:
        return isinstance(values, pd.Categorical)

    def write(self, start: int, values: Any) -> None:
        categories = list(values.categories)
        remap = np.array(
            [self.categories.setdefault(c, len(self.categories)) for c in categories] + [-1],
            dtype=np.int32,
        )
        self.codes[start : start + len(values)] = remap[values.codes]  # code -1 stays -1

    def grow(self, capacity: int) -> None:
        super().grow(capacity)
        self.codes = _grown(self.codes, capacity, -1)

    def finish(self, count: int, seen: int, frames: int) -> Any:
        names = list(self.categories)
        order = self.first if frames == 1 else _united([names])  # as combine_frames does
        index = {name: i for i, name in enumerate(order)}
        remap = np.array([index[name] for name in names] + [-1], dtype=np.int32)
        return pd.Categorical.from_codes(remap[self.codes[:count]], pd.Index(order))


class _PiecesColumn(_Column):
    """Any other kind, or a kind that changed: the pieces, joined at the end."""

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self.pieces: list[tuple[int, Any]] = []

    def accepts(self, values: Any) -> bool:
        return True

    def write(self, start: int, values: Any) -> None:
        self.pieces.append((start, values))

    def finish(self, count: int, seen: int, frames: int) -> Any:
        parts: list[pd.DataFrame] = []
        at = 0
        for start, values in self.pieces:
            if start > at:
                parts.append(pd.DataFrame(index=pd.RangeIndex(start - at)))
            parts.append(pd.DataFrame({"v": _series(values)}, copy=False))
            at = start + len(values)
        if count > at:
            parts.append(pd.DataFrame(index=pd.RangeIndex(count - at)))
        return combine_frames(parts)["v"].array


def _series(values: Any, index: pd.Index | None = None) -> pd.Series:
    """Values as a series, objects kept as objects (not searched for datetimes)."""
    dtype = object if pd.api.types.is_object_dtype(values.dtype) else None
    if index is None:
        index = pd.RangeIndex(len(values))
    return pd.Series(values, index=index, dtype=dtype, copy=False)


def _column_for(values: Any, capacity: int) -> _Column:
    dtype = values.dtype
    if isinstance(values, pd.arrays.NumpyExtensionArray):
        numpy_dtype = dtype.numpy_dtype
        if numpy_dtype.kind in "ibO" or numpy_dtype == np.float64:
            return _NumpyColumn(capacity, numpy_dtype)
    if isinstance(values, (pd.arrays.IntegerArray, pd.arrays.BooleanArray)):
        return _MaskedColumn(capacity, dtype)
    if isinstance(values, pd.arrays.DatetimeArray) and isinstance(dtype, pd.DatetimeTZDtype):
        return _DatetimeColumn(capacity, dtype)
    if isinstance(values, pd.Categorical):
        return _CategoricalColumn(capacity, dtype)
    if hasattr(values, "_pa_array") and pd.api.types.is_string_dtype(dtype):
        return _ArrowColumn(capacity, dtype)
    return _PiecesColumn(capacity)


class FrameSink:
    """Frames of consecutive rows joined by writing them into whole-load columns.

    ``capacity`` is the number of rows to make room for at first; more are
    taken (the columns grow, or ``reserve`` makes room ahead). ``add`` each
    frame in turn; ``frame()`` gives them as one, with a fresh ``RangeIndex``.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(capacity, 1)
        self.count = 0
        self.frames = 0
        self._columns: dict[str, _Column] = {}
        self._seen: dict[str, int] = {}
        """In how many frames each column was."""
        self._names: dict[str, None] = {}
        """Every column of every frame, empty ones too, in the order first seen."""

    def add(self, frame: pd.DataFrame) -> None:
        """Copy ``frame``'s rows in after the rows added before."""
        rows = len(frame)
        self._names.update(dict.fromkeys(frame.columns))
        if not rows:
            return
        if self.count + rows > self.capacity:
            self._grow(max(self.count + rows, 2 * self.capacity))
        for name in frame.columns:
            values = frame[name].array
            column = self._columns.get(name)
            if column is None:
                column = self._columns[name] = _column_for(values, self.capacity)
            elif not column.accepts(values):
                column = self._columns[name] = self._as_pieces(column)
            column.write(self.count, values)
            column.spans.append((self.count, self.count + rows))
            self._seen[name] = self._seen.get(name, 0) + 1
        self.count += rows
        self.frames += 1

    def reserve(self, rows: int) -> None:
        """Make room for ``rows`` rows in all (when more are expected than there is room for)."""
        if rows > self.capacity:
            self._grow(rows)

    def frame(self) -> pd.DataFrame:
        """The rows added so far as one frame (columns in the order first seen)."""
        if self.count < self.capacity:
            self._grow(self.count)  # fewer rows than room: the frame keeps no spare rows
        index = pd.RangeIndex(self.count)
        columns = {}
        for name, column in self._columns.items():
            values = column.finish(self.count, self._seen[name], self.frames)
            columns[name] = _series(values, index)
        frame = pd.DataFrame(columns, index=index, copy=False)
        if list(frame.columns) != list(self._names):  # columns only empty frames had
            frame = frame.reindex(columns=list(self._names))
        return frame

    def _grow(self, capacity: int) -> None:
        self.capacity = capacity
        for column in self._columns.values():
            column.grow(capacity)

    def _as_pieces(self, column: _Column) -> _Column:
        """``column`` as the pieces its frames gave (so they join as they would have)."""
        pieces = _PiecesColumn(self.capacity)
        if column.spans:
            whole = column.finish(self.count, self.frames, self.frames)
            for start, stop in column.spans:
                pieces.write(start, whole[start:stop])
                pieces.spans.append((start, stop))
        return pieces


def _united(categories: Sequence[Any]) -> list[Any]:
    """The categories of several frames as one sorted list (by text, if they do not sort)."""
    values = {c for group in categories for c in group}
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def combine_frames(frames: Sequence[pd.DataFrame], *, keep_index: bool = False) -> pd.DataFrame:
    """Frames of loaded events as one: categories united, whole numbers kept whole.

    A column missing from some frames keeps its kind (``Int64``, ``boolean``)
    rather than turning into floats or objects.
    """
    names: dict[str, None] = {}
    for frame in frames:
        names.update(dict.fromkeys(frame.columns))
    nonempty = [f for f in frames if len(f)] or list(frames[:1])
    if len(nonempty) == 1:
        only = nonempty[0]
        if list(only.columns) == list(names):
            return only
        return only.reindex(columns=list(names))
    fixed = [f.copy(deep=False) for f in nonempty]
    for name in names:
        present = [f for f in fixed if name in f.columns]
        dtypes = [f[name].dtype for f in present]
        categorical = [d for d in dtypes if isinstance(d, pd.CategoricalDtype)]
        if len(categorical) == len(dtypes):
            union = _united([d.categories for d in categorical])
            if any(list(d.categories) != union for d in categorical):
                for f in present:
                    f[name] = f[name].cat.set_categories(union)
        elif categorical:
            for f in present:
                f[name] = f[name].astype(object)
        elif len(present) < len(fixed):
            for f in present:
                kind = f[name].dtype.kind
                if kind in "iu":
                    f[name] = f[name].astype("Int64")
                elif kind == "b":
                    f[name] = f[name].astype("boolean")
    combined = pd.concat(fixed, ignore_index=not keep_index, sort=False)
    if list(combined.columns) != list(names):
        combined = combined.reindex(columns=list(names))
    return combined
