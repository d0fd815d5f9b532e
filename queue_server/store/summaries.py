"""The daily report summary: a year's report from some 300 rows a day, never untrue.

Replaying a year of a 140-window hall (290,000 cases joined to their tickets, 160,000
window operations in the audit log) took 5-6 s on SQLite and far more on PostgreSQL. So
each hall-local day that has ended is summarized once: per window, clerk and service the
counts and the open and paused time (``report_summaries``, summed by the database), and
in one row per day and kind every case's durations as sorted tenths of a second
(``report_durations``), from which the medians and 90th percentiles of any period are
taken exactly as from the raw rows (store/kpis.py counts both in tenths).

A summary must never disagree with the rows it was made from. ``report_days`` lists the
days whose summary is true, and database triggers (migration 0013) delete a day's row in
the same transaction as any change to its cases, its tickets' issue time, recalls or
transfers, or its window operations: from then on the report reads that day from the raw
rows, until the server's clock summarizes it again. Today is never summarized (it is not
over); nor are the days a summary was being made for when a writer changed them (on
PostgreSQL the summarizer locks ``report_days`` first, so a writer's trigger waits for
it and then deletes what it wrote; SQLite has one writer at a time).
"""

from __future__ import annotations

import datetime as dt
import json
from array import array
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from ..core import accountability as acc
from ..core import rules
from ..core.hall import HallConfig
from . import kpis
from . import schema as s
from .accountability import bounds

_d, _r, _u = s.report_days.c, s.report_summaries.c, s.report_durations.c

LOOKBACK_DAYS = 400
"""How far back the clock looks for days to summarize (a year's report and a little)."""

PER_SWEEP = 2
"""Days summarized per look of the clock (once a minute): some 50 ms of write lock each
on a 140-window hall, so a year's backlog after an upgrade takes hours, never a pause."""


def _durations(
    day: dt.date, dim: str, keys: list[str], values: list[tuple[list[int], list[int], list[int]]]
) -> dict[str, Any]:
    """One ``report_durations`` row: the keys' values, key after key, each key's sorted
    (demand's hours are kept in their order)."""
    lengths, blobs = array("i"), [array("i"), array("i"), array("i")]
    for triple in values:
        for j, v in enumerate(triple):
            lengths.append(len(v))
            blobs[j].extend(v if dim == "demand" else sorted(v))
    if lengths.itemsize != 4:  # pragma: no cover - every platform HallQ runs on
        raise RuntimeError("32-bit ints expected")
    return {
        "day": day,
        "dim": dim,
        "keys": json.dumps(keys),
        "lengths": lengths.tobytes(),
        "waits": blobs[0].tobytes(),
        "walks": blobs[1].tobytes(),
        "services": blobs[2].tobytes(),
    }


def _unpack(blob: Any) -> array[int]:
    a = array("i")
    a.frombytes(bytes(blob))
    return a


def read(
    conn: Connection, period: acc.Period, parts: kpis.Parts, demand: kpis.Demand | None = None
) -> set[dt.date]:
    """Add the summarized days of ``period`` to ``parts`` (and their tickets by hour to
    ``demand``); the days read. Counts are summed by the database; the durations are
    joined as bytes and unpacked once per key."""
    days = set(
        conn.execute(select(_d.day).where(_d.day >= period.start, _d.day <= period.end)).scalars()
    )
    if not days:
        return days
    in_days = (
        select(s.report_summaries)
        .join(s.report_days, _d.day == _r.day)
        .where(_r.day >= period.start, _r.day <= period.end)
        .subquery()
    )
    q = in_days.c
    sums = conn.execute(
        select(
            q.dim,
            q.key,
            *(func.sum(getattr(q, name)) for name in kpis.Figures.COUNTS),
            func.sum(q.open_ds),
            func.sum(q.paused_ds),
        ).group_by(q.dim, q.key)
    ).all()
    for dim, key, *counts, open_ds, paused_ds in sums:
        f = parts[dim][int(key) if dim == "window" else key]
        for name, n in zip(kpis.Figures.COUNTS, counts, strict=True):
            setattr(f, name, getattr(f, name) + int(n))
        f.add_session(_int(open_ds), _int(paused_ds))
    # The durations: one row per day and kind, key after key (some 1,300 rows a year);
    # each key's slices are gathered and unpacked once.
    got: dict[tuple[str, str], list[list[Any]]] = {}
    for dim, day, keys, lengths, *blobs in conn.execute(
        select(_u.dim, _u.day, _u["keys"], _u.lengths, _u.waits, _u.walks, _u.services)
        .join(s.report_days, _d.day == _u.day)
        .where(_u.day >= period.start, _u.day <= period.end)
    ):
        sizes = _unpack(lengths)
        raw = [bytes(b) for b in blobs]
        offsets = [0, 0, 0]  # in bytes: each key's slice is cut, joined and unpacked once
        for i, key in enumerate(json.loads(keys)):
            slot = got.get((dim, key))
            if slot is None:
                slot = got[(dim, key)] = [[], [], [], []]
            for j in range(3):
                n = 4 * sizes[3 * i + j]
                slot[j].append(raw[j][offsets[j] : offsets[j] + n])
                offsets[j] += n
            if dim == "demand":
                slot[3].append(day.isoweekday())
    for (dim, key), (waits, walks, services, weekdays) in got.items():
        if dim == "demand":  # tickets by hour (in waits), on the day's weekday
            if demand is not None:
                hours, by_day = demand.for_service(key)
                for blob, weekday in zip(waits, weekdays, strict=True):
                    by_hour = _unpack(blob)
                    for h in range(24):
                        hours[h] += by_hour[h]
                    by_day[weekday - 1] += sum(by_hour)
            continue
        f = parts[dim][int(key) if dim == "window" else key]
        f.waits.extend(_unpack(b"".join(waits)))
        f.walks.extend(_unpack(b"".join(walks)))
        f.services.extend(_unpack(b"".join(services)))
    return days


def _int(x: Any) -> int | None:
    return None if x is None else int(x)


def summarize(conn: Connection, config: HallConfig, day: dt.date, now: dt.datetime) -> int:
    """Summarize one ended day from its raw rows (in the caller's write transaction);
    the number of rows written. A summary already there is replaced."""
    if day >= rules.service_day(now, config.tz):
        raise ValueError("only a day that has ended is summarized")
    if conn.dialect.name == "postgresql":
        # A writer's trigger deletes from report_days: it waits for this transaction,
        # then deletes the day we summarize if it changed it (module docstring).
        conn.exec_driver_sql("LOCK TABLE report_days IN SHARE ROW EXCLUSIVE MODE")
    parts = kpis.new_parts()
    kpis.raw_parts(conn, config, day, day, parts)
    demand = kpis.Demand()
    kpis.raw_demand(conn, config, day, day, demand)
    rows = [
        {
            "day": day,
            "dim": dim,
            "key": str(key),
            **{name: getattr(f, name) for name in kpis.Figures.COUNTS},
            "open_ds": f.open_ds,
            "paused_ds": f.paused_ds,
        }
        for dim, by_key in parts.items()
        for key, f in by_key.items()
    ]
    durations = []
    for dim, by_key in parts.items():
        keys = sorted(by_key, key=str)
        durations.append(
            _durations(
                day,
                dim,
                [str(k) for k in keys],
                [(by_key[k].waits, by_key[k].walks, by_key[k].services) for k in keys],
            )
        )
    # the day's tickets by hour of issue, per service (the weekday is the day's)
    sids = sorted(demand.services)
    durations.append(
        _durations(day, "demand", sids, [(demand.services[k][0], [], []) for k in sids])
    )
    conn.execute(delete(s.report_summaries).where(_r.day == day))
    conn.execute(delete(s.report_durations).where(_u.day == day))
    conn.execute(delete(s.report_days).where(_d.day == day))
    if rows:
        conn.execute(insert(s.report_summaries), rows)
    conn.execute(insert(s.report_durations), durations)
    start, end = bounds(acc.Period(day, day), config.tz)
    conn.execute(insert(s.report_days).values(day=day, start_at=start, end_at=end, made_at=now))
    return len(rows)


def due(conn: Connection, config: HallConfig, now: dt.datetime, limit: int = 7) -> list[dt.date]:
    """Ended days (within ``LOOKBACK_DAYS``, from the first case on) with no true
    summary, oldest first, at most ``limit``."""
    today = rules.service_day(now, config.tz)
    first = conn.execute(select(func.min(s.cases.c.ended_at))).scalar_one()
    if first is None:
        return []
    first_day = max(first.astimezone(config.tz).date(), today - dt.timedelta(days=LOOKBACK_DAYS))
    have = set(conn.execute(select(_d.day).where(_d.day >= first_day, _d.day < today)).scalars())
    out = []
    day = first_day
    while day < today and len(out) < limit:
        if day not in have:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def refresh(conn: Connection, config: HallConfig, now: dt.datetime, limit: int = 7) -> int:
    """Summarize up to ``limit`` ended days that have no true summary (the clock's step);
    the number of days summarized."""
    days = due(conn, config, now, limit)
    for day in days:
        summarize(conn, config, day, now)
    return len(days)
