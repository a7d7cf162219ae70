"""Which streams exist, so an id input can offer them."""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application

from workbench.commands.results import decode_payload
from workbench.reading.decoding import short_name


@dataclass(frozen=True)
class StreamChoice:
    """An existing stream an aggregate-id input can offer."""

    stream_id: str
    """The aggregate id."""
    kind: str
    """The aggregate class name from the stream's topics, e.g. ``TicketPurchase``."""
    version: int
    """The newest version seen."""
    position: int
    """The position of its newest event seen."""
    description: str = ""
    """A few words from its first event (a name, code or reference) when there are any."""

    @property
    def label(self) -> str:
        short = self.stream_id[:8]
        words = f" · {self.description}" if self.description else ""
        return f"{self.kind} {short}…{words} (v{self.version})"


def _aggregate_kind(topic: str) -> str:
    qualname = short_name(topic)
    parts = qualname.split(".")
    return parts[-2] if len(parts) >= 2 else parts[0]


_DESCRIPTIVE = ("name", "title", "code", "reference", "customer", "company", "label", "email")


class _StreamIndex:
    """Which streams exist, of which kind, from the newest events backwards (lazily).

    Per aggregate kind, an ordered dict of stream id -> (version, position), oldest
    activity first, so the newest streams of a kind come straight off its end.
    """

    def __init__(self, app: Application[Any], page: int = 20_000, budget: int = 200_000) -> None:
        self.app = app
        self.page = page
        self.budget = budget
        self.kinds: dict[str, OrderedDict[str, tuple[int, int]]] = {}
        self.low: int | None = None  # lowest position scanned
        self.high = 0  # highest position scanned
        self.descriptions: dict[str, str] = {}

    def _fetch(self, after: int, upto: int) -> list[Any]:
        """Every notification with ``after < position <= upto``, oldest first."""
        out: list[Any] = []
        start = after
        while start < upto:
            batch = self.app.recorder.select_notifications(
                start, self.page, stop=upto, inclusive_of_start=False
            )
            if not batch:
                break
            out.extend(batch)
            start = batch[-1].id
        return out

    def _note_newer(self, notifications: list[Any]) -> None:
        for n in notifications:
            streams = self.kinds.setdefault(_aggregate_kind(n.topic), OrderedDict())
            sid = str(n.originator_id)
            streams[sid] = (n.originator_version, n.id)
            streams.move_to_end(sid)

    def _note_older(self, notifications: list[Any]) -> None:
        for n in reversed(notifications):
            streams = self.kinds.setdefault(_aggregate_kind(n.topic), OrderedDict())
            sid = str(n.originator_id)
            if sid not in streams:
                streams[sid] = (n.originator_version, n.id)
                streams.move_to_end(sid, last=False)

    def _matching_kinds(self, stream_kind: str) -> list[str]:
        wanted = stream_kind.replace("_", "").lower()
        return [k for k in self.kinds if not wanted or wanted in k.lower() or k.lower() in wanted]

    def choices(self, stream_kind: str, limit: int) -> tuple[list[StreamChoice], str]:
        top = int(self.app.recorder.max_notification_id() or 0)
        if self.low is None:
            self.low = top + 1
            self.high = top
        elif top > self.high:
            self._note_newer(self._fetch(self.high, top))
            self.high = top
        while self.low > 1 and top - self.low + 1 < self.budget:
            kinds = self._matching_kinds(stream_kind)
            if sum(len(self.kinds[k]) for k in kinds) >= limit:
                break
            start = max(0, self.low - 1 - self.page)
            self._note_older(self._fetch(start, self.low - 1))
            self.low = start + 1
        kinds = self._matching_kinds(stream_kind)
        note = ""
        if not kinds and stream_kind:
            note = (
                f"no streams whose kind matches {stream_kind!r} (kinds seen: "
                f"{', '.join(sorted(self.kinds)) or 'none'}); showing all streams"
            )
            kinds = list(self.kinds)
        if self.low > 1:
            note = (note + "; " if note else "") + (
                f"showing streams from the newest {top - self.low + 1:,} events"
            )
        newest = [
            (kind, sid, info)
            for kind in kinds
            for sid, info in itertools.islice(reversed(self.kinds[kind].items()), limit)
        ]
        ordered = heapq.nlargest(limit, newest, key=lambda item: item[2][1])
        choices = [
            StreamChoice(sid, kind, version, pos, self._describe(sid))
            for kind, sid, (version, pos) in ordered
        ]
        return choices, note

    def _describe(self, stream_id: str) -> str:
        if stream_id in self.descriptions:
            return self.descriptions[stream_id]
        text = ""
        try:
            originator: Any = uuid.UUID(stream_id)
        except ValueError:
            originator = stream_id
        try:
            first = self.app.recorder.select_events(originator, lte=1, limit=1)
            if first:
                payload = decode_payload(self.app, first[0].state)
                words = [str(payload[k]) for k in _DESCRIPTIVE if isinstance(payload.get(k), str)]
                text = " · ".join(w[:30] for w in words[:2])
        except Exception:
            text = ""
        self.descriptions[stream_id] = text
        return text
