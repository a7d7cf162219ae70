"""Parsed event payloads (Arrow columns) as values for pandas, decoded column by column.

The loader (:mod:`workbench.reading.loading`) parses each event type's JSON states
with pyarrow; this module turns each parsed column into what the frame
holds: eventsourcing's encoded values (``{"_type_": "uuid_hex", "_data_":
...}`` and the like) decoded, nested objects and lists as Python values with
each distinct value converted once, whole numbers and strings kept in
pandas' own kinds.

>>> import pyarrow as pa
>>> table = pa.table({"n": [1, 2], "id": [{"_type_": "uuid_hex", "_data_": "0" * 32}] * 2})
>>> columns = frame_from_table(table, "Example", Context())
>>> columns["n"].tolist(), columns["id"][0]
([1, 2], UUID('00000000-0000-0000-0000-000000000000'))
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise, repeat
from typing import Any
from uuid import UUID, SafeUUID

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from workbench.reading.decoding import DECODERS, decode_value, malformed

__all__ = [
    "TRACE_KEY",
    "Context",
    "column_values",
    "frame_from_table",
    "no_strings",
    "object_array",
    "trace_columns",
]

TRACE_KEY = "__trace__"
"""The stored state's key that holds an event's trace (see :mod:`workbench.tracing`)."""
_TRACE_FIELDS = ("causation_id", "correlation_id")


@dataclass
class Context:
    """What one load learns as it goes: each topic's JSON schema, and notes for the user."""

    schemas: dict[str, pa.Schema] = field(default_factory=dict)
    notes: set[str] = field(default_factory=set)


def _is_encoding(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_struct(t)
        and t.num_fields == 2
        and {t.field(0).name, t.field(1).name} == {"_type_", "_data_"}
    )


def _clean(value: Any, unknown: set[str]) -> Any:
    """A nested value from pyarrow: decode encodings, drop keys that were absent (null).

    pyarrow gives every object at one place the keys of all of them, the
    absent ones null: ``{}`` beside an encoding comes as ``{"_type_": None,
    "_data_": None}``, and an encoding beside ``{"x": 1}`` with ``"x": None``.
    """
    if isinstance(value, dict):
        present = {k: v for k, v in value.items() if v is not None}
        if "_type_" in present and present.keys() <= {"_type_", "_data_"} and "_data_" in value:
            return decode_value({"_type_": present["_type_"], "_data_": value["_data_"]}, unknown)
        return {k: _clean(v, unknown) for k, v in present.items()}
    if isinstance(value, list):
        return [_clean(v, unknown) for v in value]
    return value


_UNKNOWN_SAFETY = SafeUUID.unknown
_new = object.__new__
_set = object.__setattr__


def _fast_uuid(text: str) -> UUID:
    """A UUID from 32 hex digits (checked beforehand, column by column)."""
    value = _new(UUID)
    _set(value, "int", int(text, 16))
    _set(value, "is_safe", _UNKNOWN_SAFETY)
    return value


_set_int = vars(UUID)["int"].__set__  # the slots themselves: UUID.__setattr__ refuses
_set_safety = vars(UUID)["is_safe"].__set__


def _fast_uuids(texts: list[str]) -> list[UUID]:
    """:func:`_fast_uuid` for many texts (no nulls), in C loops rather than a Python one."""
    count = len(texts)
    values = list(map(_new, repeat(UUID, count)))
    deque(map(_set_int, values, map(int, texts, repeat(16, count))), maxlen=0)
    deque(map(_set_safety, values, repeat(_UNKNOWN_SAFETY, count)), maxlen=0)
    return values


_SEPARATORS = "\x1c\x1d\x1e\x1f"
_NULL_KEY = "\x1c"


def _key(array: pa.Array, plain: bool = False) -> pa.Array | None:
    """A string per row that is equal exactly when the rows' values are equal.

    ``None`` when that cannot be done safely (a string holds a separator).
    """
    t = array.type
    if pa.types.is_struct(t):
        parts = []
        for i in range(t.num_fields):
            child = _key(_struct_field(array, i), plain)
            if child is None:
                return None
            parts.append(child)
        if not parts:
            joined = pa.array([""] * len(array), pa.string())
        else:
            joined = pc.binary_join_element_wise(*parts, "\x1f")
        return pc.if_else(pc.is_valid(array), joined, _NULL_KEY)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        values = _key(array.flatten(), plain)
        if values is None:
            return None
        offsets = array.offsets
        relist = type(array).from_arrays(pc.subtract(offsets, offsets[0]), values)
        joined = pc.binary_join(relist, "\x1e")
        lengths = pc.list_value_length(array).cast(pa.string())
        keyed = pc.binary_join_element_wise(lengths, joined, "\x1d")
        return pc.if_else(pc.is_valid(array), keyed, _NULL_KEY)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        if not plain and pc.any(pc.match_substring_regex(array, f"[{_SEPARATORS}]")).as_py():
            return None
        return pc.fill_null(array.cast(pa.string()), _NULL_KEY)
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        return pc.fill_null(array.cast(pa.string()), _NULL_KEY)
    if pa.types.is_null(t):
        return pa.array([_NULL_KEY] * len(array), pa.string())
    return None


def _struct_field(array: pa.Array, index: int) -> pa.Array:
    """A struct child with the struct's own nulls applied."""
    return array.field(index) if array.null_count == 0 else pc.struct_field(array, [index])


def _python_values(array: pa.Array, label: str, ctx: Context) -> list[Any]:
    """Arrow values as Python values: encodings decoded, absent keys dropped."""
    t = array.type
    if _is_encoding(t):
        decoded = _decode_encoding(array, label, ctx)
        if isinstance(decoded, np.ndarray):
            return list(decoded.tolist() if decoded.dtype != object else decoded)
        return [None if pd.isna(v) else v.to_pydatetime() for v in decoded]
    if pa.types.is_struct(t):
        names = [t.field(i).name for i in range(t.num_fields)]
        children = [_python_values(_struct_field(array, i), label, ctx) for i in range(len(names))]
        valid = pc.is_valid(array).to_numpy(zero_copy_only=False)
        encodings = "_type_" in names and "_data_" in names  # some rows may be encodings
        unknown: set[str] = set()
        rows: list[Any] = []
        for ok, values in zip(
            valid, zip(*children, strict=True) if children else ([()] * len(array)), strict=True
        ):
            if ok:
                row = {k: v for k, v in zip(names, values, strict=True) if v is not None}
                if encodings and "_type_" in row and row.keys() <= {"_type_", "_data_"}:
                    row = decode_value(
                        {"_type_": row["_type_"], "_data_": row.get("_data_")}, unknown
                    )
                rows.append(row)
            else:
                rows.append(None)
        for name in unknown:
            ctx.notes.add(f"{label}: values encoded as '{name}' are kept as their raw data")
        return rows
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        offsets = np.asarray(array.offsets).tolist()
        items = _python_values(array.values, label, ctx)
        lists: list[Any] = [items[a:b] for a, b in pairwise(offsets)]
        if array.null_count:
            for i in np.flatnonzero(pc.is_null(array).to_numpy(zero_copy_only=False)):
                lists[int(i)] = None
        return lists
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        if array.null_count == 0:
            return list(array.to_numpy(zero_copy_only=False).tolist())
        return list(array.to_pylist())
    if pa.types.is_floating(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
        return list(array.to_numpy(zero_copy_only=False).tolist())
    return list(array.to_pylist())


def _nested(array: pa.Array, label: str, ctx: Context) -> np.ndarray[Any, Any]:
    """A nested column (objects, lists) as Python values, each distinct value converted once.

    Worth it only when values repeat: a sample of the rows decides.
    """
    if len(array) > 64:
        codes = _codes(array.slice(0, 1000))
        if codes is not None:
            if len(np.unique(codes)) < len(codes) // 2:
                codes = _codes(array)
                assert codes is not None
                inverse, first = _first_of_each(codes)
                if len(first) < len(array) // 2:
                    distinct = array.take(pa.array(first))
                    uniques = object_array(_python_values(distinct, label, ctx))
                    return uniques[inverse]  # type: ignore[no-any-return]
        else:
            key = None
            sample = _key(array.slice(0, 1000))
            if sample is not None and len(pc.unique(sample)) < len(sample) // 2:
                key = _key(array)
            if key is not None:
                encoded = pc.dictionary_encode(key)
                indices = encoded.indices.to_numpy(zero_copy_only=False)
                if len(encoded.dictionary) < len(array) // 2:
                    first = _first_of_each(indices)[1]
                    distinct = array.take(pa.array(first))
                    uniques = object_array(_python_values(distinct, label, ctx))
                    return uniques[indices]  # type: ignore[no-any-return]
    return object_array(_python_values(array, label, ctx))


def _first_of_each(
    codes: np.ndarray[Any, Any],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Each row's index among the distinct codes, and the first row of each (by hashing)."""
    inverse, _ = pd.factorize(codes)  # numbered in order of first appearance
    if len(inverse) == 0:
        return inverse, np.zeros(0, dtype=np.int64)
    seen = np.maximum.accumulate(inverse)
    first = np.flatnonzero(np.r_[True, seen[1:] > seen[:-1]])
    return inverse, first


_CODE_LIMIT = 1 << 62


def _codes(array: pa.Array) -> np.ndarray[Any, np.dtype[np.int64]] | None:
    """A number per row, equal exactly when the rows' values are equal (null included).

    For structs of plain values (numbers, strings, encodings); ``None`` for
    anything else (lists: :func:`_key` compares those).
    """
    t = array.type
    if pa.types.is_struct(t):
        combined = np.zeros(len(array), dtype=np.int64)
        size = 1
        for i in range(t.num_fields):
            child = _codes(array.field(i))
            if child is None:
                return None
            child_size = int(child.max()) + 1 if len(child) else 1
            if size * child_size >= _CODE_LIMIT:
                uniques, inverse = np.unique(combined, return_inverse=True)
                combined, size = inverse.reshape(-1).astype(np.int64), len(uniques)
            combined = combined * child_size + child
            size *= child_size
        if array.null_count:
            valid = pc.is_valid(array).to_numpy(zero_copy_only=False)
            combined = np.where(valid, combined + 1, 0)
        return combined
    if (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
    ):
        encoded = pc.dictionary_encode(array)
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        return codes.astype(np.int64) + 1  # type: ignore[no-any-return]
    if pa.types.is_null(t):
        return np.zeros(len(array), dtype=np.int64)
    return None


def object_array(values: Sequence[Any]) -> np.ndarray[Any, Any]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _mostly_distinct(data: pa.Array) -> bool:
    """Whether a column's values hardly repeat (its first thousand decide)."""
    return len(data) > 2000 and pc.count_distinct(data.slice(0, 1000)).as_py() > 900


def _by_unique(data: pa.Array, convert: Any) -> np.ndarray[Any, Any]:
    """Convert each distinct value once, then spread the results back over the rows.

    Values that hardly repeat (a sample decides) are converted row by row.
    """
    if _mostly_distinct(data):
        return object_array([None if v is None else convert(v) for v in data.to_pylist()])
    encoded = pc.dictionary_encode(data)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    uniques = [None if v is None else convert(v) for v in encoded.dictionary.to_pylist()]
    table = object_array([*uniques, None])
    indices = encoded.indices.fill_null(len(uniques)).to_numpy(zero_copy_only=False)
    return table[indices]  # type: ignore[no-any-return]


_HEX = np.zeros(256, dtype=bool)
_HEX[list(b"0123456789abcdefABCDEF")] = True


def _all_hex32(strings: pa.Array) -> bool:
    """Whether every value (nulls aside) is 32 hex digits: what :func:`_fast_uuid` needs."""
    hexes = pc.drop_null(strings).cast(pa.string())
    if len(hexes) == 0:
        return True
    if pc.min_max(pc.binary_length(hexes)).as_py() != {"min": 32, "max": 32}:
        return False
    offsets = np.frombuffer(hexes.buffers()[1], dtype=np.int32)
    first, last = int(offsets[hexes.offset]), int(offsets[hexes.offset + len(hexes)])
    digits = np.frombuffer(hexes.buffers()[2], dtype=np.uint8)[first:last]
    return bool(np.count_nonzero(_HEX.take(digits)) == len(digits))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_LAST = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - _EPOCH) // timedelta(
    microseconds=1
)


def _datetimes(data: pa.Array, label: str, ctx: Context) -> Any:
    strings = data.cast(pa.string())
    try:
        # ISO strings with a UTC offset; a naive one makes the cast fail (decoded below).
        cast = pc.cast(strings, pa.timestamp("us", "UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _by_unique(strings, datetime.fromisoformat)
    bounds = pc.min_max(cast.cast(pa.int64())).as_py()
    if bounds["min"] is not None and not (bounds["min"] >= _FIRST and bounds["max"] <= _LAST):
        # beyond Python's years in UTC (year 1 at +00:01 is year 0): keep each offset
        return _by_unique(strings, datetime.fromisoformat)
    return pd.Series(cast.to_pandas()).array


def _decode_encoding(
    array: pa.Array, label: str, ctx: Context, errors: dict[int, str] | None = None
) -> Any:
    """A column of encoded values, decoded.

    With ``errors`` (a frame's column), a value of a known type whose data
    does not decode is missing, so the column keeps its type, and its row is
    added to ``errors``; without (a value inside another), it keeps its raw
    data, as :func:`~workbench.reading.decoding.decode_value` does.
    """
    names = [n for n in pc.unique(array.field("_type_")).to_pylist() if n is not None]
    data = array.field("_data_")
    # rows where the whole value is null keep null data
    data = pc.if_else(pc.is_valid(array), data, pa.scalar(None, data.type))
    # an empty object at the same place as encodings: a valid row without a type
    empty = pc.and_(pc.is_valid(array), pc.is_null(array.field("_type_")))
    mixed = bool(pc.any(empty).as_py())
    if not names and not mixed:
        return object_array([None] * len(array))
    if len(names) == 1 and not mixed and pa.types.is_string(data.type):
        name = names[0]
        try:
            if name == "datetime_iso":
                return _datetimes(data, label, ctx)
            if name == "uuid_hex":
                if _all_hex32(data):
                    if data.null_count == 0 and _mostly_distinct(data):
                        return object_array(_fast_uuids(data.to_pylist()))
                    return _by_unique(data, _fast_uuid)
                return _by_unique(data, UUID)
            if name in DECODERS:
                return _by_unique(data, DECODERS[name])
        except (ValueError, TypeError, ArithmeticError):
            pass  # malformed data: decode value by value below
        else:
            ctx.notes.add(
                f"{label}: values encoded as '{name}' (not a known type) are kept as their raw data"
            )
            return data.to_numpy(zero_copy_only=False)
    unknown: set[str] = set()
    if errors is None:
        values = [_clean(v, unknown) for v in array.to_pylist()]
    else:
        values = []
        for index, value in enumerate(array.to_pylist()):
            name = value.get("_type_") if value is not None else None
            if not isinstance(name, str) or name not in DECODERS:
                values.append(_clean(value, unknown))
                continue
            raw = _clean(value.get("_data_"), unknown)
            try:
                values.append(DECODERS[name](raw))
            except (ValueError, TypeError, ArithmeticError):
                values.append(None)
                errors[index] = malformed(label, name, raw)
        if names == ["datetime_iso"]:
            aware = [v for v in values if v is not None]
            if all(isinstance(v, datetime) and v.tzinfo is not None for v in aware):
                stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
                return stamps.dt.as_unit("us").array
    for name in unknown:
        ctx.notes.add(f"{label}: values encoded as '{name}' are kept as their raw data")
    return object_array(values)


def column_values(
    array: pa.Array, label: str, ctx: Context, errors: dict[int, str] | None = None
) -> Any:
    """One parsed column as something pandas takes (numpy array or extension array).

    ``errors`` collects the rows whose value of a known stored type does not
    decode (see :func:`_decode_encoding`); such a value is then missing.
    """
    t = array.type
    if _is_encoding(t):
        return _decode_encoding(array, label, ctx, errors)
    if pa.types.is_struct(t) or pa.types.is_list(t) or pa.types.is_large_list(t):
        return _nested(array, label, ctx)
    if pa.types.is_integer(t):
        if array.null_count:
            values = pc.fill_null(array, 0).to_numpy(zero_copy_only=False).astype(np.int64)
            mask = pc.is_null(array).to_numpy(zero_copy_only=False)
            return pd.arrays.IntegerArray(values, mask)
        return array.to_numpy(zero_copy_only=False)
    if pa.types.is_boolean(t):
        if array.null_count:
            return pd.array(array.to_pylist(), dtype="boolean")
        return array.to_numpy(zero_copy_only=False)
    if pa.types.is_null(t):
        return object_array([None] * len(array))
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return array.to_pandas().array
    return array.to_numpy(zero_copy_only=False)


def frame_from_table(
    table: pa.Table, event_type: str, ctx: Context, errors: dict[int, str] | None = None
) -> dict[str, Any]:
    """Each column of a parsed table, decoded (``event_type`` labels the notes).

    ``errors`` collects, by row, the values of a known stored type that do not
    decode (missing from their column, which keeps its type).
    """
    columns: dict[str, Any] = {}
    for name in table.column_names:
        array = table.column(name).combine_chunks()
        label = f"{event_type}.{name}" if event_type else name
        found: dict[int, str] | None = {} if errors is not None else None
        columns[name] = column_values(array, label, ctx, found)
        if errors is not None and found:
            for row, problem in found.items():
                errors[row] = f"{errors[row]}; {problem}" if row in errors else problem
    return columns


def no_strings(count: int) -> Any:
    """A text column of ``count`` missing values (as the loader's text columns are)."""
    return pd.array(pa.nulls(count, pa.string()), dtype="str")


def trace_columns(array: Any) -> dict[str, Any]:
    """The ``causation_id`` and ``correlation_id`` text columns of a parsed trace column.

    ``array`` is pyarrow's struct column (the fast route: its two children
    taken as they are, no Python value built) or, from the exact route, an
    array of dicts. A row without a trace (or not the expected shape) is missing.

    >>> trace = pa.array([{"causation_id": "c@1", "correlation_id": "c@1"}, None])
    >>> [list(v) for v in trace_columns(trace).values()]
    [['c@1', nan], ['c@1', nan]]
    """
    out: dict[str, Any] = {}
    if isinstance(array, pa.Array) and pa.types.is_struct(array.type):
        names = {array.type.field(i).name: i for i in range(array.type.num_fields)}
        for name in _TRACE_FIELDS:
            index = names.get(name)
            child = _struct_field(array, index) if index is not None else None
            if child is None or not (
                pa.types.is_string(child.type) or pa.types.is_large_string(child.type)
            ):
                out[name] = no_strings(len(array))
            else:
                out[name] = pd.array(child.cast(pa.string()), dtype="str")
        return out
    values = array.tolist() if hasattr(array, "tolist") else list(array)
    for name in _TRACE_FIELDS:
        found = [v.get(name) if isinstance(v, dict) else None for v in values]
        texts = [v if isinstance(v, str) else None for v in found]
        out[name] = pd.array(pa.array(texts, pa.string()), dtype="str")
    return out
