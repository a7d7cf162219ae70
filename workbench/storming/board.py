"""The board as data: stickies, the links between them, and notes for the reader.

A :class:`Board` is what :func:`~workbench.storming.storming_board` found in the code.
It draws itself (:meth:`Board.to_svg`, :meth:`Board.to_png`, :meth:`Board.save`) through
:mod:`workbench.storming.layout` and :mod:`workbench.storming.drawing`, and tests read it
as data (:meth:`Board.names`, :meth:`Board.pairs`, :meth:`Board.command_events`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

if TYPE_CHECKING:
    from workbench.storming.drawing import Picture
    from workbench.storming.layout import Layout

__all__ = ["COLOURS", "KINDS", "Board", "Kind", "Link", "Sticky"]

Kind = Literal["command", "aggregate", "event", "policy", "read model"]

KINDS: tuple[Kind, ...] = ("command", "aggregate", "event", "policy", "read model")
"""Every kind of sticky, in the order a storming wall reads."""

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
    """``"command"``, ``"aggregate"``, ``"event"``, ``"policy"`` or ``"read model"``."""
    name: str
    """What the sticky says: ``"reserve_tickets"``, ``"TicketPurchase.Started"``."""
    detail: str = ""
    """A line for people (a docstring, an event's fields); shown as a tooltip."""
    app: str = ""
    """The application a command or a process application's policy belongs to."""

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
    """The stickies and the arrows between them.

    Links go the way a process runs: command → aggregate, aggregate → event,
    event → policy, policy → command (or, for a process application's policy,
    policy → event it records), event → read model.
    """

    title: str
    stickies: list[Sticky] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    recorded_by: set[tuple[str, str]] = field(default_factory=set)
    """(command, event) pairs found by following each command's calls."""
    lanes: list[str] = field(default_factory=list)
    """The applications on the board, upstream first (one swimlane each)."""
    notes: list[str] = field(default_factory=list)
    """Things the reader should know: what was not found, and why."""

    def add(self, sticky: Sticky) -> Sticky:
        """Put a sticky on the board (once per kind and name); returns the one on the board."""
        for existing in self.stickies:
            if existing.key == sticky.key:
                return existing
        self.stickies.append(sticky)
        return sticky

    def link(self, source: Sticky, target: Sticky) -> None:
        new = Link(source.key, target.key)
        if new not in self.links:
            self.links.append(new)

    def sticky(self, kind: Kind, name: str) -> Sticky:
        """The sticky of this kind and name, or a KeyError listing the ones there are."""
        for s in self.stickies:
            if s.key == (kind, name):
                return s
        known = ", ".join(sorted(self.names(kind))) or "none"
        raise KeyError(f"the board has no {kind} {name!r}; its {kind} stickies: {known}")

    def of_kind(self, kind: Kind) -> list[Sticky]:
        return [s for s in self.stickies if s.kind == kind]

    def names(self, kind: Kind) -> set[str]:
        """The names of every sticky of one kind.

        >>> Board("b", [Sticky("event", "Book.Lent")]).names("event")
        {'Book.Lent'}
        """
        return {s.name for s in self.stickies if s.kind == kind}

    def pairs(self, source: Kind, target: Kind) -> set[tuple[str, str]]:
        """(source name, target name) of every link from one kind to another."""
        return {
            (link.source[1], link.target[1])
            for link in self.links
            if link.source[0] == source and link.target[0] == target
        }

    def command_events(self) -> set[tuple[str, str]]:
        """(command, event) pairs: which events each command can record."""
        return set(self.recorded_by)

    def to_frame(self) -> pd.DataFrame:
        """The stickies as a table (kind, name, detail, what each leads to, application)."""
        rows = []
        for s in self.stickies:
            targets = [f"{k.target[0]}: {k.target[1]}" for k in self.links if k.source == s.key]
            rows.append(
                {
                    "kind": s.kind,
                    "name": s.name,
                    "detail": s.detail,
                    "leads to": ", ".join(targets),
                    "app": s.app,
                }
            )
        return pd.DataFrame(rows, columns=["kind", "name", "detail", "leads to", "app"])

    def layout(self) -> Layout:
        """Where each sticky goes on the wall (the timeline), as data."""
        from workbench.storming.layout import layout

        return layout(self)

    def to_svg(self) -> str:
        """The board as an SVG picture (no network, no JavaScript)."""
        from workbench.storming.drawing import draw

        return draw(self.layout())

    def to_png(self, scale: float = 2.0) -> bytes:
        """The board as PNG bytes, rendered in Python (vl-convert; no browser, no network)."""
        from workbench.storming.drawing import svg_to_png

        return svg_to_png(self.to_svg(), scale=scale)

    def picture(self, scale: float = 1.0) -> Picture:
        """The board as a PNG that shows itself with its text alternative (``alt``).

        Show this rather than ``IPython.display.Image(board.to_png())``, which a
        screen reader cannot describe.
        """
        from workbench.storming.drawing import Picture, describe

        return Picture(png=self.to_png(scale=scale), alt=describe(self.layout()))

    def save(self, path: str | Path, scale: float = 2.0) -> Path:
        """Write the board to ``path`` as ``.svg`` or ``.png`` (for handouts)."""
        from workbench.charts import save_picture

        return save_picture(path, "a board", self.to_svg, lambda: self.to_png(scale=scale))

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def _repr_html_(self) -> str:
        # Inline, so the stickies' tooltips work; it scales down to the notebook's width.
        return f'<div class="wb-storming">{self.to_svg()}</div>'

    def __repr__(self) -> str:
        plural = {"policy": "policies"}
        counts = ", ".join(
            f"{n} {k if n == 1 else plural.get(k, k + 's')}"
            for k in KINDS
            if (n := len(self.of_kind(k)))
        )
        notes = "".join(f"\n  note: {n}" for n in self.notes)
        return f"<Board {self.title!r}: {counts or 'empty'}{notes}>"
