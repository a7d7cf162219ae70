"""Read models of the sponsorship CRM, written as a user would write them.

>>> from workbench.projections import ProjectionRun
>>> from workbench.examples.history import SAMPLE_SPONSORSHIP
>>> run = ProjectionRun(SponsorPipeline(), SAMPLE_SPONSORSHIP).run()
>>> pipeline_frame(run.model).columns.tolist()
['stage', 'sponsors', 'value']
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from workbench.projections import EventView, Projection, ReadModel, handles

__all__ = ["STAGES", "SponsorPipeline", "pipeline_frame"]

STAGES = ["registered", "signed", "invoiced", "settled"]
"""The stages of the sponsor pipeline, in order."""


class SponsorPipeline(Projection):
    """Each sponsor's stage: registered, signed, invoiced, settled.

    Table ``sponsors``: sponsor id to company, conference, level, contract
    value, amounts invoiced and settled, and stage.
    """

    name = "sponsor_pipeline"

    @handles("Sponsor.Registered")
    def registered(self, event: EventView, model: ReadModel) -> None:
        model["sponsors"][event.stream_id] = {
            "company": event.company,
            "conference": event.conference_code,
            "level": None,
            "value": Decimal("0.00"),
            "invoiced": Decimal("0.00"),
            "settled": Decimal("0.00"),
            "stage": "registered",
        }

    @handles("Sponsor.ContractSigned")
    def signed(self, event: EventView, model: ReadModel) -> None:
        model["sponsors"].update(
            event.stream_id, level=event.level, value=event.value, stage="signed"
        )

    @handles("Sponsor.InvoiceRaised")
    def invoiced(self, event: EventView, model: ReadModel) -> None:
        sponsors = model["sponsors"]
        row = sponsors[event.stream_id]
        sponsors.update(event.stream_id, invoiced=row["invoiced"] + event.amount, stage="invoiced")

    @handles("Sponsor.InvoiceSettled")
    def settled(self, event: EventView, model: ReadModel) -> None:
        sponsors = model["sponsors"]
        row = sponsors[event.stream_id]
        settled = row["settled"] + event.amount
        stage = "settled" if settled >= row["invoiced"] else "invoiced"
        sponsors.update(event.stream_id, settled=settled, stage=stage)


def pipeline_frame(model: ReadModel) -> pd.DataFrame:
    """Sponsors and contract value per stage, in pipeline order."""
    counts = dict.fromkeys(STAGES, 0)
    values = dict.fromkeys(STAGES, 0.0)
    for row in model["sponsors"].rows.values():
        counts[row["stage"]] += 1
        values[row["stage"]] += float(row["value"])
    return pd.DataFrame(
        {
            "stage": STAGES,
            "sponsors": [counts[s] for s in STAGES],
            "value": [values[s] for s in STAGES],
        }
    )
