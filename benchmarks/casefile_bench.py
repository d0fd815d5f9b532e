"""Promised cases of a year: what the lights sweep and the figures cost.

Builds a database holding a year (2026) of a 140-window hall's promised cases (290,000
case files by default, about 1,160 a working day, as one city hall reports), with the
2026 calendar, realistic promises (3 to 20 working days), most cases ready early, some
late, some suspended or extended, and the last weeks' cases still open. Then, with the
store's own code on real connections, it measures:

  1. the lights sweep on an ordinary minute: the read of the day and the calendar's
     load times (``lights_epoch``) that tells it nothing can have moved; and the full
     look at every open case (``lights_due``) that it runs on a new day, after a
     calendar load and after a start;
  2. the sweep at the turn of a day, when every open case is judged again and the
     lights that changed are written and announced;
  3. ``casefile.figures`` for a month and for the year, per department.

    .venv/bin/python benchmarks/casefile_bench.py [--cases 290000] [--pg URL] [--write]

``--pg`` runs the same on PostgreSQL (a scratch database is created and dropped).
``--write`` puts the figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import re
import sys
import tempfile
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from queue_server.config import DEMO_CONFIG, load_config  # noqa: E402
from queue_server.core.calendar import parse_year  # noqa: E402
from queue_server.core.casefile import due_day, early_before  # noqa: E402
from queue_server.core.permissions import Actor  # noqa: E402
from queue_server.store import db, workdays  # noqa: E402
from queue_server.store import schema as s  # noqa: E402
from queue_server.store.ops import HallOps  # noqa: E402
from queue_server.store.scratch import throwaway_database  # noqa: E402

CALENDAR = ROOT / "queue_server" / "demo" / "calendar-2026.toml"
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)  # Monday 30 Nov, 10:00 in Shanghai
WINDOWS = 140
BATCH = 5000


def build(url: str, n_cases: int, seed: int = 7) -> tuple[Any, dict[str, int]]:
    config = load_config(DEMO_CONFIG)
    engine = db.open_engine(url)
    db.upgrade(engine)
    year = parse_year(tomllib.loads(CALENDAR.read_text(encoding="utf-8")))
    with engine.begin() as conn:
        workdays.load_year(conn, year, str(CALENDAR), NOW)
        cal = workdays.read_calendar(conn)
    rnd = random.Random(seed)
    promised = [sv for sv in config.services if sv.kind == "promised"]
    days = [
        dt.date(2026, 1, 1) + dt.timedelta(days=i)
        for i in range(365)
        if cal.is_working(dt.date(2026, 1, 1) + dt.timedelta(days=i))
    ]
    today = NOW.astimezone(config.tz).date()
    days = [d for d in days if d <= today]
    per_day = n_cases / len(days)
    tickets: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    counts = {"open": 0, "late": 0, "suspended": 0, "extended": 0}
    tid = 0
    for day in days:
        for _ in range(int(per_day) + (rnd.random() < per_day % 1)):
            tid += 1
            sv = rnd.choice(promised)
            opened = dt.datetime.combine(day, dt.time(1 + rnd.randrange(8)), dt.UTC)
            extended = rnd.random() < 0.02
            suspended = rnd.random() < 0.05
            promise = sv.promised_days + (2 if extended else 0)
            due = due_day(cal, day, promise)
            # 90 % ready with days to spare, 9 % on the due day, 1 % late.
            r = rnd.random()
            spare = rnd.randrange(1, max(2, promise)) if r < 0.9 else (0 if r < 0.99 else -2)
            ready_on = due - dt.timedelta(days=spare) if spare >= 0 else due + dt.timedelta(days=2)
            ready_on = max(ready_on, day)
            ready_at = dt.datetime.combine(ready_on, dt.time(8), dt.UTC)
            is_open = ready_at > NOW
            counts["open"] += is_open
            counts["late"] += (not is_open) and ready_on > due
            counts["extended"] += extended
            tickets.append(
                {
                    "id": tid,
                    "day": day,
                    "prefix": "P",
                    "number": tid,
                    "queue": sv.queue,
                    "service_id": sv.id,
                    "status": "done",
                    "language": "zh",
                    "issued_at": opened,
                    "sort_at": opened,
                    "window": 1 + tid % WINDOWS,
                    "recalls": 0,
                    "transfers": 0,
                    "token": uuid.uuid4().hex,
                }
            )
            files.append(
                {
                    "id": tid,
                    "number": f"2026{tid:07d}",
                    "ticket_id": tid,
                    "case_id": None,
                    "service_id": sv.id,
                    "department": sv.department,
                    "window": 1 + tid % WINDOWS,
                    "clerk": f"c{1 + tid % WINDOWS:03d}",
                    "state": rnd.choice(["accepted", "in_review", "decided"])
                    if is_open
                    else "delivered",
                    "suspended_from": None,
                    "opened_at": opened,
                    "opened_on": day,
                    "promised_days": promise,
                    "due_on": due,
                    "early_before": early_before(cal, due, config.casefiles),
                    "suspended_on": None,
                    "suspended_days": 0,
                    "suspensions": int(suspended),
                    "extended_days": 2 if extended else 0,
                    "light": "green" if is_open else ("red" if ready_on > due else "green"),
                    "light_at": opened,
                    "ready_at": None if is_open else ready_at,
                    "finished_on": None if is_open else ready_on,
                    "closed_at": None if is_open else ready_at + dt.timedelta(days=1),
                    "updated_at": opened,
                }
            )
            if suspended:
                counts["suspended"] += 1
                steps.append(
                    {
                        "casefile_id": tid,
                        "at": opened,
                        "op": "suspend",
                        "actor": "o001",
                        "role": "officer",
                        "from_state": "accepted",
                        "to_state": "suspended",
                        "detail": None,
                    }
                )
    with engine.begin() as conn:
        for table, rows in ((s.tickets, tickets), (s.casefiles, files), (s.casefile_steps, steps)):
            for i in range(0, len(rows), BATCH):
                conn.execute(insert(table), rows[i : i + BATCH])
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval('tickets_id_seq', (SELECT max(id) FROM tickets))")
            conn.exec_driver_sql(
                "SELECT setval('casefiles_id_seq', (SELECT max(id) FROM casefiles))"
            )
            conn.exec_driver_sql("ANALYZE")
    counts["cases"] = len(files)
    return engine, counts


def timed(fn: Any, repeat: int = 3) -> float:
    """The best of ``repeat`` runs of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(url: str, n_cases: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    engine, counts = build(url, n_cases)
    built = time.perf_counter() - t0
    config = load_config(DEMO_CONFIG)
    ops = HallOps(config)
    reader = db.open_engine(url, read_only=True)
    admin = Actor("bench", "admin")
    out: dict[str, Any] = {"backend": engine.dialect.name, "built_s": built, **counts}

    def look(now: dt.datetime) -> bool:
        with reader.connect() as conn, conn.begin():
            return ops.casefiles.lights_due(conn, now)

    # The first sweep brings the stored lights up to date (yellow, red as of NOW).
    with engine.begin() as conn:
        first = ops.casefiles.sweep_lights(conn, NOW)
    out["first_sweep_changes"] = len(first)
    assert not look(NOW), "after a sweep, an ordinary minute finds nothing to do"
    out["look_s"] = timed(lambda: look(NOW + dt.timedelta(minutes=1)))

    def epoch(now: dt.datetime) -> Any:
        with reader.connect() as conn, conn.begin():
            return ops.casefiles.lights_epoch(conn, now)

    assert epoch(NOW) == epoch(NOW + dt.timedelta(minutes=1)), "a minute moves nothing"
    out["epoch_s"] = timed(lambda: epoch(NOW + dt.timedelta(minutes=1)), repeat=20)
    # The turn of a day: Tuesday 1 Dec. Timed once (its writes change the table).
    t0 = time.perf_counter()
    with engine.begin() as conn:
        turned = ops.casefiles.sweep_lights(conn, NOW + dt.timedelta(days=1))
    out["day_turn_s"] = time.perf_counter() - t0
    out["day_turn_changes"] = len(turned)

    def figures(start: str, end: str) -> dict[str, Any]:
        with reader.connect() as conn, conn.begin():
            return ops.casefiles.figures(conn, admin, {"from": start, "to": end}, NOW)

    out["month_s"] = timed(lambda: figures("2026-11-01", "2026-11-30"))
    out["year_s"] = timed(lambda: figures("2026-01-01", "2026-12-31"))
    year = figures("2026-01-01", "2026-12-31")["total"]
    out["year_on_time_rate"] = year["on_time_rate"]
    out["year_early_rate"] = year["early_rate"]
    reader.dispose()
    engine.dispose()
    return out


def report(results: list[dict[str, Any]], command: str) -> str:
    lines = [
        "## Promised cases: the lights sweep and the figures",
        "",
        f"`{command}` on {platform.machine()}, Python {platform.python_version()}, "
        f"{dt.date.today().isoformat()}. A year (2026, up to 30 November) of a "
        f"140-window hall's promised cases with the 2026 calendar; best of 3 for the "
        "reads.",
        "",
        "| backend | case files | still open | lights sweep, an ordinary minute | "
        "full look (new day, calendar load, start) | "
        "sweep at the turn of a day (changes) | figures, one month | figures, the year |",
        "| --- | --: | --: | --: | --: | --: | --: | --: |",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['cases']:,} | {r['open']:,} "
            f"| {r['epoch_s'] * 1000:.2f} ms | {r['look_s'] * 1000:.0f} ms "
            f"| {r['day_turn_s'] * 1000:.0f} ms ({r['day_turn_changes']:,}) "
            f"| {r['month_s'] * 1000:.0f} ms | {r['year_s'] * 1000:.0f} ms |"
        )
    lines += [
        "",
        "A case's own steps write its light; the lights move by themselves only with the "
        "hall-local day or a newly loaded calendar. So each minute the sweep reads just the "
        "day and the calendar years' load times (best of 20 above), and reads every case on "
        "the clock (the full look, about 20 µs a case judged in Python) only when one of "
        "them changed, and once after every start, so a server that was down misses "
        "nothing; it writes only the lights that changed. Before (issue 10, first cut) the "
        "full look ran every minute. The figures are one grouped query (each case file "
        "keeps the first day it is no longer early and the day it finished); their target "
        "is under 1 s.",
        "",
    ]
    return "\n".join(lines)


def write(section: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8")
    head = section.splitlines()[0]
    pattern = re.compile(re.escape(head) + r"\n.*?(?=\n## |\Z)", re.S)
    text = (
        pattern.sub(section.rstrip() + "\n", text)
        if head in text
        else text.rstrip() + "\n\n" + section
    )
    path.write_text(text, encoding="utf-8")


def run(description: str, measure: Any, stem: str) -> tuple[argparse.Namespace, list[Any]]:
    """The common command line of the year benchmarks (``--cases``, ``--pg``, ``--write``)
    and ``measure(url, cases)`` on a fresh SQLite file, then on a throwaway PostgreSQL
    database when ``--pg`` is given: the results, SQLite's first."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--cases", type=int, default=290_000)
    ap.add_argument(
        "--pg", help="also on PostgreSQL: a server URL, e.g. postgresql://postgres@127.0.0.1/test"
    )
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(measure(f"sqlite:///{tmp}/{stem}.db", args.cases))
    if args.pg:
        with throwaway_database(args.pg, "hallq_bench") as url:
            results.append(measure(url, args.cases))
    return args, results


def main() -> None:
    args, results = run(__doc__.splitlines()[0], measure, "cases")
    for r in results:
        print(
            f"{r['backend']}: {r['cases']:,} case files ({r['open']:,} open) built in "
            f"{r['built_s']:.1f} s; first sweep {r['first_sweep_changes']:,} changes; "
            f"ordinary minute {r['look_s'] * 1000:.1f} ms; "
            f"day turn {r['day_turn_s'] * 1000:.0f} ms "
            f"({r['day_turn_changes']:,} changes); figures month {r['month_s'] * 1000:.0f} ms, "
            f"year {r['year_s'] * 1000:.0f} ms; year on time {r['year_on_time_rate']}, "
            f"early {r['year_early_rate']}"
        )
    command = "python benchmarks/casefile_bench.py" + (" --pg URL" if args.pg else "")
    section = report(results, command + " --write")
    print(section)
    if args.write:
        write(section)


if __name__ == "__main__":
    main()
