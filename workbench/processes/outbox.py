"""An outbox you can inspect: the outside world, as far as a process can tell.

Side effects (an e-mail, a call to a payment provider) cannot be taken back.
An :class:`Outbox` stands in for such a service in the notebooks and tests: it
keeps every message it delivered, so "sent exactly once" is something you can
count. It can be taken down for a while to see failures handled.

A process delivers its actions at least once (see :mod:`workbench.processes.run`):
a crash between sending and recording means sending again on resume. A service
that takes an idempotency key drops the repeat; ``Outbox(idempotent=True)`` is one.

>>> from datetime import datetime, timezone
>>> box = Outbox()
>>> _ = box.send("ada@example.org", "Your tickets", key="purchase-1")
>>> len(box), box.duplicates()
(1, {})
>>> careful = Outbox(idempotent=True)
>>> first = careful.send("ada@example.org", "Your tickets", key="purchase-1")
>>> careful.send("ada@example.org", "Your tickets", key="purchase-1") is first
True
>>> len(careful), careful.repeats
(1, 1)
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from workbench import clock

__all__ = ["Message", "Outbox", "ServiceUnavailable"]


class ServiceUnavailable(Exception):
    """The service behind a side effect is down; trying again later may work."""


@dataclass(frozen=True)
class Message:
    """One delivered message."""

    to: str
    """Who it went to."""
    subject: str
    """Its subject line."""
    key: str
    """What it is about (a purchase reference, an idempotency key...)."""
    sent_at: datetime
    """When it was delivered (by the current clock)."""
    body: str = ""
    """Its text."""


class Outbox:
    """Delivers messages and remembers every one it delivered."""

    def __init__(self, name: str = "mail service", *, idempotent: bool = False) -> None:
        self.name = name
        self.idempotent = idempotent
        """Deliver each key once: a repeat returns the message delivered before."""
        self.repeats = 0
        """Messages not delivered because their key was (with ``idempotent``)."""
        self.messages: list[Message] = []
        self._by_key: dict[str, Message] = {}
        self._down = False
        self._down_until: datetime | None = None
        self.refused = 0

    # The outage switch -------------------------------------------------------

    def go_down(self, until: datetime | None = None) -> None:
        """Refuse every message until ``until`` (by the clock), or until :meth:`come_back`."""
        self._down = True
        self._down_until = until

    def come_back(self) -> None:
        """Deliver messages again."""
        self._down = False
        self._down_until = None

    def is_down(self, at: datetime | None = None) -> bool:
        if not self._down:
            return False
        if self._down_until is None:
            return True
        return (at or clock.now()) < self._down_until

    # Delivering ---------------------------------------------------------------

    def send(self, to: str, subject: str, *, key: str, body: str = "") -> Message:
        """Deliver a message, or raise :class:`ServiceUnavailable` while down.

        With ``idempotent``, a message whose ``key`` was delivered already is
        not delivered again: the earlier message is returned.
        """
        at = clock.now()
        if self.is_down(at):
            self.refused += 1
            until = f" until {self._down_until:%H:%M}" if self._down_until else ""
            raise ServiceUnavailable(f"the {self.name} is down{until}; nothing was sent")
        if self.idempotent and key in self._by_key:
            self.repeats += 1
            return self._by_key[key]
        message = Message(to=to, subject=subject, key=key, sent_at=at, body=body)
        self.messages.append(message)
        self._by_key.setdefault(key, message)
        return message

    # Inspecting ---------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.messages)

    def keys(self) -> list[str]:
        return [m.key for m in self.messages]

    def duplicates(self) -> dict[str, int]:
        """Keys delivered more than once, with how many times (``{}`` when none)."""
        return {k: n for k, n in Counter(self.keys()).items() if n > 1}

    def __repr__(self) -> str:
        state = "down" if self.is_down() else "up"
        return f"<Outbox {self.name}: {len(self)} sent, {state}>"

    def _repr_html_(self) -> str:
        dupes = self.duplicates()
        rows = "".join(
            "<tr{style}><td>{at}</td><td>{to}</td><td>{subject}</td><td>{key}</td></tr>".format(
                style=' style="background:#fde2e2"' if m.key in dupes else "",
                at=f"{m.sent_at:%Y-%m-%d %H:%M}",
                to=html.escape(m.to),
                subject=html.escape(m.subject),
                key=html.escape(m.key),
            )
            for m in self.messages[-50:]
        )
        warn = (
            f"<p style='color:#b00020'><b>{sum(dupes.values()) - len(dupes)} duplicate(s)</b>: "
            + html.escape(", ".join(dupes))
            + "</p>"
            if dupes
            else ""
        )
        return (
            f"<div><b>{html.escape(self.name)}</b>: {len(self)} message(s) sent"
            f"{' (down)' if self.is_down() else ''}{warn}"
            "<table><tr><th>sent at</th><th>to</th><th>subject</th><th>key</th></tr>"
            f"{rows}</table></div>"
        )
