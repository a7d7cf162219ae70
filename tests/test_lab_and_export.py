"""``workbench lab`` (JupyterLab with Python alone) and ``workbench export`` (handouts)."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from workbench import handouts, lab
from workbench.cli import main
from workbench.handouts import RemoteReferenceError, export_notebook, static_widgets

REPO = Path(__file__).resolve().parents[1]
WELCOME = REPO / "notebooks" / "01-welcome.ipynb"
MAKEFILE_FLAGS = (
    "--no-browser",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_lab_dry_run_prepares_the_workspace_and_kernel_and_prints_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    assert main(["lab", "--dry-run", "--workspace", str(workspace), "--port", "9123"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sorted(p.name for p in workspace.iterdir()) == ["sponsorship.sqlite", "ticketing.sqlite"]
    assert out[0] == f"notebooks: {REPO / 'notebooks'}"
    assert out[1] == f"workspace: {workspace}"
    kernel = json.loads((Path(out[2].split(":", 1)[1].strip()) / "kernel.json").read_text())
    assert kernel["argv"][0] == sys.executable
    assert kernel["display_name"] == lab.KERNEL_DISPLAY_NAME
    assert out[3].startswith(f"{sys.executable} -m jupyter lab ")
    for flag in (*MAKEFILE_FLAGS, "--ServerApp.port=9123", "--ServerApp.ip=127.0.0.1"):
        assert flag in out[3].split()
    assert f"--ServerApp.root_dir={REPO / 'notebooks'}" in out[3]


def test_lab_plan_runs_in_the_workspace_and_keeps_what_is_there(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "ticketing.sqlite").write_bytes(b"mine")
    plan = lab.prepare_lab(workspace_dir=tmp_path / "ws", port=9999, browser=True)
    assert plan.env["WORKBENCH_WORKSPACE"] == str(tmp_path / "ws")
    assert (tmp_path / "ws" / "ticketing.sqlite").read_bytes() == b"mine"  # never overwritten
    assert "--no-browser" not in plan.command
    assert os.environ.get("WORKBENCH_WORKSPACE") != str(tmp_path / "ws")  # left as it was


def test_lab_without_a_checkout_asks_for_the_notebooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(lab.content, "CHECKOUT_NOTEBOOKS", tmp_path / "absent")
    monkeypatch.setattr(lab.content, "BUNDLED", tmp_path / "absent")
    assert main(["lab", "--dry-run", "--workspace", str(tmp_path / "ws")]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("workbench lab:") and "--notebooks PATH" in line
    (tmp_path / "mine").mkdir()
    plan = lab.prepare_lab(tmp_path / "mine", workspace_dir=tmp_path / "ws")
    assert f"--ServerApp.root_dir={tmp_path / 'mine'}" in plan.command


def test_lab_starts_jupyterlab_on_loopback(tmp_path: Path) -> None:
    port = _free_port()
    token = "workbench-test-token"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR"):
        env[var] = str(tmp_path / var.lower())
    env.update(JUPYTER_TOKEN=token, no_proxy="127.0.0.1", NO_PROXY="127.0.0.1")
    command = [str(Path(sys.executable).parent / "workbench"), "lab", "--port", str(port)]
    command += ["--workspace", str(tmp_path / "ws")]
    log = (tmp_path / "lab.log").open("wb")
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status")
    request.add_header("Authorization", f"token {token}")
    status = None
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with opener.open(request, timeout=2) as response:
                    status = json.loads(response.read())
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.25)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
    assert status is not None, (tmp_path / "lab.log").read_text(errors="replace")[-3000:]
    assert "started" in status
    assert (tmp_path / "ws" / "ticketing.sqlite").is_file()


REMOTE_LOAD = re.compile(
    r"<(?:script|link|img)\b[^>]*\s(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE
)


def test_export_writes_an_offline_page_with_the_chart_drawn_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "handout" / "welcome.html"
    assert main(["export", str(WELCOME), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    page = out.read_text()
    assert not REMOTE_LOAD.search(page)
    assert "cdn" not in page.lower() and "unpkg" not in page
    assert handouts.find_remote_references(page) == []
    [chart] = re.findall(r'<img[^>]*src="data:image/svg\+xml;base64,([^"]+)"', page)
    svg = base64.b64decode(chart).decode()
    assert svg.startswith("<svg") and "role-mark" in svg
    assert "What happened at the box office" in svg
    assert "application/vnd.jupyter.widget" not in page  # no widget left to run
    assert "Workshop attendee" in page or "Refused" in page  # outputs are there
    nb = nbformat.read(WELCOME, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # unchanged


def test_export_refuses_a_page_that_would_load_from_the_internet(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("![logo](https://example.com/logo.png)")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, tmp_path / "remote.ipynb")
    with pytest.raises(RemoteReferenceError, match=r"https://example\.com/logo\.png"):
        export_notebook(tmp_path / "remote.ipynb", tmp_path / "remote.html")
    assert not (tmp_path / "remote.html").exists()


def test_export_of_a_missing_notebook_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(tmp_path / "nope.ipynb")]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"workbench export: there is no notebook {tmp_path / 'nope.ipynb'}"


def _view(model_id: str) -> dict[str, object]:
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "text/plain": "a widget",
            "application/vnd.jupyter.widget-view+json": {"model_id": model_id},
        },
    }


def test_static_widgets_keep_last_state_or_leave_a_note() -> None:
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": [{"x": 1}, {"x": 2}]},
        "mark": "point",
        "encoding": {"x": {"field": "x", "type": "quantitative"}},
    }
    states = {
        "chart": {"model_name": "AnyModel", "state": {"spec": spec}},
        "html": {"model_name": "HTMLModel", "state": {"value": "<b>42 events</b>"}},
        "box": {
            "model_name": "VBoxModel",
            "state": {"children": ["IPY_MODEL_html", "IPY_MODEL_label"]},
        },
        "label": {"model_name": "LabelModel", "state": {"value": "a < b"}},
        "slider": {"model_name": "IntSliderModel", "state": {"value": 3}},
        "output": {
            "model_name": "OutputModel",
            "state": {
                "outputs": [
                    {
                        "output_type": "display_data",
                        "data": {"image/png": "iVBO", "text/plain": "A board"},
                    },
                    {
                        "output_type": "display_data",
                        "data": {"image/png": "iVBO", "text/plain": "<Image>"},
                    },
                ]
            },
        },
    }
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    views = ("chart", "html", "box", "slider", "output")
    cell.outputs = [nbformat.from_dict(_view(m)) for m in views]
    nb.cells = [cell]
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {"state": states, "version_major": 2}
    }
    assert static_widgets(nb) == 5
    chart, html_, box, slider, output = (o["data"] for o in cell.outputs)
    assert chart["image/svg+xml"].startswith("<svg")
    assert html_ == {"text/html": "<b>42 events</b>"}
    assert "<b>42 events</b>" in box["text/html"] and "a &lt; b" in box["text/html"]
    assert "IntSliderModel" in slider["text/html"] and "run the notebook" in slider["text/html"]
    # every image has words for a screen reader: its own text, or a plain note
    assert 'alt="A board"' in output["text/html"]
    assert 'alt="A picture from the notebook' in output["text/html"]
    assert "widgets" not in nb.metadata


def test_lab_without_the_sample_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(lab, "SAMPLE_TICKETING", tmp_path / "absent.sqlite")
    assert main(["lab", "--dry-run", "--workspace", str(tmp_path / "ws")]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert "pip install ." in line and not (tmp_path / "ws").exists()


def _clean_clone(to: Path) -> Path:
    """This checkout's files as a clone would have them (ignored files left out), copied."""
    listing = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    files = subprocess.run(listing, cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        source = REPO / name.decode()
        if source.is_file():
            (to / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            (to / name.decode()).write_bytes(source.read_bytes())
    return to


def test_a_pip_installed_workbench_carries_its_notebooks_and_sample_for_workbench_lab(
    tmp_path: Path,
) -> None:
    # An attendee's laptop: pip install from a clone (not editable), then workbench lab,
    # from a folder that is not the clone, with Python alone.
    clone = _clean_clone(tmp_path / "clone")
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    built = subprocess.run([*build, "-w", str(wheels), str(clone)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    [wheel] = wheels.glob("workbench-*.whl")
    site = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site)]
    subprocess.run([*install, str(wheel)], check=True, capture_output=True)
    assert sorted(p.name for p in (site / "workbench/_content/sample").iterdir()) == [
        "sponsorship.sqlite",
        "ticketing.sqlite",
    ]

    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "HOME": str(home)}
    env.pop("WORKBENCH_WORKSPACE", None)
    where = "import workbench; print(workbench.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", where],
        env=env,
        cwd=elsewhere,
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    assert out.startswith(str(site))  # the installed copy, not this checkout
    lab_run = [sys.executable, "-m", "workbench.cli", "lab", "--dry-run", "--port", "9124"]
    done = subprocess.run(lab_run, env=env, cwd=elsewhere, text=True, capture_output=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    notebooks = home / "workbench-workshop" / "notebooks"
    assert lines[0] == f"notebooks: {notebooks}"
    assert sorted(p.name for p in notebooks.glob("*.ipynb")) == sorted(
        p.name for p in (REPO / "notebooks").glob("*.ipynb")
    )
    workspace = home / "workbench-workshop" / "var" / "workspace"
    assert lines[1] == f"workspace: {workspace}"
    assert (workspace / "ticketing.sqlite").read_bytes() == (
        REPO / "data/sample/ticketing.sqlite"
    ).read_bytes()

    # The attendee's own edits survive the next start; a deleted notebook comes back.
    mine = notebooks / "01-welcome.ipynb"
    mine.write_text(mine.read_text().replace("Welcome", "My welcome"))
    (notebooks / "02-event-stream.ipynb").unlink()
    again = subprocess.run(lab_run, env=env, cwd=elsewhere, text=True, capture_output=True)
    assert again.returncode == 0, again.stderr
    assert "My welcome" in mine.read_text()
    assert (notebooks / "02-event-stream.ipynb").is_file()
