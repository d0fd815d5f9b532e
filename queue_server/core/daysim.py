"""A hall day, simulated: tickets, windows sharing queues, pauses, a lunch break.

Used by ``benchmarks/estimate_sim.py`` and the tests to measure how well a wait estimate
predicts the wait citizens then have. The windows call with :func:`rules.select_next`,
the hall's own call order; each ticket, when issued, is given the old estimate (the
formula the server used until issue 15) and the new one (:mod:`.estimate`), computed only
from what the server would know at that moment (its tables), never from the future.

Deterministic for a seed; no I/O, no clock.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import heapq
import math
import random
import statistics
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from . import estimate, rules
from .hall import OpeningHours, QueueDef, WindowDef

GAP_MINUTES = 0.2
"""A clerk's pause between finishing a case and pressing "call next"."""
DEMAND_SAMPLE = 100_000
"""Tickets drawn once per day for its forks' tickets to come (:meth:`DaySim.fork`)."""


@dataclass(frozen=True, slots=True)
class HallShape:
    """The parts of a hall file the simulation needs."""

    queues: tuple[QueueDef, ...]
    windows: tuple[WindowDef, ...]
    tz: ZoneInfo


@dataclass(frozen=True, slots=True)
class SimParams:
    """One simulated day's knobs; the defaults are the busy day of issue 15."""

    tickets: int = 1200
    staffed: int | None = 36
    """How many windows have a clerk (the first ones); None: all."""
    priority_share: float = 0.08
    appointment_share: float = 0.03
    no_show_share: float = 0.04
    start_press_share: float = 0.5
    """Share of windows whose clerk presses "start" (the others go straight to finish)."""
    walk_minutes: float = 0.8
    recall_minutes: float = 2.5
    service_range: tuple[float, float] = (5.0, 13.0)
    """Per-queue mean service minutes are drawn from this range."""
    service_cv: float = 0.6
    pauses_per_session: float = 0.8
    pause_minutes: tuple[float, float] = (5.0, 15.0)
    opening_lag: tuple[float, float] = (0.0, 10.0)
    door_share: float = 0.06
    """Share of a session's tickets taken in its first minutes (people waiting outside)."""
    load: float = 1.0
    """Scales demand against capacity per queue (1: the busy day)."""
    date: dt.date = dt.date(2026, 11, 24)
    seed: int = 1


@dataclass(slots=True)
class Issued:
    """One ticket's record: when it came, what it was told, when it was called."""

    id: int
    queue: str
    priority: str | None
    issued_at: dt.datetime
    old: int
    new: int
    low: int = 0
    high: int = 0
    called_at: dt.datetime | None = None
    floor: tuple[float, ...] = ()
    """Waits of the same ticket in forks of the day from its issue (:meth:`DaySim.fork`):
    what the true model, not knowing the future, says its wait may be."""

    @property
    def wait(self) -> float:
        assert self.called_at is not None
        return (self.called_at - self.issued_at).total_seconds() / 60.0


class Observer:
    """Told of every step of the simulated day, in order (no-ops here).

    The test that replays a simulated day through the real store implements it: each
    step becomes the same operation on the store, at the same time.
    """

    def issued(self, t: dt.datetime, c: rules.Candidate, told: estimate.Estimate) -> None:
        """A ticket was issued and told ``told``."""

    def window(self, t: dt.datetime, number: int, op: str) -> None:
        """A window changed state: ``open``, ``pause``, ``resume`` or ``close``."""

    def called(self, t: dt.datetime, number: int, c: rules.Candidate) -> None:
        """A window called ``c``."""

    def started(self, t: dt.datetime, number: int) -> None:
        """The clerk pressed start."""

    def ended(self, t: dt.datetime, number: int, outcome: str) -> None:
        """The case ended: ``done`` or ``no_show``."""


@dataclass(slots=True)
class _Window:
    wdef: WindowDef
    staffed: bool
    presses_start: bool
    spans: list[tuple[dt.datetime, dt.datetime]]
    status: str = "closed"
    since: dt.datetime | None = None
    current: tuple[rules.Candidate, dt.datetime] | None = None
    case: tuple[str, float, float | None] | None = None
    """The case under way: outcome, window minutes, minutes from start (None: no start)."""
    pauses: deque[tuple[dt.datetime, float]] = field(default_factory=deque)
    idle: bool = False
    last_free: dt.datetime | None = None
    """When the clerk last looked for work (a pause planned after it is not yet seen)."""


@dataclass(slots=True)
class _History:
    """What the server's tables hold, as the estimators read them."""

    old_durations: dict[str, deque[float]] = field(default_factory=dict)
    new_durations: dict[str, deque[float]] = field(default_factory=dict)
    issued: list[tuple[dt.datetime, str, bool]] = field(default_factory=list)
    day_cases: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """Every case ended today per queue, minutes from call to end (what a fork that
    must learn the day's case lengths learns them from)."""


def merged(
    spans: Sequence[tuple[dt.datetime, dt.datetime]],
) -> list[tuple[dt.datetime, dt.datetime]]:
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def old_estimate(
    ahead: int, durations_from_start_s: Sequence[float], open_windows: int, default: float
) -> int:
    """The server's estimate before issue 15, from what it used to read."""
    minutes = rules.rolling_service_minutes(durations_from_start_s, default)
    return rules.estimate_wait_minutes(ahead, minutes, open_windows)


class DaySim:
    def __init__(
        self,
        shape: HallShape,
        params: SimParams,
        rolling_cases: int = 20,
        observer: Observer | None = None,
        past: Sequence[Sequence[tuple[dt.datetime, str, bool]]] = (),
        past_weight: float = estimate.PAST_WEIGHT,
        floor: tuple[int, int] | None = None,
        floor_learns: bool = False,
    ) -> None:
        """``past``: earlier days' issued tickets (``(time, queue, priority)``, as
        :attr:`issued` gives them), what the store finds in its history.

        ``floor``: ``(every, forks)``: every ``every``-th ticket, at its issue, is
        followed through ``forks`` forks of the day (:meth:`fork`), its waits there kept
        in :attr:`Issued.floor`. ``floor_learns``: the forks do not know the day's mean
        case length of each queue (the simulation draws it afresh each day), but draw it
        from what the day's ended cases say of it (:meth:`_learned_means`)."""
        self.obs = observer or Observer()
        self.floor = floor
        self.floor_learns = floor_learns
        self.quiet = False
        """A fork: no estimates, no records; it stops when :attr:`target` is called."""
        self.target: int | None = None
        self.target_called: dt.datetime | None = None
        self._sample: list[rules.Candidate] | None = None
        self._coming: Iterator[rules.Candidate] | None = None
        self._sample_none = 0
        self._mix: tuple[list[str], list[float]] = ([], [])
        """The queues and their shares of the day's demand (set by :meth:`_plan`)."""
        self.planned = 0
        """Tickets the day's demand draws (some may fall on no opening: not issued)."""
        self.past_days = len(past)
        self.past_weight = past_weight
        # Minutes after local midnight of each past ticket, per (queue, priority), sorted.
        self.past: dict[tuple[str, bool], list[float]] = defaultdict(list)
        for day in past:
            for t, q, prio in day:
                local = t.astimezone(shape.tz)
                self.past[(q, prio)].append(local.hour * 60 + local.minute + local.second / 60)
        for v in self.past.values():
            v.sort()
        self.shape = shape
        self.p = params
        self.rolling = rolling_cases
        self.rng = random.Random(params.seed)
        self.default_minutes = 8.0
        noon = dt.datetime.combine(params.date, dt.time(12), shape.tz)
        self.qspans = {q.prefix: estimate.sessions(q.hours, shape.tz, noon) for q in shape.queues}
        self.hours: dict[str, OpeningHours] = {q.prefix: q.hours for q in shape.queues}
        lo, hi = params.service_range
        self.mean_service = {q.prefix: self.rng.uniform(lo, hi) for q in shape.queues}
        n_staffed = len(shape.windows) if params.staffed is None else params.staffed
        self.windows: dict[int, _Window] = {}
        for i, w in enumerate(shape.windows):
            spans = merged([s for q in w.queues for s in self.qspans[q]])
            self.windows[w.number] = _Window(
                w, i < n_staffed, self.rng.random() < params.start_press_share, spans
            )
        self.waiting: dict[int, rules.Candidate] = {}
        self.records: dict[int, Issued] = {}
        self.hist = _History()
        self.events: list[tuple[dt.datetime, int, str, int]] = []
        self.seq = 0
        self.arrivals: dict[int, rules.Candidate] = {}

    # -- set-up ------------------------------------------------------------------------

    def _push(self, t: dt.datetime, kind: str, key: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, key))

    def _demand(self) -> dict[str, float]:
        """Tickets per queue in proportion to the staffed windows' capacity for it."""
        shares = (0.75, 0.2, 0.05)
        weight: dict[str, float] = defaultdict(float)
        for w in self.windows.values():
            if not w.staffed:
                continue
            qs = w.wdef.queues
            split = shares[: len(qs)]
            total = sum(split)
            for q, s in zip(qs, split, strict=False):
                weight[q] += s / total / self.mean_service[q]
        return {q.prefix: weight.get(q.prefix, 0.0) for q in self.shape.queues}

    def _arrival_time(self, q: str) -> dt.datetime | None:
        spans = self.qspans[q]
        if not spans:
            return None
        lengths = [(b - a).total_seconds() for a, b in spans]
        a, b = self.rng.choices(spans, weights=lengths)[0]
        span_min = (b - a).total_seconds() / 60
        if self.rng.random() < self.p.door_share:
            offset = self.rng.uniform(0, min(3.0, span_min))
        else:
            offset = self.rng.triangular(0, span_min, min(60.0, span_min))
        t = a + dt.timedelta(minutes=min(offset, span_min - 0.01))
        return t.replace(microsecond=0)

    def _plan(self) -> None:
        demand = self._demand()
        qs = [q for q in demand if demand[q] > 0]
        total = sum(demand[q] for q in qs)
        self._mix = (qs, [demand[q] / total for q in qs])
        n = round(self.p.tickets * self.p.load)
        self.planned = n
        for i in range(1, n + 1):
            c = self._draw_ticket(i)
            if c is None:
                continue
            self.arrivals[i] = c
            self._push(c.sort_at, "arrive", i)
        for w in self.windows.values():
            if not w.staffed:
                continue
            for a, b in w.spans:
                self._push(
                    a + dt.timedelta(minutes=self.rng.uniform(*self.p.opening_lag)),
                    "open",
                    w.wdef.number,
                )
                self._push(b, "close", w.wdef.number)
                self._plan_pauses(w, a, b, self.p.pauses_per_session)
            w.pauses = deque(sorted(w.pauses))

    def _draw_ticket(self, i: int) -> rules.Candidate | None:
        """One ticket of the day's demand: queue, time of issue, priority or appointment."""
        qs, weights = self._mix
        q = self.rng.choices(qs, weights=weights)[0]
        t = self._arrival_time(q)
        if t is None:
            return None
        r = self.rng.random()
        prio: str | None = None
        appt_at: dt.datetime | None = None
        if r < self.p.priority_share:
            prio = self.rng.choice(rules.PRIORITY_KINDS)
        elif r < self.p.priority_share + self.p.appointment_share:
            prio = rules.APPOINTMENT
            appt_at = t + dt.timedelta(minutes=self.rng.uniform(-5, 25))
        return rules.Candidate(i, q, t, prio, appt_at)

    def _plan_pauses(self, w: _Window, a: dt.datetime, b: dt.datetime, mean: float) -> None:
        """The clerk's pauses in ``[a, b)``: as many as a Poisson draw of mean ``mean``,
        each at a uniform moment (a pause is announced by an event at its moment)."""
        for _ in range(self._poisson(mean)):
            at = a + (b - a) * self.rng.random()
            w.pauses.append((at, self.rng.uniform(*self.p.pause_minutes)))
            self._push(at, "pause", w.wdef.number)

    def _poisson(self, lam: float) -> int:
        k, p, limit = 0, 1.0, math.exp(-lam)
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    # -- the day -----------------------------------------------------------------------

    def run(self) -> list[Issued]:
        self._plan()
        self._loop()
        return [r for r in self.records.values() if r.called_at is not None]

    def _loop(self) -> None:
        """The day's events in order (a fork's: until its target is called)."""
        while self.events and self.target_called is None:
            t, _, kind, key = heapq.heappop(self.events)
            if kind == "arrive":
                self._arrive(t, self.arrivals[key])
                if self._coming is not None:
                    self._next_arrival()
            elif kind in ("free", "open", "resume"):  # after a case, sign-in, pause's end
                self._free(t, self.windows[key])
            elif kind == "start":
                self.obs.started(t, key)
            elif kind == "end":
                self._end(t, self.windows[key])
            elif self.windows[key].idle:
                # A planned pause, or the end of a session, finds the clerk idle: it takes
                # effect now (a busy clerk takes it after the case, in ``_free``).
                self._free(t, self.windows[key])

    def _arrive(self, t: dt.datetime, c: rules.Candidate) -> None:
        self.waiting[c.id] = c
        # Counted among the last hour's tickets, as the store counts the row it inserted.
        self.hist.issued.append((t, c.queue, c.priority is not None))
        if not self.quiet:
            new = estimate.estimate(self.hall_now(t), c)
            old = self.old_estimate(t, c)
            rec = Issued(c.id, c.queue, c.priority, t, old, new.minutes, new.low, new.high)
            self.records[c.id] = rec
            self.obs.issued(t, c, new)
            if self.floor and c.id % self.floor[0] == 0:
                rec.floor = tuple(
                    self.fork(t, c.id, seed=(self.p.seed, c.id, k)).wait_of_target()
                    for k in range(self.floor[1])
                )
        self._offer(t, c)

    def _offer(self, t: dt.datetime, c: rules.Candidate) -> None:
        """A new ticket goes to an idle window that may call it, if any (in random order)."""
        if self.quiet:  # a fork: the same law, one draw among the windows that may
            free = [
                w
                for w in self.windows.values()
                if w.idle and rules.eligible(c, w.wdef.number, w.wdef.queues)
            ]
            if free:
                w = self.rng.choice(free)
                w.idle = False
                self._free(t, w)
            return
        for w in sorted(self.windows.values(), key=lambda w: self.rng.random()):
            if w.idle and rules.eligible(c, w.wdef.number, w.wdef.queues):
                w.idle = False
                self._free(t, w)
                break

    def _session_of(self, w: _Window, t: dt.datetime) -> int | None:
        for i, (a, b) in enumerate(w.spans):
            if a <= t < b:
                return i
        return None

    def _set(self, t: dt.datetime, w: _Window, status: str) -> None:
        op = {
            ("closed", "open"): "open",
            ("open", "paused"): "pause",
            ("paused", "open"): "resume",
        }.get((w.status, status), "close")
        w.status, w.since = status, t
        self.obs.window(t, w.wdef.number, op)

    def _free(self, t: dt.datetime, w: _Window) -> None:
        w.last_free = t
        if self._session_of(w, t) is None:
            later = [a for a, _ in w.spans if a > t]
            if later:  # the break: sign out, back at the next session (planned already)
                w.idle = False
                if w.status != "closed":
                    self._set(t, w, "closed")
                return
        if w.pauses and w.pauses[0][0] <= t and self._session_of(w, t) is not None:
            _, minutes = w.pauses.popleft()
            w.idle = False
            if w.status == "closed":
                self._set(t, w, "open")
            self._set(t, w, "paused")
            self._push(t + dt.timedelta(minutes=minutes), "resume", w.wdef.number)
            return
        if w.status != "open":
            self._set(t, w, "open")
        pick = rules.select_next(self.waiting.values(), w.wdef.number, w.wdef.queues, t)
        if pick is None:
            w.idle = True
            return
        w.idle = False
        del self.waiting[pick.id]
        if pick.id == self.target:
            self.target_called = t
        if not self.quiet:
            self.records[pick.id].called_at = t
        w.current = (pick, t)
        w.since = t
        self.obs.called(t, w.wdef.number, pick)
        self._serve(t, w, pick.queue)

    def _serve(self, t: dt.datetime, w: _Window, queue: str, over: float = 0.0) -> None:
        """Draw the case just called at ``t`` (a no-show's recalls, or the walk and the
        service) and plan its end; ``over``: a fork's case known to last beyond that
        many minutes (drawn again until it does)."""
        while True:
            if self.rng.random() < self.p.no_show_share:
                w.case = ("no_show", self.p.recall_minutes, None)
                walk = None
            else:
                walk = self.rng.expovariate(1 / self.p.walk_minutes)
                mean = self.mean_service[queue]
                sigma = math.sqrt(math.log(1 + self.p.service_cv**2))
                service = self.rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)
                w.case = ("done", walk + service, service if w.presses_start else None)
            if w.case[1] > over:
                break
        if walk is not None and w.presses_start and (walk > over or not over):
            self._push(t + dt.timedelta(minutes=walk), "start", w.wdef.number)
        length = w.case[1]
        self._push(t + dt.timedelta(minutes=length), "end", w.wdef.number)
        self._push(t + dt.timedelta(minutes=length + GAP_MINUTES), "free", w.wdef.number)

    def _end(self, t: dt.datetime, w: _Window) -> None:
        """The case ends: only now does its length enter what the server knows."""
        assert w.current is not None and w.case is not None
        pick, called = w.current
        outcome, _, from_start = w.case
        if outcome == "done":
            # What the old estimate read: finish - start, 0 s when start was never pressed.
            self._keep(self.hist.old_durations, pick.queue, (from_start or 0.0) * 60)
        self._keep(self.hist.new_durations, pick.queue, (t - called).total_seconds())
        self.hist.day_cases[pick.queue].append((t - called).total_seconds() / 60)
        w.current = w.case = None
        self.obs.ended(t, w.wdef.number, outcome)

    def _keep(self, store: dict[str, deque[float]], q: str, value: float) -> None:
        store.setdefault(q, deque(maxlen=self.rolling)).append(value)

    # -- forks: the rest of the day drawn afresh ----------------------------------------

    def fork(self, now: dt.datetime, target: int, seed: object) -> DaySim:
        """The day as it stands at ``now`` with its future drawn afresh from the model.

        Kept: everything seen by ``now`` (tickets waiting, windows' states, cases under
        way and for how long, the tickets issued so far). Drawn again with a fresh RNG:
        the tickets still to come (as many as the day's demand leaves, each at a time
        after ``now``), the cases under way (each from the model, given it has lasted
        this long), pauses under way (given their length so far), clerks not yet signed
        in (given they are not yet), the pauses not yet seen, and every case to come.
        So the fork knows the true model but not the future: the waits of ``target``
        in many forks are what any estimate made at ``now`` could at best know.
        ``now`` is the moment of ``target``'s issue (from :meth:`_arrive`, before the
        idle windows are offered it).
        """
        f = DaySim.__new__(DaySim)
        for name in ("shape", "p", "rolling", "default_minutes", "qspans", "hours"):
            setattr(f, name, getattr(self, name))
        f._mix, f.planned = self._mix, self.planned
        f._sample, f._coming = None, None
        f.obs, f.floor, f.floor_learns, f.quiet = Observer(), None, False, True
        f.target, f.target_called = target, None
        f.rng = random.Random(str(seed))
        f.mean_service = self._learned_means(f.rng) if self.floor_learns else self.mean_service
        f.waiting = dict(self.waiting)
        f.records, f.hist, f.arrivals = {}, _History(), {}
        f.past, f.past_days, f.past_weight = self.past, self.past_days, self.past_weight
        f.events, f.seq = [], 0
        f.windows = {
            # Pauses planned before the clerk's last look stay (it takes them at its next);
            # the others are drawn again below.
            n: dataclasses.replace(
                w, pauses=deque(p for p in w.pauses if w.last_free and p[0] <= w.last_free)
            )
            for n, w in self.windows.items()
        }
        opening: dict[int, list[dt.datetime]] = defaultdict(list)
        for t, _, kind, key in self.events:
            if kind == "close":
                f._push(t, kind, key)
            elif kind == "free" and self.windows[key].current is None:
                f._push(t, kind, key)  # the case has ended: the clerk calls after the gap
            elif kind == "open":
                opening[key].append(t)
        lo, hi = self.p.opening_lag
        for n, w in f.windows.items():
            if not w.staffed:
                continue
            for x in opening[n]:  # not signed in yet: given the lag so far
                a = max(s for s, _ in w.spans if s <= x)
                gone = (now - a).total_seconds() / 60
                lag = f.rng.uniform(max(lo, gone), hi) if gone < hi else gone
                f._push(a + dt.timedelta(minutes=lag), "open", n)
            if w.current is not None:  # a case under way: given its length so far
                called = w.current[1]
                f._serve(called, w, w.current[0].queue, (now - called).total_seconds() / 60)
            if w.status == "paused" and w.since is not None:
                p_lo, p_hi = self.p.pause_minutes
                gone = (now - w.since).total_seconds() / 60
                left = f.rng.uniform(max(p_lo, gone), p_hi) if gone < p_hi else gone
                f._push(w.since + dt.timedelta(minutes=left), "resume", n)
            # Pauses not yet seen: from the clerk's last look for work (an idle clerk's
            # planned pause would have been taken), the rest of each session drawn again.
            # One drawn before ``now`` is taken at the clerk's next look (its event, past,
            # is dropped below). A clerk not yet signed in today has seen nothing.
            seen = now if w.idle or not w.spans else (w.last_free or w.spans[0][0])
            for a, b in w.spans:
                if b > seen:
                    start = max(a, seen)
                    share = (b - start) / (b - a)
                    f._plan_pauses(w, start, b, self.p.pauses_per_session * share)
            w.pauses = deque(sorted(w.pauses))
        f.events = [e for e in f.events if not (e[2] == "pause" and e[0] < now)]
        heapq.heapify(f.events)
        # The tickets still to come: the day's demand less those issued, each after now,
        # drawn from a large sample of the day's demand (see :meth:`_demand_sample`).
        sample = self._demand_sample()
        f._sample_none = self._sample_none
        first = bisect.bisect_right(sample, now, key=lambda c: c.sort_at)
        left = self.planned - len(self.hist.issued)
        if left > 0:
            f._coming = f._to_come(sample, first, left, max(self.arrivals, default=0) + 1)
            f._next_arrival()
        return f

    def _learned_means(self, rng: random.Random) -> dict[str, float]:
        """Each queue's mean service minutes drawn from what today's ended cases say.

        The model's prior is uniform on :attr:`SimParams.service_range`; a case from the
        call lasts the walk and the service, or a no-show's recalls, so ``n`` cases of
        mean ``x`` put the service's mean near ``(x - share * recall) / (1 - share) -
        walk``, give or take their spread over √n (taken as normal: the cases' own
        spread, ``service_cv`` of the mean, with the walk's). Drawn again when outside
        the prior's range; the prior alone without cases.
        """
        p, lo, hi = self.p, *self.p.service_range
        out = {}
        for q in self.mean_service:
            got = self.hist.day_cases.get(q, [])
            if not got:
                out[q] = rng.uniform(lo, hi)
                continue
            x = sum(got) / len(got)
            centre = (x - p.no_show_share * p.recall_minutes) / (1 - p.no_show_share)
            centre -= p.walk_minutes
            m = min(hi, max(lo, centre))
            sd = math.hypot(p.service_cv * m, p.walk_minutes) / math.sqrt(len(got))
            for _ in range(100):
                out[q] = rng.gauss(centre, sd)
                if lo <= out[q] <= hi:
                    break
            else:
                out[q] = m
        return out

    def _to_come(
        self, sample: list[rules.Candidate], first: int, n: int, ids: int
    ) -> Iterator[rules.Candidate]:
        """``n`` tickets picked at random from ``sample[first:]``, in order of time, made
        one at a time: the order statistics of ``n`` uniforms, each from the last (a fork
        ends when its target is called, long before most of them would come)."""
        # Draws with no time today (a queue closed all day) stand after the sample's end.
        u, span = 0.0, len(sample) + self._sample_none - first
        for k in range(n, 0, -1):
            u = 1 - (1 - u) * (1 - self.rng.random()) ** (1 / k)
            i = first + min(span - 1, int(u * span))
            if i >= len(sample):
                return
            c = sample[i]
            yield rules.Candidate(ids, c.queue, c.sort_at, c.priority, c.appointment_at)
            ids += 1

    def _next_arrival(self) -> None:
        """A fork's next ticket to come, as an event (one pending at a time)."""
        c = next(self._coming, None) if self._coming is not None else None
        if c is not None:
            self.arrivals[c.id] = c
            self._push(c.sort_at, "arrive", c.id)

    def _demand_sample(self) -> list[rules.Candidate]:
        """:data:`DEMAND_SAMPLE` tickets drawn as the day's are (their own RNG), by time.

        A fork's tickets to come are i.i.d. draws of the day's demand given a time after
        the fork: drawn by rejection, late in the day nearly every draw is rejected (a
        fork cost 40 ms, nearly all of it here); picked at random from this sample's
        tail instead, as a bootstrap of the same law.
        """
        if self._sample is None:
            sampler = DaySim.__new__(DaySim)
            sampler.rng = random.Random(f"demand {self.p.seed}")
            sampler.p, sampler.qspans, sampler._mix = self.p, self.qspans, self._mix
            got = [sampler._draw_ticket(0) for _ in range(DEMAND_SAMPLE)]
            self._sample = sorted((c for c in got if c is not None), key=lambda c: c.sort_at)
            self._sample_none = DEMAND_SAMPLE - len(self._sample)
        return self._sample

    def wait_of_target(self) -> float:
        """Run a fork until its target is called: minutes from its issue."""
        issued = self.waiting[self.target].sort_at if self.target in self.waiting else None
        assert issued is not None and self.target is not None
        self._offer(issued, self.waiting[self.target])
        self._loop()
        assert self.target_called is not None
        return (self.target_called - issued).total_seconds() / 60.0

    # -- the two estimates, from what the server knows at ``t`` -------------------------

    def old_estimate(self, t: dt.datetime, c: rules.Candidate) -> int:
        cls = rules.call_class(c, t)
        ahead = sum(
            1
            for o in self.waiting.values()
            if o.queue == c.queue
            and o.id != c.id
            and (rules.call_class(o, t), o.sort_at, o.id) < (cls, c.sort_at, c.id)
        )
        open_windows = sum(
            1 for w in self.windows.values() if w.status == "open" and c.queue in w.wdef.queues
        )
        return old_estimate(
            ahead, self.hist.old_durations.get(c.queue, ()), open_windows, self.default_minutes
        )

    def hall_now(self, t: dt.datetime) -> estimate.HallNow:
        svc = {
            q.prefix: estimate.service_minutes_from_cases(
                self.hist.new_durations.get(q.prefix, ()), self.default_minutes
            )
            for q in self.shape.queues
        }
        windows = []
        for w in self.windows.values():
            cur = w.current
            free_at = estimate.window_free_at(
                status=w.status,
                now=t,
                since=w.since,
                busy_queue=cur[0].queue if cur else None,
                busy_called_at=cur[1] if cur else None,
                service_minutes=svc,
                default_service_minutes=self.default_minutes,
                session_starts=[a for a, _ in w.spans],
                recent_s=self.hist.new_durations.get(cur[0].queue, ()) if cur else (),
            )
            windows.append(estimate.WindowNow(w.wdef.number, w.wdef.queues, free_at))
        counts: dict[str, tuple[int, int]] = {}
        for _, q, prio in self._recent_issued(t):
            o, p = counts.get(q, (0, 0))
            counts[q] = (o, p + 1) if prio else (o + 1, p)
        flows = estimate.blend_flows(
            estimate.flows_from_counts(counts, self.hours, self.shape.tz, t),
            self._past_flows(t),
            self.past_weight,
        )
        cv = {
            q: v
            for q, d in self.hist.new_durations.items()
            if (v := estimate.spread_from_cases(d)) is not None
        }
        return estimate.HallNow(
            service_cv=cv,
            now=t,
            tz=self.shape.tz,
            waiting=list(self.waiting.values()),
            windows=windows,
            service_minutes=svc,
            hours=self.hours,
            flows=flows,
            default_service_minutes=self.default_minutes,
        )

    def _past_flows(self, t: dt.datetime) -> dict[str, estimate.Flow]:
        """The coming hour's rates on past days, as the store reads them from history."""
        if not self.past_days:
            return {}
        local = t.astimezone(self.shape.tz)
        a = local.hour * 60 + local.minute + local.second / 60
        b = a + estimate.FLOW_HORIZON_MINUTES
        counts: dict[str, tuple[int, int]] = {}
        for (q, prio), times in self.past.items():
            n = bisect.bisect_left(times, b) - bisect.bisect_left(times, a)
            o, p = counts.get(q, (0, 0))
            counts[q] = (o, p + n) if prio else (o + n, p)
        return estimate.flows_from_past(counts, self.past_days, self.hours, self.shape.tz, t)

    @property
    def issued(self) -> list[tuple[dt.datetime, str, bool]]:
        """Every ticket issued today: ``(time, queue, priority)`` (a later day's past)."""
        return self.hist.issued

    def _recent_issued(self, t: dt.datetime) -> list[tuple[dt.datetime, str, bool]]:
        since = t - dt.timedelta(minutes=estimate.FLOW_WINDOW_MINUTES)
        out = []
        for rec in reversed(self.hist.issued):
            if rec[0] < since:
                break
            out.append(rec)
        return out

    def new_estimate(self, t: dt.datetime, c: rules.Candidate) -> float:
        return estimate.estimate_wait(self.hall_now(t), c)


# ---------------------------------------------------------------------------------------
# Figures


@dataclass(frozen=True, slots=True)
class Accuracy:
    n: int
    mean_wait: float
    mae: float
    too_low: float
    too_low_5: float
    under_median: float
    under_p90: float
    covered: float = 0.0
    """Share of actual waits inside the range given (the new estimate only)."""

    @property
    def mae_share(self) -> float:
        return self.mae / self.mean_wait if self.mean_wait else 0.0


def accuracy(records: Sequence[Issued], which: str) -> Accuracy:
    """Mean absolute error and how often (and by how much) the figure was too low."""
    got = [(getattr(r, which), r.wait) for r in records]
    if not got:
        return Accuracy(0, 0, 0, 0, 0, 0, 0)
    waits = [w for _, w in got]
    errors = [abs(e - w) for e, w in got]
    under = sorted(w - e for e, w in got if e < w)
    n = len(got)
    return Accuracy(
        n=n,
        mean_wait=statistics.fmean(waits),
        mae=statistics.fmean(errors),
        too_low=len(under) / n,
        too_low_5=sum(1 for u in under if u > 5) / n,
        under_median=statistics.median(under) if under else 0.0,
        under_p90=under[min(len(under) - 1, int(0.9 * len(under)))] if under else 0.0,
        covered=sum(1 for r in records if r.low <= round(r.wait) <= r.high) / n,
    )


def by(records: Sequence[Issued], key: str, tz: ZoneInfo) -> Mapping[str, list[Issued]]:
    groups: dict[str, list[Issued]] = defaultdict(list)
    for r in records:
        k = r.queue if key == "queue" else f"{r.issued_at.astimezone(tz):%H}:00"
        groups[k].append(r)
    return dict(sorted(groups.items()))
