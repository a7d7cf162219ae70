"""A persisted purchase process run, for ``test_kills.py`` to SIGKILL at any moment.

``python process_child.py FOLDER KILL_AFTER_SEND DEDUPE``: follows
``FOLDER/ticketing.sqlite``, keeps the process in ``FOLDER/purchase.sqlite``
and e-mails through :class:`FileMailer`. With ``KILL_AFTER_SEND`` > 0 it kills
itself right after that many deliveries: between an e-mail and its record.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from workbench.examples.ticketing.processes import PURCHASE
from workbench.processes import ActionContext, ProcessRun, Refused


class FileMailer:
    """A mail service whose deliveries survive any kill: one line per e-mail in a file.

    With ``dedupe``, it is a mail API that takes an idempotency key: a key it
    has delivered is not delivered again. Every call is kept in ``attempts``.
    """

    def __init__(self, folder: Path, dedupe: bool, kill_after: int) -> None:
        self.sent = folder / "sent.txt"
        self.attempts = folder / "attempts.txt"
        self.dedupe = dedupe
        self.kill_after = kill_after
        self.delivered = set(self.sent.read_text().splitlines()) if self.sent.exists() else set()
        self.count = 0

    def __call__(self, ctx: ActionContext) -> str:
        with self.attempts.open("a") as f:
            f.write(ctx.key + "\n")
        if self.dedupe and ctx.key in self.delivered:
            return "already delivered"
        with self.sent.open("a") as f:
            f.write(ctx.key + "\n")
        self.delivered.add(ctx.key)
        self.count += 1
        if self.count == self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.001)  # a mail service takes a moment
        return "e-mail sent"


def no_timeouts(ctx: ActionContext) -> str:
    raise Refused("every purchase in this history is paid in time")


def main() -> None:
    folder, kill_after, dedupe = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "dedupe"
    mailer = FileMailer(folder, dedupe, kill_after)
    run = ProcessRun(
        PURCHASE,
        folder / "ticketing.sqlite",
        handlers={"send confirmation": mailer, "release tickets": no_timeouts},
        store=folder / "purchase.sqlite",
    )
    print("ready", flush=True)
    run.run_to_end()
    print("done", sum(1 for s in run.states().values() if s == "paid"), flush=True)


if __name__ == "__main__":
    main()
