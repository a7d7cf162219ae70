"""The CRUD table: generic Row events, typed edits, and what its history cannot say."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from workbench.commands import InvalidInput
from workbench.crud import CrudTable, rows_from_aggregates
from workbench.examples.ticketing import Ticketing
from workbench.stores import open_app
from workbench.widgets.crud_editor import CrudEditor

ROWS = [
    {"reference": "A", "customer": "Ada", "status": "paid", "tickets": 2,
     "total": Decimal("900.00"), "paid_on": date(2018, 1, 5)},
    {"reference": "B", "customer": "Bob", "status": "awaiting payment", "tickets": 1,
     "total": Decimal("450.00"), "paid_on": None},
]  # fmt: skip


@pytest.fixture
def table() -> CrudTable:
    t = CrudTable("purchases", key="reference")
    t.load(ROWS)
    return t


def positions(t: CrudTable) -> tuple[int, list[dict[str, Any]]]:
    return int(t.app.recorder.max_notification_id() or 0), t.rows()


def test_save_records_only_changed_fields_typed_like_the_column(table: CrudTable) -> None:
    change = table.save(
        "A", {"tickets": "1", "total": "450.00", "customer": "Ada", "status": "paid"}
    )
    assert change.changes == {"tickets": [2, 1], "total": [Decimal("900.00"), Decimal("450.00")]}
    assert table.row("A")["tickets"] == 1
    [last] = table.history("A")[-1:]
    assert last["event"] == "Row.Updated"
    assert last["changes"] == {"tickets": [2, 1], "total": [Decimal("900.00"), Decimal("450.00")]}


def test_nothing_changed_records_nothing(table: CrudTable) -> None:
    before = positions(table)
    assert table.save("A", {"status": "paid"}).position is None
    assert positions(table) == before


@pytest.mark.parametrize(
    ("values", "column", "words"),
    [
        ({"tickets": "two"}, "tickets", "not a whole number"),
        ({"total": "9.9.9"}, "total", "not a decimal number"),
        ({"paid_on": "5/1/2018"}, "paid_on", "YYYY-MM-DD"),
        ({"tickets": ""}, "tickets", "required"),
        ({"colour": "red"}, "colour", "no column"),
        ({"reference": "Z"}, "reference", "cannot change"),
    ],
)
def test_bad_edits_change_nothing(
    table: CrudTable, values: dict[str, str], column: str, words: str
) -> None:
    before = positions(table)
    with pytest.raises(InvalidInput) as caught:
        table.save("A", values)
    assert words in caught.value.errors[column]
    assert positions(table) == before


def test_the_crud_history_cannot_say_why(table: CrudTable) -> None:
    table.save("A", {"status": "released", "tickets": "0"})  # a cancellation
    table.save("B", {"status": "released", "tickets": "0"})  # a timeout
    updates = [h for h in table.history() if h["event"] == "Row.Updated"]
    assert [h["changes"] for h in updates] == [
        {"status": ["paid", "released"], "tickets": [2, 0]},
        {"status": ["awaiting payment", "released"], "tickets": [1, 0]},
    ]
    assert {h["event"] for h in table.history()} == {"Row.Created", "Row.Updated"}


def test_unknown_and_deleted_rows(table: CrudTable) -> None:
    with pytest.raises(KeyError, match="no row 'Q'"):
        table.save("Q", {})
    table.delete("B")
    assert table.keys() == ["A"]
    with pytest.raises(KeyError, match="deleted"):
        table.row("B")


def test_rows_from_any_application() -> None:
    app = open_app(Ticketing)
    conf = app.schedule_conference("PHP18", "ConFoo", date(2018, 3, 7))
    rows = rows_from_aggregates(app, [conf], ["code", "starts_on", "missing"])
    assert rows == [{"code": "PHP18", "starts_on": date(2018, 3, 7), "missing": None}]


def test_editor_fill_save_and_field_errors(table: CrudTable) -> None:
    editor = CrudEditor(table)
    editor.picker.value = "B"
    assert editor.inputs["customer"].value == "Bob"
    assert editor.inputs["reference"].disabled
    editor.inputs["status"].value = "released"
    editor.inputs["tickets"].value = "0"
    editor.save_button.click()
    assert editor.last_change is not None
    assert editor.last_change.changes == {
        "status": ["awaiting payment", "released"],
        "tickets": [1, 0],
    }
    assert "Row.Updated" in editor.message.value
    assert "released" in editor.history.value
    before = positions(table)
    editor.inputs["total"].value = "lots"
    editor.save_button.click()
    assert "not a decimal number" in editor.errors["total"].value
    assert "Not saved" in editor.message.value
    assert positions(table) == before
