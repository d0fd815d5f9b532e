"""Each group of queues' waiting tickets, kept in the server's memory between events.

Every ticket issue estimates the new ticket's wait, and the estimate replays the call
order over the waiting tickets of the queues sharing windows with it. Reading those
tickets (at 2,000 waiting: 1,200 of them, each line's first ``MAX_CALLS``) was nearly all
of an issue's cost. The tickets change a few at a time (one issued, one called), so this
memory keeps them and, at the next estimate, reads only what changed since: the change
log that triggers on ``tickets`` write (migration 0019) names the tickets touched, and
those are read again.

The same memory counts the group's tickets issued since the estimate's arrival window
began (``estimate.FLOW_WINDOW_MINUTES`` ago): counting them in the database at every
issue scanned the last hour's tickets, the largest read left (18 % of the database
thread at 2,000 waiting). The log names every ticket inserted, deleted or moved to
another queue or priority (``issued_at`` is never changed), so the same catch-up keeps
the counts.

And the state of the group's windows (status, since, the current ticket's queue, call
time and status), which every estimate read in a statement of its own: migration 0020's
triggers on ``windows`` write their changes to the same log under the window's number
negated (``ticket_id = -number``), and a change of a window's current ticket is a
ticket change already logged.

Right with several server processes on one PostgreSQL, and after a rollback: a memory
is the state at one change of the log, known by the change's number *and* random token
(a rolled-back change's number is given again, with another token); if the log no
longer holds that change, or holds it with another token, the memory is read afresh.
Used by the database thread that writes (a reader thread, whose snapshot may be older,
reads the tables directly).
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import String, and_, bindparam, or_, select, type_coerce
from sqlalchemy.engine import Connection

from ..core import estimate, rules
from . import schema as s

MAX_CATCH_UP = 500
"""Past this many changes since the memory, one read of the whole group is cheaper."""

_t, _lc, _w = s.tickets.c, s.line_changes.c, s.windows.c
_window_ticket = s.tickets.alias("window_ticket")
_wt = _window_ticket.c
_FIELDS = (
    _t.id,
    _t.queue,
    type_coerce(_t.sort_at, String()),
    _t.priority,
    type_coerce(_t.appointment_at, String()),
    _t.target_window,
)
_SINCE = (
    # The changes since the memory's, each with its ticket as it is now: one round trip.
    select(
        _lc.version,
        _lc.token,
        _lc.ticket_id,
        *_FIELDS,
        _t.status,
        _t.day,
        type_coerce(_t.issued_at, String()),
        _t.called_at,
        # a window's change (ticket_id = -number): the window and its ticket as they are now
        _w.status,
        _w.since,
        _w.ticket_id,
        _wt.queue,
        _wt.called_at,
        _wt.status,
    )
    .select_from(
        s.line_changes.outerjoin(s.tickets, _t.id == _lc.ticket_id)
        .outerjoin(s.windows, _w.number == -_lc.ticket_id)
        .outerjoin(_window_ticket, _wt.id == _w.ticket_id)
    )
    .where(_lc.version >= bindparam("version"))
    .order_by(_lc.version)
    .limit(bindparam("n"))
)
_latest = select(_lc.version, _lc.token).order_by(_lc.version.desc()).limit(1).subquery()
_GROUP = select(_latest.c.version, _latest.c.token, *_FIELDS).select_from(
    # The log's latest change and the group's tickets in one statement (one snapshot;
    # one row with no ticket when none waits).
    _latest.outerjoin(
        s.tickets,
        and_(
            _t.day == bindparam("day"),
            _t.status == "waiting",
            or_(
                _t.queue.in_(bindparam("queues", expanding=True)),
                _t.target_window.in_(bindparam("numbers", expanding=True)),
            ),
        ),
    )
)

_ISSUED = select(_t.id, _t.queue, _t.priority, type_coerce(_t.issued_at, String())).where(
    # The group's tickets issued since ``since`` (any status: a called ticket arrived too).
    _t.day == bindparam("day"),
    _t.queue.in_(bindparam("queues", expanding=True)),
    _t.issued_at >= bindparam("since", type_=s.UTCDateTime()),
)

WINDOWS = (
    # The state of the given windows, each with its current ticket: what the estimate
    # reads of them (the memory's first read, and the tests' reference).
    select(
        _w.number,
        _w.status,
        _w.since,
        _w.ticket_id,
        _t.queue,
        _t.called_at,
        _t.status.label("tstatus"),
    )
    .select_from(s.windows.outerjoin(s.tickets, _t.id == _w.ticket_id))
    .where(_w.number.in_(bindparam("numbers", expanding=True)))
)


class WindowState(NamedTuple):
    """One window as :data:`WINDOWS` gives it (``tstatus``: its current ticket's status)."""

    number: int
    status: str
    since: dt.datetime | None
    ticket_id: int | None
    queue: str | None
    called_at: dt.datetime | None
    tstatus: str | None


Counts = dict[str, tuple[int, int]]
"""Tickets issued per queue since a time: (ordinary, priority); queues with none left out
(as the database's ``GROUP BY`` gives them)."""


def utc(value: Any) -> dt.datetime | None:
    """What ``schema.UTCDateTime`` gives for a stored time, from the driver's raw value
    (read raw: the column type's own conversion was most of the cost of a long line)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _kind(c: rules.Candidate) -> int:
    """The line a ticket stands in: 0 ordinary, 1 priority, 2 sent to a window, 3 appointment
    (the store's ``_line_kind``)."""
    if c.target_window is not None:
        return 2
    if c.priority == rules.APPOINTMENT:
        return 3
    return 0 if c.priority is None else 1


@dataclass(slots=True)
class _Group:
    """One group's waiting tickets as of change ``version`` (with ``token``) of the log."""

    day: dt.date
    version: int
    token: int
    queues: frozenset[str]
    numbers: frozenset[int]
    keys: dict[tuple[str, int], list[tuple[dt.datetime, int]]] = field(default_factory=dict)
    """Each line's (time, id) in call order: ordinary (0), priority (1); sent to a window
    (2) and appointments (3) kept the same way."""
    lines: dict[tuple[str, int], list[rules.Candidate]] = field(default_factory=dict)
    """The tickets, in the order of ``keys`` (kept apart so a line's head is one slice)."""
    where: dict[int, tuple[tuple[str, int], tuple[dt.datetime, int]]] = field(default_factory=dict)
    floor: dt.datetime = dt.datetime.max.replace(tzinfo=dt.UTC)
    """Every ticket of the group's queues issued at or after this is in ``issued``."""
    issued: dict[tuple[str, bool], list[tuple[dt.datetime, int]]] = field(default_factory=dict)
    """Per (queue, priority?): the (issue time, id) of its tickets issued since ``floor``,
    in time order (a count since a time is one bisection)."""
    issued_where: dict[int, tuple[tuple[str, bool], tuple[dt.datetime, int]]] = field(
        default_factory=dict
    )
    windows: dict[int, WindowState] = field(default_factory=dict)
    """The group's windows (those with a row), by number."""
    window_of: dict[int, int] = field(default_factory=dict)
    """Each window's current ticket: ticket id -> window number."""

    def set_window(self, w: WindowState | None, number: int) -> None:
        """Window ``number`` as it is now (``None``: it has no row)."""
        if number not in self.numbers:
            return
        old = self.windows.pop(number, None)
        if old is not None and old.ticket_id is not None:
            self.window_of.pop(old.ticket_id, None)
        if w is not None:
            self.windows[number] = w
            if w.ticket_id is not None:
                self.window_of[w.ticket_id] = number

    def ticket_changed(
        self, ticket_id: int, queue: str | None, called_at: Any, status: str | None
    ) -> None:
        """A window's current ticket as it is now (all ``None``: it was deleted)."""
        number = self.window_of.get(ticket_id)
        if number is not None:
            w = self.windows[number]
            self.windows[number] = w._replace(queue=queue, called_at=called_at, tstatus=status)

    def count(self, ticket_id: int, queue: str, priority: bool, at: dt.datetime | None) -> None:
        """Count a ticket as it is now (after :meth:`uncount` of what it was)."""
        if at is None or at < self.floor or queue not in self.queues:
            return
        line, key = (queue, priority), (at, ticket_id)
        times = self.issued.setdefault(line, [])
        if not times or times[-1] < key:
            times.append(key)  # the usual case: the newest ticket
        else:
            bisect.insort(times, key)
        self.issued_where[ticket_id] = (line, key)

    def uncount(self, ticket_id: int) -> None:
        got = self.issued_where.pop(ticket_id, None)
        if got is None:
            return
        line, key = got
        times = self.issued[line]
        del times[bisect.bisect_left(times, key)]

    def issued_since(self, since: dt.datetime) -> Counts:
        """Per queue, its tickets issued at or after ``since`` (``since`` >= ``floor``);
        those before it are dropped: the window only moves forward."""
        out: Counts = {}
        for (q, priority), times in self.issued.items():
            i = bisect.bisect_left(times, (since,))
            if i:
                for _, ticket_id in times[:i]:
                    del self.issued_where[ticket_id]
                del times[:i]
            if times:
                o, p = out.get(q, (0, 0))
                out[q] = (o, p + len(times)) if priority else (o + len(times), p)
        self.floor = max(self.floor, since)
        return out

    def add(self, c: rules.Candidate) -> None:
        if c.id in self.where or not (c.queue in self.queues or c.target_window in self.numbers):
            return
        line = (c.queue, _kind(c))
        key = (c.sort_at, c.id)
        keys = self.keys.setdefault(line, [])
        i = bisect.bisect(keys, key)
        keys.insert(i, key)
        self.lines.setdefault(line, []).insert(i, c)
        self.where[c.id] = (line, key)

    def drop(self, ticket_id: int) -> None:
        got = self.where.pop(ticket_id, None)
        if got is None:
            return
        line, key = got
        i = bisect.bisect_left(self.keys[line], key)
        del self.keys[line][i]
        del self.lines[line][i]

    def brief(self, ticket: int) -> Waiting:
        """Every ticket sent to a window or booked, of each line the first
        :data:`estimate.MAX_CALLS` and ``ticket``, and how many each line leaves out;
        and the same tickets by line (``HallNow.lines``)."""
        waiting: list[rules.Candidate] = []
        hidden: dict[tuple[str, bool], int] = {}
        by_line: dict[tuple[str, int], list[rules.Candidate]] = {}
        first = estimate.MAX_CALLS
        mine = self.where.get(ticket)
        for (q, kind), line in self.lines.items():
            if kind >= 2 or len(line) <= first:
                waiting += line
                by_line[(q, kind)] = list(line)  # a copy: the memory moves on
                continue
            shown_line = line[:first]
            if mine is not None and mine[0] == (q, kind):
                i = bisect.bisect_left(self.keys[(q, kind)], mine[1])
                if i >= first:
                    shown_line.append(line[i])  # after the first: the line stays in order
            waiting += shown_line
            by_line[(q, kind)] = shown_line
            if len(line) > len(shown_line):
                hidden[(q, kind == 1)] = len(line) - len(shown_line)
        return waiting, hidden, by_line

    def whole(self) -> Waiting:
        by_line = {k: list(line) for k, line in self.lines.items()}  # copies: the memory moves on
        return [c for line in by_line.values() for c in line], {}, by_line


Waiting = tuple[
    list[rules.Candidate],
    dict[tuple[str, bool], int],
    dict[tuple[str, int], list[rules.Candidate]],
]
"""The waiting tickets an estimate reads, those each line leaves out, and the tickets by
line (:attr:`estimate.HallNow.lines`: the replay copies them, never changes them)."""


class Lines:
    """The memory of every group of queues this process has estimated for."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, ...], _Group] = {}
        self._lock = threading.Lock()
        self.reads = 0
        """Whole reads of a group (a memory made or made again): for the tests."""

    def waiting(
        self,
        conn: Connection,
        queues: Sequence[str],
        numbers: Sequence[int],
        day: dt.date,
        since: dt.datetime,
        *,
        brief: bool,
        ticket: int,
    ) -> tuple[Waiting, Counts, dict[int, WindowState]]:
        """The group's waiting tickets now, as the database holds them for ``conn``: all
        of them, or (``brief``) as :meth:`_Group.brief` gives them, the counts, and the
        same tickets by line; its tickets issued since ``since``, per queue; and the
        state of its windows.

        Under a lock: the server's writing thread is the one user, but a memory shared
        by two threads must never be caught half-updated."""
        with self._lock:
            g = self.group(conn, queues, numbers, day, since)
            if since < g.floor:  # an earlier window than the memory holds (a clock set back)
                self._read_issued(conn, g, since)
            waiting = g.brief(ticket) if brief else g.whole()
            return waiting, g.issued_since(since), dict(g.windows)  # a copy: the memory moves on

    def group(
        self,
        conn: Connection,
        queues: Sequence[str],
        numbers: Sequence[int],
        day: dt.date,
        since: dt.datetime,
    ) -> _Group:
        """The group's memory brought up to date (callers hold the lock); a memory made
        afresh counts the tickets issued from ``since``."""
        key = tuple(queues)
        g = self._groups.get(key)
        if g is not None and g.day == day and self._catch_up(conn, g):
            return g
        g = self._groups[key] = self._read(conn, queues, numbers, day)
        self._read_issued(conn, g, since)
        return g

    def _read(
        self, conn: Connection, queues: Sequence[str], numbers: Sequence[int], day: dt.date
    ) -> _Group:
        self.reads += 1
        rows = conn.execute(
            _GROUP, {"day": day, "queues": list(queues), "numbers": list(numbers)}
        ).all()
        # An empty log (never, short of a hand-made database): a memory nothing matches.
        version, token = rows[0][:2] if rows else (-1, -1)
        g = _Group(day, version, token, frozenset(queues), frozenset(numbers))
        for _, _, id_, q, sort_at, prio, appt_at, target in rows:
            if id_ is not None:
                g.add(rules.Candidate(id_, q, utc(sort_at), prio, utc(appt_at), target))  # type: ignore[arg-type]
        # After the change read above: on PostgreSQL this may see later changes too,
        # which the next catch-up applies again (as :meth:`_read_issued` says).
        for r in conn.execute(WINDOWS, {"numbers": list(numbers)}).all():
            g.set_window(WindowState(*r), r[0])
        return g

    def _read_issued(self, conn: Connection, g: _Group, since: dt.datetime) -> None:
        """Count the group's tickets issued since ``since`` afresh.

        A statement after the one that read the memory's change: on PostgreSQL it may
        see changes committed since, which the next catch-up applies again; applying a
        change is idempotent (the ticket as it is now replaces what was counted)."""
        g.issued.clear()
        g.issued_where.clear()
        g.floor = since
        rows = conn.execute(
            _ISSUED, {"day": g.day, "queues": sorted(g.queues), "since": since}
        ).all()
        for id_, q, prio, at in rows:
            g.count(id_, q, prio is not None, utc(at))

    def _catch_up(self, conn: Connection, g: _Group) -> bool:
        """Bring ``g`` to the log's latest change; False when it must be read afresh."""
        rows = conn.execute(_SINCE, {"version": g.version, "n": MAX_CATCH_UP + 2}).all()
        if not rows or rows[0][0] != g.version or rows[0][1] != g.token:
            return False  # the memory's change is gone from the log, or was rolled back
        if len(rows) > MAX_CATCH_UP:
            return False
        for r in rows[1:]:  # a ticket changed twice comes twice, as it is now both times
            changed, id_, q, sort_at, prio, appt_at, target, status, day, issued_at = r[2:12]
            if changed < 0:  # a window (migration 0020)
                wstatus, since, wticket, wq, wcalled, wtstatus = r[13:]
                w = None
                if wstatus is not None:
                    w = WindowState(-changed, wstatus, since, wticket, wq, wcalled, wtstatus)
                g.set_window(w, -changed)
                continue
            g.drop(changed)
            g.uncount(changed)
            g.ticket_changed(changed, q, r[12], status)
            if id_ is None or day != g.day:  # deleted, or not of this day
                continue
            if status == "waiting":
                g.add(rules.Candidate(id_, q, utc(sort_at), prio, utc(appt_at), target))  # type: ignore[arg-type]
            g.count(id_, q, prio is not None, utc(issued_at))
        g.version, g.token = rows[-1][0], rows[-1][1]
        return True
