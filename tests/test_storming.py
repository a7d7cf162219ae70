"""The event-storming board is read from code: any application, its commands and events."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from workbench.examples.sponsorship import Sponsorship
from workbench.examples.ticketing import Ticketing
from workbench.examples.ticketing.processes import PURCHASE, SPONSOR_TICKETS
from workbench.examples.ticketing.readmodels import TicketsRemaining
from workbench.storming import storming_board


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


def test_commands_lead_to_the_events_they_record() -> None:
    board = storming_board(Ticketing)
    pairs = board.command_events()
    assert ("reserve_tickets", "TicketPurchase.Started") in pairs
    assert ("reserve_tickets", "Conference.TicketsReserved") in pairs
    assert ("time_out", "TicketPurchase.TimedOut") in pairs
    assert ("time_out", "Conference.TicketsReleased") in pairs
    assert ("pay", "TicketPurchase.Paid") in pairs
    assert not any(command == "pay" and "Conference" in e for command, e in pairs)
    assert "get_purchase" not in {s.name for s in board.of_kind("command")}


def test_aggregates_and_their_events_without_abstract_bases() -> None:
    board = storming_board(Ticketing)
    assert {s.name for s in board.of_kind("aggregate")} == {"Conference", "TicketPurchase"}
    events = {s.name for s in board.of_kind("event")}
    assert {"TicketPurchase.Started", "TicketPurchase.TicketCancelled"} <= events


def test_an_unknown_application_gets_a_board_too() -> None:
    board = storming_board(Kitchen)
    assert board.command_events() == {
        ("fill_kettle", "Kettle.Filled"),
        ("boil_kettle", "Kettle.Boiled"),
    }


def test_policies_and_read_models_join_the_board_across_systems() -> None:
    board = storming_board(
        Ticketing,
        Sponsorship,
        projections=[TicketsRemaining],
        processes=[PURCHASE, SPONSOR_TICKETS],
    )
    policy_links = {
        (link.source[1], link.target[1]) for link in board.links if link.source[0] == "policy"
    }
    assert any(
        "InvoiceSettled" in policy and command == "Ticketing.issue_complimentary_tickets"
        for policy, command in policy_links
    ), "the cross-system policy leads from the CRM's event to the box office's command"
    feeds = {
        link.source[1]
        for link in board.links
        if link.target == ("read model", TicketsRemaining.name)
    }
    assert "Conference.TicketsReserved" in feeds


def test_the_board_is_a_picture_with_every_sticky() -> None:
    board = storming_board(Ticketing, processes=[PURCHASE])
    svg = board._repr_svg_()
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    rects = root.findall(".//s:g/s:rect", ns)
    assert len(rects) == len(board.stickies)
    frame = board.to_frame()
    assert set(frame["kind"]) == {"command", "aggregate", "event", "policy"}
