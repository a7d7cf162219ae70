"""The loader: rows equal what the library's mapper decodes; filters; bad input."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pandas as pd
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workbench.clock import ManualClock, use_clock
from workbench.examples.ticketing import Ticketing
from workbench.reading.loading import (
    FIXED_COLUMNS,
    TRACE_COLUMNS,
    LoadError,
    event_types_of,
    load_events,
)
from workbench.stores import open_app

START = datetime(2018, 1, 8, 9, 0, tzinfo=UTC)


def ticketing_history(app: Ticketing) -> None:
    """A small history with every ticketing event type."""
    clock = ManualClock(START)
    with use_clock(clock):
        conf = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
        app.add_ticket_type(conf, "Standard", Decimal("450.00"), 100)
        app.add_ticket_type(conf, "Workshop", Decimal("725.50"), 20)
        app.create_discount_code(conf, "COMMUNITY", 15)
        for i in range(12):
            clock.advance(minutes=7)
            purchase = app.reserve_tickets(
                conf,
                f"Customer {i}",
                {"Standard": 1 + i % 2, "Workshop": 1} if i % 3 else {"Standard": 2},
                "COMMUNITY" if i % 4 == 0 else None,
                reference=f"PHP18-{i:04d}",
            )
            count = sum(app.get_purchase(purchase).quantities.values())
            if i % 5 == 4:
                clock.advance(minutes=31)
                app.time_out(purchase)
            else:
                app.pay(purchase, f"PAY-{i}", [f"Delegate {i}.{n}" for n in range(count)])
                if i % 6 == 1:
                    app.cancel_ticket(purchase, 1, "cannot come")
        app.end_ticket_sale(conf, "Workshop")
        app.issue_complimentary_tickets(conf, "Acme", "Standard", ["Ann", "Bob"])


def mapper_rows(app: Application[Any]) -> list[dict[str, Any]]:
    """What the library itself decodes: one dict per notification."""
    rows = []
    for n in app.recorder.select_notifications(1, 10**9):
        e = app.mapper.to_domain_event(n)
        fields = dict(e.__dict__)
        rows.append(
            {
                "position": n.id,
                "stream_id": str(fields.pop("originator_id")),
                "version": fields.pop("originator_version"),
                "topic": n.topic,
                "timestamp": fields.pop("timestamp"),
                "payload": fields,
            }
        )
    return rows


def assert_same_as_mapper(df: pd.DataFrame, app: Application[Any]) -> None:
    expected = mapper_rows(app)
    assert len(df) == len(expected)
    assert list(df.columns[: len(FIXED_COLUMNS)]) == FIXED_COLUMNS
    payload_columns = [c for c in df.columns if c not in FIXED_COLUMNS]
    for row, want in zip(df.to_dict("records"), expected, strict=True):
        assert row["position"] == want["position"]
        assert row["stream_id"] == want["stream_id"]
        assert row["version"] == want["version"]
        assert row["topic"] == want["topic"]
        assert row["event_type"] == want["topic"].split(":")[1]
        assert row["timestamp"] == want["timestamp"]
        assert row["timestamp"].tzinfo is not None
        for name, value in want["payload"].items():
            got = row[name]
            if value is None:  # a DataFrame shows a null as missing (None or NaN)
                assert _missing(got), (row["event_type"], name, got)
                continue
            assert _same(got, value), (row["event_type"], name, got, value)
        for name in payload_columns:
            if name not in want["payload"]:
                assert _missing(row[name]), (row["event_type"], name, row[name])


def _same(got: Any, want: Any) -> bool:
    """``got`` is exactly ``want``: the same types and the same text, all the way down.

    ``==`` is not enough: ``Decimal("4.5E+2") == Decimal("450.00")``, ``1 == True``.
    A datetime is the same instant (the frame shows it in UTC). Inside a nested
    object, a key whose value is null may be left out (see the loader's limits).
    """
    if isinstance(want, datetime):
        return isinstance(got, datetime) and got == want
    if isinstance(want, dict):
        kept = {k: v for k, v in want.items() if v is not None}
        return (
            isinstance(got, dict)
            and set(kept) <= set(got) <= set(want)
            and all(_same(got[k], v) for k, v in kept.items())
            and all(got[k] is None for k in set(got) - set(kept))
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(_same(g, w) for g, w in zip(got, want, strict=True))
        )
    return type(got) is type(want) and repr(got) == repr(want)


def test_same_compares_exactly() -> None:
    assert not _same(Decimal("4.5E+2"), Decimal("450.00"))
    assert not _same({"a": [Decimal("4.5E+2")]}, {"a": [Decimal("450.00")]})
    assert not _same(1, True) and not _same(1.0, 1)
    assert _same({"a": 1}, {"a": 1, "b": None}) and not _same({"a": 1}, {"a": 1, "b": 2})


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


@pytest.fixture
def ticketing_file(tmp_path: Path) -> tuple[Path, Ticketing]:
    path = tmp_path / "ticketing.sqlite"
    app = open_app(Ticketing, path)
    ticketing_history(app)
    return path, app


def test_rows_equal_the_mappers_for_the_teaching_domain(
    ticketing_file: tuple[Path, Ticketing],
) -> None:
    path, app = ticketing_file
    df = load_events(path)
    assert set(df.event_type) >= {
        "Conference.Scheduled",
        "Conference.TicketsReserved",
        "TicketPurchase.Paid",
        "TicketPurchase.TimedOut",
        "TicketPurchase.TicketCancelled",
        "Conference.TicketSaleEnded",
    }
    assert_same_as_mapper(df, app)
    assert df.attrs["last_position"] == len(df)


def test_rows_equal_the_mappers_on_every_store(store: str) -> None:
    app = open_app(Ticketing, store)
    ticketing_history(app)
    assert_same_as_mapper(load_events(app), app)


# --- an application defined only here -------------------------------------------------


class Gadget(Aggregate):
    @event("Registered")
    def __init__(self, serial: str, owner: UUID, price: Decimal, made_at: datetime) -> None:
        self.serial = serial

    @event("Inspected")
    def inspect(
        self,
        readings: list[float],
        passed: bool,
        counter: int,
        notes: dict[str, Any],
        parts: list[dict[str, Any]],
        inspector: str | None,
    ) -> None:
        pass

    @event("Shipped")
    def ship(self, to: dict[str, str], on: date, weight: float, when: datetime) -> None:
        pass


class GadgetApp(Application[UUID]):
    def register(self) -> UUID:
        gadget = Gadget(
            serial='G-1 "quoted" ünïcode\\slash',
            owner=uuid4(),
            price=Decimal("12.345"),
            made_at=datetime(2020, 5, 17, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5))),
        )
        gadget.inspect(
            readings=[1.5, 2.0, -3.25],
            passed=True,
            counter=2**40,
            notes={"batch": {"id": uuid4(), "cost": Decimal("1.10")}, "tags": ["a", "b"]},
            parts=[{"name": "bolt", "qty": 3}, {"name": "nut", "size": Decimal("0.5")}],
            inspector=None,
        )
        gadget.ship(
            to={"city": "Montréal"},
            on=date(2020, 6, 1),
            weight=1.25,
            when=datetime(2020, 6, 1, 12, 0, tzinfo=UTC),
        )
        self.save(gadget)
        return gadget.id

    def register_transcodings(self, transcoder: Any) -> None:
        super().register_transcodings(transcoder)
        from workbench.transcodings import DateAsISO

        transcoder.register(DateAsISO())


def test_rows_equal_the_mappers_for_an_application_defined_in_the_test(tmp_path: Path) -> None:
    path = tmp_path / "gadgets.sqlite"
    app = open_app(GadgetApp, path)
    for _ in range(3):
        app.register()
    df = load_events(path)
    assert_same_as_mapper(df, app)
    inspected = df[df.event_type == "Gadget.Inspected"].iloc[0]
    assert isinstance(inspected["notes"]["batch"]["id"], UUID)
    assert inspected["parts"][1]["size"] == Decimal("0.5")
    registered = df[df.event_type == "Gadget.Registered"].iloc[0]
    assert registered["made_at"].utcoffset() == timedelta(0)  # same instant, shown in UTC


def test_integers_beyond_int64_and_mixed_field_types(tmp_path: Path) -> None:
    class Meter(Aggregate):
        @event("Read")
        def __init__(self, value: Any) -> None:
            pass

        @event("Reset")
        def reset(self, value: Any, huge: int) -> None:
            pass

    class Meters(Application[UUID]):
        pass

    app = open_app(Meters, tmp_path / "meters.sqlite")
    for i in range(30):
        meter = Meter(value=i)
        meter.reset(value=f"text {i}", huge=2**70 + i)  # 'value' changes type across types
        app.save(meter)
    df = load_events(tmp_path / "meters.sqlite")
    assert_same_as_mapper(df, app)
    assert df[df.event_type.str.endswith("Reset")]["huge"].iloc[3] == 2**70 + 3


# --- a history from code that is not installed -----------------------------------------

FOREIGN_APP = """
from decimal import Decimal
from uuid import UUID
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

class Parcel(Aggregate):
    @event("Posted")
    def __init__(self, sender: str, weight: Decimal) -> None:
        self.sender = sender

    @event("Delivered")
    def deliver(self, signed_by: str) -> None:
        pass

class Post(Application[UUID]):
    pass

def write(path):
    app = Post(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path})
    for i in range(5):
        parcel = Parcel(sender=f"sender {i}", weight=Decimal("1.5") * i)
        parcel.deliver(signed_by=f"receiver {i}")
        app.save(parcel)
"""


def test_a_history_whose_code_is_not_installed_loads(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "foreign_post_app.py").write_text(FOREIGN_APP)
    db = tmp_path / "post.sqlite"
    subprocess.run(
        [sys.executable, "-c", "import sys, foreign_post_app as m; m.write(sys.argv[1])", str(db)],
        cwd=code,
        check=True,
        timeout=60,
    )
    df = load_events(db)
    assert "foreign_post_app" not in sys.modules
    assert list(df.event_type[:2]) == ["Parcel.Posted", "Parcel.Delivered"]
    assert df.topic[0] == "foreign_post_app:Parcel.Posted"
    assert df[df.event_type == "Parcel.Posted"].weight.tolist() == [
        Decimal("0.0"),
        Decimal("1.5"),
        Decimal("3.0"),
        Decimal("4.5"),
        Decimal("6.0"),
    ]
    assert df.signed_by.dropna().tolist() == [f"receiver {i}" for i in range(5)]
    with pytest.raises(ModuleNotFoundError):
        __import__("foreign_post_app")


# --- filters and incremental loads ---------------------------------------------------


def test_filters(ticketing_file: tuple[Path, Ticketing]) -> None:
    path, _ = ticketing_file
    full = load_events(path)
    paid = load_events(path, event_types=["TicketPurchase.Paid", "TicketPurchase.TimedOut"])
    expected = full[full.event_type.isin(["TicketPurchase.Paid", "TicketPurchase.TimedOut"])]
    assert paid.position.tolist() == expected.position.tolist()
    by_topic = load_events(path, event_types=str(full.topic[0]))
    assert set(by_topic.event_type) == {"Conference.Scheduled"}
    assert len(load_events(path, event_types=["No.Such"])) == 0

    stream = str(full.stream_id.iloc[-1])
    one = load_events(path, streams=[stream])
    assert one.position.tolist() == full[full.stream_id == stream].position.tolist()
    assert load_events(path, streams=UUID(stream)).position.tolist() == one.position.tolist()

    window = load_events(path, after=5, upto=20)
    assert window.position.tolist() == list(range(6, 21))
    assert load_events(path, limit=3).position.tolist() == [1, 2, 3]
    assert load_events(path, newest=4).position.tolist() == full.position.tolist()[-4:]

    since = START + timedelta(minutes=30)
    until = START + timedelta(minutes=60)
    timed = load_events(path, since=since, until=until)
    want = full[(full.timestamp >= since) & (full.timestamp < until)]
    assert timed.position.tolist() == want.position.tolist()
    assert len(timed) > 0
    as_text = load_events(path, since=since.isoformat(), until="2018-01-08T10:00:00+00:00")
    assert as_text.position.tolist() == want.position.tolist()
    with pytest.raises(LoadError, match="since="):
        load_events(path, since="last tuesday-ish")


def test_event_types_of(ticketing_file: tuple[Path, Ticketing]) -> None:
    path, _ = ticketing_file
    assert "TicketPurchase.Paid" in event_types_of(path)


def _comparable(df: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [
        tuple("<NA>" if _missing(v) else repr(v) for v in row)
        for row in df[sorted(df.columns)].itertuples(index=False)
    ]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=4))
@example(cuts=[1, 3])  # a part whose rows all have a whole-number field: still Int64
def test_incremental_loads_concatenated_equal_one_full_load(
    ticketing_file: tuple[Path, Ticketing], cuts: list[int]
) -> None:
    path, _ = ticketing_file
    full = load_events(path)
    parts = []
    after = 0
    for cut in sorted(set(cuts)):
        part = load_events(path, after=after, upto=cut)
        parts.append(part)
        after = max(after, part.attrs["last_position"])
    parts.append(load_events(path, after=after))
    joined = pd.concat([p for p in parts if len(p)], ignore_index=True)
    joined = joined[list(full.columns)]
    assert _comparable(joined) == _comparable(full)


def test_small_batches_give_the_same_rows(ticketing_file: tuple[Path, Ticketing]) -> None:
    path, _ = ticketing_file
    assert _comparable(load_events(path, batch_size=7)) == _comparable(load_events(path))


def _two_events(path: Path, env: dict[str, str] | None = None) -> None:
    """A store at ``path`` with a conference scheduled (1) and a ticket type added (2)."""
    app = open_app(Ticketing, path, env=env)
    with use_clock(ManualClock(START)):
        conf = app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
        app.add_ticket_type(conf, "Standard", Decimal("450.00"), 10)
    app.close()


def test_gaps_in_the_positions_cost_no_memory(tmp_path: Path) -> None:
    """Rows far apart (deleted rows, a sequence that skipped): memory for rows, not positions."""
    import tracemalloc

    path = tmp_path / "gaps.sqlite"
    _two_events(path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "SELECT 20000000, originator_id, 3, topic, state FROM stored_events WHERE rowid = 2"
        )
    conn.close()
    tracemalloc.start()
    try:
        df = load_events(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert df.position.tolist() == [1, 2, 20_000_000]
    assert df.price.tolist()[1:] == [Decimal("450.00")] * 2
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB for three events"  # not 20M rows' worth
    assert all(len(df[c].to_numpy()) == 3 for c in ("position", "version", "price"))


# --- compressed and encrypted stores ---------------------------------------------------

ZLIB = "eventsourcing.compressor:ZlibCompressor"


@pytest.mark.parametrize("topic", [ZLIB, "gzip"])
def test_compressed_store(tmp_path: Path, topic: str) -> None:
    path = tmp_path / "z.sqlite"
    app = open_app(Ticketing, path, env={"COMPRESSOR_TOPIC": topic})
    ticketing_history(app)
    # recognised by its bytes: no setting needed, and named in the description
    found = load_events(path)
    name = "zlib" if topic == ZLIB else "gzip"
    assert found.attrs["source"].endswith(f"({name}-compressed)")
    assert_same_as_mapper(found, app)
    with pytest.raises(LoadError, match=f"compressed with {name}"):
        load_events(path, compressor="gzip" if name == "zlib" else "zlib")
    assert_same_as_mapper(load_events(path, compressor=name), app)
    assert_same_as_mapper(load_events(path, env={"COMPRESSOR_TOPIC": topic}), app)
    assert_same_as_mapper(load_events(app), app)


def test_encrypted_store(tmp_path: Path) -> None:
    pytest.importorskip("Crypto", reason="eventsourcing's AESCipher needs pycryptodome")
    from eventsourcing.cipher import AESCipher

    key = AESCipher.create_key(16)
    path = tmp_path / "secret.sqlite"
    app = open_app(Ticketing, path, env={"CIPHER_KEY": key, "COMPRESSOR_TOPIC": ZLIB})
    ticketing_history(app)
    with pytest.raises(LoadError, match="CIPHER_KEY"):
        load_events(path)
    with pytest.raises(LoadError, match="cannot decrypt"):
        load_events(path, cipher_key=AESCipher.create_key(16), compressor="zlib")
    with pytest.raises(LoadError, match="cipher key is not usable"):
        load_events(path, cipher_key="not base64 at all!")
    assert_same_as_mapper(load_events(path, cipher_key=key, compressor="zlib"), app)
    assert_same_as_mapper(load_events(app), app)


# --- bad input ------------------------------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no file"):
        load_events(tmp_path / "nope.sqlite")
    assert not (tmp_path / "nope.sqlite").exists()


def test_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("just some notes")
    with pytest.raises(LoadError, match="not an SQLite database"):
        load_events(path)
    assert path.read_text() == "just some notes"


def test_sqlite_without_event_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE people (name TEXT)")
    conn.close()
    before = _digest(path)
    with pytest.raises(LoadError, match="without eventsourcing event tables"):
        load_events(path)
    assert _digest(path) == before


def test_a_state_whose_timestamp_is_not_first_loads_the_same(
    ticketing_file: tuple[Path, Ticketing],
) -> None:
    """A batch whose states cannot all have their timestamp split off is parsed whole."""
    path, app = ticketing_file
    with sqlite3.connect(path) as conn:
        (state,) = conn.execute("SELECT state FROM stored_events WHERE rowid = 5").fetchone()
        data = json.loads(state)
        moved = {k: v for k, v in data.items() if k != "timestamp"} | {
            "timestamp": data["timestamp"]
        }
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = 5", (json.dumps(moved).encode(),)
        )
    conn.close()
    assert_same_as_mapper(load_events(path), app)


def test_a_corrupt_event_is_marked_and_the_rest_loads(
    ticketing_file: tuple[Path, Ticketing],
) -> None:
    path, app = ticketing_file
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = 7", (b'{"timestamp": {"_ty',)
        )
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = 9", (b"\xff\xfe not utf8",))
    conn.close()
    before = _digest(path)
    df = load_events(path)
    assert _digest(path) == before
    assert len(df) == app.recorder.max_notification_id()
    bad = df[df["error"].notna()]
    assert bad.position.tolist() == [7, 9]
    assert "corrupt event state" in bad.error.iloc[0]
    good = df[df["error"].isna()]
    assert good.timestamp.notna().all()
    timed = load_events(path, since=START, until=START + timedelta(days=1))
    assert timed.position.tolist() == good.position.tolist()  # no time: not in any range
    assert good.position.tolist() == [p for p in range(1, len(df) + 1) if p not in (7, 9)]


def test_unknown_topic_and_unknown_encoding(tmp_path: Path) -> None:
    path = tmp_path / "odd.sqlite"
    app = open_app(Ticketing, path)
    with use_clock(ManualClock(START)):
        app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO stored_events VALUES (?, 1, ?, ?)",
            (
                uuid4().hex,
                "no.such.module:Thing.Happened",
                b'{"timestamp":{"_type_":"datetime_iso","_data_":"2018-01-08T09:00:00+00:00"},'
                b'"money":{"_type_":"money_v2","_data_":[5,"EUR"]},"n":1}',
            ),
        )
        conn.execute(
            "INSERT INTO stored_events VALUES (?, 1, ?, ?)",
            (uuid4().hex, "not-a-topic", b'{"x":1}'),
        )
    conn.close()
    df = load_events(path)
    assert df.event_type.tolist() == ["Conference.Scheduled", "Thing.Happened", "not-a-topic"]
    assert df.money[1] == [5, "EUR"]
    assert any("money_v2" in note for note in df.attrs["notes"])
    assert df.starts_on[0] == date(2018, 3, 7)  # date_iso is among the known simple types
    assert pd.isna(df.timestamp[2])


def test_a_postgres_url_without_a_server_says_why_and_what_to_check() -> None:
    # PostgreSQL histories are read by URL (tests/test_postgres_reading.py); no server here
    with pytest.raises(
        LoadError, match=r"cannot connect(.|\n)*Connection refused(.|\n)*check the user"
    ):
        load_events("postgresql://u:p@127.0.0.1:1/db")


def test_empty_store(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    open_app(Ticketing, path)
    df = load_events(path)
    assert list(df.columns) == FIXED_COLUMNS + TRACE_COLUMNS
    assert len(df) == 0


def test_timestamps_are_utc_aware_and_exact() -> None:
    app = open_app(Ticketing)
    with use_clock(ManualClock(datetime(2018, 1, 1, 12, 0, 0, 250_001, tzinfo=UTC))):
        app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    ts = load_events(app).timestamp[0]
    assert ts == datetime(2018, 1, 1, 12, 0, 0, 250_001, tzinfo=UTC)
    assert str(ts.tz) == "UTC"
    assert not math.isnan(ts.timestamp())


def test_a_load_leaves_the_garbage_collector_and_arrow_pool_as_they_were(tmp_path: Path) -> None:
    """The loader pauses the collector and switches Arrow's allocator only while it loads."""
    import gc

    import pyarrow as pa

    pool = pa.default_memory_pool().backend_name
    app = open_app(Ticketing, tmp_path / "t.sqlite")
    ticketing_history(app)
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            assert len(load_events(tmp_path / "t.sqlite"))
            with pytest.raises(LoadError):
                load_events(tmp_path / "missing.sqlite")
            assert gc.isenabled() is enabled
            assert pa.default_memory_pool().backend_name == pool
            assert gc.get_freeze_count() == 0
        finally:
            gc.enable()
    # Objects a program keeps frozen itself stay frozen.
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert len(load_events(tmp_path / "t.sqlite"))
        # (a few frozen objects may be freed meanwhile, e.g. an earlier load's threads)
        assert frozen - 100 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_events_without_a_state_are_marked_and_the_rest_loads(tmp_path: Path) -> None:
    path = tmp_path / "nulls.sqlite"
    _two_events(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE stored_events SET state = NULL WHERE rowid = 2")
    conn.close()
    df = load_events(path)
    assert df.position.tolist() == [1, 2]
    assert df.code[0] == "PHP18" and pd.isna(df.error[0])
    assert "empty" in df.error[1] and "ticket_type" not in df.columns  # nothing to show
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE stored_events SET state = NULL")
    conn.close()
    assert load_events(path).error.str.contains("empty").tolist() == [True, True]


def test_an_event_without_a_state_in_a_compressed_store(tmp_path: Path) -> None:
    path = tmp_path / "z.sqlite"
    _two_events(path, {"COMPRESSOR_TOPIC": ZLIB})
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE stored_events SET state = NULL WHERE rowid = 1")
    conn.close()
    df = load_events(path, compressor="zlib")
    assert "empty" in df.error[0]
    assert df.ticket_type[1] == "Standard" and pd.isna(df.error[1])


def test_a_failing_count_only_leaves_the_columns_to_grow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.reading.records import SQLiteRecords

    path = tmp_path / "t.sqlite"
    _two_events(path)
    want = load_events(path)

    def locked(self: SQLiteRecords, after: int = 0, upto: int | None = None) -> int:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(SQLiteRecords, "count", locked)
    got = load_events(path)
    assert _comparable(got) == _comparable(want)
