"""The waiting lines a server keeps between events (store/lines.py, migration 0019) are
always what a fresh read of the database gives: after every kind of change, after a
rollback, with a second server writing to the same database, and when the change log
has moved on too far. On SQLite and PostgreSQL.

Each check compares the estimate's read of a group of queues (``_hall_now``, brief and
whole) with the read a reader thread makes straight from the tables, and the figures
the two give.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select

from queue_server.config import HallConfig, parse_config
from queue_server.core import estimate, rules
from queue_server.core.errors import HallError
from queue_server.core.states import WindowOp
from queue_server.store import db, lines
from queue_server.store import schema as s
from queue_server.store.ops import HallOps

from .harness import GATEWAY, KIOSK, SUPERVISOR, Clock, Store
from .test_estimate_causes import HALL, SHANGHAI

QUEUES = ("A", "B", "N")


@pytest.fixture(scope="module")
def hall() -> HallConfig:
    return parse_config(tomllib.loads(HALL))


@pytest.fixture
def store(hall: HallConfig, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    # A bound of 3 so that the brief read leaves most of each line out (counted).
    monkeypatch.setattr(estimate, "MAX_CALLS", 3)
    # Three recent cases per queue, so that a day of these tests ends many more than that
    # (the kept recent cases take each new one in front, checked below).
    hall = dataclasses.replace(hall, rules=dataclasses.replace(hall.rules, rolling_cases=3))
    st = Store(hall, db_url, Clock(dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)))
    yield st
    st.close()


def _direct(
    ops: HallOps, conn: object, q: str, now: dt.datetime, brief: bool, ticket: int
) -> estimate.HallNow:
    """The read straight from the tables, nothing kept (the reference)."""
    return ops._hall_now(conn, q, now, brief=brief, ticket=ticket, kept=False)  # type: ignore[arg-type]


def assert_kept_is_fresh(
    store: Store,
    ops: HallOps | None = None,
    engine: Engine | None = None,
    *,
    cases: bool = True,
) -> None:
    """``cases``: check the queues' kept recent cases too (not for a server that another
    has ended cases since: those show within ``CACHE_S``, by design)."""
    ops = ops or store.ops
    now = store.clock()
    with (engine or store.engine).begin() as conn:
        for q in QUEUES:
            mine = [c for c in _direct(ops, conn, q, now, False, 0).waiting if c.queue == q]
            ticket = max((c.id for c in mine), default=0)
            for brief in (True, False):
                kept = ops._hall_now(conn, q, now, brief=brief, ticket=ticket)
                fresh = _direct(ops, conn, q, now, brief, ticket)
                assert sorted(kept.waiting, key=lambda c: c.id) == sorted(
                    fresh.waiting, key=lambda c: c.id
                ), (q, brief)
                assert kept.hidden == fresh.hidden, (q, brief)
                # the arrival rates: the last hour's issued counts, kept with the lines
                assert kept.flows == fresh.flows, (q, brief)
                # the windows' state (when each is free), kept with the lines too
                assert kept.windows == fresh.windows, (q, brief)
                newcomer = rules.Candidate(2**62, q, now)
                targets = [newcomer] + [c for c in mine if c.id == ticket]
                assert estimate.estimates(kept, targets) == estimate.estimates(fresh, targets)
                # the queue's figures taken from the kept lines (their first is their oldest)
                told = estimate.Estimate(1, 0, 2)
                assert ops.queue_stats(conn, q, now, kept, est=told) == ops.queue_stats(
                    conn, q, now, fresh, est=told
                ), (q, brief)
        # the queues' recent cases as kept (each finish, no-show or cancellation taken in
        # front) are those a fresh read gives
        for q in QUEUES if cases else ():
            hit = ops._cache.get(("minutes", q))
            if hit is not None:
                assert hit[0] == ops._case_seconds(conn, q), q
        # and each window's state as the memory holds it, field by field (a case started
        # changes its ticket's status and nothing of the window's own row)
        for q in QUEUES:
            queues, linked = ops._component(q)
            numbers = [w.number for w in linked]
            since = now - dt.timedelta(minutes=estimate.FLOW_WINDOW_MINUTES)
            *_, kept_windows = ops._kept_lines().waiting(
                conn, queues, numbers, ops.day(now), since, brief=True, ticket=0
            )
            fresh_windows = {
                r.number: lines.WindowState(*r)
                for r in conn.execute(lines.WINDOWS, {"numbers": numbers})
            }
            assert kept_windows == fresh_windows, q


def _some_day(store: Store, rng: random.Random, steps: int) -> None:
    """Issues, calls, ends, transfers, cancellations and refusals, in a random order."""
    for w in (1, 2, 4):
        store.open(w)
    labels: list[str] = []
    for _ in range(steps):
        store.clock.advance(seconds=rng.randint(5, 90))
        r = rng.random()
        w = rng.choice((1, 2, 4))
        try:
            if r < 0.45:
                service = rng.choice(("sa", "sa", "sb", "sn"))
                prio = "elderly" if rng.random() < 0.2 else None
                labels.append(store.issue(service, priority=prio)["label"])
            elif r < 0.65:
                store.call_next(w)
            elif r < 0.7:
                store.run(store.ops.start, GATEWAY, {"window": w})
            elif r < 0.75:
                store.finish(w)
            elif r < 0.82:
                store.run(store.ops.no_show, GATEWAY, {"window": w})
            elif r < 0.9:
                to = rng.choice((1, 2, 3, 4))
                store.run(store.ops.transfer, GATEWAY, {"window": w, "to_window": to})
            elif labels:
                label = labels.pop(rng.randrange(len(labels)))
                store.run(store.ops.cancel, SUPERVISOR, {"label": label})
        except HallError:
            pass  # refused: its savepoint rolled back, the lines are as they were
        if rng.random() < 0.3:
            assert_kept_is_fresh(store)
    assert_kept_is_fresh(store)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_kept_lines_are_what_a_fresh_read_gives(store: Store, seed: int) -> None:
    _some_day(store, random.Random(seed), 160)
    # Kept, not read again at each estimate: once per group (A and B share windows).
    assert store.ops._lines.reads <= 3


def test_a_reader_thread_keeps_lines_of_its_own(store: Store) -> None:
    """The phone page's reads (reader threads, whose snapshot may be older than the
    writer's memory) keep a memory per thread, caught up from the thread's own last
    read: right after every round of changes, and read whole once per group."""
    rng = random.Random(3)
    for w in (1, 2, 4):
        store.open(w)
    with ThreadPoolExecutor(1, initializer=db._mark_reader) as reader:
        for _ in range(6):
            for _ in range(12):
                store.clock.advance(seconds=rng.randint(5, 60))
                try:
                    if rng.random() < 0.6:
                        store.issue(rng.choice(("sa", "sb", "sn")))
                    else:
                        store.call_next(rng.choice((1, 2, 4)))
                except HallError:
                    pass
            writer_reads = store.ops._lines.reads
            reader.submit(assert_kept_is_fresh, store).result()
            assert store.ops._lines.reads == writer_reads  # the reader's reads are its own
        mine = reader.submit(store.ops._kept_lines).result()
    assert mine is not store.ops._lines
    assert mine.reads <= 3


def test_a_rolled_back_issue_leaves_no_ticket_in_the_kept_lines(store: Store) -> None:
    """The issue's estimate reads the line with its own new ticket in it; when the
    transaction then rolls back, that ticket must not stay in memory (the next change
    takes the same number in the log, with another token)."""
    store.open(1)
    store.issue("sa")
    assert_kept_is_fresh(store)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), store.engine.begin() as conn:
        store.ops.issue(conn, KIOSK, {"service": "sa"}, store.clock())
        raise Undo
    store.clock.advance(seconds=30)
    store.issue("sb")  # the next change: the rolled-back one's number, in the log
    assert_kept_is_fresh(store)


def test_a_second_server_on_the_same_database_is_seen(store: Store, hall: HallConfig) -> None:
    """Two server processes on one database (PostgreSQL halls may run several): what
    one writes shows in the other's kept lines at its next estimate."""
    other = HallOps(hall)
    store.open(1)
    store.open(2)
    store.issue("sa")
    assert_kept_is_fresh(store, other)
    for service in ("sa", "sb", "sa"):
        store.issue(service)  # written by the first server only
    store.call_next(2)
    assert_kept_is_fresh(store, other)
    with store.engine.begin() as conn:
        now = store.clock()
        other.issue(conn, KIOSK, {"service": "sa"}, now)
        other.window_op(conn, GATEWAY, {"window": 3, "clerk": "c"}, now, WindowOp.OPEN)
        other.call_next(conn, GATEWAY, {"window": 3}, now)
    assert_kept_is_fresh(store)
    assert_kept_is_fresh(store, other)


def test_too_many_changes_since_are_read_afresh(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lines, "MAX_CATCH_UP", 2)
    store.open(1)
    store.issue("sa")
    assert_kept_is_fresh(store)
    reads = store.ops._lines.reads
    store.issue("sa")  # one change since: caught up
    assert store.ops._lines.reads == reads
    for _ in range(4):
        store.issue("sb", priority="elderly")
    assert_kept_is_fresh(store)
    assert store.ops._lines.reads > reads


def test_a_memory_older_than_the_log_is_read_afresh(store: Store) -> None:
    """The log keeps its last changes only (the triggers drop older ones): a memory
    whose change is gone is read whole again, never caught up from a gap."""
    store.open(1)
    store.issue("sa")
    assert_kept_is_fresh(store)
    reads = store.ops._lines.reads
    store.issue("sa")
    store.issue("sb")
    with store.engine.begin() as conn:
        conn.execute(
            s.line_changes.delete().where(
                s.line_changes.c.version
                < select(func.max(s.line_changes.c.version)).scalar_subquery()
            )
        )
    assert_kept_is_fresh(store)
    assert store.ops._lines.reads == reads + 1


def test_the_last_hours_counts_follow_the_window_back_and_forth(store: Store) -> None:
    """The kept issued counts drop tickets as the arrival window moves past them, and a
    window that starts before the memory's (a clock set back) is counted afresh, not
    from a memory that has already dropped those tickets."""
    store.open(1)
    for _ in range(6):
        store.issue("sa")
        store.issue("sb", priority="elderly")
        store.clock.advance(minutes=15)
    assert_kept_is_fresh(store)  # 90 minutes on: the first tickets are out of the window
    store.clock.advance(minutes=-80)
    assert_kept_is_fresh(store)  # back: they are in it again
    store.clock.advance(minutes=80)
    store.issue("sa")
    assert_kept_is_fresh(store)


def test_a_second_server_on_its_own_engine_sees_the_counts_and_windows(
    store: Store, db_url: str
) -> None:
    """Two server processes on one database, each with its own engine (connections,
    snapshots): the issues, window changes, calls, starts and finishes one makes show in
    the other's kept last-hour counts, window states and recent cases at its next
    estimate, both ways."""
    engine = db.open_engine(db_url)
    other = HallOps(store.config)
    try:
        store.open(1)
        store.issue("sa")
        assert_kept_is_fresh(store, other, engine)  # the other's memory is made here
        assert_kept_is_fresh(store)
        now = store.clock.advance(seconds=40)
        with engine.begin() as conn:  # the other server writes
            for service in ("sa", "sb", "sa"):
                other.issue(conn, KIOSK, {"service": service}, now)
            other.window_op(conn, GATEWAY, {"window": 2, "clerk": "c"}, now, WindowOp.OPEN)
            other.call_next(conn, GATEWAY, {"window": 2}, now)
        assert_kept_is_fresh(store)  # the first sees it
        with engine.begin() as conn:  # a case started: its ticket changes, not its window
            other.start(conn, GATEWAY, {"window": 2}, store.clock.advance(seconds=5))
        assert_kept_is_fresh(store)
        store.clock.advance(seconds=70)
        store.finish(2)
        store.call_next(1)
        store.run(store.ops.window_op, GATEWAY, {"window": 1}, WindowOp.PAUSE)
        assert_kept_is_fresh(store, other, engine, cases=False)  # and the other the first's
        assert_kept_is_fresh(store)
    finally:
        engine.dispose()
