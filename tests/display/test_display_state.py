"""The display's model with no window: snapshots, events, zones, highlight, connection."""

from __future__ import annotations

import pytest

from display.state import DisplayFilter, DisplayState, parse_areas

INFO = {
    "name": {"zh": "测试大厅", "en": "Test Hall"},
    "timezone": "Asia/Shanghai",
    "areas": [{"id": "civil", "name": {"zh": "民政"}}, {"id": "party", "name": {"zh": "党务"}}],
    "queues": [
        {"prefix": "A", "name": {"zh": "综合", "en": "General"}, "area": "civil"},
        {"prefix": "B", "name": {"zh": "婚姻", "en": "Marriage"}, "area": "civil"},
        {"prefix": "C", "name": {"zh": "党务", "en": "Party"}, "area": "party"},
    ],
    "windows": [
        {"number": 1, "area": "civil", "queues": ["A", "B"], "name": {"zh": "综合窗口"}},
        {"number": 2, "area": "civil", "queues": ["B", "A"], "name": {}},
        {"number": 3, "area": "party", "queues": ["C"], "name": {}},
    ],
}


def window(number, area, status="open", ticket=None, ticket_status=None, reason=None):
    return {
        "number": number,
        "area": area,
        "status": status,
        "clerk": "c",
        "ticket": ticket,
        "ticket_status": ticket_status,
        "since": None,
        "pause_reason": reason,
    }


def ticket(label, window_no, area, language="zh"):
    return {
        "id": hash(label) % 1000,
        "label": label,
        "queue": label[0],
        "status": "called",
        "language": language,
        "window": window_no,
        "area": area,
        "called_at": "2026-11-24T02:00:00+00:00",
    }


def queue(prefix, waiting, est=None):
    return {
        "queue": prefix,
        "waiting": waiting,
        "longest_wait_s": 0,
        "open_windows": 1,
        "service_minutes": 8.0,
        "est_wait_minutes": est if est is not None else waiting * 8,
    }


SNAP = {
    "day": "2026-11-24",
    "seq": 10,
    "windows": [
        window(1, "civil", ticket="A002", ticket_status="serving"),
        window(2, "civil", status="paused", reason="午休"),
        window(3, "party", status="closed"),
    ],
    "queues": [queue("A", 3), queue("B", 0), queue("C", 5)],
    # newest first, as the server sends them
    "recent_calls": [
        ticket("C001", 3, "party"),
        ticket("A002", 1, "civil"),
        ticket("A001", 2, "civil"),
    ],
    "devices": [],
}


def make(**kw) -> DisplayState:
    state = DisplayState(**kw)
    state.apply_hall_info(INFO)
    state.set_connection("online")
    state.apply_snapshot(SNAP)
    return state


def test_snapshot_fills_windows_queues_and_recent_calls_newest_first():
    s = make()
    assert s.live
    assert s.newest.label == "C001" and s.newest.window == 3
    assert [c.label for c in s.recent()] == ["A002", "A001"]
    assert [w.number for w in s.shown_windows()] == [1, 2, 3]
    assert s.window(1).ticket == "A002" and s.window(1).name == {"zh": "综合窗口"}
    assert s.window(2).status == "paused" and s.window(2).pause_reason == "午休"
    assert [(q.prefix, q.waiting, q.area) for q in s.shown_queues()] == [
        ("A", 3, "civil"),
        ("B", 0, "civil"),
        ("C", 5, "party"),
    ]
    # from a snapshot nothing is "just called": no highlight of old calls
    assert not s.highlighted(now=0.0)


def test_call_event_becomes_newest_and_highlights_for_a_while():
    s = make(highlight_seconds=8)
    changed = s.apply_event("ticket.called", 11, ticket("A003", 2, "civil"), now=100.0)
    assert changed
    assert s.newest.label == "A003" and s.newest.window == 2 and not s.newest.recall
    assert s.window(2).ticket == "A003" and s.window(2).ticket_status == "called"
    assert s.highlighted(now=100.0) and s.highlighted(now=107.9)
    assert not s.highlighted(now=108.1)
    assert s.window_highlighted(2, now=101) and not s.window_highlighted(1, now=101)
    assert s.last_seq == 11


def test_recall_moves_the_ticket_to_the_top_once_and_highlights_again():
    s = make()
    s.apply_event("ticket.called", 11, ticket("A003", 2, "civil"), now=100.0)
    s.apply_event("ticket.called", 12, ticket("A004", 1, "civil"), now=101.0)
    s.apply_event("ticket.recalled", 13, ticket("A003", 2, "civil"), now=150.0)
    labels = [s.newest.label] + [c.label for c in s.recent()]
    assert labels == ["A003", "A004", "C001", "A002", "A001"]
    assert s.newest.recall and s.highlighted(now=151.0)


def test_recent_list_is_bounded():
    s = make(recent_size=3)
    for i in range(10):
        s.apply_event("ticket.called", 20 + i, ticket(f"B{i:03d}", 1, "civil"), now=i)
    assert s.newest.label == "B009"
    assert [c.label for c in s.recent()] == ["B008", "B007", "B006"]


def test_zone_filter_hides_other_areas_calls_windows_and_queues():
    s = make(filter=DisplayFilter(areas=frozenset({"civil"})))
    # the party call in the snapshot is not shown
    assert s.newest.label == "A002"
    assert [w.number for w in s.shown_windows()] == [1, 2]
    assert [q.prefix for q in s.shown_queues()] == ["A", "B"]
    assert not s.apply_event("ticket.called", 11, ticket("C002", 3, "party"), now=1.0)
    assert s.newest.label == "A002"
    assert not s.apply_event("queue.stats", 12, queue("C", 9), now=1.0)
    assert s.apply_event("queue.stats", 13, queue("A", 9), now=1.0)
    assert s.queues["A"].waiting == 9
    assert not s.apply_event("window.changed", 14, window(3, "party", "open"), now=1.0)
    assert s.apply_event("ticket.called", 15, ticket("B001", 1, "civil"), now=1.0)


def test_window_filter_follows_one_window_through_its_states():
    s = make(filter=DisplayFilter(window=2))
    assert [w.number for w in s.shown_windows()] == [2]
    assert s.window(2).status == "paused"
    assert not s.apply_event("ticket.called", 11, ticket("A003", 1, "civil"), now=1.0)
    assert s.apply_event("window.changed", 12, window(2, "civil", "open"), now=2.0)
    assert s.apply_event("ticket.called", 13, ticket("A004", 2, "civil"), now=3.0)
    assert s.window_highlighted(2, now=4.0)
    # the window.changed that follows a call keeps the highlight's start
    s.apply_event(
        "window.changed", 14, window(2, "civil", ticket="A004", ticket_status="called"), now=3.5
    )
    assert s.window_highlighted(2, now=4.0)
    s.apply_event(
        "window.changed", 15, window(2, "civil", ticket="A004", ticket_status="serving"), now=5.0
    )
    assert not s.window_highlighted(2, now=5.5)
    s.apply_event("window.changed", 16, window(2, "civil", status="closed"), now=6.0)
    assert s.window(2).status == "closed" and s.window(2).ticket is None


def test_connection_loss_makes_the_display_not_live_until_online_again():
    s = make()
    seen = []
    s.listeners.append(seen.append)
    s.set_connection("offline")
    assert not s.live and seen == ["connection"]
    s.set_connection("offline")  # no change, no redraw
    assert seen == ["connection"]
    s.set_connection("online")
    assert not s.live  # online, but what was missed has not arrived yet
    s.apply_snapshot(dict(SNAP, seq=40))
    assert s.live


def test_replayed_events_older_than_the_state_are_ignored():
    s = make()  # snapshot at seq 10
    assert not s.apply_event("ticket.called", 9, ticket("A077", 1, "civil"), now=1.0)
    assert s.apply_event("ticket.called", 11, ticket("A078", 1, "civil"), now=1.0)
    assert not s.apply_event("window.changed", 11, window(1, "civil", "closed"), now=1.0)
    assert s.window(1).status == "open" and s.newest.label == "A078"
    # a server on a fresh database numbers from 1 again: its snapshot is the truth
    s.apply_snapshot(dict(SNAP, seq=2, recent_calls=[]))
    assert s.newest is None
    assert s.apply_event("ticket.called", 3, ticket("A001", 1, "civil"), now=2.0)


def test_not_live_before_the_first_snapshot():
    s = DisplayState()
    s.set_connection("online")
    assert not s.live
    s.apply_snapshot(SNAP)
    assert s.live


def test_resync_snapshot_replaces_everything_seen_before():
    s = make()
    s.apply_event("ticket.called", 11, ticket("A009", 1, "civil"), now=1.0)
    s.apply_event("queue.stats", 12, queue("A", 42), now=1.0)
    s.apply_snapshot(dict(SNAP, seq=30))
    assert s.newest.label == "C001" and s.queues["A"].waiting == 3
    assert "A009" not in [c.label for c in s.calls]
    assert s.last_seq == 30


def test_satisfaction_counts_what_the_server_marks_satisfied_in_the_zone():
    from queue_server.core.rules import is_satisfied

    s = make(filter=DisplayFilter(areas=frozenset({"civil"})))
    assert s.satisfaction.rate is None
    for w, level in ((1, 5), (2, 4), (1, 3), (2, 2), (3, 1)):
        data = {"window": w, "level": level, "satisfied": is_satisfied(level)}
        s.apply_event("rating.recorded", None, data, now=1.0)
    # satisfied or better (4, 5) of the zone's four ratings; 3 is not satisfied
    assert s.satisfaction.rated == 4 and s.satisfaction.rate == pytest.approx(0.5)
    s.new_day("2026-11-25")
    assert s.satisfaction.rate is None and s.newest is None


def test_snapshot_brings_the_days_satisfaction_and_later_ratings_add_to_it():
    s = make(filter=DisplayFilter(areas=frozenset({"civil"})))
    today = [{"window": 1, "rated": 3, "satisfied": 3}, {"window": 3, "rated": 5, "satisfied": 0}]
    s.apply_snapshot(dict(SNAP, seq=50, ratings_today=today))
    assert s.satisfaction.rated == 3 and s.satisfaction.rate == 1.0  # window 3 is party
    s.apply_event("rating.recorded", 51, {"window": 2, "level": 1}, now=1.0)
    assert s.satisfaction.rated == 4 and s.satisfaction.rate == pytest.approx(0.75)
    # a resync replaces the tally rather than adding to it
    s.apply_snapshot(dict(SNAP, seq=60, ratings_today=today))
    assert s.satisfaction.rated == 3


def test_events_that_change_nothing_shown_do_not_redraw():
    s = make()
    v = s.version
    assert not s.apply_event("ticket.issued", 11, {"label": "A010"}, now=1.0)
    assert not s.apply_event("device.state", 12, {"device": "kiosk-1"}, now=1.0)
    assert s.version == v and s.last_seq == 12


def test_hall_info_after_snapshot_fills_names_and_queue_areas():
    s = DisplayState(filter=DisplayFilter(areas=frozenset({"party"})))
    s.apply_snapshot(SNAP)
    # queue areas are unknown until hall.info: shown rather than hidden
    assert [q.prefix for q in s.shown_queues()] == ["A", "B", "C"]
    s.apply_hall_info(INFO)
    assert [q.prefix for q in s.shown_queues()] == ["C"]
    assert s.window(1).name == {"zh": "综合窗口"}


def test_parse_areas():
    assert parse_areas(None) is None and parse_areas(" ") is None
    assert parse_areas("civil, party") == frozenset({"civil", "party"})
    with pytest.raises(ValueError, match="unknown area.*nope"):
        parse_areas("civil,nope", known=["civil", "party"])


def test_the_day_turns_by_the_halls_clock_not_the_display_pcs():
    """A display PC whose clock is days ahead of the server (or a test hall living in
    another day) must not wipe the calls at its own midnight: the day comes from the
    times the server stamps on its events."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    state = make()
    wall = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)  # the PC: six days later
    assert state.hall_day(wall, tz) is None  # nothing heard from the server yet
    state.note_server_time("ticket.called", ticket("A003", 1, "civil"), wall)
    assert state.hall_day(wall, tz) == "2026-11-24"  # 10:00 in the hall, still its day
    # Fourteen hours later on any clock, it is past midnight in the hall.
    assert state.hall_day(wall + dt.timedelta(hours=14), tz) == "2026-11-25"
    # Stamps of other kinds (a transfer carries the ticket's old issue time) teach nothing.
    state.server_offset = None
    state.note_server_time("ticket.transferred", ticket("A003", 1, "civil"), wall)
    assert state.server_offset is None


def test_one_call_event_applies_the_ticket_its_window_and_its_queue_under_one_seq():
    """A display subscribed with calls "combined" gets a call as one ``call`` event."""
    s = make(highlight_seconds=8)
    data = {
        "ticket": ticket("A003", 2, "civil"),
        "window": window(2, "civil", ticket="A003", ticket_status="called"),
        "queue": queue("A", 2),
        "seqs": [11, 12, 13],
    }
    assert s.apply_event("call", 13, data, now=100.0)
    assert s.newest.label == "A003" and s.newest.window == 2
    assert s.window(2).ticket == "A003" and s.window(2).status == "open"
    assert s.window_highlighted(2, now=101)
    assert {q.prefix: q.waiting for q in s.shown_queues()}["A"] == 2
    assert s.last_seq == 13
    # the same call again (a replay after a fresher state) changes nothing
    stale = dict(data, ticket=ticket("A009", 1, "civil"), queue=queue("A", 7))
    assert not s.apply_event("call", 13, stale, now=101.0)
    assert s.newest.label == "A003"
    assert {q.prefix: q.waiting for q in s.shown_queues()}["A"] == 2
