"""The straightforward way to load a history, shared by the loading benchmarks.

What a user of the eventsourcing library writes without the workbench: read the
application's notification log, turn each notification into a domain event
with the application's mapper, and make a DataFrame of the events' attributes.
``stream_load.py`` (SQLite) and ``postgres_load.py`` (PostgreSQL) measure the
workbench against it.
"""

from __future__ import annotations

from pathlib import Path


def naive_load(store: str | Path) -> int:
    """Load the ticketing history in ``store`` the straightforward way; the rows made."""
    import pandas as pd

    from workbench.examples.ticketing import Ticketing
    from workbench.stores import open_app

    app = open_app(Ticketing, store, readonly=True)
    rows = []
    start = 1
    while True:
        notifications = app.recorder.select_notifications(start, 10_000)
        if not notifications:
            break
        for n in notifications:
            e = app.mapper.to_domain_event(n)
            row = {"position": n.id, "topic": n.topic}
            row.update(e.__dict__)
            rows.append(row)
        start = notifications[-1].id + 1
    app.close()
    return len(pd.DataFrame(rows))
