"""Views over the workbench core: one widget per capability, thin and headless-testable.

Each widget draws a core object and forwards clicks to it; the logic lives in
the core (:mod:`workbench.commands`, :mod:`workbench.stream`,
:mod:`workbench.projections`, :mod:`workbench.processes`, ...).

>>> from workbench.widgets import CommandPanel, StreamViewer  # doctest: +SKIP
"""

from workbench.widgets.command_panel import CommandPanel
from workbench.widgets.crud_editor import CrudEditor
from workbench.widgets.process_stepper import ProcessStepper
from workbench.widgets.projection_view import ProjectionView
from workbench.widgets.storming_activity import StormingActivityView
from workbench.widgets.stream_viewer import StreamViewer
from workbench.widgets.system_view import PolicyStepperView, SystemView
from workbench.widgets.time_travel import TimeTravelView

__all__ = [
    "CommandPanel",
    "CrudEditor",
    "PolicyStepperView",
    "ProcessStepper",
    "ProjectionView",
    "StormingActivityView",
    "StreamViewer",
    "SystemView",
    "TimeTravelView",
]
