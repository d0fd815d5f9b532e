"""Satisfaction by period, talk reminders (谈话提醒) and accountability (问责): the rules.

The halls' rule (SUPERVISION.md, seed 003): a window or clerk whose satisfaction is under
80 % for the assessment period gets a talk reminder, held by the department head with the
person responsible; more than three reminders and the department and persons are held to
account. Results are checked daily, published weekly and assessed monthly
(日检查、周公示、月考核).

What counts as satisfied is :func:`queue_server.core.rules.is_satisfied` (one rule). A
rate is *counted* only with enough ratings (``min_ratings``): one bad rating on a quiet
day must not warn anyone. Thresholds are compared exactly (fractions), so 80 of 100 is
not under 80 %.

Periods are hall-local calendar days, ISO weeks (Monday to Sunday) and calendar months;
a report may also take any range of days up to :data:`MAX_PERIOD_DAYS`.

Pure: no I/O. The store (``store/accountability.py``) counts the ratings and keeps the
records; this module decides.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from . import rules
from .errors import Refused
from .hall import PERIOD_KINDS, AccountabilitySettings

MAX_PERIOD_DAYS = 366
"""The longest period a report or an assessment covers: a year (a leap one included)."""

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """Days ``start`` to ``end``, both included; ``kind`` day, week, month or range."""

    start: dt.date
    end: dt.date
    kind: str = "range"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        """How people write it: 2026-11-24, 2026-W48, 2026-11, or 2026-11-01..2026-11-15."""
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def period_of(kind: str, day: dt.date) -> Period:
    """The day, ISO week or month that contains ``day``."""
    if kind == "day":
        return Period(day, day, "day")
    if kind == "week":
        start = day - dt.timedelta(days=day.isoweekday() - 1)
        return Period(start, start + dt.timedelta(days=6), "week")
    if kind == "month":
        start = day.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return Period(start, nxt - _DAY, "month")
    raise ValueError(f"period kind must be one of {PERIOD_KINDS}, not {kind!r}")


def last_complete(kind: str, today: dt.date) -> Period:
    """The latest period of ``kind`` that has ended before ``today`` began."""
    return period_of(kind, period_of(kind, today).start - _DAY)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_period(text: object) -> Period:
    """``2026-11-24`` (a day), ``2026-W48`` (an ISO week), ``2026-11`` (a month), or
    ``FROM..TO`` (any days); a reversed or years-long period is refused."""
    if not isinstance(text, str) or not text.strip():
        raise Refused("give a period like 2026-11, 2026-W48 or 2026-11-24", code="bad_period")
    t = text.strip()
    try:
        if ".." in t:
            a, _, b = t.partition("..")
            return check_range(dt.date.fromisoformat(a.strip()), dt.date.fromisoformat(b.strip()))
        if m := _MONTH.match(t):
            return period_of("month", dt.date(int(m[1]), int(m[2]), 1))
        if m := _WEEK.match(t):
            return period_of("week", dt.date.fromisocalendar(int(m[1]), int(m[2]), 1))
        return period_of("day", dt.date.fromisoformat(t))
    except ValueError:
        raise Refused(
            f"{t!r} is not a period like 2026-11, 2026-W48, 2026-11-24 or 2026-11-01..2026-11-15",
            code="bad_period",
        ) from None


def check_range(start: dt.date, end: dt.date) -> Period:
    """A period of days, refused when it ends before it starts or is over a year long."""
    if end < start:
        raise Refused(
            f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            code="bad_period",
        )
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise Refused(
            f"a period is at most {MAX_PERIOD_DAYS} days; ask for one year at a time",
            code="period_too_long",
        )
    for kind in ("day", "week", "month"):
        p = period_of(kind, start)
        if p.end == end:
            return p
    return Period(start, end, "range")


# ---------------------------------------------------------------------------------------
# Rates


@dataclass(frozen=True, slots=True)
class Tally:
    """Ratings of one subject in one period: rated, of which satisfied; not rated apart."""

    rated: int = 0
    satisfied: int = 0
    not_rated: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.rated + other.rated,
            self.satisfied + other.satisfied,
            self.not_rated + other.not_rated,
        )

    @property
    def rate(self) -> float | None:
        return rules.satisfaction(self.rated, self.satisfied)


def tally(levels: Iterable[int | None]) -> Tally:
    """The tally of finished cases' levels; None is a case not rated."""
    rated = satisfied = not_rated = 0
    for v in levels:
        if v is None:
            not_rated += 1
        else:
            rated += 1
            satisfied += rules.is_satisfied(v)
    return Tally(rated, satisfied, not_rated)


def counts(t: Tally, settings: AccountabilitySettings) -> bool:
    """Whether the rate rests on enough ratings to judge anyone by."""
    return t.rated >= max(1, settings.min_ratings)


def below(t: Tally, settings: AccountabilitySettings) -> bool:
    """Under the threshold, on enough ratings (exact: 80 of 100 is not under 80 %)."""
    threshold = Fraction(str(settings.threshold))
    return counts(t, settings) and Fraction(t.satisfied, t.rated) < threshold


def reminders_due(
    tallies: Mapping[tuple[str, str], Tally], settings: AccountabilitySettings
) -> list[tuple[str, str, Tally]]:
    """The (subject kind, subject, tally) under the threshold among the assessed kinds,
    in a stable order (kind as configured, then subject)."""
    order = {k: i for i, k in enumerate(settings.subjects)}
    return sorted(
        (
            (kind, subject, t)
            for (kind, subject), t in tallies.items()
            if kind in order and below(t, settings)
        ),
        key=lambda x: (order[x[0]], x[1]),
    )


def rolling_window(end: dt.date, settings: AccountabilitySettings) -> Period:
    """The ``rolling_days`` days that end with ``end``: reminders whose period ended in
    them count towards accountability."""
    return Period(end - dt.timedelta(days=settings.rolling_days - 1), end)


def reminders_in_window(
    ends: Iterable[dt.date], at: dt.date, settings: AccountabilitySettings
) -> int:
    """How many reminders (by the last day of their period) fall in the rolling window."""
    w = rolling_window(at, settings)
    return sum(1 for e in ends if w.start <= e <= w.end)


def escalates(ends: Iterable[dt.date], at: dt.date, settings: AccountabilitySettings) -> bool:
    """More than ``reminder_limit`` reminders in the rolling window ending ``at``."""
    return reminders_in_window(ends, at, settings) > settings.reminder_limit


def main_department(by_department: Mapping[str | None, int]) -> str | None:
    """The department a window's or clerk's reminder goes to: the one whose services
    made most of its rated cases in the period (ties: the first by id)."""
    known = {d: n for d, n in by_department.items() if d is not None and n > 0}
    if not known:
        return None
    return min(known, key=lambda d: (-known[d], d))


# ---------------------------------------------------------------------------------------
# The weekly ranking (周公示)


def ranking(rows: Iterable[Mapping[str, object]], settings: AccountabilitySettings) -> list[dict]:
    """Windows ranked for publication: by satisfaction, then on-time rate (a window
    without promised cases after those with one), then cases served; equal figures share
    a rank (1, 2, 2, 4). A window with fewer ratings than ``min_ratings`` is listed after
    the ranked ones, without a rank: its rate says too little to publish a place.

    Each row needs ``key``, ``rated``, ``satisfied``, ``on_time_rate`` and ``served``.
    """
    ranked, unranked = [], []
    for r in rows:
        t = Tally(int(r["rated"] or 0), int(r["satisfied"] or 0))  # type: ignore[call-overload]
        (ranked if counts(t, settings) else unranked).append((r, t))

    def figures(item: tuple[Mapping[str, object], Tally]) -> tuple[Fraction, float, int]:
        r, t = item
        on_time = r.get("on_time_rate")
        return (
            Fraction(t.satisfied, t.rated),
            float(on_time) if isinstance(on_time, (int, float)) else -1.0,
            int(r.get("served") or 0),  # type: ignore[call-overload]
        )

    ranked.sort(key=lambda it: (tuple(-x for x in figures(it)), str(it[0]["key"])))
    out: list[dict] = []
    for i, item in enumerate(ranked):
        same = i > 0 and figures(item) == figures(ranked[i - 1])
        rank = out[-1]["rank"] if same else i + 1
        out.append({**item[0], "rank": rank, "satisfaction": item[1].rate})
    unranked.sort(key=lambda it: str(it[0]["key"]))
    out += [{**r, "rank": None, "satisfaction": t.rate} for r, t in unranked]
    return out
