"""Benchmark: submit a command on a big SQLite store and see its events, vs reloading.

Usage::

    .venv/bin/python benchmarks/command_latency.py --events 1000000

Builds (once, with :func:`workbench.examples.history.generate_history`, via
``benchmarks/history_cache.py``) or reuses the cached ticketing history under
``benchmarks/.cache/`` that every benchmark shares, copies it to
a private working file (the cached history is never written to), opens it and
then, many times over, measures end to end in this process:

1. **core**: ``CommandSet.submit`` with text inputs as a form sends them
   (conversion, the command, reading its events back from the notification
   log), then picking the new events up the way an open stream view does;
2. **widget**: the same through ``CommandPanel`` (fill the form, click
   Submit; the panel's ``on_recorded`` hook does the pick-up, and the panel
   refreshes its id dropdowns and history table);

against the baseline of reloading the whole stream after a command. The
commands alternate ``reserve_tickets`` (2 events) and ``pay`` (1 event) on a
conference scheduled by the benchmark (the generated conferences carry very
long streams, and rebuilding one is the domain's cost, not the workbench's).

The pick-up is an open :class:`workbench.widgets.stream_viewer.StreamViewer`
on the store refreshing (loading what is new, redrawing its page) when
that module exists, else :func:`workbench.reading.loading.load_events` with ``after=``
the last position, else the notification log; the baseline is a fresh
:class:`workbench.stream.EventStream` (or the loader) over the whole store.
The output says which were used.
The last line is one JSON object: ``median_ms`` (widget path if measured,
else core), ``reload_ms``, ``ratio`` and more.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from history_cache import cached_history  # noqa: E402

from workbench.commands import CommandResult, CommandSet  # noqa: E402
from workbench.examples.ticketing import Ticketing  # noqa: E402
from workbench.stores import open_app  # noqa: E402


def working_copy(source: Path) -> Path:
    """A private copy to write commands into (fresh each run)."""
    target = source.with_name(f"command-latency-{source.name}")
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def make_pickup(app: Any, path: Path, how: str) -> tuple[str, Callable[[int], int]]:
    """How an open stream view picks up events after a position: (description, fetch).

    Opening the viewer loads the whole store once (not timed here).
    """
    has_viewer = importlib.util.find_spec("workbench.widgets.stream_viewer") is not None
    if how == "viewer" or (how == "auto" and has_viewer):
        from workbench.widgets.stream_viewer import StreamViewer

        t0 = time.perf_counter()
        chart = True
        try:
            viewer = StreamViewer(path, page_size=20)
        except Exception as e:  # the viewer's chart is not ours to fix: measure without it
            print(f"stream viewer with chart failed ({e!r}); using chart=False", file=sys.stderr)
            chart = False
            viewer = StreamViewer(path, page_size=20, chart=False)
        print(f"stream viewer opened in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

        def by_viewer(after: int) -> int:
            return viewer.refresh()

        how = "" if chart else ", chart off"
        return f"StreamViewer(store).refresh() (open viewer, redraws its page{how})", by_viewer
    if (
        how in ("auto", "loader")
        and importlib.util.find_spec("workbench.reading.loading") is not None
    ):
        from workbench.reading.loading import load_events

        def by_loader(after: int) -> int:
            return len(load_events(path, after=after))

        return "workbench.reading.loading.load_events(store, after=last position)", by_loader

    def by_log(after: int) -> int:
        return len(app.recorder.select_notifications(after, 1000, inclusive_of_start=False))

    return "notification log select_notifications(after=last position)", by_log


def make_reload(app: Any, path: Path) -> tuple[str, Callable[[], int]]:
    """The baseline: load the whole stream again."""
    if importlib.util.find_spec("workbench.stream") is not None:
        from workbench.stream import EventStream

        return "EventStream(store) (whole store)", lambda: len(EventStream(path).frame)
    if importlib.util.find_spec("workbench.reading.loading") is not None:
        from workbench.reading.loading import load_events

        return "workbench.reading.loading.load_events(whole store)", lambda: len(load_events(path))

    def by_log() -> int:
        count, start = 0, 0
        while batch := app.recorder.select_notifications(start, 10_000, inclusive_of_start=False):
            count += len(batch)
            start = batch[-1].id
        return count

    return "notification log, whole store", by_log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--submissions", type=int, default=60, help="per path (default 60)")
    parser.add_argument("--reloads", type=int, default=2, help="whole-stream reloads (default 2)")
    parser.add_argument("--no-widget", action="store_true", help="measure the core path only")
    parser.add_argument(
        "--pickup",
        choices=["auto", "viewer", "loader", "log"],
        default="auto",
        help="how new events are picked up: an open StreamViewer (auto, when it exists), "
        "the loader after the last position, or the notification log",
    )
    args = parser.parse_args()

    path = working_copy(cached_history(args.events, args.seed))
    app = open_app(Ticketing, path)
    started = time.perf_counter()
    commands = CommandSet(app)
    top = commands.position()
    print(f"store: {path.name}, {top:,} events", file=sys.stderr)

    code = f"BENCH{int(time.time())}"
    conf = commands.submit(
        "schedule_conference", code=code, name="Benchmark conference", starts_on="2019-01-01"
    ).returned
    assert commands.submit(
        "add_ticket_type",
        conference_id=str(conf),
        ticket_type="Standard",
        price="450.00",
        capacity=str(10**8),
    ).ok

    pickup_name, pickup = make_pickup(app, path, args.pickup)
    reload_name, reload = make_reload(app, path)
    last = [commands.position()]
    pickup_times: list[float] = []

    def pick_up(result: CommandResult) -> None:
        t0 = time.perf_counter()
        seen = pickup(last[0])
        pickup_times.append((time.perf_counter() - t0) * 1000)
        assert seen == len(result.events), (seen, result.events)
        last[0] = result.events[-1].position

    # core path --------------------------------------------------------------
    core: list[float] = []
    pending: list[str] = []
    for i in range(args.submissions):
        t0 = time.perf_counter()
        if pending and i % 2:
            result = commands.submit(
                "pay", purchase_id=pending.pop(), payment_reference=f"P{i}", delegates="Ada"
            )
        else:
            result = commands.submit(
                "reserve_tickets",
                conference_id=str(conf),
                customer=f"Customer {i}",
                quantities="Standard=1",
            )
            pending.append(str(result.returned))
        assert result.outcome == "recorded", result.summary()
        pick_up(result)
        core.append((time.perf_counter() - t0) * 1000)
    core_ms = statistics.median(core)
    print(f"core submit + pick-up: median {core_ms:.1f} ms over {len(core)}", file=sys.stderr)
    print(f"  of which pick-up: median {statistics.median(pickup_times):.1f} ms", file=sys.stderr)

    # widget path ------------------------------------------------------------
    widget_ms = None
    panel_ms = None
    if not args.no_widget:
        from workbench.widgets.command_panel import CommandPanel

        t0 = time.perf_counter()
        panel = CommandPanel(CommandSet(app), on_recorded=pick_up)
        panel_ms = (time.perf_counter() - t0) * 1000
        print(f"panel built in {panel_ms:.0f} ms", file=sys.stderr)
        last[0] = commands.position()
        timings: list[float] = []
        for i in range(args.submissions):
            if pending and i % 2:
                form = panel.form("pay")
                form.fill(purchase_id=pending.pop(), payment_reference=f"W{i}", delegates="Ada")
            else:
                form = panel.form("reserve_tickets")
                form.fill(conference_id=str(conf), customer=f"W {i}", quantities="Standard=1")
            t0 = time.perf_counter()
            form.submit_button.click()
            timings.append((time.perf_counter() - t0) * 1000)
            assert form.result is not None and form.result.outcome == "recorded", (
                form.result.summary() if form.result else None
            )
            if form.command.name == "reserve_tickets":
                pending.append(str(form.result.returned))
        widget_ms = statistics.median(timings)
        print(f"widget submit + pick-up: median {widget_ms:.1f} ms", file=sys.stderr)

    # baseline: reload the whole stream ----------------------------------------
    reloads = []
    for _ in range(args.reloads):
        t0 = time.perf_counter()
        count = reload()
        reloads.append((time.perf_counter() - t0) * 1000)
    reload_ms = statistics.median(reloads)
    print(f"reload whole stream ({count:,} events): median {reload_ms:.0f} ms", file=sys.stderr)

    median_ms = widget_ms if widget_ms is not None else core_ms
    figures = {
        "benchmark": "command_latency",
        "events": top,
        "submissions": args.submissions,
        "median_ms": round(median_ms, 2),
        "core_median_ms": round(core_ms, 2),
        "widget_median_ms": round(widget_ms, 2) if widget_ms is not None else None,
        "panel_build_ms": round(panel_ms, 1) if panel_ms is not None else None,
        "pickup_median_ms": round(statistics.median(pickup_times), 2),
        "reload_ms": round(reload_ms, 1),
        "ratio": round(reload_ms / median_ms, 1),
        "pickup": pickup_name,
        "baseline": reload_name,
        "target_ms": 100,
        "total_s": round(time.perf_counter() - started, 1),
    }
    print(f"reload / submit-and-see = {figures['ratio']}x", file=sys.stderr)
    app.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
