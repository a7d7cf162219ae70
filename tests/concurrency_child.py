"""One writer process of tests/test_concurrency.py: submits commands, reports what each did.

Run as ``python tests/concurrency_child.py STORE OUT.json --conference ID [...]``.
Opens its own ``Ticketing`` application on ``STORE`` (its own connection) and
submits ``--count`` ``reserve_tickets`` commands through a ``CommandSet``, taking
turns over the conferences given, paying the third, sixth... purchase it reserved. Each
result goes into ``OUT.json``: command, outcome, message and the events it
reported as recorded (position, stream, version, type).

``--start-at`` (a ``time.time()``) makes several writers start together.
``--hold DIR`` submits one command that stops between reading the conference
and saving: it writes ``DIR/read`` once it has read, and saves only when
``DIR/go`` exists (so another process can change the conference meanwhile).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from workbench.commands import CommandResult, CommandSet
from workbench.examples.ticketing import Ticketing
from workbench.stores import open_app


def report(result: CommandResult) -> dict[str, Any]:
    return {
        "command": result.command,
        "outcome": result.outcome,
        "message": result.message,
        "returned": str(result.returned) if result.returned is not None else None,
        "events": [[e.position, e.stream_id, e.version, e.type_name] for e in result.events],
    }


def hold_before_saving(app: Ticketing, folder: Path) -> None:
    """Make the app's next save wait for ``folder/go`` (after writing ``folder/read``)."""
    save = app.save

    def held(*args: Any, **kwargs: Any) -> Any:
        (folder / "read").touch()
        deadline = time.monotonic() + 30
        while not (folder / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return save(*args, **kwargs)

    app.save = held  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("out")
    parser.add_argument("--conference", action="append", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--writer", default="w")
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--hold")
    args = parser.parse_args()

    app = open_app(Ticketing, args.store)
    commands = CommandSet(app)
    if args.hold:
        hold_before_saving(app, Path(args.hold))
    time.sleep(max(0.0, args.start_at - time.time()))
    results = []
    for i in range(args.count):
        conference = args.conference[i % len(args.conference)]
        reserved = commands.submit(
            "reserve_tickets",
            conference_id=conference,
            customer=f"{args.writer}-{i}",
            quantities={"Standard": 1},
        )
        results.append(report(reserved))
        if reserved.outcome == "recorded" and i % 3 == 2:
            paid = commands.submit(
                "pay",
                purchase_id=str(reserved.returned),
                payment_reference=f"PAY-{args.writer}-{i}",
                delegates=[f"{args.writer}-{i}"],
            )
            results.append(report(paid))
    Path(args.out).write_text(json.dumps(results))
    app.close()


if __name__ == "__main__":
    main()
