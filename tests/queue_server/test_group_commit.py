"""Group commit on both databases, and what PostgreSQL's writer adds (issue 14, session 6).

The Committer runs the operations that queued while it was busy in one transaction.
These tests make such a group on purpose: a first operation holds the database thread
until the group's operations are queued behind it (:meth:`db.Committer.enqueue`).

On PostgreSQL several server processes write one hall. Every write transaction takes the
hall's writer lock first, so groups of two processes never deadlock whatever order their
operations lock rows in; a lock conflict with anything else reruns the whole group; the
pool does not ping a connection before use, so one found dead before its COMMIT was sent
is replaced and the group run again, but never one whose COMMIT was sent (it may have
committed). Two Committers on two engines of one hall stand for two server processes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from queue_server.core.errors import Refused
from queue_server.store import db
from queue_server.store import schema as s
from queue_server.store.scratch import libpq_url
from queue_server.store.statements import AUDIT_INSERT

from .harness import Clock

Reply = tuple[Any, list[tuple[str, dict[str, Any]]]]
LOCK_WINDOW = text("SELECT number FROM windows WHERE number = :n FOR UPDATE")
ADVISORY_WAITER = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
)
"""Whether a transaction of this database waits for an advisory lock (the hall's writer
lock: only the Committer takes one while serving)."""


def _audit(conn: Any, now: Any, op: str) -> None:
    conn.execute(AUDIT_INSERT, {"at": now, "actor": "t", "role": "admin", "op": op})


def _ops(engine: Any) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(s.audit.c.op).order_by(s.audit.c.id)).scalars())


def _writer(config: Any, url: str) -> tuple[Any, db.Committer]:
    engine = db.open_engine(url)
    db.upgrade(engine)
    db.ensure_windows(engine, config)
    return engine, db.Committer(engine, Clock())


@pytest.fixture
def writer(config: Any, db_url: str) -> Iterator[tuple[Any, db.Committer]]:
    engine, committer = _writer(config, db_url)
    yield engine, committer
    committer.close()
    engine.dispose()


@pytest.fixture
def pg_writer(config: Any, pg_url: str) -> Iterator[tuple[Any, db.Committer]]:
    engine, committer = _writer(config, pg_url)
    yield engine, committer
    committer.close()
    engine.dispose()


class Hold:
    """An operation that keeps its Committer's thread busy until released, so what is
    queued meanwhile becomes one group."""

    def __init__(self, committer: db.Committer, waits: Callable[[], bool] | None = None):
        self.running = threading.Event()
        self.release = threading.Event()
        self.future = committer.enqueue(self._work)
        # Busy: running it, or (PostgreSQL) waiting for the hall's writer lock first.
        for _ in range(100_000):
            if self.running.wait(0.001) or (waits is not None and waits()):
                return
        raise AssertionError("the Committer never took the holding operation")

    def _work(self, conn: Any, now: Any) -> Reply:
        self.running.set()
        assert self.release.wait(30)
        return None, []

    def done(self) -> None:
        self.release.set()
        self.future.result(30)


def in_one_group(committer: db.Committer, works: list[Any]) -> list[Future[Any]]:
    hold = Hold(committer)
    futures = [committer.enqueue(w) for w in works]
    groups = committer.groups
    hold.done()
    for f in futures:
        f.exception(30)
    assert committer.groups == groups + 2  # the holder's group, then these together
    return futures


def test_a_refusal_in_a_group_undoes_only_its_own_operation(writer):
    engine, committer = writer
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: sent.append(sql))

    def count(prefix: str) -> int:
        return sum(1 for sql in sent if sql.startswith(prefix))

    def fine(op: str) -> Any:
        def work(conn: Any, now: Any) -> Reply:
            _audit(conn, now, op)
            return op, [(f"test.{op}", {})]

        return work

    def refused(conn: Any, now: Any) -> Reply:
        _audit(conn, now, "undone")
        exc = Refused("no")
        exc.kept.append(lambda c: _audit(c, now, "kept"))
        raise exc

    def broken(conn: Any, now: Any) -> Reply:
        _audit(conn, now, "undone too")
        conn.execute(text("INSERT INTO audit (at) VALUES (NULL)"))  # refused by the database
        return None, [("test.never", {})]

    first, no, bad, last = in_one_group(committer, [fine("first"), refused, broken, fine("last")])
    assert first.result()[0] == "first" and last.result()[0] == "last"
    assert isinstance(no.exception(), Refused)
    assert isinstance(bad.exception(), IntegrityError)
    assert _ops(engine) == ["first", "kept", "last"]
    # the events of the group, in its order, numbered in that order
    seqs = [first.result()[1][0][0], last.result()[1][0][0]]
    assert seqs[0] < seqs[1]
    with engine.connect() as conn:
        assert list(conn.execute(select(s.events.c.type).order_by(s.events.c.seq)).scalars()) == [
            "test.first",
            "test.last",
        ]
    postgres = engine.dialect.name == "postgresql"
    # the group's events in one INSERT on PostgreSQL (one round trip), one each on SQLite
    assert count("INSERT INTO events") == (1 if postgres else 2)
    # a savepoint per operation of the group (the refusal's kept records one more; on
    # SQLite one for the holding operation alone too); on PostgreSQL never released (the
    # commit ends them: a round trip per operation saved)
    assert count("SAVEPOINT") == (0 if postgres else 1) + 5
    assert count("RELEASE") == (1 if postgres else 4)  # PostgreSQL: the kept records
    # alone on PostgreSQL: no savepoint (its transaction is its savepoint)
    sent.clear()
    committer.call(fine("alone"))
    assert count("SAVEPOINT") == (0 if postgres else 1)


def test_two_writers_of_one_hall_never_deadlock_locking_rows_in_opposite_orders(config, pg_url):
    """Writer A's group locks window 1 then 2, writer B's window 2 then 1, each first
    operation waiting until the other writer has taken its first window or waits for
    the hall's lock. Without the lock taken first both would hold one window and wait
    for the other: a deadlock PostgreSQL breaks only after deadlock_timeout, and a rerun."""
    (ea, a), (eb, b) = _writer(config, pg_url), _writer(config, pg_url)
    holds = {"a": threading.Event(), "b": threading.Event()}

    def take(me: str, other: str, first: int, second: int) -> list[Any]:
        def op1(conn: Any, now: Any) -> Reply:
            conn.execute(LOCK_WINDOW, {"n": first})
            holds[me].set()
            for _ in range(100_000):
                if holds[other].is_set() or conn.execute(ADVISORY_WAITER).scalar():
                    break
            else:
                raise AssertionError("the other writer neither ran nor waited")
            _audit(conn, now, f"{me}1")
            return None, [("test.op", {})]

        def op2(conn: Any, now: Any) -> Reply:
            conn.execute(LOCK_WINDOW, {"n": second})
            _audit(conn, now, f"{me}2")
            return None, [("test.op", {})]

        return [op1, op2]

    try:
        with ea.connect() as probe:
            hold_a = Hold(a)
            hold_b = Hold(b, lambda: bool(probe.execute(ADVISORY_WAITER).scalar()))
            probe.rollback()
        fa = [a.enqueue(w) for w in take("a", "b", 1, 2)]
        fb = [b.enqueue(w) for w in take("b", "a", 2, 1)]
        hold_a.release.set()
        hold_b.release.set()
        results = [f.result(60) for f in fa + fb]
        assert a.reruns == 0 and b.reruns == 0  # no deadlock, nothing run twice
        ops = _ops(ea)
        assert sorted(ops) == ["a1", "a2", "b1", "b2"]
        # each group committed as a whole, one after the other: its events contiguous
        assert ops.index("a2") - ops.index("a1") == 1 and ops.index("b2") - ops.index("b1") == 1
        seqs = [r[1][0][0] for r in results]
        assert seqs[1] - seqs[0] == 1 and seqs[3] - seqs[2] == 1
    finally:
        for committer, engine in ((a, ea), (b, eb)):
            committer.close()
            engine.dispose()


def test_a_deadlock_in_a_group_reruns_the_whole_group_once_committed(pg_writer):
    """Another connection holds window 2 and waits for window 1, which the group's second
    operation holds while it waits for window 2: PostgreSQL fails the group (whose
    deadlock_timeout is the shorter), and the writer runs the whole group again."""
    engine, committer = pg_writer
    attempts: list[str] = []
    holds_1 = threading.Event()
    other = engine.connect()
    try:
        other.execute(text("SET deadlock_timeout = '60s'"))  # the group detects it
        other.commit()
        other.execute(LOCK_WINDOW, {"n": 2})
        other_pid = other.execute(text("SELECT pg_backend_pid()")).scalar()

        def first(conn: Any, now: Any) -> Reply:
            attempts.append("first")
            _audit(conn, now, "first")
            return "first", [("test.first", {})]

        def second(conn: Any, now: Any) -> Reply:
            attempts.append("second")
            _audit(conn, now, "second")
            conn.execute(text("SET LOCAL deadlock_timeout = '10ms'"))
            conn.execute(LOCK_WINDOW, {"n": 1})
            if attempts.count("second") == 1:
                holds_1.set()
                waits = text("SELECT cardinality(pg_blocking_pids(:p)) > 0")
                for _ in range(100_000):
                    if conn.execute(waits, {"p": other_pid}).scalar():
                        break
                else:
                    raise AssertionError("the other connection never waited")
            conn.execute(LOCK_WINDOW, {"n": 2})
            return "second", [("test.second", {})]

        hold = Hold(committer)
        futures = [committer.enqueue(first), committer.enqueue(second)]
        hold.release.set()
        assert holds_1.wait(30)
        other.execute(LOCK_WINDOW, {"n": 1})  # the cycle; returns once the group rolled back
        other.commit()
        assert [f.result(30)[0] for f in futures] == ["first", "second"]
        assert attempts == ["first", "second", "first", "second"]  # the whole group, twice
        assert committer.reruns == 1
        assert _ops(engine) == ["first", "second"]  # the first run left nothing behind
    finally:
        other.close()


def _terminate_backends(engine: Any) -> int:
    """Kill every other backend of this database (the pooled connections of the writer
    and the readers), and wait until they are gone."""
    url = libpq_url(engine.url.render_as_string(hide_password=False))
    with psycopg.connect(url, autocommit=True) as c:
        killed = c.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000))"
            " FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchone()
    assert killed is not None
    return int(killed[0])


def test_a_connection_killed_between_operations_is_replaced_and_nothing_is_doubled(
    pg_writer,
):
    engine, committer = pg_writer
    runs: list[str] = []

    def op(name: str) -> Any:
        def work(conn: Any, now: Any) -> Reply:
            runs.append(name)
            _audit(conn, now, name)
            return name, [("test.op", {})]

        return work

    assert committer.call(op("before"))[0] == "before"
    assert _terminate_backends(engine) >= 1  # the pooled connection the writer will reuse
    assert committer.call(op("after"))[0] == "after"
    assert committer.reruns == 1  # found dead at its first statement, run again
    assert runs == ["before", "after"]  # the operation itself ran once
    assert _ops(engine) == ["before", "after"]  # nothing lost, nothing doubled
    with engine.connect() as conn:
        assert conn.execute(select(s.events.c.seq).order_by(s.events.c.seq)).scalars().all() == [
            1,
            2,
        ]


def test_a_connection_killed_as_its_commit_is_sent_is_never_run_again(pg_writer):
    """The backend dies just as COMMIT is sent: the writer cannot know whether it
    committed, so it answers with the error (the client retries with its idempotency
    key and learns the outcome) and never runs the operation a second time."""
    engine, committer = pg_writer
    runs: list[int] = []
    killed: list[int] = []

    def kill_once(conn: Any) -> None:
        if not killed:
            killed.append(_terminate_backends(engine))

    def work(conn: Any, now: Any) -> Reply:
        runs.append(1)
        _audit(conn, now, "op")
        return "op", [("test.op", {})]

    event.listen(engine, "commit", kill_once)
    with pytest.raises(DBAPIError):
        committer.call(work)
    event.remove(engine, "commit", kill_once)
    assert killed == [1]
    assert runs == [1] and committer.reruns == 0
    assert _ops(engine) == []  # (here the COMMIT never arrived: nothing was committed)
    assert committer.call(work)[0] == "op"  # and the writer goes on


def test_two_writers_commit_events_in_sequence_order(config, pg_url):
    """Writer A has written its event (taking the next sequence number) and has not yet
    committed when writer B writes one: B must commit after A, or a process that had
    read "events after A's number" would never see A's. Without the hall's writer lock
    B would take the next number and commit first."""
    (ea, a), (eb, b) = _writer(config, pg_url), _writer(config, pg_url)
    a_written = threading.Event()
    b_committed = threading.Event()
    committed: list[str] = []

    def hold_a(conn: Any, now: Any, published: Any) -> None:
        a_written.set()
        for _ in range(100_000):  # until B waits for the lock (or, without it, committed)
            if b_committed.is_set() or conn.execute(ADVISORY_WAITER).scalar():
                return
        raise AssertionError("writer B neither waited nor committed")

    def event_of(name: str) -> Any:
        return lambda conn, now: (name, [(f"test.{name}", {})])

    a.on_events = hold_a
    try:
        fa = a.enqueue(event_of("a"))
        fa.add_done_callback(lambda _f: committed.append("a"))
        assert a_written.wait(30)
        fb = b.enqueue(event_of("b"))
        fb.add_done_callback(lambda _f: (committed.append("b"), b_committed.set()))
        seq = {name: f.result(30)[1][0][0] for name, f in (("a", fa), ("b", fb))}
        assert seq["a"] < seq["b"]
        assert committed == ["a", "b"]  # commit order is sequence order
    finally:
        for committer, engine in ((a, ea), (b, eb)):
            committer.close()
            engine.dispose()


def test_a_read_whose_connection_was_killed_is_read_again(pg_writer):
    """The readers' pool does not ping either: a read that finds its connection dead is
    read again on a fresh one (a read changes nothing, so that is always safe)."""
    engine, committer = pg_writer
    committer.call(lambda conn, now: (_audit(conn, now, "op"), []))
    reader = db.Reader(engine.url.render_as_string(hide_password=False), Clock(), workers=1)
    try:

        async def read() -> list[str]:
            return await reader.read(
                lambda conn, _now: list(conn.execute(select(s.audit.c.op)).scalars())
            )

        assert asyncio.run(read()) == ["op"]
        assert _terminate_backends(engine) >= 1  # the reader's pooled connection among them
        assert asyncio.run(read()) == ["op"]
    finally:
        reader.close()
