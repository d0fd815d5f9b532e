"""The working-day calendar: parsing a year, counting working days, loading it.

Counting is checked against a brute-force day-by-day walk (hypothesis), and by hand
across the 2026 Spring Festival week with its two make-up Saturdays, the National Day
week, and the turn of the year.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.core.calendar import (
    CalendarError,
    CalendarMissing,
    WorkCalendar,
    YearCalendar,
    is_weekend,
    parse_year,
)
from queue_server.store import db, workdays

from .test_config import TEST_HALL, run_cli

DEMO_2026 = Path(__file__).parents[2] / "queue_server" / "demo" / "calendar-2026.toml"
D = dt.date


def year_2026() -> YearCalendar:
    return parse_year(tomllib.loads(DEMO_2026.read_text(encoding="utf-8")), str(DEMO_2026))


def year_2027() -> YearCalendar:
    """A made-up 2027 for crossing the year: New Year's Day off, nothing else."""
    return YearCalendar(2027, {D(2027, 1, 1): "元旦"}, {})


CAL = WorkCalendar([year_2026(), year_2027()])


def brute_working(cal_years: dict[int, YearCalendar], day: dt.date) -> bool:
    y = cal_years[day.year]
    return day in y.workdays or (day not in y.holidays and not is_weekend(day))


def brute_between(start: dt.date, end: dt.date) -> int:
    years = {2026: year_2026(), 2027: year_2027()}
    n, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        n += brute_working(years, day)
    return n


def brute_add(start: dt.date, k: int) -> dt.date:
    years = {2026: year_2026(), 2027: year_2027()}
    day = start
    while k > 0:
        day += dt.timedelta(days=1)
        k -= brute_working(years, day)
    return day


days_2026_27 = st.dates(D(2026, 1, 1), D(2027, 12, 31))


@settings(max_examples=300, deadline=None)
@given(days_2026_27, days_2026_27)
def test_working_days_between_matches_a_day_by_day_count(a, b):
    lo, hi = min(a, b), max(a, b)
    assert CAL.working_days_between(lo, hi) == brute_between(lo, hi)
    assert CAL.working_days_between(hi, lo) == -brute_between(lo, hi)


@settings(max_examples=300, deadline=None)
@given(st.dates(D(2026, 1, 1), D(2027, 10, 31)), st.integers(0, 40))
def test_add_working_days_matches_a_day_by_day_walk(start, k):
    due = CAL.add_working_days(start, k)
    assert due == brute_add(start, k)
    assert CAL.working_days_between(start, due) == k
    if k:
        assert CAL.is_working(due)


def test_spring_festival_week_and_its_make_up_saturdays():
    # Fri 13 Feb works, Sat 14 Feb is a make-up working day, 15-23 Feb off, Tue 24 works.
    assert CAL.is_working(D(2026, 2, 14)) and is_weekend(D(2026, 2, 14))
    assert not CAL.is_working(D(2026, 2, 16))  # a Monday inside the holiday
    assert CAL.add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert CAL.add_working_days(D(2026, 2, 13), 2) == D(2026, 2, 24)
    # A 5-working-day promise accepted on Thu 12 Feb: 13, 14, 24, 25, 26 Feb.
    assert CAL.add_working_days(D(2026, 2, 12), 5) == D(2026, 2, 26)
    # Sat 28 Feb is a make-up day too, so 3 days from Thu 26 Feb: 27, 28 Feb, 2 Mar.
    assert CAL.add_working_days(D(2026, 2, 26), 3) == D(2026, 3, 2)
    assert CAL.working_days_between(D(2026, 2, 13), D(2026, 2, 24)) == 2


def test_national_day_week_and_the_make_up_sunday_before_it():
    assert CAL.is_working(D(2026, 9, 20))  # a Sunday
    assert CAL.add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert CAL.add_working_days(D(2026, 10, 9), 1) == D(2026, 10, 10)  # a Saturday


def test_year_boundary():
    # Thu 31 Dec 2026; 1 Jan 2027 (Fri) is off; the weekend; Mon 4 Jan 2027 works.
    assert CAL.add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)
    assert CAL.working_days_between(D(2026, 12, 30), D(2027, 1, 5)) == 3
    only_2026 = WorkCalendar([year_2026()])
    with pytest.raises(CalendarMissing) as exc:
        only_2026.add_working_days(D(2026, 12, 31), 1)
    assert exc.value.code == "no_calendar"
    with pytest.raises(CalendarMissing):
        only_2026.is_working(D(2027, 1, 4))
    with pytest.raises(CalendarMissing):  # a gap between loaded years is no guess either
        WorkCalendar([year_2026(), YearCalendar(2028)]).working_days_between(
            D(2026, 12, 1), D(2028, 1, 5)
        )
    with pytest.raises(CalendarMissing):
        WorkCalendar([]).is_working(D(2026, 3, 2))


def test_bad_calendar_files_list_every_problem_with_its_place():
    raw = tomllib.loads(DEMO_2026.read_text(encoding="utf-8"))
    raw["holidays"][1]["to"] = dt.date(2026, 2, 10)  # ends before it starts
    raw["holidays"].append({"name": "overlap", "date": dt.date(2026, 10, 3)})
    raw["workdays"].append({"name": "a weekday", "date": dt.date(2026, 3, 3)})
    raw["workdays"].append({"name": "next year", "date": dt.date(2027, 1, 2)})
    raw["holidays"].append({"name": "typo", "date": "2026-13-01"})
    raw["colour"] = "red"
    with pytest.raises(CalendarError) as exc:
        parse_year(raw, "cal.toml")
    got = exc.value.problems
    n = len(raw["holidays"])
    for expected in [
        "holidays[1]: ends (2026-02-10) before it starts (2026-02-15)",
        f"holidays[{n - 2}]: 2026-10-03 is already given in holidays[6]",
        "workdays[6]: 2026-03-03 is a weekday, a working day anyway",
        "workdays[7]: 2027-01-02 is not in 2026",
        f"holidays[{n - 1}].date: must be a date like 2026-10-01, got '2026-13-01'",
        "colour: unknown key",
    ]:
        assert expected in got, (expected, got)
    with pytest.raises(CalendarError):
        parse_year({"year": "2026"})


def test_calendar_load_and_check_config_warning(tmp_path, db_url):
    url = db_url.replace("postgresql+psycopg://", "postgresql://")
    assert run_cli("db", "upgrade", "--config", str(TEST_HALL), "--db", url).returncode == 0
    warned = run_cli("check-config", str(TEST_HALL), "--db", url)
    this_year = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).year
    assert warned.returncode == 0
    assert f"warning: calendar.{this_year}: no working-day calendar loaded" in warned.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(DEMO_2026.read_text(encoding="utf-8").replace("2026-05-09", "2026-05-08"))
    refused = run_cli("calendar", "load", "--config", str(TEST_HALL), "--db", url, str(bad))
    assert refused.returncode == 1
    assert "workdays[3]: 2026-05-08 is a weekday" in refused.stderr
    loaded = run_cli("calendar", "load", "--config", str(TEST_HALL), "--db", url, str(DEMO_2026))
    assert loaded.returncode == 0, loaded.stderr
    assert "33 holiday(s), 6 make-up working day(s)" in loaded.stdout
    # Loading again replaces the year, it does not double it.
    again = run_cli("calendar", "load", "--config", str(TEST_HALL), "--db", url, str(DEMO_2026))
    assert again.returncode == 0, again.stderr
    engine = db.open_engine(db_url)
    try:
        with engine.connect() as conn:
            cal = workdays.read_calendar(conn)
            assert workdays.loaded_years(conn) == [2026]
    finally:
        engine.dispose()
    assert cal.add_working_days(D(2026, 2, 13), 2) == D(2026, 2, 24)
    if this_year == 2026:
        quiet = run_cli("check-config", str(TEST_HALL), "--db", url)
        assert "calendar.2026" not in quiet.stderr


def test_the_demo_loads_its_example_calendar_once(tmp_path):
    from queue_server.demo.runner import _load_demo_calendars

    engine = db.open_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    db.upgrade(engine)
    for _ in range(2):
        _load_demo_calendars(engine)
    with engine.connect() as conn:
        assert workdays.loaded_years(conn) == [2026]
        assert workdays.read_calendar(conn).is_working(D(2026, 2, 14))
    engine.dispose()
