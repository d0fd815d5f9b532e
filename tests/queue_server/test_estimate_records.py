"""The live measure of the wait estimate (issue 15): every called ticket keeps the wait
it was promised at issue beside the wait it had; ``estimate.accuracy`` gives today's
error per queue, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import statistics
import tomllib
from collections.abc import Iterator

import pytest

from queue_server.config import parse_config
from queue_server.core import estimate
from queue_server.core.errors import HallError
from queue_server.store import estimate_records

from .harness import SUPERVISOR, Clock, Store
from .test_estimate_causes import HALL, SHANGHAI


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    config = parse_config(tomllib.loads(HALL))
    st = Store(config, db_url, Clock(dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)))
    yield st
    st.close()


def accuracy(store: Store, **args: object) -> dict:
    return store.read(estimate_records.accuracy, store.ops, SUPERVISOR, args)


def test_each_called_ticket_keeps_what_it_was_told_and_what_it_waited(store: Store) -> None:
    store.open(1)  # window 1 serves A only
    told = [store.issue("sa") for _ in range(3)]
    gone = store.issue("sa")
    other = store.issue("sn")  # queue N: no window open, never called today
    store.call_next(1)
    store.clock.advance(minutes=10)
    store.finish(1)
    store.call_next(1)
    store.clock.advance(minutes=3)
    store.run(store.ops.recall, *_window(1))  # a recall is not a second wait
    store.clock.advance(minutes=2)
    store.finish(1)
    store.call_next(1)
    store.run(store.ops.cancel, SUPERVISOR, {"label": gone["label"]})
    waits = [0.0, 10.0, 15.0]
    got = accuracy(store, rows=True)
    assert [q["queue"] for q in got["queues"]] == ["A"]  # N's ticket has no wait yet
    a = got["queues"][0]
    assert a == got["all"] | {"queue": "A"}
    assert a["n"] == 3
    errors = [abs(t["est_wait_minutes"] - w) for t, w in zip(told, waits, strict=True)]
    assert a["mae_min"] == round(statistics.fmean(errors), 1)
    assert a["mean_wait_min"] == round(statistics.fmean(waits), 1)
    under = sum(1 for t, w in zip(told, waits, strict=True) if t["est_wait_minutes"] < w)
    assert a["too_low"] == round(under / 3, 3)
    inside = sum(
        1
        for t, w in zip(told, waits, strict=True)
        if t["est_wait_low"] <= round(w) <= t["est_wait_high"]
    )
    assert a["covered"] == round(inside / 3, 3)
    rows = got["rows"]
    assert [r["ticket"] for r in rows] == [t["label"] for t in told]
    assert [r["waited_minutes"] for r in rows] == waits
    assert [(r["told_minutes"], r["told_low"], r["told_high"]) for r in rows] == [
        (t["est_wait_minutes"], t["est_wait_low"], t["est_wait_high"]) for t in told
    ]
    assert other["label"] not in {r["ticket"] for r in rows}
    # Numbers only: nothing of the citizen (no token, no check code, no person).
    assert set(rows[0]) == {
        "ticket", "queue", "issued_at", "told_minutes", "told_low", "told_high",
        "called_at", "waited_minutes",
    }  # fmt: skip


def test_another_day_and_a_bad_day(store: Store) -> None:
    store.open(1)
    store.issue("sa")
    store.call_next(1)
    assert accuracy(store)["all"]["n"] == 1
    assert accuracy(store, day="2026-11-23")["all"]["n"] == 0
    try:
        accuracy(store, day="yesterday")
    except HallError as exc:
        assert exc.code == "bad_request"
    else:
        raise AssertionError("a bad day was accepted")


def _window(number: int) -> tuple:
    from .harness import GATEWAY

    return GATEWAY, {"window": number}


def test_the_same_hour_of_past_days_is_blended_into_the_arrival_rate(store: Store) -> None:
    """Issue 15: the last hour alone misses the peak coming; past days know the shape."""
    store.clock.now = dt.datetime(2026, 11, 23, 10, 5, tzinfo=SHANGHAI)  # yesterday
    for _ in range(12):
        store.issue("sb")
        store.clock.advance(minutes=3)
    store.clock.now = dt.datetime(2026, 11, 24, 8, 55, tzinfo=SHANGHAI)
    store.issue("sb")  # today: one B ticket
    store.clock.now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    hall = store.read(store.ops._hall_now, "A")
    # Yesterday 10:00-11:00: 12 B tickets in the hour; today's last hour: none (08:55 is
    # outside it): the past day's 12 per 60 minutes.
    assert hall.flows["B"].ordinary == pytest.approx(12 / 60)
    store.clock.now = dt.datetime(2026, 11, 24, 9, 30, tzinfo=SHANGHAI)
    hall = store.read(store.ops._hall_now, "A")
    # 09:30-10:30 yesterday held the first 9 tickets (10:05 ... 10:29); today's last hour
    # one ticket in the 60 minutes open since 08:30: the higher of the two.
    assert hall.flows["B"].ordinary == pytest.approx(9 / 60)


def test_the_past_raises_the_projected_rate_never_lowers_it() -> None:
    recent = {"A": estimate.Flow(0.2, 0.01), "B": estimate.Flow(0.1, 0.0)}
    past = {"A": estimate.Flow(0.1, 0.05), "C": estimate.Flow(0.3, 0.02)}
    got = estimate.blend_flows(recent, past, 1.0)
    assert got == {
        "A": estimate.Flow(0.2, 0.05),  # the last hour's higher ordinary rate is kept
        "B": estimate.Flow(0.1, 0.0),  # no past: its own
        "C": estimate.Flow(0.3, 0.02),  # nothing in the last hour, the past's
    }
    half = estimate.blend_flows(recent, past, 0.5)
    assert half["A"] == estimate.Flow(0.2, pytest.approx(0.03))
    assert estimate.blend_flows(recent, {}, 1.0) == recent


def test_the_wait_is_until_the_first_call_only(store: Store) -> None:
    """A no-show who rejoins is called again later: that is not what was promised."""
    from .harness import GATEWAY

    store.open(1)
    t = store.issue("sa")
    store.clock.advance(minutes=4)
    store.call_next(1)
    store.run(store.ops.no_show, GATEWAY, {"window": 1})
    store.run(store.ops.rejoin, SUPERVISOR, {"label": t["label"]})
    store.clock.advance(minutes=20)
    store.call_next(1)
    rows = accuracy(store, rows=True)["rows"]
    assert [r["waited_minutes"] for r in rows] == [4.0]
