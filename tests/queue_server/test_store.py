"""Hall operations on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from queue_server.core.states import WindowOp
from queue_server.store import schema as s

from .harness import ADMIN, GATEWAY, KIOSK, SUPERVISOR, Clock, Store, clerk


@pytest.fixture
def store(config, db_url):
    st = Store(config, db_url)
    yield st
    st.close()


def test_numbers_start_at_001_per_queue_and_reset_at_local_midnight(store):
    labels = [store.issue("general")["label"] for _ in range(3)]
    labels.append(store.issue("marriage")["label"])
    assert labels == ["A001", "A002", "A003", "B001"]
    # 23:59:59 Shanghai still today; the next second is a new day, numbers restart
    store.clock.now = dt.datetime(2026, 11, 24, 15, 59, 59, tzinfo=dt.UTC)
    assert store.issue("general")["label"] == "A004"
    store.clock.advance(seconds=1)
    assert store.issue("general")["label"] == "A001"


def test_issue_reply_has_estimate_and_an_unguessable_token(store):
    first = store.issue("general")
    second = store.issue("general", language="en")
    assert first["people_ahead"] == 0 and second["people_ahead"] == 1
    assert second["est_wait_minutes"] == 8  # default 8 min, no window open counts as one
    assert second["language"] == "en"
    assert len(first["token"]) >= 20 and first["token"] != second["token"]
    assert second["url"].endswith("/t/" + second["token"])
    kinds = [k for k, _ in store.events]
    assert kinds.count("ticket.issued") == 2
    assert all("token" not in data for _, data in store.events)


def test_bad_issue_requests_get_reasons(store):
    assert store.refused(store.ops.issue, KIOSK, {"service": "nope"}).code == "unknown_service"
    assert (
        store.refused(store.ops.issue, KIOSK, {"service": "general", "language": "fr"}).code
        == "bad_request"
    )
    assert (
        store.refused(store.ops.issue, KIOSK, {"service": "general", "priority": "vip"}).code
        == "bad_request"
    )


def test_daily_caps_refuse_with_reason(store):
    store.issue("party-fee")
    store.issue("party-fee")
    err = store.refused(store.ops.issue, KIOSK, {"service": "party-fee"})
    assert err.code == "daily_cap"
    store.issue("party-transfer")  # queue C cap is 3: one left
    assert store.refused(store.ops.issue, KIOSK, {"service": "party-transfer"}).code == "daily_cap"


def test_call_order_priority_then_preference_then_oldest(store):
    store.open(1)
    store.open(2)
    a1 = store.issue("general")["label"]
    store.clock.advance(seconds=1)
    b1 = store.issue("marriage")["label"]
    store.clock.advance(seconds=1)
    a2 = store.issue("general", priority="elderly")["label"]
    got1 = store.call_next(1)["ticket"]["label"]
    assert got1 == a2  # priority first
    store.finish(1)
    assert store.call_next(2)["ticket"]["label"] == b1  # window 2 prefers B
    assert store.call_next(1)["ticket"]["label"] == a1
    store.finish(1)
    assert store.call_next(1) == {"ticket": None, "window": 1}  # nobody left


def test_a_ticket_is_never_called_twice_and_window_rules_hold(store):
    store.issue("general")
    assert store.refused(store.ops.call_next, GATEWAY, {"window": 1}).code == "window_closed"
    store.open(1)
    store.open(2)
    store.run(store.ops.window_op, GATEWAY, {"window": 2}, WindowOp.PAUSE)
    assert store.refused(store.ops.call_next, GATEWAY, {"window": 2}).code == "window_paused"
    store.run(store.ops.window_op, GATEWAY, {"window": 2}, WindowOp.RESUME)
    assert store.call_next(1)["ticket"]["label"] == "A001"
    assert store.call_next(2)["ticket"] is None
    assert store.refused(store.ops.call_next, GATEWAY, {"window": 1}).code == "window_busy"
    assert (
        store.refused(store.ops.window_op, GATEWAY, {"window": 1}, WindowOp.CLOSE).code
        == "window_busy"
    )


def test_clerk_acts_only_on_its_own_window(store):
    store.open(1)
    err = store.refused(store.ops.call_next, clerk(2), {"window": 1})
    assert err.code == "forbidden"
    store.issue("general")
    assert store.run(store.ops.call_next, clerk(1), {})["ticket"]["label"] == "A001"


def test_recall_limit_no_show_and_rejoin_by_original_time(store):
    store.open(1)
    first = store.issue("general")
    store.clock.advance(minutes=1)
    store.issue("general")
    store.call_next(1)
    store.run(store.ops.recall, GATEWAY, {"window": 1})
    store.run(store.ops.recall, GATEWAY, {"window": 1})
    assert store.refused(store.ops.recall, GATEWAY, {"window": 1}).code == "recall_limit"
    store.run(store.ops.no_show, GATEWAY, {"window": 1})
    assert store.refused(store.ops.start, GATEWAY, {"window": 1}).code == "no_current"
    store.clock.advance(minutes=5)
    store.run(store.ops.rejoin, SUPERVISOR, {"label": first["label"]})
    # rejoined by its original time: it goes before A002
    assert store.call_next(1)["ticket"]["label"] == "A001"


def test_rejoin_refused_after_the_configured_time(store):
    store.open(1)
    store.issue("general")
    store.call_next(1)
    store.run(store.ops.no_show, GATEWAY, {"window": 1})
    store.clock.advance(minutes=31)
    assert store.refused(store.ops.rejoin, SUPERVISOR, {"label": "A001"}).code == "rejoin_expired"


def test_transfer_keeps_original_time_and_target_window(store):
    store.open(1)
    store.open(3)
    t1 = store.issue("party-transfer")
    store.clock.advance(minutes=2)
    store.issue("general")
    store.clock.advance(minutes=2)
    store.call_next(3)
    # C001 is sent to queue A: it goes ahead of A001 (issued later than C001)
    store.run(store.ops.transfer, GATEWAY, {"window": 3, "to_queue": "A"})
    assert store.call_next(1)["ticket"]["label"] == t1["label"]
    store.finish(1)
    # transfer to a window: refused while it is closed (the ticket would wait unseen)...
    store.call_next(1)
    refused = store.refused(store.ops.transfer, GATEWAY, {"window": 1, "to_window": 2})
    assert refused.code == "window_closed"
    # ...and once it is open, only that window may call it
    store.open(2)
    store.run(store.ops.transfer, GATEWAY, {"window": 1, "to_window": 2})
    assert store.call_next(1)["ticket"] is None
    assert store.call_next(2)["ticket"]["label"] == "A001"
    kinds = [k for k, _ in store.events]
    assert kinds.count("ticket.transferred") == 2


def test_finish_rate_once_dissatisfied_alert_and_timeout(store):
    store.open(1)
    first = store.issue("general")
    store.call_next(1)
    store.run(store.ops.start, GATEWAY, {"window": 1})
    store.clock.advance(minutes=4)
    done = store.finish(1)
    assert (
        "rating.requested",
        {
            "case": done["case"],
            "window": 1,
            "label": "A001",
            "ticket_id": 1,
            "due": (store.clock.now + dt.timedelta(seconds=60)).isoformat(),
            "scale": 5,
        },
    ) in store.events
    r = store.run(store.ops.rate, GATEWAY, {"window": 1, "level": 2})
    assert r["meaning"] == "dissatisfied" and r["source"] == "device"
    assert any(k == "rating.dissatisfied" for k, _ in store.events)
    again = store.refused(
        store.ops.rate, KIOSK, {"label": "A001", "check": first["check"], "level": 5}
    )
    assert again.code == "already_rated"
    # a second case times out and is recorded "not rated"
    second = store.issue("general")
    store.call_next(1)
    store.finish(1)
    store.clock.advance(seconds=61)
    with store.engine.begin() as conn:
        expired = store.ops.expire_ratings(conn, store.clock())
    assert [k for k, _ in expired] == ["rating.not_rated"]
    assert (
        store.refused(
            store.ops.rate, KIOSK, {"label": "A002", "check": second["check"], "level": 5}
        ).code
        == "rating_closed"
    )
    with store.engine.begin() as conn:
        states = dict(conn.execute(select(s.cases.c.id, s.cases.c.rating_state)).all())
    assert sorted(states.values()) == ["not_rated", "rated"]


def test_snapshot_carries_todays_ratings_per_window(store):
    store.open(1)
    for level in (5, 2):
        store.issue("general")
        store.call_next(1)
        store.finish(1)
        store.run(store.ops.rate, GATEWAY, {"window": 1, "level": level})
    snap = store.read(store.ops.snapshot)
    assert snap["ratings_today"] == [{"window": 1, "rated": 2, "satisfied": 1}]
    store.clock.advance(days=1)
    assert store.read(store.ops.snapshot)["ratings_today"] == []


def test_rating_outside_scale_is_refused(store):
    store.open(1)
    store.issue("general")
    store.call_next(1)
    store.finish(1)
    assert store.refused(store.ops.rate, KIOSK, {"label": "A001", "level": 0}).code == "bad_rating"


def test_overdue_case_turns_red_once(store):
    store.open(1)
    store.issue("general")  # time limit 10 min
    store.call_next(1)
    store.clock.advance(minutes=11)
    with store.engine.begin() as conn:
        first = store.ops.flag_overdue(conn, store.clock())
        second = store.ops.flag_overdue(conn, store.clock())
    assert [k for k, _ in first] == ["case.overdue"] and second == []


def test_appointments(store):
    start = store.clock.now + dt.timedelta(minutes=10)
    appt = store.run(
        store.ops.appointment_create,
        ADMIN,
        {
            "service": "general",
            "start": start.isoformat(),
            "end": (start + dt.timedelta(minutes=30)).isoformat(),
            "language": "en",
        },
    )
    assert appt["code"].isdigit() and len(appt["code"]) == 8
    assert (
        store.refused(store.ops.appointment_checkin, KIOSK, {"code": "00000000"}).code
        == "appointment_unknown"
    )
    store.issue("general")
    t = store.run(store.ops.appointment_checkin, KIOSK, {"code": appt["code"]})
    assert t["priority"] == "appointment" and t["language"] == "en"
    assert (
        store.refused(store.ops.appointment_checkin, KIOSK, {"code": appt["code"]}).code
        == "appointment_used"
    )
    # due at its slot: called before the earlier ordinary ticket
    store.open(1)
    store.clock.now = start
    assert store.call_next(1)["ticket"]["label"] == t["label"]


def test_expired_appointment_is_refused(store):
    start = store.clock.now - dt.timedelta(hours=2)
    appt = store.run(
        store.ops.appointment_create,
        ADMIN,
        {
            "service": "general",
            "start": start.isoformat(),
            "end": (start + dt.timedelta(minutes=30)).isoformat(),
        },
    )
    assert (
        store.refused(store.ops.appointment_checkin, KIOSK, {"code": appt["code"]}).code
        == "appointment_expired"
    )


def test_cancel_and_audit_trail(store):
    store.open(1)
    store.issue("general")
    store.call_next(1)
    store.run(store.ops.cancel, GATEWAY, {"label": "A001"})
    with store.engine.begin() as conn:
        ops = [r.op for r in conn.execute(select(s.audit.c.op).order_by(s.audit.c.id))]
        window = conn.execute(select(s.windows).where(s.windows.c.number == 1)).mappings().one()
    assert ops == ["window.open", "ticket.issue", "call.next", "ticket.cancel"]
    assert window["ticket_id"] is None


def test_device_state_kept_and_changes_published_once(store):
    kiosk = KIOSK
    store.run(store.ops.device_report, kiosk, {"part": "printer", "state": "paper_out"})
    store.run(store.ops.device_report, kiosk, {"part": "printer", "state": "paper_out"})
    store.run(store.ops.device_report, kiosk, {"part": "printer", "state": "ok"})
    assert [d["state"] for k, d in store.events if k == "device.state"] == ["paper_out", "ok"]
    snap = store.read(store.ops.snapshot)
    assert snap["devices"][0]["state"] == "ok"
    assert (
        store.refused(store.ops.device_report, kiosk, {"device": "kiosk-2", "state": "ok"}).code
        == "forbidden"
    )


def test_snapshot_and_phone_status(store):
    store.open(1)
    first = store.issue("general")
    second = store.issue("general")
    store.call_next(1)
    snap = store.read(store.ops.snapshot)
    w1 = next(w for w in snap["windows"] if w["number"] == 1)
    assert w1["ticket"] == "A001" and w1["status"] == "open"
    qa = next(q for q in snap["queues"] if q["queue"] == "A")
    assert qa["waiting"] == 1 and qa["open_windows"] == 1
    assert snap["recent_calls"][0]["label"] == "A001"
    status = store.read(store.ops.ticket_status, second["token"])
    assert status["status"] == "waiting" and status["people_ahead"] == 0
    assert store.read(store.ops.ticket_status, first["token"])["status"] == "called"
    store.clock.advance(days=1)
    with pytest.raises(Exception) as exc:
        store.read(store.ops.ticket_status, first["token"])
    assert getattr(exc.value, "code", None) == "unknown_ticket"


def test_sql_call_order_matches_the_core(config, sqlite_url):
    """The SQL ORDER BY of call_next is a mirror of rules.call_key: check them together."""
    import random

    from queue_server.core import rules

    rng = random.Random(7)
    st = Store(config, sqlite_url, Clock())
    try:
        for w in (1, 2):
            st.open(w)
        for _ in range(40):
            st.clock.advance(seconds=rng.randint(0, 3))
            service = rng.choice(["general", "marriage"])
            st.issue(service, priority=rng.choice([None, None, "elderly"]))
        with st.engine.begin() as conn:
            rows = conn.execute(select(s.tickets)).mappings().all()
        pool = [rules.Candidate(r["id"], r["queue"], r["sort_at"], r["priority"]) for r in rows]
        order = []
        for i in range(40):
            w = 1 + i % 2
            wq = config.window(w).queues
            expected = rules.select_next(pool, w, wq, st.clock.now)
            got = st.call_next(w)["ticket"]
            assert got["id"] == expected.id
            pool.remove(expected)
            order.append(got["label"])
            st.finish(w)
        assert len(set(order)) == 40
        with st.engine.begin() as conn:
            assert conn.execute(select(func.count()).select_from(s.cases)).scalar() == 40
    finally:
        st.close()


def test_prune_forgets_old_keys_and_events_only(store):
    from sqlalchemy import insert

    with store.engine.begin() as conn:
        old = store.clock.now - dt.timedelta(days=4)
        conn.execute(insert(s.idempotency).values(actor="k", key="old", op="x", reply="{}", at=old))
        conn.execute(
            insert(s.idempotency).values(
                actor="k", key="new", op="x", reply="{}", at=store.clock.now
            )
        )
        conn.execute(insert(s.events).values(at=old, type="x", payload="{}"))
        conn.execute(insert(s.events).values(at=store.clock.now, type="y", payload="{}"))
        store.ops.prune(conn, store.clock.now)
        keys = [r.key for r in conn.execute(select(s.idempotency.c.key))]
        types = [r.type for r in conn.execute(select(s.events.c.type))]
    assert keys == ["new"] and types == ["y"]


def test_a_rejoined_ticket_belongs_to_the_window_that_calls_it_again(store):
    store.open(1)
    store.open(2)
    store.issue("general")
    store.call_next(1)
    store.run(store.ops.no_show, GATEWAY, {"window": 1})
    store.run(store.ops.rejoin, SUPERVISOR, {"label": "A001"})
    assert store.call_next(2)["ticket"]["label"] == "A001"
    # window 1 is free and cannot act on the ticket window 2 now serves
    assert store.refused(store.ops.recall, GATEWAY, {"window": 1}).code == "no_current"
    assert store.refused(store.ops.finish, GATEWAY, {"window": 1}).code == "no_current"
    assert store.call_next(1)["ticket"] is None
    store.finish(2)


def test_appointment_codes_are_case_insensitive_and_cases_rated_by_id_only_by_devices(store):
    start = store.clock.now
    store.run(
        store.ops.appointment_create,
        ADMIN,
        {
            "service": "general",
            "code": "low123",
            "start": start.isoformat(),
            "end": (start + dt.timedelta(minutes=30)).isoformat(),
        },
    )
    t = store.run(store.ops.appointment_checkin, KIOSK, {"code": "LOW123"})
    store.open(1)
    store.call_next(1)
    done = store.finish(1)
    assert t["priority"] == "appointment"
    assert (
        store.refused(store.ops.rate, KIOSK, {"case": done["case"], "level": 5}).code == "forbidden"
    )
    assert store.run(store.ops.rate, GATEWAY, {"case": done["case"], "level": 5})["level"] == 5


def test_dissatisfied_ratings_open_ledger_records_and_good_ones_do_not(store):
    store.open(1)
    for level in (2, 5, 1):
        store.issue("general")
        store.call_next(1)
        store.finish(1)
        store.run(store.ops.rate, GATEWAY, {"window": 1, "level": level})
        store.clock.advance(minutes=1)
    listed = store.read(lambda c, n: store.ops.ledger.list(c, SUPERVISOR, {}, n))
    assert [(r["level"], r["state"], r["department"]) for r in listed["records"]] == [
        (1, "open", "civil"),
        (2, "open", "civil"),
    ]
    assert [k for k, _ in store.events].count("ledger.opened") == 2
