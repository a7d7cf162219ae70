"""The one place stored event state is turned into Python values.

Everything that reads a history (the loader, projections, process runs, time
travel, the stream viewer, the command panel) decodes through this module, so
the same stored event gives the same values whatever the source: an open
application, an SQLite file or a store string.

Three jobs:

- **Unwrapping** (:class:`Codec`): undo an application's encryption and
  compression (its ``CIPHER_KEY`` and ``COMPRESSOR_TOPIC`` settings).
  Compressed states are recognised by their bytes (zlib and gzip), so a
  compressed store reads without settings; an encrypted one needs its key, and
  :func:`diagnose` says so.
- **Values** (:data:`STORED_TYPES`): eventsourcing's ``JSONTranscoder`` writes a
  value it cannot put in plain JSON as ``{"_type_": name, "_data_": data}``.
  The names in this one table become Python values (``Decimal``, ``UUID``,
  ``datetime``, ...); any other name, such as an application's own
  transcoding of an Enum or a value object, keeps its raw data, because
  reading a history never runs the code that wrote it.
- **Names** (:func:`short_name`): the event type of a topic.

Limits: a stored state is refused (:class:`DecodeError`, and the loader marks
its row) when it, or what it decompresses to, is over :data:`MAX_STATE_SIZE`
bytes, when it nests objects and lists more than :data:`MAX_DEPTH` deep, or
when it is not text (invalid UTF-8, or an escaped lone surrogate such as
``"\\ud800"``). No real event comes near these; a hostile or corrupt one
cannot then exhaust the memory, the stack or a parser (pyarrow's JSON reader
crashes the process on a state nested 20,000 deep).

>>> decode_state(b'{"total":{"_type_":"decimal_str","_data_":"9.50"},"n":2}')
{'total': Decimal('9.50'), 'n': 2}
>>> short_name("shop.domain:Order.Placed")
'Order.Placed'
>>> import gzip
>>> Codec().unwrap(gzip.compress(b'{"a":1}'))
b'{"a":1}'
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from workbench.stores import StoreError

__all__ = [
    "MAX_DEPTH",
    "MAX_STATE_SIZE",
    "STORED_TYPES",
    "Codec",
    "DecodeError",
    "LoadError",
    "decode_fields",
    "decode_state",
    "decode_value",
    "diagnose",
    "is_encoded",
    "lone_surrogate",
    "malformed",
    "screen_state",
    "short_name",
]

_ZLIB_TOPIC = "eventsourcing.compressor:ZlibCompressor"
_GZIP_MAGIC = b"\x1f\x8b"

MAX_DEPTH = 100
"""Objects and lists nested deeper than this in one stored state are refused."""
MAX_STATE_SIZE = 16 * 1024 * 1024
"""A stored state over this many bytes (once decompressed) is refused."""
_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")


class LoadError(StoreError):
    """A history could not be read; the message says what is wrong and what to do."""


class DecodeError(LoadError, ValueError):
    """Stored events could not be decoded; the message says why and what to do."""


def _timedelta(data: Any) -> timedelta:
    if isinstance(data, (int, float)):
        return timedelta(seconds=data)
    raise ValueError(f"not a duration: {data!r}")


STORED_TYPES: Mapping[str, Callable[[Any], Any]] = {
    "uuid_hex": lambda data: UUID(data),
    "uuid_str": lambda data: UUID(data),
    "decimal_str": Decimal,
    "datetime_iso": datetime.fromisoformat,
    "date_iso": date.fromisoformat,
    "time_iso": time.fromisoformat,
    "timedelta_seconds": _timedelta,
}
"""The ``_type_`` names decoded to Python values; any other keeps its raw ``_data_``."""

DECODERS = STORED_TYPES  # the name the column decoder uses


def is_encoded(value: Any) -> bool:
    """Whether ``value`` is an eventsourcing ``{"_type_": ..., "_data_": ...}`` encoding."""
    return type(value) is dict and len(value) == 2 and "_type_" in value and "_data_" in value


def decode_value(value: Any, unknown: set[str] | None = None) -> Any:
    """Decode encodings anywhere inside ``value`` (dicts and lists included).

    A ``_type_`` not in :data:`STORED_TYPES` is replaced by its raw data (its
    name is added to ``unknown`` when given). A known one whose data is
    malformed is kept as raw data too. A dict or list with nothing to decode
    inside comes back as it is (not copied). A value nested more than
    :data:`MAX_DEPTH` deep raises :class:`DecodeError`.

    >>> decode_value({"_type_": "uuid_hex", "_data_": "8e4873e361cc5282b7b043f52c1153dc"})
    UUID('8e4873e3-61cc-5282-b7b0-43f52c1153dc')
    >>> names = set()
    >>> decode_value([{"_type_": "money", "_data_": [5, "EUR"]}], names), names
    ([[5, 'EUR']], {'money'})
    """
    return _decode(value, unknown, 1)


def _decode(value: Any, unknown: set[str] | None, depth: int) -> Any:
    kind = type(value)
    if kind is not dict and kind is not list:
        return value
    if depth > MAX_DEPTH:
        raise DecodeError(_too_deep())
    if kind is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            name = value["_type_"]
            data = _decode(value["_data_"], unknown, depth + 1)
            decoder = STORED_TYPES.get(name) if isinstance(name, str) else None
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
        for item in value.values():
            if type(item) is dict or type(item) is list:
                return {k: _decode(v, unknown, depth + 1) for k, v in value.items()}
        return value
    for item in value:
        if type(item) is dict or type(item) is list:
            return [_decode(v, unknown, depth + 1) for v in value]
    return value


def decode_fields(
    data: dict[str, Any], unknown: set[str] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """A state's fields decoded, a field of a known type that does not decode as ``None``.

    Returns the fields and, for each field left ``None`` that way, what was
    wrong with it (the loader marks the row with it: a column keeps its type).
    Inside a field, values are decoded as :func:`decode_value` does.

    >>> decode_fields({"at": {"_type_": "datetime_iso", "_data_": "soon"}, "n": 1})
    ({'at': None, 'n': 1}, ["at: 'soon' is not a valid datetime_iso value"])
    """
    fields: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in data.items():
        name = value.get("_type_") if is_encoded(value) else None
        if isinstance(name, str) and name in STORED_TYPES:
            raw = _decode(value["_data_"], unknown, 3)
            try:
                fields[key] = STORED_TYPES[name](raw)
            except (ValueError, TypeError, ArithmeticError):
                fields[key] = None
                problems.append(malformed(key, name, raw))
        else:
            fields[key] = _decode(value, unknown, 2)
    return fields, problems


def malformed(field: str, name: str, raw: Any) -> str:
    """What to say of a value stored as ``name`` whose data ``raw`` does not decode."""
    text = repr(raw)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{field}: {text} is not a valid {name} value"


def _too_deep() -> str:
    return (
        f"the stored state nests objects and lists more than {MAX_DEPTH} deep "
        "(more than any event needs: a corrupt or hostile row)"
    )


def _too_big(size: int) -> str:
    return (
        f"the stored state is {size:,} bytes, over the limit of {MAX_STATE_SIZE:,} "
        "(more than any event needs: a corrupt or hostile row)"
    )


def screen_state(state: bytes) -> str | None:
    """Why the JSON ``state`` must not be parsed by a fast parser, or ``None``.

    Checks what can be checked without parsing (its size), and its nesting
    depth when it has more brackets than :data:`MAX_DEPTH` (parsed by Python's
    ``json``, which cannot crash). Quick for ordinary states.

    >>> screen_state(b'{"a":[1,2]}') is None
    True
    >>> screen_state(b'{"a":' + b"[" * 500 + b"]" * 500 + b"}")[:44]
    'the stored state nests objects and lists mor'
    """
    if len(state) > MAX_STATE_SIZE:
        return _too_big(len(state))
    if state.count(b"[") + state.count(b"{") <= MAX_DEPTH:
        return None
    try:
        data = json.loads(state)
    except RecursionError:
        return _too_deep()
    except ValueError:
        return None  # not JSON: the parser says so, safely (it never gets deep)
    try:
        _decode(data, None, 1)
    except DecodeError as e:
        return str(e)
    return None


def lone_surrogate(state: bytes, data: Any) -> str | None:
    """What is wrong when ``data`` (parsed from ``state``) holds escaped lone surrogates.

    JSON may escape half of a UTF-16 pair (``"\\ud800"``); Python reads it
    into a string no encoder can write, so such a state is not text.
    """
    if not _SURROGATE_ESCAPE.search(state):
        return None
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        return f"the stored state holds an escaped lone surrogate ({e.reason}): it is not text"
    return None


def decode_state(state: bytes, unknown: set[str] | None = None) -> dict[str, Any]:
    """A stored event's JSON state (already unwrapped) as a dict, encoded values decoded.

    Raises :class:`DecodeError` if the bytes are not a JSON object, or are
    over the limits (:data:`MAX_STATE_SIZE`, :data:`MAX_DEPTH`).
    """
    if len(state) > MAX_STATE_SIZE:
        raise DecodeError(_too_big(len(state)))
    try:
        data = json.loads(state)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        reason = _too_deep() if isinstance(e, RecursionError) else str(e)
        raise DecodeError(f"the stored state is not valid JSON ({reason})") from None
    if not isinstance(data, dict):
        raise DecodeError(
            f"the stored state is JSON but not an object (it is {type(data).__name__})"
        )
    problem = lone_surrogate(state, data)
    if problem is not None:
        raise DecodeError(problem)
    decoded: dict[str, Any] = decode_value(data, unknown)
    return decoded


def short_name(topic: str) -> str:
    """The event type of a topic: the qualified class name after the colon.

    A name without a colon is already short and comes back as it is.

    >>> short_name("workbench.examples.ticketing.domainmodel:TicketPurchase.Paid")
    'TicketPurchase.Paid'
    >>> short_name("TicketPurchase.Paid")
    'TicketPurchase.Paid'
    """
    return topic.rsplit(":", 1)[-1]


def compression_of(state: bytes) -> str | None:
    """``"gzip"`` or ``"zlib"`` when ``state`` is JSON compressed that way, else ``None``.

    >>> compression_of(zlib.compress(b'{"a":1}')), compression_of(b'{"a":1}')
    ('zlib', None)
    """
    if state[:2] == _GZIP_MAGIC:
        return "gzip" if _first_byte(state, 31) == b"{" else None
    if state[:1] in (b"\x78", b"\x58", b"\x68", b"\x08", b"\x18", b"\x28", b"\x38", b"\x48"):
        return "zlib" if _first_byte(state, 15) == b"{" else None
    return None


def _first_byte(state: bytes, wbits: int) -> bytes:
    """The first byte ``state`` decompresses to (only that much is decompressed)."""
    try:
        return zlib.decompressobj(wbits).decompress(state, 1)
    except zlib.error:
        return b""


def diagnose(state: bytes) -> str:
    """Why a stored state does not look like JSON, and which setting to give.

    >>> diagnose(zlib.compress(b'{"a":1}')).startswith("the events are compressed with zlib")
    True
    """
    if state[:1] == b"{":
        return "the events look like plain JSON"
    found = compression_of(state)
    if found is not None:
        topic = "gzip" if found == "gzip" else _ZLIB_TOPIC
        return (
            f"the events are compressed with {found}: load them with compressor={found!r} "
            f"(the application's COMPRESSOR_TOPIC setting, {topic!r})"
        )
    return (
        "the events are encrypted (or not JSON): give the application's cipher key, "
        "cipher_key='...' (its CIPHER_KEY setting); if they are also compressed, add "
        "compressor='zlib' or compressor='gzip' (its COMPRESSOR_TOPIC setting)"
    )


class _Compressor:
    """A compressor found by its bytes (anything with ``decompress``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def compress(self, data: bytes) -> bytes:
        return gzip.compress(data) if self.name == "gzip" else zlib.compress(data)

    def decompress(self, data: bytes) -> bytes:
        return inflate(data, gzip=self.name == "gzip")


def inflate(data: bytes, *, gzip: bool = False, limit: int | None = None) -> bytes:
    """zlib (or gzip) ``data`` decompressed, refusing more than ``limit`` bytes out.

    ``limit`` is :data:`MAX_STATE_SIZE` unless given.

    A few bytes can decompress to gigabytes: this stops at the limit.

    >>> inflate(zlib.compress(b"x" * 10))
    b'xxxxxxxxxx'
    """
    limit = MAX_STATE_SIZE if limit is None else limit
    out = bytearray()
    rest = data
    while True:
        inflater = zlib.decompressobj(31 if gzip else 15)
        out += inflater.decompress(rest, limit + 1 - len(out))
        if len(out) > limit:
            raise DecodeError(
                f"the stored state decompresses to more than {limit:,} bytes "
                "(more than any event needs: a corrupt or hostile row)"
            )
        if inflater.unconsumed_tail:
            raise DecodeError("the stored state does not decompress to an end")
        if not inflater.eof:
            raise zlib.error("incomplete or truncated stream")
        rest = inflater.unused_data
        if not gzip or not rest:  # gzip allows several members, one after another
            return bytes(out)


@dataclass(frozen=True)
class Codec:
    """How a store's states are wrapped: an eventsourcing cipher and compressor (or none).

    Build one with :meth:`from_settings` (the application's settings, by
    name) or :meth:`of_app` (an open application's own). Without a compressor,
    :meth:`unwrap` still recognises zlib and gzip by their bytes.

    >>> Codec.from_settings(compressor="zlib").compressor_name
    'zlib'
    """

    cipher: Any | None = None
    """An eventsourcing ``Cipher`` (``decrypt``), or ``None``."""
    compressor: Any | None = None
    """An eventsourcing ``Compressor`` or the ``gzip``/``zlib`` module (``decompress``)."""

    @property
    def plain(self) -> bool:
        """Neither encrypted nor compressed by setting."""
        return self.cipher is None and self.compressor is None

    @property
    def compressor_name(self) -> str | None:
        """A short name of the compressor (``"zlib"``, ``"gzip"``, or its class name)."""
        if self.compressor is None:
            return None
        name = getattr(self.compressor, "name", None) or getattr(
            self.compressor, "__name__", type(self.compressor).__name__
        )
        return {"ZlibCompressor": "zlib"}.get(str(name), str(name))

    def unwrap(self, state: bytes) -> bytes:
        """One stored state as JSON bytes: decrypted, then decompressed.

        Raises :class:`DecodeError` saying which setting is missing or wrong.
        """
        if self.cipher is not None:
            try:
                state = self.cipher.decrypt(state)
            except Exception as e:
                raise DecodeError(
                    f"cannot decrypt a stored event ({type(e).__name__}: {e}): check the "
                    "cipher key (the application's CIPHER_KEY setting)"
                ) from None
        if self.compressor is not None:
            try:
                if type(self.compressor).__name__ == "ZlibCompressor":
                    return inflate(state)  # the same, with a limit on what comes out
                return bytes(self.compressor.decompress(state))
            except DecodeError:
                raise
            except Exception as e:
                raise DecodeError(
                    f"cannot decompress a stored event with {self.compressor_name} "
                    f"({type(e).__name__}: {e}): {diagnose(state)}"
                ) from None
        if state[:1] != b"{" and state:
            found = compression_of(state)
            if found is not None:
                try:
                    return _Compressor(found).decompress(state)
                except zlib.error as e:
                    raise DecodeError(f"cannot decompress a stored event ({found}: {e})") from None
        return state

    def payload(self, state: bytes, unknown: set[str] | None = None) -> dict[str, Any]:
        """One stored state as a dict of Python values (see :func:`decode_state`)."""
        data = self.unwrap(state)
        if data[:1] != b"{":
            raise DecodeError(f"cannot read a stored event: {diagnose(data)}")
        return decode_state(data, unknown)

    def detected(self, state: bytes) -> Codec:
        """This codec, or one with the compressor ``state`` shows when none was set."""
        if not self.plain or state[:1] == b"{":
            return self
        found = compression_of(state)
        return self if found is None else Codec(compressor=_Compressor(found))

    @classmethod
    def of_app(cls, app: Any) -> Codec:
        """An open eventsourcing application's own cipher and compressor."""
        mapper = getattr(app, "mapper", None)
        return cls(getattr(mapper, "cipher", None), getattr(mapper, "compressor", None))

    @classmethod
    def from_settings(
        cls,
        *,
        cipher_key: str | None = None,
        compressor: str | Any | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Codec:
        """The cipher and compressor named by the arguments or by ``env``.

        ``compressor`` may be ``"zlib"``, ``"gzip"``, a topic such as
        ``"eventsourcing.compressor:ZlibCompressor"``, or a compressor object.
        ``cipher_key`` (or ``env["CIPHER_KEY"]``) makes an ``AESCipher``
        (``env["CIPHER_TOPIC"]`` picks another cipher class).
        """
        env = dict(env or {})
        if compressor is None:
            compressor = env.get("COMPRESSOR_TOPIC") or None
        if isinstance(compressor, str):
            compressor = _compressor_named(compressor)
        key = cipher_key or env.get("CIPHER_KEY")
        cipher = _cipher_for(key, env.get("CIPHER_TOPIC")) if key else None
        return cls(cipher, compressor)


def _compressor_named(name: str) -> Any:
    if name.lower() in ("zlib", "gzip"):
        return _Compressor(name.lower())
    from eventsourcing.utils import resolve_topic

    try:
        found = resolve_topic(name)
    except Exception as e:
        raise DecodeError(
            f"cannot use the compressor {name!r} ({e}); give 'zlib', 'gzip' "
            f"or a topic such as '{_ZLIB_TOPIC}'"
        ) from None
    return found() if isinstance(found, type) else found


def _cipher_for(key: str, topic: str | None) -> Any:
    from eventsourcing.utils import Environment, resolve_topic

    topic = topic or "eventsourcing.cipher:AESCipher"
    try:
        cipher_cls = resolve_topic(topic)
    except ImportError as e:
        raise DecodeError(
            f"cannot decrypt: {e}. The default cipher needs pycryptodome "
            "(pip install pycryptodome); or set CIPHER_TOPIC to "
            "'eventsourcing.cryptography:AESCipher' and pip install cryptography"
        ) from None
    try:
        return cipher_cls(Environment(env={"CIPHER_KEY": key}))
    except Exception as e:
        raise DecodeError(
            f"the cipher key is not usable ({e}); give the application's CIPHER_KEY "
            "(base64 of 16, 24 or 32 bytes)"
        ) from None
