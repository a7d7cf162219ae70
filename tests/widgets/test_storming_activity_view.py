"""The storming activity's widget, driven headlessly: type, pick a kind, click."""

from __future__ import annotations

import pytest

from workbench.examples.ticketing import Ticketing
from workbench.exercises import CORRECT, HINT, NOT_YET
from workbench.storming import Board, StormingActivity, storming_board
from workbench.widgets.storming_activity import StormingActivityView


@pytest.fixture(scope="module")
def board() -> Board:
    return storming_board(Ticketing)


@pytest.fixture
def view(board: Board) -> StormingActivityView:
    activity = StormingActivity("A customer buys tickets", commands=["reserve_tickets", "pay"])
    return StormingActivityView(activity, board)


def add(view: StormingActivityView, kind: str, text: str) -> None:
    view.kind.value = kind
    view.text.value = text
    view.add_button.click()


def test_add_puts_a_sticky_on_the_board_and_redraws_it(view: StormingActivityView) -> None:
    assert "Empty: add the first event" in view.view.value
    add(view, "event", "Tickets reserved")
    assert [s.name for s in view.activity.stickies] == ["Tickets reserved"]
    assert 'data-name="Tickets reserved"' in view.view.value
    assert view.text.value == "", "the box is cleared for the next sticky"
    assert view.chosen.options == (("1. event: Tickets reserved", 0),)
    assert "added event 'Tickets reserved'" in view.status.value


def test_compare_shows_the_verdict_and_the_picture(view: StormingActivityView) -> None:
    add(view, "event", "Tickets reserved")
    add(view, "event", "Purchase paid")
    view.compare_button.click()
    assert view.verdict.startswith(f"{NOT_YET} missing: 1 event the code has")
    assert f"\n{HINT} " in view.verdict
    assert "wb-mark-missing" in view.result.value
    assert "Not yet:" in view.result.value
    add(view, "event", "Purchase started")
    assert view.result.value == "" and view.verdict == "", "an edit clears the old comparison"
    view.left_button.click()
    view.left_button.click()  # Started goes first: reserved and started happen together
    view.compare_button.click()
    assert view.verdict.startswith(CORRECT), view.verdict


def test_move_rename_remove_act_on_the_chosen_sticky(view: StormingActivityView) -> None:
    for text in ("Filled", "Boiled", "Poured"):
        add(view, "event", text)
    view.chosen.value = 0
    view.right_button.click()
    assert [s.name for s in view.activity.stickies] == ["Boiled", "Filled", "Poured"]
    assert view.chosen.value == 1, "the moved sticky stays chosen"
    view.text.value = "Kettle filled"
    view.rename_button.click()
    assert view.activity.stickies[1].name == "Kettle filled"
    view.remove_button.click()
    assert [s.name for s in view.activity.stickies] == ["Boiled", "Poured"]
    view.chosen.value = 1
    view.right_button.click()
    assert "'Poured' is already at the right end" in view.status.value


def test_bad_input_is_said_in_the_status_and_loses_nothing(view: StormingActivityView) -> None:
    add(view, "event", "Tickets reserved")
    view.text.value = "   "
    view.add_button.click()
    assert "a sticky needs words" in view.status.value
    assert "#b71c1c" in view.status.value
    assert [s.name for s in view.activity.stickies] == ["Tickets reserved"]
    view.rename_button.click()
    assert "a sticky needs words" in view.status.value
    assert view.activity.stickies[0].name == "Tickets reserved"


def test_every_control_is_named_for_a_screen_reader(view: StormingActivityView) -> None:
    for control in (view.text, view.kind, view.chosen):
        assert control.description, f"{control} has no description"
    for button in (
        view.add_button,
        view.left_button,
        view.right_button,
        view.rename_button,
        view.remove_button,
        view.compare_button,
    ):
        assert button.description.strip(), "a button says what it does"
    assert view.kind.options[0] == "event", "events first: the wall starts with what happened"
    assert 'role="img"' in view.view.value and "aria-label=" in view.view.value


def test_it_shows_only_an_activity() -> None:
    with pytest.raises(TypeError, match="shows a StormingActivity, got str"):
        StormingActivityView("tickets", storming_board(Ticketing))  # type: ignore[arg-type]
