from datetime import UTC, datetime, timedelta

import pytest

from workbench.clock import ManualClock, SystemClock, current_clock, now, use_clock

T0 = datetime(2018, 3, 7, 9, 0, tzinfo=UTC)


def test_system_clock_is_the_default_and_timezone_aware() -> None:
    assert isinstance(current_clock(), SystemClock)
    assert now().tzinfo is not None
    assert abs(now() - datetime.now(tz=UTC)) < timedelta(seconds=5)


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(T0)
    assert clock.now() == T0
    assert clock.advance(minutes=31) == T0 + timedelta(minutes=31)
    clock.set(T0 + timedelta(days=1))
    assert clock.now() == T0 + timedelta(days=1)


def test_manual_clock_never_goes_back() -> None:
    clock = ManualClock(T0)
    with pytest.raises(ValueError, match="time only moves forward"):
        clock.set(T0 - timedelta(seconds=1))
    with pytest.raises(ValueError, match="negative"):
        clock.advance(timedelta(minutes=-1))
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2018, 1, 1))


def test_use_clock_is_scoped_and_nests() -> None:
    outer, inner = ManualClock(T0), ManualClock(T0 + timedelta(days=1))
    with use_clock(outer):
        assert now() == T0
        with use_clock(inner):
            assert now() == T0 + timedelta(days=1)
        assert now() == T0
    assert isinstance(current_clock(), SystemClock)


def test_events_take_their_timestamp_from_the_clock() -> None:
    from datetime import date

    from workbench.examples.ticketing import Ticketing

    app = Ticketing()
    clock = ManualClock(T0)
    with use_clock(clock):
        conference_id = app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
        clock.advance(minutes=10)
        app.create_discount_code(conference_id, "COMMUNITY", 10)
    recorded = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(conference_id)]
    assert [e.timestamp for e in recorded] == [T0, T0 + timedelta(minutes=10)]
