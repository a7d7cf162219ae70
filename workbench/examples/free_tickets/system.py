"""The system: the sponsorship CRM leads, the box office follows.

:data:`system` is an ordinary eventsourcing ``System``: run it with any runner
(``SingleThreadedRunner``, ``MultiThreadedRunner``, ...) on any store.
:func:`system_env` turns a workbench store string into the runner's settings,
and :func:`start_system` (or :func:`running_system`, in a ``with``) does both:

>>> from eventsourcing.system import SingleThreadedRunner
>>> runner = SingleThreadedRunner(system, env=system_env("memory"))
>>> system.followers
['BoxOffice']

Stores: ``"memory"`` and ``"sqlite::memory:"`` (one process only: the box office
reads the CRM's log through the CRM object), a folder (each application its own
SQLite file, ``sponsorship.sqlite`` and ``boxoffice.sqlite``), or a PostgreSQL
URL (each application its own tables in one schema: ``sponsorship_events``,
``boxoffice_events``, ``boxoffice_tracking``).

A follower catches up when its leader records something new. After a restart,
or with a runner started on a store the CRM wrote to alone, call
:func:`catch_up` to process what it missed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eventsourcing.system import Follower, Runner, SingleThreadedRunner, System

from workbench.examples.free_tickets.application import BoxOffice
from workbench.examples.sponsorship.application import Sponsorship
from workbench.stores import Store, StoreError, parse_store

__all__ = ["catch_up", "running_system", "start_system", "system", "system_env"]

system = System(pipes=[[Sponsorship, BoxOffice]])
"""Sponsorship → BoxOffice: the CRM's events flow into the box office's policy."""


def system_env(store: str | Path | Store | None = "memory") -> dict[str, str]:
    """The eventsourcing settings that put every application of :data:`system` on ``store``.

    >>> system_env("memory")
    {'PERSISTENCE_MODULE': 'eventsourcing.popo'}
    """
    parsed = parse_store(store)
    if parsed.kind != "sqlite" or parsed.sqlite_memory:
        return parsed.env()
    assert parsed.path is not None
    if not parsed.path.is_dir():
        raise StoreError(
            f"a system keeps one SQLite file per application, so it needs a folder, "
            f"not the file {parsed.path}: name an existing folder (say {parsed.path.parent})"
        )
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite"}
    for name in system.nodes:
        env[f"{name.upper()}_SQLITE_DBNAME"] = str(parsed.sqlite_file(name))
    return env


def start_system(
    store: str | Path | Store | None = "memory",
    runner_class: type[Runner[Any]] = SingleThreadedRunner,
) -> Runner[Any]:
    """Start :data:`system` on ``store`` with ``runner_class``, caught up; ``stop()`` it after.

    >>> runner = start_system("memory")
    >>> type(runner.get(BoxOffice)).__name__
    'BoxOffice'
    >>> runner.stop()
    """
    runner = runner_class(system, env=system_env(store))
    runner.start()
    try:
        catch_up(runner)
    except BaseException:
        runner.stop()
        raise
    return runner


@contextmanager
def running_system(
    store: str | Path | Store | None = "memory",
    runner_class: type[Runner[Any]] = SingleThreadedRunner,
) -> Iterator[Runner[Any]]:
    """:func:`start_system` in a ``with`` block: the runner is stopped at its end."""
    runner = start_system(store, runner_class)
    try:
        yield runner
    finally:
        runner.stop()


def catch_up(runner: Runner[Any]) -> None:
    """Let every follower process what its leaders recorded since it last ran."""
    for follower_name, leader_names in system.follows.items():
        follower: Follower[Any] = runner.get(system.follower_cls(follower_name))
        for leader_name in leader_names:
            follower.pull_and_process(leader_name)
