"""A CRUD-style table over the same data, to show what its history cannot answer.

A CRUD UI edits fields and saves. Stored as events, every save is the same
generic fact, ``Row.Updated {changes}``: *which* fields changed, from what to
what, but never *why*. Put it next to the task-based events
(``TicketPurchase.TimedOut``, ``TicketPurchase.TicketCancelled``) and the
difference is plain.

>>> table = CrudTable("purchases", key="reference")
>>> table.load([{"reference": "PHP18-1", "customer": "Ada", "status": "awaiting payment",
...              "tickets": 2}])
>>> change = table.save("PHP18-1", {"status": "released", "tickets": "0"})
>>> change.changes
{'status': ['awaiting payment', 'released'], 'tickets': [2, 0]}
>>> [h["event"] for h in table.history()]
['Row.Created', 'Row.Updated']
"""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding

from workbench import clock
from workbench.commands.fields import Field, FieldKind, InvalidInput
from workbench.commands.results import decode_payload
from workbench.reading.decoding import short_name
from workbench.stores import Store, open_app

__all__ = ["CrudChange", "CrudStore", "CrudTable", "Row", "rows_from_aggregates"]

_NAMESPACE = uuid5(NAMESPACE_URL, "https://example.org/workbench/crud")


class _DateAsISO(Transcoding):
    type = _dt.date
    name = "crud_date_iso"

    def encode(self, obj: _dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> _dt.date:
        return _dt.date.fromisoformat(data)


class Row(Aggregate):
    """One row of a CRUD table. Its only facts: created, updated, deleted."""

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> _dt.datetime:
            return clock.now()

    @staticmethod
    def create_id(table: str, key: str, **_: Any) -> UUID:
        return uuid5(_NAMESPACE, f"{table}/{key}")

    @event("Created")
    def __init__(self, table: str, key: str, values: dict[str, Any]) -> None:
        self.table = table
        self.key = key
        self.values = dict(values)
        self.deleted = False

    @event("Updated")
    def update(self, changes: dict[str, list[Any]]) -> None:
        """Record changed fields as ``{field: [old, new]}`` — and nothing else."""
        for name, (_, new) in changes.items():
            self.values[name] = new

    @event("Deleted")
    def delete(self) -> None:
        self.deleted = True


class CrudStore(Application[UUID]):
    """The tiny eventsourcing application that stores CRUD rows."""

    name = "CrudStore"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(_DateAsISO())


@dataclass(frozen=True)
class CrudChange:
    """What one save recorded."""

    key: str
    """The row's key."""
    changes: dict[str, list[Any]]
    """``{field: [old, new]}``; empty when nothing changed (and nothing was recorded)."""
    position: int | None
    """The position of the ``Row.Updated`` event, or ``None`` when nothing was recorded."""


def _kind_of(value: Any) -> FieldKind:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, decimal.Decimal):
        return "decimal"
    if isinstance(value, _dt.datetime):
        return "datetime"
    if isinstance(value, _dt.date):
        return "date"
    return "text"


class CrudTable:
    """Rows you edit and save; every save is stored as a generic ``Row.Updated``.

    ``key`` names the column that identifies a row. Text input is converted to
    the type of the value already in the column (a number stays a number).
    """

    def __init__(
        self,
        table: str = "rows",
        *,
        key: str = "id",
        store: str | Path | Store | None = "memory",
        app: CrudStore | None = None,
    ) -> None:
        self.table = table
        self.key = key
        self.app = app if app is not None else open_app(CrudStore, store)
        self._keys: list[str] = []
        self.columns: list[str] = []

    def _get(self, key: str) -> Row:
        row_id = Row.create_id(self.table, key)
        if key not in self._keys and row_id not in self.app.repository:
            known = ", ".join(self._keys[:10]) or "none yet"
            raise KeyError(f"there is no row {key!r} in {self.table} (rows: {known})")
        row: Row = self.app.repository.get(row_id)
        if row.deleted:
            raise KeyError(f"row {key!r} of {self.table} was deleted")
        return row

    def load(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Insert rows (each must have the key column); existing keys are left alone."""
        new = []
        for values in rows:
            if self.key not in values:
                raise KeyError(f"a row of {self.table} needs a {self.key!r} value: {dict(values)}")
            key = str(values[self.key])
            for column in values:
                if column not in self.columns:
                    self.columns.append(column)
            if Row.create_id(self.table, key) in self.app.repository:
                if key not in self._keys:
                    self._keys.append(key)
                continue
            new.append(Row(self.table, key, dict(values)))
            self._keys.append(key)
        if new:
            self.app.save(*new)

    def keys(self) -> list[str]:
        """The keys of the rows, in the order they were loaded."""
        return [k for k in self._keys if self._exists(k)]

    def _exists(self, key: str) -> bool:
        try:
            self._get(key)
        except KeyError:
            return False
        return True

    def row(self, key: str) -> dict[str, Any]:
        """The current values of one row."""
        return dict(self._get(key).values)

    def rows(self) -> list[dict[str, Any]]:
        """All current rows."""
        return [self.row(k) for k in self.keys()]

    def save(self, key: str, values: Mapping[str, Any]) -> CrudChange:
        """Save edited values; only fields that changed are recorded.

        Raises :class:`~workbench.commands.InvalidInput` (nothing recorded) when
        a value does not convert to its column's type or names no column.
        """
        row = self._get(key)
        errors: dict[str, str] = {}
        changes: dict[str, list[Any]] = {}
        for name, raw in values.items():
            if name not in row.values:
                errors[name] = (
                    f"{self.table} has no column {name!r} (columns: {', '.join(row.values)})"
                )
                continue
            if name == self.key and str(raw) != str(row.values[name]):
                errors[name] = "the key of a row cannot change"
                continue
            old = row.values[name]
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if old is None or _kind_of(old) == "text":
                    new: Any = old if old is None else ""
                else:
                    errors[name] = f"required: enter a value like {old}"
                    continue
            else:
                try:
                    new = Field(name, _kind_of(old)).convert(raw)
                except ValueError as e:
                    errors[name] = str(e)
                    continue
            if new != old:
                changes[name] = [old, new]
        if errors:
            raise InvalidInput(errors)
        if not changes:
            return CrudChange(key, {}, None)
        row.update(changes)
        recordings = self.app.save(row)
        return CrudChange(key, changes, recordings[-1].notification.id if recordings else None)

    def delete(self, key: str) -> None:
        """Delete a row (recorded as ``Row.Deleted``)."""
        row = self._get(key)
        row.delete()
        self.app.save(row)

    def history(self, key: str | None = None) -> list[dict[str, Any]]:
        """Every recorded change (of one row, or of the table), oldest first."""
        ids = {str(Row.create_id(self.table, k)): k for k in self._keys}
        if key is not None:
            self._get(key)
            ids = {str(Row.create_id(self.table, key)): key}
        out = []
        start = 0
        while True:
            batch = self.app.recorder.select_notifications(start, 1000, inclusive_of_start=False)
            for n in batch:
                row_key = ids.get(str(n.originator_id))
                if row_key is None:
                    continue
                payload = decode_payload(self.app, n.state)
                out.append(
                    {
                        "position": n.id,
                        "when": payload.get("timestamp"),
                        "row": row_key,
                        "event": short_name(n.topic),
                        "changes": payload.get("changes", payload.get("values", {})),
                    }
                )
            if len(batch) < 1000:
                return out
            start = batch[-1].id


def rows_from_aggregates(
    app: Application[Any], ids: Iterable[Any], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows of current attribute values read from any application's aggregates.

    >>> from workbench.examples.ticketing import Ticketing
    >>> app = Ticketing()
    >>> conf = app.schedule_conference("PHP18", "ConFoo", _dt.date(2018, 3, 7))
    >>> rows_from_aggregates(app, [conf], ["code", "name"])
    [{'code': 'PHP18', 'name': 'ConFoo'}]
    """
    rows = []
    for aggregate_id in ids:
        aggregate: Any = app.repository.get(aggregate_id)
        rows.append({c: getattr(aggregate, c, None) for c in columns})
    return rows
