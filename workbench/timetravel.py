"""Aggregate time travel: the state of one stream at any version, and what changed it.

:class:`TimeTravel` reads the events of one stream (aggregate). With the
application's code at hand (an application object as the source), the state
at version N is the aggregate the application's repository rebuilds,
``app.repository.get(id, version=N)``. Without it (a history file from a
system whose code you do not have), the state is the *folded payloads*: the
fields of every event up to N, later values over earlier ones. Either way,
:meth:`TimeTravel.step` gives the event that made version N and what it
changed.

>>> from workbench.examples.history import SAMPLE_TICKETING
>>> from workbench.reading.loading import load_events
>>> first = load_events(SAMPLE_TICKETING, limit=1)
>>> travel = TimeTravel(SAMPLE_TICKETING, first.stream_id[0])
>>> travel.mode
'folded payloads'
>>> travel.state_at(1)["name"] == travel.step(1).event["name"]
True
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from workbench.reading.decoding import LoadError, short_name
from workbench.reading.opening import HistorySource, open_history
from workbench.reading.records import Record

__all__ = ["Change", "Step", "TimeTravel"]

_META = ("timestamp", "originator_topic")


@dataclass(frozen=True)
class Change:
    """One field that an event changed."""

    name: str
    before: Any
    after: Any
    added: bool = False
    removed: bool = False


@dataclass(frozen=True)
class Step:
    """Version ``version`` of the stream: the event that made it, and what it changed."""

    version: int
    position: int
    event_type: str
    timestamp: Any
    event: dict[str, Any]
    """The event's payload (decoded)."""
    state: dict[str, Any]
    """The state at this version."""
    changes: list[Change] = field(default_factory=list)


def _plain(value: Any) -> Any:
    """Aggregate attributes as plain values (sets as sorted lists, nested dicts copied)."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The fields whose values differ between two states.

    >>> [c.name for c in diff({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4})]
    ['b', 'c']
    """
    changes = []
    for name in [*before, *(k for k in after if k not in before)]:
        if name not in after:
            changes.append(Change(name, before[name], None, removed=True))
        elif name not in before:
            changes.append(Change(name, None, after[name], added=True))
        elif before[name] != after[name]:
            changes.append(Change(name, before[name], after[name]))
    return changes


class TimeTravel:
    """Move through the versions of one stream.

    ``source`` is an application (states come from its repository), a path
    or store string, or a record reader (states are the folded payloads).
    ``use_repository=False`` forces folded payloads even for an application.
    """

    def __init__(
        self,
        source: HistorySource,
        stream_id: str | UUID,
        *,
        use_repository: bool = True,
        cipher_key: str | None = None,
        compressor: Any = None,
        env: Mapping[str, str] | None = None,
        table: str | None = None,
    ) -> None:
        self.source = source
        self.stream_id = str(stream_id).strip()
        self.history = open_history(
            source, cipher_key=cipher_key, compressor=compressor, env=env, table=table
        )
        self.records = self._records()
        if not self.records:
            raise LoadError(
                f"there is no stream {self.stream_id!r} in {self.history.description}; "
                "pick a stream_id from the loaded events (the stream_id column)"
            )
        self.events: list[dict[str, Any]] = []
        for record in self.records:
            try:
                self.events.append(self.history.payload(record.state))
            except Exception as e:
                raise LoadError(
                    f"cannot decode version {record.version} of stream {self.stream_id} "
                    f"(position {record.position}): {e}"
                ) from None
        self.versions = [r.version for r in self.records]
        self.note = ""
        self.mode = "folded payloads"
        self._app: Application[Any] | None = None
        app = self.history.app
        if use_repository and app is not None:
            try:
                self._aggregate_state(app, self.versions[-1])
            except Exception as e:
                self.note = (
                    f"the application could not rebuild this aggregate ({type(e).__name__}: "
                    f"{e}); showing the folded payloads instead"
                )
            else:
                self._app = app
                self.mode = "repository"
        self._states: dict[int, dict[str, Any]] = {}

    def _records(self) -> list[Record]:
        found: list[Record] = []
        for batch in self.history.reader.arrow_batches(streams=[self.stream_id]):
            found.extend(batch.records())
        found.sort(key=lambda r: r.version)
        return found

    # --- states -------------------------------------------------------------------------

    def _aggregate_state(self, app: Application[Any], version: int) -> dict[str, Any]:
        aggregate: Any = app.repository.get(_as_id(self.stream_id), version=version)
        state: dict[str, Any] = {"id": aggregate.id, "version": aggregate.version}
        for name, value in vars(aggregate).items():
            if name.startswith("_"):
                continue
            state[name] = _plain(value)
        state["created_on"] = getattr(aggregate, "created_on", None)
        state["modified_on"] = getattr(aggregate, "modified_on", None)
        state["type"] = type(aggregate).__qualname__
        return state

    def _folded_state(self, index: int) -> dict[str, Any]:
        state: dict[str, Any] = {"id": self.stream_id, "version": self.versions[index]}
        for i in range(index + 1):
            for name, value in self.events[i].items():
                if name not in _META:
                    state[name] = value
        state["created_on"] = self.events[0].get("timestamp")
        state["modified_on"] = self.events[index].get("timestamp")
        topic = self.events[0].get("originator_topic")
        state["type"] = short_name(topic) if isinstance(topic, str) else ""
        return state

    def _index(self, version: int) -> int:
        try:
            return self.versions.index(version)
        except ValueError:
            raise ValueError(
                f"stream {self.stream_id} has versions {self.versions[0]} to "
                f"{self.versions[-1]}, not {version}"
            ) from None

    def state_at(self, version: int) -> dict[str, Any]:
        """The state after the event with this version."""
        index = self._index(version)
        if version not in self._states:
            if self._app is not None:
                self._states[version] = self._aggregate_state(self._app, version)
            else:
                self._states[version] = self._folded_state(index)
        return self._states[version]

    def step(self, version: int) -> Step:
        """Version ``version``: its event, the state after it, and what it changed."""
        index = self._index(version)
        after = self.state_at(version)
        before = self.state_at(self.versions[index - 1]) if index else {}
        skip = {"version", "modified_on"}
        changes = [
            c
            for c in diff(
                {k: v for k, v in before.items() if k not in skip},
                {k: v for k, v in after.items() if k not in skip},
            )
        ]
        record = self.records[index]
        return Step(
            version=version,
            position=record.position,
            event_type=short_name(record.topic),
            timestamp=self.events[index].get("timestamp"),
            event={k: v for k, v in self.events[index].items() if k not in _META},
            state=after,
            changes=changes,
        )

    def steps(self) -> list[Step]:
        """Every version, oldest first."""
        return [self.step(v) for v in self.versions]

    def _repr_html_(self) -> str:
        last = self.step(self.versions[-1])
        return (
            f"<p><b>Time travel</b> over stream {html.escape(self.stream_id)} "
            f"({len(self.versions)} versions, {html.escape(self.mode)})</p>" + state_html(last)
        )


def _as_id(text: str) -> UUID | str:
    try:
        return UUID(text)
    except ValueError:
        return text


def _show(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return repr(value) if not isinstance(value, str) else value


def state_html(step: Step) -> str:
    """A small HTML table of a step: each field, its value, and whether this event changed it."""
    changed = {c.name: c for c in step.changes}
    rows = []
    for name, value in step.state.items():
        mark = ""
        if name in changed:
            c = changed[name]
            mark = "new" if c.added else f"was {html.escape(_show(c.before))}"
        style = ' style="background:#fff3c4"' if name in changed else ""
        rows.append(
            f"<tr{style}><td><b>{html.escape(name)}</b></td>"
            f"<td>{html.escape(_show(value))}</td><td><i>{mark}</i></td></tr>"
        )
    for c in step.changes:
        if c.removed:
            rows.append(
                f'<tr style="background:#fde2e2"><td><b>{html.escape(c.name)}</b></td>'
                f"<td></td><td><i>removed (was {html.escape(_show(c.before))})</i></td></tr>"
            )
    event = ", ".join(f"{k}={_show(v)}" for k, v in step.event.items())
    return (
        f"<p>version {step.version}: <b>{html.escape(step.event_type)}</b> at "
        f"{html.escape(_show(step.timestamp))} (position {step.position})<br>"
        f"<small>{html.escape(event)}</small></p>"
        f'<table class="wb-state">{"".join(rows)}</table>'
    )
