"""Small event-sourced applications, one per style eventsourcing 9.5 supports.

They are test material for the workbench's generic capabilities (reading events with
and without the code, time travel, projections, commands, the storming board): code
written the way users of the library write it, in domains other than the ticketing
example, so tests can't lean on what the workbench authors shaped.

Import the package as ``apps``: pytest puts ``tests/`` on ``sys.path`` (the folder has
a ``conftest.py`` and no ``__init__.py``). Topics are therefore
``apps.<module>:<Class>.<Event>``, for example ``apps.decorated:Book.Borrowed``.
Importing it as ``tests.apps`` is refused, because the same classes would then be
defined twice, under a second set of topics.

``STYLES`` maps a style name to its module. Each module has:

``APP``
    The ``Application`` class the scenario's commands go to.
``APPS`` (only ``system``; otherwise ``(APP,)``, see :func:`app_classes`)
    Every application the history is stored in, leader first. On SQLite each needs
    its own file: ``<NAME>_SQLITE_DBNAME`` with ``NAME`` the upper-cased
    ``Application.name`` (:func:`sqlite_env` writes these settings).
``start(env)`` (only ``system``; see :func:`start`)
    What ``scenario`` takes: an ``APP(env=env)``, or for ``system`` a started
    ``SingleThreadedRunner``. :func:`stop` closes either.
``scenario(handle) -> list[UUID]``
    Records a small history (5 to 7 events over 2 to 4 aggregates) with fixed
    payloads, and returns the ids of the aggregates it created.
``load(handle, id, version=None)`` (only ``functional`` and ``system``; see :func:`load`)
    The aggregate (or, for ``functional``, the immutable state) at a version.
``break_rule(handle, ids)``
    Calls a command that breaks a domain rule: it raises the module's own exception
    class and records nothing.
``ask(handle, ids)``
    Calls query methods: returns plain data and records nothing.
``EXPECTED``
    What a test can assert without reading the code::

        {
            "aggregate": "Book",           # class name of the main aggregate
            "aggregates": ["Book", "Book"],   # class name per id scenario() returns
            "event_types": {"Book.Registered", ...},  # topics after the colon
            "events": 5,                   # events the scenario records, all apps
            "final_state": {               # index into the ids -> attribute -> value
                0: {"version": 3, "title": "Dune", "on_loan": False, ...},
            },
            "error": "BookAlreadyOnLoan",  # class name of what break_rule raises
            "query": [True, False],        # what ask() returns after the scenario
        }

    ``final_state`` names what a reader of the object sees: attributes, or properties
    (``private_state`` keeps ``_balance`` behind ``balance``). Values are compared
    with ``==``; datetimes keep the offsets they were given.

Payloads cover str, int, bool, Decimal, UUID, timezone-aware datetimes, dates, nested
dicts and lists and None; ``domain_objects`` adds value objects and an Enum. Dates
need a transcoding the library doesn't register, so every application registers its
own (under the names ``date_iso``, ``date`` or ``iso_date``, as different authors
would).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.system import Runner

if __name__ != "apps":
    raise ImportError(
        f"import this package as 'apps' (with tests/ on sys.path), not as {__name__!r}: "
        "its event topics are apps.<module>:<Class>.<Event>"
    )

from . import (
    dataclass_agg,
    decorated,
    domain_objects,
    event_class,
    explicit,
    functional,
    nested_created,
    private_state,
    system,
)

STYLES: dict[str, ModuleType] = {
    "decorated": decorated,
    "explicit": explicit,
    "event_class": event_class,
    "nested_created": nested_created,
    "dataclass_agg": dataclass_agg,
    "functional": functional,
    "private_state": private_state,
    "domain_objects": domain_objects,
    "system": system,
}


def app_classes(style: ModuleType) -> tuple[type[Application[Any]], ...]:
    """Every application class the style's history is stored in, leader first."""
    return tuple(getattr(style, "APPS", (style.APP,)))


def sqlite_env(style: ModuleType, folder: Path | str) -> dict[str, str]:
    """Settings that put each of the style's applications in ``<folder>/<name>.sqlite``."""
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite"}
    for cls in app_classes(style):
        env[f"{cls.name.upper()}_SQLITE_DBNAME"] = str(Path(folder) / f"{cls.name}.sqlite")
    return env


def start(style: ModuleType, env: Mapping[str, str] | None = None) -> Any:
    """What the style's ``scenario`` takes: an application, or a started runner."""
    if hasattr(style, "start"):
        return style.start(env)
    return style.APP(env=dict(env) if env is not None else None)


def stop(handle: Any) -> None:
    """Close an application, or stop a runner and close its applications."""
    if isinstance(handle, Runner):
        handle.stop()
    else:
        handle.close()


def applications(handle: Any) -> list[Application[Any]]:
    """The running applications behind a handle."""
    if isinstance(handle, Runner):
        return list(handle.apps.values())  # type: ignore[attr-defined]
    return [handle]


def load(style: ModuleType, handle: Any, aggregate_id: UUID, version: int | None = None) -> Any:
    """The aggregate (or state) ``aggregate_id`` at ``version`` (``None``: the latest)."""
    if hasattr(style, "load"):
        return style.load(handle, aggregate_id, version)
    return handle.repository.get(aggregate_id, version=version)
