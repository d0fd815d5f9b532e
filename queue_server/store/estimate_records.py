"""The live measure of the wait estimate: what each ticket was told, and what it waited.

The simulated days of ``benchmarks/estimate_sim.py`` say how the estimate does on a
model of a hall; this says how it does in the hall itself. At issue the ticket's
promised wait (central figure and 80 % range) is written beside it; at its first call
the wait it had. ``estimate.accuracy`` (supervisor, admin) gives today's error per
queue with the simulator's own arithmetic (:func:`daysim.accuracy`), and the rows for a
CSV export. Numbers only: the queue, times and minutes, nothing of the citizen.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection, RowMapping

from ..core import daysim, estimate, rules
from ..core.errors import Refused
from . import schema as s

if TYPE_CHECKING:
    from ..core.permissions import Actor
    from .ops import HallOps

_r = s.estimate_records.c
# Built once: a SQLAlchemy construct made per call cost more than the statement itself
# (an UPDATE built per call ~300 us against ~50 us prebuilt, on every call next).
_RECORD_ISSUE = insert(s.estimate_records)
_RECORD_CALL = (
    update(s.estimate_records)
    .where(_r.ticket_id == bindparam("_id"), _r.called_at.is_(None))
    .values(called_at=bindparam("_at"), waited_s=bindparam("_waited"))
)


def record_issue(
    conn: Connection, ticket: RowMapping, told: estimate.Estimate, now: dt.datetime
) -> None:
    """The wait the kiosk reply promised, written in the issue's own transaction."""
    conn.execute(
        _RECORD_ISSUE,
        {
            "ticket_id": ticket["id"],
            "day": ticket["day"],
            "queue": ticket["queue"],
            "issued_at": now,
            "told_minutes": told.minutes,
            "told_low": told.low,
            "told_high": told.high,
        },
    )


def record_call(conn: Connection, ticket: RowMapping, now: dt.datetime) -> None:
    """The wait it had: until its first call (a recall or a later call after a transfer
    or a rejoin is not what the estimate promised).

    One statement on the call's hot path: the record's issue time is the ticket's own
    (both written by the issue, never changed), so the wait is worked out from the
    ticket row the call already holds, and the UPDATE matches nothing after the first
    call (or for a ticket issued before records were kept).
    """
    waited = int((now - ticket["issued_at"]).total_seconds())
    conn.execute(_RECORD_CALL, {"_id": ticket["id"], "_at": now, "_waited": waited})


def _figures(acc: daysim.Accuracy) -> dict[str, Any]:
    return {
        "n": acc.n,
        "mean_wait_min": round(acc.mean_wait, 1),
        "mae_min": round(acc.mae, 1),
        "mae_share": round(acc.mae_share, 3),
        "too_low": round(acc.too_low, 3),
        "too_low_5": round(acc.too_low_5, 3),
        "covered": round(acc.covered, 3),
    }


def accuracy(
    conn: Connection, ops: HallOps, actor: Actor, args: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    """``estimate.accuracy``: today's (or ``day``'s) estimate error per queue.

    Only tickets already called count (a wait still running is not known yet). With
    ``rows`` the per-ticket figures come too, for the supervisor page's CSV export.
    """
    day = ops.day(now)
    if args.get("day") is not None:
        try:
            day = dt.date.fromisoformat(str(args["day"]))
        except ValueError:
            raise Refused("day must be YYYY-MM-DD", code="bad_request") from None
    got = conn.execute(
        select(s.estimate_records, s.tickets.c.prefix, s.tickets.c.number)
        .join(s.tickets, s.tickets.c.id == _r.ticket_id)
        .where(_r.day == day, _r.called_at.is_not(None))
        .order_by(_r.issued_at, _r.ticket_id)
    ).all()
    records = [
        daysim.Issued(
            r.ticket_id,
            r.queue,
            None,
            r.issued_at,
            old=0,
            new=r.told_minutes,
            low=r.told_low,
            high=r.told_high,
            called_at=r.called_at,
        )
        for r in got
    ]
    queues: dict[str, list[daysim.Issued]] = {}
    for rec in records:
        queues.setdefault(rec.queue, []).append(rec)
    out: dict[str, Any] = {
        "day": day.isoformat(),
        "queues": [
            {"queue": q, **_figures(daysim.accuracy(recs, "new"))}
            for q, recs in sorted(queues.items())
        ],
        "all": _figures(daysim.accuracy(records, "new")),
    }
    if args.get("rows"):
        tz = ops.tz
        out["rows"] = [
            {
                "ticket": rules.ticket_label(r.prefix, r.number),
                "queue": r.queue,
                "issued_at": r.issued_at.astimezone(tz).isoformat(timespec="seconds"),
                "told_minutes": r.told_minutes,
                "told_low": r.told_low,
                "told_high": r.told_high,
                "called_at": r.called_at.astimezone(tz).isoformat(timespec="seconds"),
                "waited_minutes": round(r.waited_s / 60.0, 1),
            }
            for r in got
        ]
    return out


class PastRates:
    """The same hour's arrivals on past days, for :func:`estimate.blend_flows`.

    Past days do not change, so a group's counts are read once per 5 minutes of the day
    (the hour they cover moves on slowly), not on every issue.
    """

    BUCKET_MIN = 5

    def __init__(self) -> None:
        self._hits: dict[tuple[tuple[str, ...], dt.date, int], tuple[dict, int]] = {}

    def counts(
        self, conn: Connection, queues: list[str], day: dt.date, now: dt.datetime, tz: Any
    ) -> tuple[dict[str, tuple[int, int]], int]:
        """((ordinary, priority) tickets per queue in [now, now + 1 h) of the time of day,
        summed over the past days that had tickets; how many such days)."""
        local = now.astimezone(tz)
        bucket = (local.hour * 60 + local.minute) // self.BUCKET_MIN
        key = (tuple(queues), day, bucket)
        hit = self._hits.get(key)
        if hit is not None:
            return hit
        t = s.tickets.c
        first = day - dt.timedelta(days=estimate.PAST_DAYS)
        days = (
            conn.execute(select(t.day).where(t.day >= first, t.day < day).group_by(t.day))
            .scalars()
            .all()
        )
        counts: dict[str, tuple[int, int]] = {}
        if days:
            span = dt.timedelta(minutes=estimate.FLOW_HORIZON_MINUTES)
            at = local.timetz().replace(tzinfo=None)
            windows = [
                and_(t.issued_at >= (a := dt.datetime.combine(d, at, tz)), t.issued_at < a + span)
                for d in days
            ]
            rows = conn.execute(
                select(t.queue, t.priority.is_not(None), func.count())
                .where(t.day.in_(days), t.queue.in_(queues), or_(*windows))
                .group_by(t.queue, t.priority.is_not(None))
            ).all()
            for q, prio, n in rows:
                o, p = counts.get(q, (0, 0))
                counts[q] = (o, p + n) if prio else (o + n, p)
        if len(self._hits) > 1000:
            self._hits.clear()
        self._hits[key] = (counts, len(days))
        return counts, len(days)
