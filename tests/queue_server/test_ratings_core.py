"""The national mapping and the ledger's state table, as pure functions."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from queue_server.core import alerts, ratings, rectify, rules
from queue_server.core.calendar import WorkCalendar, YearCalendar
from queue_server.core.errors import HallError, InvalidTransition
from queue_server.core.rectify import ROp, RState

SETTINGS = ratings.RatingSettings(region_code="511822")
LEVELS = st.integers(1, 5)


# -- levels and codes ------------------------------------------------------------------


def test_the_two_orders_are_the_ones_met_in_the_field():
    # GB/T 39046: 1 = 非常满意; provincial interfaces: 1 = 非常不满意.
    assert ratings.level_code(5, "national") == "1"
    assert ratings.level_label(ratings.level_of_code("1", "national")) == "非常满意"
    assert ratings.level_code(1, "national") == "5"
    assert ratings.level_code(5, "provincial") == "5"
    assert ratings.level_label(ratings.level_of_code("1", "provincial")) == "非常不满意"


@given(LEVELS, st.sampled_from(ratings.CODE_ORDERS))
def test_codes_round_trip_in_each_order(level, order):
    assert ratings.level_of_code(ratings.level_code(level, order), order) == level


@given(LEVELS)
def test_the_orders_are_mirror_images(level):
    national = int(ratings.level_code(level, "national"))
    provincial = int(ratings.level_code(level, "provincial"))
    assert national + provincial == 6
    assert provincial == level  # HallQ's own value is the provincial order's code


def test_each_order_is_a_permutation_and_names_come_from_rules():
    for order in ratings.CODE_ORDERS:
        assert sorted(ratings.level_code(v, order) for v in range(1, 6)) == list("12345")
    assert {row[0] for row in ratings.LEVEL_TABLE} == set(rules.NATIONAL_LEVELS)
    assert ratings.level_name(1) == rules.NATIONAL_LEVELS[1]


def test_alerts_name_levels_from_the_one_table():
    _subject, text = alerts.describe(
        "rating.dissatisfied", {"level": 1, "window": 3, "label": "A001", "service": "g"}
    )
    assert "very dissatisfied" in text
    assert not hasattr(alerts, "_LEVELS")


def test_channels_have_distinct_codes_and_the_hall_may_set_its_own():
    codes = [c[0] for c in ratings.CHANNELS.values()]
    assert len(set(codes)) == len(codes)
    assert ratings.channel_code("phone", SETTINGS) == "3"  # the phone page, by QR code
    own = ratings.RatingSettings(channel_codes={"system": "9"})
    assert ratings.channel_code("system", own) == "9"


# -- extras ----------------------------------------------------------------------------


def _code(level: int, args: dict) -> str:
    with pytest.raises(HallError) as exc:
        ratings.check_extras(level, args, SETTINGS)
    return exc.value.code


@given(st.integers(3, 5))
def test_reasons_and_a_phone_are_refused_on_a_good_rating(level):
    assert _code(level, {"reasons": ["slow"]}) == "reasons_not_asked"
    assert _code(level, {"phone": "13812341234", "consent": True}) == "phone_not_needed"
    assert ratings.check_extras(level, {"reasons": []}, SETTINGS).reasons == ()


@given(st.integers(1, 2))
def test_a_bad_rating_takes_known_reasons_and_a_phone_with_consent(level):
    got = ratings.check_extras(
        level,
        {"reasons": ["slow", "wait", "slow"], "phone": "+86 138-1234-1234", "consent": True},
        SETTINGS,
    )
    assert got.reasons == ("slow", "wait") and got.phone == "13812341234"
    assert _code(level, {"reasons": ["nope"]}) == "unknown_reason"
    assert _code(level, {"phone": "13812341234"}) == "consent_needed"
    assert _code(level, {"phone": "13812341234", "consent": "yes"}) == "consent_needed"
    assert _code(level, {"phone": "12345", "consent": True}) == "bad_phone"
    assert _code(level, {"text": "x" * 201}) == "text_too_long"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_mobile_numbers_are_taken_and_masked_to_three_and_four(phone):
    assert ratings.normalize_phone(phone) == phone
    masked = ratings.mask_phone(phone)
    assert masked == phone[:3] + "****" + phone[-4:]


@given(st.text(max_size=20))
def test_anything_else_is_not_a_phone_number_or_is_a_valid_one(text):
    try:
        got = ratings.normalize_phone(text)
    except HallError as exc:
        assert exc.code == "bad_phone"
    else:
        assert got.isdigit() and 10 <= len(got) <= 12


def test_settings_problems_are_located():
    _s, problems = ratings.parse_settings(
        {"code_order": "reversed", "region_code": "51-18", "contact_days": 9, "bogus": 1}
    )
    where = {w for w, _m in problems}
    assert {"code_order", "region_code", "contact_days", "bogus"} <= where


# -- the national record ---------------------------------------------------------------


def test_a_rating_record_uses_the_national_names_and_the_chosen_order():
    case = ratings.RatedCase(
        case_id=7,
        case_number="20261124-A001-7",
        channel="device",
        rated_at=dt.datetime(2026, 11, 24, 2, 3, 4, tzinfo=dt.UTC),
        level=1,
        reasons=("slow",),
        text=None,
        department="civil",
        service="general",
        clerk="c001",
        window=1,
        promised=False,
        accepted_on=dt.date(2026, 11, 24),
    )
    tz = dt.timezone(dt.timedelta(hours=8))
    rec = ratings.rating_record(case, SETTINGS, tz)
    assert list(rec) == [name for _k, name in ratings.RATING_FIELDS]
    assert rec["评价时间"] == "20261124T100304"
    assert rec["满意度代码"] == "5" and rec["满意度"] == "非常不满意"
    assert rec["评价渠道"] == "4" and rec["行政区划代码"] == "511822"
    provincial = ratings.RatingSettings(code_order="provincial")
    assert ratings.rating_record(case, provincial, tz)["满意度代码"] == "1"
    assert not any("phone" in k or "电话" in k for k in rec)


# -- the ledger's state table ----------------------------------------------------------


def test_every_row_of_the_table_is_a_step_and_nothing_else_is():
    for (state, op, outcome), new in rectify.TRANSITIONS.items():
        assert rectify.next_state(state, op, outcome) is new
    for state in RState:
        for op in ROp:
            for outcome in rectify.outcomes(op):
                if (state, op, outcome) not in rectify.TRANSITIONS:
                    with pytest.raises(InvalidTransition):
                        rectify.next_state(state, op, outcome)


def test_an_unknown_outcome_is_a_clear_error():
    with pytest.raises(HallError) as exc:
        rectify.next_state(RState.OPEN, ROp.VERIFY, "maybe")
    assert exc.value.code == "bad_outcome"


def test_the_loop_runs_in_order_and_appeals_go_to_the_supervisor():
    s = RState.OPEN
    for op, outcome in (
        (ROp.VERIFY, "valid"),
        (ROp.CONTACT, "reached"),
        (ROp.FIX, "done"),
        (ROp.CALLBACK, "satisfied"),
        (ROp.CLOSE, "closed"),
    ):
        s = rectify.next_state(s, op, outcome)
    assert s is RState.CLOSED
    with pytest.raises(InvalidTransition):  # no fix before the citizen is contacted
        rectify.next_state(RState.VERIFIED, ROp.FIX, "done")
    appealed = rectify.next_state(RState.OPEN, ROp.VERIFY, "malicious")
    assert appealed is RState.APPEALED
    assert rectify.next_state(appealed, ROp.DECIDE, "uphold") is RState.DISMISSED
    assert rectify.next_state(appealed, ROp.DECIDE, "overturn") is RState.VERIFIED


@st.composite
def walks(draw):
    ops = draw(st.lists(st.tuples(st.sampled_from(list(ROp)), st.integers(0, 3)), max_size=12))
    return ops


@given(walks())
def test_any_walk_never_leaves_a_final_state(walk):
    s = RState.OPEN
    for op, i in walk:
        outs = rectify.outcomes(op)
        try:
            new = rectify.next_state(s, op, outs[i % len(outs)])
        except InvalidTransition:
            continue
        assert s not in rectify.FINAL
        s = new


CAL = WorkCalendar(
    [
        YearCalendar(2026, {dt.date(2026, 12, 31): "test holiday"}, {}),
        YearCalendar(2027, {dt.date(2027, 1, 1): "元旦"}, {}),
        YearCalendar(2028, {}, {}),
    ]
)


def test_deadlines_count_working_days_with_the_calendar():
    d = rectify.dues(CAL, dt.date(2026, 12, 30), ratings.RatingSettings())  # a Wednesday
    # 31 Dec and 1 Jan are holidays, 2-3 Jan a weekend: contact due Monday 4 Jan.
    assert d.contact == dt.date(2027, 1, 4)
    assert d.rectify == dt.date(2027, 1, 8)
    assert rectify.light(RState.OPEN, d, dt.date(2027, 1, 3)) == "green"
    assert rectify.light(RState.OPEN, d, dt.date(2027, 1, 4)) == "yellow"
    assert rectify.light(RState.OPEN, d, dt.date(2027, 1, 5)) == "red"
    # contacted: now the fix's deadline counts
    assert rectify.light(RState.CONTACTED, d, dt.date(2027, 1, 5)) == "green"
    assert rectify.light(RState.CLOSED, d, dt.date(2027, 6, 1)) is None


@given(st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 20)), st.integers(0, 40))
def test_red_exactly_after_the_pending_step_is_due(opened, later):
    d = rectify.dues(CAL, opened, ratings.RatingSettings())
    today = opened + dt.timedelta(days=later)
    for state in rectify.OPEN_STATES:
        due = rectify.due_of(state, d)
        assert (rectify.light(state, d, today) == "red") == (today > due)
