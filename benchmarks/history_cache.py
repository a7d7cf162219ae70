"""A cached large history for the benchmarks: generated once, reused by every script.

    from history_cache import cached_history
    path = cached_history(1_000_000)   # benchmarks/.cache/ticketing-1000000-seed2018.sqlite

The file is written by the workbench's seeded generator (about a minute per
million events on a 2-core machine) into a temporary name and renamed when
complete, so an interrupted run never leaves a half-written cache behind.
"""

from __future__ import annotations

import fcntl
import sys
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"


def cached_history(events: int, seed: int = 2018) -> Path:
    """The path of an SQLite ticketing history of about ``events`` events."""
    from workbench.examples.history import generate_history
    from workbench.examples.ticketing import Ticketing
    from workbench.stores import open_app

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"ticketing-{events}-seed{seed}.sqlite"
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        print(f"generating a {events:,}-event history into {path} (once)", file=sys.stderr)
        app = open_app(Ticketing, partial)
        try:
            generate_history(app, events=events, seed=seed, progress=True)
        finally:
            app.close()
        import sqlite3
        from contextlib import closing

        with closing(sqlite3.connect(partial)) as conn:
            conn.execute("PRAGMA journal_mode=DELETE")
        partial.rename(path)
        return path


if __name__ == "__main__":
    print(cached_history(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
