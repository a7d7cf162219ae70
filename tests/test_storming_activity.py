"""Event storming as an activity: an attendee's board for a scenario, compared with the code.

The code here is an application written only in this test (a kitchen: a kettle is
filled, boiled, and a policy pours tea when it has boiled), so the comparison is
checked on code the workbench has never seen; one test uses the teaching domain's
two systems, as notebook 08 does.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from workbench.exercises import CORRECT, HINT, NOT_YET
from workbench.processes import Action, ProcessDeclaration, Transition
from workbench.storming import Board, StormingActivity, scenario_timeline, storming_board
from workbench.storming.activity import normalise

SVG = {"s": "http://www.w3.org/2000/svg"}


class Kettle(Aggregate):
    @event("Filled")
    def __init__(self, litres: float) -> None:
        self.litres = litres
        self.hot = False

    def boil(self) -> None:
        self._boiled()

    @event("Boiled")
    def _boiled(self) -> None:
        self.hot = True

    def pour(self, cups: int) -> None:
        self._poured(cups=cups)

    @event("TeaPoured")
    def _poured(self, cups: int) -> None:
        self.litres -= cups * 0.25


class Kitchen(Application[UUID]):
    def fill_kettle(self, litres: float) -> UUID:
        kettle = Kettle(litres)
        self.save(kettle)
        return kettle.id

    def boil_kettle(self, kettle_id: UUID) -> None:
        kettle: Kettle = self.repository.get(kettle_id)
        kettle.boil()
        self.save(kettle)

    def pour_tea(self, kettle_id: UUID, cups: int) -> None:
        kettle: Kettle = self.repository.get(kettle_id)
        kettle.pour(cups)
        self.save(kettle)


TEA = ProcessDeclaration(
    name="Tea",
    states=("cold", "boiled", "served"),
    initial="cold",
    transitions=(
        Transition("cold", "Kettle.Boiled", "boiled", actions=("pour tea",)),
        Transition("boiled", "Kettle.TeaPoured", "served"),
    ),
    actions=(Action("pour tea", "command", "Kitchen.pour_tea(kettle, cups=2)"),),
)


@pytest.fixture(scope="module")
def board() -> Board:
    return storming_board(Kitchen, processes=[TEA])


def tea(*stickies: tuple[str, str]) -> StormingActivity:
    activity = StormingActivity("Making tea", commands=["fill_kettle", "boil_kettle", "pour_tea"])
    for kind, text in stickies:
        activity.add(kind, text)
    return activity


RIGHT_EVENTS = (("event", "Filled"), ("event", "Boiled"), ("event", "Tea poured"))


def test_the_scenario_comes_from_the_code_in_order(board: Board) -> None:
    timeline = scenario_timeline(board, ["fill_kettle", "boil_kettle", "pour_tea"])
    names = [(e.sticky.kind, e.sticky.name) for e in timeline]
    policy = next(s.name for s in board.of_kind("policy"))
    assert names == [
        ("command", "fill_kettle"),
        ("aggregate", "Kettle"),
        ("event", "Kettle.Filled"),
        ("command", "boil_kettle"),
        ("aggregate", "Kettle"),
        ("event", "Kettle.Boiled"),
        ("policy", policy),
        ("command", "pour_tea"),
        ("aggregate", "Kettle"),
        ("event", "Kettle.TeaPoured"),
    ]
    with pytest.raises(KeyError, match="no command 'brew'.*fill_kettle, boil_kettle, pour_tea"):
        scenario_timeline(board, ["brew"])


def test_the_right_events_in_order_are_correct(board: Board) -> None:
    result = tea(*RIGHT_EVENTS).compare(board)
    assert result.correct
    assert result.kinds == ("event",), "an events-only board is judged on its events"
    assert result.verdict().startswith(f"{CORRECT} your board tells the code's story: 3")
    assert not result.near_misses


def test_a_missing_event_is_named_by_where_it_goes_not_given_away(board: Board) -> None:
    result = tea(("event", "Filled"), ("event", "Tea poured")).compare(board)
    assert result.missing_names() == ["Kettle.Boiled"]
    text = result.verdict()
    assert text.startswith(f"{NOT_YET} missing: 1 event the code has (the first after 'Filled')")
    assert f"\n{HINT} think of what happens after 'Filled'" in text
    assert "Boiled" not in text, "the hint says where, not the answer"


def test_an_extra_event_is_named(board: Board) -> None:
    result = tea(*RIGHT_EVENTS, ("event", "Biscuit dunked")).compare(board)
    assert result.extra_names() == ["Biscuit dunked"]
    assert not result.missing
    assert "not in the code: event 'Biscuit dunked'" in result.verdict()


def test_out_of_order_says_what_comes_first(board: Board) -> None:
    result = tea(("event", "Boiled"), ("event", "Filled"), ("event", "Tea poured")).compare(board)
    assert not result.missing and not result.extra
    # Either one moved puts it right; the check names one, and what it comes before.
    assert len(result.out_of_order) == 1
    assert "'Filled' comes before 'Boiled' in the code" in result.verdict()
    assert "move a sticky" in result.verdict()


@pytest.mark.parametrize(
    "spelled",
    ["Tea pours", "tea_poured", "Kettle tea poured", "Tea pored", "Poured", "TEA POURED!"],
)
def test_spelled_differently_is_found_and_the_hint_says_the_codes_name(
    board: Board, spelled: str
) -> None:
    result = tea(("event", "Filled"), ("event", "Boiled"), ("event", spelled)).compare(board)
    assert result.correct, result.verdict()
    # case, spacing and the aggregate's name in front never matter
    exact = spelled in ("tea_poured", "TEA POURED!", "Kettle tea poured")
    assert [m.code_name for m in result.near_misses] == ([] if exact else ["TeaPoured"])
    if not exact:
        assert f"The code spells {spelled!r} as TeaPoured." in result.verdict()


def test_near_misses_do_not_take_another_events_place(board: Board) -> None:
    # "Kettle filled" must not be taken for Boiled (its aggregate's name is in both).
    result = tea(("event", "Kettle filled"), ("event", "Kettle boiled")).compare(board)
    assert [(m.yours.name, m.code_name) for m in result.matched] == [
        ("Kettle filled", "Filled"),
        ("Kettle boiled", "Boiled"),
    ]
    assert result.missing_names() == ["Kettle.TeaPoured"]


def test_commands_and_policies_are_judged_once_on_the_board(board: Board) -> None:
    activity = tea(
        ("command", "fill kettle"),
        ("event", "Filled"),
        ("command", "Boil kettle"),
        ("event", "Boiled"),
        ("policy", "whenever it has boiled, pour tea"),
        ("event", "Tea poured"),
    )
    result = activity.compare(board)
    assert result.kinds == ("command", "event", "policy")
    assert result.missing_names() == ["pour_tea"]
    activity.add("command", "pour tea", at=5)
    assert activity.compare(board).correct, activity.compare(board).verdict()


def test_an_event_written_as_a_command_is_the_wrong_kind(board: Board) -> None:
    result = tea(("event", "Filled"), ("event", "Boiled"), ("command", "tea poured")).compare(
        board, kinds=["event", "command"]
    )
    assert [(s.name, e.sticky.kind) for _, s, e in result.wrong_kind] == [("tea poured", "event")]
    assert "'tea poured' is an event in the code, not a command" in result.verdict()


def test_an_empty_board_is_not_yet_with_where_to_start(board: Board) -> None:
    result = tea().compare(board)
    assert not result.correct
    text = result.verdict()
    assert text.startswith(f"{NOT_YET} your board is empty")
    assert 'activity.add("event", "...")' in text


def test_add_move_rename_remove_edit_the_timeline() -> None:
    activity = tea(("event", "Filled"), ("event", "Tea poured"))
    activity.add("event", "Boiled", at=1)
    assert [s.name for s in activity.stickies] == ["Filled", "Boiled", "Tea poured"]
    activity.move("tea poured", 0)
    assert [s.name for s in activity.stickies] == ["Tea poured", "Filled", "Boiled"]
    activity.move(0, -1)
    assert [s.name for s in activity.stickies] == ["Filled", "Boiled", "Tea poured"]
    renamed = activity.rename(1, "  Water   boiled ")
    assert (renamed.kind, renamed.name) == ("event", "Water boiled")
    removed = activity.remove("Filled")
    assert removed.name == "Filled"
    assert [s.name for s in activity.stickies] == ["Water boiled", "Tea poured"]


def test_bad_input_says_what_to_do_and_loses_nothing() -> None:
    activity = tea(*RIGHT_EVENTS)
    before = list(activity.stickies)
    with pytest.raises(ValueError, match=r"unknown kind of sticky 'evnt': use one of command, "):
        activity.add("evnt", "Filled")
    with pytest.raises(ValueError, match=r"a sticky needs words: say what the event is"):
        activity.add("event", "   ")
    with pytest.raises(ValueError, match="a sticky needs words"):
        activity.rename(0, "")
    with pytest.raises(IndexError, match="no position 7 on a board of 3 stickies: positions go"):
        activity.move(0, 7)
    with pytest.raises(KeyError, match="no sticky 'Brewed' on the board; its stickies: 'Filled'"):
        activity.remove("Brewed")
    with pytest.raises(TypeError, match=r"activity.compare\(storming_board"):
        activity.compare("Kitchen")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="names no commands"):
        StormingActivity("Making tea").compare(storming_board(Kitchen))
    assert activity.stickies == before
    assert activity.add("Read-Model", "Kettles in use").kind == "read model"


def test_normalise_ignores_case_spacing_plural_and_tense() -> None:
    assert normalise("TicketsReserved") == normalise("ticket reserve") == ("ticket", "reserv")
    assert normalise("Paid") == normalise("pays") == ("pai",)
    assert normalise("Cancelled") == normalise("canceled") == normalise("cancel")


def test_the_board_draws_itself_as_a_timeline_with_a_text_alternative(board: Board) -> None:
    activity = tea(*RIGHT_EVENTS, ("policy", "whenever it has boiled, pour tea"))
    svg = ET.fromstring(activity.to_svg())
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == (
        "Making tea: event Filled, event Boiled, event Tea poured, "
        "policy whenever it has boiled, pour tea"
    )
    assert svg.find("s:title", SVG) is not None
    layout = activity.layout()
    xs = [b.x for b in layout.boxes]
    assert xs == sorted(xs), "left to right in the order of the timeline"
    assert [b.kind for b in layout.boxes] == ["event", "event", "event", "policy"]
    stickies = svg.findall(".//s:g[@class='wb-sticky wb-event']", SVG)
    assert [g.get("data-name") for g in stickies] == ["Filled", "Boiled", "Tea poured"]


def test_a_long_timeline_wraps_onto_rows_that_fit_a_notebook() -> None:
    activity = tea(*[("event", f"Something number {n} happened") for n in range(12)])
    layout = activity.layout()
    assert layout.width <= 900
    assert max(b.right for b in layout.boxes) <= 900
    assert len({b.y for b in layout.boxes}) > 1


def test_the_comparison_picture_marks_missing_and_extra(board: Board) -> None:
    result = tea(("event", "Filled"), ("event", "Tea pours"), ("event", "Biscuit dunked")).compare(
        board
    )
    svg = ET.fromstring(result.to_svg())
    marks = {(g.get("class"), g.get("data-name")) for g in svg.findall(".//s:g[@data-name]", SVG)}
    assert ("wb-mark wb-mark-missing", "Boiled") in marks
    assert ("wb-mark wb-mark-extra", "Biscuit dunked") in marks
    assert ("wb-mark wb-mark-spelled", "Tea pours") in marks
    lanes = [g.get("data-lane") for g in svg.findall(".//s:g[@class='wb-lane']", SVG)]
    assert lanes == ["Your board", "From the code"]
    assert (svg.get("aria-label") or "").startswith(
        "Making tea: your board and the board from code. Not yet: missing: 1 event"
    )
    assert '<pre class="wb-verdict">Not yet:' in result._repr_html_()


def test_the_teaching_domain_scenario_of_notebook_08() -> None:
    from workbench.examples.sponsorship import Sponsorship
    from workbench.examples.ticketing import Ticketing
    from workbench.examples.ticketing.processes import PURCHASE, SPONSOR_TICKETS

    code = storming_board(Ticketing, Sponsorship, processes=[PURCHASE, SPONSOR_TICKETS])
    activity = StormingActivity(
        "A sponsor signs, pays and gets free tickets",
        commands=[
            "sign_contract",
            "raise_invoice",
            "settle_invoice",
            "issue_complimentary_tickets",
        ],
    )
    for text in ["Contract signed", "Invoice raised", "Invoice settled", "Tickets reserved"]:
        activity.add("event", text)
    for text in ["Purchase started", "Purchase paid"]:
        activity.add("event", text)
    result = activity.compare(code)
    assert result.correct, result.verdict()
    assert {m.code_name for m in result.near_misses} == {"Started", "Paid"}
    # The purchase's timeout policy follows Started too, but starts a command of another
    # scenario: it is not on this one's timeline.
    names = [e.sticky.name for e in activity.timeline(code)]
    assert "Purchase: timeout 'payment' → release tickets" not in names
    assert "Sponsor tickets: InvoiceSettled → issue free tickets" in names


def test_aggregates_and_read_models_are_compared_as_sets() -> None:
    from workbench.projections import Projection, handles

    class KettlesInUse(Projection):
        @handles("Kettle.Filled")
        def filled(self, event: object, model: dict[str, object]) -> None:
            pass

    code = storming_board(Kitchen, processes=[TEA], projections=[KettlesInUse])
    activity = tea(
        ("aggregate", "Kettle"),
        ("event", "Filled"),
        ("aggregate", "Kettle"),  # the same aggregate again, for the next step: fine
        ("event", "Boiled"),
        ("event", "Tea poured"),
        ("read model", "Kettles in use"),
    )
    result = activity.compare(code)
    assert result.kinds == ("aggregate", "event", "read model")
    assert result.correct, result.verdict()
    activity.remove("Kettles in use")
    assert activity.compare(code).kinds == ("aggregate", "event"), "only the kinds on the board"
    missing = activity.compare(code, kinds=["event", "read model"]).missing
    assert [e.sticky.kind for e in missing] == ["read model"]
