"""Storming a scenario by hand: a thin view over :class:`~workbench.storming.StormingActivity`.

Type what happened, pick the kind of sticky, click *Add*: the sticky goes on the
timeline and the board is drawn again. Pick a sticky to move it left or right, give
it the text in the box (*Rename*), or *Remove* it. *Compare with the code* shows your
timeline above the code's, what is missing or extra marked, and the verdict.

Every control has a name a screen reader reads (its ``description``, or the
button's text), and all are reachable with Tab.

>>> from workbench.examples.ticketing import Ticketing
>>> from workbench.storming import StormingActivity, storming_board
>>> view = StormingActivityView(
...     StormingActivity("A customer pays", commands=["pay"]), storming_board(Ticketing)
... )
>>> view.text.value = "Purchase paid"
>>> view.add_button.click()
>>> view.compare_button.click()
>>> view.verdict.splitlines()[0]
"Correct: your board tells the code's story: 1 sticky (event), in order. The code spells \
'Purchase paid' as Paid."
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets

from workbench.storming import Board, StormingActivity
from workbench.storming.board import KINDS, Sticky

__all__ = ["StormingActivityView"]

_BUTTON = widgets.Layout(width="auto")
_NAMED = {"description_width": "initial"}
"""The whole name shows beside its control (not cut to "On the bo...")."""
_KIND_ORDER = ("event", *(k for k in KINDS if k != "event"))
"""Events first: a storming wall starts with what happened."""


class StormingActivityView(widgets.VBox):  # type: ignore[misc]
    """Put stickies on a scenario's timeline, then compare them with ``board`` (from code)."""

    def __init__(self, activity: StormingActivity, board: Board) -> None:
        if not isinstance(activity, StormingActivity):
            raise TypeError(
                f"StormingActivityView shows a StormingActivity, got {type(activity).__name__}"
            )
        self.activity = activity
        self.board = board
        self._selected: int | None = None
        self.verdict = ""
        """The last comparison's verdict ("Correct: ..." or "Not yet: ... Hint: ...")."""
        self.message = ""
        self.text = widgets.Text(
            description="Sticky text",
            placeholder="e.g. Tickets reserved",
            style=_NAMED,
            layout=widgets.Layout(width="340px"),
        )
        self.kind = widgets.Dropdown(
            options=list(_KIND_ORDER),
            value="event",
            description="Kind",
            style=_NAMED,
            layout=widgets.Layout(width="200px"),
        )
        self.add_button = widgets.Button(
            description="Add",
            button_style="primary",
            tooltip="Add the sticky at the end",
            layout=_BUTTON,
        )
        self.chosen = widgets.Dropdown(
            options=[],
            description="On the board",
            style=_NAMED,
            layout=widgets.Layout(width="340px"),
        )
        self.left_button = widgets.Button(description="◀ Move left", layout=_BUTTON)
        self.right_button = widgets.Button(description="Move right ▶", layout=_BUTTON)
        self.rename_button = widgets.Button(
            description="Rename to the text", layout=_BUTTON, tooltip="Give it the text above"
        )
        self.remove_button = widgets.Button(description="Remove", layout=_BUTTON)
        self.compare_button = widgets.Button(
            description="Compare with the code", button_style="success", layout=_BUTTON
        )
        self.status = widgets.HTML()
        self.view = widgets.HTML()
        self.result = widgets.HTML()

        self.add_button.on_click(lambda _: self._do(self._on_add))
        self.left_button.on_click(lambda _: self._do(lambda: self._on_move(-1)))
        self.right_button.on_click(lambda _: self._do(lambda: self._on_move(1)))
        self.rename_button.on_click(lambda _: self._do(self._on_rename))
        self.remove_button.on_click(lambda _: self._do(self._on_remove))
        self.compare_button.on_click(lambda _: self._on_compare())
        self.chosen.observe(self._chosen_changed, names="value")

        super().__init__(
            [
                widgets.HBox([self.text, self.kind, self.add_button]),
                widgets.HBox(
                    [
                        self.chosen,
                        self.left_button,
                        self.right_button,
                        self.rename_button,
                        self.remove_button,
                    ]
                ),
                self.status,
                self.view,
                widgets.HBox([self.compare_button]),
                self.result,
            ]
        )
        self.add_class("wb-storming-activity-view")
        self.refresh()

    # Actions (each forwards to the activity) ---------------------------------------------

    def _do(self, action: Callable[[], str]) -> None:
        try:
            self.message = action()
            error = False
        except (ValueError, KeyError, IndexError) as e:
            self.message = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
            error = True
        if not error:  # the board changed: the last comparison is out of date
            self.result.value = ""
            self.verdict = ""
        self.refresh(error=error)

    def _on_add(self) -> str:
        sticky = self.activity.add(self.kind.value, self.text.value)
        self.text.value = ""
        self._select(len(self.activity.stickies) - 1)
        return f"added {sticky.kind} {sticky.name!r} at the end"

    def _position(self) -> int:
        if self.chosen.value is None:
            raise IndexError("pick a sticky on the board first (the list 'On the board')")
        return int(self.chosen.value)

    def _on_move(self, by: int) -> str:
        position = self._position()
        to = position + by
        if not 0 <= to < len(self.activity.stickies):
            side = "left" if by < 0 else "right"
            return f"{self.activity.stickies[position].name!r} is already at the {side} end"
        sticky = self.activity.move(position, to)
        self._select(to)
        return f"moved {sticky.name!r} {'left' if by < 0 else 'right'}"

    def _on_rename(self) -> str:
        position = self._position()
        old = self.activity.stickies[position]
        sticky = self.activity.rename(position, self.text.value)
        self.text.value = ""
        self._select(position)
        return f"renamed {old.name!r} to {sticky.name!r}"

    def _on_remove(self) -> str:
        sticky = self.activity.remove(self._position())
        self._select(None)
        return f"removed {sticky.kind} {sticky.name!r}"

    def _on_compare(self) -> None:
        try:
            comparison = self.activity.compare(self.board)
        except (ValueError, KeyError, TypeError) as e:
            self.message = str(e)
            self.refresh(error=True)
            return
        self.verdict = comparison.verdict()
        self.result.value = comparison._repr_html_()
        self.message = ""
        self.refresh()

    # Drawing -------------------------------------------------------------------------------

    def _select(self, position: int | None) -> None:
        self._selected = position

    def _chosen_changed(self, change: dict[str, object]) -> None:
        new = change["new"]
        self._selected = new if isinstance(new, int) else None

    def refresh(self, error: bool = False) -> None:
        """Redraw the board, the list of stickies and the message."""
        stickies = self.activity.stickies
        selected = self._selected
        if selected is None or selected >= len(stickies):
            selected = len(stickies) - 1 if stickies else None
        self.chosen.options = [(_option(i, s), i) for i, s in enumerate(stickies)]
        self.chosen.value = selected
        self._selected = selected
        self.view.value = self.activity._repr_html_()
        colour = "#b71c1c" if error else "#37474f"
        self.status.value = (
            f'<div class="wb-storming-status" role="status" style="color:{colour}">'
            f"{html.escape(self.message, quote=False)}</div>"
            if self.message
            else ""
        )


def _option(position: int, sticky: Sticky) -> str:
    return f"{position + 1}. {sticky.kind}: {sticky.name}"
