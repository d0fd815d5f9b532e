"""The SQL call order agrees with the rule, on SQLite and PostgreSQL.

``rules.call_key`` is the call order; ``store/callorder.py`` is its only SQL form, used
by call.next, the clerk's waiting list and people-ahead. Random halls (priorities,
appointments due and early, tickets sent to a queue or to one window, queue
preferences, equal times) are written to a real database and played through both: the
tickets call.next picks one after another, the waiting list's order, and each ticket's
people-ahead must all be what the rule says.
"""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, update

from queue_server.core import rules
from queue_server.store import db, reports
from queue_server.store import schema as s
from queue_server.store.ops import Actor, HallOps

from .harness import T0

NOW = T0 + dt.timedelta(minutes=30)
ADMIN = Actor("admin", "admin")

tickets = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),  # queue
        st.integers(0, 120),  # sort_at, seconds after T0 (ties are likely)
        st.sampled_from([None, None, None, "elderly", "disabled", rules.APPOINTMENT]),
        st.sampled_from([-20, -1, 0, 1, 15]),  # an appointment's slot, minutes from now
        st.sampled_from([None, None, None, None, 1, 2, 3]),  # sent to one window
    ),
    min_size=1,
    max_size=25,
)


def _write(conn, ops: HallOps, rows) -> list[rules.Candidate]:
    day = ops.day(NOW)
    conn.execute(delete(s.tickets))
    pool = []
    for i, (queue, at, priority, slot, target) in enumerate(rows, start=1):
        appointment_at = NOW + dt.timedelta(minutes=slot) if priority else None
        sort_at = T0 + dt.timedelta(seconds=at)
        conn.execute(
            insert(s.tickets).values(
                id=i,
                day=day,
                prefix=queue,
                number=i,
                queue=queue,
                service_id="general",
                status="waiting",
                priority=priority,
                appointment_at=appointment_at,
                language="zh",
                issued_at=sort_at,
                sort_at=sort_at,
                target_window=target,
                recalls=0,
                transfers=0,
                token=f"tok-{i}",
            )
        )
        pool.append(rules.Candidate(i, queue, sort_at, priority, appointment_at, target))
    return pool


def test_sql_call_order_is_the_rule(config, db_url):
    engine = db.open_engine(db_url)
    db.upgrade(engine)
    ops = HallOps(config)
    examples = itertools.count()

    @settings(
        max_examples=40 if db_url.startswith("sqlite") else 20,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(rows=tickets, window=st.sampled_from([1, 2, 3]))
    def check(rows, window):
        next(examples)
        wdef = config.window(window)
        with engine.begin() as conn:
            pool = _write(conn, ops, rows)
            eligible = sorted(
                (c for c in pool if rules.eligible(c, window, wdef.queues)),
                key=lambda c: rules.call_key(c, wdef.queues, NOW),
            )
            # The waiting list shows exactly the order call.next will follow.
            listed = reports.window_waiting(conn, ops, ADMIN, {"window": window}, NOW)
            assert [t["id"] for t in listed["waiting"]] == [c.id for c in eligible]
            # People ahead: the same queue's tickets the rule puts first.
            for c in pool:
                row = conn.execute(s.tickets.select().where(s.tickets.c.id == c.id)).mappings()
                got = ops.people_ahead(conn, row.one(), NOW)
                key = rules.call_key(c, (c.queue,), NOW)
                want = sum(
                    1
                    for o in pool
                    if o.queue == c.queue and rules.call_key(o, (o.queue,), NOW) < key
                )
                assert got == want, (c, got, want)
            # call.next, one ticket after another, against rules.select_next.
            # Both of its paths: the index seeks (every call) and the ordered statement
            # (a call whose first choice another server holds).
            stmt = ops._next_stmt(window, wdef.queues)
            picked, expected = [], []
            left = list(pool)
            while True:
                row = ops._pick_next(conn, window, wdef.queues, NOW)
                full = conn.execute(stmt, {"now": NOW, "day": ops.day(NOW)}).mappings().first()
                assert (row and row["id"]) == (full and full["id"])
                want = rules.select_next(left, window, wdef.queues, NOW)
                picked.append(row["id"] if row else None)
                expected.append(want.id if want else None)
                if row is None or want is None:
                    break
                conn.execute(
                    update(s.tickets).where(s.tickets.c.id == row["id"]).values(status="called")
                )
                left = [c for c in left if c.id != row["id"]]
            assert picked == expected

    try:
        check()
    finally:
        engine.dispose()
    assert next(examples) >= 20
