"""Issue and call read today's line only: tickets left waiting on earlier days are never
walked (issue 14; migration 0012).

A hall that closes with people still in line leaves their tickets "waiting" for ever. An
index on (status, queue, ...) finds all of them, every day's, on every issue and call;
the queries must reach the waiting tickets through an index that starts with the day.
The statements are captured as the operations run and EXPLAINed on the same database.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy.engine import Connection

from queue_server.store import reports
from queue_server.store.ops import Actor

from .harness import GATEWAY, KIOSK, Store
from .test_history import _captured


def _by_status_without_day(conn: Connection, statement: str, params: Any) -> list[str]:
    """Index look-ups of tickets by status that do not narrow by day first."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        return [
            r[-1]
            for r in rows
            if re.search(r"\btickets\b.*INDEX \w+ \(status=", r[-1])
            or re.search(r"\btickets\b.*INDEX \w+ \((?!day=)[^)]*status=", r[-1])
        ]
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    (plan,) = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).one()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    bad: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        cond = node.get("Index Cond", "")
        if node.get("Relation Name") == "tickets" and "status" in cond and "day" not in cond:
            bad.append(f"{node['Node Type']} {node.get('Index Name')}: {cond}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return bad


def test_issue_and_call_reach_the_waiting_by_the_day(config, db_url):
    store = Store(config, db_url)
    try:
        for _ in range(3):
            store.issue()
        store.clock.advance(days=1)  # yesterday's three are still "waiting"
        mine = store.issue()
        store.issue("marriage")
        store.open(1)
        clerk = Actor("clerk-1", "clerk", 1)
        ops = store.ops
        checks = {
            "ticket.issue": lambda c, n: ops.issue(c, KIOSK, {"service": "general"}, n),
            "call.next": lambda c, n: ops.call_next(c, GATEWAY, {"window": 1}, n),
            "window.waiting": lambda c, n: reports.window_waiting(c, ops, clerk, {}, n),
            "ticket.status": lambda c, n: ops.ticket_status(c, mine["token"], n),
            "unattended": ops.unattended,
        }
        problems = []
        for name, run in checks.items():
            for statement, params in _captured(store, run):
                with store.engine.begin() as conn:
                    for bad in _by_status_without_day(conn, statement, params):
                        problems.append(f"{name}: {bad}\n    {' '.join(statement.split())[:200]}")
        assert not problems, "\n".join(problems)
    finally:
        store.close()
