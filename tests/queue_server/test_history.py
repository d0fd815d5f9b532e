"""Flat cost as history grows: every query of the sweeps and the snapshot uses an index.

A year of a 40-window hall is ~500,000 cases. A query that reads every case runs once a
second in the overdue sweep, so it must not exist. The queries are not listed here by
hand: they are captured as each operation runs on a real database and then EXPLAINed
there, so a new query added to the snapshot later is checked too.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection

from queue_server.store import reports
from queue_server.store.ops import Actor

from .harness import ADMIN, GATEWAY, KIOSK, Store

HISTORY_TABLES = ("cases", "tickets", "events", "idempotency", "audit", "rectifications")
PARTIAL_INDEXES = {"ix_cases_open"}
"""Indexes that hold only live rows: scanning one is scanning today's few, not history."""


def _captured(store: Store, run: Any) -> list[tuple[str, Any]]:
    """The statements (with their parameters) that ``run`` sends to the database."""
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if re.match(r"\s*(SELECT|UPDATE|DELETE)", statement, re.I):
            seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", grab)
    try:
        with store.engine.begin() as conn:
            run(conn, store.clock())
    finally:
        event.remove(store.engine, "before_cursor_execute", grab)
    return [(q, p) for q, p in seen if any(t in q for t in HISTORY_TABLES)]


def _full_scans(conn: Connection, statement: str, params: Any) -> list[str]:
    """The history tables this statement reads in full (empty when all use an index)."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        bad = []
        for row in rows:
            m = re.match(r"SCAN (?:TABLE )?(\w+)(?: USING (?:COVERING )?INDEX (\w+))?", row[-1])
            if m and m.group(1) in HISTORY_TABLES and m.group(2) not in PARTIAL_INDEXES:
                bad.append(row[-1])
        return bad
    # PostgreSQL plans a sequential scan of any small table; forbid it to see what the
    # planner does when the table is large (it still scans if there is no usable index).
    # Likewise a merge or hash join of two small tables reads one of them whole (a full
    # walk of its primary key); over a large history table only a nested loop of index
    # lookups is acceptable, so joins must be answerable that way.
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    conn.exec_driver_sql("SET LOCAL enable_mergejoin = off")
    conn.exec_driver_sql("SET LOCAL enable_hashjoin = off")
    (plan,) = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).one()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    bad = []

    def walk(node: dict[str, Any]) -> None:
        rel = node.get("Relation Name")
        if rel in HISTORY_TABLES:
            kind = node["Node Type"]
            unbounded = kind == "Seq Scan" or (
                kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
                and "Index Cond" not in node
                and node.get("Index Name") not in PARTIAL_INDEXES
            )
            if unbounded:
                bad.append(f"{kind} on {rel} {node.get('Index Name', '')}")
        if node.get("Node Type") == "Bitmap Index Scan" and "Index Cond" not in node:
            if node.get("Index Name") not in PARTIAL_INDEXES:
                bad.append(f"Bitmap Index Scan {node.get('Index Name')}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return bad


def _hall_with_history(config: Any, db_url: str) -> Store:
    """A hall with a finished case awaiting its rating, a rated one and an open case."""
    store = Store(config, db_url)
    for _ in range(4):
        store.issue()
    store.open(1)
    store.call_next(1)
    store.finish(1)
    store.run(store.ops.rate, GATEWAY, {"window": 1, "level": 5})
    store.call_next(1)
    store.finish(1)
    store.call_next(1)  # open, and overdue once the clock moves on
    store.clock.advance(hours=2)
    return store


def _assert_indexed(store: Store, name: str, run: Any) -> list[str]:
    statements = _captured(store, run)
    assert statements, f"{name} ran no query on the history tables"
    problems = []
    for statement, params in statements:
        with store.engine.begin() as conn:
            for scan in _full_scans(conn, statement, params):
                problems.append(f"{name}: {scan}\n    {' '.join(statement.split())[:300]}")
    return problems


def test_sweeps_snapshot_and_reports_read_no_table_in_full(config, db_url):
    store = _hall_with_history(config, db_url)
    ops = store.ops
    clerk = Actor("clerk-1", "clerk", 1)
    waiting = store.issue()
    store.issue()
    store.open(2, "c2")
    try:
        checks = {
            "sweep check": ops.sweep_due,
            "overdue sweep": ops.flag_overdue,
            "rating expiry": ops.expire_ratings,
            "snapshot": ops.snapshot,
            "prune": ops.prune,
            "clerk.today": lambda c, n: reports.clerk_today(c, ops, clerk, {}, n),
            "ledger.list": lambda c, n: ops.ledger.list(c, ADMIN, {}, n),
            "ledger sweep": ops.ledger.lights_due,
            "window.waiting": lambda c, n: reports.window_waiting(c, ops, clerk, {}, n),
            "ticket.status": lambda c, n: ops.ticket_status(c, waiting["token"], n),
            "ticket.issue": lambda c, n: ops.issue(c, KIOSK, {"service": "general"}, n),
            "call.next": lambda c, n: ops.call_next(c, GATEWAY, {"window": 2}, n),
        }
        problems = [p for name, run in checks.items() for p in _assert_indexed(store, name, run)]
        assert not problems, "\n".join(problems)
    finally:
        store.close()


def test_the_check_sees_a_full_scan(config, db_url):
    """The EXPLAIN reading above can fail: a query on an unindexed column is caught."""
    store = _hall_with_history(config, db_url)
    try:
        from sqlalchemy import select

        from queue_server.store import schema as s

        problems = _assert_indexed(
            store,
            "unindexed",
            lambda c, n: c.execute(select(s.cases.c.id).where(s.cases.c.rating == 5)).all(),
        )
        assert problems and "cases" in problems[0]
    finally:
        store.close()


def test_snapshot_ratings_are_bounded_by_the_day(config, sqlite_url):
    """Today's ratings are found by their time, not by reading every rated case ever."""
    store = _hall_with_history(config, sqlite_url)
    try:
        statements = _captured(store, store.ops.snapshot)
        ratings = [q for q, _ in statements if "rated_at" in q]
        assert ratings
        with store.engine.begin() as conn:
            plan = " ".join(
                r[-1]
                for r in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + ratings[0], _p(statements, ratings[0])
                ).all()
            )
        assert re.search(r"rated_at>", plan), plan
    finally:
        store.close()


def _p(statements: list[tuple[str, Any]], query: str) -> Any:
    return next(p for q, p in statements if q == query)


def test_reads_do_not_wait_for_the_writer(config, db_url):
    """A snapshot, a waiting list and a phone page's status are answered while the
    database thread is stuck in a long write (on main they queued behind it)."""
    import asyncio
    import threading

    from .harness import Clock, connected, running_hall

    async def main() -> None:
        async with running_hall(config, db_url, Clock()) as hall:
            async with (
                connected(hall.port, "kiosk-1-secret") as kiosk,
                connected(hall.port, "clerk-1-secret") as clerk,
                connected(hall.port, "display-1-secret") as display,
            ):
                ticket = await kiosk.request("ticket.issue", {"service": "general"})
                release = threading.Event()

                def long_write(conn: Connection, now: Any) -> tuple[None, list[Any]]:
                    from queue_server.store import schema as s

                    conn.execute(s.windows.update().values(pause_reason=None))  # write lock
                    release.wait(30)
                    return None, []

                assert hall.committer is not None
                stuck = asyncio.ensure_future(hall.committer.submit(long_write))
                try:
                    snap = await display.request("snapshot", timeout=5)
                    assert snap["queues"][0]["waiting"] == 1
                    waiting = await clerk.request("window.waiting", timeout=5)
                    assert [t["label"] for t in waiting["waiting"]] == [ticket["label"]]
                    status = await kiosk.request(
                        "ticket.status", {"token": ticket["token"]}, timeout=5
                    )
                    assert status["status"] == "waiting"
                    assert not stuck.done()  # the writer really was busy all along
                finally:
                    release.set()
                    await stuck

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_read_refused_on_a_read_connection_still_leaves_its_audit_row(config, db_url):
    """Reads run on read-only connections; what their refusals keep is still written."""
    import asyncio

    from sqlalchemy import select

    from queue_server.client import RequestError
    from queue_server.store import db
    from queue_server.store import schema as s

    from .harness import Clock, connected, running_hall

    def audit_rows() -> list[tuple[str, str]]:
        engine = db.open_engine(db_url)
        try:
            with engine.connect() as conn:
                return [
                    (r.op, r.detail or "")
                    for r in conn.execute(select(s.audit).order_by(s.audit.c.id))
                ]
        finally:
            engine.dispose()

    async def main() -> None:
        async with running_hall(config, db_url, Clock()) as hall:
            async with connected(hall.port, "kiosk-1-secret") as kiosk:
                before = len(audit_rows())
                try:
                    await kiosk.request("ticket.status", {"token": "no-such-token"})
                except RequestError as exc:
                    assert exc.code == "unknown_ticket"
                else:
                    raise AssertionError("an unknown token was answered")
                after = audit_rows()
                assert len(after) == before + 1, after[before:]
                assert after[-1][0] == "ticket.status"

    asyncio.run(asyncio.wait_for(main(), 60))
