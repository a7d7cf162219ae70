"""The commands of one open application, ready to submit."""

from __future__ import annotations

import collections.abc
import contextlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from time import perf_counter
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import PersistenceError, RecordConflictError

from workbench import clock
from workbench.commands._blame import blame
from workbench.commands._capture import Capture, capturing, watch
from workbench.commands.discovery import Command, discover_commands, discover_queries
from workbench.commands.fields import Field, InvalidInput, describe_exception
from workbench.commands.results import CommandResult, RecordedEvent
from workbench.commands.streams import StreamChoice, _StreamIndex
from workbench.reading.decoding import Codec
from workbench.tracing import command_cause


class CommandSet:
    """The commands of one open application, ready to run, with a history.

    >>> from workbench.examples.ticketing import Ticketing
    >>> from workbench.stores import open_app
    >>> commands = CommandSet(open_app(Ticketing))
    >>> "pay" in commands and "get_purchase" not in commands
    True
    >>> commands.submit("pay", purchase_id="not-an-id", payment_reference="x",
    ...                 delegates="Ada").outcome
    'invalid'
    """

    def __init__(
        self,
        app: Application[Any],
        *,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
    ) -> None:
        self.app = app
        found = discover_commands(app)
        if include is not None:
            wanted = list(include)
            unknown = [n for n in wanted if n not in found]
            if unknown:
                raise KeyError(
                    f"{type(app).__name__} has no command {', '.join(map(repr, unknown))}; "
                    f"its commands are {', '.join(found) or 'none'}"
                )
            found = {n: found[n] for n in wanted}
        for name in exclude:
            found.pop(name, None)
        self.commands: dict[str, Command] = found
        """The commands, by name."""
        self.history: list[CommandResult] = []
        """Every submission, oldest first."""
        self.queries: dict[str, str] = discover_queries(app)
        """The public methods left out as queries, each with the reason."""
        self._listeners: list[Callable[[CommandResult], None]] = []
        self._index = _StreamIndex(app)
        self._codec = Codec.of_app(app)
        self._home = type(app).__module__.split(".")[0]
        watch(app)

    def __contains__(self, name: object) -> bool:
        return name in self.commands

    def __iter__(self) -> collections.abc.Iterator[Command]:
        return iter(self.commands.values())

    def __len__(self) -> int:
        return len(self.commands)

    def __getitem__(self, name: str) -> Command:
        try:
            return self.commands[name]
        except KeyError:
            raise KeyError(
                f"{type(self.app).__name__} has no command {name!r}; its commands are "
                f"{', '.join(self.commands) or 'none'}"
            ) from None

    def __repr__(self) -> str:
        return f"<CommandSet of {type(self.app).__name__}: {', '.join(self.commands)}>"

    def subscribe(self, callback: Callable[[CommandResult], None]) -> None:
        """Call ``callback(result)`` after every submission (for views that follow along)."""
        self._listeners.append(callback)

    def position(self) -> int:
        """The newest position in the application's notification log (0 when empty)."""
        return int(self.app.recorder.max_notification_id() or 0)

    def events_after(self, position: int, limit: int = 1000) -> list[RecordedEvent]:
        """Events recorded after ``position``, decoded, oldest first (at most ``limit``)."""
        out: list[RecordedEvent] = []
        start = position
        while len(out) < limit:
            want = min(500, limit - len(out))
            notifications = self.app.recorder.select_notifications(
                start, want, inclusive_of_start=False
            )
            for n in notifications:
                out.append(self._decoded(n))
            if len(notifications) < want:
                break
            start = notifications[-1].id
        return out

    def existing_streams(
        self, field_or_kind: Field | str = "", limit: int = 200
    ) -> tuple[list[StreamChoice], str]:
        """Existing streams an id input can offer, newest activity first, and a note.

        The kind comes from the field (``purchase_id`` → streams whose aggregate
        class name contains ``Purchase``), or is given as text. The note says
        when the list falls back to all streams or covers only the newest events.
        """
        kind = field_or_kind.stream_kind if isinstance(field_or_kind, Field) else field_or_kind
        return self._index.choices(kind, limit)

    def submit(
        self, name: str, inputs: Mapping[str, Any] | None = None, /, **more: Any
    ) -> CommandResult:
        """Convert the inputs, run the command, and report what it recorded.

        Never raises for bad input, a refusal or a failing command: the result
        says what happened (see :attr:`CommandResult.outcome`) and goes into
        :attr:`history`. Its events are the ones this call recorded, as the
        store returned them, and no other writer's.
        """
        cmd = self[name]
        entered = {**(inputs or {}), **more}
        started = perf_counter()
        result = CommandResult(name, entered, clock.now(), "invalid")
        if cmd.unavailable:
            result.outcome = "unavailable"
            result.message = (
                f"{name} cannot be run from a form: {cmd.unavailable}. Call it from code, "
                "or give the parameter a type a form can build (a dataclass, a named tuple, "
                "or a class whose constructor takes typed simple values)"
            )
            return self._finish(result, started)
        try:
            args, kwargs = cmd.convert(entered)
        except InvalidInput as e:
            result.errors = e.errors
            return self._finish(result, started)
        except Exception as e:  # a converter that should not fail: still no exception out
            result.errors = {"": f"the input could not be read ({describe_exception(e)})"}
            return self._finish(result, started)
        positional = [f for f in cmd.fields if f.positional_only]
        result.arguments = {**{f.name: a for f, a in zip(positional, args, strict=False)}, **kwargs}
        result.position_before = self.position()
        method = getattr(self.app, name)
        failure: Exception | None = None
        # the command causes what it records (workbench.tracing), in a new business
        # process unless one is in force (tracing.correlated)
        with command_cause(name) as cause, capturing(self.app) as capture:
            result.command_id, result.correlation_id = cause.causation_id, cause.correlation_id
            try:
                result.returned = method(*args, **kwargs)
            except Exception as e:
                failure = e
        result.events = self._recorded(capture, result.position_before)
        if failure is None:
            result.outcome = "recorded" if result.events else "nothing recorded"
        else:
            self._explain(result, failure, capture)
        return self._finish(result, started)

    def _explain(self, result: CommandResult, failure: Exception, capture: Capture) -> None:
        """Set the outcome and message of a command that raised."""
        result.exception = type(failure).__name__
        recorded = len(result.events)
        earlier = (
            f"{recorded} event(s) from an earlier save in this command were recorded (listed below)"
            if recorded
            else "nothing was recorded"
        )
        if isinstance(failure, RecordConflictError):
            taken = self._taken_streams(capture.failed or [])
            new = [(kind, sid) for kind, sid, is_new in taken if is_new]
            if new:
                kind, sid = new[0]
                result.outcome = "duplicate"
                result.message = (
                    f"{_a(kind)} with id {sid} already exists: this command creates it with an id "
                    "derived from its input, so the same input names the same "
                    f"{kind}, and submitting again will not help. Its save was refused and "
                    f"{earlier}. Change the input that names the {kind}, or act on the "
                    "existing one"
                )
                return
            self._forget_cached(result, [sid for _, sid, _ in taken])
            streams = " and ".join(f"{kind} {sid}" for kind, sid, _ in taken) or self._ids_text(
                self[result.command], result.arguments
            )
            result.outcome = "conflict"
            result.message = (
                f"someone else changed {streams} after this command read it, so its save was "
                f"refused and {earlier}. Look at the newest events and submit again: it will "
                "read the new state"
            )
            return
        if isinstance(failure, PersistenceError):
            result.outcome = "store error"
            result.message = (
                f"the event store refused the write ({describe_exception(failure)}); {earlier}"
            )
            return
        blamed, where = blame(failure, self._home)
        if blamed == "refused":
            result.outcome = "refused"
            result.message = describe_exception(failure)
        else:
            result.outcome = "error"
            at = f" (at {where})" if where else ""
            result.message = (
                f"{describe_exception(failure)}: an error in the application's code{at}, "
                "not a business rule. Tell the application's author; submitting again "
                "will fail the same way"
            )
        if recorded:
            result.message += f" (note: {recorded} event(s) were recorded before it failed)"
        elif result.outcome == "error":
            result.message += f"; {earlier}"

    def _recorded(self, capture: Capture, before: int) -> list[RecordedEvent]:
        """The events this call recorded, decoded, oldest first."""
        notifications = [r.notification for r in capture.recordings]
        if len(notifications) < len(capture.written):  # a recorder that returns no positions
            mine = {(str(e.originator_id), e.originator_version) for e in capture.written}
            notifications = [
                n
                for n in self._notifications_after(before)
                if (str(n.originator_id), n.originator_version) in mine
            ]
        return sorted((self._decoded(n) for n in notifications), key=lambda e: e.position)

    def _notifications_after(self, position: int) -> list[Any]:
        out: list[Any] = []
        while batch := self.app.recorder.select_notifications(
            position, 500, inclusive_of_start=False
        ):
            out.extend(batch)
            position = batch[-1].id
        return out

    def _decoded(self, n: Any) -> RecordedEvent:
        try:
            payload = self._codec.payload(n.state)
        except Exception as e:
            payload = {"<undecodable>": describe_exception(e)}
        timestamp = payload.pop("timestamp", None)
        return RecordedEvent(
            n.id, str(n.originator_id), n.originator_version, n.topic, payload, timestamp
        )

    def _taken_streams(self, attempted: list[Any]) -> list[tuple[str, str, bool]]:
        """(kind, id, is new) per stream whose attempted version the store already holds.

        *is new* means the command started the stream: the store has nothing of it
        before that version, so its id (not a concurrent change) is what clashed.
        """
        first: dict[Any, tuple[int, Any]] = {}
        for event in attempted:
            oid, version = event.originator_id, event.originator_version
            if oid not in first or version < first[oid][0]:
                first[oid] = (version, event)
        taken = []
        for oid, (version, event) in first.items():
            try:
                at = self.app.recorder.select_events(oid, gt=version - 1, lte=version, limit=1)
                before = self.app.recorder.select_events(oid, lte=version - 1, limit=1)
            except Exception:
                continue
            if at:
                qualname = type(event).__qualname__
                kind = qualname.split(".")[0] if "." in qualname else "stream"
                taken.append((kind, str(oid), not before))
        return taken

    def _finish(self, result: CommandResult, started: float) -> CommandResult:
        result.duration_ms = (perf_counter() - started) * 1000
        self.history.append(result)
        for listener in list(self._listeners):
            listener(result)
        return result

    def _ids_text(self, cmd: Command, arguments: Mapping[str, Any]) -> str:
        ids = [
            f"{f.stream_kind or 'aggregate'} {arguments[f.name]}"
            for f in cmd.fields
            if f.kind == "aggregate_id" and f.name in arguments
        ]
        return " and ".join(ids) if ids else "the aggregate"

    def _forget_cached(self, result: CommandResult, stream_ids: list[str]) -> None:
        """Drop stale cached aggregates, so that submitting again reads fresh state."""
        cache = getattr(self.app.repository, "cache", None)
        if not cache:
            return
        cmd = self[result.command]
        ids: list[Any] = [
            result.arguments[f.name]
            for f in cmd.fields
            if f.kind == "aggregate_id" and f.name in result.arguments
        ]
        for sid in stream_ids:
            with contextlib.suppress(ValueError):
                ids.append(uuid.UUID(sid))
            ids.append(sid)
        for aggregate_id in ids:
            with contextlib.suppress(KeyError, TypeError):
                cache.get(aggregate_id, evict=True)

    def history_rows(self) -> list[dict[str, Any]]:
        """The history as rows (newest last), ready for a table."""
        return [r.as_row() for r in self.history]

    def _repr_html_(self) -> str:
        import html

        items = "".join(
            f"<li><b>{html.escape(c.title)}</b>"
            f"({html.escape(', '.join(f.label for f in c.fields))})"
            f"{' — ' + html.escape(c.doc) if c.doc else ''}</li>"
            for c in self
        )
        return f"<p>Commands of <b>{html.escape(type(self.app).__name__)}</b></p><ul>{items}</ul>"


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word
