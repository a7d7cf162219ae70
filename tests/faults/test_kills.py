"""Runs killed for real: a process run SIGKILLed three times, then resumed.

The run lives in a subprocess (``process_child.py``) that keeps its process in
an SQLite file and e-mails through a mail service whose deliveries are lines in
a file. An action done just before a kill, whose step was not recorded yet, is
done again on resume (nothing on this side can know the e-mail left): the run
delivers at least once, with an idempotency key the mail service drops repeats
of, so each customer gets exactly one e-mail.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from workbench.clock import ManualClock, use_clock
from workbench.examples.ticketing import Ticketing
from workbench.stores import open_app

CHILD = Path(__file__).with_name("process_child.py")
PURCHASES = 80


def paid_purchases(folder: Path) -> None:
    """``folder/ticketing.sqlite``: PURCHASES purchases, each paid five minutes after it starts."""
    app = open_app(Ticketing, folder / "ticketing.sqlite")
    clock = ManualClock(datetime(2018, 1, 8, 9, 0, tzinfo=UTC))
    with use_clock(clock):
        conf = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
        app.add_ticket_type(conf, "Standard", Decimal("450.00"), PURCHASES)
        for n in range(PURCHASES):
            clock.advance(minutes=10)
            purchase = app.reserve_tickets(conf, f"Customer {n}", {"Standard": 1})
            clock.advance(minutes=5)
            app.pay(purchase, f"PAY-{n}", [f"Delegate {n}"])
    app.close()


def start(folder: Path, kill_after_send: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(folder), str(kill_after_send), "dedupe"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_process_run_killed_three_times_sends_each_email_once(tmp_path: Path) -> None:
    paid_purchases(tmp_path)
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    # kill 1: right after an e-mail left, before its step is recorded (the window)
    child = start(tmp_path, kill_after_send=rng.randint(1, PURCHASES // 2))
    assert child.wait(timeout=30) == -9, child.stderr.read() if child.stderr else ""
    # kills 2 and 3: at any moment of the run
    for _ in range(2):
        child = start(tmp_path)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0, 0.3))
        child.kill()
        child.wait(timeout=30)
    # resumed, it runs to the end
    out, err = start(tmp_path).communicate(timeout=60)
    assert out.splitlines()[-1] == f"done {PURCHASES}", err

    sent, attempts = lines(tmp_path / "sent.txt"), lines(tmp_path / "attempts.txt")
    note = f"(random seed {seed})"
    assert len(sent) == len(set(sent)) == PURCHASES, note  # one e-mail per purchase
    # at least once: the e-mail of kill 1 was attempted again on resume (and dropped);
    # at most the action in hand at each kill is attempted again
    assert len(set(attempts)) == PURCHASES, note
    assert PURCHASES < len(attempts) <= PURCHASES + 3, note


# workbench generate, killed --------------------------------------------------------------


def generate(store: Path, *more: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "workbench.cli", "generate", "--store", str(store)]
    return subprocess.Popen(
        [*command, "--quiet", *more],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def written(folder: Path) -> int:
    """Bytes written so far into the SQLite files in ``folder`` (whatever their names)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def kill_when_written(child: subprocess.Popen[str], folder: Path) -> None:
    """SIGKILL ``child`` once it has written some of its history (not all of it)."""
    deadline = time.monotonic() + 10
    while written(folder) < 200_000 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    assert child.poll() is None, "the generator finished before it could be killed"
    child.kill()
    child.wait(timeout=10)


def test_a_killed_generate_leaves_no_history_that_looks_complete(tmp_path: Path) -> None:
    store = tmp_path / "history.sqlite"
    kill_when_written(generate(store, "--events", "500000"), tmp_path)
    assert not store.exists()  # only history.sqlite.partial, named for what it is
    assert [p.name for p in tmp_path.glob("*.sqlite")] == []
    # the next run replaces what the killed one left
    out, err = generate(store, "--events", "300").communicate(timeout=60)
    assert "wrote 300 ticketing events" in out, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite"]


def test_a_killed_generate_into_a_folder_leaves_neither_file(tmp_path: Path) -> None:
    folder = tmp_path / "sample"
    kill_when_written(generate(folder, "--folder", "--events", "500000"), tmp_path)
    assert list(folder.glob("*.sqlite")) == []
    out, err = generate(folder, "--folder", "--events", "300").communicate(timeout=60)
    assert "wrote 300 ticketing events and" in out, err
    assert sorted(p.name for p in folder.iterdir()) == ["sponsorship.sqlite", "ticketing.sqlite"]
