"""Ratings and rectifications in the national field names: the export and the upload.

``ledger.export`` (and the upload) read the records from the database and write them
through the one mapping of ``core/ratings.py`` (levels to codes in the hall's order,
channels to channel codes, the field names). A phone number is never a field.

Reporting upward goes through the durable outbox of the alerts (``notifications``,
channel ``upload``): a record is queued in the same transaction as the event that made
it final (a rating recorded or not given in time, a ledger record closed or dismissed),
keyed by its record id, so it is queued once; the sender retries with backoff, gives up
into ``dead`` after ``[notify] max_tries``, and sends ``X-HallQ-Key: <record id>`` so
the receiver keeps each record once even when a killed server sends one again.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ..core import ratings, rules
from ..core.accountability import check_range
from ..core.casefile import local_day
from ..core.errors import Refused
from ..core.hall import HallConfig
from ..core.permissions import Actor, Target, authorize
from ..core.rectify import FINAL
from . import schema as s

UPLOAD = "upload"
_c, _t, _r = s.cases.c, s.tickets.c, s.rectifications.c


def case_number(day: dt.date, label: str, case_id: int, casefile: str | None) -> str:
    """办件编号: a promised case's own number, else the day, the ticket and the case."""
    return casefile or f"{day:%Y%m%d}-{label}-{case_id}"


def _rating_rows(conn: Connection, where: Any) -> list[Any]:
    q = (
        select(
            _c.id,
            _c.window,
            _c.clerk,
            _c.service_id,
            _c.rating,
            _c.rating_state,
            _c.rating_source,
            _c.rated_at,
            _c.ended_at,
            _c.rating_text,
            _c.rating_reasons,
            _c.rating_department,
            _t.prefix,
            _t.number,
            _t.day,
            s.casefiles.c.number.label("casefile"),
            s.casefiles.c.opened_on,
        )
        .select_from(
            s.cases.join(s.tickets, _t.id == _c.ticket_id).outerjoin(
                s.casefiles, s.casefiles.c.ticket_id == _c.ticket_id
            )
        )
        .where(where)
        .order_by(_c.id)
    )
    return list(conn.execute(q))


def _rated(config: HallConfig, r: Any) -> ratings.RatedCase:
    service = config.service(r.service_id)
    rated = r.rating_state == "rated"
    return ratings.RatedCase(
        case_id=r.id,
        case_number=case_number(r.day, rules.ticket_label(r.prefix, r.number), r.id, r.casefile),
        channel=(r.rating_source or "device") if rated else "system",
        rated_at=r.rated_at if rated else r.ended_at,
        level=r.rating if rated else None,
        reasons=tuple(x for x in (r.rating_reasons or "").split(";") if x),
        text=r.rating_text,
        department=r.rating_department or (service.department if service else None),
        service=r.service_id,
        clerk=r.clerk,
        window=r.window,
        promised=r.casefile is not None or (service is not None and service.kind == "promised"),
        accepted_on=r.opened_on or r.day,
    )


def rating_records(config: HallConfig, conn: Connection, where: Any) -> list[dict[str, str]]:
    return [
        ratings.rating_record(_rated(config, r), config.ratings, config.tz)
        for r in _rating_rows(conn, where)
    ]


def rectification_records(config: HallConfig, conn: Connection, where: Any) -> list[dict[str, str]]:
    q = (
        select(s.rectifications, _t.prefix, _t.number, _t.day, s.casefiles.c.number.label("cf"))
        .select_from(
            s.rectifications.join(s.tickets, _t.id == _r.ticket_id).outerjoin(
                s.casefiles, s.casefiles.c.ticket_id == _r.ticket_id
            )
        )
        .where(where)
        .order_by(_r.id)
    )
    out = []
    settings, tz = config.ratings, config.tz
    for r in conn.execute(q).mappings():
        due = r["callback_due"]
        late_at = r["closed_at"] and local_day(r["closed_at"], tz)
        values = {
            "record_id": f"Z{r['id']}",
            "case_number": case_number(
                r["day"], rules.ticket_label(r["prefix"], r["number"]), r["case_id"], r["cf"]
            ),
            "region_code": settings.region_code,
            "department": r["department"] or "",
            "satisfaction_code": ratings.level_code(r["level"], settings.code_order),
            "opened_at": ratings.national_time(r["opened_at"], tz),
            "finding": r["finding"] or "",
            "appeal": r["appeal"] or "",
            "contact": r["contact"] or "",
            "contacted_at": ratings.national_time(r["contacted_at"], tz),
            "rectified_at": ratings.national_time(r["rectified_at"], tz),
            "callback": r["callback"] or "",
            "callback_at": ratings.national_time(r["callback_at"], tz),
            "fix_satisfaction_code": (
                ratings.level_code(r["fix_level"], settings.code_order)
                if r["fix_level"] is not None
                else ""
            ),
            "state": r["state"],
            "closed_at": ratings.national_time(r["closed_at"], tz),
            "overdue": "1"
            if r["light"] == "red" or (late_at and due is not None and late_at > due)
            else "0",
        }
        out.append(ratings.national_row(values, ratings.RECTIFICATION_FIELDS))
    return out


def _day(value: Any, default: dt.date, what: str) -> dt.date:
    if value is None:
        return default
    try:
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise Refused(f"{what} must be a date like 2026-11-01", code="bad_request")


def export(
    conn: Connection, ops: Any, actor: Actor, args: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    """``ledger.export``: a period's ratings or rectifications, JSON records or CSV text."""
    authorize(actor, "ledger.export", Target())
    config: HallConfig = ops.config
    kind, fmt = args.get("kind"), args.get("format", "json")
    if kind not in ("ratings", "rectifications"):
        raise Refused("kind is ratings or rectifications", code="bad_request")
    if fmt not in ("json", "csv"):
        raise Refused("format is json or csv", code="bad_request")
    today = local_day(now, config.tz)
    start = _day(args.get("from"), today, "from")
    end = _day(args.get("to"), today, "to")
    check_range(start, end)  # the reports' one rule: reversed or over a year is refused
    lo = dt.datetime.combine(start, dt.time(), config.tz)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), config.tz)
    if kind == "ratings":
        where = or_(
            and_(_c.rating_state == "rated", _c.rated_at >= lo, _c.rated_at < hi),
            and_(_c.rating_state == "not_rated", _c.ended_at >= lo, _c.ended_at < hi),
        )
        records, fields = rating_records(config, conn, where), ratings.RATING_FIELDS
    else:
        where = and_(_r.opened_on >= start, _r.opened_on <= end)
        records, fields = rectification_records(config, conn, where), ratings.RECTIFICATION_FIELDS
    reply: dict[str, Any] = {
        "kind": kind,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "code_order": config.ratings.code_order,
        "count": len(records),
    }
    if fmt == "csv":
        reply["csv"] = to_csv(records, fields)
    else:
        reply["records"] = records
    return reply


def to_csv(records: list[dict[str, str]], fields: tuple[tuple[str, str], ...]) -> str:
    """CSV with the national names as the header (UTF-8 with BOM opens right in Excel/WPS)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([name for _k, name in fields])
    for rec in records:
        w.writerow([rec.get(name, "") for _k, name in fields])
    return "\ufeff" + buf.getvalue()


# -- upload ----------------------------------------------------------------------------


def enqueue(conn: Connection, now: dt.datetime, config: HallConfig, published: Any) -> int:
    """Queue the records these committed events made final, once per record id."""
    url = config.ratings.upload_url
    if url is None:
        return 0
    cases: list[int] = []
    records: list[int] = []
    for _seq, _at, kind, data in published:
        if kind in ("rating.recorded", "rating.not_rated"):
            cases.append(int(data["case"]))
        elif kind == "ledger.changed" and data.get("state") in {st.value for st in FINAL}:
            records.append(int(data["id"]))
    found: list[tuple[str, dict[str, str]]] = []
    if cases:
        found += [("rating", rec) for rec in rating_records(config, conn, _c.id.in_(cases))]
    if records:
        found += [
            ("rectification", rec)
            for rec in rectification_records(config, conn, _r.id.in_(records))
        ]
    if not found:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for kind, rec in found:
        rid = rec["记录编号"]
        payload = {"key": rid, "kind": kind, "record": rec, "at": now.isoformat()}
        conn.execute(
            dialect.insert(s.notifications)
            .values(
                key=f"{UPLOAD}:{rid}",
                kind=kind,
                channel=UPLOAD,
                target=url,
                payload=json.dumps(payload, ensure_ascii=False),
                state="queued",
                tries=0,
                next_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
    return len(found)
