"""``hallq demo --simulate``'s past day (issue 11's done-when): ratings, a dissatisfied
case on the ledger, a warning (talk reminder) for the clerk rated worse, and an XLSX a
director could hand in, its figures checked against the database. Injected clock: the
whole day runs in well under a second of wall time."""

from __future__ import annotations

import datetime as dt

from openpyxl import load_workbook
from sqlalchemy import func, select

from queue_server.config import DEMO_CONFIG, load_config
from queue_server.demo import runner
from queue_server.store import db
from queue_server.store import schema as s

DAY = dt.date(2026, 11, 27)  # a Friday


def test_the_simulated_day_has_ratings_a_ledger_record_a_warning_and_a_report(tmp_path):
    config = load_config(DEMO_CONFIG)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = db.open_engine(url)
    db.upgrade(engine)
    db.ensure_windows(engine, config)
    day = runner.simulate_day(url, config, DAY, tmp_path)
    assert day["cases"] >= 60 and day["rated"] >= 60 and day["dissatisfied"] >= 1
    with engine.connect() as conn:
        rated = conn.execute(
            select(func.count()).where(s.cases.c.rating_state == "rated")
        ).scalar_one()
        records = conn.execute(select(func.count()).select_from(s.rectifications)).scalar_one()
        reminders = conn.execute(
            select(s.talk_reminders.c.subject_kind, s.talk_reminders.c.subject)
        ).all()
        served = conn.execute(select(func.count()).where(s.cases.c.outcome == "done")).scalar_one()
    assert rated == day["rated"]
    assert records == day["dissatisfied"]  # each dissatisfied rating opened a ledger record
    # the warning: window 2 and its clerk under 80 %, the others not
    assert set(reminders) == {("window", "2"), ("clerk", "c002")}
    assert len(day["reminders"]) == 2
    # the report a director hands in
    assert day["report"].exists() and day["report"].parent == tmp_path
    wb = load_workbook(day["report"])
    head = {r[0]: r[1] for r in wb["概览"].iter_rows(min_row=4, values_only=True)}
    assert head["办结件数"] == served
    assert head["评价数"] == rated
    windows = {str(r[0]): r for r in wb["窗口"].iter_rows(min_row=2, values_only=True)}
    titles = [c.value for c in wb["窗口"][1]]
    sat = titles.index("满意率")
    assert windows["2"][sat] < 0.8 <= windows["1"][sat]
    assert wb["窗口"]._charts  # a native chart, not a picture
    engine.dispose()
