"""call.next's statement against the line's length (issue 14: "the next ticket is an
index seek, not a sort").

Measures, on one database, the time of the statement ``call.next`` runs
(``callorder.next_ticket``: index seeks per queue and class) and of the full ordered
statement it replaced (still used for a contended call on PostgreSQL), with N tickets
waiting in one queue of a window that serves two. Both statements run in the same run on
the same rows, so the ratio holds on a loaded machine where the milliseconds do not.

    .venv/bin/python benchmarks/callnext_bench.py [--pg URL] [--waiting 1000,20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from queue_server.config import load_config  # noqa: E402
from queue_server.store import callorder, db  # noqa: E402
from queue_server.store import schema as s  # noqa: E402
from queue_server.store.ops import HallOps  # noqa: E402
from queue_server.store.scratch import throwaway_database  # noqa: E402

HALL = ROOT / "tests" / "hall_test.toml"


def timed(conn, stmt, params, repeat: int = 30) -> float:  # noqa: ANN001
    for _ in range(3):
        conn.execute(stmt, params).first()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        conn.execute(stmt, params).first()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs) * 1000


def measure(url: str, waiting: int) -> tuple[float, float]:
    config = load_config(HALL)
    engine = db.open_engine(url)
    db.upgrade(engine)
    ops = HallOps(config)
    now = dt.datetime.now(dt.UTC)
    day = ops.day(now)
    rows = [
        {
            "day": day,
            "prefix": "A",
            "number": i,
            "queue": "A",
            "service_id": "general",
            "status": "waiting",
            "language": "zh",
            "recalls": 0,
            "transfers": 0,
            "issued_at": now - dt.timedelta(seconds=waiting - i),
            "sort_at": now - dt.timedelta(seconds=waiting - i),
            "token": f"bench-{i}",
            # every 50th a priority ticket, every 200th an appointment not yet due
            "priority": "elderly" if i % 50 == 0 else ("appointment" if i % 200 == 1 else None),
            "appointment_at": now + dt.timedelta(hours=1) if i % 200 == 1 else None,
        }
        for i in range(1, waiting + 1)
    ]
    with engine.begin() as conn:
        conn.execute(insert(s.tickets), rows)
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE tickets")
    wdef = config.window(2)
    assert wdef is not None
    params = {"now": now, "day": day}
    with engine.connect() as conn:
        seek = timed(conn, callorder.next_ticket(2, wdef.queues), params)
        ordered = timed(conn, ops._next_stmt(2, wdef.queues), params)
    engine.dispose()
    return seek, ordered


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", help="PostgreSQL server URL (a throwaway database is made)")
    ap.add_argument("--waiting", default="100,1000,20000")
    args = ap.parse_args()
    counts = [int(x) for x in args.waiting.split(",")]
    print("| database | waiting | call.next (seeks), ms | full ordered statement, ms | ratio |")
    print("| --- | --: | --: | --: | --: |")
    for n in counts:
        with tempfile.TemporaryDirectory() as tmp:
            seek, ordered = measure(f"sqlite:///{tmp}/bench.db", n)
        print(f"| SQLite | {n:,} | {seek:.2f} | {ordered:.2f} | {seek / ordered:.3f} |")
    if args.pg:
        for n in counts:
            with throwaway_database(args.pg, "hallq_bench") as url:
                seek, ordered = measure(url, n)
            print(f"| PostgreSQL | {n:,} | {seek:.2f} | {ordered:.2f} | {seek / ordered:.3f} |")


if __name__ == "__main__":
    main()
