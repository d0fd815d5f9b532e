"""The daily report summary never disagrees with the raw rows (store/summaries.py).

Random days of a hall's work through the store's own operations (open, pause, call,
start, finish, rate, recall, no-show, transfer, close, windows left open overnight),
summaries made at random moments, then rows of summarized days changed behind the
summary's back: the report of every period read through the summaries equals the same
report counted from the raw rows alone."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import func, select, update

from queue_server.core import accountability as acc
from queue_server.core.errors import HallError
from queue_server.core.states import WindowOp
from queue_server.store import kpis, summaries
from queue_server.store import schema as s

from .harness import GATEWAY, Clock, Store

MONDAY = dt.datetime(2026, 11, 16, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
WINDOWS = (1, 2, 3)
SERVICES = ("general", "marriage", "party-transfer", "party-fee", "party-archive")


def _try(st: Store, fn, args, *extra) -> None:
    try:
        st.run(fn, GATEWAY, args, *extra)
    except HallError:
        pass  # a random step that does not fit the window's state: refused, nothing written


def _work_day(st: Store, rnd: random.Random, start: dt.datetime) -> None:
    """Some 40 random steps of a working day from ``start``."""
    clock, ops = st.clock, st.ops
    clock.now = start
    for w in WINDOWS:
        if rnd.random() < 0.9:
            _try(st, ops.window_op, {"window": w, "clerk": f"c-{rnd.choice('xyz')}"}, WindowOp.OPEN)
    for _ in range(40):
        clock.advance(seconds=rnd.randrange(5, 600) + rnd.random())
        w = rnd.choice(WINDOWS)
        step = rnd.random()
        if step < 0.25:
            try:
                st.issue(rnd.choice(SERVICES))
            except HallError:
                pass
        elif step < 0.45:
            _try(st, ops.call_next, {"window": w})
        elif step < 0.55:
            _try(st, ops.start, {"window": w})
        elif step < 0.72:
            _try(st, ops.finish, {"window": w})
            if rnd.random() < 0.8:
                _try(st, ops.rate, {"window": w, "level": rnd.choice((1, 2, 3, 4, 5, 5, 5))})
        elif step < 0.77:
            _try(st, ops.recall, {"window": w})
        elif step < 0.82:
            _try(st, ops.no_show, {"window": w})
        elif step < 0.86:
            _try(st, ops.transfer, {"window": w, "to_window": rnd.choice(WINDOWS)})
        elif step < 0.93:
            op = rnd.choice((WindowOp.PAUSE, WindowOp.RESUME))
            _try(st, ops.window_op, {"window": w}, op)
        else:
            st.committer.call(lambda c, n: (ops.expire_ratings(c, n), []))
    for w in WINDOWS:
        if rnd.random() < 0.7:  # the others are left open overnight
            _try(st, ops.window_op, {"window": w}, WindowOp.CLOSE)


def _both(st: Store, period: acc.Period) -> tuple[tuple, tuple]:
    with st.engine.connect() as conn, conn.begin():
        fast = kpis.collect(conn, st.config, period)
        raw = kpis.collect(conn, st.config, period, summaries=False)
    return fast, raw


def _summarized(st: Store) -> set[dt.date]:
    with st.engine.connect() as conn:
        return set(conn.execute(select(s.report_days.c.day)).scalars())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_summary_gives_the_raw_rows_figures_after_random_operations(config, db_url, seed):
    rnd = random.Random(seed)
    st = Store(config, db_url, Clock(MONDAY))
    try:
        days = [MONDAY + dt.timedelta(days=i) for i in range(5)]
        for i, start in enumerate(days):
            _work_day(st, rnd, start)
            if rnd.random() < 0.6:  # the clock summarizes some ended days, at random moments
                st.committer.call(
                    lambda c, n: (summaries.refresh(c, config, n, rnd.randrange(1, 4)), [])
                )
            if i == 2:  # one day's rows are summarized mid-week
                st.committer.call(lambda c, n: (summaries.refresh(c, config, n, 10), []))
        st.clock.now = days[-1] + dt.timedelta(days=1, hours=2)
        st.committer.call(lambda c, n: (summaries.refresh(c, config, n, 10), []))
        assert _summarized(st) >= {d.date() for d in days}  # the whole week
        with st.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(s.report_summaries)).scalar()
        # Today (Saturday) is not over: it is read from the raw rows.
        _work_day(st, rnd, st.clock.now)
        week = acc.Period(days[0].date(), days[-1].date() + dt.timedelta(days=2), "range")
        fast, raw = _both(st, week)
        assert fast == raw
        assert raw[0]["total"]["cases"] > 0
        for d in days:
            one = acc.Period(d.date(), d.date(), "day")
            assert _both(st, one)[0] == _both(st, one)[1]

        # Rows of summarized days change behind the summary's back, one at a time: a late
        # rating, a corrected end time, a ticket's recall, a window operation written
        # late. Each drops its day's summary (the triggers); the report stays true.
        c, t = s.cases.c, s.tickets.c
        st.committer.call(lambda c, n: (summaries.refresh(c, config, n, 10), []))
        with st.engine.connect() as conn:
            done = conn.execute(
                select(c.id, c.ticket_id, c.ended_at).where(
                    c.outcome == "done", c.ended_at < days[-1] + dt.timedelta(hours=12)
                )
            ).all()
        case_id, ticket_id, ended = rnd.choice(done)
        day = ended.astimezone(config.tz).date()
        changes = [
            update(s.cases).where(c.id == case_id).values(rating=1, rating_state="rated"),
            update(s.cases).where(c.id == case_id).values(ended_at=ended + dt.timedelta(seconds=7)),
            update(s.tickets).where(t.id == ticket_id).values(recalls=t.recalls + 1),
            update(s.tickets)
            .where(t.id == ticket_id)
            .values(issued_at=ended - dt.timedelta(hours=1)),
            s.audit.insert().values(
                at=ended, actor="gateway", role="gateway", op="window.pause", window=1
            ),
        ]
        for change in changes:
            assert day in _summarized(st)
            with st.engine.begin() as conn:
                conn.execute(change)
            assert day not in _summarized(st)
            fast, raw = _both(st, week)
            assert fast == raw
            st.committer.call(lambda c, n: (summaries.refresh(c, config, n, 10), []))
            assert _both(st, week)[0] == raw
    finally:
        st.close()


def test_only_a_day_that_has_ended_is_summarized(config, db_url):
    st = Store(config, db_url, Clock(MONDAY))
    try:
        with pytest.raises(ValueError):
            st.committer.call(lambda c, n: (summaries.summarize(c, config, MONDAY.date(), n), []))
        assert summaries.due is not None
        with st.engine.connect() as conn:
            assert summaries.due(conn, config, MONDAY) == []  # nothing ended yet
    finally:
        st.close()


# -- the case-file figures of closed months (store/casefile_summaries.py) ---------------

CF_NOW = dt.datetime(2026, 4, 10, 2, 0, tzinfo=dt.UTC)  # April: January to March have ended
CF_STATES_OPEN = ("accepted", "in_review", "decided", "suspended")


def _file_row(rnd: random.Random, i: int, opened_on: dt.date) -> tuple[dict, dict]:
    """A ticket and its case file, open or finished (ready, delivered or refused), with
    the odd missing due day, window or clerk."""
    at = dt.datetime.combine(opened_on, dt.time(2), dt.UTC)
    window = rnd.choice((1, 2, 3, None))
    ticket = {
        "id": i, "day": opened_on, "prefix": "P", "number": i, "queue": "M",
        "service_id": "marriage", "status": "done", "language": "zh", "issued_at": at,
        "sort_at": at, "window": window, "recalls": 0, "transfers": 0, "token": f"t{i}",
    }  # fmt: skip
    due = None if rnd.random() < 0.05 else opened_on + dt.timedelta(days=rnd.randrange(2, 9))
    finished = None if rnd.random() < 0.3 else opened_on + dt.timedelta(days=rnd.randrange(0, 12))
    state = (
        rnd.choice(CF_STATES_OPEN)
        if finished is None
        else rnd.choice(("ready", "delivered", "refused"))
    )
    casefile = {
        "id": i, "number": f"N{i:06d}", "ticket_id": i, "service_id": rnd.choice(SERVICES),
        "department": rnd.choice(("civil", "party")), "window": window,
        "clerk": None if window is None else f"c-{rnd.choice('xyz')}", "state": state,
        "opened_at": at, "opened_on": opened_on, "promised_days": 3, "due_on": due,
        "early_before": None if due is None else due - dt.timedelta(days=2),
        "suspensions": int(rnd.random() < 0.1), "extended_days": 2 * (rnd.random() < 0.1),
        "suspended_days": 0, "light": rnd.choice(("green", "yellow", "red")),
        "finished_on": finished, "updated_at": at,
    }  # fmt: skip
    return ticket, casefile


def _cf_both(st: Store, start: dt.date, end: dt.date) -> tuple[tuple, tuple]:
    from queue_server.store import casefile_summaries as cs

    with st.engine.connect() as conn, conn.begin():
        return (
            cs.grouped(conn, start, end),
            cs.grouped(conn, start, end, summaries=False),
        )


@pytest.mark.parametrize("seed", [1, 2])
def test_the_case_file_summary_gives_the_raw_rows_figures_after_random_writes(config, db_url, seed):
    """Case files accepted over three closed months and the current one; months
    summarized at random moments; then files inserted, finished, reopened, moved,
    relit, regrouped and deleted behind the summaries' back, one write at a time: after
    each, every period's figures read through the summaries equal the raw recount, and a
    write to a finished file drops its month's summary while an open file's light does
    not."""
    from queue_server.store import casefile_summaries as cs

    rnd = random.Random(seed)
    st = Store(config, db_url, Clock(CF_NOW))
    cf = s.casefiles.c
    try:
        days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(100)]  # to 10 Apr
        rows = [_file_row(rnd, i + 1, rnd.choice(days)) for i in range(300)]
        with st.engine.begin() as conn:
            conn.execute(s.tickets.insert(), [t for t, _ in rows])
            conn.execute(s.casefiles.insert(), [f for _, f in rows])

        def summarize(limit: int) -> None:
            st.committer.call(lambda c, n: (cs.refresh(c, config, n, limit), []))

        def months() -> set[dt.date]:
            with st.engine.connect() as conn:
                return set(conn.execute(select(s.casefile_months.c.month)).scalars())

        def check() -> None:
            periods = [
                (dt.date(2026, 1, 1), dt.date(2026, 12, 31)),  # the year
                (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),  # one whole month
                (dt.date(2026, 4, 1), dt.date(2026, 4, 30)),  # the current one
            ]
            for _ in range(4):  # and stretches cutting months
                a, b = sorted(rnd.sample(days, 2))
                periods.append((a, b))
            for a, b in periods:
                fast, raw = _cf_both(st, a, b)
                assert fast == raw, (a, b)

        summarize(1)
        assert months() == {dt.date(2026, 1, 1)}
        check()
        summarize(10)
        assert months() == {dt.date(2026, m, 1) for m in (1, 2, 3)}  # never April
        check()
        with pytest.raises(ValueError):
            st.committer.call(lambda c, n: (cs.summarize(c, config, dt.date(2026, 4, 1), n), []))

        next_id = 1000
        for _ in range(40):
            with st.engine.connect() as conn:
                files = conn.execute(
                    select(cf.id, cf.opened_on, cf.finished_on)
                    .where(cf.opened_on < days[90])
                    .order_by(cf.id)
                ).all()
            fid, opened_on, finished_on = rnd.choice(files)
            month = opened_on.replace(day=1)
            step = rnd.randrange(7)
            if step == 0:  # a new finished file in a closed month
                next_id += 1
                t, f = _file_row(rnd, next_id, rnd.choice(days[:90]))
                f["finished_on"] = f["opened_on"] + dt.timedelta(days=1)
                change = [s.tickets.insert().values(**t), s.casefiles.insert().values(**f)]
                drops = {f["opened_on"].replace(day=1)}
            elif step == 1:  # finished now, or (a correction) not finished after all
                new = None if finished_on else opened_on + dt.timedelta(days=rnd.randrange(1, 9))
                change = [update(s.casefiles).where(cf.id == fid).values(finished_on=new)]
                drops = {month}
            elif step == 2:  # moved to another window, or another day of acceptance
                moved, values = opened_on, {"window": rnd.choice((1, 2, 3, None))}
                if rnd.random() < 0.5:  # each on its own: a trigger watches both
                    moved = values["opened_on"] = rnd.choice(days[:90])
                    del values["window"]
                change = [update(s.casefiles).where(cf.id == fid).values(**values)]
                drops = {month, moved.replace(day=1)} if finished_on else set()
            elif step == 3:  # the lights sweep: an open file's light (and its due day)
                change = [
                    update(s.casefiles)
                    .where(cf.id == fid)
                    .values(light=rnd.choice(("green", "yellow", "red")))
                ]
                drops = set()  # a light never touches a summary
            elif step == 4:  # suspended, extended or refused
                change = [
                    update(s.casefiles)
                    .where(cf.id == fid)
                    .values(
                        suspensions=cf.suspensions + 1,
                        extended_days=cf.extended_days + 2,
                        state=rnd.choice(("refused", "delivered")),
                    )
                ]
                drops = {month} if finished_on else set()
            elif step == 5:  # deleted
                change = [
                    s.casefile_pickups.delete().where(s.casefile_pickups.c.casefile_id == fid),
                    s.casefile_steps.delete().where(s.casefile_steps.c.casefile_id == fid),
                    s.casefiles.delete().where(cf.id == fid),
                ]
                drops = {month} if finished_on else set()
            else:  # the clock summarizes what was dropped
                summarize(rnd.randrange(1, 4))
                check()
                continue
            before = months()
            with st.engine.begin() as conn:
                for stmt in change:
                    conn.execute(stmt)
            after = months()
            assert before - after == before & drops  # exactly those months dropped
            check()
        summarize(10)
        assert months() == {dt.date(2026, m, 1) for m in (1, 2, 3)}
        check()
        fast, _ = _cf_both(st, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
        assert fast[1]["finished"] and fast[1]["open"] and fast[1]["overdue_open"]
    finally:
        st.close()


@pytest.mark.postgres
def test_a_file_finished_while_its_month_is_summarized_is_never_lost(config, pg_url):
    """PostgreSQL, two connections: a writer finishes a file of a summarized month and
    has not committed when the clock summarizes that month again. The summarizer waits
    for it (it locks ``casefile_months`` first), so its summary counts the finished file;
    and a writer that finishes one while a summary is being made waits for the summary,
    then drops it. Either way the summary equals the raw recount."""
    import threading

    from sqlalchemy import text

    from queue_server.store import casefile_summaries as cs
    from queue_server.store import db

    engine = db.open_engine(pg_url)
    db.upgrade(engine)
    rnd = random.Random(5)
    march = dt.date(2026, 3, 1)
    rows = [_file_row(rnd, i + 1, march + dt.timedelta(days=i % 31)) for i in range(60)]
    for _, f in rows[:10]:
        f["finished_on"] = None  # some open ones to finish
    with engine.begin() as conn:
        conn.execute(s.tickets.insert(), [t for t, _ in rows])
        conn.execute(s.casefiles.insert(), [f for _, f in rows])
        cs.summarize(conn, config, march, CF_NOW)
    cf = s.casefiles.c

    def in_background(work) -> tuple[threading.Thread, list[int]]:
        pid: list[int] = []

        def run() -> None:
            with engine.begin() as conn:
                pid.append(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
                work(conn)

        thread = threading.Thread(target=run)
        thread.start()
        return thread, pid

    def wait_until_blocked(thread: threading.Thread, pid: list[int], watcher) -> bool:
        """True once the background connection waits for a lock; False if it ended
        without ever waiting (the rule this test is about is broken)."""
        q = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
        while thread.is_alive():
            if pid and watcher.execute(q, {"pid": pid[0]}).scalar() == "Lock":
                return True
            thread.join(0.01)
        return False

    def check() -> None:
        fast, raw = _cf_both(_Engine(engine), march, march + dt.timedelta(days=30))
        assert fast == raw

    with engine.connect() as watcher:
        watcher.execution_options(isolation_level="AUTOCOMMIT")
        # 1. The writer first: the summarizer waits, then counts what it wrote.
        writer = engine.connect()
        tx = writer.begin()
        writer.execute(
            update(s.casefiles).where(cf.id == rows[0][1]["id"]).values(finished_on=march)
        )
        summarizer, pid = in_background(lambda c: cs.summarize(c, config, march, CF_NOW))
        blocked = wait_until_blocked(summarizer, pid, watcher)
        tx.commit()
        writer.close()
        summarizer.join()
        assert blocked, "the summarizer did not wait for the writer"
        check()
        # 2. The summarizer first: the writer waits, then drops the month it changed.
        summ = engine.connect()
        tx = summ.begin()
        cs.summarize(summ, config, march, CF_NOW)
        writer_t, pid = in_background(
            lambda c: c.execute(
                update(s.casefiles).where(cf.id == rows[1][1]["id"]).values(finished_on=march)
            )
        )
        blocked = wait_until_blocked(writer_t, pid, watcher)
        tx.commit()
        summ.close()
        writer_t.join()
        assert blocked, "the writer did not wait for the summary"
        with engine.connect() as conn:
            assert conn.execute(select(s.casefile_months.c.month)).scalars().all() == []
        check()
    engine.dispose()


class _Engine:
    """What ``_cf_both`` needs of a Store: its engine."""

    def __init__(self, engine) -> None:
        self.engine = engine
