"""Benchmark: load an event history into a DataFrame three ways (one of them twice).

Usage::

    .venv/bin/python benchmarks/stream_load.py --events 1000000

Reuses the history every benchmark shares (``benchmarks/history_cache.py``:
``cached_history(N)``, generated once with the workbench's seeded generator;
``--own-history`` builds this script's older history instead), then loads it

1. with the workbench loader (:func:`workbench.reading.loading.load_events`),
2. the straightforward way: read the notification log through the library's
   mapper and build a DataFrame from the events' ``__dict__``; measured twice,
   as anyone would write it (``naive``, the collector on: ``vs_naive``, target
   >= 10x) and with Python's cyclic garbage collector paused while it runs
   (``naive_gc_paused``: ``gc.disable()`` around the route, as the loader pauses
   it for itself), so that ``vs_naive_gc_paused`` shows what is left of the gain
   once the straightforward way gets that setting too,
3. the floor: fetch the rows from SQLite, nothing parsed.

Each way runs in its own subprocess so its peak memory (``ru_maxrss``) is its
own; the file is read once first so that every way finds it in the OS cache.
``--repeat N`` runs the ways N times in turn (ways interleaved, so a
burst of load from other work on the machine hits them alike) and reports the
median of each, with the spread. Wall time is what the targets are about;
CPU seconds are printed too (less affected by other work on the machine; the
loader's pipeline spreads its CPU over the two cores, the other ways do not).
Prints events/second, the ratios, the time to load the 200 newest events,
and, as its last line, one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"


def build_history(path: Path, events: int, seed: int = 7) -> None:
    """Write about ``events`` ticketing events to a new SQLite file at ``path``.

    Uses the library's own mapper and recorder, with domain aggregates driven
    directly in memory (fast) and a manual clock (realistic timestamps).
    """
    sys.path.insert(0, str(ROOT))
    from workbench.clock import ManualClock, use_clock
    from workbench.examples.ticketing import Ticketing
    from workbench.examples.ticketing.domainmodel import (
        Conference,
        TicketPurchase,
        reservation_deadline,
    )
    from workbench.stores import open_app

    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    app = open_app(Ticketing, tmp)
    clock = ManualClock(datetime(2018, 1, 8, 9, 0, tzinfo=UTC))
    written = 0
    pending: list[Any] = []

    def flush() -> None:
        nonlocal written
        stored = [app.mapper.to_stored_event(e) for e in pending]
        app.recorder.insert_events(stored)
        written += len(stored)
        pending.clear()

    with use_clock(clock):
        conferences = []
        for code, name, day in [
            ("PHP18", "ConFoo PHP 2018", date(2018, 3, 7)),
            ("JS18", "ConFoo JS 2018", date(2018, 3, 8)),
            ("DDD18", "DDD Montreal 2018", date(2018, 6, 1)),
            ("ES19", "Event Sourcing Day 2019", date(2019, 2, 1)),
        ]:
            conf = Conference(code=code, name=name, starts_on=day)
            for ticket_type, price in [
                ("Early bird", "295.00"),
                ("Standard", "450.00"),
                ("Workshop", "725.50"),
                ("Student", "99.99"),
            ]:
                conf.add_ticket_type(ticket_type, Decimal(price), 10**9)
            for dc, pct in [("SPEAKER", 100), ("COMMUNITY", 15), ("TEAM5", 20)]:
                conf.create_discount_code(dc, pct)
            conferences.append(conf)
            pending.extend(conf.collect_events())
        customers = [
            f"{f} {s}"
            for f in (
                "Ada",
                "Grace",
                "Linus",
                "Barbara",
                "Ken",
                "Margaret",
                "Alan",
                "Edsger",
                "Frances",
                "Donald",
            )
            for s in (
                "Lovelace",
                "Hopper",
                "Torvalds",
                "Liskov",
                "Thompson",
                "Hamilton",
                "Kay",
                "Dijkstra",
                "Allen",
                "Knuth",
            )
        ]
        n = 0
        while written + len(pending) < events:
            n += 1
            clock.advance(seconds=rng.randint(1, 90))
            conf = rng.choice(conferences)
            kinds = rng.sample(
                [t for t, on in conf.on_sale.items() if on], k=rng.choice((1, 1, 1, 2))
            )
            quantities = {t: rng.choice((1, 1, 2, 3)) for t in kinds}
            discount = rng.choice((None, None, None, "COMMUNITY", "TEAM5"))
            reference = f"{conf.code}-{n:08d}"
            purchase_id = TicketPurchase.create_id(reference)
            conf.reserve(purchase_id, quantities)
            purchase = TicketPurchase(
                conference_id=conf.id,
                reference=reference,
                customer=rng.choice(customers),
                quantities=quantities,
                unit_prices={t: conf.prices[t] for t in quantities},
                discount_code=discount,
                total=conf.price_of(quantities, discount),
                reserved_until=reservation_deadline(clock.now()),
            )
            roll = rng.random()
            if roll < 0.7:
                clock.advance(seconds=rng.randint(5, 600))
                count = sum(quantities.values())
                purchase.pay(f"PAY-{n:09d}", [rng.choice(customers) for _ in range(count)])
                if roll < 0.07:
                    clock.advance(minutes=rng.randint(1, 120))
                    ticket_type = purchase.cancel_ticket(1, "cannot attend")
                    conf.release(purchase.id, {ticket_type: 1}, reason="cancelled")
            else:
                clock.advance(minutes=31)
                purchase.time_out()
                conf.release(purchase.id, purchase.quantities, reason="timed out")
            pending.extend(conf.collect_events())
            pending.extend(purchase.collect_events())
            if len(pending) >= 20_000:
                flush()
            if rng.random() < 0.0005:
                t = rng.choice(kinds)
                if conf.on_sale[t] and t == "Early bird":
                    conf.end_sale(t)
        flush()
    app.close()
    tmp.rename(path)


def shared_history(events: int) -> Path:
    """The history every benchmark shares (``benchmarks/history_cache.py``)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.path.insert(0, str(ROOT))
    from history_cache import cached_history

    return cached_history(events)


def history(events: int) -> Path:
    """This script's own cached history with ``events`` events, built if needed."""
    path = CACHE / f"stream-ticketing-{events}.sqlite"
    if not path.exists():
        started = time.perf_counter()
        try:
            from workbench.examples.history import generate_history
        except ImportError:
            build_history(path, events)
        else:
            from workbench.examples.ticketing import Ticketing
            from workbench.stores import open_app

            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".building")
            tmp.unlink(missing_ok=True)
            app = open_app(Ticketing, tmp)
            generate_history(app, events=events, seed=7, batch_size=20_000)
            app.close()
            tmp.rename(path)
        print(f"built {path} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


# --- the three ways, each run in a fresh process ---------------------------------------


def run_workbench(path: Path) -> int:
    from workbench.reading.loading import load_events

    return len(load_events(path))


def run_naive(path: Path) -> int:
    """The straightforward approach (``baselines.naive_load``)."""
    from baselines import naive_load

    return naive_load(path)


def run_naive_gc_paused(path: Path) -> int:
    """The straightforward approach with the garbage collector paused, as the loader has it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return run_naive(path)
    finally:
        if enabled:
            gc.enable()


def run_fetch(path: Path) -> int:
    """The floor: fetch every row from SQLite, nothing parsed."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    cursor = conn.execute(
        "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events"
    )
    count = 0
    while rows := cursor.fetchmany(10_000):
        count += len(rows)
    conn.close()
    return count


def run_tail(path: Path) -> int:
    from workbench.reading.loading import load_events

    return len(load_events(path, newest=200))


WAYS = {
    "workbench": run_workbench,
    "naive": run_naive,
    "naive_gc_paused": run_naive_gc_paused,
    "fetch": run_fetch,
    "tail": run_tail,
}


def child(way: str, path: Path) -> None:
    """Run one way in this process and print its figures as JSON."""
    import pandas  # noqa: F401  (imports are not part of the measured time)

    import workbench.examples.ticketing
    import workbench.reading.loading
    import workbench.stores  # noqa: F401

    if way == "tail":
        run_tail(path)  # warm the file cache and imports once
    started = time.perf_counter()
    cpu = time.process_time()
    events = WAYS[way](path)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {"way": way, "events": events, "seconds": seconds, "cpu": cpu, "peak_mb": peak}
    print(json.dumps(figures))


def measure(way: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", way, "--path", str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def _spread(runs: list[dict[str, Any]], key: str, unit: str = "s") -> str:
    values = sorted(r[key] for r in runs)
    if len(values) == 1:
        return ""
    return f" (runs {', '.join(f'{v:.2f}' for v in values)} {unit})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each way (medians)")
    parser.add_argument(
        "--own-history", action="store_true", help="this script's history, not the shared one"
    )
    parser.add_argument("--child", choices=sorted(WAYS), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path)
        return
    path = history(args.events) if args.own_history else shared_history(args.events)
    measure("fetch", path)  # read the file once: every way then finds it in the OS cache
    runs: dict[str, list[dict[str, Any]]] = {
        "fetch": [],
        "workbench": [],
        "naive": [],
        "naive_gc_paused": [],
    }
    for _ in range(max(1, args.repeat)):
        for way in runs:
            runs[way].append(measure(way, path))
    tail = measure("tail", path)
    events = runs["workbench"][0]["events"]
    counts = {r["events"] for way in runs.values() for r in way}
    assert counts == {events}, runs
    ways = ("workbench", "naive", "naive_gc_paused", "fetch")
    work_s, naive_s, paused_s, fetch_s = (_median(runs[w], "seconds") for w in ways)
    work_cpu, naive_cpu, paused_cpu, fetch_cpu = (_median(runs[w], "cpu") for w in ways)
    figures = {
        "events": events,
        "workbench_eps": round(events / work_s),
        "naive_eps": round(events / naive_s),
        "naive_gc_paused_eps": round(events / paused_s),
        "fetch_eps": round(events / fetch_s),
        "vs_naive": round(naive_s / work_s, 2),
        "vs_naive_gc_paused": round(paused_s / work_s, 2),
        "vs_fetch": round(work_s / fetch_s, 2),
        "peak_mb": round(max(r["peak_mb"] for r in runs["workbench"])),
        "naive_peak_mb": round(max(r["peak_mb"] for r in runs["naive"])),
        "tail200_ms": round(tail["seconds"] * 1000, 1),
        "workbench_s": round(work_s, 2),
        "naive_s": round(naive_s, 2),
        "naive_gc_paused_s": round(paused_s, 2),
        "fetch_s": round(fetch_s, 2),
        "workbench_cpu_s": round(work_cpu, 2),
        "naive_cpu_s": round(naive_cpu, 2),
        "naive_gc_paused_cpu_s": round(paused_cpu, 2),
        "fetch_cpu_s": round(fetch_cpu, 2),
        "vs_naive_cpu": round(naive_cpu / work_cpu, 2),
        "vs_naive_gc_paused_cpu": round(paused_cpu / work_cpu, 2),
        "vs_fetch_cpu": round(work_cpu / fetch_cpu, 2),
        "repeat": max(1, args.repeat),
        "history": path.name,
        "load_average": round(os.getloadavg()[0], 1),
    }
    print(f"history: {path} ({events:,} events)")
    for name, way in (
        ("workbench loader", "workbench"),
        ("straightforward", "naive"),
        ("same, gc paused", "naive_gc_paused"),
        ("fetch only", "fetch"),
    ):
        seconds, cpu = _median(runs[way], "seconds"), _median(runs[way], "cpu")
        peak = max(r["peak_mb"] for r in runs[way])
        print(
            f"{name:>17}: {seconds:7.2f} s  {events / seconds:>10,.0f} events/s  "
            f"cpu {cpu:6.2f} s  peak {peak:,.0f} MB{_spread(runs[way], 'seconds')}"
        )
    print(f"workbench is {figures['vs_naive']}x the straightforward approach (target >= 10)")
    print(
        f"workbench is {figures['vs_naive_gc_paused']}x the straightforward approach with "
        "the garbage collector paused too"
    )
    print(f"workbench takes {figures['vs_fetch']}x the time of fetching alone (target <= 3)")
    print(
        f"in CPU seconds: {figures['vs_naive_cpu']}x the straightforward approach, "
        f"{figures['vs_fetch_cpu']}x fetching alone"
    )
    print(f"200 newest events: {figures['tail200_ms']} ms (target well under 100)")
    print(
        f"load average {figures['load_average']} on {os.cpu_count()} cores "
        "(other work on the machine slows every way; the CPU seconds are less affected)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
