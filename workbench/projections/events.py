"""Decoded views of stored events, made from raw records without importing topics.

An :class:`EventView` is what a projection's handler receives. It decodes the
stored JSON only when a field is first read, and converts eventsourcing's
``{"_type_": ..., "_data_": ...}`` values (decimals, UUIDs, datetimes, dates)
back into Python objects.

>>> from workbench.records import Record
>>> when = b'{"_type_":"datetime_iso","_data_":"2018-03-07T09:00:00+00:00"}'
>>> state = b'{"timestamp":' + when + b',"capacity":100}'
>>> record = Record(7, "c0ffee", 2, "shop.domain:Conference.TicketTypeAdded", state)
>>> event = EventView(record, EventDecoder())
>>> event.type, event.capacity, event["capacity"], event.timestamp.year
('Conference.TicketTypeAdded', 100, 100, 2018)
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from workbench.records import Record

__all__ = ["EventDecoder", "EventView", "short_name"]


def short_name(topic: str) -> str:
    """The event type of a topic: the part after the colon.

    >>> short_name("workbench.examples.ticketing.domainmodel:TicketPurchase.Paid")
    'TicketPurchase.Paid'
    """
    return topic.rsplit(":", 1)[-1]


_DEFAULT_TYPES: dict[str, Callable[[Any], Any]] = {
    "decimal_str": Decimal,
    "uuid_hex": UUID,
    "datetime_iso": datetime.fromisoformat,
    "date_iso": date.fromisoformat,
}


_raw_decode = json.JSONDecoder().raw_decode


class EventDecoder:
    """Turns stored ``state`` bytes into a payload dict.

    Knows eventsourcing's standard transcodings (``decimal_str``, ``uuid_hex``,
    ``datetime_iso``) and ``date_iso``; ``transcodings`` adds others (name to a
    function of the stored data). Values of unknown transcodings are left as
    their stored data. ``unwrap`` undoes an application's cipher or compressor
    (see :meth:`for_app`); without it, zlib-compressed state is detected.
    """

    def __init__(
        self,
        transcodings: Mapping[str, Callable[[Any], Any]] | None = None,
        unwrap: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.types = dict(_DEFAULT_TYPES)
        self.types.update(transcodings or {})
        self.unwrap = unwrap

    @classmethod
    def for_app(cls, app: Any) -> EventDecoder:
        """A decoder using ``app``'s transcodings, cipher and compressor."""
        mapper = getattr(app, "mapper", None)
        transcoder = getattr(mapper, "transcoder", None)
        names = getattr(transcoder, "names", {}) or {}
        types = {name: t.decode for name, t in names.items() if name not in _DEFAULT_TYPES}
        cipher = getattr(mapper, "cipher", None)
        compressor = getattr(mapper, "compressor", None)
        unwrap: Callable[[bytes], bytes] | None = None
        if cipher is not None or compressor is not None:

            def unwrap(state: bytes) -> bytes:
                if cipher is not None:
                    state = cipher.decrypt(state)
                if compressor is not None:
                    state = compressor.decompress(state)
                return state

        return cls(types, unwrap)

    def payload(self, state: bytes) -> dict[str, Any]:
        """The raw JSON payload (transcoded values not yet converted)."""
        if self.unwrap is not None:
            state = self.unwrap(state)
        elif state[:1] != b"{":
            try:
                state = zlib.decompress(state)
            except zlib.error:
                raise ValueError(
                    "this event's state is neither JSON nor zlib-compressed JSON: the store "
                    "is probably encrypted; open the application (with its CIPHER_KEY) and "
                    "read through it"
                ) from None
        result: dict[str, Any] = _raw_decode(state.decode("utf-8"))[0]
        return result

    def convert(self, value: Any) -> Any:
        """Convert transcoded values (``{"_type_": ..., "_data_": ...}``) inside ``value``.

        A dict or list with nothing to convert inside comes back as it is (not copied).
        """
        kind = type(value)
        if kind is dict:
            if "_type_" in value and len(value) == 2 and "_data_" in value:
                decode = self.types.get(value["_type_"])
                data = self.convert(value["_data_"])
                return decode(data) if decode is not None else data
            for item in value.values():
                if type(item) is dict or type(item) is list:
                    return {k: self.convert(v) for k, v in value.items()}
            return value
        if kind is list:
            for item in value:
                if type(item) is dict or type(item) is list:
                    return [self.convert(v) for v in value]
            return value
        return value


class EventView(Mapping[str, Any]):
    """One stored event as a handler sees it: attribute or key access to its payload.

    Besides the payload fields: ``position`` (in the whole history),
    ``stream_id`` (the aggregate id, a string), ``version``, ``topic``,
    ``type`` (the short name, e.g. ``"TicketPurchase.Paid"``) and ``timestamp``.
    """

    __slots__ = ("_decoder", "_raw", "position", "state", "stream_id", "topic", "version")

    def __init__(self, record: Record, decoder: EventDecoder) -> None:
        self.position, self.stream_id, self.version, self.topic, self.state = record
        self._decoder = decoder
        self._raw: dict[str, Any] | None = None

    @property
    def type(self) -> str:
        """The short event type, e.g. ``"TicketPurchase.Paid"``."""
        return self.topic.rsplit(":", 1)[-1]

    def _payload(self) -> dict[str, Any]:
        raw = self._raw
        if raw is None:
            raw = self._raw = self._decoder.payload(self.state)
        return raw

    @property
    def payload(self) -> dict[str, Any]:
        """All payload fields, converted (timestamp included)."""
        return {k: self._decoder.convert(v) for k, v in self._payload().items()}

    @property
    def timestamp(self) -> datetime:
        """When the event happened."""
        value = self._decoder.convert(self._payload().get("timestamp"))
        assert isinstance(value, datetime), f"event at {self.position} has no timestamp"
        return value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raw = self._payload()
        try:
            value = raw[name]
        except KeyError:
            fields = ", ".join(sorted(raw)) or "none"
            raise AttributeError(
                f"{self.type} at position {self.position} has no field {name!r} "
                f"(its fields: {fields})"
            ) from None
        if type(value) is dict or type(value) is list:
            return self._decoder.convert(value)
        return value

    def __getitem__(self, name: str) -> Any:
        try:
            return self.__getattr__(name)
        except AttributeError as e:
            raise KeyError(str(e)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._payload())

    def __len__(self) -> int:
        return len(self._payload())

    def __repr__(self) -> str:
        return f"<{self.type} #{self.position} of {self.stream_id} v{self.version}>"
