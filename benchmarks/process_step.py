"""Step a process manager forward and back deep in a large history.

Builds (or reuses) a cached SQLite ticketing history under benchmarks/.cache/
(``history_cache.cached_history``),
runs the purchase process over it (a dry run: nothing executed), then times:

- ``step_ms``: a live step forward at the head (deliver one upstream event);
- ``back_ms``: a step back (re-derive only the affected instance);
- ``redo_ms``: stepping forward again over a recorded step (replay, nothing resent);
- ``naive_back_ms``: the baseline, a step back done by replaying the whole
  history from the start up to the previous position, in a fresh run.

Usage::

    .venv/bin/python benchmarks/process_step.py --events 1000000

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from workbench.examples.ticketing import Ticketing
from workbench.examples.ticketing.processes import PURCHASE
from workbench.processes import ProcessRun
from workbench.stores import open_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from history_cache import cached_history


def ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="history size")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--steps", type=int, default=200, help="steps timed each way")
    args = parser.parse_args(argv)

    path = cached_history(args.events, args.seed)
    app = open_app(Ticketing, path, readonly=True)
    total = app.recorder.max_notification_id() or 0
    run = ProcessRun(PURCHASE, app)

    # Catch up to near the end, leaving a tail of upstream events to step through live.
    tail_from = max(0, total - args.steps * 4)
    started = time.perf_counter()
    while True:
        nxt = run.upstream.next_after(run.cursor, PURCHASE.event_types)
        if nxt is None or nxt.position > tail_from:
            break
        run.step()
    catch_up = time.perf_counter() - started
    print(
        f"history: {total:,} events; caught up to position {run.cursor:,} "
        f"({len(run.steps):,} steps, {len(run.instances):,} instances) in {catch_up:.1f} s",
        flush=True,
    )

    forward: list[float] = []
    for _ in range(args.steps):
        t = time.perf_counter()
        if run.step() is None:
            break
        forward.append(time.perf_counter() - t)
    back: list[float] = []
    for _ in range(len(forward)):
        t = time.perf_counter()
        run.back()
        back.append(time.perf_counter() - t)
    redo: list[float] = []
    for _ in range(len(forward)):
        t = time.perf_counter()
        run.step()
        redo.append(time.perf_counter() - t)
    assert run.at_head

    # The baseline: step back by replaying everything from the start.
    last = run.steps[-1]
    started = time.perf_counter()
    naive = ProcessRun(PURCHASE, app)
    while len(naive.steps) < len(run.steps) - 1:
        if naive.step() is None:
            break
    naive_back = time.perf_counter() - started
    run.back()
    same = naive.states().get(last.instance or "") == run.states().get(last.instance or "")

    result = {
        "events": total,
        "steps": len(run.steps),
        "step_ms": ms(forward),
        "step_max_ms": round(max(forward) * 1000, 3),
        "back_ms": ms(back),
        "back_max_ms": round(max(back) * 1000, 3),
        "redo_ms": ms(redo),
        "naive_back_ms": round(naive_back * 1000, 1),
        "ratio": round(naive_back / statistics.median(back)),
        "same_state": same,
        "catch_up_s": round(catch_up, 1),
    }
    print(
        f"step forward {result['step_ms']} ms (max {result['step_max_ms']}), "
        f"step back {result['back_ms']} ms (max {result['back_max_ms']}), "
        f"redo {result['redo_ms']} ms; naive step back {result['naive_back_ms']} ms: "
        f"{result['ratio']}x slower"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
