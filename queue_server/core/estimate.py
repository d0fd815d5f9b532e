"""Wait estimates made by playing the hall's own call order forward.

The figure a citizen is promised is the time until a window calls their ticket. The old
formula (people ahead × service time ÷ open windows) missed most of what decides that
time; this module instead replays what the hall will do next:

* every window that serves the ticket's queue, or a queue sharing a window with it (the
  *component*), becomes free at its expected time: an idle window now, a busy one when its
  case is expected to end, a paused one after a typical pause, a window not yet signed in
  shortly after its session opens;
* the earliest free window calls the ticket :func:`rules.select_next` picks for it — the
  same function the store's SQL mirrors — so preferences between shared queues, priority
  tickets and due appointments take their turn exactly as they will;
* the tickets expected to arrive meanwhile are added at their expected times: priority
  tickets that will overtake, and ordinary tickets of queues a shared window prefers;
* a window does not call during the break between two opening intervals of its queues,
  and arrivals stop while the queue is closed. After the day's last interval windows go
  on calling until the tickets already issued are served (no ticket is sent home).

Everything is passed in (the store or the day simulator gathers it), so the same function
runs in the server, in the tests and in ``benchmarks/estimate_sim.py``.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from . import rules
from .hall import OpeningHours

MIN_RESIDUAL_SHARE = 0.25
"""A case already past its expected length is expected to last this share of one more."""
MIN_RESIDUAL_CASES = 3
"""Recent cases longer than the current one needed to judge what is left of it."""
PAUSE_MINUTES = 10.0
"""How long a paused window is expected to stay paused (measured pauses are 5-15 min)."""
OPENING_GRACE_MINUTES = 20.0
"""A closed window counts as opening soon from this long before to this long after the
start of one of its queues' opening intervals: clerks sign in around the session start."""
OPENING_LAG_MINUTES = 5.0
"""How long after the session start a window not yet signed in is expected to call."""
FLOW_WINDOW_MINUTES = 60.0
"""Arrival rates are counted over this much recent time."""
FLOW_HORIZON_MINUTES = 60.0
"""Arrivals are projected this far ahead at most (see ``flow_end`` in :func:`estimate_wait`)."""
MIN_FLOW_MINUTES = 30.0
"""Arrival rates are never taken over less time than this (see :func:`flows_from_counts`)."""
MAX_CALLS = 400
DEFAULT_CV = 0.7
"""Case-length variation assumed until a queue has ``MIN_SPREAD_CASES`` cases."""
MIN_SPREAD_CASES = 5
RANGE_Z = 1.28
"""Half-width of a central 80 % range of a normal spread, in standard deviations."""
MIN_SPREAD = 0.15
"""The range is never narrower than ±15 %: arrivals and pauses vary too."""
"""Work bound: past this many replayed steps the rest is extrapolated at the pace seen.

A few hundred steps cover every ticket of a busy hall's queue group; only very long
lines (hundreds ahead in one group of shared windows) are extrapolated."""


@dataclass(frozen=True, slots=True)
class WindowNow:
    """A window as the estimate sees it: which queues it serves and when it next calls.

    ``free_at`` None means the window is not expected to call today (closed, outside
    the opening grace).
    """

    number: int
    queues: tuple[str, ...]
    free_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Flow:
    """Expected arrivals per minute of one queue while it is open."""

    ordinary: float = 0.0
    priority: float = 0.0


@dataclass(frozen=True, slots=True)
class HallNow:
    """Everything the estimate needs to know of the hall at one moment."""

    now: dt.datetime
    tz: ZoneInfo
    waiting: Sequence[rules.Candidate]
    windows: Sequence[WindowNow]
    service_minutes: Mapping[str, float]
    hours: Mapping[str, OpeningHours] = field(default_factory=dict)
    flows: Mapping[str, Flow] = field(default_factory=dict)
    default_service_minutes: float = 8.0
    service_cv: Mapping[str, float] = field(default_factory=dict)
    """How much each queue's case lengths vary (for the range); see :func:`spread_from_cases`."""
    hidden: Mapping[tuple[str, bool], int] = field(default_factory=dict)
    """Waiting tickets left out of ``waiting``, per (queue, priority?) line: they stand
    after every listed ticket of that line except the targets (the store lists the
    first :data:`MAX_CALLS` of each long line, which no replay gets past, and the ticket
    it estimates; everyone else is only counted)."""
    lines: Mapping[tuple[str, int], Sequence[rules.Candidate]] | None = None
    """``waiting`` again, split into its lines, when the caller keeps it so (the store's
    memory, store/lines.py): keyed (queue, kind), kind 0 ordinary and 1 priority (each
    in call order, by original time then id), 2 sent to a window, 3 appointments.
    The replay then takes each line as it is instead of sorting ``waiting`` out (a
    tenth of an estimate at 2,000 waiting). The same tickets as ``waiting``, or None."""


# ---------------------------------------------------------------------------------------
# Inputs: turning what the store knows into window free times, service times and flows


def sessions(
    hours: OpeningHours, tz: ZoneInfo, now: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The opening intervals of ``now``'s hall-local day as aware datetimes, in order."""
    local = now.astimezone(tz)
    if local.isoweekday() not in hours.weekdays:
        return []
    day = local.date()
    return sorted(
        (dt.datetime.combine(day, a, tz), dt.datetime.combine(day, b, tz))
        for a, b in hours.intervals
    )


def window_free_at(
    *,
    status: str,
    now: dt.datetime,
    since: dt.datetime | None,
    busy_queue: str | None,
    busy_called_at: dt.datetime | None,
    service_minutes: Mapping[str, float],
    default_service_minutes: float,
    session_starts: Sequence[dt.datetime],
    recent_s: Sequence[float] = (),
) -> dt.datetime | None:
    """When a window is expected to call next, from its state (``open``/``paused``/``closed``).

    A busy window frees when what is left of its case is over: judged from ``recent_s``
    (recent case lengths of its queue, seconds from call to end) when enough of them
    ran longer, otherwise the mean length less the time spent, and never less than a
    quarter of a case (never "free now" while a clerk is plainly busy).
    A closed window counts only near one of its session starts.
    """
    if status == "open":
        if busy_queue is None or busy_called_at is None:
            return now
        svc = service_minutes.get(busy_queue, default_service_minutes)
        elapsed = (now - busy_called_at).total_seconds()
        longer = [d - elapsed for d in recent_s if d > elapsed]
        if len(longer) >= MIN_RESIDUAL_CASES:
            # What is left of a case that has run this long, judged by recent cases that
            # ran longer: a long case tends to go on, a short one is nearly done.
            left = sum(longer) / len(longer) / 60.0
        else:
            left = max(svc - elapsed / 60.0, svc * MIN_RESIDUAL_SHARE)
        return now + dt.timedelta(minutes=left)
    if status == "paused":
        start = since or now
        return max(start + dt.timedelta(minutes=PAUSE_MINUTES), now + dt.timedelta(minutes=1))
    grace = dt.timedelta(minutes=OPENING_GRACE_MINUTES)
    for s in session_starts:
        if s - grace <= now <= s + grace:
            return max(now, s) + dt.timedelta(minutes=OPENING_LAG_MINUTES)
    return None


def service_minutes_from_cases(durations_s: Iterable[float], default_minutes: float) -> float:
    """Mean window time per call, from call to the end of the case (finish or no-show).

    Measured from the call, so the walk to the window, recalls and no-shows are counted,
    and a case finished without a start press counts its real length, not 0 s.
    """
    got = [d for d in durations_s if d > 0]
    if not got:
        return default_minutes
    return sum(got) / len(got) / 60.0


def flows_from_counts(
    counts: Mapping[str, tuple[int, int]],
    hours: Mapping[str, OpeningHours],
    tz: ZoneInfo,
    now: dt.datetime,
) -> dict[str, Flow]:
    """Arrival rates from (ordinary, priority) tickets issued per queue over the last hour.

    Divided by the minutes the queue was open in that hour, but by no fewer than
    ``MIN_FLOW_MINUTES``: the first tickets of a session (people who waited at the door)
    are not a rate that lasts.
    """
    since = now - dt.timedelta(minutes=FLOW_WINDOW_MINUTES)
    out: dict[str, Flow] = {}
    for q, (ordinary, priority) in counts.items():
        if q in hours:
            spans = sessions(hours[q], tz, now)
            open_s = sum(max(0.0, (min(b, now) - max(a, since)).total_seconds()) for a, b in spans)
        else:
            open_s = FLOW_WINDOW_MINUTES * 60
        minutes = max(open_s / 60, MIN_FLOW_MINUTES)
        out[q] = Flow(ordinary / minutes, priority / minutes)
    return out


PAST_WEIGHT = 1.0
"""Weight of the same hour of past days against the last hour; see :func:`blend_flows`.

Measured on simulated days (docs/benchmarks.md): a plain 50/50 blend made the figure
worse after the morning peak (past days say the rush is over, while the backlog it
left is what the last hour's higher rate was making up for); the higher of the two
at full weight told fewer citizens too little."""
PAST_DAYS = 10
"""Calendar days looked back for the same hour's arrivals (days without tickets skipped)."""


def flows_from_past(
    counts: Mapping[str, tuple[int, int]],
    days: int,
    hours: Mapping[str, OpeningHours],
    tz: ZoneInfo,
    now: dt.datetime,
) -> dict[str, Flow]:
    """Arrival rates in the coming hour from (ordinary, priority) tickets issued in the
    same hour of ``days`` past days (summed in ``counts``).

    Divided by the days and by the minutes the queue is open in that hour today (no
    fewer than ``MIN_FLOW_MINUTES``), so a break or the closing in the hour counts.
    """
    if days <= 0:
        return {}
    until = now + dt.timedelta(minutes=FLOW_HORIZON_MINUTES)
    out: dict[str, Flow] = {}
    for q, (ordinary, priority) in counts.items():
        if q in hours:
            spans = sessions(hours[q], tz, now)
            open_s = sum(max(0.0, (min(b, until) - max(a, now)).total_seconds()) for a, b in spans)
        else:
            open_s = FLOW_HORIZON_MINUTES * 60
        minutes = max(open_s / 60, MIN_FLOW_MINUTES) * days
        out[q] = Flow(ordinary / minutes, priority / minutes)
    return out


def blend_flows(
    recent: Mapping[str, Flow], past: Mapping[str, Flow] | None, weight: float = PAST_WEIGHT
) -> dict[str, Flow]:
    """The rate projected ahead: the last hour's, raised toward the same hour of past days.

    The last hour alone lags the day's shape: before a peak it has not seen the rise
    (priority tickets and shared windows' other queues overtake more than projected, so
    the figure comes out too low). Past days know the shape. The rate is never lowered
    below the last hour's: a figure told too low is the error citizens mind, and after a
    peak the last hour's rate makes up for what the replay does not see of the backlog.
    A queue without past keeps its own rate.
    """
    if not past:
        return dict(recent)
    out: dict[str, Flow] = {}
    for q in set(recent) | set(past):
        r, p = recent.get(q, Flow()), past.get(q)
        if p is None:
            out[q] = r
            continue
        out[q] = Flow(
            max(r.ordinary, (1 - weight) * r.ordinary + weight * p.ordinary),
            max(r.priority, (1 - weight) * r.priority + weight * p.priority),
        )
    return out


def component(windows: Sequence[WindowNow], queue: str) -> tuple[set[str], list[WindowNow]]:
    """Queues linked to ``queue`` by shared windows, and the windows serving them.

    Only these can change when ``queue``'s tickets are called; the rest of the hall is
    left out of the replay.
    """
    queues = {queue}
    chosen: dict[int, WindowNow] = {}
    grew = True
    while grew:
        grew = False
        for w in windows:
            if w.number not in chosen and queues.intersection(w.queues):
                chosen[w.number] = w
                new = set(w.queues) - queues
                if new:
                    queues |= new
                    grew = True
    return queues, sorted(chosen.values(), key=lambda w: w.number)


# ---------------------------------------------------------------------------------------
# The replay


class _Stream:
    """Expected arrivals of one line, at ``first``, ``first + gap``, ... (``count`` of them,
    microseconds after ``now``); made into tickets only when one reaches a line's head.

    The replay used to add each expected arrival to the pool as its time came (a heap of
    streams, an id counting down in order of arrival); a busy hour projects a thousand
    of them, nearly all behind tickets no window reaches. Each is now worked out when
    needed, with the id it had: its rank among all arrivals by (time, stream).
    """

    __slots__ = ("s", "queue", "prio", "first", "gap", "count", "admitted", "made")

    def __init__(self, s: int, queue: str, prio: bool, first: int, gap: int, end: int) -> None:
        self.s, self.queue, self.prio, self.first, self.gap = s, queue, prio, first, gap
        self.count = -((first - end) // gap) if end > first else 0
        """Arrivals before ``end`` (the end of the flow): ⌈(end - first) / gap⌉."""
        self.admitted = 0
        """How many have arrived by the replay's clock."""
        self.made: dict[int, rules.Candidate] = {}

    def upto(self, t: int, strict: bool = False) -> int:
        """How many arrive at or before ``t`` (before it, if ``strict``)."""
        if strict:
            t -= 1
        if t < self.first:
            return 0
        return min(self.count, (t - self.first) // self.gap + 1)

    def next_at(self) -> int | None:
        return self.first + self.admitted * self.gap if self.admitted < self.count else None


class _Line:
    """One queue's priority or ordinary line: sorted once, then taken from the front by
    moving ``head`` (nothing is shifted or copied while the replay runs); expected
    arrivals follow the tickets already waiting, in order of arrival."""

    __slots__ = ("items", "head", "stream", "hidden")

    def __init__(self) -> None:
        self.items: list[rules.Candidate] = []
        self.head = 0
        self.stream: _Stream | None = None
        self.hidden = 0
        """Tickets not listed (:attr:`HallNow.hidden`): only counted."""

    def first(self, pool: _Pool) -> rules.Candidate | None:
        if self.head < len(self.items):
            return self.items[self.head]
        s = self.stream
        if s is None:
            return None
        k = self.head - len(self.items)
        return pool.arrival(s, k) if k < s.admitted else None

    def left(self) -> int:
        """Tickets still in the line (arrivals counted as they have come)."""
        extra = self.stream.admitted if self.stream is not None else 0
        return len(self.items) + self.hidden + extra - self.head

    def real_left(self) -> list[rules.Candidate]:
        return self.items[self.head :]


class _Pool:
    """Waiting tickets kept so that each window's next pick is among a few heads.

    Within one queue every window orders ordinary tickets alike (by original time), and
    priority tickets alike; so the call order's minimum for a window is always among the
    heads of its queues' two lines, the appointments (few) and the tickets sent to that
    window. :func:`rules.select_next` then chooses among those: the rule stays in one place.
    """

    __slots__ = (
        "prio",
        "ordinary",
        "appts",
        "sent",
        "_lines",
        "streams",
        "now",
        "in_order",
        "_added",
    )

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.prio: dict[str, _Line] = {}
        self.ordinary: dict[str, _Line] = {}
        self.appts: dict[str, list[rules.Candidate]] = {}
        self.sent: dict[int, list[rules.Candidate]] = {}
        self._lines: dict[int, list[tuple[_Line, _Line, list[rules.Candidate]]]] = {}
        self.streams: list[_Stream] = []
        self.in_order = False
        """The ordinary and priority lines are in call order but for :meth:`add`'s."""
        self._added: list[_Line] = []

    def expect(self, stream: _Stream) -> None:
        """Arrivals of ``stream`` join the back of their line as their time comes."""
        lines = self.prio if stream.prio else self.ordinary
        self._line(lines, stream.queue).stream = stream
        self.streams.append(stream)

    def admit(self, t: int) -> int | None:
        """Everything expected by ``t`` has arrived; when the next one arrives (or None)."""
        nxt = None
        for s in self.streams:
            s.admitted = s.upto(t)
            at = s.next_at()
            if at is not None and (nxt is None or at < nxt):
                nxt = at
        return nxt

    def arrival(self, s: _Stream, k: int) -> rules.Candidate:
        """The ``k``-th arrival of ``s`` as a ticket, with the id the replay gave it (ids
        count down from -1 in order of arrival, ties by stream)."""
        got = s.made.get(k)
        if got is None:
            at = s.first + k * s.gap
            rank = k + sum(o.upto(at, strict=o.s > s.s) for o in self.streams if o is not s)
            sort_at = self.now + dt.timedelta(microseconds=at)
            got = s.made[k] = rules.Candidate(
                -1 - rank, s.queue, sort_at, "elderly" if s.prio else None
            )
        return got

    def add(self, c: rules.Candidate) -> None:
        if c.target_window is not None:
            self.sent.setdefault(c.target_window, []).append(c)
        elif c.priority == rules.APPOINTMENT:
            self._appts(c.queue).append(c)
        else:
            line = self._line(self.ordinary if c.priority is None else self.prio, c.queue)
            line.items.append(c)
            self._added.append(line)

    def fill(self, waiting: Iterable[rules.Candidate], queues: set[str]) -> None:
        """:meth:`add` for every waiting ticket of ``queues`` or sent to a window, in bulk
        (the replay's set-up is most of its cost with a long line)."""
        for q in queues:
            self._line(self.prio, q)
            self._line(self.ordinary, q)
            self._appts(q)
        prio, ordinary, appts, sent = self.prio, self.ordinary, self.appts, self.sent
        for c in waiting:
            if c.target_window is not None:
                sent.setdefault(c.target_window, []).append(c)
            elif c.queue in queues:
                if c.priority is None:
                    ordinary[c.queue].items.append(c)
                elif c.priority == rules.APPOINTMENT:
                    appts[c.queue].append(c)
                else:
                    prio[c.queue].items.append(c)

    def fill_lines(
        self, lines: Mapping[tuple[str, int], Sequence[rules.Candidate]], queues: set[str]
    ) -> None:
        """:meth:`fill` from tickets already split into lines (:attr:`HallNow.lines`):
        the same pool, its ordinary and priority lines already in order."""
        for q in queues:
            self._line(self.prio, q)
            self._line(self.ordinary, q)
            self._appts(q)
        prio, ordinary, appts, sent = self.prio, self.ordinary, self.appts, self.sent
        for (q, kind), line in lines.items():
            if kind == 2:
                for c in line:
                    sent.setdefault(c.target_window, []).append(c)  # type: ignore[arg-type]
            elif q in queues:
                if kind == 0:
                    ordinary[q].items.extend(line)
                elif kind == 1:
                    prio[q].items.extend(line)
                else:
                    appts[q].extend(line)
        self.in_order = True

    @staticmethod
    def _line(lines: dict[str, _Line], q: str) -> _Line:
        line = lines.get(q)
        if line is None:
            line = lines[q] = _Line()
        return line

    def _appts(self, q: str) -> list[rules.Candidate]:
        got = self.appts.get(q)
        if got is None:
            got = self.appts[q] = []
        return got

    def sort(self) -> None:
        if self.in_order:
            for line in self._added:  # lines given in order: only what was added
                line.items.sort(key=_BY_TIME)
            return
        for lines in (self.prio, self.ordinary):
            for line in lines.values():
                line.items.sort(key=_BY_TIME)

    def heads(self, w: WindowNow) -> list[rules.Candidate]:
        """The window's candidates; a ticket sent to it goes before its ordinary lines.

        The call order places a ticket sent to one window among that window's ordinary
        tickets by original time. Played forward with fixed case lengths, that place
        moves with the length of the line: one more ticket at the front of a queue's
        line let the window do more of that queue first and put its long sent case
        later, so a newcomer with *more* people ahead was told *less* (a scheduling
        anomaly of list scheduling, found by hypothesis). A sent ticket is a transfer
        that keeps its original time, so it is nearly always the oldest its window
        waits for: the replay takes it at the window's next call (after priority
        tickets and due appointments, whose class still goes first), which keeps the
        estimate monotone in people ahead.
        """
        lines = self._lines.get(w.number)
        if lines is None:
            lines = self._lines[w.number] = [
                (self._line(self.prio, q), self._line(self.ordinary, q), self._appts(q))
                for q in w.queues
            ]
        sent = self.sent.get(w.number)
        out = list(sent) if sent else []
        for p, o, a in lines:
            if p.head < len(p.items):
                out.append(p.items[p.head])
            elif p.stream is not None and (c := p.first(self)) is not None:
                out.append(c)
            if not sent:
                if o.head < len(o.items):
                    out.append(o.items[o.head])
                elif o.stream is not None and (c := o.first(self)) is not None:
                    out.append(c)
            if a:
                out.extend(a)
        return out

    def ahead_of(self, target: rules.Candidate) -> int:
        """Tickets of the target's queue still before it (for the work-bound extrapolation)."""
        q = target.queue
        prio, ordinary = self.prio.get(q), self.ordinary.get(q)
        n_prio = prio.left() if prio is not None else 0
        appts = len(self.appts.get(q, ()))
        # Targets are never expected arrivals: only the tickets already waiting are looked in.
        # Tickets only counted stand before the targets (see HallNow.hidden).
        if target.priority is None and ordinary is not None:
            if (i := _index(ordinary.real_left(), target)) is not None:
                return n_prio + appts + i + ordinary.hidden
        if prio is not None and (i := _index(prio.real_left(), target)) is not None:
            return i + prio.hidden
        return n_prio + appts

    def remove(self, c: rules.Candidate) -> None:
        if c.target_window is not None:
            self.sent[c.target_window].remove(c)
        elif c.priority == rules.APPOINTMENT:
            self.appts[c.queue].remove(c)
        elif c.priority is not None:
            self.prio[c.queue].head += 1  # the pick is always its line's head
        else:
            self.ordinary[c.queue].head += 1


def _by_time(c: rules.Candidate) -> tuple[dt.datetime, int]:
    return (c.sort_at, c.id)


_US = dt.timedelta(microseconds=1)
_NEVER = 1 << 62
"""A replay time no window reaches (microseconds, about 146,000 years)."""

_BY_TIME = operator.attrgetter("sort_at", "id")
""":func:`_by_time` for sorting (done in C)."""


def _index(line: list[rules.Candidate], target: rules.Candidate) -> int | None:
    """Where ``target`` stands in ``line`` (found by id, then checked whole), or None."""
    ids = [c.id for c in line]
    try:
        i = ids.index(target.id)
    except ValueError:
        return None
    while line[i] != target:  # another ticket with the same id (never in the hall)
        try:
            i = ids.index(target.id, i + 1)
        except ValueError:
            return None
    return i


@dataclass(frozen=True, slots=True)
class Replay:
    """The replay's answer: minutes until the call, and how many cases each window that
    called worked through before it (the spread of the figure shrinks as that grows)."""

    minutes: float
    rounds: float


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a citizen is told: about ``minutes``, most likely between ``low`` and ``high``."""

    minutes: int
    low: int
    high: int


def estimate_wait(hall: HallNow, target: rules.Candidate) -> float:
    """Minutes from ``hall.now`` until a window calls ``target`` (a waiting ticket).

    Never below zero; above zero whenever no window can call at once.
    """
    return replay(hall, target).minutes


def estimate(hall: HallNow, target: rules.Candidate) -> Estimate:
    """The central figure and an 80 % range around it.

    The range comes from how much the queue's case lengths vary (their coefficient of
    variation, ``hall.service_cv``): the wait is a sum of about ``rounds`` cases per
    window, so its relative spread is the cases' spread over √rounds, with a floor for
    what the replay cannot know (arrivals, pauses).
    """
    return with_range(hall, target.queue, replay(hall, target))


def with_range(
    hall: HallNow,
    queue: str,
    got: Replay,
    breaks: list[list[tuple[float, float]]] | None = None,
) -> Estimate:
    """The figure and range of one replay (also each queue's newcomer in a snapshot).

    The spread is one of working time: a break ahead (no window of the queue calls)
    is not stretched by it, and a range that reaches it spans it. A ticket whose call
    falls just before the lunch break may well be called after it, and one told "just
    after" may be called before: the range says so (from the break's start, clerks
    back from ``0`` to twice :data:`OPENING_LAG_MINUTES` after the session opens),
    instead of ±15 % around a figure that is either side of a 90-minute jump.

    ``breaks``: what :func:`breaks_ahead` gives for ``queue``, when already worked out.
    """
    cv = hall.service_cv.get(queue, DEFAULT_CV)
    rel = max(MIN_SPREAD, RANGE_Z * cv / math.sqrt(max(1.0, got.rounds)))
    minutes = round_minutes(got.minutes)
    if got.minutes <= 0:
        return Estimate(0, 0, 0)
    if breaks is None:
        breaks = breaks_ahead(hall, queue)
    work = _working(got.minutes, breaks[1])
    low = round(_through(work * (1 - rel), breaks[0]))
    high = round(_through(work * (1 + rel), breaks[2]))
    return Estimate(minutes, max(0, min(low, minutes)), max(high, minutes))


def breaks_ahead(hall: HallNow, queue: str) -> list[list[tuple[float, float]]]:
    """The breaks ahead of ``queue`` with clerks back 0, 1 and 2 × the sign-in lag after
    each opening (:func:`with_range`'s three views of them)."""
    gaps = _gaps(hall, queue)
    return [_breaks(gaps, k * OPENING_LAG_MINUTES) for k in (0, 1, 2)]


def _gaps(hall: HallNow, queue: str) -> list[list[tuple[float, float]]]:
    """For each set of queues a window of ``queue`` serves: the stretches (minutes from
    ``hall.now``, ending at an opening) between its sessions. Empty when a window of
    the queue is always open or closed all day (the replay does not hold it back);
    after the last session windows go on calling (as in the replay)."""
    serving = [w for w in hall.windows if queue in w.queues and w.free_at is not None]
    serving = serving or [w for w in hall.windows if queue in w.queues]
    kinds = {w.queues for w in serving}
    if not kinds or any(q not in hall.hours for qs in kinds for q in qs):
        return []
    now = hall.now
    spans_of: dict[str, list[tuple[float, float]]] = {}
    for q in {q for qs in kinds for q in qs}:
        spans_of[q] = [
            ((a - now).total_seconds() / 60, (b - now).total_seconds() / 60)
            for a, b in sessions(hall.hours[q], hall.tz, now)
        ]
    out = []
    for qs in kinds:
        merged: list[list[float]] = []
        for a, b in sorted(x for q in qs for x in spans_of[q]):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        if not merged:
            return []
        out.append([(x[1], y[0]) for x, y in zip(merged, merged[1:], strict=False)])
    return out


def _breaks(gaps: list[list[tuple[float, float]]], lag: float) -> list[tuple[float, float]]:
    """Breaks ahead in which no window of the queue calls (every window's gap, each
    back ``lag`` minutes after its opening), in order. A break under way is left to
    the figure: the range around it is the
    spread around the figure, as it was (measured: counting the clerks' sign-in lag
    into the range there made it cover 91 % of waits after the lunch opening)."""
    common: list[tuple[float, float]] | None = None
    for window_gaps in gaps:
        mine = [(a, b + lag) for a, b in window_gaps if a > 0]
        if common is None:
            common = mine
        else:
            common = [
                (max(a, c), min(b, d)) for a, b in common for c, d in mine if max(a, c) < min(b, d)
            ]
    return sorted(common or [])


def _working(minutes: float, breaks: Sequence[tuple[float, float]]) -> float:
    """Minutes from now less the breaks in them."""
    return minutes - sum(max(0.0, min(minutes, b) - a) for a, b in breaks)


def _through(work: float, breaks: Sequence[tuple[float, float]]) -> float:
    """Minutes from now until ``work`` minutes of working time have passed."""
    at = work
    for a, b in breaks:
        if at >= a:
            at += b - a
    return at


def spread_from_cases(durations_s: Sequence[float]) -> float | None:
    """Coefficient of variation of recent case lengths; None with too few to tell."""
    got = [d for d in durations_s if d > 0]
    if len(got) < MIN_SPREAD_CASES:
        return None
    mean = sum(got) / len(got)
    var = sum((d - mean) ** 2 for d in got) / (len(got) - 1)
    return math.sqrt(var) / mean if mean > 0 else None


def replay(hall: HallNow, target: rules.Candidate) -> Replay:
    """Play the call order forward until a window calls ``target``."""
    return replay_many(hall, [target])[0]


def needs_assumed_window(hall: HallNow, target: rules.Candidate) -> bool:
    """No window is expected to call ``target`` today: its replay assumes one opens now."""
    return not any(
        w.free_at is not None and rules.eligible(target, w.number, w.queues)
        for w in component(hall.windows, target.queue)[1]
    )


def replay_each(hall: HallNow, targets: Sequence[rules.Candidate]) -> list[Replay]:
    """What :func:`replay` gives each target, in one replay where that is the same.

    One replay serves them all (a ghost's pick is no call and no step) unless a target
    needs an assumed window: each replay of its own would assume one for it alone,
    while together one target's assumed window could call another.
    """
    if len(targets) > 1 and not _one_replay_serves(hall, targets):
        return [replay(hall, c) for c in targets]
    return replay_many(hall, targets)


def _one_replay_serves(hall: HallNow, targets: Sequence[rules.Candidate]) -> bool:
    """Whether :func:`replay_many` gives each target what a replay of its own gives.

    Not when a target needs an assumed window; not across groups of queues (the work
    bound is shared); not when a ghost stands in line before another target of its
    queue (left unpicked, it would count among those ahead of that target).
    """
    group = component(hall.windows, targets[0].queue)[0]
    if any(component(hall.windows, c.queue)[0] != group for c in targets[1:]):
        return False
    if any(needs_assumed_window(hall, c) for c in targets):
        return False
    waiting = {c.id for c in hall.waiting}
    return not any(
        g.id not in waiting and x is not g and x.queue == g.queue and _by_time(g) < _by_time(x)
        for g in targets
        for x in targets
    )


def estimates(hall: HallNow, targets: Sequence[rules.Candidate]) -> list[Estimate]:
    """:func:`estimate` for several tickets of one group of queues, from one replay.

    A ticket issue needs two figures (the new ticket's and its queue's ``queue.stats``
    newcomer); replaying the call order once for both halves the cost of an issue.
    """
    breaks: dict[str, list[list[tuple[float, float]]]] = {}
    out = []
    for c, r in zip(targets, replay_each(hall, targets), strict=True):
        if r.minutes > 0 and c.queue not in breaks:
            breaks[c.queue] = breaks_ahead(hall, c.queue)  # once per queue, not per ticket
        out.append(with_range(hall, c.queue, r, breaks.get(c.queue)))
    return out


def replay_many(hall: HallNow, targets: Sequence[rules.Candidate]) -> list[Replay]:
    """One replay for several tickets of one group of queues sharing windows.

    A target that is not among the waiting tickets (someone who would take a ticket now)
    is a ghost: when a window picks it, its time is noted and the window picks again at
    once, so ghosts never delay anyone and each gets what a replay of its own would give.
    Used for every queue's figure in a snapshot.
    """
    now = hall.now
    queues: set[str] = set()
    windows: list[WindowNow] = []
    for target in targets:
        if target.queue not in queues:
            more, linked = component(hall.windows, target.queue)
            queues |= more
            windows += [w for w in linked if w not in windows]
    phantoms: dict[int, int] = {}
    for i, target in enumerate(targets):
        if not any(
            w.free_at is not None and rules.eligible(target, w.number, w.queues) for w in windows
        ):
            # No window will call this ticket today as things stand: assume one opens
            # now, so the citizen gets a figure (not a blank) that falls as windows open.
            number = target.target_window if target.target_window is not None else -1 - i
            windows = [*windows, WindowNow(number, (target.queue,), now)]
            phantoms[target.id] = number
    svc = {q: hall.service_minutes.get(q, hall.default_service_minutes) for q in queues}
    qsessions = {q: sessions(hall.hours[q], hall.tz, now) for q in queues if q in hall.hours}
    wspans: dict[int, list[tuple[dt.datetime, dt.datetime]] | None] = {}
    for w in windows:
        # A window with an always-open queue, or whose queues are all closed today,
        # is not held back by opening hours.
        spans = [s for q in w.queues for s in qsessions.get(q, ())]
        always = any(q not in qsessions for q in w.queues) or not spans
        wspans[w.number] = None if always else spans

    # The replay keeps time as whole microseconds after ``now``: datetime arithmetic is
    # exact in microseconds, so these are the same instants, compared far faster.
    def at(x: dt.datetime) -> int:
        return (x - now) // _US

    def after(minutes: float) -> int:
        return dt.timedelta(minutes=minutes) // _US

    lag = after(OPENING_LAG_MINUTES)
    spans_us = {
        n: None if spans is None else [(at(a), at(b)) for a, b in spans]
        for n, spans in wspans.items()
    }

    def callable_at(number: int, t: int) -> int:
        """Windows do not call in a break; after the last interval they serve who is left."""
        spans = spans_us[number]
        if spans is None or any(a <= t < b for a, b in spans):
            return t
        later = [a for a, _ in spans if a > t]
        # Back from the break a little after the session opens, as clerks sign in.
        return min(later) + lag if later else t

    horizon = after(FLOW_HORIZON_MINUTES)
    flow_end: dict[str, int] = {}
    for q in queues:
        # Arrivals are projected to the end of the current session, an hour at most:
        # past that the recent rate says little (the peak passes, the afternoon differs).
        if q not in qsessions:
            flow_end[q] = horizon
            continue
        flow_end[q] = next((min(horizon, at(b)) for a, b in qsessions[q] if a <= now < b), 0)

    pool = _Pool(now)
    if hall.lines is not None:
        pool.fill_lines(hall.lines, queues)
    else:
        pool.fill(hall.waiting, queues)
    for (q, is_prio), n in hall.hidden.items():
        if q in queues:
            pool._line(pool.prio if is_prio else pool.ordinary, q).hidden = n
    seen = {c.id for c in hall.waiting if c.queue in queues or c.target_window is not None}
    ghosts = {t.id for t in targets if t.id not in seen}
    for target in targets:
        if target.id in ghosts:
            pool.add(target)
    pool.sort()
    found: dict[int, Replay] = {}

    # Expected arrivals that can come before a target: priority tickets (they overtake)
    # and ordinary tickets (a shared window may prefer their queue; in a target's own
    # queue they come after it and never go first). Arrivals stop while a queue is closed.
    for i, q in enumerate(sorted(queues)):
        f = hall.flows.get(q, Flow())
        for is_prio, rate in ((True, f.priority), (False, f.ordinary)):
            # Under one expected arrival in the horizon: none is projected.
            if rate * FLOW_HORIZON_MINUTES < 0.5:
                continue
            first = after(0.5 / rate)
            if first < flow_end[q]:
                gap = max(1, after(1 / rate))
                s = _Stream(2 * i + is_prio, q, is_prio, first, gap, flow_end[q])
                pool.expect(s)
    next_arrival = min((s.first for s in pool.streams), default=None)

    ready = [
        (callable_at(w.number, max(at(w.free_at), 0)), w.number, w)
        for w in windows
        if w.free_at is not None
    ]
    heapq.heapify(ready)
    t = 0
    steps = 0
    own_calls: dict[str, int] = {}
    calls_by: dict[int, int] = {}
    # The windows whose calls come before each target (its own group of queues).
    # (Another target's assumed window serves only a queue no real window serves, so it
    # changes nobody's call time; it is left out of the count for everyone else.)
    others = {c.id: set(phantoms.values()) - {phantoms.get(c.id)} for c in targets}
    reach = {
        c.id: {w.number for w in component(windows, c.queue)[1]} - others[c.id] for c in targets
    }
    free_after = {
        # A ticket sent to a window may belong to a queue outside the component.
        q: after(svc.get(q) or hall.service_minutes.get(q, hall.default_service_minutes))
        for q in queues.union(*({c.queue for c in sent} for sent in pool.sent.values()))
    }
    select_next, heappop, heappush = rules.select_next, heapq.heappop, heapq.heappush
    heads, remove = pool.heads, pool.remove
    n_targets = len(targets)
    any_appts = any(pool.appts.values()) or any(  # none arrive during the replay
        c.priority == rules.APPOINTMENT for sent in pool.sent.values() for c in sent
    )
    eligible = rules.eligible
    # The stretch [lo, hi) around a window's last call in which it may call: one span
    # of its opening hours, or everything after its last one. Most calls fall in the
    # same span as the window's last, so the spans are looked through only when it ends.
    open_lo = dict.fromkeys(spans_us, 0)
    open_hi = dict.fromkeys(spans_us, 0)
    while ready and steps < MAX_CALLS and len(found) < n_targets:
        steps += 1
        t, number, w = heappop(ready)
        if spans_us[number] is not None and not open_lo[number] <= t < open_hi[number]:
            tt = callable_at(number, t)
            if tt > t:
                heappush(ready, (tt, number, w))
                continue
            open_lo[number], open_hi[number] = next(
                ((a, b) for a, b in spans_us[number] if a <= t < b), (t, _NEVER)
            )
        if next_arrival is not None and next_arrival <= t:
            next_arrival = pool.admit(t)
        # The call order reads the time only to tell whether an appointment is due
        # (rules.call_class): without appointments waiting, no need to build it.
        when = now + dt.timedelta(microseconds=t) if any_appts else now
        cands = heads(w)
        if len(cands) == 1:
            # One candidate: the call order has nothing to choose (a window's heads
            # are tickets it may call; checked all the same).
            pick = cands[0] if eligible(cands[0], number, w.queues) else None
        else:
            pick = select_next(cands, number, w.queues, when)
        if pick is None:
            if next_arrival is not None:  # idle until the next expected arrival
                heappush(ready, (max(next_arrival, t), number, w))
            continue
        remove(pick)
        if pick.id in reach:
            mine = [calls_by[n] for n in reach[pick.id] if n in calls_by]
            rounds = sum(mine) / max(1, len(mine)) + 1
            found[pick.id] = Replay(max(0.0, t / 1_000_000 / 60.0), rounds)
            if pick.id in ghosts:
                # A ghost is no call: the window calls again at once, and the step is
                # not counted, so each target gets what a replay of its own gives.
                steps -= 1
                heappush(ready, (t, number, w))
                continue
        calls_by[number] = calls_by.get(number, 0) + 1
        own_calls[pick.queue] = own_calls.get(pick.queue, 0) + 1
        heappush(ready, (t + free_after[pick.queue], number, w))
    spent = max(0.0, t / 1_000_000 / 60.0)
    return [
        found.get(c.id)
        or _extrapolate(c, pool, spent, own_calls, calls_by, reach[c.id], windows, svc)
        for c in targets
    ]


def _extrapolate(
    target: rules.Candidate,
    pool: _Pool,
    spent: float,
    own_calls: Mapping[str, int],
    calls_by: Mapping[int, int],
    reach: set[int],
    windows: Sequence[WindowNow],
    svc: Mapping[str, float],
) -> Replay:
    """Work bound reached: the rest of the target's line at the pace the replay has shown
    for its queue (or, without any call of it yet, at the serving windows' full pace)."""
    left = pool.ahead_of(target) + 1
    own = own_calls.get(target.queue, 0)
    if own and spent > 0:
        per_minute = own / spent
    else:
        serving = max(1, sum(1 for w in windows if target.queue in w.queues))
        per_minute = serving / svc[target.queue]
    mine = [calls_by[n] for n in reach if n in calls_by]
    return Replay(spent + left / per_minute, (sum(mine) + left) / max(1, len(mine)))


def round_minutes(minutes: float) -> int:
    """Whole minutes shown to citizens: rounded, but "0" only when a window calls at once."""
    if minutes <= 0:
        return 0
    return max(1, math.floor(minutes + 0.5))


__all__ = [
    "Estimate",
    "Replay",
    "estimate",
    "replay",
    "with_range",
    "replay_many",
    "replay_each",
    "estimates",
    "needs_assumed_window",
    "spread_from_cases",
    "Flow",
    "HallNow",
    "WindowNow",
    "component",
    "estimate_wait",
    "flows_from_counts",
    "flows_from_past",
    "blend_flows",
    "round_minutes",
    "service_minutes_from_cases",
    "sessions",
    "window_free_at",
]
