"""Raw records: the Arrow batches hold exactly what the row-by-row reader gives."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from workbench.examples.ticketing import Ticketing
from workbench.reading.records import Record, arrow_batches, open_records
from workbench.stores import StoreError, open_app


def _rows(batches: Any) -> list[Record]:
    return [record for batch in batches for record in batch.records()]


def _history(app: Ticketing) -> None:
    for n in range(7):
        app.schedule_conference(f"C{n}", f"Conference {n}", date(2018, 3, 1 + n))


@pytest.mark.parametrize("store", ["memory", "sqlite::memory:", "file"])
def test_arrow_batches_equal_record_batches(store: str, tmp_path: Path) -> None:
    app = open_app(Ticketing, tmp_path / "t.sqlite" if store == "file" else store)
    _history(app)
    reader = open_records(app)
    rows = [r for batch in reader.batches() for r in batch]
    assert len(rows) == 7
    assert _rows(arrow_batches(reader, batch_size=3)) == rows
    assert _rows(arrow_batches(reader, 2, upto=5)) == rows[2:5]
    assert _rows(arrow_batches(reader, newest=2)) == rows[-2:]
    assert _rows(arrow_batches(reader, newest=0)) == []
    one = rows[3].stream_id
    assert _rows(arrow_batches(reader, streams=[one])) == [rows[3]]
    assert _rows(arrow_batches(reader, topics=[rows[0].topic])) == rows
    assert reader.tail(2) == rows[-2:]
    assert reader.max_position() == 7


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text


class Notes(Application[str]):
    pass


def test_string_ids_with_newlines_fall_back_to_rows(tmp_path: Path) -> None:
    """Stream ids are joined by newlines in SQLite; an id holding one is read row by row."""
    path = tmp_path / "notes.sqlite"
    app = open_app(Notes, path)
    app.save(Note(text="first"))
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO stored_events VALUES (?, 1, ?, ?)",
            ("odd\nid", "x:Note.Written", b'{"text":"odd"}'),
        )
    conn.close()
    reader = open_records(path)
    rows = _rows(arrow_batches(reader))
    assert [r.stream_id for r in rows][1] == "odd\nid"
    assert rows == [r for batch in reader.batches() for r in batch]


def test_uuid_ids_are_canonical(tmp_path: Path) -> None:
    app = open_app(Ticketing, tmp_path / "t.sqlite")
    conf = app.schedule_conference("C", "Conf", date(2018, 3, 1))
    (row,) = _rows(arrow_batches(open_records(tmp_path / "t.sqlite")))
    assert row.stream_id == str(conf)
    assert UUID(row.stream_id) == conf


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no file"):
        open_records(tmp_path / "missing.sqlite")
    with pytest.raises(StoreError, match="folder"):
        open_records(tmp_path)


def test_a_state_holding_a_newline_is_read_row_by_row(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    app = open_app(Ticketing, path)
    _history(app)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = 3", (b'{"broken":\n"x"}',))
    conn.close()
    reader = open_records(path)
    rows = _rows(arrow_batches(reader))
    assert rows == [r for batch in reader.batches() for r in batch]
    assert rows[2].state == b'{"broken":\n"x"}'


def test_positions_with_gaps(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    app = open_app(Ticketing, path)
    _history(app)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM stored_events WHERE rowid IN (2, 5)")
    conn.close()
    reader = open_records(path)
    rows = _rows(arrow_batches(reader, batch_size=3))
    assert [r.position for r in rows] == [1, 3, 4, 6, 7]
    assert rows == [r for batch in reader.batches() for r in batch]


@pytest.mark.parametrize(
    "stream_id",
    [
        "0123456789ABCDEF0123456789ABCDEF",  # upper-case hex: canonical, lower-case UUID
        "not-hex-but-thirty-two-chars-xyz",  # as long as a hex id: kept as it is
        "short",
    ],
)
def test_ids_of_every_shape_beside_uuid_ids(stream_id: str, tmp_path: Path) -> None:
    """Batches of 32-hex ids take a vectorised route; any other id in the batch does not."""
    path = tmp_path / "t.sqlite"
    app = open_app(Ticketing, path)
    _history(app)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE stored_events SET originator_id = ? WHERE rowid = 4", (stream_id,))
    conn.close()
    reader = open_records(path)
    rows = _rows(arrow_batches(reader))
    assert rows == [r for batch in reader.batches() for r in batch]
    expected = str(UUID(stream_id)) if stream_id.startswith("0123") else stream_id
    assert rows[3].stream_id == expected
    assert UUID(rows[0].stream_id)


def test_states_stored_as_text_beyond_ascii(tmp_path: Path) -> None:
    """SQLite counts a text state's length in characters: the batch finds the rows anyway."""
    path = tmp_path / "t.sqlite"
    app = open_app(Ticketing, path)
    _history(app)
    with sqlite3.connect(path) as conn:
        text = '{"name":"Montréal €"}'
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = 2", (text,))
    conn.close()
    reader = open_records(path)
    rows = _rows(arrow_batches(reader))
    assert rows == [r for batch in reader.batches() for r in batch]
    assert rows[1].state == '{"name":"Montréal €"}'.encode()
