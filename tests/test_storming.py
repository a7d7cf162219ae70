"""The event-storming board: read from code, laid out as a timeline, drawn offline.

The per-style tests (every aggregate and event style eventsourcing supports, and a
System) are in ``test_storming_styles.py``; these cover the board itself, the teaching
domain's two systems, the timeline layout, whole labels and the exports.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from workbench.commands import command
from workbench.examples.sponsorship import Sponsorship
from workbench.examples.ticketing import Ticketing
from workbench.examples.ticketing.processes import PURCHASE, SPONSOR_TICKETS
from workbench.examples.ticketing.readmodels import (
    PurchaseRecords,
    SalesOverTime,
    TicketsRemaining,
)
from workbench.storming import Board, storming_board
from workbench.storming.drawing import tangles
from workbench.storming.layout import PAD_X, Box, Layout
from workbench.storming.text import text_width, wrap

SVG = {"s": "http://www.w3.org/2000/svg"}


class Kettle(Aggregate):
    @event("Filled")
    def __init__(self, litres: float) -> None:
        self.litres = litres
        self.hot = False

    def boil(self) -> None:
        if not self.hot:
            self._boiled()

    @event("Boiled")
    def _boiled(self) -> None:
        self.hot = True


class Kitchen(Application[object]):
    """An application the workbench has never seen."""

    def fill_kettle(self, litres: float) -> object:
        kettle = Kettle(litres)
        self.save(kettle)
        return kettle.id

    def boil_kettle(self, kettle_id: object) -> None:
        kettle = self.repository.get(kettle_id)  # type: ignore[arg-type]
        kettle.boil()
        self.save(kettle)

    def get_kettle(self, kettle_id: object) -> object:
        return self.repository.get(kettle_id)  # type: ignore[arg-type]

    def kettle_count(self) -> int:
        return 1

    @command
    def descale(self, kettle_id: object) -> None:
        """Marked a command, but nothing in its code records an event."""
        self.repository.get(kettle_id)  # type: ignore[arg-type]


def teaching_board() -> Board:
    """The board of notebook 08: two systems, their process managers and read models."""
    return storming_board(
        Ticketing,
        Sponsorship,
        projections=[TicketsRemaining, PurchaseRecords, SalesOverTime],
        processes=[PURCHASE, SPONSOR_TICKETS],
    )


def only(layout: Layout, kind: str, name: str) -> Box:
    boxes = layout.find(kind, name)
    assert len(boxes) == 1, f"{kind} {name!r} is drawn {len(boxes)} times"
    return boxes[0]


# Reading the code ---------------------------------------------------------------------


def test_commands_lead_to_the_events_they_record() -> None:
    board = storming_board(Ticketing)
    pairs = board.command_events()
    assert ("reserve_tickets", "TicketPurchase.Started") in pairs
    assert ("reserve_tickets", "Conference.TicketsReserved") in pairs
    assert ("time_out", "TicketPurchase.TimedOut") in pairs
    assert ("time_out", "Conference.TicketsReleased") in pairs
    assert ("pay", "TicketPurchase.Paid") in pairs
    assert not any(command == "pay" and "Conference" in e for command, e in pairs)
    assert "get_purchase" not in board.names("command")
    assert ("reserve_tickets", "Conference") in board.pairs("command", "aggregate")


def test_aggregates_and_their_events_without_abstract_bases() -> None:
    board = storming_board(Ticketing)
    assert board.names("aggregate") == {"Conference", "TicketPurchase"}
    events = board.names("event")
    assert {"TicketPurchase.Started", "TicketPurchase.TicketCancelled"} <= events
    assert not any(e.endswith((".Created", ".None")) for e in events)
    assert board.sticky("event", "TicketPurchase.Paid").detail == (
        "fields: payment_reference, amount, delegates"
    )


def test_an_unknown_application_gets_a_board_too() -> None:
    board = storming_board(Kitchen)
    assert board.command_events() == {
        ("fill_kettle", "Kettle.Filled"),
        ("boil_kettle", "Kettle.Boiled"),
    }
    assert board.pairs("aggregate", "event") == {
        ("Kettle", "Kettle.Filled"),
        ("Kettle", "Kettle.Boiled"),
    }


def test_a_command_without_events_is_dashed_and_the_board_says_why() -> None:
    board = storming_board(Kitchen)
    assert "kettle_count" not in board.names("command"), "a query is not a command"
    assert "descale" in board.names("command")
    assert any("descale (drawn dashed)" in note for note in board.notes)
    (box,) = board.layout().find("command", "descale")
    assert box.dashed
    assert 'data-name="descale"' in board.to_svg()


def test_policies_and_read_models_join_the_board_across_systems() -> None:
    board = teaching_board()
    policy_links = board.pairs("policy", "command")
    assert any(
        "InvoiceSettled" in policy and command == "Ticketing.issue_complimentary_tickets"
        for policy, command in policy_links
    ), "the cross-system policy leads from the CRM's event to the box office's command"
    assert (
        "Sponsor.InvoiceSettled",
        "Sponsor tickets: InvoiceSettled → issue free tickets",
    ) in board.pairs("event", "policy")
    feeds = {event for event, model in board.pairs("event", "read model")}
    assert "Conference.TicketsReserved" in feeds
    assert board.sticky("command", "Ticketing.pay").app == "Ticketing"


def test_what_is_not_an_application_is_refused_with_the_forms_it_takes() -> None:
    with pytest.raises(TypeError, match=r"applications .*System.*storming_board\(Ticketing"):
        storming_board(42)
    with pytest.raises(TypeError, match="at least one application"):
        storming_board()
    with pytest.raises(TypeError, match="ProcessDeclaration"):
        storming_board(Ticketing, processes=["Purchase"])


def test_an_application_instance_gives_the_same_board_as_its_class() -> None:
    assert storming_board(Kitchen()).command_events() == storming_board(Kitchen).command_events()


# The timeline --------------------------------------------------------------------------


def test_the_timeline_reads_left_to_right_in_the_order_a_process_runs() -> None:
    layout = teaching_board().layout()
    settle = only(layout, "command", "Sponsorship.settle_invoice")
    settled = only(layout, "event", "Sponsor.InvoiceSettled")
    policy = only(layout, "policy", "Sponsor tickets: InvoiceSettled → issue free tickets")
    issue = only(layout, "command", "Ticketing.issue_complimentary_tickets")
    started = [b for b in layout.find("event", "TicketPurchase.Started") if b.rank == 1]
    assert settle.right < settled.x < settled.right < policy.x < policy.right < issue.x
    assert started and issue.right < started[0].x
    timeout = only(layout, "policy", "Purchase: timeout 'payment' → release tickets")
    time_out = only(layout, "command", "Ticketing.time_out")
    reserve = only(layout, "command", "Ticketing.reserve_tickets")
    assert reserve.right < timeout.x < timeout.right < time_out.x
    for source, target in layout.arrows():
        assert target.x > source.right, f"{source.name} → {target.name} points backwards"


def test_each_application_has_a_lane_upstream_first() -> None:
    layout = teaching_board().layout()
    lanes = {lane.name: lane for lane in layout.lanes}
    assert list(lanes) == ["Sponsorship", "Ticketing", "read models"]
    for box in layout.boxes:
        lane = lanes[box.lane]
        assert lane.top < box.y and box.bottom < lane.bottom, f"{box.name} leaves its lane"
    assert only(layout, "command", "Ticketing.pay").lane == "Ticketing"
    # a process manager's policy sits next to the event it follows
    assert only(layout, "policy", "Sponsor tickets: InvoiceSettled → issue free tickets").lane == (
        "Sponsorship"
    )


def test_each_step_has_its_own_aggregate_so_no_link_runs_across_the_board() -> None:
    layout = teaching_board().layout()
    # the purchase is acted on by five commands: one yellow sticky beside each
    assert len(layout.find("aggregate", "TicketPurchase")) == 5
    for source, target in layout.arrows():
        if source.kind == "command":
            assert abs(source.middle - target.middle) < 80, f"{source.name} → {target.name}"


def test_the_two_system_board_fits_a_notebook_and_nothing_is_tangled() -> None:
    layout = teaching_board().layout()
    assert layout.width <= 1000, "the two-system board must fit a notebook's width"
    assert tangles(layout) == []
    everything = storming_board(Kitchen, Ticketing, Sponsorship, processes=[PURCHASE])
    assert tangles(everything.layout()) == []


def test_every_sticky_is_drawn_and_every_link_is_drawn_once_at_least() -> None:
    board = teaching_board()
    layout = board.layout()
    drawn = {box.key for box in layout.boxes}
    assert drawn == {s.key for s in board.stickies}
    arrows = {(a.key, b.key) for a, b in layout.arrows()}
    missing = [
        (link.source, link.target)
        for link in board.links
        if (link.source, link.target) not in arrows
        and "read model" not in (link.target[0], link.source[0])
        and link.source[0] != "aggregate"  # aggregate → event: drawn per step
    ]
    assert not missing, f"links not drawn: {missing}"


# Labels ------------------------------------------------------------------------------------


def test_labels_are_never_cut() -> None:
    board = teaching_board()
    layout = board.layout()
    for box in layout.boxes:
        shown = "".join(box.lines)
        assert "…" not in shown
        label = box.name.split(".", 1)[-1] if box.kind in ("command", "event") else box.name
        assert re.sub(r"\s", "", shown) == re.sub(r"\s", "", label), box
        for line in box.lines:
            assert text_width(line) <= box.width - 2 * PAD_X + 0.01, (box.name, line)
    purchase = only(layout, "policy", "Purchase: Paid → send confirmation")
    assert purchase.lines == ("Purchase: Paid →", "send confirmation")
    (model,) = layout.find("read model", "tickets_remaining")
    assert "TicketsReserved" in " ".join(model.sub)


def test_wrap_keeps_every_character_and_breaks_where_it_reads() -> None:
    assert wrap("Sponsor tickets: InvoiceSettled → issue free tickets", 130) == (
        "Sponsor tickets:",
        "InvoiceSettled →",
        "issue free tickets",
    )
    assert wrap("create_discount_code", 110) == ("create_discount_", "code")
    lines = wrap("Supercalifragilistic", 40)
    assert "".join(lines) == "Supercalifragilistic" and len(lines) > 1
    assert all(text_width(line) <= 40 for line in lines)
    assert wrap("", 100) == ("",)


# Drawing and exporting -------------------------------------------------------------------------


def test_the_board_is_a_picture_with_every_sticky() -> None:
    board = storming_board(Ticketing, processes=[PURCHASE])
    svg = board._repr_svg_()
    root = ET.fromstring(svg)
    names = {g.get("data-name") for g in root.iterfind(".//s:g[@data-name]", SVG)}
    assert names == board.names("command") | board.names("aggregate") | board.names(
        "event"
    ) | board.names("policy")
    assert "<script" not in svg and "href=" not in svg, "no scripts, nothing to fetch"
    assert re.findall(r"https?://[^\"]+", svg) == ["http://www.w3.org/2000/svg"]
    assert board._repr_html_().count("<svg") == 1
    frame = board.to_frame()
    assert set(frame["kind"]) == {"command", "aggregate", "event", "policy"}
    assert list(frame.columns) == ["kind", "name", "detail", "leads to", "app"]


def test_the_board_exports_to_svg_and_png_offline(tmp_path: Path) -> None:
    board = teaching_board()
    svg = board.save(tmp_path / "board.svg")
    png = board.save(tmp_path / "board.png", scale=1.0)
    assert ET.parse(svg).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    assert abs(width - board.layout().width) <= 1
    with pytest.raises(ValueError, match=r"\.svg or \.png"):
        board.save(tmp_path / "board.jpg")


def test_the_board_says_in_words_what_it_shows() -> None:
    board = storming_board(Kitchen)
    words = "Kitchen: event storming: 3 commands, 1 aggregate, 2 events; lanes: Kitchen"
    root = ET.fromstring(board.to_svg())
    assert root.get("role") == "img"
    assert root[0].tag == "{http://www.w3.org/2000/svg}title" and root[0].text == words
    picture = board.picture()
    assert picture.alt == words and picture._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    assert picture._repr_html_().startswith('<img src="data:image/png;base64,')
    assert picture._repr_html_().endswith(f'alt="{words}">')


def test_a_board_says_what_it_holds() -> None:
    text = repr(storming_board(Kitchen))
    assert text.startswith("<Board 'Kitchen: event storming': 3 commands, 1 aggregate, 2 events")
    assert "note: No event found in the code of descale (drawn dashed)" in text
