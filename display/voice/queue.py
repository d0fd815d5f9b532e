"""The announcement queue: which call is spoken next, and how, with time passed in.

No threads, no clock, no audio: the player asks :meth:`AnnouncementQueue.take` for the
next announcement when the loudspeaker is free and reports :meth:`finish` when the last
sample has played. Because only one announcement can be *taken* at a time, two calls can
never overlap, and because nothing leaves the queue except by being taken, no call is
dropped or cut off.

Backlog rule (decided each time an announcement is taken, from the number of calls then
waiting, the one about to be taken included):

* up to ``brisk_from - 1`` waiting: normal, each call on its own, spoken ``repeats`` times
  (twice);
* ``brisk_from`` or more: *brisk*, each call on its own but spoken once;
* ``batch_from`` or more: *batch*, the oldest ``batch_size`` calls share one chime and are
  spoken once each, back to back.

The queue returns to normal on its own as the backlog drains. Every call is still spoken
at least once, in Chinese and in its own language.

Same ticket twice: when a call arrives for a ticket that already waits in the queue (a
recall pressed before the first call was even spoken, or a transfer to another window),
the waiting entry is updated in place, keeping its place in line, with the newest window.
It is never replaced silently: :meth:`push` returns ``merged`` with the superseded call so
the player can log it. A recall merged into a still-unspoken call of the same window
stays a plain call, since "calling again" would be untrue. A call for a ticket that is
being spoken right now is queued after it, as a new announcement.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import count
from typing import Literal

from .text import CallKind, CallRequest


@dataclass(frozen=True)
class BacklogPolicy:
    repeats: int = 1  # say it once; a hall that wants the repeat configures it
    brisk_from: int = 3
    batch_from: int = 6
    batch_size: int = 4

    def __post_init__(self) -> None:
        if self.repeats < 1 or self.batch_size < 1:
            raise ValueError("repeats and batch_size must be at least 1")
        if not 1 <= self.brisk_from <= self.batch_from:
            raise ValueError("need 1 <= brisk_from <= batch_from")


class Mode(StrEnum):
    NORMAL = "normal"
    BRISK = "brisk"
    BATCH = "batch"


@dataclass(frozen=True)
class Announcement:
    """What the loudspeaker says next: one call, or a batch of calls after one chime."""

    id: int
    calls: tuple[CallRequest, ...]
    repeats: int
    mode: Mode
    queued_at: float
    taken_at: float

    @property
    def tickets(self) -> tuple[str, ...]:
        return tuple(c.ticket for c in self.calls)


@dataclass(frozen=True)
class PushResult:
    entry: int
    action: Literal["queued", "merged"]
    superseded: CallRequest | None = None
    """For ``merged``: the waiting call as it was before this push updated it."""
    waiting: int = 0
    """Calls waiting after this push (not counting one being spoken)."""


@dataclass(frozen=True)
class Spoken:
    announcement: Announcement
    started: float
    ended: float


@dataclass
class _Entry:
    id: int
    call: CallRequest
    queued_at: float
    merged: int = 0


@dataclass
class AnnouncementQueue:
    policy: BacklogPolicy = field(default_factory=BacklogPolicy)
    history_size: int = 500

    def __post_init__(self) -> None:
        self._waiting: deque[_Entry] = deque()
        self._current: Announcement | None = None
        self._ids = count(1)
        self.history: deque[Spoken] = deque(maxlen=self.history_size)

    # -- state --------------------------------------------------------------------------

    @property
    def waiting(self) -> tuple[CallRequest, ...]:
        return tuple(e.call for e in self._waiting)

    @property
    def current(self) -> Announcement | None:
        return self._current

    @property
    def idle(self) -> bool:
        return self._current is None and not self._waiting

    # -- input --------------------------------------------------------------------------

    def push(self, call: CallRequest, now: float) -> PushResult:
        for entry in self._waiting:
            if entry.call.ticket == call.ticket:
                old = entry.call
                kind = call.kind
                if (
                    kind is CallKind.RECALL
                    and old.kind is not CallKind.RECALL
                    and old.window == call.window
                ):
                    kind = old.kind
                entry.call = CallRequest(call.ticket, call.window, call.language, kind)
                entry.merged += 1
                return PushResult(entry.id, "merged", old, len(self._waiting))
        entry = _Entry(next(self._ids), call, now)
        self._waiting.append(entry)
        return PushResult(entry.id, "queued", None, len(self._waiting))

    # -- output -------------------------------------------------------------------------

    def take(self, now: float) -> Announcement | None:
        """The next announcement, or None when nothing waits.

        Raises RuntimeError while another is still being spoken: the caller has one
        loudspeaker, so that would be an overlap.
        """
        if self._current is not None:
            raise RuntimeError(f"announcement {self._current.id} is still being spoken")
        if not self._waiting:
            return None
        n, p = len(self._waiting), self.policy
        if n >= p.batch_from:
            mode, size, repeats = Mode.BATCH, p.batch_size, 1
        elif n >= p.brisk_from:
            mode, size, repeats = Mode.BRISK, 1, 1
        else:
            mode, size, repeats = Mode.NORMAL, 1, p.repeats
        entries = [self._waiting.popleft() for _ in range(min(size, n))]
        self._current = Announcement(
            id=entries[0].id,
            calls=tuple(e.call for e in entries),
            repeats=repeats,
            mode=mode,
            queued_at=min(e.queued_at for e in entries),
            taken_at=now,
        )
        return self._current

    def finish(self, announcement_id: int, now: float, started: float | None = None) -> Spoken:
        """Free the loudspeaker. ``started`` is when sound began (defaults to take time)."""
        current = self._current
        if current is None or current.id != announcement_id:
            raise RuntimeError(f"announcement {announcement_id} is not the one being spoken")
        self._current = None
        spoken = Spoken(current, current.taken_at if started is None else started, now)
        self.history.append(spoken)
        return spoken
