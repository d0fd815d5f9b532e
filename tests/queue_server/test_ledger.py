"""Ratings with their national fields and the rectification ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from queue_server.core.calendar import YearCalendar
from queue_server.core.rectify import ROp
from queue_server.store import national, workdays
from queue_server.store import schema as s
from queue_server.store.ops import Actor, Outcome

from .harness import ADMIN, GATEWAY, SUPERVISOR, Store

OFFICER = Actor("o-civil", "officer", department="civil")
HEAD = Actor("h-civil", "head", department="civil")
PARTY_HEAD = Actor("h-party", "head", department="party")
PHONE = "13812341234"


@pytest.fixture
def store(config, db_url):
    st = Store(config, db_url)
    yield st
    st.close()


def _load_calendar(store: Store) -> None:
    with store.engine.begin() as conn:
        for year in (2026, 2027):
            workdays.load_year(conn, YearCalendar(year, {}, {}), "test", store.clock())


def _finished(store: Store, window: int = 1) -> dict:
    t = store.issue("general")
    store.open(window)
    store.call_next(window)
    store.finish(window)
    return t


def _citizen(ticket: dict) -> Actor:
    return Actor("phone", "citizen", ticket_id=ticket["id"])


def _rows(store: Store, table) -> list[dict]:
    with store.engine.begin() as conn:
        return [dict(r) for r in conn.execute(select(table)).mappings()]


def _stepper(store: Store):
    return lambda c, a, g, n, op: Outcome(*store.ops.ledger.step(c, a, g, n, op))


def _step(store: Store, actor: Actor, op: ROp, **args) -> dict:
    return store.run(_stepper(store), actor, args, op)


def _refused(store: Store, actor: Actor, op: ROp, **args) -> str:
    return store.refused(_stepper(store), actor, args, op).code


def _phone(store: Store, actor: Actor, rid: int) -> dict:
    return store.run(
        lambda c, a, g, n: Outcome(store.ops.ledger.phone(c, a, g, n)), actor, {"id": rid}
    )


def _phone_refused(store: Store, actor: Actor, rid: int) -> str:
    return store.refused(
        lambda c, a, g, n: Outcome(store.ops.ledger.phone(c, a, g, n)), actor, {"id": rid}
    ).code


def test_bad_rating_input_is_refused_whole(store):
    t = _finished(store)
    store.issue("general")
    store.call_next(1)  # called, not finished
    before = _rows(store, s.cases)
    citizen = _citizen(t)
    for args, code in (
        ({"level": 5, "reasons": ["slow"]}, "reasons_not_asked"),
        ({"level": 1, "reasons": ["no-such"]}, "unknown_reason"),
        ({"level": 1, "phone": PHONE}, "consent_needed"),
        ({"level": 1, "phone": "123", "consent": True}, "bad_phone"),
        ({"level": 4, "phone": PHONE, "consent": True}, "phone_not_needed"),
    ):
        assert store.refused(store.ops.rate, citizen, args).code == code, args
    assert store.refused(store.ops.rate, ADMIN, {"case": 999, "level": 1}).code == (
        "nothing_to_rate"
    )
    open_case = max(r["id"] for r in before)
    assert store.refused(store.ops.rate, ADMIN, {"case": open_case, "level": 1}).code == (
        "nothing_to_rate"
    )
    assert _rows(store, s.cases) == before and _rows(store, s.rectifications) == []
    store.run(store.ops.rate, citizen, {"level": 2, "reasons": ["slow"]})
    assert store.refused(store.ops.rate, citizen, {"level": 1}).code == "already_rated"
    assert len(_rows(store, s.rectifications)) == 1


def test_a_rating_keeps_its_national_fields(store):
    t = _finished(store)
    store.run(
        store.ops.rate,
        _citizen(t),
        {"level": 1, "reasons": ["wait", "attitude"], "text": "  等了很久  "},
    )
    (case,) = [r for r in _rows(store, s.cases) if r["rating"] is not None]
    assert case["rating_source"] == "phone" and case["rating_text"] == "等了很久"
    assert case["rating_reasons"] == "wait;attitude" and case["rating_department"] == "civil"
    reply = store.read(
        lambda c, n: national.export(c, store.ops, SUPERVISOR, {"kind": "ratings"}, n)
    )
    (rec,) = reply["records"]
    assert rec["评价渠道"] == "3" and rec["满意度代码"] == "5"  # national order: 5 = worst
    assert rec["差评原因"] == "wait;attitude" and rec["行政区划代码"] == "511822"
    assert rec["办件编号"].endswith(f"-A001-{case['id']}")


def test_the_loop_in_order_by_the_right_roles_with_the_phone_kept_to_its_purpose(store):
    _load_calendar(store)
    t = _finished(store)
    store.run(
        store.ops.rate,
        _citizen(t),
        {"level": 1, "reasons": ["slow"], "phone": "138 1234 1234", "consent": True},
    )
    (rec,) = _rows(store, s.rectifications)
    rid = rec["id"]
    assert rec["phone"] == PHONE and rec["department"] == "civil" and rec["state"] == "open"
    assert rec["contact_due"] == dt.date(2026, 11, 25)  # one working day after Tuesday

    assert _refused(store, OFFICER, ROp.FIX, id=rid, note="x") == "invalid_state"
    assert _refused(store, SUPERVISOR, ROp.VERIFY, id=rid, outcome="valid", note="x") == (
        "forbidden"
    )
    assert _refused(store, PARTY_HEAD, ROp.VERIFY, id=rid, outcome="valid", note="x") == (
        "forbidden"
    )
    assert _refused(store, OFFICER, ROp.VERIFY, id=rid, outcome="valid") == "note_needed"
    assert _refused(store, OFFICER, ROp.VERIFY, id=rid, outcome="sure", note="x") == ("bad_outcome")
    assert _phone_refused(store, OFFICER, rid) == "not_calling"  # not before verification
    _step(store, OFFICER, ROp.VERIFY, id=rid, outcome="valid", note="recording checked")
    got = store.read(lambda c, n: store.ops.ledger.get(c, OFFICER, {"id": rid}, n))
    assert got["phone"] == "138****1234" and got["actions"] == ["contact"]
    assert _phone(store, OFFICER, rid)["phone"] == PHONE
    assert _phone_refused(store, PARTY_HEAD, rid) == "forbidden"
    _step(store, OFFICER, ROp.CONTACT, id=rid, outcome="reached")
    _step(store, OFFICER, ROp.FIX, id=rid, note="queue B opened at lunch")
    _step(store, HEAD, ROp.CALLBACK, id=rid, outcome="satisfied", level=4)
    assert _refused(store, OFFICER, ROp.CLOSE, id=rid) == "forbidden"  # the head signs off
    closed = _step(store, HEAD, ROp.CLOSE, id=rid)
    assert closed["state"] == "closed" and closed["fix_level"] == 4 and closed["phone"] is None
    assert _refused(store, HEAD, ROp.CLOSE, id=rid) == "invalid_state"

    (rec,) = _rows(store, s.rectifications)
    assert rec["phone"] is None and rec["phone_until"] is None
    assert _phone_refused(store, OFFICER, rid) == "no_phone"
    got = store.read(lambda c, n: store.ops.ledger.get(c, HEAD, {"id": rid}, n))
    assert [x["op"] for x in got["steps"]] == [
        "open",
        "verify",
        "contact",
        "fix",
        "callback",
        "close",
    ]
    # The number is nowhere else: not in events, steps, the audit or an export.
    everywhere = json.dumps(store.events, ensure_ascii=False) + json.dumps(
        [_rows(store, tb) for tb in (s.rectification_steps, s.audit)], default=str
    )
    for kind in ("ratings", "rectifications"):
        for fmt in ("json", "csv"):
            everywhere += json.dumps(
                store.read(
                    lambda c, n, k=kind, f=fmt: national.export(
                        c, store.ops, SUPERVISOR, {"kind": k, "format": f}, n
                    )
                ),
                ensure_ascii=False,
            )
    assert PHONE not in everywhere and "1234 1234" not in everywhere
    assert "ledger.phone" in [r["op"] for r in _rows(store, s.audit)]  # who saw it is kept


def test_an_appeal_goes_to_the_supervisor(store):
    t = _finished(store)
    store.run(store.ops.rate, _citizen(t), {"level": 2})
    (rec,) = _rows(store, s.rectifications)
    rid = rec["id"]
    _step(store, HEAD, ROp.VERIFY, id=rid, outcome="malicious", note="the citizen was drunk")
    assert _refused(store, HEAD, ROp.DECIDE, id=rid, outcome="uphold") == "forbidden"
    assert _refused(store, OFFICER, ROp.CONTACT, id=rid, outcome="reached") == "invalid_state"
    done = _step(store, SUPERVISOR, ROp.DECIDE, id=rid, outcome="uphold", note="video seen")
    assert done["state"] == "dismissed"
    listed = store.read(lambda c, n: store.ops.ledger.list(c, SUPERVISOR, {}, n))
    assert listed["records"] == []  # history kept, off the open list
    kept = store.read(lambda c, n: store.ops.ledger.list(c, SUPERVISOR, {"state": "all"}, n))
    assert [r["state"] for r in kept["records"]] == ["dismissed"]


def test_overdue_steps_turn_red_once_and_wait_for_a_calendar(store):
    t = _finished(store)
    store.run(store.ops.rate, _citizen(t), {"level": 1})
    assert store.read(store.ops.ledger.sweep) == []  # no calendar: no due days, no light
    _load_calendar(store)
    assert store.read(store.ops.ledger.lights_due)
    store.committer.call(lambda c, n: (store.ops.ledger.sweep(c, n), []))
    (rec,) = _rows(store, s.rectifications)
    assert rec["contact_due"] == dt.date(2026, 11, 25) and rec["light"] == "green"
    store.clock.advance(days=2)  # Thursday: Wednesday's contact is late
    events, _ = store.committer.call(lambda c, n: (store.ops.ledger.sweep(c, n), []))
    assert [k for k, _d in events] == ["ledger.overdue"]
    assert events[0][1]["department"] == "civil" and events[0][1]["due"] == "2026-11-25"
    again, _ = store.committer.call(lambda c, n: (store.ops.ledger.sweep(c, n), []))
    assert again == []
    _step(store, OFFICER, ROp.VERIFY, id=rec["id"], outcome="valid", note="x")
    _step(store, OFFICER, ROp.CONTACT, id=rec["id"], outcome="unreachable")
    (rec,) = _rows(store, s.rectifications)
    assert rec["light"] == "green"  # now the fix's deadline (5 working days) counts


def test_a_phone_number_is_erased_when_its_retention_runs_out(store):
    t = _finished(store)
    store.run(store.ops.rate, _citizen(t), {"level": 1, "phone": PHONE, "consent": True})
    store.committer.call(lambda c, n: (store.ops.prune(c, n), []))
    assert _rows(store, s.rectifications)[0]["phone"] == PHONE
    store.clock.advance(days=store.config.ratings.phone_days, seconds=1)
    store.committer.call(lambda c, n: (store.ops.prune(c, n), []))
    assert _rows(store, s.rectifications)[0]["phone"] is None


def test_export_periods_are_checked(store):
    def export(**args):
        return store.refused(
            lambda c, a, g, n: Outcome(national.export(c, store.ops, a, g, n)), SUPERVISOR, args
        ).code

    assert export(kind="ratings", **{"from": "2026-11-02", "to": "2026-11-01"}) == "bad_period"
    assert export(kind="ratings", **{"from": "2024-01-01", "to": "2026-11-01"}) == (
        "period_too_long"  # the reports' one rule (core.accountability.check_range)
    )
    assert export(kind="votes") == "bad_request"


def test_csv_has_the_national_header_and_the_provincial_order_when_chosen(config, db_url):
    import dataclasses

    provincial = dataclasses.replace(
        config, ratings=dataclasses.replace(config.ratings, code_order="provincial")
    )
    st = Store(provincial, db_url)
    try:
        t = _finished(st)
        st.run(st.ops.rate, GATEWAY, {"window": 1, "level": 1})
        assert t["label"] == "A001"
        out = st.read(
            lambda c, n: national.export(
                c, st.ops, SUPERVISOR, {"kind": "ratings", "format": "csv"}, n
            )
        )
        header, row = out["csv"].lstrip("\ufeff").splitlines()[:2]
        assert header.startswith("记录编号,办件编号,评价渠道")
        cells = dict(zip(header.split(","), row.split(","), strict=True))
        assert cells["满意度代码"] == "1" and cells["评价渠道"] == "4"
    finally:
        st.close()


def test_two_sweeps_from_the_same_stale_read_announce_a_red_record_once(store, monkeypatch):
    """Two server processes may read the same record green and both find it red: only
    the one whose update still finds the old light announces it (compare-and-set)."""
    _load_calendar(store)
    t = _finished(store)
    store.run(store.ops.rate, _citizen(t), {"level": 1})
    store.clock.advance(days=2)
    stale = store.read(store.ops.ledger._changes)
    monkeypatch.setattr(store.ops.ledger, "_changes", lambda conn, now: stale)
    first, _ = store.committer.call(lambda c, n: (store.ops.ledger.sweep(c, n), []))
    second, _ = store.committer.call(lambda c, n: (store.ops.ledger.sweep(c, n), []))
    assert [k for k, _d in first] == ["ledger.overdue"] and second == []


def test_a_record_is_queued_for_upload_once_however_often_its_event_is_seen(config, db_url):
    import dataclasses

    cfg = dataclasses.replace(
        config,
        ratings=dataclasses.replace(config.ratings, upload_url="http://127.0.0.1:9/x"),
    )
    st = Store(cfg, db_url)
    try:
        _finished(st)
        st.run(st.ops.rate, GATEWAY, {"window": 1, "level": 5})
        (data,) = [d for k, d in st.events if k == "rating.recorded"]
        published = [(1, st.clock(), "rating.recorded", data)]
        for _ in range(2):
            st.committer.call(lambda c, n: (national.enqueue(c, n, cfg, published), []))
        rows = _rows(st, s.notifications)
        assert [(r["key"], r["channel"]) for r in rows] == [(f"upload:R{data['case']}", "upload")]
        assert "13812341234" not in rows[0]["payload"]
    finally:
        st.close()


def test_hallq_ratings_export_writes_the_national_csv(config, sqlite_url, tmp_path):
    from .test_config import TEST_HALL, run_cli

    st = Store(config, sqlite_url)
    try:
        t = _finished(st)
        st.run(st.ops.rate, _citizen(t), {"level": 1, "phone": PHONE, "consent": True})
    finally:
        st.close()
    out = tmp_path / "ratings.csv"
    day = "2026-11-24"
    args = ("--config", str(TEST_HALL), "--db", sqlite_url, "--from", day, "--to", day)
    done = run_cli("ratings", "export", "ratings", *args, "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff记录编号,办件编号,评价渠道") and PHONE not in text
    assert len(text.strip().splitlines()) == 2
    bad = run_cli("ratings", "export", "ratings", *args[:4], "--from", "2026-12-01", "--to", day)
    assert bad.returncode == 1 and "before it starts" in bad.stderr


def test_the_number_is_only_in_its_one_column_and_in_no_log(config, db_url, caplog):
    """Through the real server at DEBUG: after a rating with a call-back number, every
    table's every text column and every log line are searched; the number is only in
    ``rectifications.phone``, and gone from there once the record is dismissed."""
    import asyncio
    import logging

    from sqlalchemy import String, Text

    from queue_server.client import HallClient

    from .harness import Clock, connected, running_hall

    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        async with running_hall(config, db_url, Clock()) as hall:
            async with (
                connected(hall.port, "kiosk-1-secret") as kiosk,
                connected(hall.port, "gateway-secret") as gw,
                connected(hall.port, "supervisor-secret") as sup,
            ):
                t = await kiosk.request("ticket.issue", {"service": "general"})
                await gw.request("window.open", {"window": 1})
                await gw.request("call.next", {"window": 1})
                await gw.request("case.finish", {"window": 1})
                await kiosk.request(
                    "rating.submit",
                    {
                        "label": t["label"],
                        "token": t["token"],
                        "level": 1,
                        "phone": "+86 138-1234-1234",
                        "consent": True,
                    },
                )
                (rec,) = (await sup.request("ledger.list"))["records"]
                assert rec["phone"] == "138****1234"
                found = _where_is(hall.engine, PHONE, (String, Text))
                assert found == ["rectifications.phone"]
                head = HallClient(
                    f"ws://127.0.0.1:{hall.port}/",
                    None,
                    staff={"clerk": "h-civil", "pin": "1234", "role": "head"},
                    name="head",
                )
                await head.start()
                await head.wait_online(5)
                await head.request(
                    "ledger.verify", {"id": rec["id"], "outcome": "malicious", "note": "x"}
                )
                await head.close()
                await sup.request("ledger.decide", {"id": rec["id"], "outcome": "uphold"})
                assert _where_is(hall.engine, PHONE, (String, Text)) == []

    asyncio.run(main())
    assert PHONE not in caplog.text and "1234-1234" not in caplog.text


def _where_is(engine, needle: str, kinds) -> list[str]:
    found = []
    with engine.connect() as conn:
        for table in s.metadata.sorted_tables:
            cols = [c for c in table.columns if isinstance(c.type, kinds)]
            for c in cols:
                if conn.execute(select(c).where(c.contains(needle)).limit(1)).first():
                    found.append(f"{table.name}.{c.name}")
    return found
