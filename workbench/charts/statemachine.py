"""A state diagram of a process declaration, drawn as SVG in Python (offline).

Pure: data in, picture out. The layout is deterministic: states are placed in
columns by their distance from the initial state, transitions are drawn as
curves with their trigger as label. The current state can be highlighted and
the last transition marked.

>>> diagram = state_diagram(
...     {"states": ["new", "done"], "initial": "new",
...      "transitions": [{"source": "new", "on": "Job.Finished", "target": "done"}]},
...     current="done", last=("new", "Job.Finished", "done"))
>>> diagram.positions["new"][0] < diagram.positions["done"][0]
True
>>> diagram.svg.startswith("<svg")
True
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from workbench.charts.layering import longest_path_columns

__all__ = ["StateDiagram", "describe", "state_diagram"]

NODE_W = 150
NODE_H = 40
COL_GAP = 130
ROW_GAP = 56
MARGIN = 30
TIMEOUT_PREFIX = "timeout:"
RESERVED = ("failed", "abandoned")

HIGHLIGHT = "#ffd54f"
LAST = "#d32f2f"
EDGE = "#607d8b"


@dataclass(frozen=True)
class StateDiagram:
    """An SVG picture of a state machine, plus the layout it used (for tests)."""

    svg: str
    """The picture (an ``<svg>`` element; no scripts, no external resources)."""
    positions: dict[str, tuple[float, float]]
    """State → centre of its box."""
    current: str | None
    """The highlighted state."""
    last: tuple[str, str, str] | None
    """The marked transition (source, trigger, target)."""
    text: str = ""
    """What the picture shows, in words: its text alternative for a screen reader
    (the SVG's ``<title>`` and ``aria-label``)."""

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_html_(self) -> str:
        return self.svg


def _as_data(declaration: Any) -> dict[str, Any]:
    if isinstance(declaration, dict):
        data = declaration
    elif hasattr(declaration, "to_dict"):
        data = declaration.to_dict()
    else:
        raise TypeError(
            "state_diagram() takes a ProcessDeclaration or a dict with 'states', 'initial' "
            f"and 'transitions'; got {type(declaration).__name__}"
        )
    for key in ("states", "initial", "transitions"):
        if key not in data:
            raise ValueError(f"state_diagram() needs {key!r} in the declaration data")
    return data


def _label(trigger: str) -> str:
    if trigger.startswith(TIMEOUT_PREFIX):
        return "timeout: " + trigger[len(TIMEOUT_PREFIX) :]
    return trigger.rsplit(".", 1)[-1]


def _layers(states: list[str], initial: str, edges: list[dict[str, Any]]) -> dict[str, int]:
    """Column of each state: the longest path from the initial state, back edges ignored."""
    pairs = [(e["source"], e["target"]) for e in edges]
    return longest_path_columns(states, pairs, roots=[initial])


def _columns(
    states: list[str], depth: dict[str, int], edges: list[dict[str, Any]]
) -> dict[int, list[str]]:
    """States per column, ordered by the rows of their predecessors (barycentre)."""
    columns: dict[int, list[str]] = {}
    for state in states:
        columns.setdefault(depth[state], []).append(state)
    row: dict[str, float] = {}
    for col in sorted(columns):
        members = columns[col]

        def key(state: str) -> tuple[float, int]:
            preds = [row[e["source"]] for e in edges if e["target"] == state and e["source"] in row]
            centre = sum(preds) / len(preds) if preds else 0.0
            return (centre, states.index(state))

        members.sort(key=key)
        for i, state in enumerate(members):
            row[state] = i - (len(members) - 1) / 2
    return columns


def state_diagram(
    declaration: Any,
    *,
    current: str | None = None,
    last: tuple[str, str, str] | None = None,
    title: str | None = None,
    show_dead_letter: bool = True,
) -> StateDiagram:
    """Draw a declaration (a ``ProcessDeclaration`` or its ``to_dict()``).

    ``current`` highlights a state (``"failed"`` / ``"abandoned"`` highlight the
    dead-letter boxes); ``last`` marks a transition as ``(source, trigger, target)``.
    """
    data = _as_data(declaration)
    states: list[str] = list(data["states"])
    initial: str = data["initial"]
    edges: list[dict[str, Any]] = list(data["transitions"])
    final = set(data.get("final", ()))
    depth = _layers(states, initial, edges)
    columns = _columns(states, depth, edges)
    tallest = max(len(c) for c in columns.values())
    positions: dict[str, tuple[float, float]] = {}
    top = MARGIN + (24 if title or data.get("name") else 0)
    for col, members in sorted(columns.items()):
        offset = (tallest - len(members)) * (NODE_H + ROW_GAP) / 2
        for row, state in enumerate(members):
            x = MARGIN + col * (NODE_W + COL_GAP) + NODE_W / 2
            y = top + offset + row * (NODE_H + ROW_GAP) + NODE_H / 2 + 20
            positions[state] = (x, y)
    width = MARGIN * 2 + len(columns) * (NODE_W + COL_GAP) - COL_GAP
    height = top + tallest * (NODE_H + ROW_GAP) + 40
    extra = show_dead_letter or (current in RESERVED)
    if extra:
        y = height + NODE_H / 2
        for i, state in enumerate(RESERVED):
            positions[state] = (MARGIN + NODE_W / 2 + i * (NODE_W + 30), y)
        height += NODE_H + 50
    width = max(width, MARGIN * 2 + 2 * NODE_W + 30)

    words = describe(data, current=current, last=last, title=title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12" '
        f'role="img" aria-label="{html.escape(words)}" '
        f'style="max-width:{width:.0f}px;width:100%;height:auto">',
        f"<title>{html.escape(words)}</title>",
        "<defs>"
        f'<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{EDGE}"/></marker>'
        f'<marker id="arrow-last" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{LAST}"/></marker></defs>',
    ]
    heading = title or data.get("name")
    if heading:
        parts.append(
            f'<text x="{MARGIN}" y="{MARGIN}" font-size="15" font-weight="bold">'
            f"{html.escape(str(heading))}</text>"
        )

    # Edge paths first, boxes on top of them, labels last.
    labels: list[str] = []
    pair_count: dict[tuple[str, str], int] = {}
    for e in edges:
        src, dst, trig = e["source"], e["target"], e["on"]
        is_last = last is not None and (src, trig, dst) == tuple(last)
        color = LAST if is_last else EDGE
        marker = "arrow-last" if is_last else "arrow"
        stroke = 3 if is_last else 1.4
        dash = ' stroke-dasharray="5,3"' if trig.startswith(TIMEOUT_PREFIX) else ""
        n = pair_count.get((src, dst), 0)
        pair_count[src, dst] = n + 1
        x1, y1 = positions[src]
        x2, y2 = positions[dst]
        if src == dst:
            lx, ly = x1, y1 - NODE_H / 2
            path = (
                f"M{lx - 20:.1f},{ly:.1f} C{lx - 30:.1f},{ly - 40:.1f} "
                f"{lx + 30:.1f},{ly - 40:.1f} {lx + 20:.1f},{ly:.1f}"
            )
            tx, ty = lx, ly - 36
        elif depth[dst] > depth[src]:  # forward: right side to left side
            sx, sy = x1 + NODE_W / 2, y1
            ex, ey = x2 - NODE_W / 2, y2
            span = depth[dst] - depth[src]
            mx, my = (sx + ex) / 2, (sy + ey) / 2
            lift = 0.0
            if span > 1:  # arc around the columns in between
                lift = (NODE_H + ROW_GAP) * 0.9 * (span - 1) * (-1 if ey <= sy else 1)
            lift += 26 * n * (-1 if n % 2 else 1)
            cx, cy = mx, my + lift * 1.6
            path = f"M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}"
            tx, ty = (sx + 2 * cx + ex) / 4, (sy + 2 * cy + ey) / 4 - 6
        elif depth[dst] == depth[src]:  # same column: arc out to the right
            sx, sy = x1 + NODE_W / 2, y1
            ex, ey = x2 + NODE_W / 2, y2
            cx, cy = sx + 60 + 20 * n, (sy + ey) / 2
            path = f"M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}"
            tx, ty = (sx + 2 * cx + ex) / 4 + 4, (sy + 2 * cy + ey) / 4
        else:  # backward: under the boxes
            sx, sy = x1, y1 + NODE_H / 2
            ex, ey = x2, y2 + NODE_H / 2
            cx, cy = (sx + ex) / 2, max(sy, ey) + 60 + 20 * n
            path = f"M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}"
            tx, ty = (sx + 2 * cx + ex) / 4, (sy + 2 * cy + ey) / 4 + 12
        tooltip = html.escape(
            f"{src} --{trig}--> {dst}"
            + (f" | emits: {', '.join(e.get('actions', []))}" if e.get("actions") else "")
            + (f" | schedules: {', '.join(e.get('schedule', []))}" if e.get("schedule") else "")
            + (f" | cancels: {', '.join(e.get('cancel', []))}" if e.get("cancel") else "")
        )
        klass = "edge last" if is_last else "edge"
        parts.append(
            f'<g class="{klass}"><title>{tooltip}</title>'
            f'<path d="{path}" fill="none" stroke="{color}" stroke-width="{stroke}"{dash} '
            f'marker-end="url(#{marker})"/></g>'
        )
        line2 = "/ " + ", ".join(e["actions"]) if e.get("actions") else ""
        if line2 and depth[dst] > depth[src]:
            ty -= 13
        weight = ' font-weight="bold"' if is_last else ""
        text = f'<tspan x="{tx:.1f}">{html.escape(_label(trig))}</tspan>' + (
            f'<tspan x="{tx:.1f}" dy="13" font-style="italic">{html.escape(line2)}</tspan>'
            if line2
            else ""
        )
        labels.append(
            f'<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="middle" fill="{color}" '
            f'font-size="11"{weight} paint-order="stroke" stroke="white" stroke-width="3">'
            f"<title>{tooltip}</title>{text}</text>"
        )

    # The initial marker.
    ix, iy = positions[initial]
    parts.append(f'<circle cx="{ix - NODE_W / 2 - 16:.1f}" cy="{iy:.1f}" r="6" fill="#263238"/>')
    parts.append(
        f'<path d="M{ix - NODE_W / 2 - 10:.1f},{iy:.1f} L{ix - NODE_W / 2:.1f},{iy:.1f}" '
        f'stroke="#263238" stroke-width="1.5" marker-end="url(#arrow)"/>'
    )

    node_list = list(states) + (list(RESERVED) if extra else [])
    for state in node_list:
        x, y = positions[state]
        is_current = state == current
        reserved = state in RESERVED
        fill = HIGHLIGHT if is_current else ("#fff5f5" if reserved else "#eceff1")
        outline = "#b00020" if reserved else "#37474f"
        width_px = 3 if is_current else (2.5 if state in final else 1.2)
        dash = ' stroke-dasharray="4,3"' if reserved else ""
        klass = "state current" if is_current else "state"
        weight = ' font-weight="bold"' if is_current else ""
        parts.append(
            f'<g class="{klass}" data-state="{html.escape(state)}"><title>{html.escape(state)}'
            f"{' (current)' if is_current else ''}</title>"
            f'<rect x="{x - NODE_W / 2:.1f}" y="{y - NODE_H / 2:.1f}" width="{NODE_W}" '
            f'height="{NODE_H}" rx="12" fill="{fill}" stroke="{outline}" '
            f'stroke-width="{width_px}"{dash}/>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle"{weight}>'
            f"{html.escape(state)}</text></g>"
        )
    if extra:
        x, y = positions[RESERVED[0]]
        note = data.get("retry") or "after the last failed attempt"
        parts.append(
            f'<text x="{x - NODE_W / 2:.1f}" y="{y - NODE_H / 2 - 8:.1f}" fill="#b00020" '
            f'font-size="11">dead letter (from any state): {html.escape(str(note))}</text>'
        )
    parts.extend(labels)
    parts.append("</svg>")
    return StateDiagram(
        svg="".join(parts),
        positions=positions,
        current=current,
        last=tuple(last) if last else None,  # type: ignore[arg-type]
        text=words,
    )


def describe(
    declaration: Any,
    *,
    current: str | None = None,
    last: tuple[str, str, str] | None = None,
    title: str | None = None,
) -> str:
    """The diagram in words, for a screen reader: name, states, current state, last move.

    >>> text = describe(
    ...     {"name": "Purchase", "states": ["reserved", "paid"], "initial": "reserved",
    ...      "transitions": [{"source": "reserved", "on": "P.Paid", "target": "paid"}]},
    ...     current="paid", last=("reserved", "P.Paid", "paid"))
    >>> for part in text.split("; "):
    ...     print(part)
    State diagram of Purchase: 2 states (reserved, paid), 1 transition
    current: paid
    last: reserved to paid on P.Paid
    """
    data = _as_data(declaration)
    name = title or data.get("name")
    states = list(data["states"])
    moves = len(data["transitions"])
    text = (
        f"State diagram{f' of {name}' if name else ''}: {len(states)} "
        f"state{'s' if len(states) != 1 else ''} ({', '.join(map(str, states))}), "
        f"{moves} transition{'s' if moves != 1 else ''}; current: {current or 'none'}"
    )
    if last:
        source, trigger, target = last
        text += f"; last: {source} to {target} on {trigger}"
    return text
