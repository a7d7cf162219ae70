"""Task-based commands, discovered from any eventsourcing application.

A *command* is a public method of an application that changes state: "reserve
tickets", "pay", "cancel ticket". :class:`CommandSet` finds them, reads their
signatures (string annotations, names imported only for type checking,
defaults, keyword-only parameters, no annotations at all), turns user input
into the right types with a message per field, runs the command and reports
exactly which events it recorded, read back from the application's
notification log.

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

An application author can say what is and is not a command::

    class Shop(Application):
        @command
        def get_or_open_basket(self, customer: str) -> UUID: ...   # listed after all

        @not_a_command
        def rebuild_cache(self) -> None: ...                       # left out
"""

from __future__ import annotations

from workbench.commands.command_set import CommandSet
from workbench.commands.discovery import (
    QUERY_PREFIXES,
    Command,
    command,
    discover_commands,
    not_a_command,
)
from workbench.commands.fields import Field, FieldKind, InvalidInput, field_for
from workbench.commands.results import CommandResult, RecordedEvent, decode_payload
from workbench.commands.streams import StreamChoice

__all__ = [
    "QUERY_PREFIXES",
    "Command",
    "CommandResult",
    "CommandSet",
    "Field",
    "FieldKind",
    "InvalidInput",
    "RecordedEvent",
    "StreamChoice",
    "command",
    "decode_payload",
    "discover_commands",
    "field_for",
    "not_a_command",
]
