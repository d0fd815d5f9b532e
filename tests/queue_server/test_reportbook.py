"""The period report: KPIs with medians and 90th percentiles, the XLSX a director hands
in (opened with openpyxl, its figures checked against the database), CSV, bad periods."""

from __future__ import annotations

import base64
import csv
import dataclasses
import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from queue_server.core import accountability as acc
from queue_server.core import rules
from queue_server.core.errors import HallError
from queue_server.core.states import WindowOp
from queue_server.store import kpis, reportbook
from queue_server.store import schema as s
from queue_server.store.ops import HallOps

from .harness import GATEWAY, Clock, Store

DAY = dt.datetime(2026, 11, 10, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai, a Tuesday


def _day(st: Store) -> None:
    """Window 1 (clerk c-1) serves five tickets with known times, window 3 one; one
    no-show, one pause of ten minutes."""
    clock = st.clock
    clock.now = DAY
    st.open(1, "c-1")
    st.open(3, "c-3")
    for _ in range(5):
        st.issue("general")
    st.issue("party-transfer")
    for i, (wait, walk, service, level) in enumerate(
        [
            (60, 30, 120, 5),
            (120, 30, 240, 4),
            (180, 60, 300, 3),
            (240, 30, 60, 2),
            (300, 30, 90, None),
        ]
    ):
        clock.now = DAY + dt.timedelta(seconds=wait + i * 1000)
        called = st.call_next(1)
        assert called["ticket"]["label"] == f"A00{i + 1}"
        clock.advance(seconds=walk)
        st.run(st.ops.start, GATEWAY, {"window": 1})
        clock.advance(seconds=service)
        st.finish(1)
        if level is not None:
            st.run(st.ops.rate, GATEWAY, {"window": 1, "level": level})
    clock.now = DAY + dt.timedelta(hours=2)
    st.run(st.ops.window_op, GATEWAY, {"window": 1}, WindowOp.PAUSE)
    clock.advance(minutes=10)
    st.run(st.ops.window_op, GATEWAY, {"window": 1}, WindowOp.RESUME)
    st.call_next(3)
    for _ in range(2):  # the test hall's recall limit
        st.run(st.ops.recall, GATEWAY, {"window": 3})
    st.run(st.ops.no_show, GATEWAY, {"window": 3})
    clock.advance(minutes=5)
    st.committer.call(lambda c, n: (st.ops.expire_ratings(c, n), []))
    st.run(st.ops.window_op, GATEWAY, {"window": 1}, WindowOp.CLOSE)


@pytest.fixture
def day_store(config, db_url):
    st = Store(config, db_url, Clock(DAY))
    try:
        _day(st)
        yield st
    finally:
        st.close()


def test_kpis_of_a_day_with_medians_percentiles_and_session_times(day_store):
    st = day_store
    with st.engine.connect() as conn:
        fig = kpis.figures(conn, st.config, acc.parse_period("2026-11-10"))
    w1 = fig["groups"]["window"][1]
    assert (w1["cases"], w1["served"], w1["no_shows"]) == (5, 5, 0)
    # all five issued at 09:00, called after 60, 1120, 2180, 3240 and 4300 s
    assert w1["wait_median_s"] == pytest.approx(2180, abs=0.1)
    assert w1["wait_p90_s"] == pytest.approx(4300, abs=0.1)
    assert w1["walk_median_s"] == pytest.approx(30, abs=0.1)
    assert w1["walk_p90_s"] == pytest.approx(60, abs=0.1)
    assert w1["service_median_s"] == pytest.approx(120, abs=0.1)
    assert w1["service_p90_s"] == pytest.approx(300, abs=0.1)
    assert (w1["rated"], w1["satisfied"], w1["not_rated"]) == (4, 2, 1)
    assert w1["satisfaction"] == 0.5  # 5 and 4 of 5, 4, 3, 2: basically satisfied is not
    assert w1["paused_s"] == pytest.approx(600, abs=0.1)
    assert w1["open_s"] > w1["paused_s"] and w1["idle_s"] >= 0
    assert fig["groups"]["clerk"]["c-1"]["paused_s"] == pytest.approx(600, abs=0.1)
    w3 = fig["groups"]["window"][3]
    assert (w3["cases"], w3["served"], w3["no_shows"], w3["recalls"]) == (1, 0, 1, 2)
    assert fig["groups"]["department"]["civil"]["cases"] == 5
    assert fig["total"]["cases"] == 6


def test_percentile_is_the_nearest_rank():
    assert kpis.percentile([], 0.9) is None
    assert kpis.percentile([1.0], 0.9) == 1.0
    values = [float(v) for v in range(1, 11)]
    assert kpis.percentile(values, 0.9) == 9.0 and kpis.percentile(values, 0.5) == 5.0
    assert kpis.percentile([1.0, 2.0, 3.0], 0.9) == 3.0


def test_the_xlsx_opens_and_its_figures_are_the_database(day_store):
    st = day_store
    with st.engine.connect() as conn:
        report = reportbook.build(conn, st.ops, acc.parse_period("2026-11"), st.clock())
        c = s.cases.c
        served, rated, satisfied = conn.execute(
            select(
                func.count(),
                func.sum(func.coalesce((c.rating_state == "rated").cast(s.Integer), 0)),
                func.count().filter(c.rating >= rules.SATISFIED_MIN),
            ).where(c.outcome == "done")
        ).one()
    book = load_workbook(io.BytesIO(reportbook.to_xlsx(report)))
    assert book.sheetnames == ["概览", "部门", "窗口", "人员", "事项", "窗口排名", "需求"]
    head = {r[0]: r[1] for r in book["概览"].iter_rows(min_row=4, values_only=True)}
    assert head["办结件数"] == served == 5
    assert head["评价数"] == rated == 4
    assert head["满意率"] == pytest.approx(satisfied / rated) == 0.5
    assert head["有责投诉"] == 0  # the ledger's count: no record of the period found at fault
    win = book["窗口"]
    header = [cell.value for cell in win[1]]
    assert header[:4] == ["编号", "名称", "叫号办件", "办结"]
    rows = {
        r[0]: dict(zip(header, r, strict=False)) for r in win.iter_rows(min_row=2, values_only=True)
    }
    assert rows["1"]["满意率"] == 0.5 and rows["1"]["评价数"] == 4
    assert rows["3"]["过号"] == 1
    assert len(win._charts) == 1 and len(book["需求"]._charts) == 1  # native Excel charts
    demand = {r[0]: r[1:] for r in book["需求"].iter_rows(min_row=2, max_row=3, values_only=True)}
    assert demand["general"][9] == 5  # five tickets at 09:00 local


def test_the_csv_has_a_bom_chinese_headers_and_the_same_figures(day_store):
    st = day_store
    with st.engine.connect() as conn:
        report = reportbook.build(conn, st.ops, acc.parse_period("2026-11-10"), st.clock())
    data = reportbook.to_csv(report)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1][:4] == ["分组", "编号", "名称", "叫号办件"]
    total = dict(zip(rows[1], rows[2], strict=True))
    assert total["分组"] == "全厅" and total["办结"] == "5" and total["满意率(%)"] == "50.0"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"period": "2026-11-30..2026-11-01"}, "bad_period"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "bad_period"),
        ({"period": "2020-01-01..2026-11-01"}, "period_too_long"),
        ({"period": "last month"}, "bad_period"),
        ({"period": "2026-11", "format": "pdf"}, "bad_request"),
    ],
)
def test_bad_periods_get_a_clear_error_not_internal(config, sqlite_url, args, code):
    st = Store(config, sqlite_url)
    try:
        with pytest.raises(HallError) as exc, st.engine.connect() as conn:
            reportbook.get(conn, st.ops, args, st.clock())
        assert exc.value.code == code
    finally:
        st.close()


def test_report_get_gives_the_file_as_base64(day_store):
    st = day_store
    with st.engine.connect() as conn:
        got = reportbook.get(conn, st.ops, {"period": "2026-11", "format": "xlsx"}, st.clock())
    assert got["filename"] == "hallq-report-2026-11.xlsx"
    load_workbook(io.BytesIO(base64.b64decode(got["base64"])))


def test_today_figures(day_store):
    st = day_store
    with st.engine.connect() as conn:
        fig = reportbook.today(conn, st.ops, st.clock())
    assert fig["issued"] == 6 and fig["served"] == 5 and fig["waiting"] == 0
    assert fig["satisfaction"] == 0.5 and fig["not_rated"] == 1
    assert fig["wait_p90_s"] >= fig["wait_mean_s"] > 0
    assert fig["charts"]["satisfaction_by_window"].startswith("<svg")
    assert fig["issued_by_hour"][9] == 6


def test_the_cli_writes_the_xlsx_and_refuses_a_reversed_period(config, tmp_path, capsys):
    from pathlib import Path

    from queue_server.cli import main

    url = f"sqlite:///{tmp_path / 'h.db'}"
    st = Store(config, url, Clock(DAY))
    try:
        _day(st)
    finally:
        st.close()
    hall = str(Path(__file__).parents[1] / "hall_test.toml")
    out = tmp_path / "nov.xlsx"
    base = ["report", "summary", "--config", hall, "--db", url]
    assert main([*base, "--period", "2026-11", "--format", "xlsx", "--out", str(out)]) == 0
    assert load_workbook(out)["概览"]["B4"].value == 5
    assert main([*base, "--from", "2026-11-30", "--to", "2026-11-01"]) == 1
    assert "before it starts" in capsys.readouterr().err
    assert main([*base, "--period", "2026-11-10"]) == 0
    assert "满意率: 50.0 %" in capsys.readouterr().out


def test_the_audit_log_filtered_by_actor_ticket_case_and_period(day_store):
    from queue_server.store import auditlog

    st = day_store

    def ask(**args: Any) -> dict[str, Any]:
        with st.engine.connect() as conn:
            return auditlog.entries(conn, st.ops, args, st.clock())

    day = "2026-11-10"
    everything = ask(period=day, limit=5000)["entries"]
    assert everything and all(e["at"][:10] == day for e in everything)
    assert [e["at"] for e in everything] == sorted((e["at"] for e in everything), reverse=True)
    a3 = ask(period=day, ticket="A003")["entries"]
    assert a3 and {e["ticket"] for e in a3} == {"A003"}
    assert {e["op"] for e in a3} >= {"call.next", "case.start", "case.finish", "rating.submit"}
    pauses = ask(period=day, op="window.pause")["entries"]
    assert [(e["actor"], e["window"]) for e in pauses] == [("gateway", 1)]
    assert ask(period=day, actor="nobody")["entries"] == []
    assert ask(period="2026-11-09")["entries"] == []  # the day before: nothing
    csv_file = ask(period=day, ticket="A003", format="csv")
    text = base64.b64decode(csv_file["base64"]).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("时间,操作人") and text.count("A003") == len(a3)
    for bad, code in (
        ({"period": "2026-11-10..2026-11-01"}, "bad_period"),
        ({"ticket": "12AB"}, "bad_request"),
        ({"limit": 0}, "bad_request"),
        ({"format": "xlsx"}, "bad_request"),
    ):
        with pytest.raises(HallError) as exc:
            ask(**bad)
        assert exc.value.code == code


def test_the_weekly_ranking_of_the_last_complete_week(day_store):
    st = day_store
    st.clock.now = dt.datetime(2026, 11, 17, 2, 0, tzinfo=dt.UTC)  # the next Tuesday
    cfg = dataclasses.replace(
        st.config, accountability=dataclasses.replace(st.config.accountability, min_ratings=1)
    )
    ops = HallOps(cfg)
    with st.engine.connect() as conn:
        got = reportbook.ranking(conn, ops, {}, st.clock())
    assert (got["period"], got["from"], got["to"]) == ("2026-W46", "2026-11-09", "2026-11-15")
    ranks = [(w["rank"], w["key"]) for w in got["windows"]]
    assert ranks == [(1, 1), (None, 3)]  # window 3 had no rating
    assert got["windows"][0]["satisfaction"] == 0.5
