"""A read model: named tables of rows, changed by handlers, committed with a position.

Handlers write through :class:`Table` (``table[key] = row``, ``table.add(key, n)``,
``table.update(key, field=value)``, ``del table[key]``). Every write is logged
so that a batch can be committed (the changed rows go to storage together with
the tracking position) or rolled back (nothing half-applied).

>>> model = ReadModel()
>>> remaining = model.table("remaining")
>>> remaining["Standard"] = 100
>>> remaining.add("Standard", -2)
98
>>> model.rollback()
>>> "Standard" in remaining
False
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

__all__ = ["MISSING", "ReadModel", "Table"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Marks a row that did not exist (in the undo log and in change sets)."""


class Table:
    """One table of a read model: keys (str, int or tuples of them) to rows.

    A row is any JSON-like value: a number, a string, a dict of fields. Change a
    row by assigning it again (or with :meth:`add` / :meth:`update`): changing a
    dict you read from the table in place is not recorded.
    """

    __slots__ = ("_log", "name", "rows")

    def __init__(self, name: str, log: list[tuple[Table, Any, Any]]) -> None:
        self.name = name
        self.rows: dict[Any, Any] = {}
        self._log = log

    def __getitem__(self, key: Any) -> Any:
        return self.rows[key]

    def get(self, key: Any, default: Any = None) -> Any:
        """The row at ``key``, or ``default``."""
        return self.rows.get(key, default)

    def __setitem__(self, key: Any, value: Any) -> None:
        rows = self.rows
        self._log.append((self, key, rows.get(key, MISSING)))
        rows[key] = value

    def __delitem__(self, key: Any) -> None:
        rows = self.rows
        self._log.append((self, key, rows[key]))
        del rows[key]

    def pop(self, key: Any, default: Any = MISSING) -> Any:
        """Remove and return the row at ``key`` (``default`` if absent)."""
        if key in self.rows:
            value = self.rows[key]
            del self[key]
            return value
        if default is MISSING:
            raise KeyError(key)
        return default

    def add(self, key: Any, amount: Any = 1) -> Any:
        """Add ``amount`` to a number row (absent counts as 0); returns the new value."""
        rows = self.rows
        old = rows.get(key, MISSING)
        self._log.append((self, key, old))
        new = amount if old is MISSING else old + amount
        rows[key] = new
        return new

    def update(self, key: Any, **fields: Any) -> dict[str, Any]:
        """Set fields of a dict row (created if absent); returns the new row."""
        rows = self.rows
        old = rows.get(key, MISSING)
        self._log.append((self, key, old))
        new = dict(fields) if old is MISSING else {**old, **fields}
        rows[key] = new
        return new

    def __contains__(self, key: Any) -> bool:
        return key in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def items(self) -> Any:
        """``(key, row)`` pairs."""
        return self.rows.items()

    def to_frame(self, key_names: list[str] | None = None) -> pd.DataFrame:
        """The table as a DataFrame: key column(s), then the row's fields (or ``value``)."""
        return table_frame(self.rows, key_names)

    def __repr__(self) -> str:
        return f"<Table {self.name!r}: {len(self.rows)} rows>"


def table_frame(rows: dict[Any, Any], key_names: list[str] | None = None) -> pd.DataFrame:
    """A DataFrame of a table's rows (keys as columns ``key`` or ``key_0``, ``key_1``...)."""
    records: list[dict[str, Any]] = []
    for key, row in sorted(rows.items(), key=lambda kv: _sort_key(kv[0])):
        parts = key if isinstance(key, tuple) else (key,)
        names = key_names or (
            ["key"] if len(parts) == 1 else [f"key_{i}" for i in range(len(parts))]
        )
        record = dict(zip(names, parts, strict=False))
        if isinstance(row, dict):
            record.update(row)
        else:
            record["value"] = row
        records.append(record)
    return pd.DataFrame.from_records(records)


def _sort_key(key: Any) -> Any:
    parts = key if isinstance(key, tuple) else (key,)
    return tuple((type(p).__name__, p) for p in parts)


class ReadModel:
    """Named tables plus the position of the last event applied to them.

    Changes since the last :meth:`commit` can be undone with :meth:`rollback`.
    """

    def __init__(self) -> None:
        self.position = 0
        self.tables: dict[str, Table] = {}
        self._log: list[tuple[Table, Any, Any]] = []

    def table(self, name: str) -> Table:
        """The table called ``name`` (created empty on first use)."""
        table = self.tables.get(name)
        if table is None:
            table = self.tables[name] = Table(name, self._log)
        return table

    __getitem__ = table

    @property
    def mark(self) -> int:
        """A point in the change log to roll back to."""
        return len(self._log)

    def rollback(self, mark: int = 0) -> None:
        """Undo the changes made after ``mark`` (default: since the last commit)."""
        log = self._log
        while len(log) > mark:
            table, key, old = log.pop()
            if old is MISSING:
                table.rows.pop(key, None)
            else:
                table.rows[key] = old

    def changes(self) -> dict[str, dict[Any, Any]]:
        """The rows changed since the last commit: table to key to new row (or MISSING)."""
        out: dict[str, dict[Any, Any]] = {}
        for table, key, _ in self._log:
            out.setdefault(table.name, {})[key] = table.rows.get(key, MISSING)
        return out

    def clear_log(self) -> None:
        """Forget the change log (after the changes were stored)."""
        self._log.clear()

    def load(self, position: int, tables: dict[str, dict[Any, Any]]) -> None:
        """Replace the content (from storage); the change log is emptied."""
        self._log.clear()
        self.tables = {}
        for name, rows in tables.items():
            self.table(name).rows.update(rows)
        self.position = position

    def snapshot(self) -> dict[str, dict[Any, Any]]:
        """A copy of every table's rows (rows themselves are shared)."""
        return {name: dict(t.rows) for name, t in self.tables.items()}

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table as a DataFrame."""
        return {name: t.to_frame() for name, t in sorted(self.tables.items())}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{n}: {len(t)}" for n, t in sorted(self.tables.items()))
        return f"<ReadModel at position {self.position} ({sizes or 'empty'})>"
