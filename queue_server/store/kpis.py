"""Key figures of the windows and clerks for a period (docs/reports.md has the definitions).

Per window, clerk, service and department, over the cases that *ended* in the period
(hall-local days): cases, served, no-shows, transfers, recalls; waiting time (issued →
called), walk time (called → started) and service time (started → finished) as median,
90th percentile and mean; ratings, satisfied, not rated and the satisfaction rate (the
one rule, ``rules.is_satisfied``); per window and clerk also open, paused and idle time
from the window sessions in the audit log. Per service: tickets by hour of day and
weekday (demand).

Durations are computed by the database (one float per case, no date parsing in Python),
so a year of a large hall is read in one pass; the percentiles are then taken in Python,
where both databases agree exactly (nearest rank: the smallest value with at least 90 %
of the values at or below it).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, and_, case, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from ..core import accountability as acc
from ..core import rules
from ..core.hall import HallConfig
from . import schema as s
from .accountability import bounds, not_rated_count, rated_count, satisfied_count

GROUPS = ("department", "window", "clerk", "service")
_c, _t, _a = s.cases.c, s.tickets.c, s.audit.c


def epoch(conn: Connection, col: Any) -> Any:
    """SQL: a time as seconds since 1970 (a float: no date parsing in Python)."""
    if conn.dialect.name == "postgresql":
        return func.extract("epoch", col).cast(Float)
    return (func.julianday(col) - 2440587.5) * 86400.0


def seconds(conn: Connection, a: Any, b: Any) -> Any:
    """SQL: seconds from ``a`` to ``b`` (NULL when either is NULL)."""
    if conn.dialect.name == "postgresql":
        return func.extract("epoch", b - a).cast(Float)  # numeric otherwise
    return (func.julianday(b) - func.julianday(a)) * 86400.0


def percentile(values: list[float], share: float) -> float | None:
    """Nearest rank: the smallest value with at least ``share`` of the values at or
    below it (``values`` sorted). None for no values."""
    if not values:
        return None
    return values[max(0, math.ceil(share * len(values)) - 1)]


def tenths(x: float | None) -> int | None:
    """A duration in tenths of a second, the unit every duration figure is kept in: a
    day's summary and the raw rows then give the same medians, percentiles and sums to
    the last digit (the report shows tenths)."""
    return None if x is None else round(x * 10)


@dataclass
class Figures:
    """What one window, clerk, service or department did in the period (durations in
    tenths of a second)."""

    cases: int = 0
    served: int = 0
    no_shows: int = 0
    transfers: int = 0
    recalls: int = 0
    rated: int = 0
    satisfied: int = 0
    not_rated: int = 0
    waits: list[int] = field(default_factory=list)
    walks: list[int] = field(default_factory=list)
    services: list[int] = field(default_factory=list)
    busy_ds: int = 0
    open_ds: int | None = None
    paused_ds: int | None = None

    COUNTS = ("cases", "served", "no_shows", "transfers", "recalls", "rated", "satisfied",
              "not_rated", "busy_ds")  # fmt: skip

    def merge(self, other: Figures) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.waits.extend(other.waits)
        self.walks.extend(other.walks)
        self.services.extend(other.services)
        self.add_session(other.open_ds, other.paused_ds)

    def add_session(self, open_ds: int | None, paused_ds: int | None) -> None:
        if open_ds is not None:
            self.open_ds = (self.open_ds or 0) + open_ds
            self.paused_ds = (self.paused_ds or 0) + (paused_ds or 0)

    def row(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "cases": self.cases,
            "served": self.served,
            "no_shows": self.no_shows,
            "transfers": self.transfers,
            "recalls": self.recalls,
        }
        for name, values in (
            ("wait", self.waits),
            ("walk", self.walks),
            ("service", self.services),
        ):
            values.sort()
            out[f"{name}_median_s"] = _s(percentile(values, 0.5))
            out[f"{name}_p90_s"] = _s(percentile(values, 0.9))
            out[f"{name}_mean_s"] = _round(sum(values) / len(values) / 10) if values else None
        rate = rules.satisfaction(self.rated, self.satisfied)
        out.update(
            rated=self.rated,
            satisfied=self.satisfied,
            not_rated=self.not_rated,
            satisfaction=round(rate, 4) if rate is not None else None,
            open_s=_s(self.open_ds),
            paused_s=_s(self.paused_ds),
            idle_s=(
                _s(max(0, self.open_ds - (self.paused_ds or 0) - self.busy_ds))
                if self.open_ds is not None
                else None
            ),
        )
        return out


def _bucket(rows: list[Any]) -> Figures:
    """The figures of the cases of one window, clerk and service (columns as selected
    in :func:`_case_rows`)."""
    done = [r for r in rows if r[3] == "done"]
    rated = [r[5] for r in rows if r[4] == "rated" and r[5] is not None]
    walks = [tenths(r[8]) for r in rows]
    services = [tenths(r[9]) for r in rows]
    return Figures(
        cases=len(rows),
        served=len(done),
        no_shows=sum(1 for r in rows if r[3] == "no_show"),
        transfers=sum(1 for r in rows if r[3] == "transferred"),
        # a ticket's recalls count once, at the window where it ended
        recalls=sum(r[6] or 0 for r in rows if r[3] in ("done", "no_show")),
        rated=len(rated),
        satisfied=sum(1 for v in rated if rules.is_satisfied(v)),
        not_rated=sum(1 for r in rows if r[4] == "not_rated"),
        waits=[round(r[7] * 10) for r in rows if r[7] is not None],
        walks=[w for w in walks if w is not None],
        services=[round(r[9] * 10) for r in done if r[9] is not None],
        busy_ds=sum((w or 0) + (v or 0) for w, v in zip(walks, services, strict=True)),
    )


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _s(ds: int | None) -> float | None:
    """Tenths of a second as seconds."""
    return None if ds is None else ds / 10


DIMS = ("window", "clerk", "service")
"""What a day's summary keeps figures of; departments and the hall's total are made of
the services' (a department is its services')."""

Parts = dict[str, dict[Any, Figures]]


def new_parts() -> Parts:
    return {d: defaultdict(Figures) for d in DIMS}


def raw_parts(
    conn: Connection, config: HallConfig, first: dt.date, last: dt.date, parts: Parts
) -> None:
    """Add the figures of days ``first`` to ``last`` (hall-local), counted from the raw
    rows (cases, tickets, the audit log's window operations), to ``parts``."""
    start, end = bounds(acc.Period(first, last), config.tz)
    called = seconds(conn, _t.issued_at, _c.called_at)
    # A case finished without "start" has started_at = ended_at (the store's rule): it
    # has no walk time, and its service time runs from the call (as clerk.today does).
    started = and_(_c.started_at.is_not(None), _c.started_at != _c.ended_at)
    walk = case((started, seconds(conn, _c.called_at, _c.started_at)), else_=None)
    service = case(
        (started, seconds(conn, _c.started_at, _c.ended_at)),
        else_=seconds(conn, _c.called_at, _c.ended_at),
    )
    q = (
        select(
            _c.window,
            _c.clerk,
            _c.service_id,
            _c.outcome,
            _c.rating_state,
            _c.rating,
            _t.recalls,
            # The wait is the ticket's, from issue to call; a transferred ticket waits
            # again elsewhere, so its waits are left out (it counts as a transfer).
            case((_t.transfers == 0, called), else_=None),
            walk,
            service,
        )
        .select_from(s.cases.join(s.tickets, _t.id == _c.ticket_id))
        .where(_c.ended_at >= start, _c.ended_at < end)
    )
    # Rows are put in buckets of one (window, clerk, service) first, one cheap step per
    # row; each bucket is then counted with comprehensions and merged into the groups.
    buckets: dict[tuple[Any, Any, Any], list[Any]] = {}
    for row in conn.execute(q):
        key = (row[0], row[1], row[2])
        got = buckets.get(key)
        if got is None:
            buckets[key] = [row]
        else:
            got.append(row)
    for (window, clerk, sid), rows in buckets.items():
        f = _bucket(rows)
        parts["window"][window].merge(f)
        parts["service"][sid].merge(f)
        if clerk is not None:
            parts["clerk"][clerk].merge(f)
    _sessions(conn, config, start, end, parts)


def finish(period: acc.Period, config: HallConfig, parts: Parts) -> dict[str, Any]:
    """The period's figures from its parts: ``total`` and a dict of rows per group."""
    dept_of = {sv.id: sv.department for sv in config.services}
    groups: dict[str, dict[Any, Figures]] = {
        "department": defaultdict(Figures),
        "window": parts["window"],
        "clerk": parts["clerk"],
        "service": parts["service"],
    }
    total = Figures()
    for sid, f in parts["service"].items():
        # sorted first (row() would anyway): the hall's and departments' lists are then
        # sorted runs, which a sort merges in near-linear time
        f.waits.sort()
        f.walks.sort()
        f.services.sort()
        total.merge(f)
        dept = dept_of.get(sid)
        if dept is not None:
            groups["department"][dept].merge(f)
    # a window's sessions are not the services': the hall's open time is its windows'
    total.open_ds = total.paused_ds = None
    return {
        "period": period.label,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "total": total.row(),
        "groups": {
            g: {k: f.row() for k, f in sorted(groups[g].items(), key=lambda kv: str(kv[0]))}
            for g in GROUPS
        },
    }


class Demand:
    """Tickets taken per service by hall-local hour of day and ISO weekday."""

    def __init__(self) -> None:
        self.services: dict[str, tuple[list[int], list[int]]] = {}

    def for_service(self, sid: str) -> tuple[list[int], list[int]]:
        got = self.services.get(sid)
        if got is None:
            got = self.services[sid] = ([0] * 24, [0] * 7)
        return got

    def result(self, offset: int) -> dict[str, Any]:
        items = sorted(self.services.items())
        return {
            "by_hour": {sid: hours for sid, (hours, _) in items},
            "by_weekday": {sid: days for sid, (_, days) in items},
            "utc_offset_s": offset,
        }


def collect(
    conn: Connection, config: HallConfig, period: acc.Period, *, summaries: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The period's figures (``total`` and a dict of rows per group, key → figures) and
    its demand.

    Days with a true summary (store/summaries.py) are read from it, the others (today,
    days not summarized yet or whose rows changed since) from the raw rows; both give
    the same figures. ``summaries=False`` counts everything from the raw rows."""
    from . import summaries as sm

    parts, demand = new_parts(), Demand()
    done = sm.read(conn, period, parts, demand) if summaries else set()
    day, run_start = period.start, None
    while day <= period.end + dt.timedelta(days=1):
        if day <= period.end and day not in done:
            run_start = run_start or day
        elif run_start is not None:
            last = day - dt.timedelta(days=1)
            raw_parts(conn, config, run_start, last, parts)
            raw_demand(conn, config, run_start, last, demand)
            run_start = None
        day += dt.timedelta(days=1)
    return finish(period, config, parts), demand.result(_offset(config, period))


def figures(
    conn: Connection, config: HallConfig, period: acc.Period, *, summaries: bool = True
) -> dict[str, Any]:
    """The period's figures (:func:`collect`)."""
    return collect(conn, config, period, summaries=summaries)[0]


_WINDOW_OPS = ("window.open", "window.pause", "window.resume", "window.close")


def _sessions(
    conn: Connection, config: HallConfig, start: dt.datetime, end: dt.datetime, parts: Parts
) -> None:
    """Open and paused time per window and clerk, from the window operations in the
    audit log: sessions opened in ``[start, end)``, each counted in the hall-local day it
    opened, up to its close or that day's end (a window left open overnight is not a
    night of idle time; and so a day's figures never change with the next day's rows).

    Times are read as seconds (floats) and an opening's clerk is taken from its detail
    by the database: a year of a large hall has some 160,000 such rows."""
    if conn.dialect.name == "postgresql":
        clerk_of = func.cast(_a.detail, JSONB).op("->>")("clerk")
    else:
        clerk_of = func.json_extract(_a.detail, "$.clerk")
    rows = conn.execute(
        select(
            epoch(conn, _a.at),
            _a.op,
            _a.window,
            case((_a.op == "window.open", clerk_of), else_=None),
        )
        .where(
            _a.at >= start,
            _a.at < end,
            _a.op.in_(_WINDOW_OPS),
            _a.window.is_not(None),
            # a refused operation leaves an audit row too; it opened or closed nothing
            or_(_a.detail.is_(None), _a.detail.not_like('%"refused"%')),
        )
        .order_by(_a.at)  # the index's order; rows of one instant keep their id order
    ).all()
    day_end: dict[dt.date, float] = {}

    def end_of_day(at: float) -> float:
        day = dt.datetime.fromtimestamp(at, config.tz).date()
        got = day_end.get(day)
        if got is None:
            got = day_end[day] = bounds(acc.Period(day, day), config.tz)[1].timestamp()
        return got

    # window -> [since, clerk, paused since or None, the end of its day]
    state: dict[int, list[Any]] = {}
    spans: dict[tuple[int, str | None], list[int]] = defaultdict(lambda: [0, 0])

    def close(window: int, st: list[Any], at: float) -> None:
        span = spans[(window, st[1])]
        if st[2] is not None:
            span[1] += round((at - st[2]) * 10)
        span[0] += round((at - st[0]) * 10)
        del state[window]

    for at, op, window, clerk in rows:
        st = state.get(window)
        if st is not None and at >= st[3]:
            close(window, st, st[3])  # cut at the end of the day it opened
            st = None
        if op == "window.open":
            if st is not None:
                close(window, st, at)  # opened again without a close
            state[window] = [at, clerk, None, end_of_day(at)]
        elif st is None:
            continue
        elif op == "window.pause" and st[2] is None:
            st[2] = at
        elif op == "window.resume" and st[2] is not None:
            spans[(window, st[1])][1] += round((at - st[2]) * 10)
            st[2] = None
        elif op == "window.close":
            close(window, st, at)
    for window, st in list(state.items()):
        close(window, st, st[3])
    for (window, clerk), (open_ds, paused_ds) in spans.items():
        parts["window"][window].add_session(open_ds, paused_ds)
        if clerk:
            parts["clerk"][clerk].add_session(open_ds, paused_ds)


def _offset(config: HallConfig, period: acc.Period) -> int:
    """The hall's UTC offset in the middle of the period, in seconds."""
    start, end = bounds(period, config.tz)
    mid = start + (end - start) / 2
    return int((mid.astimezone(config.tz).utcoffset() or dt.timedelta()).total_seconds())


def raw_demand(
    conn: Connection, config: HallConfig, first: dt.date, last: dt.date, demand: Demand
) -> None:
    """Add the tickets taken on days ``first`` to ``last`` per service by hall-local
    hour of day and by ISO weekday to ``demand``, from the tickets.

    The local time is the UTC time moved by the hall's offset in the middle of the
    days: exact in zones without summer time (China's)."""
    offset = _offset(config, acc.Period(first, last))
    if conn.dialect.name == "postgresql":
        local = _t.issued_at + literal(dt.timedelta(seconds=offset))
        hour = func.extract("hour", local)
        dow = func.extract("isodow", local)
    else:
        mod = f"{offset:+d} seconds"
        hour = func.strftime("%H", _t.issued_at, mod)
        dow = func.strftime("%w", _t.issued_at, mod)  # 0 is Sunday
    rows = conn.execute(
        select(_t.service_id, hour, dow, func.count())
        # by service day (indexed with the service), the hall-local day of issue
        .where(_t.day >= first, _t.day <= last)
        .group_by(_t.service_id, hour, dow)
    ).all()
    for sid, h, d, n in rows:
        day = int(d)
        iso = day if conn.dialect.name == "postgresql" else (day or 7)
        hours, weekdays = demand.for_service(sid)
        hours[int(h)] += n
        weekdays[iso - 1] += n


def demand(
    conn: Connection, config: HallConfig, period: acc.Period, *, summaries: bool = True
) -> dict[str, Any]:
    """Tickets taken per service by hall-local hour of day and by ISO weekday
    (:func:`collect`)."""
    return collect(conn, config, period, summaries=summaries)[1]


def today(conn: Connection, config: HallConfig, now: dt.datetime) -> dict[str, Any]:
    """The supervisor's figures for today so far: tickets issued, waiting and served;
    average and 90th-percentile wait of the tickets called today; satisfaction; red
    cases (cases past their time limit, open now, and red case files)."""
    day = rules.service_day(now, config.tz)
    start, _end = bounds(acc.Period(day, day, "day"), config.tz)
    issued, waiting, served = conn.execute(
        select(
            func.count(),
            func.sum(case((_t.status == "waiting", 1), else_=0)),
            func.sum(case((_t.status == "done", 1), else_=0)),
        ).where(_t.day == day)
    ).one()
    waits = sorted(
        float(w)
        for (w,) in conn.execute(
            select(seconds(conn, _t.issued_at, _t.called_at)).where(
                _t.day == day, _t.called_at.is_not(None), _t.transfers == 0
            )
        )
        if w is not None
    )
    rated, satisfied, not_rated = conn.execute(
        select(rated_count(), satisfied_count(), not_rated_count()).where(
            _c.ended_at >= start, _c.outcome == "done"
        )
    ).one()
    red_cases = conn.execute(
        select(func.count())
        .select_from(s.cases)
        .where(_c.outcome.is_(None), _c.overdue_at.is_not(None))
    ).scalar_one()
    red_files = conn.execute(
        select(func.count())
        .select_from(s.casefiles)
        .where(s.casefiles.c.light == "red", s.casefiles.c.finished_on.is_(None))
    ).scalar_one()
    rate = rules.satisfaction(int(rated or 0), int(satisfied or 0))
    per_window = conn.execute(
        select(_c.window, rated_count(), satisfied_count())
        .where(_c.ended_at >= start, _c.outcome == "done")
        .group_by(_c.window)
        .order_by(_c.window)
    ).all()
    today_demand = Demand()
    raw_demand(conn, config, day, day, today_demand)  # today is never summarized
    hours = today_demand.result(0)["by_hour"]
    return {
        "day": day.isoformat(),
        "now": now.isoformat(),
        "issued": int(issued or 0),
        "waiting": int(waiting or 0),
        "served": int(served or 0),
        "wait_mean_s": _round(sum(waits) / len(waits)) if waits else None,
        "wait_p90_s": _round(percentile(waits, 0.9)),
        "rated": int(rated or 0),
        "satisfied": int(satisfied or 0),
        "not_rated": int(not_rated or 0),
        "satisfaction": round(rate, 4) if rate is not None else None,
        "red_cases": int(red_cases),
        "red_casefiles": int(red_files),
        "open_rectifications": _open_rectifications(conn),
        "by_window": [
            {"window": w, "rated": int(n or 0), "satisfied": int(ok or 0)}
            for w, n, ok in per_window
        ],
        "issued_by_hour": [sum(c[h] for c in hours.values()) for h in range(24)],
    }


def ledger() -> tuple[Any, Any]:
    """The rectification ledger (``rectifications``, its states in ``core/rectify.py``):
    the two figures that read it are open rectifications and complaints upheld."""
    from ..core import rectify

    return s.rectifications, rectify


def _open_rectifications(conn: Connection) -> int | None:
    """Open ledger records (not closed, not dismissed)."""
    table, rectify = ledger()
    final = [st.value for st in rectify.FINAL]
    return int(
        conn.execute(
            select(func.count()).select_from(table).where(table.c.state.not_in(final))
        ).scalar_one()
    )
