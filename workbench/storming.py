"""An event-storming board drawn from code: commands, aggregates, events, policies, read models.

The board is read from an application's code, not typed in: its commands (as
the command panel finds them), the aggregates they touch and the events those
aggregates record, the policies of process managers (event → command) and the
read models projections build from events. Any eventsourcing application
works; nothing here knows the teaching domain.

>>> from workbench.examples.ticketing import Ticketing
>>> board = storming_board(Ticketing)
>>> ("reserve_tickets", "TicketPurchase.Started") in board.command_events()
True

In a notebook the board shows itself as a picture (SVG, drawn in Python).
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import escape
from types import ModuleType
from typing import Any, Literal

import pandas as pd
from eventsourcing.domain import BaseAggregate, CommandMethodDecorator

from workbench.commands import discover_commands
from workbench.reading.decoding import short_name

__all__ = ["Board", "Link", "Sticky", "storming_board"]

Kind = Literal["command", "aggregate", "event", "policy", "read model"]

COLOURS: dict[str, str] = {
    "command": "#a7c7ff",  # blue
    "aggregate": "#fff59d",  # yellow
    "event": "#ffb74d",  # orange
    "policy": "#d1b3ff",  # lilac
    "read model": "#b9f6ca",  # green
}
"""The usual event-storming sticky colours."""


@dataclass(frozen=True)
class Sticky:
    """One sticky note on the board."""

    kind: Kind
    name: str
    detail: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)


@dataclass(frozen=True)
class Link:
    """An arrow between two stickies (by kind and name)."""

    source: tuple[str, str]
    target: tuple[str, str]


@dataclass
class Board:
    """The stickies and the arrows between them."""

    title: str
    stickies: list[Sticky] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    recorded_by: set[tuple[str, str]] = field(default_factory=set)
    """(command, event) pairs found by following each command's calls."""

    def add(self, sticky: Sticky) -> Sticky:
        if sticky.key not in {s.key for s in self.stickies}:
            self.stickies.append(sticky)
        return sticky

    def link(self, source: Sticky, target: Sticky) -> None:
        new = Link(source.key, target.key)
        if new not in self.links:
            self.links.append(new)

    def of_kind(self, kind: Kind) -> list[Sticky]:
        return [s for s in self.stickies if s.kind == kind]

    def command_events(self) -> set[tuple[str, str]]:
        """(command, event) pairs: which events each command can record."""
        return set(self.recorded_by)

    def to_frame(self) -> pd.DataFrame:
        """The stickies as a table (kind, name, detail, and what each points to)."""
        rows = []
        for s in self.stickies:
            targets = [
                f"{t[0]}: {t[1]}"
                for (src, t) in ((k.source, k.target) for k in self.links)
                if src == s.key
            ]
            rows.append(
                {"kind": s.kind, "name": s.name, "detail": s.detail, "leads to": ", ".join(targets)}
            )
        return pd.DataFrame(rows, columns=["kind", "name", "detail", "leads to"])

    def to_svg(self) -> str:
        """The board as an SVG picture (no network, no JavaScript)."""
        return _draw(self)

    def _repr_svg_(self) -> str:
        return self.to_svg()


def _event_aggregate(event_name: str) -> str:
    return event_name.rsplit(".", 1)[0]


# Reading the code -------------------------------------------------------------


def _modules_of(app_class: type[Any]) -> list[ModuleType]:
    """The application's module and the modules whose names it imports."""
    first = sys.modules[app_class.__module__]
    found = [first]
    for value in vars(first).values():
        module = (
            value
            if isinstance(value, ModuleType)
            else sys.modules.get(getattr(value, "__module__", "") or "")
        )
        if (
            module is not None
            and module not in found
            and not module.__name__.startswith(("eventsourcing", "builtins", "typing"))
        ):
            found.append(module)
    return found


def _aggregates_in(modules: Iterable[ModuleType]) -> list[type[BaseAggregate[Any]]]:
    found: list[type[BaseAggregate[Any]]] = []
    for module in modules:
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseAggregate)
                and not value.__module__.startswith("eventsourcing")
                and value.__module__ == module.__name__
                and value not in found
            ):
                found.append(value)
    return found


def _events_of(aggregate: type[Any]) -> list[str]:
    names = []
    for attr, value in vars(aggregate).items():
        if isinstance(value, CommandMethodDecorator):
            names.append(str(value.event_cls_name))
        elif (
            isinstance(value, type)
            and attr not in ("Event", "Created")
            and hasattr(value, "mutate")
        ):
            names.append(attr)
    created = [n for n in names if n in _created_names(aggregate)]
    rest = [n for n in names if n not in created]
    return list(dict.fromkeys(created + rest))


def _created_names(aggregate: type[Any]) -> set[str]:
    from eventsourcing.domain import _created_event_classes

    return {c.__name__ for c in _created_event_classes.get(aggregate, [])}


def _called_names(func: Callable[..., Any]) -> set[str]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
            elif isinstance(node.func, ast.Name):
                names.add(node.func.id)
    return names


class _CodeIndex:
    """Where each callable name leads: aggregate methods, event methods, helper functions."""

    def __init__(self, modules: list[ModuleType], aggregates: list[type[Any]]) -> None:
        self.aggregates = {a.__name__: a for a in aggregates}
        self.methods: dict[str, list[tuple[type[Any], Any]]] = {}
        for aggregate in aggregates:
            for attr, value in vars(aggregate).items():
                if callable(value) or isinstance(value, CommandMethodDecorator):
                    self.methods.setdefault(attr, []).append((aggregate, value))
        self.functions: dict[str, Callable[..., Any]] = {}
        for module in modules:
            for attr, value in vars(module).items():
                if inspect.isfunction(value) and value.__module__ == module.__name__:
                    self.functions[attr] = value

    def events_reached(self, func: Callable[..., Any], depth: int = 6) -> set[tuple[str, str]]:
        """(aggregate, event) pairs a function can record, following calls by name."""
        found: set[tuple[str, str]] = set()
        seen: set[int] = set()
        work: list[tuple[Any, int]] = [(func, 0)]
        while work:
            current, level = work.pop()
            if id(current) in seen or level > depth:
                continue
            seen.add(id(current))
            for name in _called_names(current):
                if name in self.aggregates:
                    aggregate = self.aggregates[name]
                    for created in _created_names(aggregate):
                        found.add((aggregate.__name__, created))
                for aggregate, member in self.methods.get(name, []):
                    if isinstance(member, CommandMethodDecorator):
                        found.add((aggregate.__name__, str(member.event_cls_name)))
                        work.append((member.decorated_func, level + 1))
                    else:
                        work.append((member, level + 1))
                if name in self.functions:
                    work.append((self.functions[name], level + 1))
        return found


def storming_board(
    *apps: type[Any] | Any,
    projections: Iterable[Any] = (),
    processes: Iterable[Any] = (),
) -> Board:
    """Draw the board of one or more applications (classes or instances).

    With several applications (systems that cooperate through events), each
    command is named ``App.command``. ``projections`` are
    :class:`workbench.projections.Projection` objects or classes (their
    handlers say which events feed which read model); ``processes`` are
    :class:`workbench.processes.ProcessDeclaration` objects (their
    transitions say which events, or timeouts, lead to which commands).
    """
    if not apps:
        raise TypeError("storming_board() needs at least one application class")
    classes = [app if isinstance(app, type) else type(app) for app in apps]
    board = Board(title=" + ".join(c.__name__ for c in classes) + ": event storming")
    event_stickies: dict[str, Sticky] = {}
    for cls in classes:
        modules = _modules_of(cls)
        aggregates = [a for a in _aggregates_in(modules) if _events_of(a)]  # skip abstract bases
        index = _CodeIndex(modules, aggregates)
        for aggregate in aggregates:
            doc = (aggregate.__doc__ or "").strip().split("\n")[0]
            a = board.add(Sticky("aggregate", aggregate.__name__, doc))
            for event_name in _events_of(aggregate):
                e = board.add(Sticky("event", f"{aggregate.__name__}.{event_name}"))
                event_stickies[e.name] = e
                board.link(a, e)
        for name, command in discover_commands(cls).items():
            label = f"{cls.__name__}.{name}" if len(classes) > 1 else name
            c = board.add(Sticky("command", label, command.doc))
            for aggregate_name, event_name in sorted(index.events_reached(getattr(cls, name))):
                board.link(c, Sticky("aggregate", aggregate_name))
                board.recorded_by.add((label, f"{aggregate_name}.{event_name}"))
    for declaration in processes:
        _add_policies(board, declaration, event_stickies)
    for projection in projections:
        label = str(getattr(projection, "name", "") or getattr(projection, "__name__", ""))
        r = board.add(Sticky("read model", label or repr(projection)))
        for event_type in getattr(projection, "handlers", {}):
            for e in _matching_events(event_type, event_stickies):
                board.link(e, r)
    return board


def _add_policies(board: Board, declaration: Any, events: dict[str, Sticky]) -> None:
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
                for command in board.of_kind("command"):
                    method = command.name.rsplit(".", 1)[-1]
                    if re.search(rf"\b{re.escape(method)}\b", action.description):
                        board.link(p, command)


def _matching_events(event_type: str, events: dict[str, Sticky]) -> list[Sticky]:
    short = short_name(event_type)
    return [s for n, s in events.items() if n == short or n.endswith("." + short)]


# Drawing ----------------------------------------------------------------------

WIDTH, HEIGHT, GAP = 190, 46, 12
COLUMNS: dict[str, int] = {
    "command": 20,
    "aggregate": 270,
    "event": 520,
    "policy": 800,
    "read model": 800,
}


def _wrap(text: str, width: int = 27) -> list[str]:
    if len(text) > width and "." in text and " " not in text:
        head, _, tail = text.rpartition(".")
        lines = [head + ".", tail]
    else:
        lines = textwrap.wrap(text, width) or [""]
    lines = [line if len(line) <= width else line[: width - 1] + "…" for line in lines]
    return lines[:2] if len(lines) <= 2 else [lines[0], lines[1][: width - 2] + "…"]


def _draw(board: Board) -> str:
    pos: dict[tuple[str, str], tuple[float, float]] = {}
    y = 60.0
    for aggregate in board.of_kind("aggregate"):
        events = [
            link.target
            for link in board.links
            if link.source == aggregate.key and link.target[0] == "event"
        ]
        top = y
        for key in events:
            pos[key] = (COLUMNS["event"], y)
            y += HEIGHT + GAP
        if not events:
            y += HEIGHT + GAP
        pos[aggregate.key] = (COLUMNS["aggregate"], (top + y - HEIGHT - GAP) / 2)
        y += GAP * 2
    bottom = y

    def place(kind: str, anchor: Callable[[Sticky], float], start: float = 60.0) -> float:
        stickies = sorted(board.of_kind(kind), key=anchor)  # type: ignore[arg-type]
        cursor = start
        for s in stickies:
            cursor = max(cursor, anchor(s))
            pos[s.key] = (COLUMNS[kind], cursor)
            cursor += HEIGHT + GAP
        return cursor

    def mean_y(s: Sticky, incoming: bool) -> float:
        ends = [
            link.source if incoming else link.target
            for link in board.links
            if (link.target if incoming else link.source) == s.key
        ]
        ys = [pos[k][1] for k in ends if k in pos]
        return sum(ys) / len(ys) if ys else bottom

    place("command", lambda s: mean_y(s, incoming=False))
    after_policies = place("policy", lambda s: mean_y(s, incoming=True))
    place("read model", lambda s: mean_y(s, incoming=True), start=after_policies + GAP)
    height = max([p[1] for p in pos.values()] + [bottom]) + HEIGHT + 40
    width = float(COLUMNS["read model"] + WIDTH + 30)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wb-storming-board" width="{width}" '
        f'height="{height:.0f}" viewBox="0 0 {width} {height:.0f}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="20" y="28" font-size="16" font-weight="bold">{escape(board.title)}</text>',
        '<defs><marker id="wb-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#7e57c2"/></marker></defs>',
    ]
    for kind, column in COLUMNS.items():
        if kind == "read model":
            continue
        label = "policies / read models" if kind == "policy" else kind + "s"
        parts.append(f'<text x="{column}" y="50" fill="#555">{escape(label)}</text>')
    for link in board.links:
        if link.source in pos and link.target in pos:
            (x1, y1), (x2, y2) = pos[link.source], pos[link.target]
            if x2 > x1:
                sx, sy, tx, ty = x1 + WIDTH, y1 + HEIGHT / 2, x2, y2 + HEIGHT / 2
                mid = (sx + tx) / 2
                parts.append(
                    f'<path d="M{sx:.0f},{sy:.0f} C{mid:.0f},{sy:.0f} '
                    f'{mid:.0f},{ty:.0f} {tx:.0f},{ty:.0f}" '
                    'fill="none" stroke="#888" stroke-width="1" opacity="0.7"/>'
                )
            else:  # a policy issuing a command: loop back under the board, dashed
                sx, sy = x1 + WIDTH / 2, y1 + HEIGHT
                tx, ty = x2 + WIDTH / 2, y2 + HEIGHT
                low = max(sy, ty) + 40
                parts.append(
                    f'<path class="wb-policy-command" d="M{sx:.0f},{sy:.0f} C{sx:.0f},{low:.0f} '
                    f'{tx:.0f},{low:.0f} {tx:.0f},{ty:.0f}" fill="none" stroke="#7e57c2" '
                    'stroke-width="1.5" stroke-dasharray="5,3" marker-end="url(#wb-arrow)"/>'
                )
    for s in board.stickies:
        if s.key not in pos:
            continue
        x, top = pos[s.key]
        title = escape(f"{s.kind}: {s.name}" + (f" — {s.detail}" if s.detail else ""))
        parts.append(
            f'<g class="wb-sticky wb-{s.kind.replace(" ", "-")}"><title>{title}</title>'
            f'<rect x="{x}" y="{top:.0f}" width="{WIDTH}" height="{HEIGHT}" rx="3" '
            f'fill="{COLOURS[s.kind]}" stroke="#666" stroke-width="0.5"/>'
        )
        lines = _wrap(s.name)
        if s.kind == "policy":
            lines = textwrap.wrap(s.name, 30)[:3]
            recorded = sorted(e.rsplit(".", 1)[-1] for c, e in board.recorded_by if c == s.name)
            summary = "→ " + ", ".join(recorded)
            method = _wrap(s.name.rsplit(".", 1)[-1])[0]
            lines = [method, summary if len(summary) <= 34 else summary[:33] + "…"]
        for i, line in enumerate(lines):
            size = ' font-size="10" fill="#333"' if i and s.kind == "command" else ""
            parts.append(
                f'<text x="{x + 8}" y="{top + 18 + i * 15:.0f}"{size}>{escape(line)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)
