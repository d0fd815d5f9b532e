"""The rating levels are named in one place (core/ratings.py LEVEL_TABLE): the server's
``hall.info``, the kiosk, the web pages and the evaluator on the bus all take the names
from there, so a level can never read one way on the kiosk and another on the phone."""

from __future__ import annotations

import re
from pathlib import Path

from hardware.bus.evaluator import FIVE_KEY, FOUR_KEY, NationalGrade
from kiosk.i18n import tr
from queue_server.core import rules
from queue_server.core.ratings import LEVEL_TABLE, level_names
from queue_server.server import hall_info

STATIC = Path(__file__).resolve().parents[2] / "queue_server" / "web" / "static"


def test_every_client_names_the_levels_from_the_one_table(config):
    names = level_names()
    assert {row[0]: row[1] for row in LEVEL_TABLE} == {v: n["zh"] for v, n in names.items()}
    assert names[3] == {"zh": "基本满意", "en": "Basically satisfied"}
    published = hall_info(config)["rating_levels"]
    assert [lv["level"] for lv in published] == [5, 4, 3, 2, 1]
    for lv in published:
        assert lv["name"] == names[lv["level"]]
        assert lv["id"] == rules.NATIONAL_LEVELS[lv["level"]]
        for lang in ("zh", "en"):
            assert tr(lang, f"level_{lv['level']}") == names[lv["level"]][lang]  # the kiosk
        grade = NationalGrade(lv["level"])  # the evaluator on the bus
        assert grade.name.lower() == lv["id"] and grade.label == lv["name"]
        assert grade.needs_follow_up == rules.is_dissatisfied(lv["level"])
    assert FIVE_KEY.grade(0) == 1 and FOUR_KEY.grade(0) == 2


def test_the_web_pages_take_the_names_from_hall_info():
    i18n = (STATIC / "i18n.js").read_text(encoding="utf-8")
    assert not re.search(r'"level\.\d"\s*:', i18n), "a level named in i18n.js again"
    for page in ("clerk", "office", "supervisor", "ticket"):
        js = (STATIC / f"{page}.js").read_text(encoding="utf-8")
        if "level." in js:
            assert re.search(r"setLevels\(\w+\.info\)", js), page
