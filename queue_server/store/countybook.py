"""The county's period report: every hall's headline figures side by side, and the county.

A county leader compares halls on the figures each hall already reports to its own
superiors: each hall's row is that hall's period report (``store/reportbook.py``,
:func:`reportbook.build`) read on its own database, so a hall's row and the hall's own
report can never disagree. This module only lays them side by side and adds the county
total:

- **counts are summed** (cases, served, no-shows, ratings, promised cases accepted and
  finished, upheld complaints);
- **rates are recomputed from the summed counts**, never averaged: satisfaction is the
  county's satisfied ÷ rated (the one rule, ``rules.satisfaction``), the on-time and
  early rates the county's on-time and early finishes ÷ finished promised cases (counted
  by ``casefile_summaries.grouped``, as the halls' own rates are). A small hall's 100 % does
  not weigh as much as a large hall's 80 %;
- **medians and 90th percentiles of waits are not combined**: the median of medians is
  not the county's median, so the total leaves them empty and says so.

A hall whose database cannot be read is listed as such and left out of the total (the
total names how many halls it covers), never hiding the other halls.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy.engine import Connection

from ..core import accountability as acc
from ..core import rules
from . import casefile_summaries, reportbook

COLUMNS: tuple[tuple[str, str], ...] = (
    *reportbook.HEADLINE,
    ("satisfied", "满意数"),
    ("accepted", "承诺件受理"),
    ("finished", "承诺件办结"),
)
"""The figures of each hall's row: its report's headline, and the counts behind its rates."""
RATES = reportbook.RATES
SUMMED = (
    "served", "cases", "no_shows", "rated", "not_rated", "satisfied", "accepted", "finished",
    "complaints_upheld",
)  # fmt: skip
NOT_COMBINED = ("wait_median_s", "wait_p90_s")
"""Per hall only: a median of medians is not the county's median."""


def hall_row(conn: Connection, ops: Any, period: acc.Period, now: dt.datetime) -> dict[str, Any]:
    """One hall's figures for the period, from its own report (one read of its database)."""
    head = reportbook.build(conn, ops, period, now)["headline"]
    row = {key: head.get(key) for key, _ in COLUMNS}
    # The counts behind the hall's on-time and early rates (read as the report reads
    # them: closed months from their summary), for the county's own rates.
    _groups, counts = casefile_summaries.grouped(conn, period.start, period.end, ("department",))
    row["on_time"] = counts["on_time"]
    row["early"] = counts["early"]
    return row


def total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The county's figures from the halls' rows (counts summed, rates recomputed)."""
    out: dict[str, Any] = {}
    for key in (*SUMMED, "on_time", "early"):
        values = [r.get(key) for r in rows]
        out[key] = None if any(v is None for v in values) else sum(values)
    rate = rules.satisfaction(out["rated"] or 0, out["satisfied"] or 0)
    out["satisfaction"] = round(rate, 4) if rate is not None else None
    done = out["finished"] or 0
    out["on_time_rate"] = round(out["on_time"] / done, 4) if done else None
    out["early_rate"] = round(out["early"] / done, 4) if done else None
    for key in NOT_COMBINED:
        out[key] = None
    return out


def build(
    county: str,
    period: acc.Period,
    now: dt.datetime,
    halls: list[tuple[str, dict[str, str], dict[str, Any] | None]],
) -> dict[str, Any]:
    """The report from each hall's (id, name, row); a row of None: the hall was unreadable."""
    rows = []
    for hall_id, name, row in halls:
        entry: dict[str, Any] = {"hall": hall_id, "name": name}
        if row is None:
            entry["error"] = "unreadable"
        else:
            entry.update(row)
        rows.append(entry)
    read = [r for r in rows if "error" not in r]
    return {
        "county": county,
        "period": period.label,
        "kind": period.kind,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "made_at": now.isoformat(),
        "halls": rows,
        "total": dict(total(read), halls=len(read)),
        "not_combined": list(NOT_COMBINED),
    }


def _hall_name(name: dict[str, str]) -> str:
    return name.get("zh") or name.get("en") or ""


def _cell(key: str, value: Any) -> Any:
    if value is None:
        return ""
    if key in RATES:
        return round(float(value) * 100, 1)
    return value


def to_csv(report: dict[str, Any]) -> bytes:
    """One row per hall, then the county; UTF-8 with a byte-order mark (Excel, WPS)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([f"{report['county']} 统计期间 {report['from']} 至 {report['to']}"])
    w.writerow(["大厅", "名称", *(h + ("(%)" if k in RATES else "") for k, h in COLUMNS)])
    for r in report["halls"]:
        if "error" in r:
            w.writerow([r["hall"], _hall_name(r["name"]), "无法读取"])
        else:
            cells = [_cell(k, r.get(k)) for k, _ in COLUMNS]
            w.writerow([r["hall"], _hall_name(r["name"]), *cells])
    t = report["total"]
    w.writerow(["全县合计", f"{t['halls']} 个大厅", *(_cell(k, t.get(k)) for k, _ in COLUMNS)])
    w.writerow(["注", "等候中位数与90分位按大厅分列，不跨大厅合计"])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(report: dict[str, Any]) -> bytes:
    """A workbook with one sheet (halls side by side, the county last) and a chart of
    each hall's satisfaction. Rates are numbers formatted as percentages."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "各大厅对比"
    ws.append([f"{report['county']} 政务服务统计报表（各大厅）"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["统计期间", f"{report['from']} 至 {report['to']}"])
    ws.append(["大厅", "名称", *(h for _, h in COLUMNS)])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    first = ws.max_row + 1
    for r in report["halls"]:
        if "error" in r:
            ws.append([r["hall"], _hall_name(r["name"]), "无法读取"])
        else:
            ws.append([r["hall"], _hall_name(r["name"]), *(r.get(k) for k, _ in COLUMNS)])
    last = ws.max_row
    t = report["total"]
    ws.append(["全县合计", f"{t['halls']} 个大厅", *(t.get(k) for k, _ in COLUMNS)])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for j, (k, _) in enumerate(COLUMNS, start=3):
        if k in RATES:
            for i in range(first, ws.max_row + 1):
                ws.cell(i, j).number_format = "0.0%"
    ws.append([])
    ws.append(["注", "等候中位数与90分位按大厅分列，不跨大厅合计"])
    ws.column_dimensions["B"].width = 24
    if last >= first:
        col = 3 + [k for k, _ in COLUMNS].index("satisfaction")
        chart = BarChart()
        chart.title = "各大厅满意率"
        chart.y_axis.number_format = "0%"
        chart.y_axis.scaling.min = 0
        chart.y_axis.scaling.max = 1
        chart.add_data(Reference(ws, min_col=col, min_row=first - 1, max_row=last),
                       titles_from_data=True)  # fmt: skip
        chart.set_categories(Reference(ws, min_col=2, min_row=first, max_row=last))
        chart.height, chart.width = 8, max(12, min(40, (last - first + 1) * 2))
        ws.add_chart(chart, f"A{ws.max_row + 2}")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


FORMATS = reportbook.FORMATS


def filename(report: dict[str, Any], fmt: str) -> str:
    return f"hallq-county-report-{report['period'].replace('..', '_')}.{fmt}"
