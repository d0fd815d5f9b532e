"""Assessment runs, talk reminders and accountability records in the database.

The rules are ``core/accountability.py``; this module counts the ratings of a period,
asks the core who is under the threshold, and keeps what follows:

* an **assessment run** per period (a row in ``assessments``, claimed first in the run's
  transaction: a period is assessed once, whichever process or restart gets there, and a
  server that was down at the month's end assesses it at its first sweep after);
* a **talk reminder** per subject under the threshold, for the head of the department
  whose services made most of its rated cases (``reminder.raised``, an alert event);
* an **accountability record** when a reminder makes more than ``reminder_limit`` in
  the rolling period (``accountability.raised``, routed to the leader in charge).

The head carries out a reminder and signs it off (``reminder.done``, own department).
What the talk was about stays in the record, never in events, logs or the audit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ..core import accountability as acc
from ..core import rules
from ..core.errors import NotFound, Refused
from ..core.hall import HallConfig
from ..core.permissions import Actor, Target, authorize
from . import schema as s

NOTE_MAX = 2000
LIST_MAX = 500
CLOCK = Actor("clock", "admin")
"""Who runs the assessments the server's clock starts (in the audit and the run row)."""

_c = s.cases.c
_r = s.talk_reminders.c
_a = s.accountability_records.c


def bounds(period: acc.Period, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The period's hall-local days as a UTC half-open interval [start, end)."""
    start = dt.datetime.combine(period.start, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    return start, end


def satisfied_count() -> Any:
    """SQL: how many of the rows are rated satisfied (THE rule: rules.SATISFIED_MIN)."""
    return func.sum(
        case((and_(_c.rating_state == "rated", _c.rating >= rules.SATISFIED_MIN), 1), else_=0)
    )


def rated_count() -> Any:
    return func.sum(case((_c.rating_state == "rated", 1), else_=0))


def not_rated_count() -> Any:
    return func.sum(case((_c.rating_state == "not_rated", 1), else_=0))


def tallies(
    conn: Connection, config: HallConfig, period: acc.Period
) -> tuple[dict[tuple[str, str], acc.Tally], dict[tuple[str, str], dict[str | None, int]]]:
    """Each subject's tally over the cases finished in the period, and how its rated
    cases split by department (whose head a window's or clerk's reminder goes to)."""
    start, end = bounds(period, config.tz)
    rows = conn.execute(
        select(
            _c.window, _c.clerk, _c.service_id, rated_count(), satisfied_count(), not_rated_count()
        )
        .where(_c.outcome == "done", _c.ended_at >= start, _c.ended_at < end)
        .group_by(_c.window, _c.clerk, _c.service_id)
    ).all()
    out: dict[tuple[str, str], acc.Tally] = defaultdict(acc.Tally)
    depts: dict[tuple[str, str], dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for window, clerk, service_id, rated, satisfied, not_rated in rows:
        t = acc.Tally(int(rated or 0), int(satisfied or 0), int(not_rated or 0))
        sv = config.service(service_id)
        dept = sv.department if sv is not None else None
        keys = [("window", str(window)), ("service", service_id)]
        if clerk is not None:
            keys.append(("clerk", clerk))
        if dept is not None:
            keys.append(("department", dept))
        for key in keys:
            out[key] = out[key] + t
            depts[key][dept] += t.rated
    return dict(out), {k: dict(v) for k, v in depts.items()}


def _claim(conn: Connection, period: acc.Period, now: dt.datetime, by: str) -> bool:
    """Claim the period's run; False when it was assessed already (by anyone)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT.
    won = conn.execute(
        dialect.insert(s.assessments)
        .values(
            kind=period.kind, start=period.start, end=period.end, run_at=now, by=by, reminders=0
        )
        .on_conflict_do_nothing(index_elements=["kind", "start"])
        .returning(s.assessments.c.kind)
    ).first()
    return won is not None


def assess(
    conn: Connection,
    config: HallConfig,
    period: acc.Period,
    now: dt.datetime,
    by: str = "clock",
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """Assess one day, week or month: reminders for the subjects under the threshold,
    accountability records for those past the limit. Once per period: a second run
    returns the first one's summary and does nothing."""
    if period.kind not in ("day", "week", "month"):
        raise Refused("assess a day, an ISO week or a month", code="bad_period")
    settings = config.accountability
    if not _claim(conn, period, now, by):
        row = (
            conn.execute(
                select(s.assessments).where(
                    s.assessments.c.kind == period.kind, s.assessments.c.start == period.start
                )
            )
            .mappings()
            .one()
        )
        return dict(json.loads(row["summary"] or "{}"), already=True), []
    found, depts = tallies(conn, config, period)
    events: list[tuple[str, dict[str, Any]]] = []
    raised = []
    for kind, subject, t in acc.reminders_due(found, settings):
        dept = (
            subject if kind == "department" else acc.main_department(depts.get((kind, subject), {}))
        )
        rid = conn.execute(
            insert(s.talk_reminders).values(
                subject_kind=kind,
                subject=subject,
                department=dept,
                period_kind=period.kind,
                period_start=period.start,
                period_end=period.end,
                rated=t.rated,
                satisfied=t.satisfied,
                not_rated=t.not_rated,
                threshold=str(settings.threshold),
                state="open",
                created_at=now,
            )
        ).inserted_primary_key[0]
        data = {
            "id": rid,
            "subject_kind": kind,
            "subject": subject,
            "department": dept,
            "period": period.label,
            "rated": t.rated,
            "satisfied": t.satisfied,
            "not_rated": t.not_rated,
            "rate": round(t.rate or 0.0, 4),
            "threshold": settings.threshold,
        }
        events.append(("reminder.raised", data))
        raised.append(data)
        window = acc.rolling_window(period.end, settings)
        ends = [
            e
            for (e,) in conn.execute(
                select(_r.period_end).where(
                    _r.subject_kind == kind,
                    _r.subject == subject,
                    _r.period_end >= window.start,
                    _r.period_end <= window.end,
                )
            )
        ]
        if acc.escalates(ends, period.end, settings):
            aid = conn.execute(
                insert(s.accountability_records).values(
                    reminder_id=rid,
                    subject_kind=kind,
                    subject=subject,
                    department=dept,
                    reminders=len(ends),
                    window_start=window.start,
                    window_end=window.end,
                    created_at=now,
                )
            ).inserted_primary_key[0]
            events.append(
                (
                    "accountability.raised",
                    {
                        "id": aid,
                        "reminder": rid,
                        "subject_kind": kind,
                        "subject": subject,
                        "department": dept,
                        "reminders": len(ends),
                        "limit": settings.reminder_limit,
                        "rolling_days": settings.rolling_days,
                        "period": period.label,
                    },
                )
            )
    assessed = {k: t for k, t in found.items() if k[0] in settings.subjects}
    summary = {
        "period": period.label,
        "kind": period.kind,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "threshold": settings.threshold,
        "min_ratings": settings.min_ratings,
        "assessed": len(assessed),
        "counted": sum(1 for t in assessed.values() if acc.counts(t, settings)),
        "reminders": raised,
        "accountability": sum(1 for k, _ in events if k == "accountability.raised"),
    }
    conn.execute(
        update(s.assessments)
        .where(s.assessments.c.kind == period.kind, s.assessments.c.start == period.start)
        .values(reminders=len(raised), summary=json.dumps(summary, ensure_ascii=False))
    )
    return summary, events


def due(conn: Connection, config: HallConfig, now: dt.datetime) -> list[acc.Period]:
    """The assessment periods that have ended and were not assessed yet (a read)."""
    today = rules.service_day(now, config.tz)
    out = []
    for kind in config.accountability.periods:
        p = acc.last_complete(kind, today)
        seen = conn.execute(
            select(func.count())
            .select_from(s.assessments)
            .where(s.assessments.c.kind == kind, s.assessments.c.start == p.start)
        ).scalar_one()
        if not seen:
            out.append(p)
    return out


def run_due(
    conn: Connection, config: HallConfig, now: dt.datetime
) -> list[tuple[str, dict[str, Any]]]:
    """Assess every period that is due, on the server's clock."""
    events: list[tuple[str, dict[str, Any]]] = []
    for period in due(conn, config, now):
        events += assess(conn, config, period, now)[1]
    return events


# -- operations ------------------------------------------------------------------------


def view(row: Any) -> dict[str, Any]:
    t = acc.Tally(row["rated"], row["satisfied"], row["not_rated"])
    return {
        "id": row["id"],
        "subject_kind": row["subject_kind"],
        "subject": row["subject"],
        "department": row["department"],
        "period": acc.Period(row["period_start"], row["period_end"], row["period_kind"]).label,
        "rated": t.rated,
        "satisfied": t.satisfied,
        "not_rated": t.not_rated,
        "rate": round(t.rate, 4) if t.rate is not None else None,
        "threshold": float(row["threshold"]),
        "state": row["state"],
        "created_at": row["created_at"].isoformat(),
        "done_at": row["done_at"].isoformat() if row["done_at"] else None,
        "done_by": row["done_by"],
    }


def reminder_list(
    conn: Connection, ops: Any, actor: Actor, args: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    """Talk reminders (open first) and accountability records; a head sees its own
    department's, a supervisor any or all."""
    dept = args.get("department", actor.department)
    if dept is not None and (not isinstance(dept, str) or ops.config.department(dept) is None):
        raise NotFound(f"unknown department {dept!r}", code="unknown_department")
    authorize(actor, "reminder.list", Target(department=dept))
    state = args.get("state", "open")
    if state not in ("open", "done", "all"):
        raise Refused("state is open, done or all", code="bad_request")
    limit = args.get("limit", 100)
    if not isinstance(limit, int) or not 1 <= limit <= LIST_MAX:
        raise Refused(f"limit is 1 to {LIST_MAX}", code="bad_request")
    q = select(s.talk_reminders).order_by(_r.state.desc(), _r.period_end.desc(), _r.id.desc())
    qa = select(s.accountability_records).order_by(_a.id.desc()).limit(limit)
    if dept is not None:
        q, qa = q.where(_r.department == dept), qa.where(_a.department == dept)
    if state != "all":
        q = q.where(_r.state == state)
    rows = conn.execute(q.limit(limit)).mappings().all()
    records = conn.execute(qa).mappings().all()
    out = {
        "department": dept,
        "state": state,
        "reminders": [view(r) for r in rows],
        "accountability": [
            {
                "id": r["id"],
                "reminder": r["reminder_id"],
                "subject_kind": r["subject_kind"],
                "subject": r["subject"],
                "department": r["department"],
                "reminders": r["reminders"],
                "from": r["window_start"].isoformat(),
                "to": r["window_end"].isoformat(),
                "created_at": r["created_at"].isoformat(),
            }
            for r in records
        ],
    }
    if actor.role == "head":  # the note is the head's own record of the talk
        notes = {r["id"]: r["note"] for r in rows}
        for v in out["reminders"]:
            v["note"] = notes.get(v["id"])
    return out


def reminder_done(
    conn: Connection, ops: Any, actor: Actor, args: dict[str, Any], now: dt.datetime
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The head held the talk: sign the reminder off, with what was said and agreed."""
    rid = args.get("id")
    if not isinstance(rid, int) or isinstance(rid, bool):
        raise Refused("id must be a reminder's number", code="bad_request")
    note = args.get("note")
    if not isinstance(note, str) or not note.strip() or len(note) > NOTE_MAX:
        raise Refused(
            f"record what the talk was about (up to {NOTE_MAX} characters)", code="bad_request"
        )
    row = (
        conn.execute(select(s.talk_reminders).where(_r.id == rid).with_for_update())
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no talk reminder {rid}", code="unknown_reminder")
    authorize(actor, "reminder.done", Target(department=row["department"]))
    if row["state"] != "open":
        raise Refused(
            f"this reminder was signed off by {row['done_by']} already", code="already_done"
        )
    conn.execute(
        update(s.talk_reminders)
        .where(_r.id == rid, _r.state == "open")
        .values(state="done", done_at=now, done_by=actor.name, note=note.strip())
    )
    ops._audit(conn, now, actor, "reminder.done", detail={"reminder": rid})
    done = view({**dict(row), "state": "done", "done_at": now, "done_by": actor.name})
    return done, [("reminder.done", done)]
