"""Step a process manager forward and back deep in a large history.

Builds (or reuses) a cached SQLite ticketing history under benchmarks/.cache/
(``history_cache.cached_history``),
runs the purchase process over it (a dry run: nothing executed), then times:

- ``step_ms``: a live step forward at the head (deliver one upstream event);
- ``back_ms``: a step back (re-derive only the affected instance);
- ``redo_ms``: stepping forward again over a recorded step (replay, nothing resent);
- ``naive_back_ms``: the baseline, a step back done by replaying the whole
  history from the start up to the previous position, in a fresh run.

The jump (:meth:`ProcessRun.jump`, :mod:`workbench.processes.jump`), against
today's run-everything route, in the same run:

- ``jump_s``: a fresh dry run jumps to position ``--jump-to`` (default 90% of
  the history: 900,000 of 1M), in a child process of its own;
- ``jump_peak_mb``: that child's peak memory during the jump, as the growth
  of its ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` from just before the
  jump (after the imports, the opening of the history and the reading of its
  first event, so that the reading path's own imports are not counted) to
  just after it; ``jump_child_peak_mb`` is the child's whole peak;
- ``run_all_s``: the catch-up above (step after step, the only way before
  the jump) timed until it has delivered every event up to the same
  position; ``vs_run_all`` = ``run_all_s / jump_s``; ``jump_same`` says the
  jump's instance states, pending timeouts, step count, cursor and clock
  equal the stepping run's there (one digest each);
- ``policy_step_ms``: a follower's real policy step deep in the history
  (``workbench.systems``): the 1M history copied into a temporary folder as
  the leader of a small ``ProcessApplication`` (it records a receipt for each
  paid purchase), whose sandbox stepper starts at ``--jump-to``; the median
  of ``--policy-steps`` steps.

Usage::

    .venv/bin/python benchmarks/process_step.py --events 1000000

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol, event
from eventsourcing.system import ProcessApplication, System
from eventsourcing.utils import get_topic

from workbench.examples.ticketing import Ticketing
from workbench.examples.ticketing.domainmodel import TicketPurchase
from workbench.examples.ticketing.processes import PURCHASE
from workbench.processes import ProcessRun
from workbench.stores import open_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from history_cache import cached_history


def ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def peak_mb() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def digest(run: ProcessRun) -> str:
    """One fingerprint of what a run holds: states, pending timeouts, steps, cursor, clock."""
    found = hashlib.sha256()
    found.update(repr(sorted(run.states().items())).encode())
    found.update(repr(run.pending_timeouts()).encode())
    found.update(repr((len(run.steps), run.view, run.cursor, run.now.isoformat())).encode())
    return found.hexdigest()


def child_jump(path: Path, position: int) -> dict[str, Any]:
    """In this (child) process: a fresh dry run jumps to ``position``; time and memory."""
    from workbench.reading.loading import event_batches

    app = open_app(Ticketing, path, readonly=True)
    for _ in event_batches(app, limit=1):  # the reading path's imports are not the jump's
        pass
    before = peak_mb()
    started = time.perf_counter()
    run = ProcessRun(PURCHASE, app)
    run.jump(position=position)
    seconds = time.perf_counter() - started
    grown = peak_mb() - before
    return {
        "jump_s": round(seconds, 2),
        "jump_peak_mb": round(grown, 1),
        "child_peak_mb": round(peak_mb(), 1),
        "steps": len(run.steps),
        "instances": len(run.instances),
        "digest": digest(run),
    }


def timed_jump(events: int, seed: int, position: int) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--events",
        str(events),
        "--seed",
        str(seed),
        "--child-jump",
        str(position),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


class Receipt(Aggregate):
    """What the benchmark's follower records for each paid purchase."""

    @staticmethod
    def create_id(purchase: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"receipt/{purchase}")

    @event("Issued")
    def __init__(self, purchase: UUID) -> None:
        self.purchase = purchase


class Receipts(ProcessApplication[UUID]):
    """A follower of Ticketing: a receipt for each paid purchase (its real policy)."""

    name = "Receipts"
    topics = [get_topic(TicketPurchase.Paid)]  # type: ignore[attr-defined]  # noqa: RUF012

    def policy(
        self, domain_event: DomainEventProtocol[UUID], processing_event: ProcessingEvent[UUID]
    ) -> None:
        if type(domain_event).__name__ == "Paid":
            processing_event.collect_events(Receipt(purchase=domain_event.originator_id))


def policy_step(path: Path, start: int, steps: int) -> float:
    """The median time of a follower's real policy step after ``start`` in the history."""
    from workbench.systems import open_system

    with tempfile.TemporaryDirectory(prefix="policy-step-") as folder:
        shutil.copyfile(path, Path(folder) / "ticketing.sqlite")
        with open_system(System(pipes=[[Ticketing, Receipts]]), folder + "/") as system:
            stepper = system.stepper("Receipts", start=start)
            samples: list[float] = []
            for _ in range(steps):
                began = time.perf_counter()
                step = stepper.step()
                samples.append(time.perf_counter() - began)
                assert step is not None and step.ok and step.recorded, step
            stepper.close()
    return ms(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="history size")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--steps", type=int, default=200, help="steps timed each way")
    parser.add_argument(
        "--jump-to", type=int, default=None, help="jump target (default: 90%% of the history)"
    )
    parser.add_argument("--policy-steps", type=int, default=20, help="policy steps timed")
    parser.add_argument("--child-jump", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    path = cached_history(args.events, args.seed)
    if args.child_jump is not None:
        print(json.dumps(child_jump(path, args.child_jump)))
        return 0
    app = open_app(Ticketing, path, readonly=True)
    total = app.recorder.max_notification_id() or 0
    jump_to = args.jump_to if args.jump_to is not None else total * 9 // 10

    jumped = timed_jump(args.events, args.seed, jump_to)
    print(
        f"jump to position {jump_to:,}: {jumped['jump_s']} s, peak memory +"
        f"{jumped['jump_peak_mb']} MB ({jumped['steps']:,} steps, "
        f"{jumped['instances']:,} instances)",
        flush=True,
    )
    run = ProcessRun(PURCHASE, app)

    # Catch up to near the end, leaving a tail of upstream events to step through live;
    # on the way, the time and the state when every event up to jump_to is delivered.
    tail_from = max(0, total - args.steps * 4)
    run_all: float | None = None
    run_all_digest = ""
    started = time.perf_counter()
    while True:
        nxt = run.upstream.next_after(run.cursor, PURCHASE.event_types)
        if run_all is None and (nxt is None or nxt.position > jump_to):
            run_all = time.perf_counter() - started
            run_all_digest = digest(run)
            started += time.perf_counter() - started - run_all  # the digest is not timed
        if nxt is None or nxt.position > tail_from:
            break
        run.step()
    catch_up = time.perf_counter() - started
    assert run_all is not None
    print(
        f"run everything to position {jump_to:,}: {run_all:.1f} s "
        f"({run_all / jumped['jump_s']:.1f}x the jump), same state: "
        f"{run_all_digest == jumped['digest']}",
        flush=True,
    )
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
        "jump_to": jump_to,
        "jump_s": jumped["jump_s"],
        "run_all_s": round(run_all, 1),
        "vs_run_all": round(run_all / jumped["jump_s"], 1),
        "jump_peak_mb": jumped["jump_peak_mb"],
        "jump_child_peak_mb": jumped["child_peak_mb"],
        "run_all_peak_mb": round(peak_mb(), 1),
        "jump_same": run_all_digest == jumped["digest"],
        "policy_step_ms": policy_step(path, jump_to, args.policy_steps),
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
