"""Satisfaction, talk reminders and escalation as pure rules (core/accountability.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from queue_server.core import accountability as acc
from queue_server.core import rules
from queue_server.core.errors import Refused
from queue_server.core.hall import AccountabilitySettings

S = AccountabilitySettings(threshold=0.8, min_ratings=10, reminder_limit=3, rolling_days=90)
days = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31))


def test_satisfied_means_satisfied_or_better_and_not_rated_is_apart():
    t = acc.tally([5, 4, 3, 2, 1, None, None])
    assert t == acc.Tally(rated=5, satisfied=2, not_rated=2)
    assert t.rate == pytest.approx(0.4)
    assert acc.tally([None]).rate is None  # not rated only: no rate at all


@given(rated=st.integers(10, 2000))
@example(rated=10)
@example(rated=100)
def test_just_under_80_percent_warns_and_exactly_80_or_just_over_does_not(rated):
    at = (rated * 4 + 4) // 5  # the fewest satisfied that make 80 % or more
    assert not acc.below(acc.Tally(rated, at), S)
    assert acc.below(acc.Tally(rated, at - 1), S)
    if rated % 5 == 0:
        assert acc.Tally(rated, at).rate == 0.8  # exactly 80 % is not under it


@given(rated=st.integers(0, 50), satisfied_share=st.floats(0, 1))
def test_a_rate_on_fewer_ratings_than_the_minimum_never_warns(rated, satisfied_share):
    t = acc.Tally(rated, int(rated * satisfied_share))
    if rated < S.min_ratings:
        assert not acc.counts(t, S) and not acc.below(t, S)
    else:
        assert acc.counts(t, S)
    # one bad rating on a quiet day
    assert not acc.below(acc.Tally(1, 0), S)
    assert acc.below(acc.Tally(1, 0), replace(S, min_ratings=1))


def test_reminders_due_only_for_the_assessed_kinds_in_a_stable_order():
    tallies = {
        ("clerk", "c-2"): acc.Tally(20, 10),
        ("window", "3"): acc.Tally(20, 15),
        ("window", "1"): acc.Tally(20, 19),
        ("service", "general"): acc.Tally(20, 0),  # not assessed by default
        ("window", "2"): acc.Tally(5, 0),  # too few ratings
    }
    got = acc.reminders_due(tallies, replace(S, subjects=("window", "clerk")))
    assert [(k, s) for k, s, _ in got] == [("window", "3"), ("clerk", "c-2")]


@given(day=days, kind=st.sampled_from(["day", "week", "month"]))
def test_periods_contain_their_day_and_the_last_complete_one_ends_the_day_before(day, kind):
    p = acc.period_of(kind, day)
    assert p.start <= day <= p.end and p.kind == kind
    prev = acc.last_complete(kind, day)
    assert prev.end < day and prev.end + dt.timedelta(days=1) == p.start
    assert acc.parse_period(p.label) == p  # the label reads back as the same period
    if kind == "week":
        assert p.start.isoweekday() == 1 and p.days == 7
    if kind == "month":
        assert p.start.day == 1 and (p.end + dt.timedelta(days=1)).day == 1


def test_periods_across_month_and_year_ends():
    assert acc.last_complete("month", dt.date(2027, 1, 1)) == acc.Period(
        dt.date(2026, 12, 1), dt.date(2026, 12, 31), "month"
    )
    # ISO week 53 of 2026 runs into 2027
    w = acc.parse_period("2026-W53")
    assert (w.start, w.end) == (dt.date(2026, 12, 28), dt.date(2027, 1, 3))
    assert acc.last_complete("week", dt.date(2027, 1, 4)) == w
    assert acc.period_of("month", dt.date(2028, 2, 10)).end == dt.date(2028, 2, 29)


@given(
    ends=st.lists(days, max_size=12),
    at=days,
    rolling=st.integers(1, 800),
    limit=st.integers(0, 5),
)
@example(  # four monthly reminders around the new year, a 90-day window
    ends=[
        dt.date(2026, 10, 31),
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 31),
        dt.date(2027, 1, 31),
    ],
    at=dt.date(2027, 1, 31),
    rolling=123,
    limit=3,
)
def test_the_rolling_window_counts_exactly_the_reminders_of_its_days(ends, at, rolling, limit):
    s = replace(S, rolling_days=rolling, reminder_limit=limit)
    inside = {at - dt.timedelta(days=i) for i in range(rolling)}  # day by day
    expected = sum(1 for e in ends if e in inside)
    assert acc.reminders_in_window(ends, at, s) == expected
    assert acc.escalates(ends, at, s) == (expected > limit)


def test_the_rolling_window_is_exactly_rolling_days_long():
    at = dt.date(2027, 1, 2)
    first, gone = at - dt.timedelta(days=S.rolling_days - 1), at - dt.timedelta(days=S.rolling_days)
    assert acc.reminders_in_window([first, gone], at, S) == 1
    assert acc.rolling_window(at, S).days == S.rolling_days


def test_four_monthly_reminders_escalate_across_the_year_end_but_three_do_not():
    s = replace(S, rolling_days=120, reminder_limit=3)
    ends = [dt.date(2026, 10, 31), dt.date(2026, 11, 30), dt.date(2026, 12, 31)]
    assert not acc.escalates(ends, dt.date(2026, 12, 31), s)  # three: not more than three
    ends.append(dt.date(2027, 1, 31))
    assert acc.escalates(ends, dt.date(2027, 1, 31), s)
    # two months later the October and November ones have rolled out of the window
    assert not acc.escalates([*ends, dt.date(2027, 3, 31)], dt.date(2027, 3, 31), s)


def test_bad_periods_get_clear_errors():
    with pytest.raises(Refused) as exc:
        acc.parse_period("2026-11-30..2026-11-01")
    assert exc.value.code == "bad_period"
    with pytest.raises(Refused) as exc:
        acc.parse_period("2024-01-01..2026-12-31")
    assert exc.value.code == "period_too_long"
    for bad in ("", "2026-13", "2026-W60", "November", None, 2026):
        with pytest.raises(Refused) as exc:
            acc.parse_period(bad)
        assert exc.value.code == "bad_period"
    assert acc.parse_period("2024-01-01..2024-12-31").days == 366  # a leap year is fine
    assert acc.parse_period("2026-11-01..2026-11-30").kind == "month"


def test_a_window_reminder_goes_to_the_department_that_made_most_of_its_cases():
    assert acc.main_department({"civil": 3, "party": 5, None: 9}) == "party"
    assert acc.main_department({"party": 2, "civil": 2}) == "civil"
    assert acc.main_department({None: 3}) is None


def test_the_satisfied_rule_is_one_constant():
    assert [lv for lv in range(1, 6) if rules.is_satisfied(lv)] == [4, 5]
    assert acc.tally(range(1, 6)).satisfied == 2


def test_the_ranking_puts_satisfaction_first_shares_ties_and_leaves_thin_rates_unranked():
    s = replace(S, min_ratings=10)
    rows = [
        {"key": 1, "rated": 100, "satisfied": 90, "on_time_rate": 0.9, "served": 120},
        {"key": 2, "rated": 100, "satisfied": 95, "on_time_rate": None, "served": 100},
        {"key": 3, "rated": 20, "satisfied": 18, "on_time_rate": 0.9, "served": 120},
        {"key": 4, "rated": 100, "satisfied": 90, "on_time_rate": 1.0, "served": 90},
        {"key": 5, "rated": 9, "satisfied": 9, "on_time_rate": 1.0, "served": 9},
        {"key": 6, "rated": 10, "satisfied": 9, "on_time_rate": None, "served": 10},
    ]
    got = [(r["rank"], r["key"]) for r in acc.ranking(rows, s)]
    # 95 % first; three at 90 %: on time 1.0, then two at 0.9 with as many served (a
    # tie, sharing 3rd), then 90 % without promised cases; 5 has too few ratings
    assert got == [(1, 2), (2, 4), (3, 1), (3, 3), (5, 6), (None, 5)]
