"""Read-only views for the clerk console and the supervisor: nothing here writes.

Two operations the browser pages need and the hall operations do not give:

* ``window.waiting`` — the tickets a window would call, in the order ``call.next`` would
  call them, with the window's current ticket in full
  so a console that reloads can show it again. The order is built by ``callorder``, like
  call.next's own.
* ``clerk.today`` — one clerk's figures for the service day: cases served, average
  service time, no-shows, transfers, ratings and satisfaction.
* ``followup.list`` — the follow-up list: dissatisfied ratings waiting for (or given) a
  call-back, newest first, for supervisors.

Each takes ``(conn, ops, actor, args, now)`` like the hall operations, so the server
wires it as one more handler in ``_work()`` and it runs on the database thread.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from ..core import rules
from ..core.errors import Refused
from ..core.permissions import Target, authorize
from . import callorder
from . import schema as s
from .ops import Actor, HallOps, iso, ticket_view

WAITING_LIMIT = 50
"""The most tickets a waiting list returns: a clerk needs the next few, not all day."""


def window_waiting(
    conn: Connection, ops: HallOps, actor: Actor, args: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    """The window's waiting list in call order, and its current ticket in full."""
    number = ops._window_number(actor, args, "window.waiting")
    limit = args.get("limit", WAITING_LIMIT)
    if not isinstance(limit, int) or not 1 <= limit <= 500:
        raise Refused("limit must be a whole number from 1 to 500", code="bad_request")
    wdef = ops.config.window(number)
    assert wdef is not None
    t = s.tickets.c
    # The same selection and order as call.next (one SQL form of the call order), unlocked.
    where = and_(
        t.status == "waiting", t.day == ops.day(now), callorder.waits_for(number, wdef.queues)
    )
    key = callorder.call_key(wdef.queues, now)
    rows = (
        conn.execute(
            select(s.tickets, key[0].label("call_class")).where(where).order_by(*key).limit(limit)
        )
        .mappings()
        .all()
    )
    total = len(rows)
    if total == limit:
        total = conn.execute(select(func.count()).select_from(s.tickets).where(where)).scalar_one()
    waiting = [
        dict(
            ticket_view(r),
            sort_at=iso(r["sort_at"]),
            waited_s=max(0, int((now - r["sort_at"]).total_seconds())),
        )
        for r in rows
    ]
    win = conn.execute(select(s.windows).where(s.windows.c.number == number)).mappings().first()
    current = None
    if win is not None and win["ticket_id"] is not None:
        trow = conn.execute(select(s.tickets).where(s.tickets.c.id == win["ticket_id"]))
        ticket = trow.mappings().first()
        if ticket is not None:
            case_row = None
            if win["case_id"] is not None:
                case_row = (
                    conn.execute(select(s.cases).where(s.cases.c.id == win["case_id"]))
                    .mappings()
                    .first()
                )
            current = dict(
                ticket_view(ticket),
                finished_at=iso(ticket["finished_at"]),
                case=win["case_id"],
                rating_state=case_row["rating_state"] if case_row else None,
                rating=case_row["rating"] if case_row else None,
                rating_due=iso(case_row["rating_due"]) if case_row else None,
            )
    return {
        "window": number,
        "now": iso(now),
        "status": win["status"] if win is not None else "closed",
        "clerk": win["clerk"] if win is not None else None,
        "current": current,
        "waiting": waiting,
        "total": total,
    }


def clerk_today(
    conn: Connection, ops: HallOps, actor: Actor, args: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    """One clerk's figures for today's service day.

    A clerk sees its own figures: the clerk signed in at its window (``window.open``
    records it), or its own id. Supervisors and admins name any clerk.
    """
    clerk = args.get("clerk")
    if actor.role == "clerk":
        # A clerk terminal's own figures are those of whoever works its window.
        number = ops._window_number(actor, args)
        at_window = conn.execute(
            select(s.windows.c.clerk).where(s.windows.c.number == number)
        ).scalar_one_or_none()
        clerk = (at_window or actor.name) if clerk is None else clerk
        own = {actor.name} | ({at_window} if at_window and number == actor.window else set())
        authorize(actor, "clerk.today", Target(subject=actor.name if clerk in own else clerk))
    if not isinstance(clerk, str) or not clerk:
        raise Refused("clerk.today needs a clerk id", code="bad_request")
    day = ops.day(now)
    # The service day's bounds in UTC: cases are stamped in UTC, the day is hall-local.
    start = dt.datetime.combine(day, dt.time(), ops.tz).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    c = s.cases.c
    rows = conn.execute(
        select(c.outcome, c.called_at, c.started_at, c.ended_at, c.rating_state, c.rating).where(
            c.clerk == clerk, c.called_at >= start, c.called_at < end
        )
    ).all()
    done = [r for r in rows if r.outcome == "done"]
    # Service time runs from "start"; a case finished without one (the store then sets
    # started_at to the finish) is timed from the call instead of counting as zero.
    durations = [
        (
            r.ended_at - (r.called_at if r.started_at in (None, r.ended_at) else r.started_at)
        ).total_seconds()
        for r in done
        if r.ended_at is not None
    ]
    levels = [r.rating for r in done if r.rating_state == "rated" and r.rating is not None]
    rate = rules.satisfaction_rate(levels)
    return {
        "clerk": clerk,
        "day": day.isoformat(),
        "now": iso(now),
        "called": len(rows),
        "served": len(done),
        "avg_service_s": round(sum(durations) / len(durations)) if durations else None,
        "no_shows": sum(1 for r in rows if r.outcome == "no_show"),
        "transferred": sum(1 for r in rows if r.outcome == "transferred"),
        "rated": len(levels),
        "not_rated": sum(1 for r in done if r.rating_state == "not_rated"),
        "rating_pending": sum(1 for r in done if r.rating_state == "pending"),
        "dissatisfied": sum(1 for v in levels if rules.is_dissatisfied(v)),
        "satisfaction": round(rate, 4) if rate is not None else None,
    }
