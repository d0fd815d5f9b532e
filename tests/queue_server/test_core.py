"""The pure core: state tables, numbering, call order, estimates, ratings, appointments."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from queue_server.core import rules
from queue_server.core.errors import InvalidTransition, Refused
from queue_server.core.hall import OpeningHours, QueueDef, ServiceDef
from queue_server.core.states import (
    TICKET_TRANSITIONS,
    WINDOW_TRANSITIONS,
    TicketOp,
    TicketStatus,
    WindowOp,
    WindowStatus,
    ticket_next,
    window_next,
)

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


@pytest.mark.parametrize("status", list(TicketStatus))
@pytest.mark.parametrize("op", list(TicketOp))
def test_every_ticket_pair_is_allowed_by_the_table_or_refused(status, op):
    if (status, op) in TICKET_TRANSITIONS:
        assert ticket_next(status, op) is TICKET_TRANSITIONS[(status, op)]
    else:
        with pytest.raises(InvalidTransition) as exc:
            ticket_next(status, op)
        assert exc.value.code == "invalid_state"
        assert status.value in exc.value.message


@pytest.mark.parametrize("status", list(WindowStatus))
@pytest.mark.parametrize("op", list(WindowOp))
def test_every_window_pair_is_allowed_by_the_table_or_refused(status, op):
    if (status, op) in WINDOW_TRANSITIONS:
        assert window_next(status, op) is WINDOW_TRANSITIONS[(status, op)]
    else:
        with pytest.raises(InvalidTransition):
            window_next(status, op)


def test_ticket_life_rules_that_matter():
    # done and cancelled are final; a no-show may only rejoin; transfer goes back to waiting
    for op in TicketOp:
        assert (TicketStatus.DONE, op) not in TICKET_TRANSITIONS
        assert (TicketStatus.CANCELLED, op) not in TICKET_TRANSITIONS
    assert [op for (st_, op) in TICKET_TRANSITIONS if st_ is TicketStatus.NO_SHOW] == [
        TicketOp.REJOIN
    ]
    assert all(
        new is TicketStatus.WAITING
        for (_, op), new in TICKET_TRANSITIONS.items()
        if op is TicketOp.TRANSFER
    )


def test_service_day_resets_at_hall_local_midnight():
    # 15:59:59 UTC is 23:59:59 in Shanghai; one second later is the next service day
    before = dt.datetime(2026, 11, 24, 15, 59, 59, tzinfo=UTC)
    after = before + dt.timedelta(seconds=1)
    assert rules.service_day(before, SH) == dt.date(2026, 11, 24)
    assert rules.service_day(after, SH) == dt.date(2026, 11, 25)
    with pytest.raises(ValueError):
        rules.service_day(dt.datetime(2026, 1, 1), SH)


@given(st.text(alphabet="ABCDEFGHJK", min_size=1, max_size=2), st.integers(1, 99999))
def test_labels_round_trip(prefix, number):
    label = rules.ticket_label(prefix, number)
    assert len(label) >= len(prefix) + 3
    assert rules.parse_label(label) == (prefix, number)
    assert rules.parse_label(label.lower()) == (prefix, number)


@pytest.mark.parametrize("bad", ["", "12", "A", "ABC1", "A-1", "A1B"])
def test_bad_labels_are_refused(bad):
    with pytest.raises(ValueError):
        rules.parse_label(bad)


def _queue(cap=None, hours=None):
    return QueueDef(
        "A",
        {"zh": "A"},
        "x",
        hours=hours
        or OpeningHours(
            ((dt.time(8, 30), dt.time(12, 0)), (dt.time(13, 30), dt.time(17, 30))),
            frozenset({1, 2, 3, 4, 5}),
        ),
        daily_cap=cap,
    )


def test_issue_refused_outside_hours_and_over_caps():
    service = ServiceDef("s", {"zh": "s"}, "x", "A", daily_cap=2)
    tue = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    rules.check_issue(service, _queue(), tue, 1, 10)
    for when in (
        tue.replace(hour=12, minute=30),
        tue.replace(hour=8, minute=29),
        tue.replace(hour=17, minute=30),
        tue + dt.timedelta(days=5),
    ):  # lunch, early,
        with pytest.raises(Refused) as exc:  # late, Sunday
            rules.check_issue(service, _queue(), when, 0, 0)
        assert exc.value.code == "closed"
    with pytest.raises(Refused) as exc:
        rules.check_issue(service, _queue(), tue, 2, 2)
    assert exc.value.code == "daily_cap"
    with pytest.raises(Refused) as exc:
        rules.check_issue(ServiceDef("t", {"zh": "t"}, "x", "A"), _queue(cap=5), tue, 0, 5)
    assert exc.value.code == "daily_cap" and exc.value.details["cap"] == 5


T = dt.datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

candidates = st.lists(
    st.builds(
        rules.Candidate,
        id=st.integers(1, 10_000),
        queue=st.sampled_from(["A", "B", "C"]),
        sort_at=st.integers(0, 600).map(lambda s: T + dt.timedelta(seconds=s)),
        priority=st.sampled_from([None, None, None, "elderly", "appointment"]),
        appointment_at=st.one_of(
            st.none(), st.integers(-600, 600).map(lambda s: T + dt.timedelta(seconds=s))
        ),
        target_window=st.sampled_from([None, None, None, 1, 2]),
    ),
    unique_by=lambda c: c.id,
    max_size=30,
)


@given(candidates, st.sampled_from([("A", "B"), ("B", "A"), ("C",)]), st.sampled_from([1, 2]))
def test_selection_takes_priority_then_due_appointments_then_preference_oldest_first(
    pool, queues, window
):
    chosen = rules.select_next(pool, window, queues, T)
    eligible = [c for c in pool if rules.eligible(c, window, queues)]
    if not eligible:
        assert chosen is None
        return
    assert chosen in eligible
    best_class = min(rules.call_class(c, T) for c in eligible)
    assert rules.call_class(chosen, T) == best_class
    same = [c for c in eligible if rules.call_class(c, T) == best_class]
    if best_class == 2:
        best_pref = min(queues.index(c.queue) if c.queue in queues else 0 for c in same)
        same = [c for c in same if (queues.index(c.queue) if c.queue in queues else 0) == best_pref]
    # oldest first within its class (and preferred queue), id breaking ties
    assert (chosen.sort_at, chosen.id) == min((c.sort_at, c.id) for c in same)


def test_targeted_ticket_waits_only_for_its_window():
    c = rules.Candidate(1, "A", T, target_window=2)
    assert rules.eligible(c, 2, ("B",))
    assert not rules.eligible(c, 1, ("A",))


def test_appointment_before_its_slot_is_an_ordinary_ticket():
    early = rules.Candidate(1, "A", T, "appointment", T + dt.timedelta(minutes=20))
    assert rules.call_class(early, T) == 2
    assert rules.call_class(early, T + dt.timedelta(minutes=20)) == 1
    assert rules.call_class(rules.Candidate(2, "A", T, "veteran"), T) == 0


def test_estimates():
    assert rules.rolling_service_minutes([], 8.0) == 8.0
    assert rules.rolling_service_minutes([3, 5], 8.0) == 8.0  # click-through no-shows ignored
    assert rules.rolling_service_minutes([300, 600], 8.0) == 7.5
    assert rules.estimate_wait_minutes(0, 7.5, 2) == 0
    assert rules.estimate_wait_minutes(3, 7.5, 2) == 12  # 11.25 rounded up
    assert rules.estimate_wait_minutes(3, 7.5, 0) == 23  # no window open: as if one


def test_rating_scales_and_satisfaction():
    assert list(rules.allowed_levels(5)) == [1, 2, 3, 4, 5]
    assert list(rules.allowed_levels(4)) == [2, 3, 4, 5]
    rules.check_rating(1, 5)
    with pytest.raises(Refused):
        rules.check_rating(1, 4)
    with pytest.raises(Refused):
        rules.check_rating(6, 5)
    assert rules.is_dissatisfied(2) and not rules.is_dissatisfied(3)
    # satisfied or better (满意, 非常满意); basically satisfied (3) is not satisfied
    assert rules.satisfaction_rate([5, 4, 3, 2]) == 0.5
    assert rules.is_satisfied(4) and not rules.is_satisfied(3)
    assert rules.satisfaction_rate([]) is None


def test_appointment_checks():
    start, end = T, T + dt.timedelta(minutes=30)
    rules.check_appointment("booked", start, end, T - dt.timedelta(minutes=30))
    rules.check_appointment("booked", start, end, end)
    cases = [
        ("checked_in", T, "appointment_used"),
        ("cancelled", T, "appointment_cancelled"),
        ("booked", end + dt.timedelta(seconds=1), "appointment_expired"),
        ("booked", T - dt.timedelta(minutes=31), "appointment_too_early"),
    ]
    for status, now, code in cases:
        with pytest.raises(Refused) as exc:
            rules.check_appointment(status, start, end, now)
        assert exc.value.code == code
