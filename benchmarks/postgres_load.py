"""Benchmark: a PostgreSQL history into a DataFrame by its URL, and the classroom latency.

Usage::

    .venv/bin/python benchmarks/postgres_load.py --events 1000000
    .venv/bin/python benchmarks/postgres_load.py --url postgresql://u:p@host:5432/db

Copies the history every benchmark shares (``benchmarks/history_cache.py``:
``cached_history(N)``) into a fresh schema on PostgreSQL: eventsourcing creates
the ``ticketing_events`` table (``open_app(Ticketing, url)``), the SQLite rows
are COPYed into it (much faster than generating them again). With no ``--url``
the project's server is started the way the tests start it (``scripts/postgres.sh``);
the schema is dropped at the end either way. Then, each in a fresh process
(its peak memory, ``ru_maxrss``, its own):

1. ``workbench``: :func:`workbench.load_events` on the URL, without the code;
2. ``naive``: the straightforward way: the application's notification log
   (``select_notifications``) and its mapper, a DataFrame of the events'
   ``__dict__`` (as ``benchmarks/stream_load.py``'s naive route);
3. ``fetch``: the floor: every row fetched with psycopg in one binary query
   (``--fetch cursor``: through a server-side cursor), nothing parsed.

Targets: ``vs_naive`` >= 5, ``vs_fetch`` <= 3, ``peak_mb`` < 1,500.

The classroom latency: one process records commands (``open_app(Ticketing, url)``,
one command at a time, on a schema of its own) while this one watches an
:class:`~workbench.EventStream` over the URL, polling ``refresh()`` every
``--poll`` seconds; the time from sending a command to its event showing in the
stream, median over ``--commands`` commands (target < 1 s).

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


# --- the server and the history ----------------------------------------------------


def server_url() -> str:
    """The project's PostgreSQL server, started if it is not running (as the tests do)."""
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "postgres.sh")],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def create_schema(base: str) -> str:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def with_schema(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


def copy_history(sqlite_path: Path, base: str, schema: str) -> int:
    """The SQLite history's rows COPYed into an eventsourcing-created table; how many."""
    import sqlite3

    import psycopg

    from workbench.examples.ticketing import Ticketing
    from workbench.stores import open_app

    open_app(Ticketing, with_schema(base, schema)).close()  # creates ticketing_events
    table = f"{schema}.ticketing_events"
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    copied = 0
    with psycopg.connect(base, autocommit=True) as conn:
        with conn.cursor() as cur:
            sql = (
                f"COPY {table} (notification_id, originator_id, originator_version, topic, state) "
                "FROM STDIN"
            )
            with cur.copy(sql) as copy:
                rows = source.execute(
                    "SELECT rowid, originator_id, originator_version, topic, state "
                    "FROM stored_events ORDER BY rowid"
                )
                while chunk := rows.fetchmany(50_000):
                    for row in chunk:
                        copy.write_row(row)  # a 32-hex id is a uuid to PostgreSQL
                    copied += len(chunk)
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'notification_id'), "
            f"(SELECT max(notification_id) FROM {table}))"
        )
        conn.execute(f"VACUUM ANALYZE {table}")
    source.close()
    return copied


# --- the ways of loading (each run in a fresh process) -----------------------------


def run_workbench(url: str) -> int:
    from workbench.reading.loading import load_events

    return len(load_events(url))


def run_naive(url: str) -> int:
    """The straightforward approach (``baselines.naive_load``)."""
    from baselines import naive_load

    return naive_load(url)


def run_fetch(url: str) -> int:
    """The floor: every row fetched in one query (binary), nothing parsed.

    ``--fetch cursor`` fetches through a server-side cursor instead (held a batch at
    a time, as the workbench holds it; slower: a round trip per batch).
    """
    import psycopg

    from workbench.stores import parse_store

    pg = parse_store(url).postgres
    base = url.split("?", 1)[0]
    table = f"{pg.get('POSTGRES_SCHEMA', 'public')}.ticketing_events"
    sql = (
        "SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {table} ORDER BY notification_id"
    )
    count = 0
    with psycopg.connect(base) as conn:
        if os.environ.get("BENCH_FETCH") == "cursor":
            with conn.cursor("fetch", binary=True) as cur:
                cur.itersize = 10_000
                cur.execute(sql)
                while rows := cur.fetchmany(10_000):
                    count += len(rows)
        else:
            with conn.cursor(binary=True) as cur:
                cur.execute(sql)
                while rows := cur.fetchmany(10_000):
                    count += len(rows)
    return count


WAYS = {"workbench": run_workbench, "naive": run_naive, "fetch": run_fetch}


def child(way: str, url: str) -> None:
    """Run one way in this process and print its figures as JSON."""
    import pandas  # noqa: F401  (imports are not part of the measured time)
    import psycopg  # noqa: F401

    import workbench.examples.ticketing
    import workbench.reading.loading
    import workbench.stores  # noqa: F401

    started = time.perf_counter()
    cpu = time.process_time()
    events = WAYS[way](url)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"way": way, "events": events, "seconds": seconds, "cpu": cpu, "peak_mb": peak})
    )


def measure(way: str, url: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", way, "--url", url],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- the classroom: a command in one process, seen in another ----------------------


def writer(url: str) -> None:
    """Record one command per line read from stdin; say "done" after each."""
    from datetime import date
    from decimal import Decimal

    from workbench.examples.ticketing import Ticketing
    from workbench.stores import open_app

    app = open_app(Ticketing, url)
    conf = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
    print("ready", flush=True)
    for i, _ in enumerate(sys.stdin):
        app.add_ticket_type(conf, f"Type {i}", Decimal("10.00"), 10)
        print("done", flush=True)
    app.close()


def classroom(url: str, commands: int, poll: float) -> list[float]:
    """Seconds from sending each command to its event showing in an EventStream."""
    from workbench import EventStream

    proc = subprocess.Popen(
        [sys.executable, __file__, "--writer", "--url", url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        stream = EventStream(url)
        latencies = []
        for _ in range(commands):
            sent = time.perf_counter()
            proc.stdin.write("go\n")
            proc.stdin.flush()
            while stream.refresh() == 0:
                if time.perf_counter() - sent > 30:
                    raise RuntimeError("a command's event did not show within 30 s")
                time.sleep(poll)
            latencies.append(time.perf_counter() - sent)
            assert proc.stdout.readline().strip() == "done"
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    return latencies


# --- main ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--url", help="a PostgreSQL server (default: the project's, started)")
    parser.add_argument("--commands", type=int, default=50, help="classroom commands")
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between refreshes")
    parser.add_argument(
        "--fetch",
        choices=["query", "cursor"],
        default="query",
        help="the floor: one query (default), or a server-side cursor",
    )
    parser.add_argument("--child", choices=sorted(WAYS), help=argparse.SUPPRESS)
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url)
        return
    if args.writer:
        writer(args.url)
        return

    from history_cache import cached_history

    os.environ["BENCH_FETCH"] = args.fetch  # for the children

    base = args.url or server_url()
    path = cached_history(args.events)
    schema, room = create_schema(base), create_schema(base)
    try:
        started = time.perf_counter()
        copied = copy_history(path, base, schema)
        print(f"copied {copied:,} events into {schema} in {time.perf_counter() - started:.1f} s")
        url = with_schema(base, schema)
        measure("fetch", url)  # warm the server's cache: every way then finds the rows there
        runs = {way: measure(way, url) for way in ("fetch", "workbench", "naive")}
        latencies = classroom(with_schema(base, room), args.commands, args.poll)
    finally:
        drop_schema(base, schema)
        drop_schema(base, room)
    counts = {r["events"] for r in runs.values()}
    assert counts == {copied}, runs
    work_s, naive_s, fetch_s = (runs[w]["seconds"] for w in ("workbench", "naive", "fetch"))
    figures = {
        "events": copied,
        "workbench_eps": round(copied / work_s),
        "naive_eps": round(copied / naive_s),
        "fetch_eps": round(copied / fetch_s),
        "vs_naive": round(naive_s / work_s, 2),
        "vs_fetch": round(work_s / fetch_s, 2),
        "peak_mb": round(runs["workbench"]["peak_mb"]),
        "naive_peak_mb": round(runs["naive"]["peak_mb"]),
        "fetch_peak_mb": round(runs["fetch"]["peak_mb"]),
        "classroom_median_ms": round(statistics.median(latencies) * 1000, 1),
        "classroom_max_ms": round(max(latencies) * 1000, 1),
        "workbench_s": round(work_s, 2),
        "naive_s": round(naive_s, 2),
        "fetch_s": round(fetch_s, 2),
        "workbench_cpu_s": round(runs["workbench"]["cpu"], 2),
        "commands": len(latencies),
        "poll_s": args.poll,
        "fetch": args.fetch,
        "history": path.name,
        "load_average": round(os.getloadavg()[0], 1),
    }
    for name, way in (("workbench", "workbench"), ("straightforward", "naive"), ("fetch", "fetch")):
        r = runs[way]
        print(
            f"{name:>15}: {r['seconds']:7.2f} s  {copied / r['seconds']:>10,.0f} events/s  "
            f"cpu {r['cpu']:6.2f} s  peak {r['peak_mb']:,.0f} MB"
        )
    print(f"workbench is {figures['vs_naive']}x the straightforward approach (target >= 5)")
    print(f"workbench takes {figures['vs_fetch']}x the time of fetching alone (target <= 3)")
    print(f"peak {figures['peak_mb']} MB (target < 1500)")
    print(
        f"classroom: a command to its event in another process's stream, median "
        f"{figures['classroom_median_ms']} ms over {len(latencies)} (target < 1000)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
