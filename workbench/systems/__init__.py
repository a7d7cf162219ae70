"""eventsourcing Systems in the workbench: open one on a store, watch the lag, step a policy.

* :func:`open_system` starts a ``System`` (leaders, followers, process
  applications) with eventsourcing's own runner, every application on one store
  string (memory, an SQLite folder, PostgreSQL); it returns a :class:`SystemRun`.
* :meth:`SystemRun.lag`: each follower's tracking position behind each leader.
* :meth:`SystemRun.map`: a :class:`SystemMap` of the applications and the events
  that went along each edge, drawn as SVG.
* :meth:`SystemRun.stepper`: a :class:`PolicyStepper` over a follower's real
  policy, one upstream event at a time (in a sandbox copy, with Back; or on the
  real follower, forward only).

>>> from workbench.systems import open_system
>>> from workbench.systems.examples import SYSTEM, Counter
>>> run = open_system(SYSTEM)
>>> _ = run.get(Counter).count(4)
>>> run.stepper("Doubler").step().recorded[0].payload["value"]
8
>>> run.close()
"""

from workbench.systems.map import Flow, SystemMap, handled_types, system_map
from workbench.systems.run import LAG_COLUMNS, RUNNERS, SystemRun, SystemRunError, open_system
from workbench.systems.stepping import PolicyStep, PolicyStepper, RecordedEvent

__all__ = [
    "LAG_COLUMNS",
    "RUNNERS",
    "Flow",
    "PolicyStep",
    "PolicyStepper",
    "RecordedEvent",
    "SystemMap",
    "SystemRun",
    "SystemRunError",
    "handled_types",
    "open_system",
    "system_map",
]
