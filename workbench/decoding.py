"""Decode eventsourcing's stored event state without importing the code that wrote it.

eventsourcing's ``JSONTranscoder`` writes values it cannot put in plain JSON as
``{"_type_": name, "_data_": data}``. The library ships ``uuid_hex``,
``decimal_str`` and ``datetime_iso``; applications register their own (the
teaching domain adds ``date_iso``). This module knows a small set of simple
ones and keeps any other as its raw data, with a note saying so.

>>> decode_state(b'{"total":{"_type_":"decimal_str","_data_":"9.50"},"n":2}')
{'total': Decimal('9.50'), 'n': 2}
>>> short_name("shop.domain:Order.Placed")
'Order.Placed'
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

__all__ = [
    "DECODERS",
    "DecodeError",
    "decode_state",
    "decode_value",
    "is_encoded",
    "short_name",
    "unwrap_state",
]


class DecodeError(Exception):
    """Stored events could not be decoded; the message says why and what to do."""


def _timedelta(data: Any) -> timedelta:
    if isinstance(data, (int, float)):
        return timedelta(seconds=data)
    raise ValueError(f"not a duration: {data!r}")


DECODERS: dict[str, Callable[[Any], Any]] = {
    "uuid_hex": lambda data: UUID(data),
    "decimal_str": Decimal,
    "datetime_iso": datetime.fromisoformat,
    "date_iso": date.fromisoformat,
    "time_iso": time.fromisoformat,
    "uuid_str": lambda data: UUID(data),
    "timedelta_seconds": _timedelta,
}
"""The ``_type_`` names decoded to Python values; any other keeps its raw ``_data_``."""


def is_encoded(value: Any) -> bool:
    """Whether ``value`` is an eventsourcing ``{"_type_": ..., "_data_": ...}`` encoding."""
    return isinstance(value, dict) and len(value) == 2 and "_type_" in value and "_data_" in value


def decode_value(value: Any, unknown: set[str] | None = None) -> Any:
    """Decode encodings anywhere inside ``value`` (dicts and lists included).

    A ``_type_`` not in :data:`DECODERS` is replaced by its raw data (its name
    is added to ``unknown`` when given). A known one whose data is malformed
    is kept as raw data too.

    >>> decode_value({"_type_": "uuid_hex", "_data_": "8e4873e361cc5282b7b043f52c1153dc"})
    UUID('8e4873e3-61cc-5282-b7b0-43f52c1153dc')
    >>> names = set()
    >>> decode_value([{"_type_": "money", "_data_": [5, "EUR"]}], names), names
    ([[5, 'EUR']], {'money'})
    """
    if isinstance(value, dict):
        if is_encoded(value):
            name = value["_type_"]
            data = decode_value(value["_data_"], unknown)
            decoder = DECODERS.get(name) if isinstance(name, str) else None
            if decoder is None:
                if unknown is not None:
                    unknown.add(str(name))
                return data
            try:
                return decoder(data)
            except (ValueError, TypeError, ArithmeticError):
                if unknown is not None:
                    unknown.add(f"{name} (malformed data)")
                return data
        return {k: decode_value(v, unknown) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v, unknown) for v in value]
    return value


def decode_state(state: bytes, unknown: set[str] | None = None) -> dict[str, Any]:
    """A stored event's JSON state as a dict with encoded values decoded.

    Raises :class:`DecodeError` if the bytes are not a JSON object.
    """
    try:
        data = json.loads(state)
    except (ValueError, UnicodeDecodeError) as e:
        raise DecodeError(f"the stored state is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise DecodeError(
            f"the stored state is JSON but not an object (it is {type(data).__name__})"
        )
    decoded: dict[str, Any] = decode_value(data, unknown)
    return decoded


def short_name(topic: str) -> str:
    """The event's class name from its topic (``module:Qual.Name`` gives ``Qual.Name``)."""
    return topic.rsplit(":", 1)[-1] if ":" in topic else topic.rsplit(".", 1)[-1]


def unwrap_state(
    state: bytes, *, cipher: Any | None = None, compressor: Any | None = None
) -> bytes:
    """Undo eventsourcing's encryption and compression of one stored state.

    ``cipher`` and ``compressor`` are eventsourcing ``Cipher`` / ``Compressor``
    objects (anything with ``decrypt`` / ``decompress``).
    """
    if cipher is not None:
        state = cipher.decrypt(state)
    if compressor is not None:
        state = compressor.decompress(state)
    return state


def diagnose(state: bytes) -> str:
    """Why a stored state does not look like JSON, and which setting to give.

    >>> import zlib
    >>> diagnose(zlib.compress(b'{"a":1}')).startswith("the events are compressed")
    True
    """
    if state[:1] == b"{":
        return "the events look like plain JSON"
    try:
        inner = zlib.decompress(state)
    except zlib.error:
        inner = b""
    if inner[:1] == b"{":
        return (
            "the events are compressed with zlib: load them with "
            "compressor='eventsourcing.compressor:ZlibCompressor' "
            "(the application's COMPRESSOR_TOPIC setting), "
            "e.g. env={'COMPRESSOR_TOPIC': 'eventsourcing.compressor:ZlibCompressor'}"
        )
    return (
        "the events are encrypted (or not JSON): load them with the application's "
        "cipher key, cipher_key='...' (its CIPHER_KEY setting, e.g. "
        "env={'CIPHER_KEY': '...'}); if they are also compressed, add "
        "compressor='eventsourcing.compressor:ZlibCompressor' (COMPRESSOR_TOPIC)"
    )
