"""CPU of a ticket issue's parts on the real store, this tree against another, in one run.

A ticket issue on a SQLite file (the demo hall, 36 windows open, ``--waiting`` tickets
already waiting in the group of queues B, C and D, issued over the 90 minutes before),
timed in CPU seconds of the issuing thread (``time.thread_time``: the other sessions on a
shared machine move wall-clock figures far more than they move a thread's own CPU), and
split into the estimate's reads (``_hall_now``: the store's part of the estimate), the
replay (``_issue_estimates``, core/estimate.py) and the rest of the operation, with the
statements it sends.

    python benchmarks/hot_path.py --against BASE [--rounds 3] [--issues 300]

BASE is another tree (e.g. ``git archive main | tar -x -C BASE``); each round runs it
and this tree in turn, each in a process of its own (their own modules), A/B/A/B.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def measure(waiting: int, issues: int) -> dict[str, float]:
    """Per issue, ms of CPU: whole, estimate reads, replay; and statements per issue."""
    from estimate_sim import BUSY_SERVICES, fill_busy_group
    from sqlalchemy import event

    from queue_server.config import DEMO_CONFIG, load_config
    from queue_server.core.permissions import Actor
    from queue_server.store import db
    from queue_server.store.ops import HallOps

    cfg = load_config(DEMO_CONFIG)
    kiosk = Actor("kiosk-1", "kiosk")
    now = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)  # 10:00 in the hall
    services = BUSY_SERVICES
    engine = db.open_engine(f"sqlite:///{tempfile.mkdtemp()}/hall.db")
    db.upgrade(engine)
    db.ensure_windows(engine, cfg)
    spent = {"reads": 0.0, "replay": 0.0}

    class Timed(HallOps):
        """The same operations, the estimate's two parts timed."""

        def _hall_now(self, *a, **kw):  # type: ignore[no-untyped-def]
            t = time.thread_time()
            try:
                return super()._hall_now(*a, **kw)
            finally:
                spent["reads"] += time.thread_time() - t

        def _issue_estimates(self, *a, **kw):  # type: ignore[no-untyped-def]
            t = time.thread_time()
            try:
                return super()._issue_estimates(*a, **kw)
            finally:
                spent["replay"] += time.thread_time() - t

    ops = Timed(cfg)
    with engine.begin() as conn:
        fill_busy_group(ops, conn, waiting, now)
    statements = [0]
    event.listen(
        engine, "before_cursor_execute", lambda *_a: statements.__setitem__(0, statements[0] + 1)
    )

    def run(n: int, first: int) -> float:
        t0 = time.thread_time()
        for i in range(n):
            at = now + dt.timedelta(milliseconds=first + i)
            with engine.begin() as conn:
                ops.issue(conn, kiosk, {"service": services[i % 3]}, at)
        return time.thread_time() - t0

    run(20, 0)  # warm the caches (service times, past days) as a running server has them
    spent.update(reads=0.0, replay=0.0)
    statements[0] = 0
    whole = run(issues, 1000)
    per = 1000 / issues
    return {
        "whole": whole * per,
        "reads": spent["reads"] * per,
        "replay": spent["replay"] * per,
        "rest": (whole - spent["reads"] - spent["replay"]) * per,
        "statements": statements[0] / issues,
    }


ROWS = [
    ("whole", "ticket issue, CPU ms"),
    ("reads", "... the estimate's reads (`_hall_now`), CPU ms"),
    ("replay", "... the replay (`_issue_estimates`), CPU ms"),
    ("rest", "... the rest of the operation and its commit, CPU ms"),
    ("statements", "statements per issue (BEGIN and COMMIT not counted)"),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--against", help="another tree, measured in turn with this one")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--waiting", type=int, default=2000)
    ap.add_argument("--issues", type=int, default=300)
    ap.add_argument("--root", help=argparse.SUPPRESS)  # the tree whose code to measure
    args = ap.parse_args()
    if args.root:
        sys.path.insert(0, args.root)
        import queue_server

        where = Path(queue_server.__file__).resolve()
        assert where.is_relative_to(Path(args.root).resolve()), where  # that tree's code
        got = measure(args.waiting, args.issues)
        print(" ".join(f"{k}={v:.4f}" for k, v in got.items()))
        return
    trees = [("this tree", HERE)]
    if args.against:
        trees.insert(0, ("baseline", Path(args.against).resolve()))
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in trees}
    for r in range(args.rounds):
        for name, tree in trees:
            load = os.getloadavg()[0]
            out = subprocess.run(
                [sys.executable, __file__, "--root", str(tree), "--waiting", str(args.waiting)]
                + ["--issues", str(args.issues)],
                cwd=tree,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            got = {k: float(v) for k, v in (kv.split("=") for kv in out)}
            results[name].append(got)
            print(
                f"round {r + 1} {name}: "
                + ", ".join(f"{k} {v:.2f}" for k, v in got.items())
                + f" (load {load:.1f}, {dt.datetime.now(dt.UTC):%H:%M:%S} UTC)",
                file=sys.stderr,
            )
    names = [n for n, _ in trees]
    print("| figure | " + " | ".join(names) + (" | ratio |" if len(names) > 1 else " |"))
    print("| --- " * (len(names) + (2 if len(names) > 1 else 1)) + "|")
    for key, label in ROWS:
        cells = [", ".join(f"{g[key]:.2f}" for g in results[n]) for n in names]
        if len(names) > 1:
            ratios = [b[key] / a[key] for a, b in zip(*results.values(), strict=True) if a[key]]
            cells.append(f"×{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "-")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
