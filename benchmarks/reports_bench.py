"""Reports of a year: what the period report, its files and the today figures cost.

Reuses the year that ``casefile_bench.py`` builds (2026 up to 30 November, a 140-window
hall, 290,000 tickets with their promised case files) and adds what the window did with
each ticket: a case with its call, start and finish times, 3 % no-shows, 2 % transfers,
a rating on 85 % of the served (most satisfied, some basically satisfied, a few bad), and
the windows' daily sessions (open, a lunch pause, close) in the audit log. Then, with the
store's own code on a read connection, it measures:

  0. the daily summaries of the ended days (``summaries.refresh``, what the server's
     clock does a few days a minute) and of the closed months' case files
     (``casefile_summaries.refresh``), once;
  1. the period report (``reportbook.build``: KPIs with medians and 90th percentiles,
     case-file figures, demand) for a month and for the year, and the XLSX of each; and
     the year's KPIs and case-file figures counted from the raw rows alone (no
     summary), for the ratios;
  2. the supervisor's today figures (``report.today``, with its charts);
  3. a month's assessment (talk reminders), once.

    .venv/bin/python benchmarks/reports_bench.py [--cases 290000] [--pg URL] [--write]

``--pg`` runs the same on PostgreSQL (a scratch database is created and dropped).
``--write`` puts the figures in docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import casefile_bench  # noqa: E402  (its year of tickets and case files)
from sqlalchemy import bindparam, insert, select, update  # noqa: E402

from queue_server.config import DEMO_CONFIG, load_config  # noqa: E402
from queue_server.core import accountability as acc  # noqa: E402
from queue_server.store import (  # noqa: E402
    accountability,
    casefile_summaries,
    db,
    kpis,
    reportbook,
    summaries,
)
from queue_server.store import schema as s  # noqa: E402
from queue_server.store.ops import HallOps  # noqa: E402

NOW = casefile_bench.NOW
WINDOWS = casefile_bench.WINDOWS
BATCH = 5000
timed = casefile_bench.timed  # best of n


def add_window_work(engine: Any, seed: int = 11) -> dict[str, int]:
    """A case per ticket (called, started, finished, rated) and each window's sessions."""
    rnd = random.Random(seed)
    t = s.tickets.c
    with engine.connect() as conn:
        tickets = list(conn.execute(select(t.id, t.issued_at, t.service_id, t.window)))
    today = NOW.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    cases, today_calls, days = [], [], set()
    counts = {"rated": 0, "no_shows": 0}
    for tid, issued, service, window in tickets:
        called = issued + dt.timedelta(seconds=rnd.randrange(30, 1800))
        started = called + dt.timedelta(seconds=rnd.randrange(10, 120))
        ended = started + dt.timedelta(seconds=rnd.randrange(60, 900))
        r = rnd.random()
        outcome = "no_show" if r < 0.03 else ("transferred" if r < 0.05 else "done")
        rated = outcome == "done" and rnd.random() < 0.85
        level = rnd.choices((5, 4, 3, 2, 1), (70, 20, 6, 3, 1))[0] if rated else None
        counts["rated"] += rated
        counts["no_shows"] += outcome == "no_show"
        cases.append(
            {
                "ticket_id": tid,
                "window": window,
                "clerk": f"c{window:03d}",
                "service_id": service,
                "called_at": called,
                "started_at": None if outcome == "no_show" else started,
                "ended_at": ended,
                "outcome": outcome,
                "rating_state": ("rated" if rated else "not_rated") if outcome == "done" else None,
                "rating": level,
                "rating_source": "device" if rated else None,
                "rated_at": ended + dt.timedelta(seconds=20) if rated else None,
            }
        )
        days.add(issued.date())
        if issued.astimezone(dt.timezone(dt.timedelta(hours=8))).date() == today:
            today_calls.append({"_id": tid, "called_at": called})
    audit = []
    for day in sorted(days):
        for w in range(1, WINDOWS + 1):
            base = dt.datetime.combine(day, dt.time(0, 55), dt.UTC)
            for op, minutes in (("open", 0), ("pause", 185), ("resume", 300), ("close", 545)):
                audit.append(
                    {
                        "at": base + dt.timedelta(minutes=minutes),
                        "actor": "gateway",
                        "role": "gateway",
                        "op": f"window.{op}",
                        "window": w,
                        "ticket_id": None,
                        "detail": f'{{"clerk": "c{w:03d}"}}' if op == "open" else None,
                    }
                )
    with engine.begin() as conn:
        for table, rows in ((s.cases, cases), (s.audit, audit)):
            for i in range(0, len(rows), BATCH):
                conn.execute(insert(table), rows[i : i + BATCH])
        if today_calls:
            conn.execute(
                update(s.tickets)
                .where(s.tickets.c.id == bindparam("_id"))
                .values(called_at=bindparam("called_at")),
                today_calls,
            )
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    counts["cases"] = len(cases)
    counts["audit"] = len(audit)
    return counts


def measure(url: str, n_cases: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    engine, _ = casefile_bench.build(url, n_cases)
    counts = add_window_work(engine)
    built = time.perf_counter() - t0
    config = load_config(DEMO_CONFIG)
    ops = HallOps(config)
    reader = db.open_engine(url, read_only=True)
    out: dict[str, Any] = {"backend": engine.dialect.name, "built_s": built, **counts}
    t0 = time.perf_counter()
    with engine.begin() as conn:
        out["summarized_days"] = summaries.refresh(conn, config, NOW, limit=400)
        out["summarized_months"] = casefile_summaries.refresh(conn, config, NOW, limit=24)
    out["summarize_s"] = time.perf_counter() - t0
    out["load"] = os.getloadavg()[0]

    def report(period: str) -> dict[str, Any]:
        with reader.connect() as conn, conn.begin():
            return reportbook.build(conn, ops, acc.parse_period(period), NOW)

    month, year = "2026-11", "2026-01-01..2026-12-31"
    out["month_s"] = timed(lambda: report(month))
    out["year_s"] = timed(lambda: report(year))

    def raw_year() -> None:
        with reader.connect() as conn, conn.begin():
            kpis.collect(conn, config, acc.parse_period(year), summaries=False)

    out["raw_year_kpis_s"] = timed(raw_year, repeat=1)

    def year_kpis() -> None:
        with reader.connect() as conn, conn.begin():
            kpis.collect(conn, config, acc.parse_period(year))

    out["year_kpis_s"] = timed(year_kpis)

    def year_casefiles(summarized: bool) -> None:
        p = acc.parse_period(year)
        with reader.connect() as conn, conn.begin():
            casefile_summaries.grouped(conn, p.start, p.end, summaries=summarized)

    out["year_cf_s"] = timed(lambda: year_casefiles(True))
    out["raw_year_cf_s"] = timed(lambda: year_casefiles(False), repeat=1)
    rep_year = report(year)
    out["month_xlsx_s"] = timed(lambda: reportbook.to_xlsx(report(month)))
    out["year_xlsx_s"] = timed(lambda: reportbook.to_xlsx(report(year)))
    out["year_csv_s"] = timed(lambda: reportbook.to_csv(report(year)))
    out["year_served"] = rep_year["headline"]["served"]
    out["year_satisfaction"] = rep_year["headline"]["satisfaction"]

    def today() -> dict[str, Any]:
        with reader.connect() as conn, conn.begin():
            return reportbook.today(conn, ops, NOW)

    out["today_s"] = timed(today, repeat=10)
    out["today_issued"] = today()["issued"]
    t0 = time.perf_counter()
    with engine.begin() as conn:
        summary, _ = accountability.assess(conn, config, acc.parse_period("2026-10"), NOW)
    out["assess_s"] = time.perf_counter() - t0
    out["reminders"] = len(summary["reminders"])
    reader.dispose()
    engine.dispose()
    return out


def section(results: list[dict[str, Any]], command: str) -> str:
    lines = [
        "## Reports: the period report, its files and today's figures",
        "",
        f"`{command}` on {platform.machine()}, Python {platform.python_version()}, "
        f"{dt.date.today().isoformat()}. A year (2026, up to 30 November) of a 140-window "
        "hall: the tickets and case files of `casefile_bench.py`, a case per ticket with "
        "its times and (85 % of the served) a rating, each window's daily sessions in the "
        "audit log; best of 3 (today's figures: of 10), on a read connection.",
        "",
        "| backend | cases | ratings | report, month | report, year | XLSX, month | "
        "XLSX, year | CSV, year | today's figures | month's assessment | year's KPIs: "
        "summary / raw rows | year's case-file figures: summary / raw rows | summarizing the "
        "year | load (1 min) |",
        "| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['cases']:,} | {r['rated']:,} | {r['month_s'] * 1000:.0f} ms "
            f"| {r['year_s'] * 1000:.0f} ms | {r['month_xlsx_s'] * 1000:.0f} ms "
            f"| {r['year_xlsx_s'] * 1000:.0f} ms | {r['year_csv_s'] * 1000:.0f} ms "
            f"| {r['today_s'] * 1000:.1f} ms | {r['assess_s'] * 1000:.0f} ms "
            f"| {r['year_kpis_s'] * 1000:,.0f} / {r['raw_year_kpis_s'] * 1000:,.0f} ms "
            f"(×{r['raw_year_kpis_s'] / r['year_kpis_s']:.1f}) "
            f"| {r['year_cf_s'] * 1000:,.0f} / {r['raw_year_cf_s'] * 1000:,.0f} ms "
            f"(×{r['raw_year_cf_s'] / r['year_cf_s']:.1f}) "
            f"| {r['summarize_s']:.1f} s ({r['summarized_days']} days, "
            f"{r['summarized_months']} months) "
            f"| {r['load']:.1f} |"
        )
    lines += [
        "",
        "Targets (issue 11): each report under 2 s for a month and for a year; today's "
        "figures under 50 ms. The XLSX and CSV columns include building the report. "
        "The ended days are read from their daily summaries (store/summaries.py) and the "
        "closed months' finished case files from theirs (store/casefile_summaries.py), "
        "both made first (the column before the load); the year's KPIs and case-file "
        "figures counted from the raw rows alone show what the summaries save, measured "
        "in the same run.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    args, results = casefile_bench.run(__doc__.splitlines()[0], measure, "reports")
    for r in results:
        print(
            f"{r['backend']}: {r['cases']:,} cases, {r['rated']:,} ratings, {r['audit']:,} "
            f"audit rows, built in {r['built_s']:.0f} s; report month "
            f"{r['month_s'] * 1000:.0f} ms, year {r['year_s'] * 1000:.0f} ms; xlsx month "
            f"{r['month_xlsx_s'] * 1000:.0f} ms, year {r['year_xlsx_s'] * 1000:.0f} ms; "
            f"today {r['today_s'] * 1000:.1f} ms ({r['today_issued']} issued); assess "
            f"{r['assess_s'] * 1000:.0f} ms ({r['reminders']} reminders); year served "
            f"{r['year_served']:,}, satisfaction {r['year_satisfaction']}"
        )
    command = "python benchmarks/reports_bench.py" + (" --pg URL" if args.pg else "")
    text = section(results, command + " --write")
    print(text)
    if args.write:
        casefile_bench.write(text)


if __name__ == "__main__":
    main()
