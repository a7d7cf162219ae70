"""Benchmark: rebuild the "tickets remaining" read model over a large SQLite history.

Usage::

    .venv/bin/python benchmarks/projection_rebuild.py --events 1000000

Builds (or reuses, under ``benchmarks/.cache/``) an SQLite ticketing history,
then rebuilds "tickets remaining" from position 0 three ways, in one run:

1. the workbench rebuild (:class:`workbench.projections.ProjectionRun`), no chart;
2. the same, driven through the live widget as in a notebook: the rebuild runs
   in a background thread and the chart of the read model is redrawn while it
   runs (throttled to ``--redraws`` per second, aggregated data only);
3. the library's route: read the application's notification log, decode every
   event with the application's mapper, call the handler.

Figures are events of the history per second (every event, handled or not),
wall-clock, best of ``--repeat`` runs (``--library-repeat`` for the library's
much slower route). The workbench runs come in pairs (no chart, live chart)
back to back in alternating order; ``chart_overhead`` is the median of the
pairs' ratios, and the time spent redrawing is measured too. The machine is shared, so
the JSON also carries the load average and the same figures by CPU time of
this process (``cpu_time_figures``), which other processes disturb less.
Prints each figure, the ratios, and, as its last line, one JSON object:
``rebuild_eps``, ``with_chart_eps``, ``chart_overhead``, ``library_eps``,
``vs_library``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from workbench.examples.ticketing import Ticketing  # noqa: E402
from workbench.examples.ticketing.readmodels import (  # noqa: E402
    TicketsRemaining,
    remaining_frame,
)
from workbench.projections import ProjectionRun  # noqa: E402
from workbench.stores import open_app  # noqa: E402


def history(events: int, seed: int) -> Path:
    """The cached history (the shared cache when the generator exists, else our own)."""
    try:
        from history_cache import cached_history

        return cached_history(events, seed)
    except ImportError:
        return _own_history(events, seed)


def _own_history(events: int, seed: int) -> Path:  # pragma: no cover - fallback only
    """A history written through the Ticketing app's commands (slower, same shape)."""
    import random
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from workbench.clock import ManualClock, use_clock
    from workbench.examples.ticketing import TicketingError

    cache = ROOT / "benchmarks" / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"projection-ticketing-{events}-seed{seed}.sqlite"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    rng = random.Random(seed)
    clock = ManualClock(datetime(2017, 9, 4, tzinfo=UTC))
    app = open_app(Ticketing, partial)
    with use_clock(clock):
        conferences: list[Any] = []
        pending: list[Any] = []
        n = 0
        while (app.recorder.max_notification_id() or 0) < events:
            if not conferences or rng.random() < 1e-4:
                conf = app.schedule_conference(f"C{n}", f"Conference {n}", date(2018, 3, 7))
                app.add_ticket_type(conf, "Standard", Decimal("450.00"), capacity=10**9)
                conferences.append(conf)
            n += 1
            clock.advance(seconds=rng.randint(1, 120))
            try:
                purchase = app.reserve_tickets(rng.choice(conferences), f"C{n}", {"Standard": 1})
                if rng.random() < 0.85:
                    app.pay(purchase, f"P{n}", [f"D{n}"])
                else:
                    pending.append(purchase)
                if len(pending) > 20:
                    app.time_out(pending.pop(0))
            except TicketingError:
                pass
    app.close()
    with closing(sqlite3.connect(partial)) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    partial.rename(path)
    return path


def warm(path: Path) -> int:
    """Read the whole file once so that every route starts with the same warm page cache."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        count, _ = conn.execute("SELECT COUNT(*), SUM(LENGTH(state)) FROM stored_events").fetchone()
    return int(count)


CPU: list[float] = []
"""CPU seconds (all threads of this process) of the last timed action."""


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Wall-clock seconds of ``action()`` and its result; its CPU seconds go to ``CPU``."""
    cpu = time.process_time()
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    CPU.append(time.process_time() - cpu)
    return elapsed, result


def workbench_rebuild(path: Path) -> tuple[float, ProjectionRun]:
    run = ProjectionRun(TicketsRemaining(), path)
    return timed(run.rebuild)


def workbench_rebuild_with_chart(path: Path, redraws: float) -> tuple[float, Any]:
    from workbench.charts.projections import remaining_chart
    from workbench.widgets.projection_view import ProjectionView

    run = ProjectionRun(TicketsRemaining(), path)
    view = ProjectionView(run, remaining_frame, remaining_chart, redraws_per_second=redraws)
    # the (empty) chart is drawn when the view is created, before the click, as in a notebook
    redraw = view._redraw
    view.redraw_seconds = 0.0

    def measured_redraw(force: bool = False) -> None:
        started = time.perf_counter()
        redraw(force)
        view.redraw_seconds += time.perf_counter() - started

    view._redraw = measured_redraw  # type: ignore[method-assign]

    def click_and_wait() -> Any:
        view.rebuild_button.click()
        view.wait(None)
        return view

    return timed(click_and_wait)


def library_route(path: Path) -> tuple[float, dict[tuple[str, str], int]]:
    """Notification log + the application's mapper + a handler, as the library offers."""
    from workbench.examples.ticketing.domainmodel import Conference

    class LibraryTicketing(Ticketing):
        log_section_size = 10_000  # the library's default is 10 notifications per section

    app = open_app(LibraryTicketing, path, readonly=True)
    reserved, released = Conference.TicketsReserved, Conference.TicketsReleased  # type: ignore[attr-defined]
    added, scheduled = Conference.TicketTypeAdded, Conference.Scheduled  # type: ignore[attr-defined]
    codes: dict[Any, str] = {}
    remaining: dict[tuple[str, str], int] = {}

    def handle(event: Any) -> None:
        kind = type(event)
        if kind is reserved:
            code = codes[event.originator_id]
            for ticket_type, quantity in event.quantities.items():
                remaining[(code, ticket_type)] -= quantity
        elif kind is released:
            code = codes[event.originator_id]
            for ticket_type, quantity in event.quantities.items():
                remaining[(code, ticket_type)] += quantity
        elif kind is added:
            remaining[(codes[event.originator_id], event.ticket_type)] = event.capacity
        elif kind is scheduled:
            codes[event.originator_id] = event.code

    def replay() -> dict[tuple[str, str], int]:
        log = app.notification_log
        mapper = app.mapper
        start = 1
        while True:
            notifications = log.select(start, 10_000)
            if not notifications:
                return remaining
            for notification in notifications:
                handle(mapper.to_domain_event(notification))
            start = notifications[-1].id + 1

    try:
        return timed(replay)
    finally:
        app.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="history size")
    parser.add_argument("--seed", type=int, default=2018, help="history seed")
    parser.add_argument("--redraws", type=float, default=4.0, help="chart redraws per second")
    parser.add_argument(
        "--repeat", type=int, default=5, help="interleaved workbench runs; the best counts"
    )
    parser.add_argument(
        "--library-repeat", type=int, default=2, help="runs of the (slow) library route"
    )
    args = parser.parse_args(argv)

    path = history(args.events, args.seed)
    total = warm(path)
    print(
        f"history: {path.name}, {total:,} events; best of {args.repeat} interleaved workbench "
        f"runs and {args.library_repeat} library runs"
    )

    load = os.getloadavg()[0]
    print(f"load average before: {load:.2f} on {os.cpu_count()} cores")
    plain_times: list[float] = []
    chart_times: list[float] = []
    library_times: list[float] = []
    redraw_shares: list[float] = []
    cpu: dict[str, list[float]] = {"plain": [], "chart": [], "library": []}
    for i in range(max(args.repeat, args.library_repeat)):
        line = "  run:"
        if i < args.repeat:
            # pairs run back to back, in alternating order, so that both see the same load
            for route in ("plain", "chart") if i % 2 == 0 else ("chart", "plain"):
                if route == "plain":
                    plain_s, run = workbench_rebuild(path)
                    plain_times.append(plain_s)
                else:
                    chart_s, view = workbench_rebuild_with_chart(path, args.redraws)
                    chart_times.append(chart_s)
                    redraw_shares.append(view.redraw_seconds / chart_s)
                cpu[route].append(CPU[-1])
            line += (
                f" no chart {plain_s:.2f} s (cpu {cpu['plain'][-1]:.2f}), live chart "
                f"{chart_s:.2f} s (cpu {cpu['chart'][-1]:.2f}, {view.redraws} redraws taking "
                f"{view.redraw_seconds * 1000:.0f} ms)"
            )
        if i < args.library_repeat:
            library_s, library_model = library_route(path)
            library_times.append(library_s)
            cpu["library"].append(CPU[-1])
            line += f" library {library_s:.2f} s (cpu {cpu['library'][-1]:.2f})"
        print(line, flush=True)
    paired = sorted(c / p - 1 for c, p in zip(chart_times, plain_times, strict=True))
    overhead = paired[len(paired) // 2]
    best_of_overhead = min(chart_times) / min(plain_times) - 1
    plain_s, chart_s, library_s = min(plain_times), min(chart_times), min(library_times)
    cpu_best = {k: min(v) for k, v in cpu.items()}

    rebuild_eps = total / plain_s
    print(
        f"workbench rebuild, no chart:    {plain_s:6.2f} s  {rebuild_eps:>10,.0f} events/s "
        f"({run.progress.handled:,} handled, {run.progress.skipped:,} skipped)"
    )
    with_chart_eps = total / chart_s
    print(
        f"workbench rebuild, live chart:  {chart_s:6.2f} s  {with_chart_eps:>10,.0f} events/s "
        f"(redraws at <= {args.redraws:g}/s)"
    )
    print(
        f"chart overhead: {overhead:+.1%} (median of the paired runs; best-of ratio "
        f"{best_of_overhead:+.1%}); redraws took {max(redraw_shares):.1%} of a run at most"
    )
    library_eps = total / library_s
    print(f"library route (log + mapper):   {library_s:6.2f} s  {library_eps:>10,.0f} events/s")

    workbench_model = {k: v for k, v in run.model["remaining"].items()}
    if workbench_model != library_model:
        print("MISMATCH: the two routes built different read models", file=sys.stderr)
        return 1
    if view.run.model.snapshot() != run.model.snapshot():
        print("MISMATCH: the rebuild with the chart differs", file=sys.stderr)
        return 1
    vs_library = rebuild_eps / library_eps
    print(
        f"workbench vs library: {vs_library:.2f}x (target >= 1.5x); "
        f"rebuild {rebuild_eps:,.0f}/s (target >= 150,000); "
        f"chart overhead {overhead:.1%} (target <= 15%)"
    )
    print(
        json.dumps(
            {
                "events": total,
                "handled": run.progress.handled,
                "rebuild_eps": round(rebuild_eps),
                "with_chart_eps": round(with_chart_eps),
                "chart_overhead": round(overhead, 4),
                "chart_overhead_best_of": round(best_of_overhead, 4),
                "redraw_share_max": round(max(redraw_shares), 4),
                "library_eps": round(library_eps),
                "vs_library": round(vs_library, 3),
                "redraws": view.redraws,
                "load_average": round(load, 2),
                "cpu_time_figures": {
                    "rebuild_eps": round(total / cpu_best["plain"]),
                    "with_chart_eps": round(total / cpu_best["chart"]),
                    "chart_overhead": round(cpu_best["chart"] / cpu_best["plain"] - 1, 4),
                    "library_eps": round(total / cpu_best["library"]),
                    "vs_library": round(cpu_best["library"] / cpu_best["plain"], 3),
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
