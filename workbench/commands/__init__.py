"""Task-based commands, discovered from any eventsourcing application.

A *command* is a public method of an application that changes state: "reserve
tickets", "pay", "cancel ticket". :class:`CommandSet` finds them (by what each
method does: does it reach ``save`` or record an event?), reads their
signatures (string annotations, names imported only for type checking,
defaults, keyword-only parameters, value objects, no annotations at all), turns
user input into the right types with a message per field, runs the command and
reports exactly which events it recorded.

==========================================  ==============================================
module                                      what it holds
==========================================  ==============================================
:mod:`workbench.commands.fields`            :class:`Field`: one input per parameter, and
                                            how input becomes the parameter's type
:mod:`workbench.commands.parameters`        which input a parameter's annotation asks for
                                            (:func:`field_for`)
:mod:`workbench.commands.discovery`         which methods are commands (:func:`decide`),
                                            :class:`Command`, :func:`command` marks
:mod:`workbench.commands.results`           :class:`CommandResult`, its outcomes, and
                                            :class:`RecordedEvent`
:mod:`workbench.commands.streams`           the existing streams an id input offers
:mod:`workbench.commands.command_set`       :class:`CommandSet`: submit, and what happened
==========================================  ==============================================

>>> from datetime import date
>>> from workbench.examples.ticketing import Ticketing
>>> from workbench.stores import open_app
>>> commands = CommandSet(open_app(Ticketing))
>>> [f.kind for f in commands["schedule_conference"].fields]
['text', 'text', 'date']
>>> result = commands.submit(
...     "schedule_conference", code="PHP18", name="ConFoo 2018", starts_on="2018-03-07"
... )
>>> result.outcome, [e.type_name for e in result.events]
('recorded', ['Conference.Scheduled'])
>>> commands.submit("schedule_conference", code="PHP18", name="x", starts_on="nope").errors
{'starts_on': "'nope' is not a date: write it as YYYY-MM-DD, e.g. 2018-03-07"}
>>> commands.submit("schedule_conference", code="PHP18", name="x", starts_on="2018-03-07").message
"TicketingError: a conference with code 'PHP18' is already scheduled"

An application author can say what is and is not a command::

    class Shop(Application):
        @command
        def open_basket_later(self, customer: str) -> UUID: ...   # listed, whatever it does

        @not_a_command
        def rebuild_cache(self) -> None: ...                       # left out
"""

from __future__ import annotations

from workbench.commands.command_set import CommandSet
from workbench.commands.discovery import (
    QUERY_PREFIXES,
    Command,
    Decision,
    command,
    decide,
    discover_commands,
    discover_queries,
    not_a_command,
)
from workbench.commands.fields import Field, FieldKind, InvalidInput
from workbench.commands.parameters import field_for
from workbench.commands.results import CommandResult, RecordedEvent, decode_payload
from workbench.commands.streams import StreamChoice

__all__ = [
    "QUERY_PREFIXES",
    "Command",
    "CommandResult",
    "CommandSet",
    "Decision",
    "Field",
    "FieldKind",
    "InvalidInput",
    "RecordedEvent",
    "StreamChoice",
    "command",
    "decide",
    "decode_payload",
    "discover_commands",
    "discover_queries",
    "field_for",
    "not_a_command",
]
