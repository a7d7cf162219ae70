"""Process managers: business logic around events, as a state machine you can step.

Declare a process as data (:class:`ProcessDeclaration`), run it against any
eventsourcing application (:class:`ProcessRun`), step it forward and back,
advance its clock, inject failures and replay it safely.

>>> from workbench.processes import ProcessDeclaration, Transition
>>> decl = ProcessDeclaration(
...     name="Greeter", states=("new", "greeted"), initial="new",
...     transitions=(Transition("new", "Visitor.Arrived", "greeted"),))
>>> decl.final_states
('greeted',)
"""

from workbench.processes.declaration import (
    ABANDONED,
    FAILED,
    Action,
    DeclarationError,
    ProcessDeclaration,
    RetryPolicy,
    Timeout,
    Transition,
    by_originator,
    timeout,
)
from workbench.processes.log import ProcessInstance, ProcessLog
from workbench.processes.outbox import Message, Outbox, ServiceUnavailable
from workbench.processes.run import (
    ActionContext,
    Anomaly,
    Emitted,
    Failure,
    Handler,
    Move,
    ProcessError,
    ProcessRun,
    Refused,
    Step,
)
from workbench.processes.upstream import UpstreamEvent, UpstreamLog

__all__ = [
    "ABANDONED",
    "FAILED",
    "Action",
    "ActionContext",
    "Anomaly",
    "DeclarationError",
    "Emitted",
    "Failure",
    "Handler",
    "Message",
    "Move",
    "Outbox",
    "ProcessDeclaration",
    "ProcessError",
    "ProcessInstance",
    "ProcessLog",
    "ProcessRun",
    "Refused",
    "RetryPolicy",
    "ServiceUnavailable",
    "Step",
    "Timeout",
    "Transition",
    "UpstreamEvent",
    "UpstreamLog",
    "by_originator",
    "timeout",
]
