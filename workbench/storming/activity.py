"""Event storming as an activity: storm a scenario yourself, then compare with the code.

An attendee puts stickies on a timeline for a scenario (events first, in the past
tense; then the commands that cause them and the policies that join them), then
compares the wall with the one drawn from the code. The comparison says what is
missing, what is extra, what is out of order, and which stickies are only spelled
differently from the code (those count as found: the hint says what the code calls
them).

>>> from workbench.examples.ticketing import Ticketing
>>> from workbench.storming import storming_board
>>> activity = StormingActivity("A customer buys tickets", commands=["reserve_tickets", "pay"])
>>> activity.add("event", "Tickets reserved")
Sticky(kind='event', name='Tickets reserved', detail='', app='')
>>> result = activity.compare(storming_board(Ticketing))
>>> result.missing_names()
['TicketPurchase.Started', 'TicketPurchase.Paid']

**The scenario from the code.** A scenario is named by the commands people issue in
it, in order (``commands=``). The code says the rest (:func:`scenario_timeline`): the
events each command records, the policies that follow those events and start a later
command of the scenario (or start no command, such as sending an e-mail), and the
aggregates each command acts on.

**What is compared.** The kinds of sticky on the attendee's board (always events):
storm the events first and only they are judged; add commands or policies and they
are judged too. Aggregates and read models are compared as sets, not in order.

**Names.** Case, spacing, ``_`` and dots never matter (``TicketsReserved`` is
*Tickets reserved*). Plural and tense are near-misses (*Ticket reserve* for
``TicketsReserved``), as are typos, the aggregate's name in front (*Purchase paid*) and
a name with words left out (*Reserved*): they count as found, and the hint gives the
code's name. A policy matches when it names what the code's policy does (the words
after ``→`` in the code: *issue free tickets*).

The wall draws itself with the board's look (:mod:`workbench.storming.drawing`): the
stickies in the order of the timeline, left to right, wrapping onto the next row.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from workbench.exercises import verdict
from workbench.storming.board import KINDS, Board, Kind, Sticky
from workbench.storming.drawing import draw
from workbench.storming.layout import (
    GAP,
    HEADER,
    LANE_GAP,
    LANE_HEADER,
    LINE,
    MARGIN,
    MAX_WIDTH,
    MIN_HEIGHT,
    MIN_WIDTH,
    PAD_X,
    PAD_Y,
    Box,
    Edge,
    Lane,
    Layout,
)
from workbench.storming.text import text_width, wrap

__all__ = [
    "Comparison",
    "Expected",
    "Match",
    "StormingActivity",
    "normalise",
    "scenario_timeline",
]

WIDTH = 900.0
"""Widest a drawn timeline gets before it wraps onto the next row (fits a notebook)."""
ROW_GAP = 26.0

_ALIASES = {
    "read-model": "read model",
    "readmodel": "read model",
    "read_model": "read model",
    "view": "read model",
    "domain event": "event",
}
_ORDERED: tuple[Kind, ...] = ("command", "event", "policy")
"""Kinds whose place on the timeline is checked (aggregates and read models are sets)."""
_PHASE = {"command": 0, "aggregate": 1, "event": 2, "policy": 3, "read model": 4}

_STOP = {
    "a", "an", "the", "of", "for", "to", "is", "are", "was", "were", "be", "been", "has",
    "have", "had", "by", "and", "then", "when", "whenever", "if", "on", "it", "its", "we",
}  # fmt: skip
_IRREGULAR = {
    "paid": "pay",
    "sent": "send",
    "sold": "sell",
    "bought": "buy",
    "gave": "give",
    "given": "give",
    "made": "make",
    "taken": "take",
    "took": "take",
    "held": "hold",
    "told": "tell",
    "left": "leave",
    "met": "meet",
    "began": "begin",
    "begun": "begin",
    "wrote": "write",
    "written": "write",
    "chose": "choose",
    "chosen": "choose",
    "won": "win",
    "lost": "lose",
    "went": "go",
    "gone": "go",
    "done": "do",
    "did": "do",
    "got": "get",
}
"""Past forms that no suffix rule finds."""
_TOKENS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def _stem(word: str) -> str:
    """One word without plural or tense: ``reserved``, ``reserves``, ``reserve`` → ``reserv``."""
    word = _IRREGULAR.get(word, word)
    for suffix in ("ing", "ied", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                break
            word = word[: -len(suffix)] + ("y" if suffix in ("ied", "ies") else "")
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    if word.endswith("ll") and len(word) > 4:
        word = word[:-1]
    if word.endswith("y") and len(word) > 2:
        word = word[:-1] + "i"
    return word


def normalise(text: str) -> tuple[str, ...]:
    """The words of a sticky without case, spacing, plural or tense (stop words left out).

    >>> normalise("Tickets reserved") == normalise("TicketReserve") == normalise("ticket_reserved")
    True
    >>> normalise("Sponsor.ContractSigned")
    ('sponsor', 'contract', 'sign')
    """
    words = [w.lower() for w in _TOKENS.findall(text)]
    return tuple(_stem(w) for w in words if w not in _STOP)


def _flat(text: str) -> str:
    """Only letters and digits, lower case: what is the same however it is spaced."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _label(sticky: Sticky) -> str:
    """What the code's sticky says on the wall: an event without its aggregate, a command
    without its application."""
    if sticky.kind in ("event", "command") and "." in sticky.name:
        return sticky.name.rsplit(".", 1)[-1]
    return sticky.name


def _owner(sticky: Sticky) -> str:
    """The aggregate of an event, the application of a command ("" for the rest)."""
    if sticky.kind in ("event", "command") and "." in sticky.name:
        return sticky.name.rsplit(".", 1)[0]
    return ""


# The scenario as the code tells it -------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """One sticky of the code's timeline for a scenario."""

    sticky: Sticky
    step: int
    """Which of the scenario's commands it belongs to (0 for the first)."""

    @property
    def order(self) -> tuple[int, int]:
        """Where it goes on the timeline; stickies of one step and kind are in no order."""
        return (self.step, _PHASE[self.sticky.kind])


def _find_command(board: Board, name: str) -> Sticky:
    commands = board.of_kind("command")
    for sticky in commands:
        if sticky.name == name or sticky.name.rsplit(".", 1)[-1] == name:
            return sticky
    known = ", ".join(_label(s) for s in commands) or "none"
    raise KeyError(
        f"the board from code has no command {name!r}: name the scenario's commands as "
        f"the code does; its commands are: {known}"
    )


def scenario_timeline(board: Board, commands: Sequence[str]) -> list[Expected]:
    """The code's timeline of a scenario: for each of ``commands`` (in order), the command,
    the aggregates it acts on and the events it records; then the policies that follow
    those events and start a later command of the scenario (or start no command); and,
    at the end, the read models those events feed.

    >>> from workbench.examples.ticketing import Ticketing
    >>> from workbench.storming import storming_board
    >>> [e.sticky.name for e in scenario_timeline(storming_board(Ticketing), ["pay"])]
    ['pay', 'TicketPurchase', 'TicketPurchase.Paid']
    """
    if isinstance(commands, str):
        commands = [commands]
    steps = [_find_command(board, name) for name in commands]
    event_order = {s.name: i for i, s in enumerate(board.of_kind("event"))}
    timeline: list[Expected] = []
    for step, command in enumerate(steps):
        timeline.append(Expected(command, step))
        for link in board.links:
            if link.source == command.key and link.target[0] == "aggregate":
                timeline.append(Expected(board.sticky("aggregate", link.target[1]), step))
        events = sorted(
            {e for c, e in board.recorded_by if c == command.name},
            key=lambda n: event_order.get(n, 0),
        )
        timeline.extend(Expected(board.sticky("event", e), step) for e in events)
        for policy in board.of_kind("policy"):
            follows = {k.source[1] for k in board.links if k.target == policy.key}
            starts = {k.target for k in board.links if k.source == policy.key}
            commands_started = {t for t in starts if t[0] == "command"}
            later = {s.key for s in steps[step + 1 :]}
            if not follows & set(events):
                continue
            if commands_started and not commands_started & later:
                continue  # it starts a command of another scenario (a timeout, say)
            timeline.append(Expected(policy, step))
    recorded = {e.sticky.key for e in timeline if e.sticky.kind == "event"}
    for model in board.of_kind("read model"):  # fed by the scenario's events: at the end
        if any(k.source in recorded for k in board.links if k.target == model.key):
            timeline.append(Expected(model, len(steps)))
    return timeline


# Comparing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """One of your stickies and the code's sticky it stands for."""

    position: int
    """Where yours is on your timeline (0 for the first)."""
    yours: Sticky
    code: Expected
    near: bool = False
    """Spelled differently from the code (plural, tense, a typo, words left out)."""

    @property
    def code_name(self) -> str:
        return _label(self.code.sticky)


@dataclass
class Comparison:
    """Your board against the code's timeline of the same scenario."""

    title: str
    kinds: tuple[Kind, ...]
    """The kinds of sticky compared."""
    yours: list[Sticky]
    code: list[Expected]
    matched: list[Match] = field(default_factory=list)
    missing: list[Expected] = field(default_factory=list)
    """On the code's timeline, not on yours."""
    extra: list[tuple[int, Sticky]] = field(default_factory=list)
    """On yours (position, sticky), not on the code's."""
    wrong_kind: list[tuple[int, Sticky, Expected]] = field(default_factory=list)
    """Yours, named like a code sticky of another kind (a command written as an event)."""
    out_of_order: list[tuple[Match, str]] = field(default_factory=list)
    """Yours in a different place than in the code, with what the code says instead."""

    @property
    def near_misses(self) -> list[Match]:
        """Found, but spelled differently from the code."""
        return [m for m in self.matched if m.near]

    @property
    def correct(self) -> bool:
        return bool(self.yours) and not (
            self.missing or self.extra or self.wrong_kind or self.out_of_order
        )

    def missing_names(self) -> list[str]:
        return [e.sticky.name for e in self.missing]

    def extra_names(self) -> list[str]:
        return [s.name for _, s in self.extra]

    def _check(self) -> str:
        problems: list[str] = []
        if not self.yours:
            raise AssertionError("your board is empty: nothing to compare yet")
        if self.missing:
            counts: dict[str, int] = {}
            for e in self.missing:
                counts[e.sticky.kind] = counts.get(e.sticky.kind, 0) + 1
            problems.append(
                "missing: "
                + ", ".join(f"{n} {_plural(kind, n)}" for kind, n in counts.items())
                + " the code has"
                + _where(self)
            )
        if self.extra:
            problems.append(
                "not in the code: " + ", ".join(f"{s.kind} {s.name!r}" for _, s in self.extra)
            )
        for _, s, e in self.wrong_kind:
            problems.append(f"{s.name!r} is {_a(e.sticky.kind)} in the code, not {_a(s.kind)}")
        problems.extend(message for _, message in self.out_of_order)
        assert not problems, "; ".join(problems)
        found = len(self.matched)
        return (
            f"your board tells the code's story: {found} {_plural('sticky', found)} "
            f"({', '.join(self.kinds)}), in order." + self._spelling()
        )

    def _spelling(self) -> str:
        near = self.near_misses
        if not near:
            return ""
        return (
            " The code spells "
            + ", ".join(f"{m.yours.name!r} as {m.code_name}" for m in near)
            + "."
        )

    def hint(self) -> str:
        """What to do next, without giving the answer away."""
        if not self.yours:
            return (
                "put the first thing that happens on the board, as an event in the past tense: "
                'activity.add("event", "...")'
            )
        if self.wrong_kind:
            return (
                "an event is a fact in the past (Tickets reserved); a command is a task "
                "(reserve tickets); a policy says 'whenever ..., do ...'"
            )
        if self.out_of_order:
            return "move a sticky: the timeline reads left to right, in the order things happen"
        if self.missing:
            first = self.missing[0].sticky
            return (
                f"think of what happens {_where_one(self, self.missing[0])}: the code has "
                f"{_a(first.kind)} there." + self._spelling()
            )
        if self.extra:
            return (
                "the code does not record what is not on its timeline: remove it, or is it "
                "part of another scenario?" + self._spelling()
            )
        return "compare your board with the code's board below"

    def verdict(self) -> str:
        """``Correct: ...`` or ``Not yet: ...`` and ``Hint: ...`` (workbench.exercises)."""
        return verdict(self._check, hint=self.hint())

    def layout(self) -> Layout:
        """Your timeline above the code's (the kinds compared), differences marked."""
        return self._drawn()[0]

    def _drawn(self) -> tuple[Layout, Marks]:
        marks: dict[int, str] = {}
        for position, _ in self.extra:
            marks[position] = "extra"
        for position, _, _ in self.wrong_kind:
            marks[position] = "wrong kind"
        for m in self.near_misses:
            marks[m.position] = "spelled"
        for m, _ in self.out_of_order:
            marks[m.position] = "order"
        missing = {id(e) for e in self.missing}
        code = [(n, e) for n, e in enumerate(self.code) if e.sticky.kind in self.kinds]
        code_marks = {n: "missing" for n, e in code if id(e) in missing}
        code_stickies = [
            (n, Sticky(e.sticky.kind, _label(e.sticky), e.sticky.detail)) for n, e in code
        ]
        result = Layout(title=f"{self.title}: your board and the code's")
        marked: Marks = {}
        y = _lane(result, "Your board", list(enumerate(self.yours)), HEADER, marks, marked)
        y = _lane(result, "From the code", code_stickies, y + LANE_GAP, code_marks, marked)
        result.height = y + MARGIN
        result.notes.append(
            "Marked: missing (in the code, not on yours), extra (not in the code), order (in "
            "another place in the code), spelled (found, spelled differently), wrong kind."
        )
        return result, marked

    def to_svg(self) -> str:
        """The comparison as a picture: your timeline above the code's, differences marked."""
        layout, marked = self._drawn()
        return _picture(layout, marked, self._describe())

    def _describe(self) -> str:
        text = self.verdict().replace("\n", " ")
        return f"{self.title}: your board and the board from code. {text}"

    def _repr_html_(self) -> str:
        return (
            f'<div class="wb-storming wb-storming-comparison">{self.to_svg()}'
            f'<pre class="wb-verdict">{escape(self.verdict())}</pre></div>'
        )

    def __repr__(self) -> str:
        return self.verdict()


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _plural(word: str, n: int) -> str:
    if n == 1:
        return word
    return {"policy": "policies", "sticky": "stickies"}.get(word, word + "s")


def _where_one(result: Comparison, missing: Expected) -> str:
    """Where a missing sticky goes, in the words of your own board."""
    before = [m for m in result.matched if m.code.order < missing.order]
    after = [m for m in result.matched if m.code.order > missing.order]
    if before:
        last = max(before, key=lambda m: m.code.order)
        return f"after {last.yours.name!r}"
    if after:
        first = min(after, key=lambda m: m.code.order)
        return f"before {first.yours.name!r}"
    return "in this scenario"


def _where(result: Comparison) -> str:
    first = result.missing[0]
    return f" (the first {_where_one(result, first)})" if result.matched else ""


def _similarity(yours: Sticky, code: Sticky) -> float:
    """How alike two names are: 1.0 for the same name, 0 for nothing alike; above
    :data:`NEAR` a near-miss (plural, tense, a typo, the aggregate's name in front, words
    left out). A policy is alike when it names what the code's policy does."""
    if yours.kind != code.kind:
        return 0.0
    if _flat(yours.name) in (_flat(code.name), _flat(_label(code))):
        return 1.0
    mine = set(normalise(yours.name))
    if code.kind == "policy" and "→" in code.name:
        reaction = set(normalise(code.name.split("→", 1)[1]))
        return 1.0 if reaction and reaction <= mine else 0.0
    owner = set(normalise(_owner(code)))
    theirs = set(normalise(_label(code)))
    mine_own = mine - owner or mine
    if not mine or not theirs:
        return 0.0
    if mine_own == theirs - owner or mine == theirs:
        return 0.99
    a, b = " ".join(sorted(mine_own)), " ".join(sorted(theirs))
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    if ratio >= 0.85:
        return ratio * 0.98
    if mine_own < theirs:  # words left out: "Reserved" for TicketsReserved
        return NEAR + 0.1 * len(mine_own) / len(theirs)
    return 0.0


NEAR = 0.8
"""Names at least this alike are a near-miss: found, with the code's name in the hint."""


def _best(sticky: Sticky, free: list[Expected], exact: bool, other_kind: bool) -> Expected | None:
    """The code's sticky most like ``sticky`` (of its kind, or of another kind)."""
    scores = []
    for n, e in enumerate(free):
        if (e.sticky.kind != sticky.kind) != other_kind:
            continue
        score = _similarity(Sticky(e.sticky.kind, sticky.name), e.sticky)
        if (score == 1.0) if exact else (score >= NEAR):
            scores.append((score, -n, e))
    return max(scores, key=lambda t: t[:2])[2] if scores else None


def _compare(
    title: str, yours: list[Sticky], code: list[Expected], kinds: tuple[Kind, ...]
) -> Comparison:
    result = Comparison(title, kinds, list(yours), code)
    wanted = [e for e in code if e.sticky.kind in kinds]
    seen: set[tuple[str, str]] = set()
    deduped = []
    for e in wanted:  # aggregates are a set: one sticky each, however many steps use it
        if e.sticky.kind == "aggregate" and e.sticky.key in seen:
            continue
        seen.add(e.sticky.key)
        deduped.append(e)
    mine = [(i, s) for i, s in enumerate(yours) if s.kind in kinds]
    free = list(deduped)
    matched: dict[int, Match] = {}
    wrong_kind: dict[int, tuple[Sticky, Expected]] = {}
    for exact in (True, False):
        for other_kind in (False, True):  # a name of another kind: the wrong kind
            for position, sticky in mine:
                if position in matched or position in wrong_kind:
                    continue
                hit = _best(sticky, free, exact, other_kind)
                if hit is None:
                    continue
                free.remove(hit)
                if other_kind:
                    wrong_kind[position] = (sticky, hit)
                else:
                    matched[position] = Match(position, sticky, hit, near=not exact)
    pending = [(p, s) for p, s in mine if p not in matched and p not in wrong_kind]
    for position, sticky in mine:  # your aggregate twice: once is enough
        if position not in matched and sticky.kind == "aggregate":
            twin = next((m for m in matched.values() if m.yours.key == sticky.key), None)
            if twin is not None:
                matched[position] = Match(position, sticky, twin.code, twin.near)
                pending = [p for p in pending if p[0] != position]
    result.matched = [matched[p] for p in sorted(matched)]
    result.wrong_kind = [(p, s, e) for p, (s, e) in sorted(wrong_kind.items())]
    result.extra = pending
    result.missing = free
    result.out_of_order = _out_of_order([m for m in result.matched if m.yours.kind in _ORDERED])
    return result


def _out_of_order(matches: list[Match]) -> list[tuple[Match, str]]:
    """The matches not on the longest run that agrees with the code's order."""
    n = len(matches)
    if n < 2:
        return []
    best = [1] * n
    back = [-1] * n
    for i in range(n):
        for j in range(i):
            if matches[j].code.order <= matches[i].code.order and best[j] + 1 > best[i]:
                best[i], back[i] = best[j] + 1, j
    end = max(range(n), key=lambda i: best[i])
    keep: set[int] = set()
    while end >= 0:
        keep.add(end)
        end = back[end]
    found = []
    kept = [matches[i] for i in sorted(keep)]
    for i, m in enumerate(matches):
        if i in keep:
            continue
        later = [k for k in kept if k.code.order > m.code.order]
        if later:
            first = min(later, key=lambda k: k.code.order)
            message = f"{m.yours.name!r} comes before {first.yours.name!r} in the code"
        else:
            last = max(kept, key=lambda k: k.code.order)
            message = f"{m.yours.name!r} comes after {last.yours.name!r} in the code"
        found.append((m, message))
    return found


# The attendee's board ------------------------------------------------------------------


class StormingActivity:
    """An attendee's board for one scenario: stickies on a timeline, then a comparison.

    ``commands`` names the scenario as the code does: the commands people issue in it,
    in order. Positions count from 0, left to right.
    """

    def __init__(self, scenario: str, *, commands: Sequence[str] = ()) -> None:
        if not scenario.strip():
            raise ValueError("name the scenario, e.g. StormingActivity('A purchase times out')")
        self.scenario = scenario
        self.commands = [commands] if isinstance(commands, str) else list(commands)
        self.stickies: list[Sticky] = []

    # Operations ---------------------------------------------------------------------

    def add(self, kind: str, text: str, at: int | None = None) -> Sticky:
        """Put a sticky on the timeline, at the end or at position ``at``."""
        sticky = Sticky(_kind(kind), _text(text, kind))
        if at is None:
            self.stickies.append(sticky)
        else:
            self.stickies.insert(self._position(at, end=True), sticky)
        return sticky

    def move(self, which: int | str, to: int) -> Sticky:
        """Move a sticky (by position or text) to position ``to``."""
        position = self.index(which)
        target = self._position(to)
        sticky = self.stickies.pop(position)
        self.stickies.insert(target, sticky)
        return sticky

    def rename(self, which: int | str, text: str) -> Sticky:
        """Give a sticky (by position or text) a new text; it keeps its kind and place."""
        position = self.index(which)
        old = self.stickies[position]
        sticky = Sticky(old.kind, _text(text, old.kind))
        self.stickies[position] = sticky
        return sticky

    def remove(self, which: int | str) -> Sticky:
        """Take a sticky (by position or text) off the board."""
        return self.stickies.pop(self.index(which))

    def index(self, which: int | str) -> int:
        """The position of a sticky given by position or by its text (case ignored)."""
        if isinstance(which, int):
            return self._position(which)
        for i, s in enumerate(self.stickies):
            if _flat(s.name) == _flat(which):
                return i
        on_board = ", ".join(repr(s.name) for s in self.stickies) or "none yet"
        raise KeyError(f"no sticky {which!r} on the board; its stickies: {on_board}")

    def _position(self, at: int, end: bool = False) -> int:
        last = len(self.stickies) if end else len(self.stickies) - 1
        if not self.stickies and not end:
            raise IndexError("the board is empty: add a sticky first")
        if not -len(self.stickies) <= at <= last:
            raise IndexError(
                f"no position {at} on a board of {len(self.stickies)} stickies: "
                f"positions go from 0 (the left) to {last}"
            )
        return at if at >= 0 else len(self.stickies) + at

    # Comparing -------------------------------------------------------------------------

    def timeline(self, board: Board) -> list[Expected]:
        """The code's timeline of this scenario (see :func:`scenario_timeline`)."""
        if not self.commands:
            raise ValueError(
                "the activity names no commands, so the code's timeline is unknown: "
                "StormingActivity('...', commands=['reserve_tickets', 'pay'])"
            )
        return scenario_timeline(board, self.commands)

    def compare(self, board: Board, kinds: Sequence[str] | None = None) -> Comparison:
        """Your board against the code's: missing, extra, out of order, near-misses.

        ``kinds`` defaults to the kinds on your board (always events).
        """
        if not isinstance(board, Board):
            raise TypeError(
                f"compare() takes the board drawn from code, got {type(board).__name__}: "
                "activity.compare(storming_board(Ticketing))"
            )
        if kinds is None:
            used = {s.kind for s in self.stickies} | {"event"}
            chosen = tuple(k for k in KINDS if k in used)
        else:
            chosen = tuple(_kind(k) for k in kinds)
        return _compare(self.scenario, self.stickies, self.timeline(board), chosen)

    # Showing ---------------------------------------------------------------------------

    def layout(self) -> Layout:
        """Your stickies left to right in the order of the timeline, as data."""
        result = Layout(title=self.scenario)
        y = _lane(result, "Your board", list(enumerate(self.stickies)), HEADER, {}, {})
        result.height = y + MARGIN
        if not self.stickies:
            result.notes.append('Empty: add the first event, e.g. activity.add("event", "...")')
        return result

    def to_svg(self) -> str:
        """Your board as a picture, with the look of the board from code."""
        names = ", ".join(f"{s.kind} {s.name}" for s in self.stickies) or "no stickies yet"
        return _picture(self.layout(), {}, f"{self.scenario}: {names}")

    def _repr_html_(self) -> str:
        return f'<div class="wb-storming wb-storming-activity">{self.to_svg()}</div>'

    def __repr__(self) -> str:
        stickies = ", ".join(f"{s.kind}: {s.name}" for s in self.stickies) or "empty"
        return f"<StormingActivity {self.scenario!r}: {stickies}>"


def _kind(kind: str) -> Kind:
    name = _ALIASES.get(kind.strip().lower(), kind.strip().lower())
    for k in KINDS:
        if k == name:
            return k
    raise ValueError(
        f"unknown kind of sticky {kind!r}: use one of {', '.join(KINDS)}, "
        'e.g. activity.add("event", "Tickets reserved")'
    )


def _text(text: str, kind: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            f"a sticky needs words: say what the {kind} is, "
            'e.g. activity.add("event", "Tickets reserved")'
        )
    return " ".join(text.split())


# Drawing ---------------------------------------------------------------------------------


def _size(sticky: Sticky) -> tuple[float, tuple[str, ...], float]:
    widest = MAX_WIDTH[sticky.kind]
    width = min(max(text_width(sticky.name) + 2 * PAD_X, MIN_WIDTH), widest)
    lines = wrap(sticky.name, width - 2 * PAD_X)
    height = max(MIN_HEIGHT, 2 * PAD_Y + len(lines) * LINE - 3)
    return width, lines, height


Marks = dict[tuple[str, int], str]
"""(lane, position) → what is marked there: missing, extra, order, spelled, wrong kind."""


def _lane(
    result: Layout,
    name: str,
    stickies: list[tuple[int, Sticky]],
    top: float,
    marks: dict[int, str],
    marked: Marks,
) -> float:
    """Stickies left to right in the order given, wrapping at WIDTH; returns the lane's end."""
    x, y = MARGIN, top + LANE_HEADER
    row_bottom = y + MIN_HEIGHT
    previous: int | None = None
    for position, sticky in stickies:
        width, lines, height = _size(sticky)
        if x + width > WIDTH - MARGIN and x > MARGIN:
            x, y = MARGIN, row_bottom + ROW_GAP
            row_bottom = y + MIN_HEIGHT
            previous = None
        mark = marks.get(position, "")
        tooltip = f"{position + 1}. {sticky.kind}: {sticky.name}" + (f" ({mark})" if mark else "")
        result.boxes.append(
            Box(
                sticky.kind,
                sticky.name,
                x,
                y,
                width,
                height,
                lines,
                name,
                position,
                tooltip=tooltip,
                dashed=mark == "missing",
            )
        )
        if mark:
            marked[(name, position)] = mark
        index = len(result.boxes) - 1
        if previous is not None:
            kind = "policy" if "policy" in (sticky.kind, result.boxes[previous].kind) else "flow"
            result.edges.append(Edge(previous, index, kind))
        previous = index
        x += width + GAP
        row_bottom = max(row_bottom, y + height)
    result.width = max(result.width, WIDTH if stickies else 520.0)
    bottom = row_bottom + (14 if marks else 0) + LANE_GAP
    result.lanes.append(Lane(name, top, bottom))
    return bottom


_MARK_COLOUR = {
    "missing": "#c62828",
    "extra": "#6a1b9a",
    "wrong kind": "#6a1b9a",
    "order": "#e65100",
    "spelled": "#2e7d32",
}


def _picture(layout: Layout, marked: Marks, label: str) -> str:
    """The drawing, with its text alternative and the marks (missing, extra, ...) on top."""
    svg = draw(layout)
    overlay = []
    for box in layout.boxes:
        mark = marked.get((box.lane, box.rank))
        if not mark:
            continue
        colour = _MARK_COLOUR[mark]
        overlay.append(
            f'<g class="wb-mark wb-mark-{mark.replace(" ", "-")}" data-name="{escape(box.name)}">'
            f'<rect x="{box.x - 2:.1f}" y="{box.y - 2:.1f}" width="{box.width + 4:.1f}" '
            f'height="{box.height + 4:.1f}" rx="4" fill="none" stroke="{colour}" '
            f'stroke-width="2.2"/>'
            f'<text x="{box.x:.1f}" y="{box.bottom + 13:.1f}" font-size="10.5" '
            f'font-weight="bold" fill="{colour}">{escape(mark)}</text></g>'
        )
    svg = svg.replace(
        'class="wb-storming-board"',
        f'class="wb-storming-board wb-storming-activity" aria-label="{escape(label)}"',
        1,
    )
    return svg.replace("</svg>", "\n".join(overlay) + "\n</svg>") if overlay else svg
