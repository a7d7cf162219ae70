"""A CRUD editor: pick a row, edit its fields, save. A thin view over :class:`CrudTable`.

>>> from workbench.crud import CrudTable
>>> table = CrudTable("purchases", key="reference")
>>> table.load([{"reference": "A-1", "status": "paid", "tickets": 2}])
>>> editor = CrudEditor(table)
>>> editor.inputs["tickets"].value = "1"
>>> editor.save_button.click()
>>> editor.last_change.changes
{'tickets': [2, 1]}
"""

from __future__ import annotations

import html
import json
from typing import Any

import ipywidgets as widgets

from workbench.commands import InvalidInput
from workbench.crud import CrudChange, CrudTable

__all__ = ["CrudEditor"]

_STYLE = {"description_width": "140px"}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class CrudEditor(widgets.VBox):  # type: ignore[misc]
    """The table, a form for the chosen row, Save, and the generic history it makes."""

    def __init__(self, table: CrudTable) -> None:
        self.table = table
        self.last_change: CrudChange | None = None
        self.picker = widgets.Dropdown(description="Row", style=_STYLE)
        self.inputs: dict[str, widgets.Text] = {}
        self.errors: dict[str, widgets.HTML] = {}
        fields: list[widgets.Widget] = []
        for column in table.columns:
            text = widgets.Text(description=column, style=_STYLE, disabled=column == table.key)
            message = widgets.HTML()
            self.inputs[column] = text
            self.errors[column] = message
            fields.append(widgets.VBox([text, message]))
        self.save_button = widgets.Button(description="Save", button_style="primary")
        self.save_button.on_click(lambda _: self.save())
        self.message = widgets.HTML()
        self.grid = widgets.HTML()
        self.history = widgets.HTML()
        self.picker.observe(lambda _: self._fill(), names="value")
        super().__init__(
            [
                widgets.HTML(f"<h4>{html.escape(table.table)} — edit and save</h4>"),
                self.grid,
                self.picker,
                *fields,
                self.save_button,
                self.message,
                widgets.HTML("<b>What the store remembers</b>"),
                self.history,
            ]
        )
        self.refresh()

    def refresh(self) -> None:
        """Redraw the table, the row choices and the history."""
        keys = self.table.keys()
        current = self.picker.value
        self.picker.options = keys
        if current in keys:
            self.picker.value = current
        elif keys:
            self.picker.value = keys[0]
        self.grid.value = self._grid_html()
        self.history.value = self._history_html()
        self._fill()

    def _fill(self) -> None:
        key = self.picker.value
        if key is None:
            return
        values = self.table.row(key)
        for column, text in self.inputs.items():
            text.value = _text(values.get(column))
            self.errors[column].value = ""

    def save(self) -> CrudChange | None:
        """Save what is in the inputs to the chosen row; show what was recorded."""
        key = self.picker.value
        if key is None:
            self.message.value = "Pick a row first."
            return None
        values = {c: t.value for c, t in self.inputs.items() if c != self.table.key}
        for message in self.errors.values():
            message.value = ""
        try:
            change = self.table.save(key, values)
        except InvalidInput as e:
            for column, error in e.errors.items():
                if column in self.errors:
                    self.errors[
                        column
                    ].value = f"<span style='color:#b00020'>⚠ {html.escape(error)}</span>"
            self.message.value = (
                "<span style='color:#b00020'>Not saved: fix the fields marked ⚠.</span>"
            )
            return None
        self.last_change = change
        if change.changes:
            self.message.value = (
                f"Saved: <code>Row.Updated {html.escape(json.dumps(change.changes, default=str))}"
                "</code>"
            )
        else:
            self.message.value = "Nothing changed, nothing recorded."
        self.grid.value = self._grid_html()
        self.history.value = self._history_html()
        return change

    def _grid_html(self) -> str:
        columns = self.table.columns
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_text(r.get(c)))}</td>" for c in columns) + "</tr>"
            for r in self.table.rows()[:50]
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def _history_html(self) -> str:
        rows = "".join(
            f"<tr><td>{h['position']}</td><td>{html.escape(str(h['row']))}</td>"
            f"<td>{html.escape(h['event'])}</td>"
            f"<td><code>{html.escape(json.dumps(h['changes'], default=str))}</code></td></tr>"
            for h in reversed(self.table.history()[-20:])
        )
        return (
            "<table><thead><tr><th>position</th><th>row</th><th>event</th><th>changes</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )
