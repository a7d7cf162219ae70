"""Open an eventsourcing ``System`` on a store string, and watch its followers' lag.

:func:`open_system` takes a ``System`` (eventsourcing's leaders, followers and
process applications), a store string as :func:`workbench.stores.parse_store`
reads it, and a runner (``"single"``: eventsourcing's ``SingleThreadedRunner``,
every follower processes in the thread that saved; ``"threads"``: its
``MultiThreadedRunner``, one thread per follower). Each application is opened by
:func:`workbench.stores.open_app` (so its events carry their cause, see
:mod:`workbench.tracing`; a follower's recorded events are caused by the upstream
event its policy processed, :func:`workbench.tracing.follow_causes`), and it gets
its own place in the store:

=====================================  ===============================================
``"memory"``                           each application its own in-memory recorder
an SQLite *folder*                     one file per application (``<folder>/shop.sqlite``)
``"sqlite::memory:"``                  each application its own in-memory SQLite database
``"postgresql://..."``                 one table per application (eventsourcing names them)
an SQLite *file*                       refused for two or more applications: name a folder
=====================================  ===============================================

The :class:`SystemRun` it returns gives the applications (``run.get(Shop)``), the
tracking position and lag of every follower behind each of its leaders
(:meth:`SystemRun.lag`), a map of the system (:meth:`SystemRun.map`), and a
stepper over a follower's real policy (:meth:`SystemRun.stepper`). ``pause()``
holds the followers back (the leaders keep recording, the lag grows) and
``resume()`` lets them catch up.

>>> from eventsourcing.system import System
>>> from workbench.systems.examples import Counter, Doubler
>>> run = open_system(System(pipes=[[Counter, Doubler]]))
>>> run.pause()
>>> _ = run.get(Counter).count(3)
>>> run.lag()[["leader", "follower", "tracking", "leader_position", "lag"]].to_dict("records")
[{'leader': 'Counter', 'follower': 'Doubler', 'tracking': 0, 'leader_position': 1, 'lag': 1}]
>>> run.resume()
>>> int(run.lag()["lag"].sum())
0
>>> run.close()
"""

from __future__ import annotations

import contextlib
import html
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import pandas as pd
from eventsourcing.application import Application
from eventsourcing.system import (
    Follower,
    Leader,
    MultiThreadedRunner,
    RecordingEvent,
    RecordingEventReceiver,
    Runner,
    SingleThreadedRunner,
    System,
)

from workbench.stores import Store, StoreError, describe_store, open_app, parse_store
from workbench.systems.counting import topic_counts
from workbench.tracing import follow_causes

if TYPE_CHECKING:
    from workbench.systems.map import SystemMap
    from workbench.systems.stepping import PolicyStepper, Seed

__all__ = ["LAG_COLUMNS", "RUNNERS", "SystemRun", "SystemRunError", "open_system"]

TApp = TypeVar("TApp", bound=Application[Any])

RunnerName = Literal["single", "threads"]
RUNNERS: dict[str, type[Runner[Any]]] = {
    "single": SingleThreadedRunner,
    "threads": MultiThreadedRunner,
}
"""The runners :func:`open_system` knows, by name."""

LAG_COLUMNS = ["follower", "leader", "tracking", "leader_position", "lag"]
"""The columns of :meth:`SystemRun.lag`."""


class SystemRunError(StoreError):
    """A system could not be opened or driven; the message says why and what to do."""


class _Gate(RecordingEventReceiver[Any]):
    """Stands between a leader and what it prompts (a runner, or a follower's thread).

    Open, it passes every recording event on. Closed (the run is paused), it keeps
    the last one; opening passes that one on, and the receiver pulls everything
    it missed from the follower's tracking position (as both runners do).
    """

    def __init__(self, leader_name: str, target: RecordingEventReceiver[Any]) -> None:
        self.leader_name = leader_name
        self.target = target
        self.is_open = True
        self.held: RecordingEvent[Any] | None = None
        self.lock = threading.Lock()

    def receive_recording_event(self, new_recording_event: RecordingEvent[Any]) -> None:
        with self.lock:
            if not self.is_open:
                self.held = new_recording_event
                return
        self.target.receive_recording_event(new_recording_event)

    def prompt(self) -> None:
        """Tell the receiver the leader has news: it pulls from the follower's tracking position.

        Both runners read only the leader's name from a recording event, so an
        empty one prompts a catch-up. Closed, the gate keeps it for later.
        """
        self.receive_recording_event(RecordingEvent(self.leader_name, [], None))

    def release(self) -> None:
        with self.lock:
            held, self.held = self.held, None
        if held is not None:
            self.target.receive_recording_event(held)


class _OnStore:
    """The system as a runner sees it, with every application opened by ``open_app``.

    eventsourcing's runners construct ``system.follower_cls(name)(env=...)`` (and
    ``leader_cls``, ``get_app_cls``); here each of those opens the class on the
    store, where it gets its own file or tables. Everything else is the system's.
    """

    def __init__(self, system: System, store: Store, env: Mapping[str, str]) -> None:
        self._system = system
        self._store = store
        self._env = dict(env)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._system, name)

    def _opener(self, cls: type[Application[Any]]) -> Callable[..., Application[Any]]:
        def construct(env: Mapping[str, str] | None = None) -> Application[Any]:
            app = open_app(cls, self._store, env={**self._env, **(env or {})})
            if isinstance(app, Follower):
                follow_causes(app)  # what its policy records is caused by the upstream event
            return app

        return construct

    def follower_cls(self, name: str) -> Callable[..., Application[Any]]:
        return self._opener(self._system.follower_cls(name))

    def leader_cls(self, name: str) -> Callable[..., Application[Any]]:
        return self._opener(self._system.leader_cls(name))

    def get_app_cls(self, name: str) -> Callable[..., Application[Any]]:
        return self._opener(self._system.get_app_cls(name))


def open_system(
    system: System,
    store: str | Path | Store | None = "memory",
    *,
    runner: RunnerName = "single",
    env: Mapping[str, str] | None = None,
    paused: bool = False,
) -> SystemRun:
    """Start ``system`` with every application on ``store``; returns a :class:`SystemRun`.

    A string ending in ``/`` names a folder, created if it is not there.
    ``runner`` is ``"single"`` (eventsourcing's ``SingleThreadedRunner``) or
    ``"threads"`` (its ``MultiThreadedRunner``). ``env`` adds eventsourcing
    settings for every application (``CIPHER_KEY``, ``COMPRESSOR_TOPIC``, or
    ``SHOP_CIPHER_KEY`` for one of them). ``paused=True`` starts with the
    followers held back (see :meth:`SystemRun.pause`). Followers process what
    their leaders record from now on; what is already in the store and not
    processed yet (a store opened again) waits for :meth:`SystemRun.catch_up`
    (nothing runs at opening, so opening a large history is quick). Close the
    run when done (``run.close()``, or ``with open_system(...) as run:``).

    >>> from eventsourcing.system import System
    >>> from workbench.systems.examples import Counter, Doubler
    >>> with open_system(System(pipes=[[Counter, Doubler]]), "memory") as run:
    ...     _ = run.get(Counter).count(2)
    ...     run.lag()["lag"].tolist()
    [0]
    """
    if not isinstance(system, System):
        raise SystemRunError(
            f"open_system needs an eventsourcing System (System(pipes=[[Leader, Follower]])), "
            f"got {type(system).__name__}"
        )
    if runner not in RUNNERS:
        raise SystemRunError(
            f"unknown runner {runner!r}: use 'single' (one thread) or 'threads' "
            "(one thread per follower)"
        )
    if isinstance(store, str) and store.endswith(("/", os.sep)) and "://" not in store:
        folder = Path(store).expanduser()
        if not folder.exists():  # "data/shop/" names a folder store: one file per application
            try:
                folder.mkdir(parents=True)
            except OSError as e:
                raise SystemRunError(
                    f"cannot create the folder {folder}: {e.strerror or e}"
                ) from None
    parsed = parse_store(store)
    if (
        parsed.kind == "sqlite"
        and not parsed.sqlite_memory
        and parsed.path is not None
        and not parsed.path.is_dir()
        and len(system.nodes) > 1
    ):
        names = ", ".join(system.nodes)
        raise SystemRunError(
            f"the system has {len(system.nodes)} applications ({names}) and an SQLite file "
            f"holds one application's events (its one 'stored_events' table): they cannot "
            f"share {parsed.path}. Name a folder instead (each application gets its own "
            f"file there), e.g. open_system(system, '{parsed.path.with_suffix('')}/') "
            "(a name ending in '/' is created if it is not there)"
        )
    settings = dict(env or {})
    on_store = cast(System, _OnStore(system, parsed, settings))
    engine = RUNNERS[runner](on_store, env=None)
    try:
        engine.start()
    except Exception:
        engine.stop()
        raise
    run = SystemRun(system, parsed, engine, runner, settings)
    if paused:
        run.pause()
    return run


class SystemRun:
    """A running ``System``: its applications, their lag, a map, and policy steppers.

    Built by :func:`open_system`. The applications are eventsourcing's own
    (``run.get(Shop)`` is the ``Shop`` the runner started), so commands go
    through them as usual; followers process what their leaders record (at
    once with the single-threaded runner, soon after with threads).
    """

    def __init__(
        self,
        system: System,
        store: Store,
        runner: Runner[Any],
        runner_name: str,
        env: Mapping[str, str],
    ) -> None:
        self.system = system
        """The eventsourcing ``System``."""
        self.store = store
        """Where the applications keep their events."""
        self.runner = runner
        """eventsourcing's runner (``SingleThreadedRunner`` or ``MultiThreadedRunner``)."""
        self.runner_name = runner_name
        """``"single"`` or ``"threads"``."""
        self.env: dict[str, str] = dict(env)
        """The settings every application was opened with (besides the store's)."""
        self.closed = False
        self._gates: list[_Gate] = []
        for name in system.leaders:
            leader = self.app(name)
            assert isinstance(leader, Leader)
            gates = [_Gate(name, receiver) for receiver in leader.followers]
            leader.followers[:] = gates
            self._gates.extend(gates)
        self._counts: dict[tuple[str, str], Any] = {}
        self._lags: dict[tuple[str, str], tuple[int, int, int]] = {}

    # The applications ----------------------------------------------------------------

    @property
    def apps(self) -> dict[str, Application[Any]]:
        """Every application, by name, in the system's order."""
        return {name: self.app(name) for name in self.system.nodes}

    def app(self, name: str) -> Application[Any]:
        """The application called ``name``."""
        self._check_open()
        apps: dict[str, Application[Any]] = getattr(self.runner, "apps")  # noqa: B009
        if name not in apps:
            known = ", ".join(self.system.nodes)
            raise SystemRunError(f"the system has no application {name!r}; it has {known}")
        return apps[name]

    def get(self, cls: type[TApp]) -> TApp:
        """The running application of class ``cls`` (as ``runner.get(cls)``)."""
        app = self.app(cls.name)
        if not isinstance(app, cls):
            raise SystemRunError(f"{cls.name} in this system is a {type(app).__name__}")
        return app

    def follower(self, name: str) -> Follower[Any]:
        """The follower called ``name``, or an error naming the followers."""
        if name not in self.system.followers:
            known = ", ".join(self.system.followers) or "none"
            raise SystemRunError(
                f"{name!r} is not a follower in this system; its followers: {known}"
            )
        app = self.app(name)
        assert isinstance(app, Follower)
        return app

    # Pausing ---------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """Whether the followers are held back (see :meth:`pause`)."""
        return any(not gate.is_open for gate in self._gates)

    def pause(self) -> None:
        """Hold the followers back: leaders keep recording, followers process nothing.

        The lag grows with each command; :meth:`resume` lets the followers catch
        up, and a stepper on a real follower (``run.stepper(name, sandbox=False)``)
        steps it by hand meanwhile. With threads, an event a follower had
        already been prompted for may still be processed.
        """
        for gate in self._gates:
            with gate.lock:
                gate.is_open = False

    def resume(self) -> None:
        """Let the followers catch up with everything recorded while paused (or before)."""
        for gate in self._gates:
            with gate.lock:
                gate.is_open = True
        for gate in self._gates:
            gate.release()
        self.catch_up()

    def catch_up(self) -> None:
        """Prompt every follower to process what its leaders recorded that it has not.

        eventsourcing's runners process what a leader records *while they run*;
        events recorded before (a store opened again, a history written by the
        leader alone) wait until the leader records something new, or until
        this is called. With threads it returns at once: :meth:`wait` waits.
        While paused, the prompts are kept until :meth:`resume`.

        >>> from workbench.systems.examples import SYSTEM, Counter
        >>> with open_system(SYSTEM, paused=True) as run:
        ...     _ = run.get(Counter).count(1)
        ...     run.resume()  # resume catches up too
        ...     run.lag()["lag"].tolist()
        [0]
        """
        self._check_open()
        for name in self.system.leaders:  # upstream first, as they were wrapped
            for gate in self._gates:
                if gate.leader_name == name:
                    gate.prompt()

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait until no follower lags (threads process soon, not at once); ``True`` if so."""
        deadline = time.monotonic() + timeout
        while True:
            if int(self.lag()["lag"].sum()) == 0:
                return True
            if self.error is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.01)

    @property
    def error(self) -> BaseException | None:
        """The error that stopped a follower's thread (``"threads"`` runner), if any."""
        threads = getattr(self.runner, "threads", {})
        for thread in threads.values():
            if thread.error is not None:
                return cast(BaseException, thread.error)
        return None

    # Lag -------------------------------------------------------------------------------

    def lag(self) -> pd.DataFrame:
        """Each follower's tracking position behind each of its leaders, and its lag.

        One row per (leader, follower) edge: ``tracking`` is the position of the
        leader's last event the follower processed
        (``follower.recorder.max_tracking_id(leader)``), ``leader_position`` the
        leader's newest position, ``lag`` the leader's events the follower has
        not processed yet (of the topics it follows, when it names them).
        """
        rows = []
        for leader_name, follower_name in self.system.edges:
            leader = self.app(leader_name)
            follower = self.follower(follower_name)
            tracking = follower.recorder.max_tracking_id(leader_name) or 0
            newest = leader.recorder.max_notification_id() or 0
            rows.append(
                {
                    "follower": follower_name,
                    "leader": leader_name,
                    "tracking": tracking,
                    "leader_position": newest,
                    "lag": self._unprocessed(leader_name, follower, tracking, newest),
                }
            )
        return pd.DataFrame(rows, columns=LAG_COLUMNS).astype(
            {"tracking": "int64", "leader_position": "int64", "lag": "int64"}
        )

    def _unprocessed(
        self, leader_name: str, follower: Follower[Any], tracking: int, newest: int
    ) -> int:
        """The leader's events after ``tracking`` the follower will process.

        Every event, unless the follower names ``topics``: then the events of
        those topics, counted once and then kept up to date from the ranges
        that changed (the tracking position and the leader's newest position
        only move forward), so a live view's redraw counts a few events.
        """
        if newest <= tracking:
            return 0
        if not follower.topics:
            return newest - tracking
        recorder = self.app(leader_name).recorder
        topics = follower.topics
        key = (leader_name, follower.name)
        before = self._lags.get(key)
        if before is not None and before[0] <= tracking <= before[1] <= newest:
            old_tracking, old_newest, old_lag = before
            done = topic_counts(recorder, after=old_tracking, upto=tracking, topics=topics)
            new = topic_counts(recorder, after=old_newest, upto=newest, topics=topics)
            lag = old_lag - sum(done.values()) + sum(new.values())
        else:
            lag = sum(topic_counts(recorder, after=tracking, upto=newest, topics=topics).values())
        self._lags[key] = (tracking, newest, lag)
        return lag

    def lag_chart(self) -> Any:
        """The lag as an altair chart (see :func:`workbench.charts.systems.lag_chart`)."""
        from workbench.charts.systems import lag_chart

        return lag_chart(self.lag())

    # Map and stepping ------------------------------------------------------------------

    def map(self) -> SystemMap:
        """A diagram of the system, with the events that went along each edge."""
        from workbench.systems.map import system_map

        return system_map(self)

    def stepper(
        self,
        follower: str | type[Application[Any]],
        *,
        leader: str | None = None,
        sandbox: bool = True,
        start: int = 0,
        seed: Seed = None,
    ) -> PolicyStepper:
        """A stepper over ``follower``'s real policy (see :class:`PolicyStepper`).

        ``sandbox=True`` steps a copy in memory (Back works), empty or prepared
        by ``seed`` (``"own"``: the follower's own events; or a function);
        ``sandbox=False`` steps the real follower, forward only, while the run
        is paused.
        """
        from workbench.systems.stepping import PolicyStepper

        name = follower if isinstance(follower, str) else follower.name
        return PolicyStepper(self, name, leader=leader, sandbox=sandbox, start=start, seed=seed)

    # Closing and showing ---------------------------------------------------------------

    def close(self) -> None:
        """Stop the runner and close every application (idempotent)."""
        if self.closed:
            return
        self.closed = True
        # A follower thread's error is raised again by stop(); it stays in .error.
        with contextlib.suppress(Exception):
            self.runner.stop()

    def __enter__(self) -> SystemRun:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise SystemRunError(
                "this system run is closed; open the system again with open_system(...)"
            )

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("paused" if self.paused else "running")
        names = ", ".join(self.system.nodes)
        return (
            f"<SystemRun {names} on the {describe_store(self.store)} ({self.runner_name}, {state})>"
        )

    def _repr_html_(self) -> str:
        if self.closed:
            return f"<p>{html.escape(repr(self))}</p>"
        frame = self.lag()
        table = frame.to_html(index=False, border=0, classes="wb-system-lag")
        return (
            f"<div class='wb-system-run'><p>{html.escape(repr(self))}</p>"
            f"{self.map().to_svg()}{table}</div>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}
