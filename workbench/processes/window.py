"""What a process run holds in memory: its steps and its instances.

A run that stepped through a whole history holds every step and every
instance as objects (about 2 GB at a million events). A run that *jumped*
(:meth:`~workbench.processes.ProcessRun.jump`) holds much less:

- :class:`Steps` counts every step, but keeps only those taken since the jump
  (and one for the jump itself): step numbers stay those of a run that took
  every step, and stepping back stops at the jump (its :attr:`Steps.floor`);
- :class:`Instances` keeps the instances the jump derived as small
  :class:`Folded` records, and makes each a real
  :class:`~workbench.processes.ProcessInstance` only when something asks for
  it (a step, a look at its timeouts): 300,000 instances as records take a
  few hundred bytes each instead of a few kilobytes.

A run that never jumped uses both the same way, with nothing folded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, overload

from workbench.processes.log import ProcessInstance

if TYPE_CHECKING:
    from workbench.processes.run import Step

__all__ = ["Folded", "Instances", "JumpedOver", "Steps"]


class JumpedOver(LookupError):
    """A step the run jumped over: it was never kept (jump to an earlier position to see it)."""


class Folded:
    """An instance's state as a jump derived it (a dry run's instance: no failures).

    Kept small, because a jump holds one per instance (300,000 at a million
    events): no dict where there is nothing to hold, and the ledger as a flat
    tuple (most instances did one action).
    """

    __slots__ = (
        "anomalies",
        "created_on",
        "data",
        "done",
        "modified_on",
        "state",
        "timeouts",
        "version",
    )

    def __init__(self, state: str, version: int, when: datetime) -> None:
        self.state = state
        """The machine state."""
        self.version = version
        """The instance's version: how many events a run that stepped would have recorded."""
        self.timeouts: dict[str, datetime] | None = None
        """Scheduled timeouts: name → due (``None``: none)."""
        self.data: dict[str, Any] | None = None
        """What the instance remembered from its events (``None``: nothing)."""
        self.done: tuple[str, ...] = ()
        """The instance's ledger: action key, outcome, action key, outcome..."""
        self.anomalies = 0
        self.created_on = when
        self.modified_on = when

    @classmethod
    def of(cls, inst: ProcessInstance) -> Folded:
        """The record of a live instance (copies: the instance may change later)."""
        folded = cls(inst.state, inst.version, inst.created_on)
        folded.modified_on = inst.modified_on
        folded.timeouts = dict(inst.timeouts) or None
        folded.data = dict(inst.data) or None
        folded.done = tuple(item for pair in inst.done.items() for item in pair)
        folded.anomalies = inst.anomalies
        return folded

    def copy(self) -> Folded:
        copied = Folded(self.state, self.version, self.created_on)
        copied.modified_on = self.modified_on
        copied.timeouts = dict(self.timeouts) if self.timeouts else None
        copied.data = dict(self.data) if self.data else None
        copied.done = self.done
        copied.anomalies = self.anomalies
        return copied

    def snapshot_state(self, process: str, key: str) -> dict[str, Any]:
        """The instance's attributes as an eventsourcing snapshot holds them."""
        return {
            "_created_on": self.created_on,
            "_modified_on": self.modified_on,
            "process": process,
            "key": key,
            "state": self.state,
            "status": "active",
            "data": dict(self.data or {}),
            "timeouts": dict(self.timeouts or {}),
            "pending": None,
            "attempts": 0,
            "retry_at": None,
            "last_error": None,
            "held": [],
            "done": dict(zip(self.done[::2], self.done[1::2], strict=True)),
            "anomalies": self.anomalies,
        }


Thaw = Callable[[str, Folded], ProcessInstance]


class Instances(MutableMapping[str, ProcessInstance]):
    """Instance key → :class:`ProcessInstance`; folded records are made live when read.

    ``thaw`` turns a record into an instance (and records a snapshot of it, so
    that stepping back to its version works); it is given by the jump that
    folded them.
    """

    def __init__(self, folded: dict[str, Folded] | None = None, thaw: Thaw | None = None) -> None:
        self._live: dict[str, ProcessInstance] = {}
        self._folded: dict[str, Folded] = folded or {}
        self._thaw = thaw

    @property
    def folded(self) -> int:
        """How many instances are still held as records."""
        return len(self._folded)

    def __getitem__(self, key: str) -> ProcessInstance:
        inst = self._live.get(key)
        if inst is not None:
            return inst
        folded = self._folded[key]  # KeyError: no such instance
        assert self._thaw is not None, "folded instances always come with their thaw"
        inst = self._thaw(key, folded)
        del self._folded[key]
        self._live[key] = inst
        return inst

    def __setitem__(self, key: str, inst: ProcessInstance) -> None:
        self._folded.pop(key, None)
        self._live[key] = inst

    def __delitem__(self, key: str) -> None:
        found = self._live.pop(key, None) is not None
        found = self._folded.pop(key, None) is not None or found
        if not found:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self._live or key in self._folded

    def __iter__(self) -> Iterator[str]:
        yield from list(self._folded)
        yield from list(self._live)

    def __len__(self) -> int:
        return len(self._live) + len(self._folded)

    def clear(self) -> None:
        self._live.clear()
        self._folded.clear()

    def shown_states(self) -> dict[str, str]:
        """Key → state shown, without making the folded records live."""
        states = {key: folded.state for key, folded in self._folded.items()}
        states.update((key, inst.shown_state) for key, inst in self._live.items())
        return states

    def fold_all(self) -> dict[str, Folded]:
        """Every instance as a record (what a jump starts from); the live ones copied."""
        records = dict(self._folded)
        records.update((key, Folded.of(inst)) for key, inst in self._live.items())
        return records


class Steps(Sequence["Step"]):
    """A run's steps: numbered as if every step were kept, holding those since the last jump.

    ``steps[n - 1]`` is step number ``n``; a step the run jumped over raises
    :class:`JumpedOver`. Slices give the kept steps in their range.
    """

    def __init__(self) -> None:
        self._kept: list[Step] = []
        self._skipped = 0
        self.floor = 0
        """The earliest view a run can step back to (the jump's own step; 0 without a jump)."""

    def restart(self, skipped: int = 0, anchor: Step | None = None) -> None:
        """Forget the kept steps: ``skipped`` steps were taken, then ``anchor`` (the jump)."""
        self._kept = [] if anchor is None else [anchor]
        self._skipped = skipped
        self.floor = skipped + 1 if anchor is not None else 0

    def append(self, step: Step) -> None:
        self._kept.append(step)

    def __len__(self) -> int:
        return self._skipped + len(self._kept)

    def __iter__(self) -> Iterator[Step]:
        return iter(self._kept)

    @overload
    def __getitem__(self, index: int) -> Step: ...

    @overload
    def __getitem__(self, index: slice) -> list[Step]: ...

    def __getitem__(self, index: int | slice) -> Step | list[Step]:
        if isinstance(index, slice):
            start, stop, stride = index.indices(len(self))
            start = max(start, self._skipped) - self._skipped
            stop = max(stop, self._skipped) - self._skipped
            return self._kept[start:stop:stride]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"no step #{index + 1}: the run has taken {len(self)} step(s)")
        if index < self._skipped:
            raise JumpedOver(
                f"step #{index + 1} was jumped over (steps 1 to {self._skipped} were derived "
                "in one pass and not kept): jump to an earlier position to see it"
            )
        return self._kept[index - self._skipped]
