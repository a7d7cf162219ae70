"""Odd file names: a history is the file it is named by, whatever characters the name has.

SQLite reads a ``file:`` URI: a ``#`` or ``?`` written into one as it is ends
the path, so an unquoted ``file:{path}?mode=ro`` opened (and created, empty)
another file, no longer read-only. Every reader quotes the path.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest

from workbench.examples.ticketing import Ticketing
from workbench.reading import load_events, open_history
from workbench.samples import SAMPLE_TICKETING
from workbench.stores import ReadOnlyStore, open_app, sqlite_event_tables, sqlite_uri
from workbench.stream import EventStream

NAMES = [
    "a#b.sqlite",
    "what?.sqlite",
    "x?mode=rw.sqlite",
    "100%.sqlite",
    "%41.sqlite",
    "with space.sqlite",
    "file:odd.sqlite",
    "naïve ☃.sqlite",
    "semi;colon&amp.sqlite",
]


@pytest.fixture(params=NAMES)
def odd(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    folder = tmp_path / "odd #?% folder"
    folder.mkdir()
    path = folder / str(request.param)
    shutil.copy(SAMPLE_TICKETING, path)
    return path


def test_an_odd_name_reads_that_file_and_makes_no_other(odd: Path) -> None:
    before = sorted(p.name for p in odd.parent.iterdir())
    assert len(load_events(odd)) == 4000
    assert open_history(odd).max_position() == 4000
    assert sqlite_event_tables(odd) == ["stored_events"]
    assert EventStream(odd).summary()["events"] == 4000
    assert len(load_events(f"sqlite:///{quote(str(odd))}")) == 4000  # a URL: quoted
    assert sorted(p.name for p in odd.parent.iterdir()) == before  # no stray empty file


def test_an_odd_name_opens_read_only(odd: Path) -> None:
    app = open_app(Ticketing, odd, readonly=True)
    assert app.recorder.max_notification_id() == 4000
    with pytest.raises(ReadOnlyStore):
        app.schedule_conference("NEW", "A write", date(2019, 1, 1))
    app.close()
    assert open_history(odd).max_position() == 4000


def test_an_odd_name_can_be_written(tmp_path: Path) -> None:
    for name in NAMES:
        path = tmp_path / name
        app = open_app(Ticketing, path)
        app.schedule_conference("PHP18", "ConFoo 2018", date(2018, 3, 7))
        app.close()
        assert len(load_events(path)) == 1, name
    written = {p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))}
    assert written == set(NAMES)


def test_the_uri_names_the_file() -> None:
    assert sqlite_uri("/data/a#b?.sqlite") == "file:///data/a%23b%3F.sqlite?mode=ro"
    assert sqlite_uri("/data/100%.db", immutable=True) == (
        "file:///data/100%25.db?mode=ro&immutable=1"
    )
