"""Benchmark: rebuild the "tickets remaining" read model over a large SQLite history.

Usage::

    .venv/bin/python benchmarks/projection_rebuild.py --events 1000000 --repeat 5

Builds (or reuses, under ``benchmarks/.cache/``) an SQLite ticketing history,
then rebuilds "tickets remaining" from position 0 three ways (*routes*):

1. ``plain``: the workbench rebuild (:class:`workbench.projections.ProjectionRun`), no chart;
2. ``chart``: the same, driven through the live widget as in a notebook: the
   rebuild runs in a background thread and the chart of the read model is
   redrawn while it runs (throttled to ``--redraws`` per second, aggregated
   data only);
3. ``library``: the library's route. It reads the application's notification
   log (``app.notification_log.select(start, limit, topics=...)``) asking for
   the same event types the projection handles (their topics, from the
   domain's classes), decodes each event with the application's mapper and
   calls the projection's own handlers on a workbench ``ReadModel``, whose
   change log it clears after every section as the workbench commits a
   batch. Only reading and decoding differ; the handler logic and the read
   model are the same, and every route must build the same read model (and
   handle the same number of events) or the script fails.

Every run of a route is a fresh subprocess (the script runs itself with
``--route NAME --once`` and reads back the JSON line it prints), so no route
inherits another's memory, caches or grown process. Imports and opening the
history happen before the clock starts. ``--repeat`` rounds run every route
once each, interleaved, in an order that rotates from round to round, so a
burst of other work on the (shared) machine hits all routes alike; every route
gets the same number of runs and the figures are medians. Figures are events
of the history per second (every event, handled or not), wall-clock;
``chart_overhead`` is the median of each round's ratio of the chart run to
the plain run. The JSON also carries the load average and the same figures by
CPU seconds of the route's process (``cpu_time_figures``), which other
processes disturb less. Prints each run, each figure, the ratios, and, as its
last line, one JSON object with ``rebuild_eps``, ``with_chart_eps``,
``chart_overhead``, ``library_eps`` and ``vs_library`` (the workbench rebuild
against the library's route; target >= 1.5).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

ROUTES = ("plain", "chart", "library")


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
    from workbench.examples.ticketing import Ticketing, TicketingError
    from workbench.stores import open_app

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


def timed(action: Callable[[], Any]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (every thread of this process) of ``action()``."""
    cpu = time.process_time()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started, time.process_time() - cpu


def fingerprint(tables: dict[str, dict[Any, Any]]) -> str:
    """A short digest of a read model's tables: equal for equal read models."""
    rows = sorted((name, sorted(map(repr, table.items()))) for name, table in tables.items())
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


# --- the routes, each run once in a fresh process ----------------------------------------


def plain_route(path: Path, redraws: float) -> dict[str, Any]:
    """The workbench rebuild, no chart."""
    from workbench.examples.ticketing.readmodels import TicketsRemaining
    from workbench.projections import ProjectionRun

    run = ProjectionRun(TicketsRemaining(), path)
    seconds, cpu = timed(run.rebuild)
    if run.status != "done":
        raise SystemExit(f"the rebuild ended {run.status}: {run.failure or run.error}")
    return {
        "seconds": seconds,
        "cpu": cpu,
        "handled": run.progress.handled,
        "model": fingerprint(run.model.snapshot()),
    }


def chart_route(path: Path, redraws: float) -> dict[str, Any]:
    """The workbench rebuild started from the live widget, its chart redrawn as it runs."""
    from workbench.charts.projections import remaining_chart
    from workbench.examples.ticketing.readmodels import TicketsRemaining, remaining_frame
    from workbench.projections import ProjectionRun
    from workbench.widgets.projection_view import ProjectionView

    run = ProjectionRun(TicketsRemaining(), path)
    view = ProjectionView(run, remaining_frame, remaining_chart, redraws_per_second=redraws)
    # the (empty) chart is drawn when the view is created, before the click, as in a notebook
    redraw = view._redraw
    spent = [0.0]

    def measured_redraw(force: bool = False) -> None:
        started = time.perf_counter()
        redraw(force)
        spent[0] += time.perf_counter() - started

    view._redraw = measured_redraw  # type: ignore[method-assign]

    def click_and_wait() -> None:
        view.rebuild_button.click()
        view.wait(None)

    seconds, cpu = timed(click_and_wait)
    if run.status != "done":
        raise SystemExit(f"the rebuild ended {run.status}: {run.failure or run.error}")
    return {
        "seconds": seconds,
        "cpu": cpu,
        "handled": run.progress.handled,
        "model": fingerprint(run.model.snapshot()),
        "redraws": view.redraws,
        "redraw_seconds": spent[0],
    }


SECTION = 10_000
"""Notifications per select, in the library's route."""


class LibraryEvent:
    """A domain event as the projection's handlers read events (``stream_id`` as text)."""

    __slots__ = ("event", "stream_id")

    def __init__(self, event: Any) -> None:
        self.event = event
        self.stream_id = str(event.originator_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.event, name)


def library_topics(projection: Any) -> list[str]:
    """The topics of the domain event classes the projection handles, as the library names them."""
    from eventsourcing.utils import get_topic

    from workbench.examples.ticketing import domainmodel

    topics = []
    for event_type in sorted(projection.handlers):
        found: Any = domainmodel
        for part in event_type.split("."):
            found = getattr(found, part)
        topics.append(get_topic(found))
    return topics


def library_route(path: Path, redraws: float) -> dict[str, Any]:
    """The application's notification log, the same topics, the mapper, the same handlers."""
    from workbench.examples.ticketing import Ticketing
    from workbench.examples.ticketing.readmodels import TicketsRemaining
    from workbench.projections import ReadModel
    from workbench.stores import open_app

    class LibraryTicketing(Ticketing):
        log_section_size = SECTION  # the library's default is 10 notifications per section

    projection = TicketsRemaining()
    topics = library_topics(projection)
    dispatch: dict[str, Any] = {topic: projection.handler_for(topic) for topic in topics}
    model = ReadModel()
    app = open_app(LibraryTicketing, path, readonly=True)
    handled = 0

    def replay() -> None:
        nonlocal handled
        log, mapper = app.notification_log, app.mapper
        start = 1
        while notifications := log.select(start, SECTION, topics=topics):
            for notification in notifications:
                event = LibraryEvent(mapper.to_domain_event(notification))
                dispatch[notification.topic](event, model)
            model.clear_log()  # the section is applied: what the workbench's commit does
            model.position = notifications[-1].id
            handled += len(notifications)
            start = notifications[-1].id + 1

    try:
        seconds, cpu = timed(replay)
    finally:
        app.close()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "handled": handled,
        "model": fingerprint(model.snapshot()),
    }


ROUTE_RUNS: dict[str, Callable[[Path, float], dict[str, Any]]] = {
    "plain": plain_route,
    "chart": chart_route,
    "library": library_route,
}


def once(route: str, path: Path, redraws: float) -> dict[str, Any]:
    """Run one route in this process (imports and opening are not timed)."""
    import pandas  # noqa: F401  (imports are not part of the measured time)

    figures = ROUTE_RUNS[route](path, redraws)
    figures["route"] = route
    return figures


def measure(route: str, path: Path, redraws: float) -> dict[str, Any]:
    """Run one route in a fresh process and read back its figures."""
    command = [sys.executable, __file__, "--route", route, "--once", "--path", str(path)]
    out = subprocess.run(
        [*command, "--redraws", str(redraws)], capture_output=True, text=True, cwd=ROOT
    )
    if out.returncode != 0:
        raise SystemExit(f"the {route} route failed ({out.returncode}):\n{out.stderr[-4000:]}")
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="history size")
    parser.add_argument("--seed", type=int, default=2018, help="history seed")
    parser.add_argument("--redraws", type=float, default=4.0, help="chart redraws per second")
    parser.add_argument(
        "--repeat", type=int, default=5, help="runs of every route (interleaved; medians)"
    )
    parser.add_argument("--route", choices=ROUTES, help="with --once: the route to run")
    parser.add_argument(
        "--once", action="store_true", help="run --route once here and print its figures"
    )
    parser.add_argument("--path", type=Path, help="with --once: the history file")
    args = parser.parse_args(argv)
    if args.once:
        if args.route is None or args.path is None:
            parser.error("--once needs --route and --path")
        print(json.dumps(once(args.route, args.path, args.redraws)))
        return 0

    path = history(args.events, args.seed)
    total = warm(path)
    repeat = max(1, args.repeat)
    print(
        f"history: {path.name}, {total:,} events; {repeat} round(s) of every route, "
        "each run in a fresh process, routes interleaved; medians"
    )
    load = os.getloadavg()[0]
    print(f"load average before: {load:.2f} on {os.cpu_count()} cores")
    runs: dict[str, list[dict[str, Any]]] = {route: [] for route in ROUTES}
    for i in range(repeat):
        order = ROUTES[i % len(ROUTES) :] + ROUTES[: i % len(ROUTES)]
        parts = []
        for route in order:
            r = measure(route, path, args.redraws)
            runs[route].append(r)
            extra = ""
            if route == "chart":
                extra = f", {r['redraws']} redraws taking {r['redraw_seconds'] * 1000:.0f} ms"
            parts.append(f"{route} {r['seconds']:.2f} s (cpu {r['cpu']:.2f}{extra})")
        print(f"  round {i + 1}: " + "; ".join(parts), flush=True)

    models = {route: {r["model"] for r in route_runs} for route, route_runs in runs.items()}
    if len(set().union(*models.values())) != 1:
        print(f"MISMATCH: the routes built different read models: {models}", file=sys.stderr)
        return 1
    counts = {route: {r["handled"] for r in route_runs} for route, route_runs in runs.items()}
    if len(set().union(*counts.values())) != 1:
        print(f"MISMATCH: the routes handled different events: {counts}", file=sys.stderr)
        return 1
    handled = runs["plain"][0]["handled"]

    seconds = {route: _median(runs[route], "seconds") for route in ROUTES}
    cpu = {route: _median(runs[route], "cpu") for route in ROUTES}
    overhead = statistics.median(
        c["seconds"] / p["seconds"] - 1 for c, p in zip(runs["chart"], runs["plain"], strict=True)
    )
    redraw_share = max(r["redraw_seconds"] / r["seconds"] for r in runs["chart"])
    redraws = round(_median(runs["chart"], "redraws"))
    rebuild_eps = total / seconds["plain"]
    with_chart_eps = total / seconds["chart"]
    library_eps = total / seconds["library"]
    vs_library = rebuild_eps / library_eps
    print(
        f"workbench rebuild, no chart:    {seconds['plain']:6.2f} s  {rebuild_eps:>10,.0f} "
        f"events/s ({handled:,} handled, {total - handled:,} not read)"
    )
    print(
        f"workbench rebuild, live chart:  {seconds['chart']:6.2f} s  {with_chart_eps:>10,.0f} "
        f"events/s (redraws at <= {args.redraws:g}/s; they took {redraw_share:.1%} of a run "
        "at most)"
    )
    print(
        f"library route (log + mapper):   {seconds['library']:6.2f} s  {library_eps:>10,.0f} "
        "events/s (same topics, handlers and read model)"
    )
    print(
        f"workbench vs library: {vs_library:.2f}x (target >= 1.5x); "
        f"rebuild {rebuild_eps:,.0f}/s (target >= 150,000); "
        f"chart overhead {overhead:+.1%} (median of the rounds; target <= 15%)"
    )
    print(
        json.dumps(
            {
                "events": total,
                "handled": handled,
                "rebuild_eps": round(rebuild_eps),
                "with_chart_eps": round(with_chart_eps),
                "chart_overhead": round(overhead, 4),
                "redraw_share_max": round(redraw_share, 4),
                "library_eps": round(library_eps),
                "vs_library": round(vs_library, 3),
                "redraws": redraws,
                "repeat": repeat,
                "load_average": round(load, 2),
                "cpu_time_figures": {
                    "rebuild_eps": round(total / cpu["plain"]),
                    "with_chart_eps": round(total / cpu["chart"]),
                    "chart_overhead": round(
                        statistics.median(
                            c["cpu"] / p["cpu"] - 1
                            for c, p in zip(runs["chart"], runs["plain"], strict=True)
                        ),
                        4,
                    ),
                    "library_eps": round(total / cpu["library"]),
                    "vs_library": round(cpu["library"] / cpu["plain"], 3),
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
