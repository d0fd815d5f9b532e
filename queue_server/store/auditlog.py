"""The audit log as supervisors read it: filtered by actor, ticket, case and period,
shown on /supervisor and exported as CSV (``audit.list``).

The log holds who did what to which window and ticket, and refusals with their code;
never PINs, tokens or a citizen's data (``HallOps._audit``), so it can be exported as is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..core import accountability as acc
from ..core import rules
from ..core.errors import Refused
from . import schema as s
from .accountability import bounds

LIMIT_MAX = 5000
_a, _t = s.audit.c, s.tickets.c


def _period(args: dict[str, Any], today: dt.date) -> acc.Period:
    if args.get("period") is not None:
        return acc.parse_period(args["period"])
    a, b = args.get("from"), args.get("to")
    if a is None and b is None:
        return acc.period_of("day", today)
    return acc.parse_period(f"{a or today.isoformat()}..{b or today.isoformat()}")


def entries(conn: Connection, ops: Any, args: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """``audit.list``: the newest entries first, within the period (today by default)."""
    today = rules.service_day(now, ops.config.tz)
    period = _period(args, today)
    limit = args.get("limit", 500)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= LIMIT_MAX:
        raise Refused(f"limit is 1 to {LIMIT_MAX}", code="bad_request")
    fmt = args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise Refused("format is json or csv", code="bad_request")
    start, end = bounds(period, ops.config.tz)
    q = (
        select(
            _a.id,
            _a.at,
            _a.actor,
            _a.role,
            _a.op,
            _a.window,
            _a.ticket_id,
            _a.detail,
            _t.prefix,
            _t.number,
            _t.day,
        )  # fmt: skip
        .select_from(s.audit.outerjoin(s.tickets, _t.id == _a.ticket_id))
        .where(_a.at >= start, _a.at < end)
        .order_by(_a.at.desc(), _a.id.desc())
        .limit(limit)
    )
    for key in ("actor", "op"):
        value = args.get(key)
        if value is not None:
            if not isinstance(value, str) or not value.strip() or len(value) > 64:
                raise Refused(f"{key} must be text of at most 64 characters", code="bad_request")
            q = (
                q.where(_a.actor == value.strip())
                if key == "actor"
                else q.where(_a.op.startswith(value.strip(), autoescape=True))
            )
    ticket = args.get("ticket")
    if ticket is not None:
        if isinstance(ticket, int) and not isinstance(ticket, bool):
            q = q.where(_a.ticket_id == ticket)
        else:
            try:
                prefix, number = rules.parse_label(str(ticket))
            except ValueError as exc:
                raise Refused(str(exc), code="bad_request") from None
            q = q.where(_t.prefix == prefix, _t.number == number)
    case_no = args.get("case")
    if case_no is not None:
        if not isinstance(case_no, str) or not case_no.strip() or len(case_no) > 50:
            raise Refused("case is a case number of at most 50 characters", code="bad_request")
        # Case-file operations record their case number in the detail (casefiles.py).
        needle = json.dumps({"number": case_no.strip()}, ensure_ascii=False)[1:-1]
        q = q.where(_a.detail.contains(needle, autoescape=True))
    rows = [
        {
            "id": r.id,
            "at": r.at.isoformat(),
            "actor": r.actor,
            "role": r.role,
            "op": r.op,
            "window": r.window,
            "ticket_id": r.ticket_id,
            "ticket": rules.ticket_label(r.prefix, r.number) if r.prefix else None,
            "ticket_day": r.day.isoformat() if r.day else None,
            "detail": json.loads(r.detail) if r.detail else None,
        }
        for r in conn.execute(q)
    ]
    out = {"period": period.label, "from": period.start.isoformat(), "to": period.end.isoformat()}
    if fmt == "json":
        return {**out, "entries": rows, "more": len(rows) == limit}
    import base64

    return {
        **out,
        "filename": f"hallq-audit-{period.label.replace('..', '_')}.csv",
        "content_type": "text/csv",
        "base64": base64.b64encode(to_csv(rows)).decode("ascii"),
    }


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["时间", "操作人", "角色", "操作", "窗口", "号码", "号码日期", "详情"])
    for r in rows:
        w.writerow(
            [
                r["at"], r["actor"], r["role"], r["op"], r["window"] or "", r["ticket"] or "",
                r["ticket_day"] or "",
                json.dumps(r["detail"], ensure_ascii=False) if r["detail"] else "",
            ]
        )  # fmt: skip
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
