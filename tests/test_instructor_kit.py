"""The instructor kit: ``workbench reset``, the JupyterLab settings, presenter mode."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from uuid import UUID

import pytest

import workbench as wb
from workbench.cli import main
from workbench.examples.ticketing import Ticketing
from workbench.presenter import lab_settings_dir, present, presenter_css, write_lab_settings
from workbench.samples import (
    SAMPLE_TICKETING,
    WORKSPACE_ENV,
    WorkspaceInUse,
    reset_workspace,
    workspace,
)


def events_of(path: Path) -> list[tuple[int, str, str]]:
    reader = wb.open_records(path)
    return [(r.position, r.stream_id, r.topic) for batch in reader.batches() for r in batch]


def record_one(folder: Path) -> None:
    """Reserve one ticket at the sample's first conference, in the workspace."""
    first = next(
        r for r in events_of(folder / "ticketing.sqlite") if "Conference.Scheduled" in r[2]
    )
    app = wb.open_app(Ticketing, str(folder))
    try:
        app.reserve_tickets(UUID(first[1]), "Reset test", {"Standard": 1})
    finally:
        app.close()


@pytest.fixture
def own_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "workspace"))
    return workspace()


def test_reset_gives_back_the_sample_events(own_workspace: Path) -> None:
    sample = events_of(SAMPLE_TICKETING)
    record_one(own_workspace)
    assert len(events_of(own_workspace / "ticketing.sqlite")) > len(sample)
    removed = reset_workspace()  # WORKBENCH_WORKSPACE names the folder
    assert own_workspace / "ticketing.sqlite" in removed
    assert events_of(own_workspace / "ticketing.sqlite") == sample
    assert not list(own_workspace.glob(".*reset-partial"))


def test_reset_leaves_other_files_alone(own_workspace: Path) -> None:
    mine = own_workspace / "notes.txt"
    mine.write_text("mine")
    reset_workspace(own_workspace)
    assert mine.read_text() == "mine"


def test_reset_refuses_a_file_still_open(own_workspace: Path) -> None:
    app = wb.open_app(Ticketing, str(own_workspace))
    try:
        app.recorder.max_notification_id()
        before = (own_workspace / "ticketing.sqlite").stat().st_ino
        with pytest.raises(WorkspaceInUse, match="close the applications"):
            reset_workspace(own_workspace)
        assert (own_workspace / "ticketing.sqlite").stat().st_ino == before
    finally:
        app.close()


def test_reset_job_asks_for_yes(own_workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record_one(own_workspace)
    recorded = events_of(own_workspace / "ticketing.sqlite")
    assert main(["reset"]) == 1  # stdin is not a terminal under pytest
    captured = capsys.readouterr()
    assert "ticketing.sqlite" in captured.out and "--yes" in captured.err
    assert events_of(own_workspace / "ticketing.sqlite") == recorded
    assert main(["reset", "--yes"]) == 0
    assert "holds the sample history again" in capsys.readouterr().out
    assert events_of(own_workspace / "ticketing.sqlite") == events_of(SAMPLE_TICKETING)


def test_reset_job_says_a_file_is_open(
    own_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = wb.open_app(Ticketing, str(own_workspace))
    try:
        app.recorder.max_notification_id()
        assert main(["reset", "--yes", "--folder", str(own_workspace)]) == 1
        assert "workbench reset:" in capsys.readouterr().err
    finally:
        app.close()


# -- the JupyterLab settings: no news prompt --------------------------------------------------


NOTIFICATION = "@jupyterlab/apputils-extension:notification"


def test_lab_settings_switch_the_news_prompt_off(tmp_path: Path) -> None:
    path = write_lab_settings(tmp_path)
    assert path == tmp_path / "overrides.json"
    assert json.loads(path.read_text())[NOTIFICATION] == {
        "fetchNews": "false",  # JupyterLab asks about news only while this is "none"
        "checkForUpdates": False,
    }


def test_lab_settings_keep_what_the_file_had(tmp_path: Path) -> None:
    (tmp_path / "overrides.json").write_text(
        json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}})
    )
    settings = json.loads(write_lab_settings(tmp_path).read_text())
    assert settings["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert settings[NOTIFICATION]["fetchNews"] == "false"


def test_jupyterlab_reads_the_settings_as_its_defaults(tmp_path: Path) -> None:
    """What JupyterLab's settings API serves: the schema's defaults, overridden."""
    settings_utils = pytest.importorskip("jupyterlab_server.settings_utils")
    schemas = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
    if not (schemas / "@jupyterlab" / "apputils-extension" / "notification.json").exists():
        pytest.skip("JupyterLab's schemas are not installed here")
    write_lab_settings(tmp_path)
    overrides, error = settings_utils._get_overrides(str(tmp_path))
    assert not error
    found, _ = settings_utils.get_settings(
        str(tmp_path), str(schemas), str(tmp_path / "user"), overrides=overrides
    )
    plugin = next(s for s in found["settings"] if s["id"] == NOTIFICATION)
    assert plugin["schema"]["properties"]["fetchNews"]["default"] == "false"
    assert plugin["schema"]["properties"]["checkForUpdates"]["default"] is False


def test_lab_settings_dir_is_jupyterlabs_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTERLAB_DIR", raising=False)
    assert lab_settings_dir() == Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"
    monkeypatch.setenv("JUPYTERLAB_DIR", "/somewhere/lab")
    assert lab_settings_dir() == Path("/somewhere/lab/settings")


# -- presenter mode -----------------------------------------------------------------------


def test_presenter_css_scales_widgets_diagrams_and_charts() -> None:
    css = presenter_css(1.75)
    for name in (
        ".jupyter-widgets",  # every ipywidgets view: stream viewer, projection view, ...
        ".wb-storming",
        ".workbench-process-run",
        ".wb-projection-run",
        'svg[role="img"]',  # the state-machine diagram
        ".vega-embed",  # altair charts
    ):
        assert name in css
    assert "zoom: 1.75" in css
    assert "--jp-code-font-size: 22.75px" in css
    assert presenter_css(1) == ""


def test_presenter_css_refuses_a_silly_scale() -> None:
    with pytest.raises(ValueError, match="present\\(False\\)"):
        presenter_css(15)


def test_present_then_present_false(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[tuple[str, str]] = []

    def display(obj: object, display_id: str) -> None:
        shown.append((display_id, obj._repr_html_()))  # type: ignore[attr-defined]

    monkeypatch.setattr("IPython.display.display", display)
    present(1.5)
    present(False)
    (first_id, on), (second_id, off) = shown
    assert first_id == second_id  # the same display: the later call updates the earlier
    assert "zoom: 1.5" in on and "<style" in on
    assert "zoom" not in off and "off" in off


# -- INSTRUCTOR.md ------------------------------------------------------------------------


def test_instructor_guide_python_blocks_run() -> None:
    """The replay demo and the presenter lines of INSTRUCTOR.md run as written."""
    guide = (Path(__file__).resolve().parents[1] / "INSTRUCTOR.md").read_text()
    blocks = [b.split("```", 1)[0] for b in guide.split("```python\n")[1:]]
    assert len(blocks) >= 2
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "INSTRUCTOR.md", "exec"), namespace)
    assert namespace["damage"] is not None and len(namespace["damage"]) > 0  # type: ignore[arg-type]
