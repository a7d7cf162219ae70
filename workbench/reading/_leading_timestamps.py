"""Split the leading timestamp off stored JSON states, without parsing them.

eventsourcing stores an event's state as JSON that, for events of its own
``Aggregate`` classes, starts with the timestamp encoded as a tagged value::

    {"timestamp":{"_type_":"datetime_iso","_data_":"2018-03-07T09:00:00+00:00"},"code":...}

The loader's JSON parser spends about a quarter of its time on that part.
:func:`split_leading_timestamps` reads the timestamps straight from their
fixed place and returns the states with the part taken out
(``{"code":...}``), as one buffer in the order asked for, ready to parse.
Any state that does not start exactly so (another key first, a timestamp
without a UTC offset, a corrupt row) makes it return ``None``: the caller
then parses the states whole, as before.

>>> import pyarrow as pa
>>> ts = b'{"_type_":"datetime_iso","_data_":"2018-03-07T09:00:00+00:00"}'
>>> states = pa.array([b'{"timestamp":' + ts + b',"n":1}\\n'], pa.large_binary())
>>> split = split_leading_timestamps(states)
>>> split.states.to_pylist(), split.timestamps.to_pylist()[0].isoformat()
([b'{"n":1}\\n'], '2018-03-07T09:00:00+00:00')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["PREFIX", "SplitStates", "split_leading_timestamps"]

PREFIX = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'
"""How a state starts when its first field is an encoded datetime called ``timestamp``."""

_AT = len(PREFIX)
_LENGTHS = (25, 32)  # "2018-03-07T09:00:00+00:00" and with microseconds
_QUOTE, _BRACE, _COMMA, _OPEN = (ord(c) for c in '"},{')


@dataclass
class SplitStates:
    states: pa.Array
    """The states without their timestamps (large_binary, each ending in a newline)."""
    timestamps: pa.Array
    """Each state's timestamp (``timestamp[us, UTC]``), in the states' original order."""


def split_leading_timestamps(
    states: pa.Array, order: np.ndarray[Any, Any] | None = None
) -> SplitStates | None:
    """The states with their leading timestamps taken out, in ``order`` (or as they are).

    ``states`` is a large_binary array of JSON lines; it is only read (the
    rests are copied out, and each copy's first byte made a ``{``). ``None``
    unless every state starts with an encoded timestamp with a UTC offset.
    """
    count = len(states)
    data = states.buffers()[2]
    if count == 0 or states.null_count or data.size >= 2**31:
        return None
    if not pc.all(pc.starts_with(states, pattern=PREFIX.decode())).as_py():
        return None
    offsets = np.frombuffer(states.buffers()[1], dtype=np.int64)[
        states.offset : states.offset + count + 1
    ]
    starts, ends = offsets[:-1], offsets[1:]
    sizes = ends - starts
    if int(sizes.min()) < _AT + _LENGTHS[0] + 3:
        return None  # too short for a timestamp and what must follow it
    raw = np.frombuffer(data, dtype=np.uint8)
    short = raw[starts + _AT + _LENGTHS[0]] == _QUOTE
    if not short.all() and int(sizes[~short].min()) < _AT + _LENGTHS[1] + 3:
        return None
    length = np.where(short, _LENGTHS[0], _LENGTHS[1])
    close = starts + _AT + length  # the closing quote of the ISO string
    ok = (raw[close] == _QUOTE) & (raw[close + 1] == _BRACE)
    after = raw[close + 2]
    ok &= (after == _COMMA) | (after == _BRACE)
    if not ok.all():
        return None
    texts = pc.if_else(
        pa.array(short),
        pc.binary_slice(states, _AT, _AT + _LENGTHS[0]),
        pc.binary_slice(states, _AT, _AT + _LENGTHS[1]),
    ).cast(pa.string())
    try:
        timestamps = pc.cast(texts, pa.timestamp("us", "UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # not ISO datetimes with an offset: parse the states whole
    # The rest of each object starts at the comma after the timestamp, or, for a
    # state with nothing but the timestamp, at the brace that closes it: copied out,
    # that first byte becomes the "{" that opens the rest.
    rest = np.where(after == _COMMA, close + 2, close + 1)
    if order is not None:
        rest, ends = rest[order], ends[order]
    rests = _gather(data, rest, ends)
    copied = rests.buffers()[2]
    if copied is None or not copied.is_mutable:
        return None
    firsts = np.frombuffer(rests.buffers()[1], dtype=np.int64)[:-1]
    np.frombuffer(copied, dtype=np.uint8)[firsts] = _OPEN
    return SplitStates(rests, timestamps)


def _gather(data: pa.Buffer, starts: np.ndarray[Any, Any], ends: np.ndarray[Any, Any]) -> pa.Array:
    """The byte ranges ``[starts, ends)`` of ``data``, one after another, as large_binary."""
    count = len(starts)
    lengths = (ends - starts).astype(np.int32)
    views = np.zeros((count, 16), dtype=np.uint8)
    views[:, 0:4] = lengths.view(np.uint8).reshape(count, 4)
    raw = np.frombuffer(data, dtype=np.uint8)
    # A binary view holds a value of up to 12 bytes itself; a longer one as its first
    # four bytes, a buffer index (0) and an offset into that buffer.
    small = lengths <= 12
    if not small.any():  # the usual case: no masks needed
        views[:, 4:8] = raw[starts[:, None] + np.arange(4)]
        views[:, 12:16] = starts.astype(np.int32).view(np.uint8).reshape(-1, 4)
    else:
        large = ~small
        views[large, 4:8] = raw[starts[large, None] + np.arange(4)]
        views[large, 12:16] = starts[large].astype(np.int32).view(np.uint8).reshape(-1, 4)
        inline = np.minimum(starts[small, None] + np.arange(12), len(raw) - 1)
        head = raw[inline]
        head[np.arange(12) >= lengths[small, None]] = 0
        views[small, 4:16] = head
    array = pa.Array.from_buffers(pa.binary_view(), count, [None, pa.py_buffer(views), data])
    return array.cast(pa.large_binary())
