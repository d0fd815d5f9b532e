"""Statements built once: the hot paths (issue, call, finish) run them thousands of times.

Building a SQLAlchemy expression costs more than running it on SQLite, so the statements
every operation needs are made here at import, with bind parameters, and reused; the
compiled form is then cached by SQLAlchemy too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from . import schema as s

t, w = s.tickets.c, s.windows.c

WINDOW_LOCK = select(s.windows).where(w.number == bindparam("n")).with_for_update()
WINDOW_SET = update(s.windows).where(w.number == bindparam("_n")).returning(*s.windows.c)
TICKET = select(s.tickets).where(t.id == bindparam("id"))
TICKET_LOCK = TICKET.with_for_update()
TICKET_SET = update(s.tickets).where(t.id == bindparam("_id")).returning(*s.tickets.c)
TICKET_INSERT = insert(s.tickets).returning(*s.tickets.c)
CASE_INSERT = insert(s.cases).returning(s.cases.c.id)
CASE_SET = update(s.cases).where(s.cases.c.id == bindparam("_id"))
AUDIT_INSERT = insert(s.audit)
EVENT_INSERT = insert(s.events).returning(s.events.c.seq)
WAITING_STATS = select(func.count(), func.min(t.sort_at)).where(
    t.day == bindparam("day"), t.queue == bindparam("queue"), t.status == "waiting"
)
SERVICE_ISSUED = (
    select(func.count())
    .select_from(s.tickets)
    .where(t.day == bindparam("day"), t.service_id == bindparam("service"))
)
IDEMPOTENCY_GET = select(s.idempotency.c.op, s.idempotency.c.reply).where(
    s.idempotency.c.actor == bindparam("actor"), s.idempotency.c.key == bindparam("key")
)
IDEMPOTENCY_PUT = insert(s.idempotency)
# PostgreSQL: a transaction-level lock on (actor, key), taken before the operation, so a
# copy of the request on another server process waits for the first copy's commit.
IDEMPOTENCY_CLAIM = text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))")


def _counter_upsert(dialect: Any) -> Any:
    stmt = dialect.insert(s.counters).values(day=bindparam("day"), queue=bindparam("queue"), last=1)
    return stmt.on_conflict_do_update(
        index_elements=[s.counters.c.day, s.counters.c.queue],
        set_={"last": s.counters.c.last + 1},
    ).returning(s.counters.c.last)


_COUNTER = {"sqlite": _counter_upsert(sqlite), "postgresql": _counter_upsert(postgresql)}


def next_number(conn: Connection, day: Any, queue: str) -> int:
    """Take the queue's next number for the day in one statement.

    The upsert holds the counter row's lock until commit, so two servers on one
    PostgreSQL never hand out the same number.
    """
    return conn.execute(_COUNTER[conn.dialect.name], {"day": day, "queue": queue}).scalar_one()
