"""Building the board: what was given (applications, a System), read into stickies and links.

:func:`storming_board` takes applications (classes or instances), eventsourcing
``System`` objects or runners, and optionally projections and process declarations;
it reads each application's code (:mod:`workbench.storming.code`) and puts on the
board:

- an aggregate sticky per aggregate, linked to an event sticky per event type;
- a command sticky per command (as the command panel finds them), linked to the
  aggregates it acts on (and, in :attr:`Board.recorded_by`, to the events it records);
- a lilac policy per reaction of a process application (linked from the event it
  follows to the events or commands it causes) and per transition of a process
  declaration that emits actions (linked to the commands its actions name);
- a green read model per projection, linked from the events its handlers take.

What it could not find it says, in :attr:`Board.notes`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from eventsourcing.application import Application
from eventsourcing.system import Runner, System

from workbench.code_reading import raw_member
from workbench.reading.decoding import short_name
from workbench.storming.board import Board, Sticky
from workbench.storming.code import AppClass, AppCode, EventRef, PolicyInfo, Reach, event_detail

__all__ = ["applications", "storming_board"]


def applications(objects: Iterable[Any]) -> tuple[list[AppClass], list[tuple[str, str]]]:
    """The application classes behind what was given, and (leader, follower) pairs.

    Takes application classes or instances, eventsourcing ``System`` objects and
    runners (their system).
    """
    classes: list[AppClass] = []
    edges: list[tuple[str, str]] = []
    for obj in objects:
        found, pairs = _application_classes(obj)
        for cls in found:
            if cls not in classes:
                classes.append(cls)
        edges.extend(pair for pair in pairs if pair not in edges)
    return classes, edges


def _application_classes(obj: Any) -> tuple[list[AppClass], list[tuple[str, str]]]:
    if isinstance(obj, Runner):
        obj = obj.system
    if isinstance(obj, System):
        classes = [obj.get_app_cls(name) for name in obj.nodes]
        names = {name: obj.get_app_cls(name).__name__ for name in obj.nodes}
        return classes, [(names[a], names[b]) for a, b in obj.edges]
    if isinstance(obj, type) and issubclass(obj, Application):
        return [obj], []
    if isinstance(obj, Application):
        return [type(obj)], []
    what = f"the module {obj.__name__}" if isinstance(obj, ModuleType) else repr(obj)
    raise TypeError(
        "storming_board() takes eventsourcing applications (classes or instances), "
        f"a System or a runner; got {type(obj).__name__}: {what}. For example "
        "storming_board(Ticketing, Sponsorship) or storming_board(System(pipes=[[Shop, "
        "Warehouse]]))."
    )


def storming_board(
    *apps: Any,
    projections: Iterable[Any] = (),
    processes: Iterable[Any] = (),
) -> Board:
    """Draw the board of one or more applications, or of an eventsourcing ``System``.

    Parameters
    ----------
    apps:
        Application classes or instances, ``System`` objects, or runners. With several
        applications each command is named ``App.command``.
    projections:
        :class:`workbench.projections.Projection` objects or classes: their handlers
        say which events feed which read model.
    processes:
        :class:`workbench.processes.ProcessDeclaration` objects: their transitions say
        which events (or timeouts) lead to which commands.

    Returns
    -------
    Board
        The stickies and links, as data; it shows itself as a picture in a notebook.

    Examples
    --------
    >>> from workbench.examples.ticketing import Ticketing
    >>> board = storming_board(Ticketing)
    >>> ("reserve_tickets", "TicketPurchase.Started") in board.command_events()
    True
    """
    if not apps:
        raise TypeError(
            "storming_board() needs at least one application class, instance or System, "
            "for example storming_board(Ticketing)"
        )
    classes, edges = applications(apps)
    many = len(classes) > 1
    board = Board(title=" + ".join(c.__name__ for c in classes) + ": event storming")
    board.lanes = _lane_order([c.__name__ for c in classes], edges)
    codes = [AppCode(cls) for cls in classes]
    events: dict[str, Sticky] = {}
    for code in codes:
        _add_aggregates(board, code, events)
    silent = [name for code in codes for name in _add_commands(board, code, events, many)]
    if silent:
        board.notes.append(
            f"No event found in the code of {', '.join(silent)} (drawn dashed): the events "
            "are made where the board can't follow (getattr, a lambda, an object built at "
            "run time), or it is a query (@workbench.commands.not_a_command leaves it off)."
        )
    for code in codes:
        for policy in code.policies():
            _add_app_policy(board, policy, events, many)
    for declaration in processes:
        if not hasattr(declaration, "transitions"):
            raise TypeError(
                "processes= takes workbench.processes.ProcessDeclaration objects (with "
                f"transitions and actions); got {type(declaration).__name__}"
            )
        _add_declared_policies(board, declaration, events)
    for projection in projections:
        label = str(getattr(projection, "name", "") or getattr(projection, "__name__", ""))
        r = board.add(Sticky("read model", label or repr(projection)))
        for event_type in getattr(projection, "handlers", {}):
            for e in _matching_events(event_type, events):
                board.link(e, r)
    return board


def _lane_order(names: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """Applications, leaders before their followers (otherwise as given)."""
    ordered: list[str] = []
    pending = list(names)
    while pending:
        for name in pending:
            leaders = [a for a, b in edges if b == name and a in pending and a != name]
            if not leaders:
                break
        else:
            name = pending[0]  # a cycle: keep the given order
        ordered.append(name)
        pending.remove(name)
    return ordered


def _add_aggregates(board: Board, code: AppCode, events: dict[str, Sticky]) -> None:
    """Every aggregate and its events (abstract bases left out)."""
    found = code.aggregates()
    for info in found:
        if isinstance(info.cls, type) and code.is_base(info.cls) and not info.events[1:]:
            continue  # an abstract base (its only event: the Created every aggregate has)
        a = board.add(Sticky("aggregate", info.name, info.detail))
        for ref in info.events:
            event_cls = code.event_class(ref)
            detail = event_detail(event_cls) if event_cls is not None else ""
            e = board.add(Sticky("event", ref.name, detail))
            events[e.name] = e
            board.link(a, e)
    if not found and not code.free_events():
        modules = ", ".join(m.__name__ for m in code.modules)
        board.notes.append(
            f"{code.app.__name__}: no aggregate or event classes found in {modules}; "
            "define them in (or import them into) the application's module"
        )


def _event_sticky(board: Board, ref: EventRef, events: dict[str, Sticky]) -> Sticky:
    if ref.name not in events:
        events[ref.name] = board.add(Sticky("event", ref.name))
        if ref.aggregate:
            board.link(board.add(Sticky("aggregate", ref.aggregate)), events[ref.name])
    return events[ref.name]


def _add_commands(board: Board, code: AppCode, events: dict[str, Sticky], many: bool) -> list[str]:
    """Put the application's commands on the board; returns those that record nothing."""
    from workbench.commands import discover_commands

    app = code.app.__name__
    commands = discover_commands(code.app)
    if not commands:
        board.notes.append(
            f"{app}: no commands found (public methods that save or record events; "
            "@workbench.commands.command marks one that the workbench doesn't see as such)"
        )
    silent: list[str] = []
    for name, command in commands.items():
        label = f"{app}.{name}" if many else name
        c = board.add(Sticky("command", label, command.doc, app=app))
        member = raw_member(code.app, name)
        func = getattr(member, "__func__", member)
        reach = code.reach(func, code.app) if inspect.isfunction(func) else Reach()
        if not reach.events:
            silent.append(name)
        for ref in sorted(reach.events):
            e = _event_sticky(board, ref, events)
            if ref.aggregate:
                board.link(c, board.add(Sticky("aggregate", ref.aggregate)))
            else:
                board.link(c, e)
            board.recorded_by.add((label, e.name))
    return [f"{app}.{name}" if many else name for name in silent]


def _add_app_policy(
    board: Board, policy: PolicyInfo, events: dict[str, Sticky], many: bool
) -> None:
    """A process application's reaction: from the event it follows to what it causes."""
    caused = sorted(policy.reach.events)
    outcome = [ref.name for ref in caused] + sorted(policy.reach.commands)
    name = f"{policy.app}: {policy.follows.name}" + (f" → {', '.join(outcome)}" if outcome else "")
    p = board.add(Sticky("policy", name, policy.detail, app=policy.app))
    board.link(_event_sticky(board, policy.follows, events), p)
    for ref in caused:
        board.link(p, _event_sticky(board, ref, events))
    for command in sorted(policy.reach.commands):
        label = f"{policy.app}.{command}" if many else command
        board.link(p, board.sticky("command", label))


def _add_declared_policies(board: Board, declaration: Any, events: dict[str, Sticky]) -> None:
    """One policy sticky per transition that emits actions; a timeout links from its starters."""
    for transition in declaration.transitions:
        if not transition.actions:
            continue
        if transition.is_timeout:
            trigger = f"timeout '{transition.on.split(':', 1)[-1]}'"
        else:
            trigger = transition.on.rsplit(".", 1)[-1]
        policy = f"{declaration.name}: {trigger} → {', '.join(transition.actions)}"
        p = board.add(Sticky("policy", policy, transition.note))
        if transition.is_timeout:
            timeout_name = transition.on.split(":", 1)[-1]
            starters = [t.on for t in declaration.transitions if timeout_name in t.schedule]
        else:
            starters = [transition.on]
        for event_type in starters:
            for e in _matching_events(event_type, events):
                board.link(e, p)
        for action in declaration.actions:
            if action.name in transition.actions and action.kind == "command":
                for command in _commands_named_in(board, action.description):
                    board.link(p, command)


def _commands_named_in(board: Board, text: str) -> list[Sticky]:
    """The command stickies a line of text names (``"Ticketing.time_out(purchase)"``)."""
    commands = board.of_kind("command")
    qualified = [
        c for c in commands if "." in c.name and re.search(rf"\b{re.escape(c.name)}\b", text)
    ]
    if qualified:
        return qualified
    return [c for c in commands if re.search(rf"\b{re.escape(c.name.rsplit('.', 1)[-1])}\b", text)]


def _matching_events(event_type: str, events: dict[str, Sticky]) -> list[Sticky]:
    short = short_name(event_type)
    return [s for n, s in events.items() if n == short or n.endswith("." + short)]
