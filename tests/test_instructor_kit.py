"""The instructor kit: ``workbench reset``, the JupyterLab settings, presenter mode."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest

import workbench as wb
from workbench.cli import main
from workbench.examples.ticketing import Ticketing
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
