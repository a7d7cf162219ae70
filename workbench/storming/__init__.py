"""An event-storming board drawn from code: commands, aggregates, events, policies, read models.

The board is read from an application's code, not typed in: its commands (as the
command panel finds them), the aggregates they touch and the events those aggregates
record, the policies of process applications and process managers, and the read
models projections build from events. Any eventsourcing application, or a
``System`` of them, works; nothing here knows the teaching domain.

>>> from workbench.examples.ticketing import Ticketing
>>> board = storming_board(Ticketing)
>>> ("reserve_tickets", "TicketPurchase.Started") in board.command_events()
True

In a notebook the board shows itself as a timeline, drawn in Python as SVG:
command → aggregate → event → policy → next command, left to right, one swimlane
per application. ``board.save("board.png")`` writes it for a handout, offline.

=====================  =================================================
module                 what it does
=====================  =================================================
``board``              the stickies and links as data (:class:`Board`)
``discovery``          reading the code (every aggregate and event style)
``layout``             the timeline: where each sticky goes, label wrapping
``drawing``            SVG and PNG from a layout
``activity``           storming a scenario yourself, compared with the code
=====================  =================================================
"""

from workbench.storming.activity import Comparison, StormingActivity, scenario_timeline
from workbench.storming.board import COLOURS, Board, Link, Sticky
from workbench.storming.discovery import storming_board

__all__ = [
    "COLOURS",
    "Board",
    "Comparison",
    "Link",
    "Sticky",
    "StormingActivity",
    "scenario_timeline",
    "storming_board",
]
