"""Recipes for a history you did not write: on frames built here, and on a library's loans.

The recipes name event types as strings, so the same tests run on an order frame
made up below and on a small application of another domain (``apps.decorated``:
books registered, borrowed and returned), read from its file without its code.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import apps
import pandas as pd
import pytest

from workbench import load_events, recipes, to_svg

PLACED, PAID, ABANDONED, SHIPPED = "Order.Placed", "Order.Paid", "Order.Abandoned", "Order.Shipped"


def frame(rows: list[tuple[str, str, str, str | None]]) -> pd.DataFrame:
    """Events as load_events gives them: (stream, type, time, coupon) in recorded order."""
    return pd.DataFrame(
        {
            "position": range(1, len(rows) + 1),
            "stream_id": [r[0] for r in rows],
            "event_type": pd.Categorical([r[1] for r in rows]),
            "timestamp": pd.to_datetime([r[2] for r in rows], utc=True),
            "coupon": [r[3] for r in rows],
        }
    )


@pytest.fixture
def orders() -> pd.DataFrame:
    return frame(
        [
            ("a", PLACED, "2024-01-01 10:00", "WELCOME"),
            ("b", PLACED, "2024-01-01 11:00", None),
            ("a", PAID, "2024-01-01 10:30", None),
            ("c", PLACED, "2024-01-09 09:00", "WELCOME"),
            ("b", ABANDONED, "2024-01-01 12:00", None),
            ("a", SHIPPED, "2024-01-02 08:00", None),
            ("c", PAID, "2024-01-09 10:00", None),
            ("d", PLACED, "2024-01-10 09:00", None),
            ("x", "Customer.Joined", "2024-01-01 09:00", None),
        ]
    )


def test_overview_counts_events_and_streams_per_type(orders: pd.DataFrame) -> None:
    table = recipes.overview(orders).set_index("event_type")
    assert table.loc[PLACED, "events"] == 4
    assert table.loc[PLACED, "streams"] == 4
    assert table.loc[PAID, "kind"] == "Order"
    assert table.loc["Customer.Joined", "kind"] == "Customer"
    assert table.loc[PAID, "first"] == pd.Timestamp("2024-01-01 10:30", tz="UTC")


def test_streams_per_kind_and_time_span(orders: pd.DataFrame) -> None:
    kinds = recipes.streams_per_kind(orders).set_index("kind")
    assert kinds.to_dict("index") == {
        "Order": {"streams": 4, "events": 8},
        "Customer": {"streams": 1, "events": 1},
    }
    span = recipes.time_span(orders)
    assert span["span"] == pd.Timedelta(days=9)
    assert (span["events"], span["streams"]) == (9, 5)


def test_funnel_counts_streams_per_step_with_branches(orders: pd.DataFrame) -> None:
    table = recipes.funnel(orders, [PLACED, [PAID, ABANDONED], SHIPPED])
    assert table[["step", "event_type", "count"]].values.tolist() == [
        [1, PLACED, 4],
        [2, PAID, 2],
        [2, ABANDONED, 1],
        [3, SHIPPED, 1],
    ]
    assert table["share"].tolist() == [1.0, 0.5, 0.25, 0.25]
    assert table["of_previous"].tolist()[-1] == pytest.approx(1 / 3)


def test_funnel_counts_a_step_only_after_the_step_before() -> None:
    events = frame([("a", PAID, "2024-01-01", None), ("a", PLACED, "2024-01-02", None)])
    assert recipes.funnel(events, [PLACED, PAID])["count"].tolist() == [1, 0]


def test_funnel_names_unknown_event_types(orders: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"Order\.Refunded.*event types are"):
        recipes.funnel(orders, [PLACED, "Order.Refunded"])


def test_durations_pair_each_start_with_its_first_end(orders: pd.DataFrame) -> None:
    table = recipes.durations(orders, PLACED, PAID, by="coupon")
    assert table.stream_id.tolist() == ["a", "c"]
    assert table.duration.tolist() == [timedelta(minutes=30), timedelta(hours=1)]
    assert table.minutes.tolist() == [30.0, 60.0]
    assert table.coupon.tolist() == ["WELCOME", "WELCOME"]


def test_outcomes_say_how_each_stream_ended(orders: pd.DataFrame) -> None:
    table = recipes.outcomes(orders, PLACED, [PAID, ABANDONED], by="coupon")
    assert dict(zip(table.stream_id, table.outcome, strict=True)) == {
        "a": PAID,
        "b": ABANDONED,
        "c": PAID,
        "d": "open",
    }
    plain = orders.astype({"event_type": str})  # event types as plain strings, not categories
    pd.testing.assert_frame_equal(
        recipes.outcomes(plain, PLACED, [PAID, ABANDONED], by="coupon"), table
    )
    counts = recipes.outcome_counts(table, by="coupon").set_index(["coupon", "outcome"])
    assert counts.loc[("WELCOME", PAID), "count"] == 2
    assert counts.loc[("(none)", ABANDONED), "share"] == 0.5


def test_cohorts_group_outcomes_by_week_of_the_start(orders: pd.DataFrame) -> None:
    table = recipes.cohorts(recipes.outcomes(orders, PLACED, [PAID, ABANDONED]), freq="W")
    weeks = table.set_index(["cohort", "outcome"])["count"].to_dict()
    assert weeks == {
        (pd.Timestamp("2024-01-01"), ABANDONED): 1,
        (pd.Timestamp("2024-01-01"), PAID): 1,
        (pd.Timestamp("2024-01-08"), "open"): 1,
        (pd.Timestamp("2024-01-08"), PAID): 1,
    }


def test_charts_get_aggregated_data_and_draw_offline(orders: pd.DataFrame) -> None:
    ends = recipes.outcomes(orders, PLACED, [PAID, ABANDONED], by="coupon")
    charts = [
        recipes.funnel_chart(recipes.funnel(orders, [PLACED, [PAID, ABANDONED]])),
        recipes.durations_chart(recipes.durations(orders, PLACED, PAID, by="coupon"), by="coupon"),
        recipes.outcome_chart(recipes.outcome_counts(ends, "coupon"), "coupon", share=True),
        recipes.cohort_chart(recipes.cohorts(ends)),
    ]
    for chart in charts:
        spec = chart.to_dict()
        (rows,) = spec["datasets"].values()
        assert 0 < len(rows) <= 8  # one row per group, never one per event
        assert to_svg(chart).startswith("<svg")
    (weekly,) = charts[1].to_dict()["datasets"].values()
    assert [r["median_minutes"] for r in weekly] == [30.0, 60.0]


def test_a_frame_without_the_columns_says_which_are_missing() -> None:
    with pytest.raises(ValueError, match=r"missing \['position'\].*load_events"):
        recipes.funnel(pd.DataFrame({"stream_id": [], "event_type": []}), [PLACED])


@pytest.fixture
def loans(tmp_path: Path) -> pd.DataFrame:
    """The library's history, recorded by its code, read back from the file without it."""
    style = apps.STYLES["decorated"]
    handle = apps.start(style, apps.sqlite_env(style, tmp_path))
    try:
        style.scenario(handle)
    finally:
        apps.stop(handle)
    (path,) = tmp_path.glob("*.sqlite")
    return load_events(path)


def test_the_recipes_answer_the_same_questions_in_another_domain(loans: pd.DataFrame) -> None:
    registered, borrowed, returned = "Book.Registered", "Book.Borrowed", "Book.Returned"
    assert recipes.streams_per_kind(loans).values.tolist() == [["Book", 2, 5]]
    assert set(recipes.overview(loans).event_type) == {registered, borrowed, returned}

    steps = recipes.funnel(loans, [registered, borrowed, returned])
    assert steps["count"].tolist() == [2, 2, 1]

    back = recipes.durations(loans, borrowed, returned, by="due")
    assert len(back) == 1 and back.minutes.iloc[0] >= 0
    assert back.due.iloc[0] == pd.Timestamp("2024-03-01 17:00", tz="UTC")

    ends = recipes.outcomes(loans, registered, [returned], by="title")
    assert dict(zip(ends.title, ends.outcome, strict=True)) == {"Dune": returned, "Emma": "open"}
    counts = recipes.outcome_counts(ends, by="title")
    assert counts["share"].tolist() == [1.0, 1.0]
    assert to_svg(recipes.cohort_chart(recipes.cohorts(ends, freq="D"))).startswith("<svg")
