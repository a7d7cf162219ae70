"""Hostile rows in a history: no one event takes a load down, nor poisons the frame.

Each case appends a stored event to a small ticketing history whose state no
application would write (nested 20,000 deep, invalid UTF-8, a timestamp that
is not a date, a lone surrogate, a decompression bomb...). Loading marks that
row in ``error`` and goes on; the other rows and every column's type are as
they would be without it; what is done with the frame afterwards (CSV, text
search, counts over time, the stream viewer) works.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from workbench.examples.ticketing import Ticketing
from workbench.reading import LoadError, event_batches, load_events
from workbench.reading import decoding as decoding_module
from workbench.reading.decoding import MAX_DEPTH, decode_state, decode_value
from workbench.stores import open_app
from workbench.stream import EventStream
from workbench.text_search import TextIndex

STARTED = "workbench.examples.ticketing.domainmodel:TicketPurchase.Started"
STAMP = '{"_type_":"datetime_iso","_data_":"2018-01-08T09:00:00+00:00"}'


def _history(path: Path, purchases: int = 6) -> Path:
    app = open_app(Ticketing, path)
    conference = app.schedule_conference("PHP18", "ConFoo 2018", date(2018, 3, 7))
    app.add_ticket_type(conference, "Standard", Decimal("450.00"), 100)
    for i in range(purchases):
        app.reserve_tickets(conference, f"Customer {i}", {"Standard": 1})
    app.close()
    return path


def _append(path: Path, state: bytes | None, topic: str = STARTED) -> int:
    """Add one stored event with ``state`` (as an event of ``topic``); its position."""
    with sqlite3.connect(path) as conn:
        cursor = conn.execute(
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "VALUES (?, (SELECT count(*) FROM stored_events), ?, ?)",
            ("0" * 31 + "1", topic, state),
        )
        position = int(cursor.lastrowid or 0)
    conn.close()
    return position


def _started(extra: str, *, stamp: str = STAMP) -> bytes:
    """A TicketPurchase.Started state with ``extra`` fields."""
    return (
        '{"timestamp":' + stamp + ',"originator_topic":"x","customer":"Hostile",'
        '"quantities":{"Standard":1}' + extra + "}"
    ).encode()


def _deep(depth: int) -> bytes:
    return _started(',"x":' + "[" * depth + "]" * depth)


@pytest.fixture
def clean(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    path = _history(tmp_path / "events.sqlite")
    return path, load_events(path)


def _check_marked(path: Path, position: int, clean: pd.DataFrame, expected: str) -> pd.DataFrame:
    """Load ``path``: the row at ``position`` is marked, the rest is as ``clean``."""
    df = load_events(path)
    assert len(df) == len(clean) + 1
    row = df[df.position == position].iloc[0]
    assert expected in row["error"]
    others = df[df.position != position]
    assert others["error"].isna().all()
    for name in clean.columns:
        assert df[name].dtype == clean[name].dtype, name  # every column keeps its type
    pd.testing.assert_frame_equal(
        others[clean.columns].reset_index(drop=True), clean, check_categorical=False
    )
    _use(df, path)
    return df


def _use(df: pd.DataFrame, path: Path) -> None:
    """What a user does with a frame next works: CSV, search, counts, the viewer."""
    from workbench.widgets.stream_viewer import StreamViewer

    df.to_csv(path.parent / "out.csv")
    assert TextIndex(df).mask("hostile").any() or not df["customer"].eq("Hostile").any()
    stream = EventStream(path)
    assert stream.counts_over_time()["count"].sum() > 0
    stream.filter(text="customer")
    StreamViewer(path)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 5, 1_000, 5_000])
def test_a_deeply_nested_state_is_marked_not_raised(
    clean: tuple[Path, pd.DataFrame], depth: int
) -> None:
    path, before = clean
    position = _append(path, _deep(depth))
    _check_marked(path, position, before, f"more than {MAX_DEPTH} deep")
    with pytest.raises(LoadError, match="deep"):
        EventStream(path).payload(position)


def test_a_state_nested_20000_deep_does_not_crash_the_process(tmp_path: Path) -> None:
    # pyarrow's JSON reader dies with SIGSEGV on it: a subprocess, so a crash fails the test
    path = _history(tmp_path / "events.sqlite")
    position = _append(path, _deep(20_000))
    script = textwrap.dedent(
        f"""
        from workbench.reading import load_events
        df = load_events({str(path)!r})
        print(df.set_index("position").loc[{position}, "error"])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"the load died ({done.returncode}): {done.stderr[-2000:]}"
    assert f"more than {MAX_DEPTH} deep" in done.stdout


def test_invalid_utf8_is_marked(clean: tuple[Path, pd.DataFrame]) -> None:
    path, before = clean
    position = _append(path, _started(',"note":"caf\xe9"').replace(b"caf\xc3\xa9", b"caf\xe9"))
    _check_marked(path, position, before, "not UTF-8")


def test_an_escaped_lone_surrogate_is_marked(clean: tuple[Path, pd.DataFrame]) -> None:
    path, before = clean
    position = _append(path, _started(',"note":"\\ud800"'))
    _check_marked(path, position, before, "lone surrogate")


@pytest.mark.parametrize("text", ["not a date", "2018-13-45T99:00:00+00:00", ""])
def test_a_timestamp_that_is_not_a_date_is_marked(
    clean: tuple[Path, pd.DataFrame], text: str
) -> None:
    path, before = clean
    stamp = '{"_type_":"datetime_iso","_data_":' + json.dumps(text) + "}"
    position = _append(path, _started("", stamp=stamp))
    df = _check_marked(path, position, before, "is not a valid datetime_iso value")
    row = df[df.position == position].iloc[0]
    assert pd.isna(row["timestamp"])
    assert row["customer"] == "Hostile"  # the rest of the row is read


def test_a_malformed_value_in_another_field_is_marked(clean: tuple[Path, pd.DataFrame]) -> None:
    path, before = clean
    bad = ',"reserved_until":{"_type_":"datetime_iso","_data_":42}'
    position = _append(path, _started(bad))
    df = _check_marked(path, position, before, "reserved_until: 42 is not a valid datetime_iso")
    assert str(df["reserved_until"].dtype) == "datetime64[us, UTC]"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, "empty"),
        (b"{not json", "corrupt event state"),
        (b'["a list"]', "not an object"),
    ],
)
def test_corrupt_states_are_marked_and_the_rest_keeps_its_types(
    clean: tuple[Path, pd.DataFrame], state: bytes | None, expected: str
) -> None:
    path, before = clean
    position = _append(path, state)
    _check_marked(path, position, before, expected)


def test_a_state_over_the_size_limit_is_marked(
    clean: tuple[Path, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decoding_module, "MAX_STATE_SIZE", 100_000)
    path, before = clean
    position = _append(path, _started(',"note":"' + "x" * 200_000 + '"'))
    _check_marked(path, position, before, "over the limit of 100,000")


def test_a_decompression_bomb_is_marked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decoding_module, "MAX_STATE_SIZE", 100_000)
    path = tmp_path / "zipped.sqlite"
    app = open_app(
        Ticketing, path, env={"COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"}
    )
    conference = app.schedule_conference("PHP18", "ConFoo 2018", date(2018, 3, 7))
    for i in range(4):
        app.add_ticket_type(conference, f"T{i}", Decimal("450.00"), 100)
    app.close()
    before = load_events(path)
    position = _append(path, zlib.compress(_started(',"note":"' + "x" * 10_000_000 + '"')))
    _append(path, b"\x78\x9c not zlib at all")
    df = load_events(path)
    assert len(df) == len(before) + 2
    assert "decompresses to more than 100,000 bytes" in df.set_index("position").error[position]
    assert df.error.notna().sum() == 2
    good = df[df.error.isna()][before.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(good, before, check_categorical=False)


def test_event_batches_mark_the_same_rows(clean: tuple[Path, pd.DataFrame]) -> None:
    path, _ = clean
    deep = _append(path, _deep(5_000))
    empty = _append(path, None)
    events = [e for batch in event_batches(path) for e in batch]
    errors = {position: error for position, _, _, _, _, error in events if error}
    assert set(errors) == {deep, empty}
    payloads = {position: payload for position, _, _, _, payload, _ in events}
    assert dict(payloads[deep]) == {}
    customers = [payloads[p]["customer"] for p in payloads if "customer" in payloads[p]]
    assert customers[-1] == "Customer 5"


def _nest_lists(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _nest_dicts(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("build", [_nest_lists, _nest_dicts])
def test_decoding_a_deep_value_raises_decode_error(build: Callable[[int], Any]) -> None:
    with pytest.raises(LoadError, match="deep"):
        decode_value(build(5_000))
    assert decode_value(build(MAX_DEPTH)) == build(MAX_DEPTH)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 5_000, 50_000])
def test_decode_state_refuses_deep_states(depth: int) -> None:
    with pytest.raises(LoadError, match="deep"):
        decode_state(b'{"x":' + b"[" * depth + b"]" * depth + b"}")


def test_an_id_or_topic_that_is_not_text_reads_with_replacement_characters(
    clean: tuple[Path, pd.DataFrame],
) -> None:
    path, before = clean
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "VALUES (CAST(X'ff41424344' AS TEXT), 1, CAST(X'776f726b3aff' AS TEXT), ?)",
            (_started(""),),
        )
    conn.close()
    df = load_events(path)
    assert len(df) == len(before) + 1
    last = df.iloc[-1]
    assert (last.stream_id, last.topic, last.event_type) == ("\ufffdABCD", "work:\ufffd", "\ufffd")
    assert last.customer == "Hostile"
    _use(df, path)


def test_a_handler_reading_a_malformed_value_fails_on_that_event(
    clean: tuple[Path, pd.DataFrame],
) -> None:
    # before: event_batches kept the raw data (42) and the handler stored it as a date
    from workbench.projections import EventView, Projection, ProjectionRun, ReadModel, handles

    class Holds(Projection):
        @handles("TicketPurchase.Started")
        def started(self, event: EventView, model: ReadModel) -> None:
            model["customers"][event.position] = event.customer  # a good field reads
            model["until"][event.position] = event.reserved_until

    path, _ = clean
    position = _append(path, _started(',"reserved_until":{"_type_":"datetime_iso","_data_":42}'))
    run = ProjectionRun(Holds(), path).run()
    assert run.status == "failed" and run.failure is not None
    assert run.failure.position == position
    assert "reserved_until: 42 is not a valid datetime_iso" in str(run.failure.error)
    assert position not in dict(run.model["customers"].items())  # nothing half-applied
