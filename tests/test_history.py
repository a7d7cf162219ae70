"""The history generator: deterministic, believable; the committed sample is its output."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.examples.history import (
    SAMPLE_EVENTS,
    SAMPLE_SEED,
    SAMPLE_SPONSORSHIP,
    SAMPLE_TICKETING,
    generate_history,
    write_history,
)
from workbench.examples.sponsorship import Sponsorship
from workbench.examples.ticketing import Ticketing
from workbench.reading.records import open_records
from workbench.stores import StoreError, open_app


def rows(source: object) -> list[tuple[str, int, str, bytes]]:
    reader = open_records(source)  # type: ignore[arg-type]
    return [(r.stream_id, r.version, r.topic, r.state) for b in reader.batches() for r in b]


def test_same_seed_same_events_ids_included() -> None:
    first, second = Ticketing(), Ticketing()
    generate_history(first, events=1500, seed=7)
    generate_history(second, events=1500, seed=7)
    assert rows(first) == rows(second)


def test_another_seed_another_history() -> None:
    first, second = Ticketing(), Ticketing()
    generate_history(first, events=1500, seed=7)
    generate_history(second, events=1500, seed=8)
    assert rows(first) != rows(second)


def test_the_committed_sample_is_the_generators_output(tmp_path: Path) -> None:
    ticketing = open_app(Ticketing, tmp_path)
    sponsorship = open_app(Sponsorship, tmp_path)
    generate_history(ticketing, sponsorship, events=SAMPLE_EVENTS, seed=SAMPLE_SEED)
    assert rows(SAMPLE_TICKETING) == rows(tmp_path / "ticketing.sqlite"), (
        "data/sample is stale: regenerate it with `workbench sample`"
    )
    assert rows(SAMPLE_SPONSORSHIP) == rows(tmp_path / "sponsorship.sqlite")


def test_the_history_is_believable() -> None:
    app, crm = Ticketing(), Sponsorship()
    summary = generate_history(app, crm, events=6000, seed=3)
    assert 6000 <= summary.events <= 6010
    assert summary.conferences == 3
    assert 0.08 < summary.timed_out / summary.purchases < 0.25
    assert summary.cancelled_tickets > 0
    assert summary.complimentary_purchases > 0 and summary.sponsorship_events > 0
    assert summary.first_timestamp is not None and summary.last_timestamp is not None
    assert (summary.last_timestamp - summary.first_timestamp).days > 90
    timestamps = [
        app.mapper.to_domain_event(n).timestamp for n in app.recorder.select_notifications(1, 6010)
    ]
    assert timestamps == sorted(timestamps), "positions follow time"
    types = {n.topic.rsplit(".", 1)[1] for n in app.recorder.select_notifications(1, 6010)}
    assert {"TicketSaleEnded", "DiscountCodeCreated", "TimedOut", "TicketCancelled"} <= types


def test_generator_state_matches_the_aggregates() -> None:
    app = Ticketing()
    generate_history(app, events=2000, seed=5)
    for notification in app.recorder.select_notifications(
        1, 2100, topics=["workbench.examples.ticketing.domainmodel:Conference.Scheduled"]
    ):
        conference = app.get_conference(notification.originator_id)
        remaining = app.get_tickets_remaining(conference.id)
        assert all(0 <= n <= conference.capacity[t] for t, n in remaining.items())


def test_refuses_to_mix_into_an_existing_history() -> None:
    app = Ticketing()
    generate_history(app, events=200)
    before = app.recorder.max_notification_id()
    with pytest.raises(ValueError, match="already holds events"):
        generate_history(app, events=200)
    assert app.recorder.max_notification_id() == before


@pytest.mark.parametrize("events", [1, 50, 500, 2000])
def test_small_histories_reach_the_size_asked_for(events: int) -> None:
    app = Ticketing()
    summary = generate_history(app, events=events, seed=1)
    assert events <= summary.events <= events + 8  # opening a conference records 8 at once
    assert app.recorder.max_notification_id() == summary.events


def test_workspace_is_prepared_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import date

    from workbench.examples.history import workspace

    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(tmp_path / "ws"))
    folder = workspace()
    app = open_app(Ticketing, folder)
    app.schedule_conference("MINE", "My own conference", date(2019, 1, 1))
    app.close()
    again = open_app(Ticketing, workspace(), readonly=True)
    assert again.recorder.max_notification_id() == SAMPLE_EVENTS + 1
    assert rows(SAMPLE_TICKETING)[-1] != rows(folder / "ticketing.sqlite")[-1]


def test_without_a_workspace_each_call_is_a_fresh_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.examples.history import workspace

    monkeypatch.delenv("WORKBENCH_WORKSPACE", raising=False)
    first, second = workspace(), workspace()
    assert first != second
    assert rows(first / "ticketing.sqlite") == rows(SAMPLE_TICKETING)


# Writing a store all at once ------------------------------------------------------------


def test_write_history_renames_a_complete_file(tmp_path: Path) -> None:
    store = tmp_path / "h.sqlite"
    (tmp_path / "h.sqlite.partial").write_bytes(b"what a killed run left")
    summary = write_history(store, events=300, seed=2)
    assert summary.sponsorship_events == 0  # a single file holds the ticketing history only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.sqlite"]  # no -wal, no .partial
    assert len(rows(store)) == summary.events


def test_write_history_fills_an_empty_store_and_refuses_one_with_events(tmp_path: Path) -> None:
    store = tmp_path / "h.sqlite"
    open_app(Ticketing, store).close()  # an event store without events
    write_history(store, events=200, seed=2)
    before = rows(store)
    with pytest.raises(ValueError, match="already holds events"):
        write_history(store, events=200, seed=3)
    assert rows(store) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.sqlite"]


def test_write_history_into_a_folder_writes_both_applications(tmp_path: Path) -> None:
    summary = write_history(tmp_path / "a" / "b", events=400, seed=2, folder=True)
    folder = tmp_path / "a" / "b"
    assert sorted(p.name for p in folder.iterdir()) == ["sponsorship.sqlite", "ticketing.sqlite"]
    assert len(rows(folder / "ticketing.sqlite")) == summary.events
    assert len(rows(folder / "sponsorship.sqlite")) == summary.sponsorship_events > 0


def test_write_history_refuses_bad_arguments_before_creating_anything(tmp_path: Path) -> None:
    for events in (-5, 0, 2.5, True):
        with pytest.raises(ValueError, match="events must be a whole number"):
            write_history(tmp_path / "f", events=events, folder=True)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="does not exist"):
        write_history(tmp_path / "missing" / "h.sqlite", events=10)
    assert list(tmp_path.iterdir()) == []
