"""One way to open a history: from an application, an SQLite file or a store string.

A :class:`History` is what every reader in the workbench takes (the loader,
the stream viewer, time travel, projections, process runs and the widgets):
the stored records, how they are wrapped (cipher and compressor) and, when
there is one, the application that wrote them. Open it once with
:func:`open_history`; every function that reads a history accepts the same
sources and the same keywords (``cipher_key=``, ``compressor=``, ``env=``,
``table=``) and passes them here.

=======================================  =============================================
source                                   read through
=======================================  =============================================
an open eventsourcing ``Application``    its SQLite file directly, else its recorder
``"history.sqlite"`` / a ``Path``        the file, read-only (``table=`` to pick one)
``"sqlite:///history.sqlite"``           the same
``"postgresql://u:p@host/db?schema=s"``  its events table, by SQL (``table=`` if several)
a :class:`History`                       itself (new settings make a new one)
a record reader                          itself
=======================================  =============================================

Values come out the same whatever the source (see :mod:`workbench.reading.decoding`):
an application's own transcodings are not used, because a file has none.

>>> from workbench.samples import SAMPLE_TICKETING
>>> history = open_history(SAMPLE_TICKETING)
>>> history.max_position(), history.description
(4000, 'SQLite file ...ticketing.sqlite')
>>> "TicketPurchase.Paid" in history.event_types()
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eventsourcing.application import Application

from workbench.reading.decoding import Codec, DecodeError, LoadError, diagnose, short_name
from workbench.reading.records import Record, RecordReader, open_records
from workbench.stores import Store, StoreError, opened_read_only

__all__ = ["History", "HistorySource", "open_history"]

HistorySource = Any
"""An application, an SQLite path or store string, a :class:`History` or a record reader."""


@dataclass(frozen=True, eq=False)
class History:
    """A history opened for reading: its records, how they are wrapped, and its application.

    Build one with :func:`open_history`.
    """

    reader: RecordReader
    """Reads the stored records by position."""
    codec: Codec = field(default_factory=Codec)
    """Undoes the store's encryption and compression."""
    app: Application[Any] | None = None
    """The application, when the history was opened from one (time travel uses its code)."""

    @property
    def description(self) -> str:
        """The store in a few words, with how its events are wrapped."""
        wrapped = []
        if self.codec.cipher is not None:
            wrapped.append("encrypted")
        if self.codec.compressor is not None:
            wrapped.append(f"{self.codec.compressor_name}-compressed")
        return self.reader.description + (f" ({', '.join(wrapped)})" if wrapped else "")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file that holds the events, or ``None``."""
        return self.reader.sqlite_path

    @property
    def readonly(self) -> bool:
        """Whether nothing may be written into the history's store.

        ``True`` when its application was opened read-only
        (``open_app(..., readonly=True)``) or its SQLite file, or the folder it
        is in, cannot be written (SQLite writes a journal beside the file).
        A reader that would keep something in the store itself (a read model
        "beside" the events) refuses then.
        """
        if self.app is not None and opened_read_only(self.app):
            return True
        path = self.sqlite_path
        return path is not None and not (
            os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
        )

    def max_position(self) -> int:
        """The position of the newest event (0 when there is none)."""
        return self.reader.max_position()

    def topics(self, after: int = 0) -> list[str]:
        """The distinct topics recorded after ``after``, sorted."""
        return self.reader.topics(after)

    def event_types(self) -> list[str]:
        """The short names of the event types in the history, sorted."""
        return sorted({short_name(t) for t in self.reader.topics()})

    def topics_for(self, event_types: list[str] | tuple[str, ...]) -> list[str]:
        """The full topics present for ``event_types`` (short names or topics)."""
        wanted = set(event_types)
        full = {t for t in wanted if ":" in t}
        short = wanted - full
        if not short:
            return sorted(full)
        found = {t for t in self.reader.topics() if short_name(t) in short}
        return sorted(full | found)

    def payload(self, state: bytes) -> dict[str, Any]:
        """One stored state as a dict of values (see :meth:`Codec.payload`)."""
        return self.codec.payload(state)

    def record(self, position: int) -> Record | None:
        """The stored record at ``position``, or ``None`` when there is none."""
        for batch in self.reader.batches(position - 1, upto=position, batch_size=1):
            for record in batch:
                return record
        return None

    def __repr__(self) -> str:
        return f"<History of {self.description}>"


def open_history(
    source: HistorySource,
    *,
    cipher_key: str | None = None,
    compressor: str | Any | None = None,
    env: Mapping[str, str] | None = None,
    table: str | None = None,
) -> History:
    """Open ``source`` for reading; see the table in :mod:`workbench.reading.opening`.

    ``cipher_key``/``compressor`` (or ``env`` with ``CIPHER_KEY``/``COMPRESSOR_TOPIC``)
    say how the events are wrapped; an application brings its own, and zlib or gzip
    compression is recognised by its bytes. ``table`` picks the events table of an
    SQLite file or a PostgreSQL schema with several (on PostgreSQL an application's
    name will do: ``table="ticketing"`` reads ``ticketing_events``). Raises
    :class:`~workbench.reading.decoding.LoadError` saying what is wrong and what to do.

    >>> from workbench.samples import SAMPLE_TICKETING
    >>> open_history(SAMPLE_TICKETING, compressor="zlib")
    Traceback (most recent call last):
    ...
    workbench.reading.decoding.LoadError: cannot read the events in ... look like plain JSON
    """
    _check_settings(cipher_key, compressor, env, table)
    given = cipher_key is not None or compressor is not None or bool(env)
    settings = Codec.from_settings(cipher_key=cipher_key, compressor=compressor, env=env)
    if isinstance(source, History):
        return replace(source, codec=settings) if given else source
    if isinstance(source, Application):
        own = Codec.of_app(source)
        codec = settings if given else own
        return _detected(History(open_records(source), codec, source))
    if _is_reader(source):
        return _detected(History(source, settings))
    if not isinstance(source, (str, Path, Store)):
        raise LoadError(
            f"cannot read a history from {type(source).__name__} {source!r}: pass an "
            "eventsourcing application, an SQLite file path or a store string"
        )
    try:
        reader = open_records(source, table=table)
    except LoadError:
        raise
    except StoreError as e:
        raise LoadError(str(e)) from None
    return _detected(History(reader, settings))


def _check_settings(cipher_key: Any, compressor: Any, env: Any, table: Any) -> None:
    """Refuse settings of the wrong kind, saying which (rather than a TypeError deep inside)."""
    if cipher_key is not None and not isinstance(cipher_key, str):
        raise LoadError(f"cipher_key must be text (the CIPHER_KEY setting), got {cipher_key!r}")
    if (
        compressor is not None
        and not isinstance(compressor, str)
        and not callable(getattr(compressor, "decompress", None))
    ):
        raise LoadError(
            f"compressor must be 'zlib', 'gzip', a topic or a compressor object "
            f"(with decompress()), got {compressor!r}"
        )
    if env is not None and not isinstance(env, Mapping):
        raise LoadError(
            f"env must be a mapping of settings, e.g. {{'CIPHER_KEY': '...'}}, got {env!r}"
        )
    if table is not None and not isinstance(table, str):
        raise LoadError(f"table must be the name of a table, got {table!r}")


def _is_reader(source: Any) -> bool:
    return hasattr(source, "batches") and hasattr(source, "max_position")


def _detected(history: History) -> History:
    """The history, with the compression its newest states show when none was given.

    Raises :class:`LoadError` when the newest states cannot be read with the
    settings given (encrypted without a key, a wrong key, another compressor):
    every reader then fails at once with the same message, not half-way
    through a run. One unreadable state among readable ones is left to the
    readers, which mark it.
    """
    states = [r.state for r in history.reader.tail(3) if r.state]
    if not states:
        return history
    codec = history.codec
    for state in reversed(states) if codec.plain else ():
        codec = codec.detected(state)  # the newest state that shows a compressor
        if not codec.plain:
            break
    failures = []
    for state in states:
        try:
            if codec.unwrap(state)[:1] == b"{":
                break
            failures.append(f"cannot read the events in {history.description}: {diagnose(state)}")
        except DecodeError as e:
            failures.append(f"cannot read the events in {history.description}: {e}")
    else:
        raise LoadError(failures[-1])
    return history if codec is history.codec else replace(history, codec=codec)
