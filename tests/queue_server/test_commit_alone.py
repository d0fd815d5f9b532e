"""The writer's commit of one operation alone on PostgreSQL: a transaction without a SAVEPOINT.

On PostgreSQL an operation that reaches the writer alone (nothing queued with it; groups
are in test_group_commit.py) runs without the SAVEPOINT a group needs: the whole
transaction is what a refusal rolls back and what a lock conflict reruns. These tests
hold that to the promises the savepoint kept: a refusal undoes the operation's writes but
keeps what it asks to keep, events are written with their sequence numbers in order and
only for operations that succeed, and a deadlock with another connection reruns the
operation in a fresh transaction, committed once. They run on both databases where the
promise is the same, and the deadlock on PostgreSQL (SQLite has one writer per file).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from queue_server.core.errors import Refused
from queue_server.store import db
from queue_server.store import schema as s
from queue_server.store.statements import AUDIT_INSERT

from .harness import Clock


def _audit(conn: Any, now: Any, op: str) -> None:
    conn.execute(AUDIT_INSERT, {"at": now, "actor": "t", "role": "admin", "op": op})


def _ops(engine: Any) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(s.audit.c.op).order_by(s.audit.c.id)).scalars())


@pytest.fixture
def writer(config, db_url):
    engine = db.open_engine(db_url)
    db.upgrade(engine)
    db.ensure_windows(engine, config)
    committer = db.Committer(engine, Clock())
    yield engine, committer
    committer.close()
    engine.dispose()


def test_a_refusal_undoes_its_writes_but_keeps_what_it_keeps(writer):
    engine, committer = writer

    def refused(conn: Any, now: Any) -> tuple[Any, list[Any]]:
        _audit(conn, now, "undone")
        exc = Refused("no")
        exc.kept.append(lambda c: _audit(c, now, "kept"))
        raise exc

    def fine(conn: Any, now: Any) -> tuple[Any, list[Any]]:
        _audit(conn, now, "done")
        return "ok", [("test.one", {"n": 1}), ("test.two", {"n": 2}), ("test.three", {})]

    with pytest.raises(Refused):
        committer.call(refused)
    reply, published = committer.call(fine)
    assert reply == "ok"
    assert _ops(engine) == ["kept", "done"]
    # three events in one statement on PostgreSQL: their seqs in the operation's order
    assert [kind for _seq, _at, kind, _d in published] == ["test.one", "test.two", "test.three"]
    seqs = [seq for seq, *_ in published]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    with engine.connect() as conn:
        stored = conn.execute(select(s.events.c.seq, s.events.c.type).order_by(s.events.c.seq))
        assert [(seq, kind) for seq, kind in stored] == [(p[0], p[2]) for p in published]


def test_a_failed_operation_writes_nothing_and_the_writer_goes_on(writer):
    engine, committer = writer

    def broken(conn: Any, now: Any) -> tuple[Any, list[Any]]:
        _audit(conn, now, "undone")
        conn.execute(text("INSERT INTO audit (at) VALUES (NULL)"))  # refused by the database
        return None, [("test.never", {})]

    with pytest.raises(IntegrityError):
        committer.call(broken)
    committer.call(lambda conn, now: (_audit(conn, now, "after"), []))
    assert _ops(engine) == ["after"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.events)).scalar() == 0


def test_a_deadlock_with_another_connection_reruns_the_operation_once_committed(config, pg_url):
    """Another connection holds window 2 and waits for window 1, which the operation
    holds while it waits for window 2: PostgreSQL fails one of them (this operation,
    whose deadlock_timeout is the shorter), and the writer reruns it alone."""
    engine = db.open_engine(pg_url)
    db.upgrade(engine)
    db.ensure_windows(engine, config)
    committer = db.Committer(engine, Clock())
    lock = "SELECT number FROM windows WHERE number = :n FOR UPDATE"
    attempts: list[int] = []
    holds_1 = threading.Event()
    other = engine.connect()
    try:
        other.execute(text("SET deadlock_timeout = '60s'"))  # the operation detects it
        other.commit()
        other.execute(text(lock), {"n": 2})
        other_pid = other.execute(text("SELECT pg_backend_pid()")).scalar()

        def op(conn: Any, now: Any) -> tuple[Any, list[Any]]:
            attempts.append(1)
            _audit(conn, now, "op")
            conn.execute(text("SET LOCAL deadlock_timeout = '10ms'"))
            conn.execute(text(lock), {"n": 1})
            if len(attempts) == 1:
                holds_1.set()
                # until the other connection waits for window 1 (held here)
                waits = text("SELECT cardinality(pg_blocking_pids(:p)) > 0")
                for _ in range(100_000):
                    if conn.execute(waits, {"p": other_pid}).scalar():
                        break
                else:
                    raise AssertionError("the other connection never waited")
            conn.execute(text(lock), {"n": 2})
            return "done", [("test.done", {})]

        result: list[Any] = []
        runner = threading.Thread(target=lambda: result.append(committer.call(op)))
        runner.start()
        assert holds_1.wait(30)
        other.execute(text(lock), {"n": 1})  # the cycle; returns once the op rolled back
        other.commit()
        runner.join(30)
        assert result and result[0][0] == "done"
        assert len(attempts) == 2
        assert _ops(engine) == ["op"]  # the first attempt's row rolled back with it
    finally:
        other.close()
        committer.close()
        engine.dispose()
