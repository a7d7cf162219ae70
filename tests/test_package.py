"""The public API: importable, documented, and the core stays free of ipywidgets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
        "PolicyStepperView",
        "ProcessStepper",
        "ProjectionView",
        "StormingActivityView",
        "StreamViewer",
        "SystemView",
        "TimeTravelView",
    }


def test_importing_workbench_leaves_the_teaching_domain_unimported() -> None:
    code = (
        "import workbench, sys; print(any(m.startswith('workbench.examples') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_history_generator_is_still_reachable_from_the_package() -> None:
    from workbench.examples import history

    assert workbench.generate_history is history.generate_history
    assert workbench.HistorySummary is history.HistorySummary
    assert {"generate_history", "HistorySummary"} <= set(dir(workbench))
    with pytest.raises(AttributeError, match="no attribute 'generate_histories'"):
        _ = workbench.generate_histories  # type: ignore[attr-defined]


def test_the_sample_and_the_workspace_belong_to_the_library() -> None:
    from workbench.examples import history

    assert workbench.SAMPLE_TICKETING.is_file()
    assert workbench.SAMPLE_SPONSORSHIP.is_file()
    assert history.SAMPLE_TICKETING is workbench.SAMPLE_TICKETING  # still importable from there
    assert history.copy_sample is workbench.copy_sample
    assert history.workspace is workbench.workspace  # the function, as `make lab` calls it


def test_a_workspace_keeps_its_files_whatever_their_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    shutil.copyfile(workbench.SAMPLE_TICKETING, tmp_path / "Ticketing.sqlite")
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(tmp_path))
    assert workbench.workspace() == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Ticketing.sqlite", "sponsorship.sqlite"]
