"""A map of a running system: its applications, and the events that went along each edge.

Nodes are the applications (leaders, followers, process applications — which
are both); an edge goes from a leader to each of its followers, labelled with
the event types that flowed along it and how many. The counts come from the
recorded history: the leader's events, up to the follower's tracking
position, of the types the follower's policy handles. For a
``singledispatchmethod`` policy those are the types registered on it (an event
of a subclass counts too, as dispatch would send it); for any other policy every
event counts. A follower that names ``topics`` only ever sees those.

Counting reads the leader's log once; a :class:`~workbench.systems.SystemRun`
keeps the counts and later maps read only what was processed since.

Drawn in Python as SVG (no JavaScript, no network), in the style of
:mod:`workbench.charts.statemachine`: a ``<title>`` and ``role="img"`` with an
``aria-label`` that says in words what the picture shows.

>>> from workbench.systems import open_system
>>> from workbench.systems.examples import SYSTEM, Counter
>>> with open_system(SYSTEM) as run:
...     _ = run.get(Counter).count(1)
...     _ = run.get(Counter).count(2)
...     picture = run.map()
>>> picture.counts("Counter", "Doubler")
{'Tally.Counted': 2}
>>> picture.nodes
{'Counter': 'leader', 'Doubler': 'follower'}
"""

from __future__ import annotations

import html
import inspect
from collections import Counter as Tally
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import singledispatchmethod
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from eventsourcing.utils import resolve_topic

from workbench.charts.layering import longest_path_columns
from workbench.reading.decoding import short_name
from workbench.systems.counting import topic_counts

if TYPE_CHECKING:
    from workbench.systems.run import SystemRun

__all__ = ["Flow", "SystemMap", "handled_types", "system_map"]

NODE_W = 180
NODE_H = 48
COL_GAP = 210
ROW_GAP = 70
MARGIN = 24
LINE = 14
MAX_LINES = 6
LOOP_DROP = 36
EDGE = "#607d8b"
FILLS = {
    "leader": "#a7c7ff",
    "process application": "#d1b3ff",
    "follower": "#b9f6ca",
    "application": "#eceff1",
}
"""Node colours by kind (the storming board's: upstream blue, policies lilac, downstream green)."""


def handled_types(follower_cls: type) -> tuple[type, ...] | None:
    """The event classes a follower's policy handles; ``None`` if it takes every event.

    >>> from workbench.systems.examples import Doubler, Tally
    >>> handled_types(Doubler) == (Tally.Counted,)
    True
    """
    policy = inspect.getattr_static(follower_cls, "policy", None)
    if not isinstance(policy, singledispatchmethod):
        return None
    registry = policy.dispatcher.registry
    return tuple(cls for cls in registry if cls is not object)


def _is_handled(topic: str, follower_cls: type) -> bool:
    policy = inspect.getattr_static(follower_cls, "policy", None)
    if not isinstance(policy, singledispatchmethod):
        return True
    try:
        cls = resolve_topic(topic)
    except Exception:  # the class is gone: the policy cannot have handled it
        return False
    if not isinstance(cls, type):
        return False
    registry = policy.dispatcher.registry
    return policy.dispatcher.dispatch(cls) is not registry.get(object)


@dataclass(frozen=True)
class Flow:
    """One edge of the map: what went from a leader to a follower."""

    leader: str
    follower: str
    counts: Mapping[str, int]
    """Event type → how many of them the follower's policy handled."""
    handles: tuple[str, ...] | None
    """The event types its policy is registered for (``None``: every event)."""
    tracking: int
    """The follower's tracking position for the leader (counted up to here)."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def label_lines(self) -> list[str]:
        names = list(self.counts)
        for name in self.handles or ():
            if name not in names:
                names.append(name)
        lines = [f"{name} ×{self.counts.get(name, 0):,}" for name in names]
        if not lines:
            lines = ["every event ×0" if self.handles is None else "(no event types handled)"]
        if len(lines) > MAX_LINES:
            rest = len(lines) - (MAX_LINES - 1)
            lines = [*lines[: MAX_LINES - 1], f"… {rest} more types"]
        return lines


@dataclass
class _Count:
    upto: int = 0
    topics: Tally[str] = field(default_factory=Tally)


def count_flow(run: SystemRun, leader_name: str, follower_name: str) -> Flow:
    """Count what went from ``leader_name`` to ``follower_name`` (reads only what is new)."""
    leader = run.app(leader_name)
    follower = run.follower(follower_name)
    tracking = follower.recorder.max_tracking_id(leader_name) or 0
    cache: _Count = run._counts.setdefault((leader_name, follower_name), _Count())
    if tracking < cache.upto:  # the store was rebuilt: count again
        cache.upto, cache.topics = 0, Tally()
    cache.topics.update(
        topic_counts(leader.recorder, after=cache.upto, upto=tracking, topics=follower.topics)
    )
    cache.upto = tracking
    cls = type(follower)
    counts: dict[str, int] = {}
    for topic, n in cache.topics.items():
        if _is_handled(topic, cls):
            name = short_name(topic)
            counts[name] = counts.get(name, 0) + n
    types = handled_types(cls)
    handles = None if types is None else tuple(t.__qualname__ for t in types)
    return Flow(leader_name, follower_name, counts, handles, tracking)


def system_map(run: SystemRun) -> SystemMap:
    """The map of a running system, counted from its recorded history."""
    system = run.system
    nodes: dict[str, str] = {}
    for name in system.nodes:
        if name in system.processors:
            nodes[name] = "process application"
        elif name in system.leads:
            nodes[name] = "leader"
        elif name in system.follows:
            nodes[name] = "follower"
        else:
            nodes[name] = "application"
    flows = tuple(count_flow(run, leader, follower) for leader, follower in system.edges)
    return SystemMap(title="System: " + ", ".join(system.nodes), nodes=nodes, flows=flows)


@dataclass(frozen=True)
class SystemMap:
    """The applications of a system and the events along each edge; draws itself as SVG."""

    title: str
    nodes: Mapping[str, str]
    """Application name → ``"leader"``, ``"follower"``, ``"process application"`` or
    ``"application"`` (in no pipe)."""
    flows: tuple[Flow, ...]
    """One per edge, leader → follower."""

    def edges(self) -> list[tuple[str, str]]:
        """(leader, follower) of every edge."""
        return [(f.leader, f.follower) for f in self.flows]

    def flow(self, leader: str, follower: str) -> Flow:
        for f in self.flows:
            if (f.leader, f.follower) == (leader, follower):
                return f
        edges = ", ".join(f"{a} → {b}" for a, b in self.edges()) or "none"
        raise KeyError(f"the map has no edge {leader} → {follower}; its edges: {edges}")

    def counts(self, leader: str, follower: str) -> dict[str, int]:
        """Event type → how many went from ``leader`` to ``follower``'s policy."""
        return dict(self.flow(leader, follower).counts)

    def to_frame(self) -> pd.DataFrame:
        """One row per (edge, event type): leader, follower, event_type, count."""
        rows = [
            {"leader": f.leader, "follower": f.follower, "event_type": t, "count": n}
            for f in self.flows
            for t, n in f.counts.items()
        ]
        return pd.DataFrame(rows, columns=["leader", "follower", "event_type", "count"])

    @property
    def text(self) -> str:
        """The picture in words (its text alternative)."""
        parts = [f"{self.title}."]
        for name, kind in self.nodes.items():
            parts.append(f"{name} is a {kind}.")
        for f in self.flows:
            went = ", ".join(f"{n} {t}" for t, n in f.counts.items()) or "no events yet"
            parts.append(f"{f.leader} → {f.follower}: {went}.")
        return " ".join(parts)

    def positions(self) -> dict[str, tuple[float, float]]:
        """Application → top-left corner of its box: columns by distance from the leaders."""
        depth = _depths(list(self.nodes), self.edges())
        columns: dict[int, list[str]] = {}
        for name in self.nodes:
            columns.setdefault(depth[name], []).append(name)
        tallest = max((len(c) for c in columns.values()), default=1)
        lines = max((len(f.label_lines()) for f in self.flows), default=1)
        slot = NODE_H + ROW_GAP + LINE * (lines - 1)
        top = MARGIN + 30 + LINE * (lines - 1)  # room for the first edge's label above it
        placed: dict[str, tuple[float, float]] = {}
        for col, members in columns.items():
            offset = (tallest - len(members)) * slot / 2
            for row, name in enumerate(members):
                placed[name] = (MARGIN + col * (NODE_W + COL_GAP), top + offset + row * slot)
        return placed

    def to_svg(self) -> str:
        """The map as an SVG document (no scripts, no external resources)."""
        where = self.positions()
        depth = _depths(list(self.nodes), self.edges())
        columns = max(depth.values(), default=0) + 1
        width = MARGIN * 2 + columns * NODE_W + (columns - 1) * COL_GAP
        loops = sum(1 for f in self.flows if depth[f.follower] != depth[f.leader] + 1)
        lowest = max((y for _, y in where.values()), default=0.0) + NODE_H
        height = lowest + MARGIN + loops * (LOOP_DROP + LINE * MAX_LINES + 16)
        label = html.escape(self.text, quote=True)
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12" '
            f'role="img" aria-label="{label}" class="wb-system-map" '
            f'style="max-width:{width:.0f}px;width:100%;height:auto">',
            f"<title>{html.escape(self.title)}</title>",
            "<defs>"
            '<marker id="wb-system-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{EDGE}"/></marker></defs>',
            f'<text x="{MARGIN}" y="{MARGIN + 4}" font-size="15" font-weight="bold">'
            f"{html.escape(self.title)}</text>",
        ]
        labels: list[str] = []
        loop = 0
        for f in self.flows:
            (x1, y1), (x2, y2) = where[f.leader], where[f.follower]
            if depth[f.follower] == depth[f.leader] + 1:  # next column: a curve across
                sx, sy, ex, ey = x1 + NODE_W, y1 + NODE_H / 2, x2 - 2, y2 + NODE_H / 2
                bend = (ex - sx) / 2
                path = (
                    f"M{sx:.1f},{sy:.1f} C{sx + bend:.1f},{sy:.1f} "
                    f"{ex - bend:.1f},{ey:.1f} {ex:.1f},{ey:.1f}"
                )
                tx, ty = (sx + ex) / 2, (sy + ey) / 2 - 8
            else:  # past a column, back (a cycle), or the same column: under the boxes
                sx, sy = x1 + NODE_W / 2, y1 + NODE_H
                ex, ey = x2 + NODE_W / 2, y2 + NODE_H + 2
                drop = LOOP_DROP + loop * (LINE * MAX_LINES + 16)
                low = max(sy, ey) + drop / 0.75  # the curve's lowest point is drop below
                path = (
                    f"M{sx:.1f},{sy:.1f} C{sx:.1f},{low:.1f} {ex:.1f},{low:.1f} {ex:.1f},{ey:.1f}"
                )
                loop += 1
                below = max(sy, ey) + drop + LINE  # the label hangs under the curve
                tx, ty = (sx + ex) / 2, below + (len(f.label_lines()) - 1) * LINE
            tip = html.escape(f"{f.leader} → {f.follower}: " + "; ".join(f.label_lines()))
            parts.append(
                f'<g class="flow" data-leader="{html.escape(f.leader)}" '
                f'data-follower="{html.escape(f.follower)}"><title>{tip}</title>'
                f'<path d="{path}" fill="none" stroke="{EDGE}" stroke-width="1.6" '
                f'marker-end="url(#wb-system-arrow)"/></g>'
            )
            lines = f.label_lines()
            first = ty - (len(lines) - 1) * LINE
            spans = "".join(
                f'<tspan x="{tx:.1f}" y="{first + i * LINE:.1f}">{html.escape(line)}</tspan>'
                for i, line in enumerate(lines)
            )
            labels.append(
                f'<text text-anchor="middle" fill="#37474f" font-size="11" '
                f'paint-order="stroke" stroke="white" stroke-width="3">{spans}</text>'
            )
        for name, kind in self.nodes.items():
            x, y = where[name]
            parts.append(
                f'<g class="app" data-app="{html.escape(name)}" data-kind="{kind}">'
                f"<title>{html.escape(name)} ({kind})</title>"
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="8" '
                f'fill="{FILLS[kind]}" stroke="#37474f" stroke-width="1.2"/>'
                f'<text x="{x + NODE_W / 2:.1f}" y="{y + 20:.1f}" text-anchor="middle" '
                f'font-weight="bold">{html.escape(name)}</text>'
                f'<text x="{x + NODE_W / 2:.1f}" y="{y + 37:.1f}" text-anchor="middle" '
                f'font-size="11" fill="#37474f">{kind}</text></g>'
            )
        parts.extend(labels)
        parts.append("</svg>")
        return "".join(parts)

    def to_png(self, scale: float = 2.0) -> bytes:
        """The map as PNG bytes, rendered in Python by vl-convert (as the storming board)."""
        from workbench.storming.drawing import svg_to_png

        return svg_to_png(self.to_svg(), scale=scale)

    def save(self, path: str | Path, scale: float = 2.0) -> Path:
        """Write the map to ``path`` as ``.svg`` or ``.png`` (for handouts)."""
        from workbench.charts import save_picture

        return save_picture(path, "a system map", self.to_svg, lambda: self.to_png(scale=scale))

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def _repr_html_(self) -> str:
        return f'<div class="wb-system-map">{self.to_svg()}</div>'

    def __repr__(self) -> str:
        edges = "; ".join(f"{f.leader} → {f.follower} ({f.total:,} events)" for f in self.flows)
        return f"<SystemMap {', '.join(self.nodes)}: {edges or 'no edges'}>"


def _depths(names: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Column of each application: the longest path from a leader, edges closing a cycle ignored."""
    targets = {b for _, b in edges}
    return longest_path_columns(names, edges, roots=[n for n in names if n not in targets])
