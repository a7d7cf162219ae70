"""The public API: importable, documented, and the core stays free of ipywidgets."""

from __future__ import annotations

import subprocess
import sys

import workbench


def test_public_names_are_importable_and_documented() -> None:
    for name in workbench.__all__:
        obj = getattr(workbench, name)
        if callable(obj) and not isinstance(obj, type(workbench.SAMPLE_TICKETING)):
            assert (obj.__doc__ or "").strip(), f"workbench.{name} has no docstring"


def test_the_core_never_imports_ipywidgets() -> None:
    code = "import sys, workbench; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_widgets_package_exports_one_view_per_capability() -> None:
    from workbench import widgets

    assert set(widgets.__all__) == {
        "CommandPanel",
        "CrudEditor",
        "ProcessStepper",
        "ProjectionView",
        "StreamViewer",
        "TimeTravelView",
    }
