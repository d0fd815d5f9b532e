"""The alert outbox: rows written in the same transaction as the events that cause them.

So an alert is never lost between "the event happened" and "the alert was sent": if the
server dies after the commit, the row is there when it comes back. The sender claims due
rows for a while (a lease), so a second server process does not send the same alert at
the same moment, and a claim that outlives a killed process simply runs out.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from ..core import alerts as rules
from ..core.hall import HallConfig
from ..store import schema as s

LEASE = dt.timedelta(seconds=60)
_n = s.notifications.c


def enqueue(conn: Connection, now: dt.datetime, config: HallConfig, published: Any) -> int:
    """Queue the alerts the hall's rules ask for, for these committed events."""
    rows = []
    settings = config.notify
    for seq, _at, kind, data in published:
        roles = rules.department_recipients(config, data)
        for a in rules.route(seq, kind, data, settings, roles):
            payload = {
                "key": a.key,
                "kind": a.kind,
                "subject": a.subject,
                "text": a.text,
                "data": a.data,
                "at": now.isoformat(),
            }
            rows.append(
                {
                    "key": a.key,
                    "kind": a.kind,
                    "channel": a.channel,
                    "target": a.target,
                    "payload": json.dumps(payload, ensure_ascii=False),
                    "state": "queued",
                    "tries": 0,
                    "next_at": now,
                    "created_at": now,
                }
            )
    if rows:
        conn.execute(insert(s.notifications), rows)
    return len(rows)


def claim(conn: Connection, now: dt.datetime, limit: int = 20) -> list[dict[str, Any]]:
    """Due alerts, leased to this sender until ``now + LEASE``."""
    due = (
        conn.execute(
            select(s.notifications)
            .where(
                or_(
                    and_(_n.state.in_(("queued", "failed")), _n.next_at <= now),
                    and_(_n.state == "sending", _n.next_at <= now),  # a lease that ran out
                )
            )
            .order_by(_n.next_at, _n.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        .mappings()
        .all()
    )
    if due:
        conn.execute(
            update(s.notifications)
            .where(_n.id.in_([r["id"] for r in due]))
            .values(state="sending", next_at=now + LEASE)
        )
    return [dict(r) for r in due]


def sent(conn: Connection, now: dt.datetime, nid: int) -> None:
    conn.execute(
        update(s.notifications)
        .where(_n.id == nid)
        .values(state="sent", sent_at=now, tries=_n.tries + 1, last_error=None)
    )


def failed(
    conn: Connection, now: dt.datetime, nid: int, error: str, retry: bool, max_tries: int
) -> str:
    """Record a failed try: retried later with backoff, or dead after the last."""
    tries = conn.execute(select(_n.tries).where(_n.id == nid)).scalar_one() + 1
    dead = not retry or tries >= max_tries
    state = "dead" if dead else "failed"
    conn.execute(
        update(s.notifications)
        .where(_n.id == nid)
        .values(
            state=state,
            tries=tries,
            last_error=error[:500],
            next_at=now + backoff(tries),
        )
    )
    return state


def backoff(tries: int) -> dt.timedelta:
    """5 s, 10 s, 20 s ... at most an hour between tries."""
    return dt.timedelta(seconds=min(5 * 2 ** (tries - 1), 3600))


def recent(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = (
        conn.execute(select(s.notifications).order_by(_n.id.desc()).limit(limit)).mappings().all()
    )
    return [
        {
            "id": r["id"],
            "kind": r["kind"],
            "channel": r["channel"],
            "to": rules.mask(r["channel"], r["target"]),
            "subject": json.loads(r["payload"]).get("subject"),
            "state": r["state"],
            "tries": r["tries"],
            "error": r["last_error"],
            "created_at": r["created_at"].isoformat(),
            "sent_at": r["sent_at"].isoformat() if r["sent_at"] else None,
        }
        for r in rows
    ]
