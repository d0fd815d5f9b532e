"""A year of history: does the queue server stay as fast on day 250 as on day 1?

Builds a SQLite hall holding a year of a busy hall's history (500,000 tickets and
cases by default, written with bulk inserts in seconds), then measures against a real
`hallq server` process on a copy of it:

  1. call next for one clerk (call.next timed, case.finish in between, not timed), while
     the server's once-a-second sweeps run as in production;
  2. a display's snapshot request, one after another;
  3. call next again while a display asks for snapshots back to back (do reads wait
     for the writer?).

With ``--before REV`` the same measurements run first against the code of git revision
REV (extracted with ``git archive`` into a temporary folder, its own schema migrations
applied to its own copy of the history), so before and after come from one run on one
machine. ``--write`` puts the figures in docs/benchmarks.md.

    .venv/bin/python benchmarks/history_bench.py --before 400ed02 --write
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from server_bench import Conn, pct  # noqa: E402

FMT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores datetimes in SQLite (UTC, naive)
WINDOWS = (1, 2)
HOURS = dt.timedelta(hours=8)


def migrate(code: Path, url: str) -> None:
    """Bring the database to the newest schema of the code in ``code``."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from queue_server.store import db; "
            "e = db.open_engine(sys.argv[1]); db.upgrade(e); e.dispose()",
            url,
        ],
        cwd=code,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(code)),
    )


TICKET_COLS = (
    "id",
    "day",
    "prefix",
    "number",
    "queue",
    "service_id",
    "status",
    "language",
    "issued_at",
    "sort_at",
    "window",
    "called_at",
    "started_at",
    "finished_at",
    "token",
    "recalls",
    "transfers",
)
CASE_COLS = (
    "id",
    "ticket_id",
    "window",
    "clerk",
    "service_id",
    "called_at",
    "started_at",
    "ended_at",
    "outcome",
    "rating_state",
    "rating",
    "rating_source",
    "rated_at",
    "rating_due",
    "followup_state",
)
EVENT_COLS = ("at", "type", "payload")


def history(cases: int, per_day: int, stamp: Any) -> Iterator[tuple[list, list, list]]:
    """A year of finished tickets and their cases, up to yesterday, in batches.

    ``stamp`` turns a UTC datetime into what the database driver takes.
    """
    rng = random.Random(9)
    today = dt.datetime.now(dt.UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    days = -(-cases // per_day)
    tickets: list = []
    rows: list = []
    events: list = []
    tid = 0
    for d in range(days, 0, -1):
        opening = today - dt.timedelta(days=d)
        day = opening.date()
        for n in range(1, min(per_day, cases - tid) + 1):
            tid += 1
            issued = opening + HOURS * (n / per_day)
            called = issued + dt.timedelta(minutes=rng.uniform(1, 30))
            started = called + dt.timedelta(seconds=30)
            finished = started + dt.timedelta(minutes=rng.uniform(2, 12))
            window = WINDOWS[n % len(WINDOWS)]
            at = [stamp(x) for x in (issued, called, started, finished)]
            tickets.append(
                (
                    tid,
                    day,
                    "A",
                    n,
                    "A",
                    "general",
                    "done",
                    "zh",
                    at[0],
                    at[0],
                    window,
                    at[1],
                    at[2],
                    at[3],
                    secrets.token_hex(16),
                    0,
                    0,
                )
            )
            rated = rng.random() < 0.7
            level = rng.randint(1, 5) if rated else None
            due = stamp(finished + dt.timedelta(minutes=1))
            rows.append(
                (
                    tid,
                    tid,
                    window,
                    f"clerk{window}",
                    "general",
                    at[1],
                    at[2],
                    at[3],
                    "done",
                    "rated" if rated else "not_rated",
                    level,
                    "gateway" if rated else None,
                    at[3] if rated else None,
                    due,
                    "open" if level is not None and level <= 2 else None,
                )
            )
            if d <= 3:  # events are kept three days
                events.append((at[1], "ticket.called", f'{{"id": {tid}}}'))
        if len(tickets) >= 50_000:
            yield tickets, rows, events
            tickets, rows, events = [], [], []
    yield tickets, rows, events


def _cols(cols: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in cols)


def fill(url: str, cases: int, per_day: int) -> None:
    """Write the history in one transaction (bulk inserts on SQLite, COPY on PostgreSQL)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        for tickets, rows, events in history(cases, per_day, lambda t: t.strftime(FMT)):
            for table, cols, batch in (
                ("tickets", TICKET_COLS, tickets),
                ("cases", CASE_COLS, rows),
                ("events", EVENT_COLS, events),
            ):
                marks = ",".join("?" * len(cols))
                conn.executemany(f"INSERT INTO {table} ({_cols(cols)}) VALUES ({marks})", batch)
        conn.execute("COMMIT")
        conn.close()
        return
    import psycopg

    naive = lambda t: t.replace(tzinfo=None)  # noqa: E731 - UTC, stored without a zone
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for tickets, rows, events in history(cases, per_day, naive):
            for table, cols, batch in (
                ("tickets", TICKET_COLS, tickets),
                ("cases", CASE_COLS, rows),
                ("events", EVENT_COLS, events),
            ):
                with cur.copy(f"COPY {table} ({_cols(cols)}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
        for table in ("tickets", "cases"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
        cur.execute("ANALYZE")


class Server:
    """A `hallq server` process running the code in ``code``."""

    def __init__(self, code: Path, url: str, log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "queue_server.cli",
                "server",
                "--config",
                str(code / "tests" / "hall_test.toml"),
                "--db",
                url,
                "--port",
                "0",
                "--ignore-hours",
            ],
            cwd=code,
            env=dict(os.environ, PYTHONPATH=str(code)),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            m = re.search(r"ready on [\d.]+:(\d+)", log.read_text())
            if m:
                self.port = int(m.group(1))
                return
            time.sleep(0.1)
        raise RuntimeError("server did not start: " + log.read_text()[-800:])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


async def call_next(clerk: Conn, calls: int) -> list[float]:
    lat = []
    for _ in range(calls):
        s = time.perf_counter()
        r = await clerk.req("call.next", {"window": 2})
        lat.append(time.perf_counter() - s)
        if r["ticket"] is None:
            raise RuntimeError("ran out of tickets")
        await clerk.req("case.finish", {"window": 2})
    return lat


async def snapshots(display: Conn, n: int) -> list[float]:
    lat = []
    for _ in range(n):
        s = time.perf_counter()
        await display.req("snapshot", key=False)
        lat.append(time.perf_counter() - s)
    return lat


async def measure(port: int, calls: int, snaps: int) -> dict[str, float]:
    kiosk = await Conn.open(port, "kiosk-1-secret")
    for _ in range(2 * calls + 20):
        await kiosk.req("ticket.issue", {"service": "general"})
    clerk = await Conn.open(port, "gateway-secret")  # window 2's keypad
    await clerk.req("window.open", {"window": 2, "clerk": "bench"})
    display = await Conn.open(port, "display-1-secret")
    await call_next(clerk, 10)  # warm up
    await asyncio.sleep(1.5)  # let the first hourly prune pass
    alone = await call_next(clerk, calls)
    snap = await snapshots(display, snaps)
    stop = asyncio.Event()

    async def reader() -> None:
        while not stop.is_set():
            await display.req("snapshot", key=False)

    task = asyncio.get_running_loop().create_task(reader())
    mixed = await call_next(clerk, calls)
    stop.set()
    await task
    for c in (kiosk, clerk, display):
        await c.close()
    return {
        "call_p50": pct(alone, 0.5) * 1e3,
        "call_p99": pct(alone, 0.99) * 1e3,
        "call_max": max(alone) * 1e3,
        "snap_p50": pct(snap, 0.5) * 1e3,
        "snap_p99": pct(snap, 0.99) * 1e3,
        "mixed_p50": pct(mixed, 0.5) * 1e3,
        "mixed_p99": pct(mixed, 0.99) * 1e3,
    }


SWEEP = """
import datetime as dt, statistics, sys, time
from pathlib import Path
from queue_server.config import load_config
from queue_server.store import db
from queue_server.store.ops import HallOps
ops = HallOps(load_config(Path("tests/hall_test.toml")))
engine = db.open_engine(sys.argv[1])
now = dt.datetime.now(dt.UTC)
took = []
for _ in range(20):
    t0 = time.perf_counter()
    with engine.connect() as conn:
        with conn.begin() as tx:
            if hasattr(ops, "sweep_due"):  # looks first, writes only when something is due
                if ops.sweep_due(conn, now):
                    ops.expire_ratings(conn, now) + ops.flag_overdue(conn, now)
            else:
                ops.expire_ratings(conn, now) + ops.flag_overdue(conn, now)
            tx.rollback()
    took.append(time.perf_counter() - t0)
print(statistics.median(took) * 1e3)
"""


def sweep_ms(code: Path, url: str) -> float:
    """One idle second of the sweeper, as the code in ``code`` does it (median of 20)."""
    out = subprocess.run(
        [sys.executable, "-c", SWEEP, url],
        cwd=code,
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(code)),
    ).stdout
    return float(out.split()[-1])


class Databases:
    """Where the history and its copies live: files on SQLite, databases on PostgreSQL."""

    def __init__(self, tmp: Path, pg: str | None) -> None:
        self.tmp, self.pg = tmp, pg
        self.made: list[str] = []

    def url(self, name: str) -> str:
        if self.pg is None:
            return f"sqlite:///{self.tmp / name}.db"
        return self.pg.rsplit("/", 1)[0] + f"/hallq_bench_{name}"

    def _admin(self, sql: str) -> None:
        import psycopg

        assert self.pg is not None
        with psycopg.connect(self.pg, autocommit=True) as conn:
            conn.execute(sql)

    def create(self, name: str, copy_of: str | None = None) -> str:
        if self.pg is None:
            if copy_of is not None:
                shutil.copy(self.tmp / f"{copy_of}.db", self.tmp / f"{name}.db")
            return self.url(name)
        self._admin(f"DROP DATABASE IF EXISTS hallq_bench_{name} WITH (FORCE)")
        template = f" TEMPLATE hallq_bench_{copy_of}" if copy_of else ""
        self._admin(f"CREATE DATABASE hallq_bench_{name}{template}")
        self.made.append(name)
        return self.url(name)

    def drop_all(self) -> None:
        for name in self.made:
            self._admin(f"DROP DATABASE IF EXISTS hallq_bench_{name} WITH (FORCE)")


def run(code: Path, dbs: Databases, name: str, calls: int, snaps: int) -> dict:
    url = dbs.create(name, copy_of="history")
    t0 = time.perf_counter()
    migrate(code, url)
    upgrade_s = time.perf_counter() - t0
    sweep = sweep_ms(code, url)
    server = Server(code, url, dbs.tmp / f"{name}.log")
    try:
        figures = asyncio.run(measure(server.port, calls, snaps))
    finally:
        server.stop()
    figures["upgrade_s"] = upgrade_s
    figures["sweep_ms"] = sweep
    print(name, {k: round(v, 2) for k, v in figures.items()}, flush=True)
    return figures


def main(args: argparse.Namespace) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="hallq-history-"))
    before_code = None
    if args.before:
        before_code = tmp / "before"
        before_code.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.before], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(before_code)], input=archive, check=True)
    dbs = Databases(tmp, args.pg)
    try:
        history_url = dbs.create("history")
        # The history is written under the oldest schema measured; the newer code's own
        # migrations then upgrade its copy, as `hallq db upgrade` would in a hall.
        migrate(before_code or ROOT, history_url)
        t0 = time.perf_counter()
        fill(history_url.replace("+psycopg", ""), args.cases, args.per_day)
        fill_s = time.perf_counter() - t0
        print(f"history: {args.cases} cases in {fill_s:.1f} s", flush=True)
        results = {}
        if before_code is not None:
            results["before"] = run(before_code, dbs, "before", args.calls, args.snapshots)
        results["after"] = run(ROOT, dbs, "after", args.calls, args.snapshots)
    finally:
        dbs.drop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [
        ("call next, one clerk, p50 ms", "call_p50"),
        ("call next, one clerk, **p99 ms**", "call_p99"),
        ("call next, one clerk, max ms", "call_max"),
        ("one idle second of the sweeper, ms (median of 20)", "sweep_ms"),
        ("snapshot, **p50 ms**", "snap_p50"),
        ("snapshot, p99 ms", "snap_p99"),
        ("call next while a display reads snapshots, p50 ms", "mixed_p50"),
        ("call next while a display reads snapshots, **p99 ms**", "mixed_p99"),
    ]
    head = (
        "| figure | "
        + " | ".join(([f"before (`{args.before}`)"] if before_code else []) + ["after (this tree)"])
        + " |"
    )
    lines = [head, "| --- |" + " --- |" * len(results)]
    for label, key in rows:
        lines.append(f"| {label} | " + " | ".join(f"{r[key]:.1f}" for r in results.values()) + " |")
    if "before" in results:
        b, a = results["before"], results["after"]
        lines += [
            "",
            "After ÷ before: "
            + ", ".join(
                f"{label} {a[key] / b[key]:.2f}"
                for label, key in (
                    ("call-next p99", "call_p99"),
                    ("idle sweep", "sweep_ms"),
                    ("snapshot p50", "snap_p50"),
                    ("call-next p99 beside snapshots", "mixed_p99"),
                )
            )
            + f". Upgrading the year of history to the new schema took {a['upgrade_s']:.1f} s.",
        ]
    backend = "PostgreSQL" if args.pg else "SQLite"
    return (
        f"{backend}. History: {args.cases:,} finished cases ({args.per_day} a day), "
        f"{args.calls} timed calls, {args.snapshots} snapshots.\n\n" + "\n".join(lines)
    )


def write(report: str, command: str, pg: bool) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text()
    tag = "history_bench_pg" if pg else "history_bench"
    start, end = f"<!-- {tag}:start -->", f"<!-- {tag}:end -->"
    title = "A year of history on PostgreSQL" if pg else "A year of history"
    block = (
        f"{start}\n## {title}\n\nCommand: `{command}`  \n"
        f"Run: {dt.date.today().isoformat()}, {os.cpu_count()} cores "
        f"({platform.machine()}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}\n\n{report}\n{end}"
    )
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), block, text, flags=re.S)
    else:
        text = text.replace("## Kiosk\n", block + "\n\n## Kiosk\n", 1)
    path.write_text(text)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=500_000)
    ap.add_argument("--per-day", type=int, default=2000)
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--snapshots", type=int, default=40)
    ap.add_argument("--before", help="git revision to measure first (e.g. main)")
    ap.add_argument(
        "--pg",
        help="a PostgreSQL server's URL (postgresql://user@host/db) to "
        "measure there instead of SQLite; scratch databases hallq_bench_* are "
        "made beside it and dropped",
    )
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    a = ap.parse_args()
    out = main(a)
    print(out)
    if a.write:
        cmd = (
            "python benchmarks/history_bench.py"
            + (f" --before {a.before}" if a.before else "")
            + (f" --pg {a.pg}" if a.pg else "")
            + " --write"
        )
        write(out, cmd, bool(a.pg))
