"""The case-file table and clock: every row, every refusal, due days and lights."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.core.calendar import WorkCalendar
from queue_server.core.casefile import (
    CLOCK_RUNNING,
    TRANSITIONS,
    CaseOp,
    CaseState,
    Clock,
    Light,
    case_number,
    casefile_next,
    counter_key,
    due_day,
    light,
    shift_due,
)
from queue_server.core.errors import InvalidTransition
from queue_server.core.hall import CaseFileSettings

from .test_calendar import CAL, D, brute_between, year_2026

S = CaseState


def test_the_happy_path_from_window_to_delivery():
    state = S.ACCEPTED
    for op, want in [
        (CaseOp.REVIEW, S.IN_REVIEW),
        (CaseOp.DECIDE, S.DECIDED),
        (CaseOp.READY, S.READY),
        (CaseOp.DELIVER, S.DELIVERED),
    ]:
        state = casefile_next(state, op)
        assert state == want


# The promise written out by hand, not derived from the table: a changed row must be a
# decision made here too.
EXPECTED = {
    ("accepted", "review"): "in_review",
    ("in_review", "decide"): "decided",
    ("decided", "ready"): "ready",
    ("ready", "deliver"): "delivered",
    ("accepted", "refuse"): "refused",
    ("in_review", "refuse"): "refused",
    ("accepted", "suspend"): "suspended",
    ("in_review", "suspend"): "suspended",
    ("decided", "suspend"): "suspended",
    ("suspended", "resume"): None,
    ("accepted", "extend"): "accepted",
    ("in_review", "extend"): "in_review",
    ("decided", "extend"): "decided",
    ("suspended", "extend"): "suspended",
}


def test_the_table_is_the_one_promised():
    got = {(a.value, b.value): (n.value if n else None) for (a, b), n in TRANSITIONS.items()}
    assert got == EXPECTED


@pytest.mark.parametrize("row", list(TRANSITIONS.items()), ids=lambda r: f"{r[0][0]}-{r[0][1]}")
def test_every_row_of_the_table(row):
    (state, op), new = row
    if new is None:  # resume: back to where the case was suspended
        for before in CLOCK_RUNNING:
            assert casefile_next(state, op, suspended_from=before) == before
        with pytest.raises(InvalidTransition):
            casefile_next(state, op)
        with pytest.raises(InvalidTransition):
            casefile_next(state, op, suspended_from=S.READY)
    else:
        assert casefile_next(state, op) == new


def test_everything_else_is_refused():
    refused = [
        (state, op)
        for state, op in itertools.product(CaseState, CaseOp)
        if (state, op) not in TRANSITIONS
    ]
    for state, op in refused:
        with pytest.raises(InvalidTransition) as exc:
            casefile_next(state, op)
        assert exc.value.code == "invalid_state"
        assert state.value in exc.value.message
    # The ones the issue names: deliver before ready; nothing after the end.
    assert (S.DECIDED, CaseOp.DELIVER) in refused
    assert (S.ACCEPTED, CaseOp.DECIDE) in refused  # A decides only what B reviewed
    assert all((S.DELIVERED, op) in refused and (S.REFUSED, op) in refused for op in CaseOp)
    assert (S.READY, CaseOp.SUSPEND) in refused and (S.READY, CaseOp.EXTEND) in refused


def test_case_numbers():
    assert case_number("{year}-{seq:06d}", D(2026, 3, 2), "party", 42) == "2026-000042"
    assert case_number("{dept}{date}{seq:04d}", D(2026, 3, 2), "tax", 7) == "tax202603020007"
    with pytest.raises(KeyError):
        case_number("{year}{who}", D(2026, 3, 2), "x", 1)
    assert counter_key("{year}-{seq}", D(2026, 3, 2)) == "2026"
    assert counter_key("{date}-{seq}", D(2026, 3, 2)) == "2026"
    assert counter_key("HQ{seq:08d}", D(2026, 3, 2)) == "all"


def test_due_day_and_suspension_across_the_spring_festival():
    due = due_day(CAL, D(2026, 2, 12), 5)
    assert due == D(2026, 2, 26)
    # Suspended on Fri 13 Feb, resumed on Wed 25 Feb: it waited 14 Feb, 24, 25 Feb; the
    # three days given back are 27 Feb, Sat 28 Feb (a make-up day) and 2 Mar.
    assert shift_due(CAL, due, D(2026, 2, 13), D(2026, 2, 25)) == D(2026, 3, 2)
    # Suspended and resumed the same day: nothing moves.
    assert shift_due(CAL, due, D(2026, 2, 25), D(2026, 2, 25)) == due


@settings(max_examples=200, deadline=None)
@given(
    st.dates(D(2026, 1, 1), D(2026, 11, 1)),
    st.integers(1, 20),
    st.integers(0, 30),
    st.integers(0, 30),
)
def test_shift_gives_back_exactly_the_working_days_waited(accepted, days, after, waited):
    due = due_day(CAL, accepted, days)
    suspended = accepted + dt.timedelta(days=after)
    resumed = suspended + dt.timedelta(days=waited)
    new = shift_due(CAL, due, suspended, resumed)
    assert brute_between(due, new) == brute_between(suspended, resumed)


def test_lights_with_yellow_days():
    settings_1 = CaseFileSettings(yellow_days=1)
    case = Clock(S.IN_REVIEW, due_on=D(2026, 2, 26), promised_days=5)
    assert light(case, CAL, D(2026, 2, 13), settings_1) == Light.GREEN
    # 24 Feb: 25 and 26 Feb left -> green; 25 Feb: one left -> yellow; the due day: yellow.
    assert light(case, CAL, D(2026, 2, 24), settings_1) == Light.GREEN
    assert light(case, CAL, D(2026, 2, 25), settings_1) == Light.YELLOW
    assert light(case, CAL, D(2026, 2, 26), settings_1) == Light.YELLOW
    assert light(case, CAL, D(2026, 2, 27), settings_1) == Light.RED
    # Over the holiday week the light waits: nine days off cost no working day.
    assert light(case, CAL, D(2026, 2, 20), settings_1) == Light.GREEN
    assert light(case, CAL, D(2026, 2, 25), CaseFileSettings(yellow_days=0)) == Light.GREEN


def test_lights_with_a_share_and_a_suspension():
    share = CaseFileSettings(yellow_share=0.4)
    case = Clock(S.ACCEPTED, due_on=due_day(CAL, D(2026, 3, 2), 10), promised_days=10)
    assert case.due_on == D(2026, 3, 16)
    assert light(case, CAL, D(2026, 3, 9), share) == Light.GREEN  # 5 of 10 left
    assert light(case, CAL, D(2026, 3, 10), share) == Light.YELLOW  # 4 of 10 left
    frozen = Clock(S.SUSPENDED, due_on=case.due_on, promised_days=10, suspended_on=D(2026, 3, 3))
    # Suspended early: the light is judged on the day the clock stopped, however late now.
    assert light(frozen, CAL, D(2026, 4, 30), share) == Light.GREEN


def test_lights_agree_with_a_day_by_day_count():
    cal = WorkCalendar([year_2026()])
    s = CaseFileSettings(yellow_days=2)
    case = Clock(S.DECIDED, due_on=D(2026, 10, 9), promised_days=6)
    day = D(2026, 9, 1)
    while day < D(2026, 10, 20):
        left = brute_between(day, case.due_on) if day <= case.due_on else -1
        want = Light.RED if day > case.due_on else (Light.YELLOW if left <= 2 else Light.GREEN)
        assert light(case, cal, day, s) == want, day
        day += dt.timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(
    st.dates(D(2026, 1, 20), D(2026, 12, 31)),
    st.dates(D(2026, 1, 1), D(2026, 12, 31)),
    st.integers(1, 5),
)
def test_early_before_agrees_with_timeliness(due, finished, k):
    """Reports count early cases in SQL with the stored early_before day; it must say
    what the definition (timeliness) says, for every day and every early_days."""
    from queue_server.core.casefile import early_before, timeliness

    cfg = CaseFileSettings(early_days=k)
    cut = early_before(CAL, due, cfg)
    kind = timeliness(CAL, finished, due, cfg)
    assert (kind == "early") == (cut is not None and finished < cut)
    if kind == "early":
        assert brute_between(finished, due) >= k
