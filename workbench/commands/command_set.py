"""The commands of one open application, ready to submit."""

from __future__ import annotations

import collections.abc
import contextlib
from collections.abc import Callable, Iterable, Mapping
from time import perf_counter
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import PersistenceError, RecordConflictError

from workbench import clock
from workbench.commands.discovery import Command, discover_commands
from workbench.commands.fields import Field, InvalidInput
from workbench.commands.results import CommandResult, RecordedEvent, decode_payload
from workbench.commands.streams import StreamChoice, _StreamIndex


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
        self._listeners: list[Callable[[CommandResult], None]] = []
        self._index = _StreamIndex(app)

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
                try:
                    payload = decode_payload(self.app, n.state)
                except Exception as e:
                    payload = {"<undecodable>": f"{type(e).__name__}: {e}"}
                timestamp = payload.pop("timestamp", None)
                out.append(
                    RecordedEvent(
                        n.id,
                        str(n.originator_id),
                        n.originator_version,
                        n.topic,
                        payload,
                        timestamp,
                    )
                )
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

        Never raises for bad input or a refusal: the result says what happened
        (see :attr:`CommandResult.outcome`) and goes into :attr:`history`.
        """
        cmd = self[name]
        entered = {**(inputs or {}), **more}
        started = perf_counter()
        result = CommandResult(name, entered, clock.now(), "invalid")
        try:
            args, kwargs = cmd.convert(entered)
        except InvalidInput as e:
            result.errors = e.errors
            return self._finish(result, started)
        result.arguments = {**{f.name: a for f, a in zip(cmd.fields, args, strict=False)}, **kwargs}
        before = self.position()
        result.position_before = before
        method = getattr(self.app, name)
        try:
            result.returned = method(*args, **kwargs)
            failure: BaseException | None = None
        except RecordConflictError as e:
            failure = e
            result.outcome = "conflict"
            self._forget_cached(cmd, result.arguments)
            result.message = (
                "someone else changed "
                + self._ids_text(cmd, result.arguments)
                + " after this command read it, so nothing was recorded. "
                "Look at the newest events and submit again."
            )
        except PersistenceError as e:
            failure = e
            result.outcome = "store error"
            result.message = f"the event store refused the write ({type(e).__name__}: {e})"
        except Exception as e:
            failure = e
            result.outcome = "refused"
            result.message = str(e) or type(e).__name__
        result.events = self.events_after(before)
        if failure is None:
            result.outcome = "recorded" if result.events else "nothing recorded"
        elif result.events:
            result.message += (
                f" (note: {len(result.events)} event(s) were recorded before it failed)"
            )
        return self._finish(result, started)

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

    def _forget_cached(self, cmd: Command, arguments: Mapping[str, Any]) -> None:
        """Drop stale cached aggregates, so that submitting again reads fresh state."""
        cache = getattr(self.app.repository, "cache", None)
        if not cache:
            return
        for f in cmd.fields:
            if f.kind == "aggregate_id" and f.name in arguments:
                with contextlib.suppress(KeyError, TypeError):
                    cache.get(arguments[f.name], evict=True)

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
