"""The hall's report for a period: headline figures and tables, as data, CSV and XLSX.

One report, three forms: :func:`build` gathers it (``store/kpis.py`` for the windows'
figures, ``casefile.figures`` for on-time and early completion, one satisfaction rule),
:func:`to_csv` and :func:`to_xlsx` write it with Chinese headers for the hall's
superiors (CSV with a byte-order mark so Excel and WPS open it as UTF-8; XLSX with native
charts). No citizen's data is in it: windows, staff ids, services and counts only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy.engine import Connection

from ..core import accountability as acc
from ..core.hall import HallConfig
from ..core.permissions import Actor
from . import casefile_summaries, kpis

_COLUMN = {
    "department": "department",
    "window": "window",
    "clerk": "clerk",
    "service": "service_id",
}

REPORTER = Actor("hallq-report", "admin")
"""Who reads the case-file figures for a report (a hall-wide read)."""

GROUP_TITLES = {"department": "部门", "window": "窗口", "clerk": "人员", "service": "事项"}
COLUMNS: tuple[tuple[str, str], ...] = (
    ("cases", "叫号办件"),
    ("served", "办结"),
    ("no_shows", "过号"),
    ("transfers", "转移"),
    ("recalls", "重呼"),
    ("wait_median_s", "等候中位数(秒)"),
    ("wait_p90_s", "等候90分位(秒)"),
    ("wait_mean_s", "平均等候(秒)"),
    ("walk_median_s", "到窗中位数(秒)"),
    ("service_median_s", "办理中位数(秒)"),
    ("service_p90_s", "办理90分位(秒)"),
    ("rated", "评价数"),
    ("satisfied", "满意数"),
    ("not_rated", "未评价"),
    ("satisfaction", "满意率"),
    ("accepted", "承诺件受理"),
    ("on_time_rate", "按时办结率"),
    ("early_rate", "提前办结率"),
    ("open_s", "开窗时长(秒)"),
    ("paused_s", "暂停时长(秒)"),
    ("idle_s", "空闲时长(秒)"),
)
RATES = {"satisfaction", "on_time_rate", "early_rate"}
RANK_KEYS = ("rank", "key", "name", "served", "rated", "satisfaction", "on_time_rate")
HEADLINE: tuple[tuple[str, str], ...] = (
    ("served", "办结件数"),
    ("cases", "叫号办件"),
    ("no_shows", "过号"),
    ("wait_median_s", "等候中位数(秒)"),
    ("wait_p90_s", "等候90分位(秒)"),
    ("on_time_rate", "按时办结率"),
    ("early_rate", "提前办结率"),
    ("rated", "评价数"),
    ("not_rated", "未评价"),
    ("satisfaction", "满意率"),
    ("complaints_upheld", "有责投诉"),
)


def period_from(args: dict[str, Any], today: dt.date) -> acc.Period:
    """``period`` (2026-11, 2026-W48, a day, FROM..TO) or ``from``/``to``; the month so
    far by default. Reversed or years-long periods are refused (bad_period,
    period_too_long)."""
    if args.get("period") is not None:
        return acc.parse_period(args["period"])
    if args.get("from") is None and args.get("to") is None:
        return acc.check_range(today.replace(day=1), today)
    a = args.get("from") or today.replace(day=1).isoformat()
    b = args.get("to") or today.isoformat()
    return acc.parse_period(f"{a}..{b}")


def _name(config: HallConfig, group: str, key: Any) -> str:
    if group == "department":
        d = config.department(key)
        return (d.name.get("zh") or d.name.get("en") or key) if d else str(key)
    if group == "service":
        sv = config.service(key)
        return (sv.name.get("zh") or sv.name.get("en") or key) if sv else str(key)
    if group == "window":
        w = config.window(key)
        return (w.name.get("zh") if w and w.name else None) or f"{key}号窗口"
    if group == "clerk":
        c = config.clerk(key)
        return c.name if c else str(key)
    return str(key)


def build(conn: Connection, ops: Any, period: acc.Period, now: dt.datetime) -> dict[str, Any]:
    """The whole report of a period, as plain data."""
    config: HallConfig = ops.config
    fig, demand = kpis.collect(conn, config, period)
    tables: dict[str, list[dict[str, Any]]] = {}
    # The case-file figures (casefile.figures' counts and rates), read once for all four
    # groupings.
    cf_groups, cf_counts = casefile_summaries.grouped(conn, period.start, period.end)
    cf_total: dict[str, Any] = casefile_summaries.rates(cf_counts)
    for group in kpis.GROUPS:
        by_key = {k: casefile_summaries.rates(g) for k, g in cf_groups[_COLUMN[group]].items()}
        rows = []
        keys = list(fig["groups"][group]) + [k for k in by_key if k not in fig["groups"][group]]
        for key in keys:
            row = dict(fig["groups"][group].get(key) or _empty())
            c = by_key.get(key)
            row.update(
                accepted=c["accepted"] if c else 0,
                on_time_rate=c["on_time_rate"] if c else None,
                early_rate=c["early_rate"] if c else None,
            )
            rows.append({"key": key, "name": _name(config, group, key), **row})
        tables[group] = rows
    headline = dict(fig["total"])
    headline.update(
        accepted=cf_total.get("accepted", 0),
        finished=cf_total.get("finished", 0),
        on_time_rate=cf_total.get("on_time_rate"),
        early_rate=cf_total.get("early_rate"),
        complaints_upheld=complaints_upheld(conn, period),
    )
    return {
        "hall": config.name,
        "period": period.label,
        "kind": period.kind,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "made_at": now.isoformat(),
        "headline": headline,
        "tables": tables,
        "demand": demand,
        # 周公示: the windows ranked by satisfaction and on-time rate (core rule)
        "ranking": [
            {k: r.get(k) for k in RANK_KEYS}
            for r in acc.ranking(tables["window"], config.accountability)
        ],
    }


def complaints_upheld(conn: Connection, period: acc.Period) -> int | None:
    """有责投诉: the bad ratings of the period whose verification found the staff at
    fault (the ledger's ``valid`` finding, or an appeal the supervisor overturned): the
    records that reached ``verified``, whatever came after."""
    from sqlalchemy import func, select

    table, rectify = kpis.ledger()
    not_found_at_fault = [rectify.RState.OPEN, rectify.RState.APPEALED, rectify.RState.DISMISSED]
    return int(
        conn.execute(
            select(func.count())
            .select_from(table)
            .where(
                table.c.opened_on >= period.start,
                table.c.opened_on <= period.end,
                table.c.state.not_in([st.value for st in not_found_at_fault]),
            )
        ).scalar_one()
    )


def _empty() -> dict[str, Any]:
    return {k: None for k, _ in COLUMNS}


def _cell(key: str, value: Any) -> Any:
    if value is None:
        return ""
    if key in RATES:
        return round(float(value) * 100, 1)  # a percentage
    return value


def to_csv(report: dict[str, Any]) -> bytes:
    """One table, long form: 分组, 编号, 名称 and the figures; the hall's total first.
    UTF-8 with a byte-order mark: Excel and WPS take it as UTF-8 only with one."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([f"统计期间 {report['from']} 至 {report['to']}", "", "", *("" for _ in COLUMNS)])
    w.writerow(["分组", "编号", "名称", *(h + ("(%)" if k in RATES else "") for k, h in COLUMNS)])
    head = report["headline"]
    w.writerow(["全厅", "", "", *(_cell(k, head.get(k)) for k, _ in COLUMNS)])
    for group, title in GROUP_TITLES.items():
        for r in report["tables"][group]:
            w.writerow([title, r["key"], r["name"], *(_cell(k, r.get(k)) for k, _ in COLUMNS)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(report: dict[str, Any]) -> bytes:
    """A workbook: 概览 (headline), one sheet per group with a satisfaction chart, and
    需求 (tickets by hour) with its chart. Rates are numbers formatted as percentages."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "概览"
    hall = report["hall"].get("zh") or report["hall"].get("en") or ""
    ws.append([f"{hall} 政务服务统计报表"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["统计期间", f"{report['from']} 至 {report['to']}"])
    ws.append(["指标", "数值"])
    for key, title in HEADLINE:
        value = report["headline"].get(key)
        ws.append([title, "未记录" if value is None and key == "complaints_upheld" else value])
        if key in RATES and value is not None:
            ws.cell(ws.max_row, 2).number_format = "0.0%"
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 24
    for group, title in GROUP_TITLES.items():
        sh = wb.create_sheet(title)
        sh.append(["编号", "名称", *(h for _, h in COLUMNS)])
        for cell in sh[1]:
            cell.font = Font(bold=True)
        rows = report["tables"][group]
        for r in rows:
            sh.append([str(r["key"]), r["name"], *(r.get(k) for k, _ in COLUMNS)])
        for j, (k, _) in enumerate(COLUMNS, start=3):
            if k in RATES:
                for i in range(2, len(rows) + 2):
                    sh.cell(i, j).number_format = "0.0%"
        sh.column_dimensions["B"].width = 20
        if rows:
            col = 3 + [k for k, _ in COLUMNS].index("satisfaction")
            chart = BarChart()
            chart.title = f"{title}满意率"
            chart.y_axis.title = "满意率"
            chart.y_axis.number_format = "0%"
            chart.y_axis.scaling.min = 0
            chart.y_axis.scaling.max = 1
            chart.add_data(
                Reference(sh, min_col=col, min_row=1, max_row=len(rows) + 1), titles_from_data=True
            )
            chart.set_categories(Reference(sh, min_col=2, min_row=2, max_row=len(rows) + 1))
            chart.height, chart.width = 8, max(12, min(40, len(rows) * 0.8))
            sh.add_chart(chart, f"A{len(rows) + 4}")
    rk = wb.create_sheet("窗口排名")
    rk.append(["名次", "窗口", "名称", "办结", "评价数", "满意率", "按时办结率"])
    for r in report["ranking"]:
        rk.append([r["rank"] or "评价不足", str(r["key"]), r["name"], r["served"], r["rated"],
                   r["satisfaction"], r["on_time_rate"]])  # fmt: skip
        for j in (6, 7):
            rk.cell(rk.max_row, j).number_format = "0.0%"
    dm = wb.create_sheet("需求")
    dm.append(["事项", *(f"{h}时" for h in range(24))])
    by_hour = report["demand"]["by_hour"]
    for sid, counts in by_hour.items():
        dm.append([sid, *counts])
    if by_hour:
        dm.append(["合计", *(sum(c[h] for c in by_hour.values()) for h in range(24))])
        n = dm.max_row
        chart = BarChart()
        chart.title = "各时段取号量"
        chart.add_data(Reference(dm, min_col=2, max_col=25, min_row=n, max_row=n), from_rows=True)
        chart.set_categories(Reference(dm, min_col=2, max_col=25, min_row=1, max_row=1))
        chart.legend = None
        chart.height, chart.width = 8, 24
        dm.add_chart(chart, f"A{n + 3}")
    dm.append([])
    dm.append(["事项", "周一", "周二", "周三", "周四", "周五", "周六", "周日"])
    for sid, counts in report["demand"]["by_weekday"].items():
        dm.append([sid, *counts])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def filename(report: dict[str, Any], fmt: str) -> str:
    return f"hallq-report-{report['period'].replace('..', '_')}.{fmt}"


def svg_bars(labels: list[str], values: list[float | None], *, percent: bool = False) -> str:
    """A bar chart as SVG, drawn on the server (no script library in the page): bars with
    their value written above, labels below; readable on a phone, printable."""
    n = max(1, len(labels))
    bar_w, gap, h, top, bottom = 28, 8, 120, 18, 22
    width = max(n, 10) * (bar_w + gap) + gap  # a lone bar is not drawn a screen wide
    peak = 1.0 if percent else max([v for v in values if v is not None] or [1.0]) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {h + top + bottom}" '
        f'role="img" font-family="sans-serif" font-size="10">'
    ]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = gap + i * (bar_w + gap)
        bh = 0 if v is None else round(h * v / peak)
        text = "-" if v is None else (f"{v * 100:.0f}%" if percent else f"{v:g}")
        parts.append(
            f'<rect x="{x}" y="{top + h - bh}" width="{bar_w}" height="{bh}" fill="#1565c0"/>'
            f'<text x="{x + bar_w / 2}" y="{top + h - bh - 4}" text-anchor="middle">{text}</text>'
            f'<text x="{x + bar_w / 2}" y="{top + h + 14}" text-anchor="middle">'
            f"{_xml(label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def get(conn: Connection, ops: Any, args: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """``report.get``: the report as data (``format`` json), or a file to download."""
    import base64

    from ..core import rules
    from ..core.errors import Refused

    fmt = args.get("format", "json")
    if fmt != "json" and fmt not in FORMATS:
        raise Refused("format is json, csv or xlsx", code="bad_request")
    period = period_from(args, rules.service_day(now, ops.config.tz))
    report = build(conn, ops, period, now)
    if fmt == "json":
        return report
    data = to_csv(report) if fmt == "csv" else to_xlsx(report)
    return {
        "filename": filename(report, fmt),
        "content_type": FORMATS[fmt],
        "base64": base64.b64encode(data).decode("ascii"),
    }


def ranking(conn: Connection, ops: Any, args: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """``ranking.get``: the windows ranked for a period, by default the last complete
    week (周公示), for the hall display and the supervisor."""
    from ..core import rules

    today_ = rules.service_day(now, ops.config.tz)
    period = (
        period_from(args, today_)
        if args.get("period") is not None
        else acc.last_complete("week", today_)
    )
    report = build(conn, ops, period, now)
    return {
        "period": report["period"],
        "from": report["from"],
        "to": report["to"],
        "min_ratings": ops.config.accountability.min_ratings,
        "windows": report["ranking"],
    }


def today(conn: Connection, ops: Any, now: dt.datetime) -> dict[str, Any]:
    """``report.today``: the supervisor's figures of the day, with two charts."""
    fig = kpis.today(conn, ops.config, now)
    rows = fig["by_window"]
    hours = fig["issued_by_hour"]
    lo = min((h for h, n in enumerate(hours) if n), default=8)
    hi = max((h for h, n in enumerate(hours) if n), default=17)
    span = range(min(lo, 8), max(hi, 17) + 1)
    fig["charts"] = {
        "issued_by_hour": svg_bars([str(h) for h in span], [float(hours[h]) for h in span]),
        "satisfaction_by_window": svg_bars(
            [str(r["window"]) for r in rows],
            [r["satisfied"] / r["rated"] if r["rated"] else None for r in rows],
            percent=True,
        ),
    }
    return fig
