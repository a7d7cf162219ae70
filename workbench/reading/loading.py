"""Load any event history into a pandas DataFrame, fast, without importing its code.

:func:`load_events` reads the stored records (see :mod:`workbench.reading.records`)
and decodes their JSON itself: a history written by an application that is
not installed loads just as well, and nothing in the history gets to run.

How it is fast: SQLite builds each batch of 50,000 rows as a few large
strings (see :func:`workbench.reading.records.arrow_batches`; the first and last
batches are small, so the stages below overlap from start to end). One
thread reads a batch and puts its rows in topic order, cutting each state's
leading timestamp out from its fixed place as it does
(:mod:`workbench.reading._leading_timestamps`); a second thread parses each topic's
JSON lines with pyarrow in one go, with the schema learnt from the first
lines and ISO strings kept as strings; meanwhile this thread decodes the
batch before (:mod:`workbench.reading._columns`): eventsourcing's encoded
values (``uuid_hex``, ``decimal_str``, ``datetime_iso``, ...) column by
column, each distinct value once, nested values each distinct value once;
then each type's columns are scattered into position order, and the batch
is copied into columns for the whole load (:mod:`workbench.frame_joining`),
so nothing is left to join at the end. Python's cyclic
garbage collector is paused and Arrow allocates from the system allocator
while loading (both as they were afterwards). A group that
pyarrow cannot parse exactly (a corrupt row, an integer beyond 2**63, which
pyarrow would turn into a float, a field whose type changes) is parsed row
by row with Python's ``json`` instead; a corrupt row is kept, marked in an
``error`` column.

No one event can take a load down, nor change what the columns hold: a state
that is not JSON text (invalid UTF-8, an escaped lone surrogate), over the
size limit, nested too deep (a parser's stack), or that cannot be decrypted
or decompressed is kept as a row with an empty payload and says why in
``error``; the other rows of its type are parsed as usual. A value of a
known stored type that does not decode (a ``datetime_iso`` that is not a
date) is missing from its column, which keeps its type, and its row says why
in ``error``. The limits are :data:`~workbench.reading.decoding.MAX_DEPTH`
and :data:`~workbench.reading.decoding.MAX_STATE_SIZE`.

Filters go into the query: ``event_types`` (as topics) and the position range
(``after``/``upto``) always; ``streams`` on SQLite (through the primary key
index; elsewhere after fetching). ``since``/``until`` on an uncompressed SQLite
store compare the ISO timestamp inside the JSON with ``json_extract`` (widened
by a day to be safe with any UTC offset: ISO strings with the same offset sort
as text) and are then applied exactly after decoding; on other stores the time
range is applied after decoding.

>>> from workbench.examples.history import SAMPLE_TICKETING
>>> df = load_events(SAMPLE_TICKETING)
>>> list(df.columns[:6])
['position', 'stream_id', 'version', 'event_type', 'topic', 'timestamp']
>>> more = load_events(SAMPLE_TICKETING, after=int(df.position.max()))
>>> len(more)
0

Limits: inside a nested object, a key whose value is ``null`` cannot be told
from a missing key by the fast parser, so such keys are left out of the
nested dicts (``workbench.stream.EventStream.payload`` gives the exact
payload of one event).
"""

from __future__ import annotations

import gc
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from queue import Full, Queue
from typing import Any, TypeVar
from uuid import UUID

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from workbench.frame_joining import FrameSink, combine_frames
from workbench.reading._columns import (
    TRACE_KEY,
    Context,
    column_values,
    frame_from_table,
    no_strings,
    object_array,
    trace_columns,
)
from workbench.reading._leading_timestamps import split_leading_timestamps
from workbench.reading.decoding import (
    MAX_DEPTH,
    Codec,
    DecodeError,
    LoadError,
    decode_fields,
    diagnose,
    lone_surrogate,
    screen_state,
    short_name,
)
from workbench.reading.opening import HistorySource, open_history
from workbench.reading.records import ArrowBatch, RecordReader, records_to_batch

__all__ = [
    "FIXED_COLUMNS",
    "TRACE_COLUMNS",
    "LoadError",
    "combine_frames",
    "event_batches",
    "event_types_of",
    "load_events",
]

T = TypeVar("T")

FIXED_COLUMNS = ["position", "stream_id", "version", "event_type", "topic", "timestamp"]
"""The columns every loaded frame starts with; the payload fields follow."""
TRACE_COLUMNS = ["causation_id", "correlation_id"]
"""What caused each event and which business process it belongs to (see
:mod:`workbench.tracing`); after the payload, missing for events recorded without tracing."""
# Columns of the loader's own; a payload field with one of these names goes to "payload.<name>".
_METADATA = frozenset([*FIXED_COLUMNS, *TRACE_COLUMNS, "error"]) - {"timestamp"}

_BIG_INT = re.compile(rb"[:\[,]-?\d{16,}[,\]}]")
_BLOCK_SIZE = 1 << 20
# pyarrow's own threads for parsing help only when the pipeline leaves cores idle
_PARSE_THREADS = (os.cpu_count() or 1) > 3
_PIPELINE = True
_DEPTH = 3  # batches a pipeline stage may run ahead (evens out uneven batches)


# --- parsing one topic group ----------------------------------------------------


def _strip_schema(schema: pa.Schema) -> pa.Schema:
    """Timestamps back to strings; null-typed fields removed (let the parser infer them)."""

    def fix(t: pa.DataType) -> pa.DataType | None:
        if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t):
            return pa.string()
        if pa.types.is_null(t):
            return None
        if pa.types.is_struct(t):
            fields = [
                pa.field(f.name, ft)
                for f in (t.field(i) for i in range(t.num_fields))
                if (ft := fix(f.type)) is not None
            ]
            return pa.struct(fields) if fields else None
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            inner = fix(t.value_type)
            return pa.list_(inner) if inner is not None else None
        return t

    fields = [pa.field(f.name, ft) for f in schema if (ft := fix(f.type)) is not None]
    return pa.schema(fields)


def _has(schema: pa.Schema, test: Any) -> bool:
    def walk(t: pa.DataType) -> bool:
        if test(t):
            return True
        if pa.types.is_struct(t):
            return any(walk(t.field(i).type) for i in range(t.num_fields))
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            return walk(t.value_type)
        return False

    return any(walk(f.type) for f in schema)


def _is_time(t: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t))


_SCREEN_FROM = 1024
"""States longer than this are checked for nesting before any parser sees them.

A shorter state cannot nest deeper than this, which pyarrow's JSON reader
survives (it crashes the process on a state nested 20,000 deep); deeper
than :data:`~workbench.reading.decoding.MAX_DEPTH` is then caught by the
depth of the parsed schema."""


class _Parse:
    """Why pyarrow's parse of a group was not used."""

    INVALID = "invalid"  # a row is not JSON, or not the same kind of JSON as the others
    INEXACT = "inexact"  # an integer too big for int64, or no schema settled
    DEEP = "deep"  # a row nests deeper than MAX_DEPTH


def _type_depth(schema: pa.Schema) -> int:
    """How deep the schema's structs and lists nest (1: a flat object), without recursion."""
    deepest = 1
    stack = [(f.type, 2) for f in schema]
    while stack:
        t, depth = stack.pop()
        if pa.types.is_struct(t):
            deepest = max(deepest, depth)
            stack.extend((t.field(i).type, depth + 1) for i in range(t.num_fields))
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            deepest = max(deepest, depth)
            stack.append((t.value_type, depth + 1))
    return deepest


def _parse_json_lines(
    buffer: pa.Buffer, topic: str, ctx: Context, *, longest: int = 0
) -> pa.Table | str:
    """pyarrow's parse of one group's JSON lines, or why it would not be exact (:class:`_Parse`)."""
    block_size = max(_BLOCK_SIZE, longest + 1)  # a line longer than a block would not parse
    options = pj.ReadOptions(block_size=block_size, use_threads=_PARSE_THREADS)
    known = ctx.schemas.get(topic)
    if known is None:
        # Infer from the first lines, ISO strings kept as strings, before the full parse.
        head = memoryview(buffer)[: max(1 << 16, block_size)].tobytes()
        head = head[: head.rfind(b"\n") + 1]
        try:
            inferred = pj.read_json(pa.BufferReader(head)).schema
            if _type_depth(inferred) > MAX_DEPTH:
                return _Parse.DEEP
            known = _strip_schema(inferred)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            known = None
    for _ in range(3):
        parse = pj.ParseOptions(explicit_schema=known, unexpected_field_behavior="infer")
        try:
            table = pj.read_json(pa.BufferReader(buffer), read_options=options, parse_options=parse)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return _Parse.INVALID
        if _type_depth(table.schema) > MAX_DEPTH:
            return _Parse.DEEP
        if _has(table.schema, _is_time):
            # pyarrow read an ISO string as a timestamp: parse again, as strings.
            known = _strip_schema(table.schema)
            continue
        if _has(table.schema, pa.types.is_floating) and _BIG_INT.search(memoryview(buffer)):
            return _Parse.INEXACT  # an integer too big for int64 would have become a float
        try:
            # pyarrow's reader can build a list column that is not valid (a list that
            # starts with nulls): the exact route reads such a group instead.
            table.validate()
        except pa.ArrowInvalid:
            return _Parse.INEXACT
        ctx.schemas[topic] = _strip_schema(table.schema)
        return table
    return _Parse.INEXACT


def _python_columns(
    states: list[bytes], event_type: str, ctx: Context
) -> tuple[dict[str, Any], list[str | None]]:
    """The slow, exact route: Python's json, row by row; corrupt rows get an error.

    A field of a known stored type whose data does not decode is ``None`` and
    its row gets an error too (as the column route does).
    """
    rows: list[dict[str, Any]] = []
    errors: list[str | None] = []
    unknown: set[str] = set()
    for state in states:
        if not state:
            rows.append({})
            errors.append(_EMPTY_STATE)
            continue
        problem = _json_problem(state)
        if problem is not None:
            rows.append({})
            errors.append(problem)
            continue
        try:
            data = json.loads(state)
            row, malformed = decode_fields(data, unknown)
        except DecodeError as e:  # nested too deep
            rows.append({})
            errors.append(str(e))
            continue
        rows.append(row)
        errors.append("; ".join(malformed) if malformed else None)
    for name in unknown:
        ctx.notes.add(f"{event_type}: values encoded as '{name}' are kept as their raw data")
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    columns: dict[str, Any] = {}
    for name in names:
        values = [row.get(name) for row in rows]
        if name == "timestamp":
            columns[name] = _timestamps(values)
        else:
            columns[name] = object_array(values)
    return columns, errors


_EMPTY_STATE = "the stored state is empty (NULL in the store): nothing to decode"


def _json_problem(state: bytes) -> str | None:
    """Why one stored state cannot be read as a JSON object, or ``None``.

    Safe on any input: the size and depth limits are checked first (see
    :func:`~workbench.reading.decoding.screen_state`).
    """
    if not state:
        return _EMPTY_STATE
    problem = screen_state(state)
    if problem is not None:
        return problem
    try:
        data = json.loads(state)
    except (ValueError, RecursionError) as e:  # invalid UTF-8 is a ValueError too
        preview = state[:60].decode("utf8", "replace")
        return f"corrupt event state ({e}); starts {preview!r}"
    if not isinstance(data, dict):
        return f"corrupt event state (the state is JSON but not an object: {type(data).__name__})"
    return lone_surrogate(state, data)


def _timestamps(values: list[Any]) -> Any:
    fixed: Any = [v if isinstance(v, datetime) and v.tzinfo else None for v in values]
    return pd.Series(pd.to_datetime(fixed, utc=True), dtype="datetime64[us, UTC]").array


# --- one batch ------------------------------------------------------------------


def _unwrap_states(batch: ArrowBatch, codec: Codec) -> tuple[pa.Array, dict[int, str]]:
    """The states decrypted and decompressed; a row that cannot be is ``{}`` and says why."""
    out = []
    errors: dict[int, str] = {}
    for row, value in enumerate(batch.states.to_pylist()):
        state = value[:-1]
        if not state:  # stored without a state (NULL): marked when screened
            out.append(b"\n")
            continue
        try:
            out.append(codec.unwrap(state) + b"\n")
        except DecodeError as e:
            errors[row] = str(e)
            out.append(b"{}\n")
    return pa.array(out, pa.large_binary()), errors


def _check_json(batch: ArrowBatch, where: str) -> None:
    """Raise a clear error when most states are not JSON (compressed or encrypted)."""
    sample = min(batch.num_rows, 20)
    states = [s for s in (batch.state(i) for i in range(sample)) if s]  # empty: marked later
    odd = [s for s in states if s[:1] != b"{"]
    if len(odd) * 2 > len(states):
        raise LoadError(f"cannot read the events in {where}: {diagnose(odd[0])}")


@dataclass
class _Prepared:
    """A batch grouped by topic, each group parsed (or left for the row-by-row route)."""

    meta: pa.Table
    order: np.ndarray[Any, Any]
    groups: list[tuple[str, int, int, pa.Table | None, pa.Array]]
    """(topic, first, last, parsed table or None, the group's states)."""
    topics: tuple[list[str], np.ndarray[Any, Any]] | None = None
    """The batch's distinct topics and each row's index into them (found while grouping)."""
    timestamps: pa.Array | None = None
    """Every row's timestamp, when it was split off the states before parsing them."""
    errors: dict[int, str] = field(default_factory=dict)
    """Why a row's payload is empty or incomplete, by row of the batch (``meta`` order)."""


def _group(batch: ArrowBatch, *, codec: Codec, where: str) -> _Prepared:
    """Put the batch's rows in topic order (groups not parsed yet)."""
    errors: dict[int, str] = {}
    if not codec.plain:
        states, errors = _unwrap_states(batch, codec)
        if errors and len(errors) == batch.num_rows:
            raise LoadError(f"cannot read the events in {where}: {next(iter(errors.values()))}")
        batch = ArrowBatch(batch.columns, states)
    else:
        _check_json(batch, where)
    meta = batch.columns
    topics = pc.dictionary_encode(meta.column("topic")).combine_chunks()
    codes = topics.indices.to_numpy(zero_copy_only=False)
    states = batch.states
    names = topics.dictionary.to_pylist()
    if len(names) > 1:
        # The rows in topic order, in one buffer: each topic is then a zero-copy slice.
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    else:
        order = np.arange(len(states))
        bounds = np.array([0, len(states)])
    # The leading timestamps are read straight from their place (a quarter of the
    # parsing saved); otherwise, one take reorders the whole states.
    split = split_leading_timestamps(states, order if len(names) > 1 else None)
    if split is not None:
        states, timestamps = split.states, split.timestamps
    else:
        timestamps = None
        if len(names) > 1:
            states = states.take(pa.array(order))
    groups: list[tuple[str, int, int, pa.Table | None, pa.Array]] = []
    for index, topic in enumerate(names):
        first, last = int(bounds[index]), int(bounds[index + 1])
        if last > first:
            groups.append((topic, first, last, None, states.slice(first, last - first)))
    return _Prepared(meta, order, groups, (names, codes), timestamps, errors)


def _parse_groups(prepared: _Prepared, ctx: Context) -> _Prepared:
    """Parse each group's JSON lines (a group pyarrow cannot parse exactly keeps ``None``).

    Rows no parser should see (see :func:`_screen`) are parsed as ``{}`` and
    marked in ``errors``; so are rows that make pyarrow refuse the group
    (corrupt JSON), and the rest of the group is then parsed again.
    """
    groups = []
    errors = dict(prepared.errors)
    for topic, first, last, _, group in prepared.groups:
        rows = prepared.order[first:last]
        found = _screen(group)
        if found:
            group = _blanked(group, found)
        table = _parse_group(group, topic, ctx)
        if isinstance(table, str):
            # Which rows? Each is checked alone (safely); without them, parse again.
            more = _find_bad_rows(group, deep=table == _Parse.DEEP)
            if more:
                found.update(more)
                group = _blanked(group, more)
                table = _parse_group(group, topic, ctx)
        if isinstance(table, str) or table.num_rows != last - first:
            table = None
        for index, problem in found.items():
            errors[int(rows[index])] = problem
        groups.append((topic, first, last, table, group))
    return replace(prepared, groups=groups, errors=errors)


def _parse_group(group: pa.Array, topic: str, ctx: Context) -> pa.Table | str:
    offsets = np.frombuffer(group.buffers()[1], dtype=np.int64)[
        group.offset : group.offset + len(group) + 1
    ]
    longest = int(np.diff(offsets).max()) if len(group) else 0
    buffer = group.buffers()[2][int(offsets[0]) : int(offsets[-1])]
    return _parse_json_lines(buffer, topic, ctx, longest=longest)


def _screen(group: pa.Array) -> dict[int, str]:
    """Rows of a group (JSON lines) that no parser should see, and why, by index.

    Empty, over the size limit, not UTF-8, or long enough to nest deeper than
    a parser's stack survives (then checked, see :data:`_SCREEN_FROM`). Costs
    next to nothing for ordinary rows: their lengths and one UTF-8 check.
    """
    found: dict[int, str] = {}
    if not len(group):
        return found
    offsets = np.frombuffer(group.buffers()[1], dtype=np.int64)[
        group.offset : group.offset + len(group) + 1
    ]
    lengths = np.diff(offsets) - 1  # without the newline
    for row in np.flatnonzero(lengths == 0).tolist():
        found[row] = _EMPTY_STATE
    for row in np.flatnonzero(lengths > _SCREEN_FROM).tolist():
        problem = screen_state(group[row].as_py()[:-1])
        if problem is not None:
            found[row] = problem
    try:
        group.cast(pa.large_string())
    except pa.ArrowInvalid:
        for row, value in enumerate(group.to_pylist()):
            try:
                value.decode("utf-8")
            except UnicodeDecodeError as e:
                found.setdefault(row, f"the stored state is not UTF-8 text ({e})")
    return found


def _find_bad_rows(group: pa.Array, *, deep: bool) -> dict[int, str]:
    """The rows that made pyarrow refuse a group: not JSON objects, or nested too deep."""
    found: dict[int, str] = {}
    for index, value in enumerate(group.to_pylist()):
        state = value[:-1]
        problem = screen_state(state) if deep else _json_problem(state)
        if problem is not None:
            found[index] = problem
    return found


def _blanked(group: pa.Array, rows: Mapping[int, str]) -> pa.Array:
    """The group with the given rows' states replaced by an empty object."""
    values = group.to_pylist()
    for index in rows:
        values[index] = b"{}\n"
    return pa.array(values, pa.large_binary())


def _convert(prepared: _Prepared, ctx: Context) -> pd.DataFrame:
    """Decode a prepared batch into a frame in position order."""
    parts: dict[str, list[tuple[np.ndarray[Any, Any], Any]]] = {}
    total = len(prepared.meta)
    errors: np.ndarray[Any, Any] | None = None
    if prepared.errors:
        errors = object_array([None] * total)
        for row, problem in prepared.errors.items():
            errors[row] = problem
    for topic, first, last, table, group in prepared.groups:
        event_type = short_name(topic)
        rows = prepared.order[first:last]
        found: dict[int, str] = {}
        if table is not None:
            if TRACE_KEY in table.column_names:
                # the trace's two strings, straight from the parsed JSON (workbench.tracing)
                traced = trace_columns(table.column(TRACE_KEY).combine_chunks())
                table = table.drop_columns([TRACE_KEY])
                for name, values in traced.items():
                    parts.setdefault(name, []).append((rows, values))
            columns = frame_from_table(table, event_type, ctx, errors=found)
        else:
            values = [v[:-1] for v in group.to_pylist()]
            columns, group_errors = _python_columns(values, event_type, ctx)
            found = {i: e for i, e in enumerate(group_errors) if e is not None}
            if TRACE_KEY in columns:
                for name, values in trace_columns(columns.pop(TRACE_KEY)).items():
                    parts.setdefault(name, []).append((rows, values))
        if found:
            if errors is None:
                errors = object_array([None] * total)
            for index, problem in found.items():
                row = int(rows[index])
                errors[row] = problem if errors[row] is None else f"{errors[row]}; {problem}"
        for name, column in columns.items():
            if name in _METADATA:
                # a payload field named like a metadata column keeps its own column
                ctx.notes.add(
                    f"{event_type}: its payload field {name!r} is in the column "
                    f"'payload.{name}' (the column {name!r} is the loader's own)"
                )
                name = f"payload.{name}"
            parts.setdefault(name, []).append((rows, column))
    frame = _meta_frame(prepared.meta, None, prepared.topics)
    pieces = parts.pop("timestamp", [])
    if prepared.timestamps is not None:
        frame["timestamp"] = pd.Series(prepared.timestamps.to_pandas()).array
    else:
        frame["timestamp"] = _scatter(total, pieces, timestamps=True)
    for name in TRACE_COLUMNS:
        pieces = parts.pop(name, [])
        frame[name] = _scatter(total, pieces) if pieces else no_strings(total)
    for name, pieces in parts.items():
        frame[name] = _nullable(_scatter(total, pieces))
    if errors is not None:
        frame["error"] = errors
    return pd.DataFrame(frame, copy=False)


def _nullable(values: Any) -> Any:
    """Whole numbers and booleans as pandas' nullable kinds (``Int64``, ``boolean``).

    A payload field is missing from the rows of other event types, so its
    column takes the kind that has room for that whatever the batch holds:
    loads of a history in parts then concatenate to the same frame as one load.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "ib":
        mask = np.zeros(len(values), dtype=bool)
        if values.dtype.kind == "b":
            return pd.arrays.BooleanArray(values, mask)
        return pd.arrays.IntegerArray(values, mask)
    return values


def _scatter(total: int, pieces: list[tuple[Any, Any]], *, timestamps: bool = False) -> Any:
    """One column for the whole batch from per-topic pieces (``rows``, ``values``).

    Rows no piece covers are missing. Whole numbers stay whole (nullable
    ``Int64``), strings stay Arrow-backed, datetimes stay datetimes; pieces of
    different kinds make an object column.
    """
    if timestamps and not pieces:
        return _no_timestamps(total)
    if len(pieces) == 1 and len(pieces[0][0]) == total:
        rows, values = pieces[0]
        if (rows[1:] > rows[:-1]).all():
            return values
    kinds = {_kind(values) for _, values in pieces}
    covered = sum(len(rows) for rows, _ in pieces)
    kind = kinds.pop() if len(kinds) == 1 else "object"
    if kind == "int" and covered == total:
        out = np.zeros(total, dtype=np.int64)
        for rows, values in pieces:
            out[rows] = np.asarray(values)
        return out
    if kind in ("int", "Int64"):
        data = np.zeros(total, dtype=np.int64)
        mask = np.ones(total, dtype=bool)
        for rows, values in pieces:
            array = pd.array(values, dtype="Int64")
            data[rows] = array.to_numpy(dtype=np.int64, na_value=0)
            mask[rows] = array.isna()
        return pd.arrays.IntegerArray(data, mask)
    if kind == "float":
        out = np.full(total, np.nan)
        for rows, values in pieces:
            out[rows] = np.asarray(values, dtype=float)
        return out
    if kind == "datetime":
        arrays = [pd.array(values).as_unit("us") for _, values in pieces]
        zones = {str(a.tz) for a in arrays}
        if len(zones) == 1:
            ints = np.full(total, np.iinfo(np.int64).min, dtype=np.int64)
            for (rows, _), a in zip(pieces, arrays, strict=True):
                ints[rows] = a.asi8
            naive = pd.Series(ints.view("M8[us]"))
            tz = arrays[0].tz
            return (naive.dt.tz_localize(tz) if tz is not None else naive).array
        kind = "object"
    if kind == "str":
        chunks = [_large_strings(values) for _, values in pieces]
        combined = pa.concat_arrays([*chunks, pa.nulls(1, pa.large_string())])
        index = np.full(total, covered, dtype=np.int64)
        start = 0
        for rows, _ in pieces:
            index[rows] = np.arange(start, start + len(rows))
            start += len(rows)
        return pd.array(combined.take(pa.array(index)).cast(pa.string()), dtype="str")
    out = np.empty(total, dtype=object)
    for rows, values in pieces:
        out[rows] = _as_objects(values)
    return out


def _large_strings(values: Any) -> pa.Array:
    arrow = getattr(values, "_pa_array", None)
    if arrow is None:
        arrow = pa.array(np.asarray(values, dtype=object), pa.large_string(), from_pandas=True)
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    return arrow.cast(pa.large_string())


def _kind(values: Any) -> str:
    dtype = getattr(values, "dtype", None)
    if dtype is None:
        return "object"
    if isinstance(dtype, pd.DatetimeTZDtype) or str(dtype).startswith("datetime64"):
        return "datetime"
    if str(dtype) == "Int64":
        return "Int64"
    if str(dtype) == "str" or isinstance(dtype, pd.StringDtype):
        return "str"
    if isinstance(dtype, np.dtype):
        if dtype.kind in "iu":
            return "int"
        if dtype.kind == "f":
            return "float"
    return "object"


def _as_objects(values: Any) -> np.ndarray[Any, Any]:
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    series = pd.Series(values)
    out = np.array(series.astype(object).to_numpy(), dtype=object)
    missing = series.isna().to_numpy()
    if missing.any():
        out[missing] = None
    return out  # type: ignore[no-any-return]


def _no_timestamps(count: int) -> Any:
    return pd.array([pd.NaT] * count, dtype="datetime64[us, UTC]")


def _meta_frame(
    meta: pa.Table,
    single: tuple[str, str] | None,
    topics: tuple[list[str], np.ndarray[Any, Any]] | None = None,
) -> dict[str, Any]:
    count = meta.num_rows
    frame: dict[str, Any] = {
        "position": meta.column("position").to_numpy(),
        "stream_id": meta.column("stream_id").to_pandas().array,
        "version": meta.column("version").to_numpy(),
    }
    if single is not None:
        frame["event_type"] = pd.Categorical.from_codes(
            np.zeros(count, dtype=np.int8), pd.Index([single[0]])
        )
        frame["topic"] = pd.Categorical.from_codes(
            np.zeros(count, dtype=np.int8), pd.Index([single[1]])
        )
    else:
        if topics is None:
            encoded = pc.dictionary_encode(meta.column("topic")).combine_chunks()
            topics = encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False)
        names, codes = topics
        shorts = [short_name(t) for t in names]
        unique_shorts = sorted(set(shorts))
        remap = np.array([unique_shorts.index(s) for s in shorts], dtype=np.int32)
        frame["event_type"] = pd.Categorical.from_codes(remap[codes], pd.Index(unique_shorts))
        frame["topic"] = pd.Categorical.from_codes(codes, pd.Index(names))
    return frame


# --- the public function ----------------------------------------------------------


def _time_bounds(
    since: datetime | str | None, until: datetime | str | None
) -> tuple[datetime | None, datetime | None]:
    def parse(value: datetime | str | date | None, name: str) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = pd.Timestamp(value).to_pydatetime()
            except ValueError:
                raise LoadError(
                    f"{name}={value!r} is not a date or time; write e.g. '2018-03-07' or "
                    "'2018-03-07T09:00:00+00:00'"
                ) from None
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if not isinstance(value, datetime):
            raise LoadError(f"{name} must be a datetime or an ISO string, got {value!r}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    return parse(since, "since"), parse(until, "until")


def _check_whole(name: str, value: Any) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise LoadError(f"{name} must be a whole number, got {value!r}")


def _names(name: str, value: Any, what: str, *kinds: type) -> list[Any] | None:
    """``value`` as a list of names (one name alone, or a sequence of them), or ``None``."""
    if value is None:
        return None
    allowed = (str, *kinds)
    if isinstance(value, allowed):
        return [value]
    if isinstance(value, (Sequence, set, frozenset)) and not isinstance(value, (bytes, bytearray)):
        wrong = [v for v in value if not isinstance(v, allowed)]
        if not wrong:
            return list(value)
        value = wrong[0]
    raise LoadError(f"{name} takes {what}; got {value!r}")


@contextmanager
def _load_settings() -> Iterator[None]:
    """Settings for a big load, put back as they were afterwards.

    - Python's cyclic garbage collector is off. A load makes millions of small
      objects (UUIDs, Decimals, dicts, lists), none in a reference cycle; each
      700 of them would otherwise start a collection that walks the objects
      made so far (about 15% of a 1M-event load).
      Afterwards the objects it made join the oldest generation directly
      (``gc.freeze()`` then ``gc.unfreeze()``; skipped if the program keeps
      objects frozen itself), as a young collection would only promote them.
    - Arrow allocates from the system allocator. pyarrow's default (mimalloc)
      hands the loader's many large, short-lived buffers back to the operating
      system and faults them in again: about 0.7 s of system time in a 1M-event
      load here. Buffers remember their pool, so switching is safe.
    """
    enabled = gc.isenabled()
    pool = pa.default_memory_pool()
    gc.disable()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(pool)
        if enabled:
            if gc.get_freeze_count() == 0:
                # What the load made is long-lived: into the oldest generation in one
                # step, rather than walked by a young collection as soon as it is on.
                gc.freeze()
                gc.unfreeze()
            gc.enable()


@_load_settings()
def load_events(
    source: HistorySource,
    *,
    after: int = 0,
    upto: int | None = None,
    event_types: Sequence[str] | str | None = None,
    streams: Sequence[str | UUID] | str | UUID | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    limit: int | None = None,
    newest: int | None = None,
    cipher_key: str | None = None,
    compressor: str | Any | None = None,
    env: Mapping[str, str] | None = None,
    table: str | None = None,
    batch_size: int = 50_000,
) -> pd.DataFrame:
    """The events of ``source`` as a DataFrame, one row per stored event, oldest first.

    ``source`` is anything :func:`~workbench.reading.opening.open_history` opens
    (an application, an SQLite file path, a store string, a :class:`History`);
    ``cipher_key``, ``compressor``, ``env`` and ``table`` go there too.
    Columns: ``position``, ``stream_id`` (text: a UUID in its dashed form,
    e.g. ``str(aggregate.id)``; metadata, not payload, and kept as text
    because building a million ``UUID`` objects costs more than the rest of
    the column, while filtering and grouping by text is fast), ``version``,
    ``event_type`` (e.g. ``"TicketPurchase.Paid"``), ``topic``, ``timestamp``
    (UTC), then the payload fields (encoded values decoded: payload UUIDs are
    ``uuid.UUID``, Decimals ``Decimal``, ...), ``causation_id`` and
    ``correlation_id`` (what caused the event and which business process it
    belongs to, see :mod:`workbench.tracing`; missing for an event recorded
    without tracing), and ``error`` if any row could not be decoded.
    (:func:`event_batches` leaves a traced event's trace in its payload, under
    ``"__trace__"``.) ``df.attrs`` holds ``last_position`` (for an
    incremental load: pass it as ``after`` next time) and ``notes``.

    Filters (applied in the query): ``after < position <= upto``;
    ``event_types`` short names or full topics; ``streams`` ids; ``since <=
    timestamp < until``; ``limit`` (the oldest ``limit`` matching events);
    ``newest`` (the newest ``newest`` matching events). Compressed or encrypted
    stores need ``cipher_key`` (or ``env`` with ``CIPHER_KEY``); zlib and gzip
    compression is recognised; an application as source brings its own settings.

    >>> from workbench.examples.history import SAMPLE_TICKETING
    >>> paid = load_events(SAMPLE_TICKETING, event_types=["TicketPurchase.Paid"], limit=3)
    >>> list(paid.event_type.unique()), len(paid)
    (['TicketPurchase.Paid'], 3)
    """

    _check_whole("batch_size", batch_size)
    if batch_size < 1:
        raise LoadError(f"batch_size must be at least 1 (got {batch_size})")
    for name, value in (("limit", limit), ("newest", newest), ("after", after), ("upto", upto)):
        if value is not None:
            _check_whole(name, value)
        if value is not None and value < 0:
            raise LoadError(f"{name} cannot be negative (got {value})")
    event_types = _names("event_types", event_types, "event type names, e.g. ['Order.Placed']")
    streams = _names("streams", streams, "stream ids (UUIDs or their text)", UUID)
    history = open_history(
        source, cipher_key=cipher_key, compressor=compressor, env=env, table=table
    )
    reader, codec = history.reader, history.codec
    start, stop = _time_bounds(since, until)
    stream_ids = [str(s) for s in streams or ()]
    ctx = Context()
    last = reader.max_position() if upto is None else min(upto, reader.max_position())
    topics = history.topics_for(list(event_types)) if event_types else ()
    where: list[tuple[str, Any]] = []
    if codec.plain and reader.sqlite_path is not None:
        text = "CAST(state AS TEXT)"
        extract = f"iif(json_valid({text}), json_extract({text}, '$.timestamp._data_'), NULL)"
        if start is not None:
            where.append((f"{extract} >= ?", (start - timedelta(days=1)).isoformat()[:19]))
        if stop is not None:
            where.append((f"{extract} < ?", (stop + timedelta(days=1)).isoformat()[:19]))
    frames: list[pd.DataFrame] = []
    count = 0
    if limit is not None and newest is None:
        batch_size = min(batch_size, max(2 * limit, 1000))
    if event_types and not topics:
        batches: Iterator[ArrowBatch] = iter(())
    else:
        batches = reader.arrow_batches(
            after,
            upto=last,
            topics=topics,
            streams=stream_ids,
            where=where,
            newest=newest if start is None and stop is None else None,
            batch_size=batch_size,
            # the pipeline below starts on a small batch rather than waiting for a big one
            first_batch_size=min(batch_size, 5_000),
        )

    def group(batch: ArrowBatch) -> _Prepared:
        return _group(batch, codec=codec, where=history.description)

    if _PIPELINE and reader.parallel and limit is None:
        # A pipeline: one thread reads from SQLite and groups the rows by topic, one
        # parses each group's JSON (both mostly outside the GIL), while this thread
        # decodes the batch before.
        grouped = _prefetch(group(b) for b in batches)
        prepared: Iterator[_Prepared] = _prefetch(_parse_groups(g, ctx) for g in grouped)
    else:
        prepared = (_parse_groups(group(b), ctx) for b in batches)
    # An unfiltered load writes each batch straight into whole-load columns (no
    # concatenation at the end, on one core, once every other stage is done).
    filtered = topics or stream_ids or where or start is not None or stop is not None
    whole = not filtered and limit is None and newest is None
    # Room for the rows there are: counted by SQLite while the first batch is read
    # (positions can have gaps); elsewhere the columns grow as rows come.
    rows = _count_rows(reader, after, last) if whole and last > after else None
    sink = FrameSink(min(last - after, batch_size)) if rows is not None else None
    in_order, previous = True, after
    for item in prepared:
        frame = _convert(item, ctx)
        if sink is not None and rows is not None:
            if sink.count == 0 and rows.exception() is None:  # (no count: the columns grow)
                sink.reserve(rows.result())
            positions = frame["position"].to_numpy()
            in_order = in_order and bool(len(positions) == 0 or positions[0] > previous)
            previous = int(positions[-1]) if len(positions) else previous
            sink.add(frame)
            continue
        if start is not None or stop is not None:
            frame = _in_range(frame, start, stop)
        if len(frame):
            frames.append(frame)
        count += len(frame)
        if limit is not None and newest is None and count >= limit:
            break
    if sink is not None and sink.count:
        df = _in_column_order(sink.frame() if in_order else _sorted(sink.frame()))
    else:
        df = _assemble(frames)
    if newest is not None:
        df = df.iloc[-newest:] if newest else df.iloc[:0]
    if limit is not None:
        df = df.iloc[:limit]
    df = df.reset_index(drop=True)
    df.attrs["last_position"] = int(last)
    df.attrs["notes"] = sorted(ctx.notes)
    df.attrs["source"] = history.description
    return df


DecodedEvent = tuple[int, str, int, str, Mapping[str, Any], str | None]
"""``(position, stream_id, version, topic, payload, error)``: one event, decoded."""

_EMPTY: Mapping[str, Any] = {}


class _Row(Mapping[str, Any]):
    """One event's payload, read from its event type's columns (no dict is built)."""

    __slots__ = ("_columns", "_index")

    def __init__(self, columns: _Columns, index: int) -> None:
        self._columns = columns
        self._index = index

    def __getitem__(self, name: str) -> Any:
        columns = self._columns
        values = columns.get(name)
        if columns.bad:
            problem = columns.bad.get(name, {}).get(self._index)
            if problem is not None:
                raise DecodeError(problem)
        return values[self._index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns.names)

    def __len__(self) -> int:
        return len(self._columns.names)

    def __repr__(self) -> str:
        return repr(dict(self))


def event_batches(
    source: HistorySource,
    after: int = 0,
    *,
    upto: int | None = None,
    topics: Sequence[str] = (),
    batch_size: int = 5_000,
    limit: int | None = None,
) -> Iterator[list[DecodedEvent]]:
    """A history's events one batch at a time, decoded exactly as :func:`load_events` does.

    The route projections and process runs read by: only ``topics`` (full
    topics) are read and parsed, column by column, and each event comes back
    as ``(position, stream_id, version, topic, payload, error)`` in position
    order. ``error`` says why a corrupt state could not be decoded (its
    payload is then empty). ``limit`` stops after that many events (reading
    them with one query, however far apart they are). Datetimes are
    ``datetime`` objects; missing values ``None``.

    >>> from workbench.samples import SAMPLE_TICKETING
    >>> batch = next(event_batches(SAMPLE_TICKETING, limit=1))
    >>> position, stream_id, version, topic, payload, error = batch[0]
    >>> position, topic.split(":")[1], payload["code"], error
    (1, 'Conference.Scheduled', 'MON18', None)
    """
    history = open_history(source)
    ctx = Context()
    if limit is not None:
        taken = 0
        for records in history.reader.batches(
            after, upto=upto, topics=topics, batch_size=min(batch_size, max(limit, 1))
        ):
            records = records[: limit - taken]
            taken += len(records)
            if records:
                batch = records_to_batch(records)
                where = history.description
                yield _decoded(
                    _parse_groups(_group(batch, codec=history.codec, where=where), ctx), ctx
                )
            if taken >= limit:
                return
        return
    batches = history.reader.arrow_batches(after, upto=upto, topics=topics, batch_size=batch_size)
    prepared: Iterator[_Prepared] = (
        _parse_groups(_group(batch, codec=history.codec, where=history.description), ctx)
        for batch in batches
    )
    if history.reader.parallel:
        # Reading and parsing the next batch (mostly outside the GIL) overlaps the
        # caller's work on this one.
        prepared = _prefetch(prepared)
    for item in prepared:
        yield _decoded(item, ctx)


def _decoded(prepared: _Prepared, ctx: Context) -> list[DecodedEvent]:
    meta = prepared.meta
    count = meta.num_rows
    payloads: list[Mapping[str, Any]] = [_EMPTY] * count
    errors: list[str | None] = [None] * count
    for row, problem in prepared.errors.items():
        errors[row] = problem
    stamps = _Stamps(prepared.timestamps) if prepared.timestamps is not None else None
    for topic, first, last, table, group in prepared.groups:
        event_type = short_name(topic)
        rows = prepared.order[first:last].tolist()
        if table is not None:
            columns = _Columns(event_type, ctx, table, rows, stamps)
        else:
            decoded, group_errors = _python_columns(
                [v[:-1] for v in group.to_pylist()], event_type, ctx
            )
            columns = _Columns(event_type, ctx, None, rows, stamps, decoded)
            for row, error in zip(rows, group_errors, strict=True):
                if error is not None:
                    errors[row] = error
        for index, row in enumerate(rows):
            if errors[row] is None:
                payloads[row] = _Row(columns, index)
    return list(
        zip(
            meta.column("position").to_pylist(),
            meta.column("stream_id").to_pylist(),
            meta.column("version").to_pylist(),
            meta.column("topic").to_pylist(),
            payloads,
            errors,
            strict=True,
        )
    )


class _Stamps:
    """A batch's timestamps (split off before parsing), as ``datetime`` when first read."""

    def __init__(self, timestamps: pa.Array) -> None:
        self._arrow: pa.Array | None = timestamps
        self._values: list[Any] = []

    def values(self) -> list[Any]:
        if self._arrow is not None:
            self._values = _python_values(pd.Series(self._arrow.to_pandas()).array)
            self._arrow = None
        return self._values


class _Columns:
    """One event type's payload columns in a batch, each decoded when first read.

    A handler that reads two fields of an event type with ten decodes two columns.
    """

    __slots__ = ("_ctx", "_decoded", "_label", "_rows", "_stamps", "_table", "bad", "names")

    def __init__(
        self,
        label: str,
        ctx: Context,
        table: pa.Table | None,
        rows: list[int],
        stamps: _Stamps | None,
        decoded: Mapping[str, Any] | None = None,
    ) -> None:
        self._label = label
        self._ctx = ctx
        self._table = table
        self._rows = rows
        self._stamps = stamps
        self._decoded: dict[str, list[Any]] = {
            name: _python_values(column) for name, column in (decoded or {}).items()
        }
        names = list(table.column_names) if table is not None else list(self._decoded)
        if stamps is not None and "timestamp" not in names:
            names.append("timestamp")
        self.names = names
        self.bad: dict[str, dict[int, str]] = {}
        """Per field, the rows whose value of a known stored type does not decode, and why."""

    def get(self, name: str) -> list[Any]:
        """The column's values (``KeyError`` if the event type has no such field)."""
        values = self._decoded.get(name)
        if values is not None:
            return values
        if name not in self.names:
            raise KeyError(name)
        if self._table is not None and name in self._table.column_names:
            array = self._table.column(name).combine_chunks()
            found: dict[int, str] = {}
            label = f"{self._label}.{name}"
            values = _python_values(column_values(array, label, self._ctx, found))
            if found:
                self.bad[name] = found
        else:  # the timestamp, split off the states before parsing
            assert self._stamps is not None
            every = self._stamps.values()
            values = [every[row] for row in self._rows]
        self._decoded[name] = values
        return values


def _python_values(values: Any) -> list[Any]:
    """A decoded column as Python values: datetimes as ``datetime``, missing as ``None``."""
    if isinstance(values, pd.arrays.DatetimeArray):
        out: list[Any] = values.to_pydatetime().tolist()
    else:
        out = values.tolist()
    if isinstance(values, np.ndarray) and values.dtype.kind in "iub":
        return out
    missing = pd.isna(values)
    if isinstance(missing, np.ndarray) and missing.any():
        for index in np.flatnonzero(missing):
            out[index] = None
    return out


def _count_rows(reader: RecordReader, after: int, last: int) -> Future[int]:
    """How many records there are in ``(after, last]``: counted by SQLite in a thread of its
    own (it overlaps the first batch); from other stores, a guess the columns grow beyond.
    """
    if reader.parallel:  # a connection of its own: counted alongside
        pool = ThreadPoolExecutor(1, thread_name_prefix="workbench-count")
        counted = pool.submit(reader.count, after, last)
        pool.shutdown(wait=False)  # the count goes on; the thread ends with it
        return counted
    guess: Future[int] = Future()
    guess.set_result(min(last - after, 100_000))
    return guess


def _prefetch(batches: Iterator[T]) -> Iterator[T]:
    """Produce the next item in a thread while this one is used.

    SQLite and pyarrow release the GIL while they work, so stages overlap.
    """
    done = object()
    queue: Queue[Any] = Queue(maxsize=_DEPTH)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        queue.put(batch, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(done)
        except BaseException as e:  # handed to the consumer
            queue.put(e)

    thread = threading.Thread(target=produce, name="workbench-load-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    positions = df["position"].to_numpy()
    if len(positions) > 1 and not (positions[1:] > positions[:-1]).all():
        order = np.argsort(positions, kind="stable")
        df = df.take(order).reset_index(drop=True)
    return df


def _in_range(df: pd.DataFrame, start: datetime | None, stop: datetime | None) -> pd.DataFrame:
    keep = pd.Series(True, index=df.index)
    ts = df["timestamp"]
    if start is not None:
        keep &= ts >= pd.Timestamp(start)
    if stop is not None:
        keep &= ts < pd.Timestamp(stop)
    return df[keep.fillna(False).to_numpy(dtype=bool)]


def event_types_of(source: HistorySource, **settings: Any) -> list[str]:
    """The short names of the event types in a history, sorted.

    ``settings`` are :func:`~workbench.reading.opening.open_history`'s keywords.

    >>> from workbench.samples import SAMPLE_TICKETING
    >>> "TicketPurchase.Paid" in event_types_of(SAMPLE_TICKETING)
    True
    """
    return open_history(source, **settings).event_types()


def _assemble(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in FIXED_COLUMNS})
        empty["position"] = empty["position"].astype("int64")
        empty["version"] = empty["version"].astype("int64")
        empty["timestamp"] = pd.Series(dtype="datetime64[us, UTC]")
        for name in TRACE_COLUMNS:
            empty[name] = pd.Series(no_strings(0))
        return empty
    df = _sorted(combine_frames(frames)) if len(frames) > 1 else frames[0]
    return _in_column_order(df)


def _in_column_order(df: pd.DataFrame) -> pd.DataFrame:
    """The fixed columns first, then the payload, the trace, ``error``; categories for the types."""
    own = {*FIXED_COLUMNS, *TRACE_COLUMNS, "error"}
    payload = [c for c in df.columns if c not in own]
    columns = FIXED_COLUMNS + payload + TRACE_COLUMNS + (["error"] if "error" in df.columns else [])
    df = df[columns]
    for name in ("event_type", "topic"):
        if not isinstance(df[name].dtype, pd.CategoricalDtype):
            df[name] = df[name].astype("category")
    return df
