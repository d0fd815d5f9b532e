"""The replay as it was before the fast path (issue 15, session 4): a frozen oracle.

Kept only so a property test can check that the fast replay in
``queue_server/core/estimate.py`` gives exactly the figures this one gave, on halls
hypothesis makes up. Not used by the hall; do not edit (it is the reference).
"""

# ruff: noqa
from __future__ import annotations

import datetime as dt
import heapq
from collections import deque
from collections.abc import Mapping, Sequence

from queue_server.core import rules
from queue_server.core.estimate import (
    FLOW_HORIZON_MINUTES,
    MAX_CALLS,
    OPENING_LAG_MINUTES,
    Flow,
    HallNow,
    Replay,
    WindowNow,
    component,
    sessions,
)


class _Pool:
    """Waiting tickets kept so that each window's next pick is among a few heads.

    Within one queue every window orders ordinary tickets alike (by original time), and
    priority tickets alike; so the call order's minimum for a window is always among the
    heads of its queues' two lines, the appointments (few) and the tickets sent to that
    window. :func:`rules.select_next` then chooses among those: the rule stays in one place.
    """

    def __init__(self) -> None:
        self.prio: dict[str, deque[rules.Candidate]] = {}
        self.ordinary: dict[str, deque[rules.Candidate]] = {}
        self.appts: dict[str, list[rules.Candidate]] = {}
        self.sent: dict[int, list[rules.Candidate]] = {}

    def add(self, c: rules.Candidate) -> None:
        if c.target_window is not None:
            self.sent.setdefault(c.target_window, []).append(c)
        elif c.priority == rules.APPOINTMENT:
            self.appts.setdefault(c.queue, []).append(c)
        elif c.priority is not None:
            self.prio.setdefault(c.queue, deque()).append(c)
        else:
            self.ordinary.setdefault(c.queue, deque()).append(c)

    def sort(self) -> None:
        for lines in (self.prio, self.ordinary):
            for q, line in lines.items():
                lines[q] = deque(sorted(line, key=lambda c: (c.sort_at, c.id)))

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
        sent = self.sent.get(w.number)
        out = list(sent or ())
        for q in w.queues:
            p = self.prio.get(q)
            if p:
                out.append(p[0])
            o = self.ordinary.get(q)
            if o and not sent:
                out.append(o[0])
            out.extend(self.appts.get(q, ()))
        return out

    def ahead_of(self, target: rules.Candidate) -> int:
        """Tickets of the target's queue still before it (for the work-bound extrapolation)."""
        q = target.queue
        prio, ordinary = self.prio.get(q, deque()), self.ordinary.get(q, deque())
        appts = len(self.appts.get(q, ()))
        if target.priority is None and target in ordinary:
            return len(prio) + appts + ordinary.index(target)
        if target in prio:
            return prio.index(target)
        return len(prio) + appts

    def remove(self, c: rules.Candidate) -> None:
        if c.target_window is not None:
            self.sent[c.target_window].remove(c)
        elif c.priority == rules.APPOINTMENT:
            self.appts[c.queue].remove(c)
        elif c.priority is not None:
            self.prio[c.queue].popleft()
        else:
            self.ordinary[c.queue].popleft()


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

    def callable_at(w: WindowNow, t: dt.datetime) -> dt.datetime:
        """Windows do not call in a break; after the last interval they serve who is left."""
        spans = wspans[w.number]
        if spans is None or any(a <= t < b for a, b in spans):
            return t
        later = [a for a, _ in spans if a > t]
        # Back from the break a little after the session opens, as clerks sign in.
        return min(later) + dt.timedelta(minutes=OPENING_LAG_MINUTES) if later else t

    def flow_end(q: str) -> dt.datetime:
        """Arrivals are projected to the end of the current session, an hour at most.

        Past that the recent rate says little (the peak passes, the afternoon differs).
        """
        end = now + dt.timedelta(minutes=FLOW_HORIZON_MINUTES)
        if q not in qsessions:
            return end
        for a, b in qsessions[q]:
            if a <= now < b:
                return min(end, b)
        return now

    pool = _Pool()
    seen = set()
    for c in hall.waiting:
        if c.queue in queues or c.target_window is not None:
            pool.add(c)
            seen.add(c.id)
    ghosts = {t.id for t in targets if t.id not in seen}
    for target in targets:
        if target.id in ghosts:
            pool.add(target)
    pool.sort()
    found: dict[int, Replay] = {}

    # Expected arrivals that can come before a target: priority tickets (they overtake)
    # and ordinary tickets (a shared window may prefer their queue; in a target's own
    # queue they come after it and never go first). Arrivals stop while a queue is closed.
    streams: list[tuple[dt.datetime, int, str, bool, float]] = []
    for i, q in enumerate(sorted(queues)):
        f = hall.flows.get(q, Flow())
        for is_prio, rate in ((True, f.priority), (False, f.ordinary)):
            # Under one expected arrival in the horizon: none is projected.
            if rate * FLOW_HORIZON_MINUTES < 0.5:
                continue
            first = now + dt.timedelta(minutes=0.5 / rate)
            if first < flow_end(q):
                streams.append((first, 2 * i + is_prio, q, is_prio, rate))
    heapq.heapify(streams)
    virtual_id = -1

    def admit(t: dt.datetime) -> None:
        nonlocal virtual_id
        while streams and streams[0][0] <= t:
            at, s, q, is_prio, rate = heapq.heappop(streams)
            pool.add(rules.Candidate(virtual_id, q, at, "elderly" if is_prio else None))
            virtual_id -= 1
            nxt = at + dt.timedelta(minutes=1 / rate)
            if nxt < flow_end(q):
                heapq.heappush(streams, (nxt, s, q, is_prio, rate))

    ready = [
        (callable_at(w, max(w.free_at, now)), w.number, w) for w in windows if w.free_at is not None
    ]
    heapq.heapify(ready)
    t = now
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
    while ready and steps < MAX_CALLS and len(found) < len(targets):
        steps += 1
        t, _, w = heapq.heappop(ready)
        tt = callable_at(w, t)
        if tt > t:
            heapq.heappush(ready, (tt, w.number, w))
            continue
        admit(t)
        pick = rules.select_next(pool.heads(w), w.number, w.queues, t)
        if pick is None:
            if streams:  # idle until the next expected arrival
                heapq.heappush(ready, (max(streams[0][0], t), w.number, w))
            continue
        if pick.id in reach:
            mine = [calls_by[n] for n in reach[pick.id] if n in calls_by]
            rounds = sum(mine) / max(1, len(mine)) + 1
            found[pick.id] = Replay(max(0.0, (t - now).total_seconds() / 60.0), rounds)
            pool.remove(pick)
            if pick.id in ghosts:
                heapq.heappush(ready, (t, w.number, w))  # calls again at once
                continue
        else:
            pool.remove(pick)
        calls_by[w.number] = calls_by.get(w.number, 0) + 1
        own_calls[pick.queue] = own_calls.get(pick.queue, 0) + 1
        # A ticket sent to a window may belong to a queue outside the component.
        length = svc.get(pick.queue) or hall.service_minutes.get(
            pick.queue, hall.default_service_minutes
        )
        heapq.heappush(ready, (t + dt.timedelta(minutes=length), w.number, w))
    return [
        found.get(c.id)
        or _extrapolate(c, pool, t, now, own_calls, calls_by, reach[c.id], windows, svc)
        for c in targets
    ]


def _extrapolate(
    target: rules.Candidate,
    pool: _Pool,
    t: dt.datetime,
    now: dt.datetime,
    own_calls: Mapping[str, int],
    calls_by: Mapping[int, int],
    reach: set[int],
    windows: Sequence[WindowNow],
    svc: Mapping[str, float],
) -> Replay:
    """Work bound reached: the rest of the target's line at the pace the replay has shown
    for its queue (or, without any call of it yet, at the serving windows' full pace)."""
    left = pool.ahead_of(target) + 1
    spent = max(0.0, (t - now).total_seconds() / 60.0)
    own = own_calls.get(target.queue, 0)
    if own and spent > 0:
        per_minute = own / spent
    else:
        serving = max(1, sum(1 for w in windows if target.queue in w.queues))
        per_minute = serving / svc[target.queue]
    mine = [calls_by[n] for n in reach if n in calls_by]
    return Replay(spent + left / per_minute, (sum(mine) + left) / max(1, len(mine)))
