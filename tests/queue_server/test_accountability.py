"""Talk reminders and accountability records on SQLite and PostgreSQL, and the alerts
they raise reaching a real SMTP server (aiosmtpd) on the server's own clock."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from queue_server.core import accountability as acc
from queue_server.core.hall import AccountabilitySettings, AlertRule, Contact, NotifySettings
from queue_server.core.permissions import Actor
from queue_server.store import accountability as store
from queue_server.store import schema as s

from .harness import GATEWAY, Clock, Store, running_hall
from .test_alerts import Mailbox, _free_port, _until

HEAD_CIVIL = Actor("h-civil", "head", department="civil")
HEAD_PARTY = Actor("h-party", "head", department="party")
OCT = acc.parse_period("2026-10")
NOV = acc.parse_period("2026-11")


def _cfg(config: Any, **kw: Any) -> Any:
    settings = AccountabilitySettings(
        **{"min_ratings": 5, "reminder_limit": 1, "rolling_days": 62, **kw}
    )
    return dataclasses.replace(config, accountability=settings)


def _serve(st: Store, window: int, levels: list[int | None]) -> None:
    """Serve one case per level at the window and rate it (None: left unrated)."""
    for level in levels:
        st.issue("party-transfer" if window == 3 else "general")
        st.call_next(window)
        st.finish(window)
        if level is not None:
            st.run(st.ops.rate, GATEWAY, {"window": window, "level": level})
        st.clock.advance(minutes=5)


def _month(st: Store, start: dt.datetime, w1: list[int | None]) -> None:
    st.clock.now = start
    for w in (1, 2, 3):
        st.open(w, f"c-{w}")
    _serve(st, 1, w1)
    _serve(st, 2, [5] * 10)  # all satisfied
    _serve(st, 3, [1, 1, 1])  # all bad, but only three ratings: below the minimum
    st.committer.call(lambda c, n: (st.ops.expire_ratings(c, n), []))  # the unrated


# Window 1 in October: 7 of 10 satisfied (and one level 3 that is not), one unrated.
W1_OCT = [5, 5, 5, 4, 4, 4, 4, 3, 2, 1, None]


def _count(st: Store, table: Any) -> int:
    with st.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_month_under_80_percent_raises_reminders_once_and_the_head_signs_them_off(config, db_url):
    st = Store(_cfg(config), db_url)
    try:
        _month(st, dt.datetime(2026, 10, 12, 2, 0, tzinfo=dt.UTC), W1_OCT)
        summary, events = st.committer.call(
            lambda c, n: store.assess(c, st.config, OCT, n, by="test")
        )
        got = {(r["subject_kind"], r["subject"]): r for r in summary["reminders"]}
        assert set(got) == {("window", "1"), ("clerk", "c-1")}
        r = got[("window", "1")]
        assert (r["rated"], r["satisfied"], r["not_rated"]) == (10, 7, 1)
        assert r["rate"] == 0.7 and r["department"] == "civil" and r["period"] == "2026-10"
        assert [k for _, _, k, _ in events] == ["reminder.raised", "reminder.raised"]
        # A second run of the same month (another process, a restart) changes nothing.
        again, events2 = st.committer.call(lambda c, n: store.assess(c, st.config, OCT, n))
        assert again["already"] and events2 == [] and _count(st, s.talk_reminders) == 2

        rid = r["id"]
        _done = _done_op(st)
        listed = st.read(store.reminder_list, st.ops, HEAD_CIVIL, {})
        assert {x["id"] for x in listed["reminders"]} >= {rid}
        with pytest.raises(Exception) as exc:  # another department's head
            st.read(store.reminder_list, st.ops, HEAD_PARTY, {"department": "civil"})
        assert exc.value.code == "forbidden"
        assert st.refused(_done, HEAD_PARTY, {"id": rid, "note": "x"}).code == "forbidden"
        assert st.refused(_done, HEAD_CIVIL, {"id": rid, "note": " "}).code == "bad_request"
        assert st.refused(_done, HEAD_CIVIL, {"id": 9999, "note": "x"}).code == ("unknown_reminder")
        done = st.run(_done, HEAD_CIVIL, {"id": rid, "note": "talked; retraining booked"})
        assert done["state"] == "done" and done["done_by"] == "h-civil"
        assert st.refused(_done, HEAD_CIVIL, {"id": rid, "note": "again"}).code == ("already_done")
        mine = st.read(store.reminder_list, st.ops, HEAD_CIVIL, {"state": "done"})
        assert mine["reminders"][0]["note"] == "talked; retraining booked"
        sup = st.read(store.reminder_list, st.ops, Actor("sup", "supervisor"), {"state": "all"})
        assert len(sup["reminders"]) == 2 and "note" not in sup["reminders"][0]
    finally:
        st.close()


def _done_op(st: Store) -> Any:
    """``reminder.done`` as ``Store.run`` calls an operation."""
    from queue_server.store.ops import Outcome

    return lambda conn, actor, args, now: Outcome(
        *store.reminder_done(conn, st.ops, actor, args, now)
    )


def test_a_second_month_under_the_threshold_escalates_across_the_rolling_window(config, db_url):
    st = Store(_cfg(config, reminder_limit=1, rolling_days=62), db_url)
    try:
        _month(st, dt.datetime(2026, 10, 12, 2, 0, tzinfo=dt.UTC), W1_OCT)
        st.committer.call(lambda c, n: store.assess(c, st.config, OCT, n))
        assert _count(st, s.accountability_records) == 0  # one reminder: not more than one
        _month(st, dt.datetime(2026, 11, 10, 2, 0, tzinfo=dt.UTC), [5, 3, 3, 3, 3, 4])
        summary, events = st.committer.call(lambda c, n: store.assess(c, st.config, NOV, n))
        raised = [d for _, _, k, d in events if k == "accountability.raised"]
        assert {(d["subject_kind"], d["subject"]) for d in raised} == {
            ("window", "1"),
            ("clerk", "c-1"),
        }
        assert all(d["reminders"] == 2 and d["department"] == "civil" for d in raised)
        listed = st.read(store.reminder_list, st.ops, Actor("sup", "supervisor"), {})
        assert len(listed["accountability"]) == 2
    finally:
        st.close()


def test_a_rate_on_too_few_ratings_and_exactly_80_percent_raise_nothing(config, sqlite_url):
    st = Store(_cfg(config, min_ratings=5), sqlite_url)
    try:
        # 8 of 10 satisfied is 80 %: not under it. Window 3's three bad ratings are too few.
        _month(st, dt.datetime(2026, 10, 12, 2, 0, tzinfo=dt.UTC), [5] * 8 + [3, 3])
        summary, events = st.committer.call(lambda c, n: store.assess(c, st.config, OCT, n))
        assert summary["reminders"] == [] and events == []
        assert summary["assessed"] == 6 and summary["counted"] == 4  # windows 1-3, c-1..c-3
    finally:
        st.close()


def test_the_clock_assesses_the_month_once_and_the_alerts_reach_head_and_leader(config, db_url):
    """The server started on 24 November assesses October at its first sweep; the
    reminder reaches the civil head by e-mail and, past the limit, the accountability
    record the leader in charge. A restart assesses nothing twice."""
    cfg = _cfg(config, reminder_limit=0)
    st = Store(cfg, db_url)
    try:
        _month(st, dt.datetime(2026, 10, 12, 2, 0, tzinfo=dt.UTC), W1_OCT)
    finally:
        st.close()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    try:
        civil = dataclasses.replace(
            cfg.department("civil"),
            leader=Contact("leader-1", email="leader@county.example"),
        )
        cfg = dataclasses.replace(
            cfg,
            departments=tuple(civil if d.id == "civil" else d for d in cfg.departments),
            notify=NotifySettings(
                smtp_host="127.0.0.1",
                smtp_port=smtp.port,
                alerts=(
                    AlertRule("reminder.raised", ("head",)),
                    AlertRule("accountability.raised", ("leader",)),
                ),
            ),
        )

        async def main() -> None:
            for _ in range(2):  # the second start finds October assessed
                async with running_hall(cfg, db_url, Clock(), sweep_interval=0.02) as hall:
                    await _until(lambda: len(mailbox.messages) >= 4, timeout=20)
                    assert hall.notifier is not None
                    await asyncio.sleep(0.3)

        asyncio.run(main())
    finally:
        smtp.stop()
    to = sorted(m.rcpt_tos[0] for m in mailbox.messages)
    assert to == ["head@civil.example"] * 2 + ["leader@county.example"] * 2
    heads = b"".join(m.content for m in mailbox.messages if m.rcpt_tos == ["head@civil.example"])
    assert b"Talk reminder" in heads and b"70.0 %" in heads
    st = Store(cfg, db_url)
    try:
        assert _count(st, s.talk_reminders) == 2 and _count(st, s.assessments) == 1
    finally:
        st.close()


def test_hallq_assess_refuses_bad_periods_and_runs_once(config, tmp_path, capsys):
    from queue_server.cli import main
    from queue_server.store import db

    hall = tmp_path / "hall.toml"
    hall.write_text(
        (Path(__file__).parents[1] / "hall_test.toml").read_text()
        + "\n[accountability]\nmin_ratings = 5\n"
    )
    url = f"sqlite:///{tmp_path / 'h.db'}"
    engine = db.open_engine(url)
    db.upgrade(engine)
    engine.dispose()
    base = ["assess", "--config", str(hall), "--db", url]
    assert main([*base, "--period", "2026-11-30..2026-11-01"]) == 1
    assert "before it starts" in capsys.readouterr().err
    assert main([*base, "--period", "2025-01"]) == 0
    assert "0 talk reminder(s)" in capsys.readouterr().out
    assert main([*base, "--period", "2025-01"]) == 0
    assert "assessed before" in capsys.readouterr().out
