"""Drawing a :class:`~workbench.storming.layout.Layout` as SVG, and SVG as PNG.

Pure: layout in, SVG text out; no network, no JavaScript, no fonts to download (the
picture asks for DejaVu Sans, which the layout measured, then any sans). PNG comes
from the same SVG through ``vl-convert`` (the renderer the charts use offline), so
a handout needs neither a browser nor the internet.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from html import escape
from itertools import pairwise

from workbench.storming.board import COLOURS, KINDS
from workbench.storming.layout import LINE, MARGIN, PAD_X, SMALL_LINE, Box, Edge, Layout
from workbench.storming.text import FONT, SMALL, text_width, wrap

__all__ = ["Picture", "arrow_points", "controls", "describe", "draw", "svg_to_png", "tangles"]

FONTS = "DejaVu Sans, Verdana, sans-serif"
FLOW = "#8d8d8d"
POLICY = "#7e57c2"
LANE_FILL = ("#f6f7f9", "#ffffff")


def svg_to_png(svg: str, scale: float = 2.0) -> bytes:
    """PNG bytes of an SVG document, rendered in Python by vl-convert."""
    import vl_convert as vlc

    return bytes(vlc.svg_to_png(svg, scale=scale))


def describe(layout: Layout) -> str:
    """The board in words, for a screen reader: its title, what is on it, its lanes.

    >>> describe(Layout(title="Empty"))
    'Event storming board: Empty: no stickies'
    """
    plural = {"policy": "policies"}
    counts = []
    for kind in KINDS:
        n = len({b.name for b in layout.boxes if b.kind == kind})
        if n:
            counts.append(f"{n} {kind if n == 1 else plural.get(kind, kind + 's')}")
    title = layout.title
    if "storming" not in title.lower():
        title = f"Event storming board: {title}"
    text = f"{title}: {', '.join(counts) or 'no stickies'}"
    if layout.lanes:
        text += f"; lanes: {', '.join(lane.name for lane in layout.lanes)}"
    return text


@dataclass(frozen=True)
class Picture:
    """A PNG picture with its text alternative, shown as an ``<img alt=...>`` in a notebook.

    JupyterLab draws a bare ``image/png`` output without ``alt`` text, so a screen
    reader says nothing about it; this shows the same PNG with its words.
    """

    png: bytes
    """The PNG bytes."""
    alt: str
    """What the picture shows, in words."""

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{escape(self.alt)}">'

    def _repr_png_(self) -> bytes:
        return self.png


def controls(source: Box, target: Box) -> tuple[tuple[float, float], ...]:
    """The four points of the cubic curve an arrow follows, from ``source`` to ``target``.

    Forward arrows leave the right side and enter the left side; an arrow to a box that
    is not to the right (a policy starting an earlier step) loops under both boxes.
    """
    if target.x > source.right - 1:
        sx, sy, tx, ty = source.right, source.middle, target.x - 2, target.middle
        bend = max((tx - sx) / 2, 12.0)
        return ((sx, sy), (sx + bend, sy), (tx - bend, ty), (tx, ty))
    sx, sy = source.x + source.width / 2, source.bottom
    tx, ty = target.x + target.width / 2, target.bottom + 2
    low = max(sy, ty) + 36
    return ((sx, sy), (sx, low), (tx, low), (tx, ty))


def arrow_points(source: Box, target: Box, samples: int = 24) -> list[tuple[float, float]]:
    """Points along an arrow (for checking that arrows don't cross)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = controls(source, target)
    points = []
    for i in range(samples + 1):
        t = i / samples
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
        points.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return points


def tangles(layout: Layout) -> list[str]:
    """What makes the picture hard to read: stickies on top of each other, arrows that
    cross, arrows that run under a sticky. An empty list for a tidy board.

    >>> tangles(Layout(title="empty"))
    []
    """
    boxes = layout.boxes
    found = [
        f"{a.name} overlaps {b.name}"
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a.x < b.right and b.x < a.right and a.y < b.bottom and b.y < a.bottom
    ]
    arrows = [(edge, arrow_points(boxes[edge.source], boxes[edge.target])) for edge in layout.edges]
    for edge, points in arrows:
        for i, b in enumerate(boxes):
            inside = any(
                b.x + 1 < x < b.right - 1 and b.y + 1 < y < b.bottom - 1 for x, y in points
            )
            if i not in (edge.source, edge.target) and inside:
                found.append(f"{_name(layout, edge)} runs under {b.name}")
    for n, (first, one) in enumerate(arrows):
        for second, other in arrows[n + 1 :]:
            shared = {first.source, first.target} & {second.source, second.target}
            if not shared and _polylines_cross(one, other):
                found.append(f"{_name(layout, first)} crosses {_name(layout, second)}")
    return found


def _name(layout: Layout, edge: Edge) -> str:
    return f"{layout.boxes[edge.source].name} → {layout.boxes[edge.target].name}"


def _polylines_cross(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    def turn(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    for p1, p2 in pairwise(a):
        for p3, p4 in pairwise(b):
            d1, d2 = turn(p3, p4, p1), turn(p3, p4, p2)
            d3, d4 = turn(p1, p2, p3), turn(p1, p2, p4)
            if (d1 > 0) != (d2 > 0) and (d3 > 0) != (d4 > 0) and 0 not in (d1, d2, d3, d4):
                return True
    return False


def _path(source: Box, target: Box) -> str:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = controls(source, target)
    return f"M{x0:.1f},{y0:.1f} C{x1:.1f},{y1:.1f} {x2:.1f},{y2:.1f} {x3:.1f},{y3:.1f}"


def draw(layout: Layout) -> str:
    """The layout as one ``<svg>`` element (it scales down to fit its container)."""
    width, height = layout.width, layout.height
    notes = [line for note in layout.notes for line in wrap(note, width - 2 * MARGIN, SMALL)]
    height += len(notes) * SMALL_LINE + (8 if notes else 0)
    words = escape(describe(layout))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wb-storming-board" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="{FONTS}" font-size="{FONT:g}" role="img" '
        f'style="max-width:100%;height:auto">',
        f"<title>{words}</title>",  # its name for a screen reader (role img, first title)
        "<defs>"
        + "".join(
            f'<marker id="wb-storming-{name}" viewBox="0 0 10 10" refX="9" refY="5" '
            f'markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{colour}"/></marker>'
            for name, colour in (("flow", FLOW), ("policy", POLICY))
        )
        + "</defs>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 12:.0f}" font-size="16" font-weight="bold">'
        f"{escape(layout.title)}</text>",
    ]
    parts.append(_legend(layout))
    for i, lane in enumerate(layout.lanes):
        parts.append(
            f'<g class="wb-lane" data-lane="{escape(lane.name)}">'
            f'<rect x="{MARGIN / 2:.0f}" y="{lane.top:.1f}" width="{width - MARGIN:.0f}" '
            f'height="{lane.bottom - lane.top:.1f}" rx="6" fill="{LANE_FILL[i % 2]}" '
            f'stroke="#dde1e6" stroke-width="1"/>'
            f'<text x="{MARGIN:.0f}" y="{lane.top + 15:.1f}" font-weight="bold" fill="#37474f">'
            f"{escape(lane.name)}</text></g>"
        )
    for edge in layout.edges:
        source, target = layout.boxes[edge.source], layout.boxes[edge.target]
        colour = POLICY if edge.kind == "policy" else FLOW
        dash = ' stroke-dasharray="5,3"' if target.x <= source.right - 1 else ""
        parts.append(
            f'<path class="wb-link wb-link-{edge.kind}" d="{_path(source, target)}" fill="none" '
            f'stroke="{colour}" stroke-width="{1.4 if edge.kind == "policy" else 1.1}"{dash} '
            f'marker-end="url(#wb-storming-{edge.kind})"/>'
        )
    for b in layout.boxes:
        parts.append(_sticky(b))
    y = layout.height
    for line in notes:
        parts.append(
            f'<text class="wb-note" x="{MARGIN}" y="{y:.1f}" font-size="{SMALL:g}" '
            f'fill="#6d4c41" font-style="italic">{escape(line)}</text>'
        )
        y += SMALL_LINE
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(layout: Layout) -> str:
    x, y = float(MARGIN), MARGIN + 32.0
    items = []
    for kind in KINDS:
        items.append(
            f'<rect x="{x:.0f}" y="{y - 10:.0f}" width="12" height="12" rx="2" '
            f'fill="{COLOURS[kind]}" stroke="#666" stroke-width="0.5"/>'
            f'<text x="{x + 17:.0f}" y="{y:.0f}" font-size="11" fill="#444">{kind}</text>'
        )
        x += 17 + text_width(kind, 11) + 16
    items.append(f'<text x="{x + 8:.0f}" y="{y:.0f}" font-size="11" fill="#444">time →</text>')
    return f'<g class="wb-legend">{"".join(items)}</g>'


def _sticky(b: Box) -> str:
    kind = b.kind.replace(" ", "-")
    dash = ' stroke-dasharray="4,3"' if b.dashed else ""
    parts = [
        f'<g class="wb-sticky wb-{kind}" data-name="{escape(b.name)}">'
        f"<title>{escape(b.tooltip or b.name)}</title>"
        f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.width:.1f}" height="{b.height:.1f}" '
        f'rx="3" fill="{COLOURS[b.kind]}" stroke="#666" stroke-width="0.6"{dash}/>'
    ]
    block = len(b.lines) * LINE + len(b.sub) * SMALL_LINE
    y = b.y + (b.height - block) / 2 + FONT - 0.5
    for line in b.lines:
        parts.append(f'<text x="{b.x + PAD_X:.1f}" y="{y:.1f}">{escape(line)}</text>')
        y += LINE
    for line in b.sub:
        parts.append(
            f'<text x="{b.x + PAD_X:.1f}" y="{y - 1:.1f}" font-size="{SMALL:g}" fill="#333">'
            f"{escape(line)}</text>"
        )
        y += SMALL_LINE
    parts.append("</g>")
    return "".join(parts)
