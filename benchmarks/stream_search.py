"""Benchmark: the stream viewer's text search over a large history, against value-by-value text.

Usage::

    .venv/bin/python benchmarks/stream_search.py --events 1000000

Loads the shared cached history (``history_cache.py``) once, then searches
it for a few texts two ways, with the same results:

1. the straightforward way: every column turned into text and searched, on
   every search (``astype(str).str.lower().str.contains``; missing values
   left out, as the index leaves them out),
2. :class:`workbench.text_search.TextIndex` (what ``EventStream.filter(text=)``
   uses): each column made text once, on the first search; later searches
   only look.

Prints the time of the first search and the median of the later ones, the
ratio, the index's memory, and, as its last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

NEEDLES = ["lovelace", "mon18-00157", "workshop", "2017-09-25 12", "pay-0466"]


def straightforward(df: pd.DataFrame, needle: str) -> np.ndarray:
    """Every column as text, searched: what the stream did before the index."""
    found = np.zeros(len(df), dtype=bool)
    for name in df.columns:
        column = df[name]
        text = column.astype(str).str.lower().str.contains(needle, regex=False)
        found |= text.fillna(False).to_numpy(dtype=bool) & column.notna().to_numpy()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    from history_cache import cached_history

    from workbench.reading.loading import load_events
    from workbench.text_search import TextIndex

    df = load_events(cached_history(args.events))
    print(f"history: {len(df):,} events, {len(df.columns)} columns")

    plain: list[float] = []
    for needle in NEEDLES[:2]:  # slow: two are enough
        started = time.perf_counter()
        straightforward(df, needle)
        plain.append(time.perf_counter() - started)

    index = TextIndex(df)
    started = time.perf_counter()
    first = index.mask(NEEDLES[0])
    first_s = time.perf_counter() - started
    later: list[float] = []
    for needle in NEEDLES:
        started = time.perf_counter()
        mask = index.mask(needle)
        later.append(time.perf_counter() - started)
        if needle in NEEDLES[:2]:
            want = straightforward(df, needle)
            assert (mask == want).all(), f"{needle!r}: {mask.sum()} rows against {want.sum()}"
    assert (first == index.mask(NEEDLES[0])).all()
    memory = sum(
        c.texts.nbytes + (0 if c.codes is None else c.codes.nbytes) for c in index._columns.values()
    )
    figures = {
        "events": len(df),
        "straightforward_s": round(statistics.median(plain), 3),
        "first_search_s": round(first_s, 3),
        "later_search_s": round(statistics.median(later), 3),
        "vs_straightforward": round(statistics.median(plain) / statistics.median(later), 1),
        "first_vs_straightforward": round(statistics.median(plain) / first_s, 2),
        "index_mb": round(memory / 2**20),
    }
    print(f"straightforward, every search: {figures['straightforward_s']:.2f} s")
    print(f"TextIndex, first search:       {figures['first_search_s']:.2f} s (makes the text)")
    print(f"TextIndex, later searches:     {figures['later_search_s']:.3f} s (median)")
    print(
        f"later searches are {figures['vs_straightforward']}x faster; "
        f"the index holds {figures['index_mb']} MB"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
