"""The read-only report operations (window.waiting, clerk.today) on a real database.

Both are checked against what the hall operations then do: the waiting list's first
ticket is always the one call.next calls next; the figures add up the cases just served.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from queue_server.core.errors import HallError
from queue_server.store import reports
from tests.queue_server.harness import GATEWAY, SUPERVISOR, Store, clerk


@pytest.fixture
def store(config, db_url) -> Iterator[Store]:
    st = Store(config, db_url)
    yield st
    st.close()


def waiting(store: Store, window: int) -> list[str]:
    got = store.read(reports.window_waiting, store.ops, clerk(window), {"window": window})
    return [t["label"] for t in got["waiting"]]


def test_waiting_list_is_the_call_order(store: Store) -> None:
    store.open(1)
    store.open(2)
    store.issue("marriage")  # B001
    store.clock.advance(minutes=1)
    store.issue("general")  # A001
    store.clock.advance(minutes=1)
    store.issue("general", priority="elderly")  # A002, priority
    store.clock.advance(minutes=1)
    store.issue("marriage")  # B002
    store.issue("party-transfer")  # C001: not served at windows 1 and 2
    # Window 1 prefers A, window 2 prefers B; priority goes first everywhere.
    assert waiting(store, 1) == ["A002", "A001", "B001", "B002"]
    assert waiting(store, 2) == ["A002", "B001", "B002", "A001"]
    # A ticket sent to window 2 waits for window 2 only.
    store.call_next(1)  # A002
    store.run(store.ops.transfer, GATEWAY, {"window": 1, "to_window": 2})
    assert "A002" not in waiting(store, 1)
    assert waiting(store, 2)[0] == "A002"
    # Drain window 1: every call takes the head of the list it showed just before.
    while expected := waiting(store, 1):
        assert store.call_next(1)["ticket"]["label"] == expected[0]
        store.finish(1)
    assert store.call_next(1)["ticket"] is None


def test_waiting_list_shows_the_current_ticket_and_limits(store: Store) -> None:
    store.open(1)
    for _ in range(4):
        store.issue("general")
    store.call_next(1)
    got = store.read(reports.window_waiting, store.ops, clerk(1), {"window": 1, "limit": 2})
    assert got["current"]["label"] == "A001"
    assert got["current"]["status"] == "called"
    assert [t["label"] for t in got["waiting"]] == ["A002", "A003"]
    assert got["total"] == 3
    store.finish(1)
    got = store.read(reports.window_waiting, store.ops, clerk(1), {})
    assert got["current"]["rating_state"] == "pending"
    assert got["status"] == "open"


def test_a_clerk_sees_only_its_own_window_and_figures(store: Store) -> None:
    with pytest.raises(HallError) as exc:
        store.read(reports.window_waiting, store.ops, clerk(1), {"window": 2})
    assert exc.value.code == "forbidden"
    store.open(1, clerk="c001")
    with pytest.raises(HallError) as exc:
        store.read(reports.clerk_today, store.ops, clerk(1), {"clerk": "c003"})
    assert exc.value.code == "forbidden"
    with pytest.raises(HallError) as exc:
        store.read(reports.clerk_today, store.ops, SUPERVISOR, {})
    assert exc.value.code == "bad_request"


def test_todays_figures_for_a_clerk(store: Store) -> None:
    store.open(1, clerk="c001")
    store.open(2, clerk="c002")
    for _ in range(4):
        store.issue("general")
    # A001: served for 4 minutes, rated satisfied.
    store.call_next(1)
    store.run(store.ops.start, GATEWAY, {"window": 1})
    store.clock.advance(minutes=4)
    store.finish(1)
    store.run(store.ops.rate, GATEWAY, {"window": 1, "level": 4})
    # A002: nobody came.
    store.call_next(1)
    store.run(store.ops.no_show, GATEWAY, {"window": 1})
    # A003: served for 2 minutes, rated very dissatisfied.
    store.call_next(1)
    store.clock.advance(minutes=2)
    store.finish(1)
    store.run(store.ops.rate, GATEWAY, {"window": 1, "level": 1})
    # A004 at another clerk's window does not count for c001.
    store.call_next(2)
    store.finish(2)
    got = store.read(reports.clerk_today, store.ops, clerk(1), {})
    assert got["clerk"] == "c001"
    assert got["served"] == 2
    assert got["avg_service_s"] == 180
    assert got["no_shows"] == 1
    assert got["rated"] == 2
    assert got["dissatisfied"] == 1
    assert got["satisfaction"] == 0.5
    # The next service day starts from nothing.
    store.clock.advance(days=1)
    got = store.read(reports.clerk_today, store.ops, SUPERVISOR, {"clerk": "c001"})
    assert got["served"] == 0 and got["satisfaction"] is None and got["avg_service_s"] is None
