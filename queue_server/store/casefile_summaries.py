"""The case-file figures of a period: closed months from their summary, the rest raw.

The figures of the case files accepted in a period (on time, early, late, open, red,
...; ``core.casefile.timeliness`` and docs/reports.md) were a grouped scan of every file
of the period: for a year of a 140-window hall, 290,000 files, about half of SQLite's
year report. Most of them are finished, and a finished file's figures never move again
unless the file itself is written. So each month of acceptance that has ended is
summarized once: per department, window, clerk and service the counts of its finished
files (``casefile_summaries``; the whole is the sum over the departments). An open
file's figures change by the working day (its light turns yellow, then red), so the
open files of any period are always counted from the raw rows, through a partial index
that holds only them; so are the finished files of months not summarized (the current
month, a month whose summary was dropped, the period's partial months).

A summary must never disagree with the rows it was made from. ``casefile_months`` lists
the months whose summary is true, and triggers (migration 0017) delete a month's row in
the same transaction as any write to one of its finished files (before or after the
write): that month is read raw until the server's clock summarizes it again. On
PostgreSQL the summarizer locks ``casefile_months`` first, so a writer's trigger waits
for it and then deletes what it wrote (SQLite has one writer at a time).

The counts are made by one set of SQL expressions (:func:`_counts`), for the raw rows
and for the summary alike.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, select
from sqlalchemy.engine import Connection

from ..core import rules
from ..core.casefile import CaseState
from ..core.hall import HallConfig
from . import schema as s

FIGURES = (
    "accepted",
    "finished",
    "on_time",
    "early",
    "late",
    "open",
    "overdue_open",
    "yellow_open",
    "suspended",
    "extended",
    "refused",
    "unknown",
)
"""The counts behind a group's figures (``rates`` makes the rates from them)."""

SUMMED = tuple(n for n in FIGURES if n not in ("open", "overdue_open", "yellow_open"))
"""The counts a month's summary keeps: those of finished files (the open ones are 0)."""

COLUMNS = ("department", "window", "clerk", "service_id")
"""The groupings a summary keeps, each on its own (a report merges none of them)."""

LOOKBACK_MONTHS = 14
"""How far back the clock looks for months to summarize (a year's report and a little)."""

_c, _m, _x = s.casefiles.c, s.casefile_months.c, s.casefile_summaries.c

Counts = dict[str, int]
Grouped = dict[str, dict[Any, Counts]]


def empty() -> Counts:
    return dict.fromkeys(FIGURES, 0)


def rates(g: Counts) -> dict[str, Any]:
    """Rates over the finished cases (None when none finished)."""
    done = g["finished"]
    return {
        **g,
        "on_time_rate": round(g["on_time"] / done, 4) if done else None,
        "early_rate": round(g["early"] / done, 4) if done else None,
    }


def _counts() -> list[Any]:
    """SQL: the counts of :data:`FIGURES`, in that order, over the selected files."""
    fin = _c.finished_on.isnot(None)
    still_open = _c.finished_on.is_(None)

    def count(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    return [
        func.count(),
        count(fin),
        count(and_(fin, _c.finished_on <= _c.due_on)),
        count(and_(fin, _c.finished_on < _c.early_before)),
        count(and_(fin, _c.finished_on > _c.due_on)),
        count(still_open),
        count(and_(still_open, _c.light == "red")),
        count(and_(still_open, _c.light == "yellow")),
        count(_c.suspensions > 0),
        count(_c.extended_days > 0),
        count(_c.state == CaseState.REFUSED.value),
        count(and_(fin, _c.due_on.is_(None))),
    ]


def _key(column: str, value: Any) -> Any:
    return int(value) if column == "window" and value is not None else value


def _add(into: Grouped, column: str, key: Any, g: Counts) -> None:
    slot = into[column].get(key)
    if slot is None:
        slot = into[column][key] = empty()
    for name, n in g.items():
        slot[name] += n


def _raw(conn: Connection, columns: tuple[str, ...], *where: Any) -> Grouped:
    """The counts of the files matching ``where``, per value of each of ``columns`` (one
    grouped query over their combinations, merged here)."""
    keys = [getattr(_c, name) for name in columns]
    out: Grouped = {name: {} for name in columns}
    for row in conn.execute(select(*keys, *_counts()).where(*where).group_by(*keys)):
        g = dict(zip(FIGURES, (int(v or 0) for v in row[len(keys) :]), strict=True))
        for i, name in enumerate(columns):
            _add(out, name, row[i], g)
    return out


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def grouped(
    conn: Connection,
    start: dt.date,
    end: dt.date,
    columns: tuple[str, ...] = COLUMNS,
    dept: str | None = None,
    summaries: bool = True,
) -> tuple[Grouped, Counts]:
    """The counts of the case files accepted from ``start`` to ``end``, per value of
    each of ``columns``, and the whole. The finished files of the summarized months
    inside the period come from their summary; everything else from the raw rows (a
    department's own figures, ``dept``, always: the summary is hall-wide; and all of
    them without ``summaries``, the recount the summary is checked against)."""
    if dept is not None or not summaries:
        wanted = tuple(dict.fromkeys(("department", *columns)))
        where = [_c.opened_on >= start, _c.opened_on <= end]
        out = _raw(conn, wanted, *where, *([] if dept is None else [_c.department == dept]))
        return {name: out[name] for name in columns}, _total(out["department"])
    # The summarized months wholly inside the period.
    first = start if start.day == 1 else _next_month(_month(start))
    months = [
        m
        for m in conn.execute(
            select(_m.month).where(_m.month >= first, _m.month <= end).order_by(_m.month)
        ).scalars()
        if _next_month(m) - dt.timedelta(days=1) <= end
    ]
    wanted = tuple(dict.fromkeys(("department", *columns)))  # the whole is the departments'
    # The open files of the whole period (the partial index holds only them), then the
    # finished ones of each stretch of days not covered by a summarized month.
    out = _raw(conn, wanted, _c.finished_on.is_(None), _c.opened_on >= start, _c.opened_on <= end)
    gaps, day = [], start
    for m in months:
        if day < m:
            gaps.append((day, m - dt.timedelta(days=1)))
        day = _next_month(m)
    if day <= end:
        gaps.append((day, end))
    for a, b in gaps:
        part = _raw(conn, wanted, _c.finished_on.isnot(None), _c.opened_on >= a, _c.opened_on <= b)
        for name in wanted:
            for key, g in part[name].items():
                _add(out, name, key, g)
    if months:
        sums = conn.execute(
            select(_x.dim, _x.key, *(func.sum(getattr(_x, n)) for n in SUMMED))
            .where(_x.month.in_(months), _x.dim.in_(wanted))
            .group_by(_x.dim, _x.key)
        )
        for dim, key, *counts in sums:
            g = dict(zip(SUMMED, (int(v) for v in counts), strict=True))
            _add(out, dim, _key(dim, key), g)
    return {name: out[name] for name in columns}, _total(out["department"])


def _total(by_key: dict[Any, Counts]) -> Counts:
    total = empty()
    for g in by_key.values():
        for name, n in g.items():
            total[name] += n
    return total


def summarize(conn: Connection, config: HallConfig, month: dt.date, now: dt.datetime) -> int:
    """Summarize the finished files of one ended month of acceptance (in the caller's
    write transaction); the number of rows written. A summary already there is
    replaced."""
    if month.day != 1:
        raise ValueError("a month is named by its first day")
    if _next_month(month) > rules.service_day(now, config.tz):
        raise ValueError("only a month that has ended is summarized")
    if conn.dialect.name == "postgresql":
        # A writer's trigger deletes from casefile_months: it waits for this
        # transaction, then deletes the month we summarize if it changed it.
        conn.exec_driver_sql("LOCK TABLE casefile_months IN SHARE ROW EXCLUSIVE MODE")
    last = _next_month(month) - dt.timedelta(days=1)
    part = _raw(
        conn, COLUMNS, _c.finished_on.isnot(None), _c.opened_on >= month, _c.opened_on <= last
    )
    rows = [
        {
            "month": month,
            "dim": dim,
            "key": None if key is None else str(key),
            **{n: g[n] for n in SUMMED},
        }
        for dim, by_key in part.items()
        for key, g in by_key.items()
    ]
    conn.execute(delete(s.casefile_summaries).where(_x.month == month))
    conn.execute(delete(s.casefile_months).where(_m.month == month))
    if rows:
        conn.execute(insert(s.casefile_summaries), rows)
    conn.execute(insert(s.casefile_months).values(month=month, made_at=now))
    return len(rows)


def due(conn: Connection, config: HallConfig, now: dt.datetime, limit: int = 3) -> list[dt.date]:
    """Ended months (within ``LOOKBACK_MONTHS``, from the first file on) with no true
    summary, oldest first, at most ``limit``."""
    this_month = _month(rules.service_day(now, config.tz))
    first = conn.execute(select(func.min(_c.opened_on))).scalar_one()
    if first is None:
        return []
    month = _month(first)
    earliest = this_month
    for _ in range(LOOKBACK_MONTHS):
        earliest = _month(earliest - dt.timedelta(days=1))
    month = max(month, earliest)
    have = set(conn.execute(select(_m.month).where(_m.month >= month)).scalars())
    out = []
    while month < this_month and len(out) < limit:
        if month not in have:
            out.append(month)
        month = _next_month(month)
    return out


def refresh(conn: Connection, config: HallConfig, now: dt.datetime, limit: int = 3) -> int:
    """Summarize up to ``limit`` ended months with no true summary (the clock's step);
    the number of months summarized."""
    months = due(conn, config, now, limit)
    for month in months:
        summarize(conn, config, month, now)
    return len(months)
