"""The hall's working-day calendar: weekends, public holidays and make-up working days.

Due dates of promised cases and rectification deadlines count working days. Which days
work is published once a year by the State Council (late in the year before): public
holidays that fall on weekdays are off, and some Saturdays and Sundays become working
days (调休) to make up for them. Nothing here guesses: a day of a year with no calendar
loaded raises :class:`CalendarMissing`, never a silent weekend-only answer.

The yearly file (``hallq calendar load FILE``) is TOML::

    year = 2026
    [[holidays]]                    # days off: one day, or from..to (inclusive)
    name = "春节"
    from = 2026-02-15
    to = 2026-02-23
    [[workdays]]                    # make-up working days on a weekend
    name = "春节调休"
    date = 2026-02-14

:func:`parse_year` checks it (every day inside the year, no day both off and working, no
overlapping ranges, holidays on weekdays or weekends alike, make-up days only on
weekends) and reports every problem with its place, like the hall file.

Counting is by prefix sums over the covered days, so a due date or "working days left"
costs one look-up whatever the distance; the tests check it against a day-by-day count.
Pure: no I/O.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .errors import HallError


class CalendarMissing(HallError):
    """A day of a year whose calendar the hall has not loaded."""

    code = "no_calendar"


class CalendarError(Exception):
    """A calendar file that cannot be used; ``problems`` lists every one, located."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s):\n" + "\n".join(problems))


@dataclass(frozen=True, slots=True)
class YearCalendar:
    """One published year: its days off (holidays) and its make-up working days."""

    year: int
    holidays: dict[dt.date, str] = field(default_factory=dict)
    workdays: dict[dt.date, str] = field(default_factory=dict)


def parse_year(raw: dict[str, Any], source: str = "<memory>") -> YearCalendar:
    """A year from its decoded TOML; raise :class:`CalendarError` listing every problem."""
    problems: list[str] = []
    for key in raw:
        if key not in ("year", "holidays", "workdays"):
            problems.append(f"{key}: unknown key")
    year = raw.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        problems.append(f"year: must be a year like 2026, got {year!r}")
        raise CalendarError(source, problems)
    days: dict[str, dict[dt.date, str]] = {"holidays": {}, "workdays": {}}
    where_of: dict[dt.date, str] = {}
    for section in ("holidays", "workdays"):
        items = raw.get(section, [])
        if not isinstance(items, list) or not all(isinstance(t, dict) for t in items):
            problems.append(f"{section}: must be an array of tables ([[{section}]])")
            continue
        for i, t in enumerate(items):
            where = f"{section}[{i}]"
            for key in t:
                if key not in ("name", "date", "from", "to"):
                    problems.append(f"{where}.{key}: unknown key")
            name = t.get("name", "")
            if not isinstance(name, str):
                problems.append(f"{where}.name: must be text")
                name = ""
            span = _span(t, where, problems)
            for day in span:
                if day.year != year:
                    problems.append(f"{where}: {day.isoformat()} is not in {year}")
                    break
                if section == "workdays" and day.isoweekday() < 6:
                    problems.append(
                        f"{where}: {day.isoformat()} is a weekday, a working day anyway"
                    )
                    continue
                if day in where_of:
                    problems.append(
                        f"{where}: {day.isoformat()} is already given in {where_of[day]}"
                    )
                    continue
                where_of[day] = where
                days[section][day] = name
    if problems:
        raise CalendarError(source, problems)
    return YearCalendar(year, days["holidays"], days["workdays"])


def _span(t: dict[str, Any], where: str, problems: list[str]) -> list[dt.date]:
    if "date" in t:
        if "from" in t or "to" in t:
            problems.append(f"{where}: give date, or from and to, not both")
            return []
        day = t["date"]
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            problems.append(f"{where}.date: must be a date like 2026-10-01, got {day!r}")
            return []
        return [day]
    start, end = t.get("from"), t.get("to")
    for key, value in (("from", start), ("to", end)):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            problems.append(f"{where}.{key}: must be a date like 2026-10-01, got {value!r}")
            return []
    assert isinstance(start, dt.date) and isinstance(end, dt.date)
    if end < start:
        problems.append(f"{where}: ends ({end}) before it starts ({start})")
        return []
    if (end - start).days > 31:
        problems.append(f"{where}: more than a month off; is the year right?")
        return []
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def is_weekend(day: dt.date) -> bool:
    return day.isoweekday() >= 6


class WorkCalendar:
    """The loaded years, answering "is this a working day" and counting working days.

    ``_cum[i]`` is the number of working days from the first covered day up to and
    including day ``i``; years must be loaded without gaps between them to count across.
    """

    def __init__(self, years: list[YearCalendar]) -> None:
        self.years = {y.year: y for y in years}
        self._first: dt.date | None = None
        self._cum: list[int] = []
        if not years:
            return
        lo, hi = min(self.years), max(self.years)
        self._first = dt.date(lo, 1, 1)
        total = 0
        day = self._first
        last = dt.date(hi, 12, 31)
        while day <= last:
            if day.year in self.years and self._working(day):
                total += 1
            self._cum.append(total)
            day += dt.timedelta(days=1)

    def covers(self, year: int) -> bool:
        return year in self.years

    def _require(self, day: dt.date) -> None:
        if day.year not in self.years:
            raise CalendarMissing(
                f"no working-day calendar is loaded for {day.year}; "
                "load the official one with `hallq calendar load FILE`",
                year=day.year,
            )

    def _working(self, day: dt.date) -> bool:
        y = self.years[day.year]
        if day in y.workdays:
            return True
        if day in y.holidays:
            return False
        return not is_weekend(day)

    def is_working(self, day: dt.date) -> bool:
        self._require(day)
        return self._working(day)

    def _index(self, day: dt.date) -> int:
        self._require(day)
        assert self._first is not None
        return (day - self._first).days

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: after ``start``, up to and including ``end``.

        Negative (the same count, turned) when ``end`` is before ``start``. Every year in
        between must be loaded.
        """
        if end < start:
            return -self.working_days_between(end, start)
        for year in range(start.year, end.year + 1):
            self._require(dt.date(year, 1, 1))
        return self._cum[self._index(end)] - self._cum[self._index(start)]

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``start`` (``start`` itself not counted); n ≥ 0.

        With n = 0, ``start`` itself. Raises :class:`CalendarMissing` when the answer lies
        beyond the loaded years, or a year on the way is missing.
        """
        if n < 0:
            raise ValueError("n must not be negative")
        if n == 0:
            return start
        base = self._cum[self._index(start)]
        i = bisect.bisect_left(self._cum, base + n)
        if i >= len(self._cum):
            raise CalendarMissing(
                f"{n} working days after {start} run past the loaded calendar "
                f"(last year {max(self.years)}); load the next year's calendar",
                year=max(self.years) + 1,
            )
        assert self._first is not None
        day = self._first + dt.timedelta(days=i)
        for year in range(start.year, day.year + 1):
            self._require(dt.date(year, 1, 1))
        return day

    def working_day_back(self, day: dt.date, k: int) -> dt.date:
        """The ``k``-th working day counting back from ``day`` (``day`` itself counts when
        it is a working day); k >= 1. A day ``r`` has at least ``k`` working days in
        (r, day] exactly when ``r`` is before the answer."""
        if k < 1:
            raise ValueError("k must be at least 1")
        target = self._cum[self._index(day)] - k + 1
        if target < 1:
            raise CalendarMissing(
                f"{k} working days before {day} run before the loaded calendar",
                year=day.year - 1,
            )
        i = bisect.bisect_left(self._cum, target)
        assert self._first is not None
        found = self._first + dt.timedelta(days=i)
        for year in range(found.year, day.year + 1):
            self._require(dt.date(year, 1, 1))
        return found
