"""The pure announcement queue, driven by a fake clock and a fake loudspeaker."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from display.voice.queue import (
    Announcement,
    AnnouncementQueue,
    BacklogPolicy,
    Mode,
    Spoken,
)
from display.voice.text import CallKind, CallRequest


def call(ticket: str, window: int = 3, kind: CallKind = CallKind.CALL) -> CallRequest:
    return CallRequest(ticket, window, "zh", kind)


def seconds_for(a: Announcement) -> float:
    """A stand-in loudspeaker: 1.2 s chime, 3 s per call per repeat."""
    return 1.2 + 3.0 * a.repeats * len(a.calls)


def simulate(q: AnnouncementQueue, arrivals: list[tuple[float, CallRequest]]) -> list[Spoken]:
    """Run the queue as the player does: take when free, finish when the sound ends."""
    events = sorted(arrivals, key=lambda a: a[0])
    now, i, busy_until, current = 0.0, 0, None, None
    while i < len(events) or current is not None or q.waiting:
        next_arrival = events[i][0] if i < len(events) else float("inf")
        if current is not None and busy_until is not None and busy_until <= next_arrival:
            now = busy_until
            q.finish(current.id, now)
            current, busy_until = None, None
        elif i < len(events) and (current is not None or not q.waiting):
            now = max(now, next_arrival)
            q.push(events[i][1], now)
            i += 1
        if current is None:
            current = q.take(now)
            if current is not None:
                busy_until = now + seconds_for(current)
    return list(q.history)


def assert_no_overlap(history: list[Spoken]) -> None:
    for a, b in zip(history, history[1:], strict=False):
        assert a.started <= a.ended <= b.started, (a, b)


def test_two_calls_close_together_follow_one_another() -> None:
    q = AnnouncementQueue()
    history = simulate(q, [(0.0, call("A001", 3)), (0.4, call("A002", 5))])
    assert [h.announcement.tickets for h in history] == [("A001",), ("A002",)]
    assert [h.announcement.mode for h in history] == [Mode.NORMAL, Mode.NORMAL]
    # Said once unless the hall configures a repeat (issue 12).
    assert [h.announcement.repeats for h in history] == [1, 1]
    assert [(h.started, h.ended) for h in history] == [(0.0, 4.2), (4.2, 8.4)]
    assert_no_overlap(history)


def test_take_while_speaking_is_refused() -> None:
    q = AnnouncementQueue()
    q.push(call("A001"), 0.0)
    q.push(call("A002"), 0.1)
    first = q.take(0.2)
    assert first is not None
    with pytest.raises(RuntimeError):
        q.take(0.3)
    with pytest.raises(RuntimeError):
        q.finish(first.id + 1, 1.0)
    spoken = q.finish(first.id, 7.0, started=0.5)
    assert (spoken.started, spoken.ended) == (0.5, 7.0)
    assert q.take(7.0) is not None


def test_backlog_turns_brisk_then_batches_then_recovers() -> None:
    q = AnnouncementQueue(BacklogPolicy(repeats=2, brisk_from=3, batch_from=6, batch_size=4))
    for n in range(1, 11):  # ten windows call within a second
        q.push(call(f"A{n:03d}", n), n / 10)
    history = simulate(q, [])
    shape = [(h.announcement.mode, h.announcement.tickets) for h in history]
    assert shape == [
        (Mode.BATCH, ("A001", "A002", "A003", "A004")),  # 10 waiting
        (Mode.BATCH, ("A005", "A006", "A007", "A008")),  # 6 waiting
        (Mode.NORMAL, ("A009",)),  # 2 waiting: back to normal
        (Mode.NORMAL, ("A010",)),
    ]
    assert [h.announcement.repeats for h in history] == [1, 1, 2, 2]
    total = history[-1].ended - history[0].started
    assert total < 10 * seconds_for(history[-1].announcement)  # shorter than reading all
    assert_no_overlap(history)


def test_brisk_mode_speaks_each_call_once() -> None:
    q = AnnouncementQueue()
    for n in range(1, 5):
        q.push(call(f"A{n:03d}"), 0.0)
    a = q.take(0.0)
    assert a is not None and (a.mode, a.repeats, a.tickets) == (Mode.BRISK, 1, ("A001",))


def test_recall_of_a_waiting_ticket_is_merged_and_reported() -> None:
    q = AnnouncementQueue()
    q.push(call("A001"), 0.0)
    q.push(call("A002"), 0.1)
    r = q.push(call("A002", 3, CallKind.RECALL), 0.2)
    assert r.action == "merged" and r.superseded == call("A002")
    # The citizen has not heard the first call yet: "calling again" would be untrue.
    assert q.waiting == (call("A001"), call("A002"))


def test_transfer_of_a_waiting_ticket_takes_the_new_window_and_keeps_its_place() -> None:
    q = AnnouncementQueue()
    first = q.push(call("A001", 3), 0.0)
    q.push(call("A002", 4), 0.1)
    r = q.push(call("A001", 7, CallKind.TRANSFER), 0.2)
    assert (r.action, r.entry, r.superseded) == ("merged", first.entry, call("A001", 3))
    assert q.waiting == (call("A001", 7, CallKind.TRANSFER), call("A002", 4))
    a = q.take(0.3)
    assert a is not None and a.queued_at == 0.0


def test_recall_while_the_ticket_is_being_spoken_is_queued_after() -> None:
    q = AnnouncementQueue()
    q.push(call("A001"), 0.0)
    a = q.take(0.0)
    assert a is not None
    r = q.push(call("A001", 3, CallKind.RECALL), 1.0)
    assert r.action == "queued"
    q.finish(a.id, 7.2)
    b = q.take(7.2)
    assert b is not None and b.calls == (call("A001", 3, CallKind.RECALL),)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=120, allow_nan=False),
            st.integers(min_value=1, max_value=12),  # ticket number
            st.integers(min_value=1, max_value=140),  # window
            st.sampled_from(list(CallKind)),
        ),
        max_size=40,
    )
)
def test_never_overlapping_never_dropped(arrivals: list[tuple[float, int, int, CallKind]]) -> None:
    q = AnnouncementQueue(history_size=1000)
    events = [(t, CallRequest(f"A{n:03d}", w, "zh", k)) for t, n, w, k in arrivals]
    history = simulate(q, events)
    assert_no_overlap(history)
    assert q.idle
    spoken_tickets = [t for h in history for t in h.announcement.tickets]
    # Every ticket called is spoken; one spoken per push unless merged with a waiting one.
    assert set(spoken_tickets) == {c.ticket for _, c in events}
    assert len(spoken_tickets) <= len(events)
    for h in history:
        assert h.announcement.repeats >= 1
        assert h.started >= h.announcement.queued_at
    # The last call made for each ticket is spoken with its window: nobody is sent to a
    # window that no longer expects them.
    last_window = {c.ticket: c.window for _, c in sorted(events, key=lambda e: e[0])}
    final_spoken = {c.ticket: c.window for h in history for c in h.announcement.calls}
    assert final_spoken == last_window


def test_policy_is_validated() -> None:
    with pytest.raises(ValueError):
        BacklogPolicy(repeats=0)
    with pytest.raises(ValueError):
        BacklogPolicy(brisk_from=5, batch_from=4)
