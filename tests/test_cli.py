from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import main


def test_help_explains_each_job(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for job in ("generate", "info", "sample"):
        assert job in out


def test_generate_then_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "h.sqlite"
    assert main(["generate", "--store", str(store), "--events", "800", "--quiet"]) == 0
    assert "wrote 800 ticketing events" in capsys.readouterr().out
    assert main(["info", str(store)]) == 0
    out = capsys.readouterr().out
    assert "800 events" in out and "TicketPurchase.Started" in out


def test_generate_into_a_folder_writes_both_applications(tmp_path: Path) -> None:
    assert (
        main(["generate", "--store", str(tmp_path / "h"), "--folder", "--events", "500", "--quiet"])
        == 0
    )
    assert {p.name for p in (tmp_path / "h").iterdir()} >= {
        "ticketing.sqlite",
        "sponsorship.sqlite",
    }


def test_errors_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.db").write_text("not a database")
    assert main(["info", str(tmp_path / "x.db")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("workbench info:") and "not an SQLite database" in err
    store = tmp_path / "h.sqlite"
    main(["generate", "--store", str(store), "--events", "100", "--quiet"])
    assert main(["generate", "--store", str(store), "--events", "100", "--quiet"]) == 1
    assert "already holds events" in capsys.readouterr().err


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "workbench"
    result = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True)
    assert "generate" in result.stdout


@pytest.mark.parametrize("events", ["-5", "0"])
def test_generate_refuses_bad_arguments_before_creating_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], events: str
) -> None:
    assert main(["generate", "--store", str(tmp_path / "h.sqlite"), "--events", events]) == 1
    assert main(["generate", "--store", str(tmp_path / "f"), "--folder", "--events", events]) == 1
    err = capsys.readouterr().err.splitlines()
    assert (
        err
        == [f"workbench generate: events must be a whole number of at least 1 (got {events})"] * 2
    )
    assert list(tmp_path.iterdir()) == []  # no empty file, no folder


def test_generate_into_a_missing_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", "--store", str(tmp_path / "no" / "h.sqlite"), "--events", "9"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("workbench generate: cannot create") and "does not exist" in line
    assert list(tmp_path.iterdir()) == []


def test_generate_interrupted_writes_nothing_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.examples import history

    flush = history._Generator.flush
    flushed = []

    def interrupted(self: history._Generator) -> None:
        flush(self)
        flushed.append(len(self.pending))
        if len(flushed) == 2:  # Ctrl-C once a batch is saved
            raise KeyboardInterrupt

    monkeypatch.setattr(history._Generator, "flush", interrupted)
    store = tmp_path / "h.sqlite"
    assert main(["generate", "--store", str(store), "--events", "12000", "--quiet"]) == 130
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"workbench generate: interrupted, no complete history written to {store}"
    assert list(tmp_path.iterdir()) == []
