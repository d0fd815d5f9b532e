"""Where to go (issue 12): floor and place per area or service in the hall file, checked
with located errors, and said by one rule on the kiosk, the paper and the phone page."""

from __future__ import annotations

from queue_server.config import load_config, parse_config
from queue_server.core.where import where_to_go
from queue_server.server import hall_info
from tests.queue_server.test_config import TEST_HALL, problems_of, raw_test_hall


def test_the_area_location_is_said_between_area_and_windows():
    info = hall_info(load_config(TEST_HALL))
    general = next(sv for sv in info["services"] if sv["id"] == "general")
    assert where_to_go(info, general, "zh") == "请到 民政 · 一楼东侧 · 1–2 号窗口"
    assert where_to_go(info, general, "en") == "Go to: Civil affairs · 1F east · windows 1–2"
    # hall.info carries the same text for the phone page, in each hall language
    assert general["where"] == {
        "zh": where_to_go(info, general, "zh"),
        "en": where_to_go(info, general, "en"),
    }
    party = next(sv for sv in info["services"] if sv["area"] == "party")
    assert party["where"]["en"] == "Go to: Party affairs · window 3"  # no location given


def test_a_service_elsewhere_overrides_its_area_location():
    raw = raw_test_hall()
    raw["services"][0]["location"] = {"zh": "三楼服务台", "en": "3F desk"}
    info = hall_info(parse_config(raw, "x.toml"))
    sv = info["services"][0]
    assert "3F desk" in sv["where"]["en"] and "1F east" not in sv["where"]["en"]


def test_bad_locations_are_reported_with_their_place():
    raw = raw_test_hall()
    raw["areas"][0]["location"] = {"zh": "一楼"}  # no English: a ticket in English says nothing
    raw["areas"][1]["location"] = 3
    raw["services"][0]["location"] = {"zh": "二楼", "en": "2F", "fr": "2e"}
    got = problems_of(raw)
    assert "areas[0].location: missing language 'en'" in got
    assert any(p.startswith("areas[1].location: must be a table of text") for p in got)
    assert "services[0].location.fr: unknown language 'fr'" in got


def test_the_demo_hall_says_a_floor_for_every_area():
    from queue_server.config import DEMO_CONFIG

    c = load_config(DEMO_CONFIG)
    assert all(set(a.location) >= {"zh", "en"} for a in c.areas)
