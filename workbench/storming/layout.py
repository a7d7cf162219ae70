"""The timeline: where each sticky goes on the wall.

A storming wall reads left to right, in the order a process runs:
command → aggregate → event → policy → the next command. The layout follows it:

- **Swimlanes**: one band per application, upstream first (an application whose
  events a policy turns into another one's commands goes above it).
- **Steps**: a command with the aggregates it acts on and the events it records. As
  on a wall, the aggregate (and an event two commands record) is drawn once per step,
  so no link runs across the board to a shared sticky.
- **Ranks**: a step a policy starts goes one rank to the right of the first step
  whose event the policy follows; every other step is at rank 0, in the order the
  application's code lists its commands. A policy sits between its rank's events and
  the next rank's commands, level with the event it follows; the step it starts is
  placed level with it. A process application's policy records events itself: its
  step has no command.
- **Labels are never cut**: they wrap (:mod:`workbench.storming.text`) and the
  sticky grows to hold them. A command's label leaves out its application (the lane
  says it), an event's its aggregate (the sticky beside it says it).
- **Read models** go in a row under the lanes, each listing the events that feed it.

Everything here is data (:class:`Layout`), so tests check positions, not pixels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from workbench.storming.board import Board, Sticky
from workbench.storming.text import SMALL, text_width, wrap

__all__ = ["Box", "Edge", "Lane", "Layout", "layout"]

LINE = 15.0
SMALL_LINE = 13.0
PAD_X = 7.0
PAD_Y = 7.0
MIN_HEIGHT = 34.0
MIN_WIDTH = 84.0
MAX_WIDTH: dict[str, float] = {
    "command": 122.0,
    "aggregate": 110.0,
    "event": 122.0,
    "policy": 142.0,
    "read model": 200.0,
}
"""Widest a sticky of each kind gets; longer labels wrap."""
GAP = 18.0
"""Between columns."""
STEP_GAP = 12.0
"""Between two steps in a column."""
EVENT_GAP = 6.0
"""Between the events of one aggregate in a step."""
MARGIN = 16.0
HEADER = 62.0
"""Title and legend."""
LANE_HEADER = 22.0
LANE_GAP = 10.0


@dataclass(frozen=True)
class Box:
    """One sticky as drawn (a sticky may be drawn in several steps)."""

    kind: str
    name: str
    x: float
    y: float
    width: float
    height: float
    lines: tuple[str, ...]
    """The label, wrapped; joined, it is the whole label."""
    lane: str
    rank: int
    tooltip: str = ""
    sub: tuple[str, ...] = ()
    """Smaller lines under the label (what feeds a read model)."""
    dashed: bool = False
    """A command in which no event was found."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def middle(self) -> float:
        return self.y + self.height / 2


@dataclass(frozen=True)
class Edge:
    """An arrow from one box to another (indices into :attr:`Layout.boxes`)."""

    source: int
    target: int
    kind: str = "flow"
    """``"flow"`` (inside a step) or ``"policy"`` (into or out of a policy)."""


@dataclass(frozen=True)
class Lane:
    """The band of one application."""

    name: str
    top: float
    bottom: float


@dataclass
class Layout:
    """Where everything goes: boxes, arrows, lanes, and the size of the picture."""

    title: str
    boxes: list[Box] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    lanes: list[Lane] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0

    def find(self, kind: str, name: str) -> list[Box]:
        """Every box of one sticky."""
        return [b for b in self.boxes if b.key == (kind, name)]

    def arrows(self) -> list[tuple[Box, Box]]:
        return [(self.boxes[e.source], self.boxes[e.target]) for e in self.edges]


@dataclass
class _Step:
    trigger: Sticky | None
    """The command (or a process application's policy, drawn in the previous rank)."""
    lane: str
    groups: list[tuple[str | None, list[str]]]
    """(aggregate or None, its events) in the order they happen."""
    order: int
    causes: list[tuple[str, str]] = field(default_factory=list)
    """The policies that start this step."""
    rank: int | None = None

    @property
    def events(self) -> list[str]:
        return [e for _, events in self.groups for e in events]


def _steps(board: Board) -> tuple[list[_Step], dict[tuple[str, str], str]]:
    """The steps of the board, and the lane of every policy that has one."""
    aggregate_of: dict[str, str] = {}
    for link in board.links:
        if link.source[0] == "aggregate" and link.target[0] == "event":
            aggregate_of.setdefault(link.target[1], link.source[1])
    event_order = {s.name: i for i, s in enumerate(board.of_kind("event"))}
    default_lane = board.lanes[0] if board.lanes else ""

    def groups(events: Iterable[str]) -> list[tuple[str | None, list[str]]]:
        found: dict[str | None, list[str]] = {}
        for e in sorted(set(events), key=lambda n: event_order.get(n, 0)):
            found.setdefault(aggregate_of.get(e), []).append(e)
        return list(found.items())

    steps: list[_Step] = []
    recorded: set[str] = set()
    for command in board.of_kind("command"):
        events = [e for c, e in board.recorded_by if c == command.name]
        recorded.update(events)
        causes = [link.source for link in board.links if link.target == command.key]
        steps.append(
            _Step(command, command.app or default_lane, groups(events), len(steps), causes)
        )
    policy_lane: dict[tuple[str, str], str] = {}
    for policy in board.of_kind("policy"):
        if policy.app:
            policy_lane[policy.key] = policy.app
        events = [t[1] for t in _targets(board, policy.key) if t[0] == "event"]
        if events:
            recorded.update(events)
            lane = policy.app or default_lane
            steps.append(_Step(policy, lane, groups(events), len(steps), [policy.key]))
    lane_of_aggregate: dict[str, str] = {}
    for step in steps:
        for aggregate, _ in step.groups:
            if aggregate is not None:
                lane_of_aggregate.setdefault(aggregate, step.lane)
    leftover = [e.name for e in board.of_kind("event") if e.name not in recorded]
    for aggregate, events in groups(leftover):
        lane = lane_of_aggregate.get(aggregate or "", default_lane)
        steps.append(_Step(None, lane, [(aggregate, events)], len(steps) + 10_000))
    shown = {a for step in steps for a, _ in step.groups}
    for unused in board.of_kind("aggregate"):
        if unused.name not in shown:
            steps.append(_Step(None, default_lane, [(unused.name, [])], len(steps) + 10_000))
    return steps, policy_lane


def _targets(board: Board, key: tuple[str, str]) -> list[tuple[str, str]]:
    return [link.target for link in board.links if link.source == key]


def _rank(board: Board, steps: list[_Step]) -> dict[tuple[str, str], int]:
    """Ranks of steps (set on them) and of policies (returned)."""
    follows: dict[tuple[str, str], set[str]] = {}
    for link in board.links:
        if link.source[0] == "event" and link.target[0] == "policy":
            follows.setdefault(link.target, set()).add(link.source[1])
    for step in steps:
        step.rank = None if step.causes else 0
    policy_rank: dict[tuple[str, str], int] = {}
    for _ in range(len(steps) + len(follows) + 2):
        changed = False
        for policy, events in follows.items():
            ranks = [s.rank for s in steps if s.rank is not None and events & set(s.events)]
            if ranks and policy_rank.get(policy) != min(ranks):
                policy_rank[policy] = min(ranks)
                changed = True
        for step in steps:
            ranks = [policy_rank[p] + 1 for p in step.causes if p in policy_rank]
            if ranks and step.rank != min(ranks):
                step.rank = min(ranks)
                changed = True
        if not changed:
            break
    for step in steps:
        if step.rank is None:
            step.rank = 0
    for sticky in board.of_kind("policy"):
        if sticky.key not in policy_rank:  # no step records what it follows
            started = [s.rank or 0 for s in steps if sticky.key in s.causes]
            policy_rank[sticky.key] = max(min(started) - 1, 0) if started else 0
    return policy_rank


def _lane_order(
    board: Board, steps: list[_Step], policy_lane: dict[tuple[str, str], str]
) -> list[str]:
    """Lanes, an application above those its events lead to through policies."""
    names = list(dict.fromkeys([*board.lanes, *(s.lane for s in steps)]))
    lane_of_event: dict[str, str] = {}
    for step in sorted(steps, key=lambda s: (s.rank or 0, s.order)):
        for event in step.events:
            lane_of_event.setdefault(event, step.lane)
    flows: set[tuple[str, str]] = set()
    for link in board.links:
        if link.source[0] == "event" and link.target[0] == "policy":
            upstream = lane_of_event.get(link.source[1])
            for step in steps:
                if link.target in step.causes and upstream and upstream != step.lane:
                    flows.add((upstream, step.lane))
    for policy, lane in policy_lane.items():
        for link in board.links:
            if link.target == policy and link.source[1] in lane_of_event:
                upstream = lane_of_event[link.source[1]]
                if upstream != lane:
                    flows.add((upstream, lane))
    ordered: list[str] = []
    pending = list(names)
    while pending:
        for name in pending:
            if not any(b == name and a in pending and a != name for a, b in flows):
                break
        else:
            name = pending[0]  # a cycle: keep the given order
        ordered.append(name)
        pending.remove(name)
    return ordered


def _label(sticky: Sticky) -> str:
    """What a sticky says on the wall: a command without its application (the lane says
    it), an event without its aggregate (the sticky beside it says it)."""
    if sticky.kind == "command" and sticky.app and sticky.name.startswith(sticky.app + "."):
        return sticky.name[len(sticky.app) + 1 :]
    if sticky.kind == "event" and "." in sticky.name:
        return sticky.name.rsplit(".", 1)[-1]
    return sticky.name


def _tooltip(sticky: Sticky) -> str:
    return f"{sticky.kind}: {sticky.name}" + (f" — {sticky.detail}" if sticky.detail else "")


def _height(lines: int, sub: int = 0) -> float:
    return max(MIN_HEIGHT, 2 * PAD_Y + lines * LINE + sub * SMALL_LINE - 3)


def _sources(board: Board, key: tuple[str, str]) -> set[tuple[str, str]]:
    return {link.source for link in board.links if link.target == key}


class _Placer:
    """Puts boxes on the wall, column by column, lane by lane."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.stickies = {s.key: s for s in board.stickies}
        self.widths: dict[str, float] = {}
        for kind, widest in MAX_WIDTH.items():
            labels = [_label(s) for s in board.stickies if s.kind == kind]
            natural = max((text_width(label) for label in labels), default=0.0) + 2 * PAD_X
            self.widths[kind] = min(max(natural, MIN_WIDTH), widest)
        w = self.widths
        self.stride = w["command"] + w["aggregate"] + w["event"] + w["policy"] + 4 * GAP
        self.result = Layout(title=board.title, notes=list(board.notes))
        self.step_boxes: dict[int, list[int]] = {}
        """Step → every box drawn for it."""
        self.entries: dict[int, list[int]] = {}
        """Step → the boxes an arrow into the step points at (its command, or aggregates)."""
        self.policy_box: dict[tuple[str, str], int] = {}
        """Policy → its first sticky (the one with arrows to what the policy starts)."""
        self.tops: dict[int, float] = {}
        self.edges: list[Edge] = []

    def x(self, kind: str, rank: int) -> float:
        x = MARGIN + rank * self.stride
        for before in ("command", "aggregate", "event", "policy"):
            if before == kind:
                return x
            x += self.widths[before] + GAP
        raise ValueError(f"no column for {kind!r}")

    def lines(self, sticky: Sticky) -> tuple[str, ...]:
        return wrap(_label(sticky), self.widths[sticky.kind] - 2 * PAD_X)

    def height(self, sticky: Sticky) -> float:
        return _height(len(self.lines(sticky)))

    def box(
        self,
        sticky: Sticky,
        x: float,
        y: float,
        lane: str,
        rank: int,
        sub: tuple[str, ...] = (),
        dashed: bool = False,
    ) -> int:
        lines = self.lines(sticky)
        tooltip = _tooltip(sticky)
        if dashed:
            tooltip += " (no event found in its code: a query?)"
        self.result.boxes.append(
            Box(
                sticky.kind,
                sticky.name,
                x,
                y,
                self.widths[sticky.kind],
                _height(len(lines), len(sub)),
                lines,
                lane,
                rank,
                tooltip=tooltip,
                sub=sub,
                dashed=dashed,
            )
        )
        return len(self.result.boxes) - 1

    def step_height(self, step: _Step) -> float:
        height = 0.0
        for aggregate, events in step.groups:
            span = sum(self.height(self.stickies[("event", e)]) for e in events)
            span += EVENT_GAP * max(len(events) - 1, 0)
            if aggregate is not None:
                span = max(span, self.height(self.stickies[("aggregate", aggregate)]))
            height += span + EVENT_GAP
        height = max(height - EVENT_GAP, 0.0)
        if step.trigger is not None and step.trigger.kind == "command":
            height = max(height, self.height(step.trigger))
        return height

    def place_step(self, step: _Step, top: float) -> None:
        rank = step.rank or 0
        boxes: list[int] = []
        entries: list[int] = []
        command: int | None = None
        if step.trigger is not None and step.trigger.kind == "command":
            x = self.x("command", rank)
            command = self.box(step.trigger, x, top, step.lane, rank, dashed=not step.groups)
            boxes.append(command)
        y = top
        for aggregate, events in step.groups:
            first = y
            event_boxes = []
            for event in events:
                sticky = self.stickies[("event", event)]
                event_boxes.append(self.box(sticky, self.x("event", rank), y, step.lane, rank))
                y = self.result.boxes[event_boxes[-1]].bottom + EVENT_GAP
            span = max(y - EVENT_GAP - first, 0.0)
            if aggregate is None:
                entries.extend(event_boxes)
            else:
                sticky = self.stickies[("aggregate", aggregate)]
                top_of = first + max((span - self.height(sticky)) / 2, 0.0)
                a = self.box(sticky, self.x("aggregate", rank), top_of, step.lane, rank)
                y = max(y, self.result.boxes[a].bottom + EVENT_GAP)
                entries.append(a)
                boxes.append(a)
                self.edges.extend(Edge(a, e) for e in event_boxes)
            boxes.extend(event_boxes)
        if command is not None:
            self.edges.extend(Edge(command, e) for e in entries)
            entries = [command]
        self.step_boxes[step.order] = boxes
        self.entries[step.order] = entries
        self.tops[step.order] = top

    def stack(
        self, wanted: list[tuple[float, int, float]], start: float
    ) -> tuple[list[tuple[int, float]], float]:
        """(index, top) for items wanting a top, in order, none overlapping; and the end."""
        placed = []
        at = start
        for target, index, height in sorted(wanted):
            top = max(at, target)
            placed.append((index, top))
            at = top + height + STEP_GAP
        return placed, at


def layout(board: Board) -> Layout:
    """Place every sticky of ``board`` on the timeline."""
    steps, policy_lane = _steps(board)
    policy_rank = _rank(board, steps)
    lanes = _lane_order(board, steps, policy_lane)
    lane_of_policy = _policy_lanes(board, steps, policy_lane, lanes)
    ranks = max([s.rank or 0 for s in steps] + list(policy_rank.values()) + [0])
    p = _Placer(board)
    result = p.result
    y = HEADER
    for lane in lanes:
        top = y + LANE_HEADER
        ends = [top + MIN_HEIGHT + STEP_GAP]
        mine = [s for s in steps if s.lane == lane]
        roots = [s for s in mine if s.rank == 0]
        # queries (commands with no event) last, then events no command records
        roots.sort(key=lambda s: (s.trigger is None, not s.groups, s.order))
        wanted = [(top, i, p.step_height(s)) for i, s in enumerate(roots)]
        placed, end = p.stack(wanted, top)
        for i, at in placed:
            p.place_step(roots[i], at)
        ends.append(end)
        for rank in range(ranks + 1):
            # One policy sticky after each step whose events it follows (as on a wall),
            # so no two arrows meet at one policy from far apart.
            copies: list[tuple[Sticky, list[int]]] = []
            for s in sorted((s for s in mine if s.rank == rank), key=lambda s: p.tops[s.order]):
                for key, r in policy_rank.items():
                    follows = _sources(board, key)
                    triggers = [
                        b
                        for b in p.step_boxes.get(s.order, [])
                        if result.boxes[b].kind == "event" and result.boxes[b].key in follows
                    ]
                    if r == rank and triggers:
                        copies.append((p.stickies[key], triggers))
            copies += [  # a policy whose events no step records: at the top
                (p.stickies[key], [])
                for key, r in policy_rank.items()
                if r == rank
                and lane_of_policy[key] == lane
                and not _triggered_at(board, key, rank, steps)
            ]
            wanted = []
            for i, (policy, triggers) in enumerate(copies):
                ys = [result.boxes[b].middle for b in triggers]
                height = p.height(policy)
                target = sum(ys) / len(ys) - height / 2 if ys else top
                wanted.append((max(target, top), i, height))
            placed, end = p.stack(wanted, top)
            ends.append(end)
            for i, at in placed:
                sticky, triggers = copies[i]
                index = p.box(sticky, p.x("policy", rank), at, lane, rank)
                p.policy_box.setdefault(sticky.key, index)
                p.edges.extend(Edge(b, index, "policy") for b in triggers)
            later = [s for s in mine if s.rank == rank + 1]
            wanted = []
            for i, s in enumerate(later):
                ys = [result.boxes[p.policy_box[c]].y for c in s.causes if c in p.policy_box]
                target = sum(ys) / len(ys) if ys else top
                wanted.append((max(target, top), i, p.step_height(s)))
            placed, end = p.stack(wanted, top)
            ends.append(end)
            for i, at in placed:
                p.place_step(later[i], at)
        bottom = max(ends) - STEP_GAP + LANE_GAP
        result.lanes.append(Lane(lane, y, bottom))
        y = bottom + LANE_GAP
    _policy_arrows(steps, p)
    result.edges = p.edges
    y = _read_models(board, p, y)
    right = max((b.right for b in result.boxes), default=0.0)
    result.width = max(right + MARGIN, text_width(board.title, 16) + 2 * MARGIN, 520.0)
    result.height = y + MARGIN
    return result


def _policy_arrows(steps: list[_Step], p: _Placer) -> None:
    """Arrows from a policy (its first sticky) to the steps it starts."""
    for key, index in p.policy_box.items():
        for step in steps:
            if key in step.causes:
                p.edges.extend(Edge(index, t, "policy") for t in p.entries.get(step.order, []))


def _triggered_at(board: Board, key: tuple[str, str], rank: int, steps: list[_Step]) -> bool:
    """True when a step of this rank records an event the policy follows."""
    follows = {source[1] for source in _sources(board, key)}
    return any(s.rank == rank and follows & set(s.events) for s in steps)


def _read_models(board: Board, p: _Placer, y: float) -> float:
    """Read models in rows under the lanes, each saying which events feed it."""
    models = board.of_kind("read model")
    if not models:
        return y
    boxes = p.result.boxes
    right = max([b.right for b in boxes] + [MARGIN + 2 * p.stride / 3])
    top = y + LANE_HEADER
    x = MARGIN
    bottom = top
    width = p.widths["read model"]
    for model in models:
        fed = sorted({_label(p.stickies[s]) for s in _sources(board, model.key) if s in p.stickies})
        sub = wrap("← " + ", ".join(fed), width - 2 * PAD_X, SMALL) if fed else ()
        if x + width > right and x > MARGIN:
            x = MARGIN
            top = bottom + STEP_GAP
        index = p.box(model, x, top, "read models", 0, sub=sub)
        bottom = max(bottom, boxes[index].bottom)
        x += width + GAP
    p.result.lanes.append(Lane("read models", y, bottom + LANE_GAP))
    return bottom + LANE_GAP


def _policy_lanes(
    board: Board,
    steps: list[_Step],
    policy_lane: dict[tuple[str, str], str],
    lanes: list[str],
) -> dict[tuple[str, str], str]:
    """A policy goes next to the first event it follows (else in its application's lane)."""
    found: dict[tuple[str, str], str] = {}
    by_rank = sorted(steps, key=lambda s: (s.rank or 0, s.order))
    for policy in board.of_kind("policy"):
        events = {source[1] for source in _sources(board, policy.key) if source[0] == "event"}
        first = next((s for s in by_rank if events & set(s.events)), None)
        if first is not None:
            found[policy.key] = first.lane
        elif policy.key in policy_lane:
            found[policy.key] = policy_lane[policy.key]
        else:
            started = next((s for s in by_rank if policy.key in s.causes), None)
            found[policy.key] = started.lane if started else (lanes[0] if lanes else "")
    return found
