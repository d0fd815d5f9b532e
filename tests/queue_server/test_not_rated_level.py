"""The "system default rating" (SUPERVISION.md): a case not rated in time is exported
and uploaded on the system-default channel with no level, unless the hall file names
the level its province's interface wants (``[ratings] not_rated_level``). HallQ's own
satisfaction still counts such a case apart."""

from __future__ import annotations

import dataclasses
import datetime as dt

from queue_server.core import ratings

CASE = ratings.RatedCase(
    case_id=9,
    case_number="20261124-A002-9",
    channel="system",
    rated_at=dt.datetime(2026, 11, 24, 2, 3, 4, tzinfo=dt.UTC),
    level=None,
    reasons=(),
    text=None,
    department="civil",
    service="general",
    clerk="c001",
    window=1,
    promised=False,
    accepted_on=dt.date(2026, 11, 24),
)
TZ = dt.timezone(dt.timedelta(hours=8))


def test_no_level_by_default_and_the_hall_files_level_when_set():
    plain = ratings.rating_record(CASE, ratings.RatingSettings(), TZ)
    assert plain["评价渠道"] == "8" and plain["满意度"] == "" and plain["满意度代码"] == ""
    settings, problems = ratings.parse_settings({"not_rated_level": 5, "code_order": "provincial"})
    assert problems == [] and settings.not_rated_level == 5
    rec = ratings.rating_record(CASE, settings, TZ)
    assert rec["评价渠道"] == "8" and rec["满意度"] == "非常满意" and rec["满意度代码"] == "5"
    # a rated case keeps its own level, whatever the default
    rated = dataclasses.replace(CASE, channel="device", level=2)
    assert ratings.rating_record(rated, settings, TZ)["满意度"] == "不满意"


def test_a_default_that_is_not_a_level_is_refused():
    for bad in (0, 6, "5", True, 4.0):
        _, problems = ratings.parse_settings({"not_rated_level": bad})
        assert [w for w, _ in problems] == ["not_rated_level"], bad
