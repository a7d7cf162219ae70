"""The box office in a child process, stopped at a hooked point of a grant, to be killed.

Run by :func:`~workbench.examples.free_tickets.breaking.crash_box_office`::

    python -m workbench.examples.free_tickets.crash STORE [POINT GRANT]

Without a point, the box office starts on ``STORE``, catches up with the CRM
and exits (a restart). With one (``before``, ``during``, ``after``), when it
records its ``GRANT``-th grant it prints ``HOOK <point> <position>`` at that
point and waits for its parent to kill it with ``SIGKILL``:

- ``before``: the policy has collected the grant; nothing is written yet.
- ``during``: inside the recording transaction, just after the tracking
  record was inserted (SQLite: after the events too), not committed.
- ``after``: the transaction has committed; the next event is not processed.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import ProcessRecorder, Recording, Tracking
from eventsourcing.system import SingleThreadedRunner, System

from workbench.examples.free_tickets.application import BoxOffice
from workbench.examples.free_tickets.system import system_env
from workbench.examples.sponsorship.application import Sponsorship

WAIT_TO_BE_KILLED = 120.0
"""Seconds the child waits at its hook; a child whose parent is gone then exits."""


class HookedBoxOffice(BoxOffice):
    """The box office with three places to stop at, around the recording of a grant."""

    name = BoxOffice.name
    hook_at: str | None = None
    hook_grant = 1

    def __init__(self, env: Any = None) -> None:
        super().__init__(env)
        self.grants_seen = 0
        self.recording_grant = False
        self.position = 0

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.position = tracking.notification_id
        super().process_event(domain_event, tracking)

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        is_grant = any(
            type(e).__qualname__ == "TicketPurchase.Started" for e in processing_event.events
        )
        if is_grant:
            self.grants_seen += 1
        self.recording_grant = is_grant and self.grants_seen == self.hook_grant
        self._stop_at("before")
        recordings = super()._record(processing_event)
        self._stop_at("after")
        self.recording_grant = False
        return recordings

    def construct_recorder(self) -> ProcessRecorder:
        recorder = super().construct_recorder()
        insert_tracking = recorder._insert_tracking  # type: ignore[attr-defined]

        def hooked(cursor: Any, tracking: Tracking) -> None:
            insert_tracking(cursor, tracking)
            self._stop_at("during")

        recorder._insert_tracking = hooked  # type: ignore[attr-defined]
        return recorder

    def _stop_at(self, point: str) -> None:
        if self.recording_grant and point == self.hook_at:
            print(f"HOOK {point} {self.position}", flush=True)
            deadline = time.monotonic() + WAIT_TO_BE_KILLED
            while time.monotonic() < deadline:  # until killed
                time.sleep(0.1)
            print(f"not killed in {WAIT_TO_BE_KILLED} s: exiting", file=sys.stderr, flush=True)
            os._exit(3)  # as abruptly as a kill: no commit, no clean-up


def main(argv: list[str]) -> int:
    store = argv[0]
    if len(argv) > 1:
        HookedBoxOffice.hook_at = argv[1]
        HookedBoxOffice.hook_grant = int(argv[2])
    hooked = System(pipes=[[Sponsorship, HookedBoxOffice]])
    runner: SingleThreadedRunner[UUID] = SingleThreadedRunner(hooked, env=system_env(store))
    runner.start()
    try:
        follower = runner.get(HookedBoxOffice)
        follower.pull_and_process(Sponsorship.name)
    finally:
        runner.stop()
    print("CAUGHT UP", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
