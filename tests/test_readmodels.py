"""The teaching read models agree with the applications, and chart as expected."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pandas as pd
import pytest
from hypothesis import given
from test_projections import SETTINGS, build, commands

from workbench.charts import to_svg
from workbench.charts.projections import (
    auto_chart,
    pipeline_chart,
    remaining_chart,
    sales_chart,
    save,
    spec_with_data,
)
from workbench.examples.sponsorship import Sponsorship
from workbench.examples.sponsorship.readmodels import STAGES, SponsorPipeline, pipeline_frame
from workbench.examples.ticketing.readmodels import (
    PurchaseRecords,
    SalesOverTime,
    TicketsRemaining,
    purchases_frame,
    remaining_frame,
    sales_frame,
)
from workbench.projections import ProjectionRun
from workbench.stores import open_app


@SETTINGS
@given(ops=commands)
def test_ticketing_read_models_agree_with_the_aggregates(ops: list[tuple[int, int, int]]) -> None:
    app = build(ops)
    remaining = ProjectionRun(TicketsRemaining(), app).run().model
    purchases = ProjectionRun(PurchaseRecords(), app).run().model["purchases"]
    sales = ProjectionRun(SalesOverTime(), app).run().model["daily"]

    for conference_id in remaining["conferences"]:
        conference = app.get_conference(UUID(conference_id))
        for ticket_type, left in app.get_tickets_remaining(conference.id).items():
            assert remaining["remaining"][(conference.code, ticket_type)] == left
            assert (
                remaining["capacity"][(conference.code, ticket_type)]
                == (conference.capacity[ticket_type])
            )

    revenue, tickets, cancelled = Decimal("0.00"), 0, 0
    for purchase_id, row in purchases.items():
        purchase = app.get_purchase(UUID(purchase_id))
        assert row["status"] == purchase.status
        assert row["tickets"] == purchase.ticket_count and row["total"] == purchase.total
        assert row["cancelled"] == len(purchase.cancelled)
        if purchase.status == "paid":
            revenue += purchase.total
            tickets += purchase.ticket_count
        cancelled += len(purchase.cancelled)
    assert sum((r["revenue"] for r in sales.rows.values()), Decimal("0.00")) == revenue
    assert sum(r["tickets"] for r in sales.rows.values()) == tickets
    assert sum(r["cancelled"] for r in sales.rows.values()) == cancelled


def sponsorship_history() -> Sponsorship:
    crm = open_app(Sponsorship)
    for i, level in enumerate(["Gold", "Silver", "Bronze", None, "Gold"]):
        sponsor = crm.register_sponsor(f"Company {i}", "PHP18", contact="Ada")
        if level is None:
            continue
        crm.sign_contract(sponsor, level)  # type: ignore[arg-type]
        if i >= 1:
            crm.raise_invoice(sponsor, f"INV-{i}", Decimal("1000.00"))
        if i >= 2:
            crm.settle_invoice(sponsor, f"INV-{i}")
    return crm


def test_sponsor_pipeline_counts_each_stage() -> None:
    crm = sponsorship_history()
    run = ProjectionRun(SponsorPipeline(), crm).run()
    frame = pipeline_frame(run.model)
    assert frame["stage"].tolist() == STAGES
    assert dict(zip(frame["stage"], frame["sponsors"], strict=True)) == {
        "registered": 1,
        "signed": 1,
        "invoiced": 1,
        "settled": 2,
    }
    for sponsor_id, row in run.model["sponsors"].items():
        sponsor = crm.get_sponsor(UUID(sponsor_id))
        assert row["level"] == sponsor.level and row["company"] == sponsor.company


def test_frames_have_the_columns_the_charts_need() -> None:
    app = build([(k % 8, k * 5, k * 3) for k in range(40)])
    remaining = remaining_frame(ProjectionRun(TicketsRemaining(), app).run().model)
    assert (remaining["sold"] + remaining["remaining"] == remaining["capacity"]).all()
    sales = sales_frame(ProjectionRun(SalesOverTime(), app).run().model)
    assert sales["total_revenue"].is_monotonic_increasing
    purchases = purchases_frame(ProjectionRun(PurchaseRecords(), app).run().model)
    assert {"purchase_id", "customer", "status", "total"} <= set(purchases.columns)

    spec = remaining_chart(remaining).to_dict()
    (dataset,) = spec["datasets"].values()
    assert dataset == remaining.to_dict(orient="records")  # the frame is the only data
    assert {"fold": ["sold", "remaining"], "as": ["tickets", "count"]} in spec["transform"]
    sales_spec = sales_chart(sales).to_dict()
    assert [layer["mark"]["type"] for layer in sales_spec["layer"]] == ["bar", "line"]


def test_charts_refuse_data_without_their_columns() -> None:

    with pytest.raises(ValueError, match="missing \\['sold'"):
        remaining_chart(pd.DataFrame({"conference": [], "ticket_type": [], "remaining": []}))
    with pytest.raises(ValueError, match="numeric column"):
        auto_chart(pd.DataFrame({"a": ["x"]}))


def test_spec_with_data_swaps_only_the_data() -> None:

    frame = pd.DataFrame({"stage": ["registered", "signed"], "sponsors": [1, 2]})
    spec = pipeline_chart(frame).to_dict()
    new = spec_with_data(spec, frame.assign(sponsors=[5, 6]))
    assert [r["sponsors"] for r in next(iter(new["datasets"].values()))] == [5, 6]
    assert new["encoding"] == spec["encoding"] and spec is not new


def test_static_export_for_handouts(tmp_path: Path) -> None:

    chart = pipeline_chart(pd.DataFrame({"stage": STAGES, "sponsors": [1, 2, 3, 4]}))
    assert to_svg(chart).lstrip().startswith("<svg")
    png = save(chart, tmp_path / "pipeline.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in save(chart, tmp_path / "pipeline.svg").read_text()


def test_spec_with_data_sends_only_json_values() -> None:
    import json
    from datetime import UTC, datetime

    frame = pd.DataFrame(
        {"key": ["a"], "value": [Decimal("2.50")], "at": [datetime(2018, 1, 1, tzinfo=UTC)]}
    )
    spec = auto_chart(frame).to_dict()
    new = spec_with_data(spec, frame)
    (records,) = new["datasets"].values()
    assert records == [{"key": "a", "value": 2.5, "at": "2018-01-01T00:00:00"}]
    json.dumps(new)
