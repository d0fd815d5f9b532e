"""Wait estimates on simulated hall days: the old formula against the replay estimator.

    .venv/bin/python benchmarks/estimate_sim.py [--days 3] [--hall demo|town|county]
        [--history 5] [--past-weight 0.5] [--seed 1] [--hours] [--queues] [--cost]
        [--against TREE]
        [--floor [--every 10] [--forks 30]]

Each day is simulated by :mod:`queue_server.core.daysim` (the real call order and the
real estimator); every ticket is given both estimates when it is issued, and its actual
wait is measured when a window calls it. Prints MAE (minutes and share of the mean wait),
how often and by how much the figure was too low, per hall, and per hour for the demo.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# ``--root TREE`` runs the same measurements on another checkout (``--against``'s baseline).
sys.path.insert(
    0,
    sys.argv[sys.argv.index("--root") + 1]
    if "--root" in sys.argv
    else str(Path(__file__).resolve().parent.parent),
)

from queue_server.config import DEMO_CONFIG, OpeningHours, QueueDef, WindowDef, load_config
from queue_server.core import daysim, estimate, rules

WEEKDAYS = frozenset(range(1, 6))
DAY_HOURS = OpeningHours(
    ((dt.time(8, 30), dt.time(12)), (dt.time(13, 30), dt.time(17, 30))), WEEKDAYS
)


def demo_shape() -> daysim.HallShape:
    cfg = load_config(DEMO_CONFIG)
    return daysim.HallShape(cfg.queues, cfg.windows, cfg.tz)


def synthetic_shape(n_windows: int, n_queues: int) -> daysim.HallShape:
    """Queues in groups of three sharing windows by preference, like the demo's areas."""
    prefixes = [
        chr(ord("A") + i) if i < 26 else f"A{chr(ord('A') + i - 26)}" for i in range(n_queues)
    ]
    queues = tuple(QueueDef(p, {"en": p}, "x", DAY_HOURS) for p in prefixes)
    windows = []
    for n in range(n_windows):
        q = n * n_queues // n_windows
        group = [prefixes[q]]
        if n % 3 == 2:  # every third window also serves its neighbours
            group += [prefixes[(q + 1) % n_queues], prefixes[(q - 1) % n_queues]]
        windows.append(WindowDef(n + 1, "x", tuple(dict.fromkeys(group))))
    return daysim.HallShape(queues, tuple(windows), ZoneInfo("Asia/Shanghai"))


HALLS = {
    "demo": (demo_shape, daysim.SimParams()),
    "town": (lambda: synthetic_shape(6, 3), daysim.SimParams(tickets=190, staffed=6)),
    "county": (lambda: synthetic_shape(140, 30), daysim.SimParams(tickets=4600, staffed=130)),
}


def row(label: str, a: daysim.Accuracy, new: bool) -> str:
    cover = f"{100 * a.covered:.1f} %" if new else "-"
    return (
        f"| {label} | {a.n} | {a.mean_wait:.1f} | {a.mae:.1f} | {100 * a.mae_share:.0f} % "
        f"| {100 * a.too_low:.0f} % | {100 * a.too_low_5:.0f} % "
        f"| {a.under_median:.1f} | {a.under_p90:.1f} | {cover} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--hall", choices=[*HALLS, "all"], default="all")
    ap.add_argument(
        "--seed", type=int, default=1, help="the measured days are seeds SEED, SEED+1, ..."
    )
    ap.add_argument("--hours", action="store_true", help="per-hour table for each hall")
    ap.add_argument("--queues", action="store_true", help="per-queue table for each hall")
    ap.add_argument(
        "--history",
        type=int,
        default=0,
        help="simulate this many earlier days first (other seeds) as the store's history: "
        "the same hour of past days is blended into the projected arrival rate",
    )
    ap.add_argument("--past-weight", type=float, default=estimate.PAST_WEIGHT)
    ap.add_argument(
        "--plot",
        metavar="PNG",
        help="draw estimate against actual wait for the first hall (needs the bench extra: "
        "pip install -e .[bench])",
    )
    ap.add_argument(
        "--cost",
        action="store_true",
        help="only the costs: one estimate at 2,000 waiting, issue and snapshot on the store",
    )
    ap.add_argument(
        "--against",
        metavar="TREE",
        help="the same measurements on another checkout (e.g. main, from "
        "`git archive main | tar -x -C TREE`) before this one's, in one run; with --cost "
        "alternating, two rounds each",
    )
    ap.add_argument(
        "--oracle",
        action="store_true",
        help="experiment: give the estimate each queue's true mean window time per call "
        "(walk, service, no-shows' recalls; with --oracle-gap also the clerk's gap), which "
        "no server knows: a bound on what a better case-length measure could gain",
    )
    ap.add_argument("--oracle-gap", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="experiment: every replayed wait times this (is the figure's level the best?)",
    )
    ap.add_argument(
        "--floor",
        action="store_true",
        help="the best any estimate could do: every --every-th ticket is followed through "
        "--forks forks of its day from its issue, the future drawn afresh from the "
        "simulation's own model (daysim.DaySim.fork); prints the figures of the forks' "
        "mean, median and 0.65 quantile, and of their 10-90 %% range, against the old and "
        "new estimates of the same tickets",
    )
    ap.add_argument(
        "--floor-learns",
        action="store_true",
        help="with --floor: the forks do not know the day's mean case lengths (drawn "
        "afresh each simulated day) but learn them from the day's ended cases, as a "
        "server must",
    )
    ap.add_argument("--every", type=int, default=10, help="with --floor: every N-th ticket")
    ap.add_argument("--forks", type=int, default=30, help="with --floor: forks per ticket")
    ap.add_argument("--root", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.oracle or args.oracle_gap:
        _give_true_case_lengths(gap=args.oracle_gap)
    if args.scale != 1.0:
        _scale_replay(args.scale)
    if args.against:
        import subprocess

        here = str(Path(__file__).resolve().parent.parent)
        if not args.cost:
            i = sys.argv.index("--against")
            rest = sys.argv[1:i] + sys.argv[i + 2 :]
            for label, tree in (("baseline " + args.against, args.against), ("this tree", here)):
                print(f"-- {label}", flush=True)
                subprocess.run([sys.executable, __file__, *rest, "--root", tree], check=True)
            return
        for _ in range(2):
            for label, tree in (("baseline " + args.against, args.against), ("this tree", here)):
                print(f"-- {label}", flush=True)
                cmd = [sys.executable, __file__, "--cost", "--root", tree]
                subprocess.run(cmd, check=True)
        return
    if args.cost:
        cost()
        store_cost()
        issue_cost()
        return
    halls = list(HALLS) if args.hall == "all" else [args.hall]
    print(
        "| hall, estimate | tickets | mean wait min | MAE min | MAE / mean | too low "
        "| too low > 5 min | under-by median | under-by p90 | 80 % range covers |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in halls:
        make, params = HALLS[name]
        shape = make()
        records: list[daysim.Issued] = []
        t0 = time.perf_counter()
        past = []
        for h in range(args.history):  # earlier days: other seeds, not measured
            sim = daysim.DaySim(shape, _with_seed(params, 1000 + h))
            sim.run()
            past.append(sim.issued)
        floor = (args.every, args.forks) if args.floor else None
        # (Only with --floor: a baseline tree's DaySim, run by --against, has no forks.)
        forks = {"floor": floor, "floor_learns": args.floor_learns} if floor else {}
        for d in range(args.days):
            sim = daysim.DaySim(
                shape,
                _with_seed(params, args.seed + d),
                past=past,
                past_weight=args.past_weight,
                **forks,
            )
            records += sim.run()
        spent = time.perf_counter() - t0
        if args.plot and name == halls[0]:
            plot(records, name, args.days, Path(args.plot))
        if floor:
            floor_rows(name, [r for r in records if r.floor])
        else:
            print(row(f"{name}, old", daysim.accuracy(records, "old"), False))
            print(row(f"{name}, new", daysim.accuracy(records, "new"), True))
        print(f"<!-- {name}: {args.days} days simulated in {spent:.1f} s -->", file=sys.stderr)
        for key, wanted in (("hour", args.hours), ("queue", args.queues)):
            if not wanted:
                continue
            for part, group in daysim.by(records, key, shape.tz).items():
                if floor:
                    floor_rows(f"{name} {part}", [r for r in group if r.floor])
                    continue
                print(row(f"{name} {part}, old", daysim.accuracy(group, "old"), False))
                print(row(f"{name} {part}, new", daysim.accuracy(group, "new"), True))


FLOOR_Q = 0.65
"""The quantile of the forks' waits that tells ~35 % of citizens too little, if the
forks are the true law of the wait (the figure the issue's "fewer than 40 % too low"
allows, at the least mean error)."""


def floor_rows(label: str, records: list[daysim.Issued]) -> None:
    """The sampled tickets' old and new estimates, then the forks' figures as estimates:
    their mean, median (the least mean absolute error any estimate can have) and
    :data:`FLOOR_Q` quantile, each with the forks' 10-90 % range."""
    import dataclasses

    print(row(f"{label}, old", daysim.accuracy(records, "old"), False))
    print(row(f"{label}, new", daysim.accuracy(records, "new"), True))
    for what in ("mean", "median", f"q{FLOOR_Q}"):
        told = []
        for r in records:
            waits = sorted(r.floor)
            if what == "mean":
                central = sum(waits) / len(waits)
            else:
                central = quantile(waits, 0.5 if what == "median" else FLOOR_Q)
            told.append(
                dataclasses.replace(
                    r,
                    new=estimate.round_minutes(central),
                    low=round(quantile(waits, 0.1)),
                    high=round(quantile(waits, 0.9)),
                )
            )
        print(row(f"{label}, floor {what}", daysim.accuracy(told, "new"), True))
    # Is the actual wait a draw of the forks' law? Its rank among them, over the tickets.
    ranks = [sum(1 for v in r.floor if v < r.wait) / len(r.floor) for r in records if r.wait > 0]
    if ranks:
        print(
            f"<!-- {label}: {len(records)} tickets x {len(records[0].floor)} forks; "
            f"actual wait's rank among its forks: mean {sum(ranks) / len(ranks):.2f} "
            f"(0.5 if the forks are its law), below the forks' 10 % "
            f"{100 * sum(1 for x in ranks if x < 0.1) / len(ranks):.0f} %, above their 90 % "
            f"{100 * sum(1 for x in ranks if x >= 0.9) / len(ranks):.0f} % -->"
        )


def quantile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted values, linear between neighbours."""
    x = q * (len(ordered) - 1)
    i = int(x)
    j = min(i + 1, len(ordered) - 1)
    return ordered[i] + (ordered[j] - ordered[i]) * (x - i)


def plot(records: list[daysim.Issued], hall: str, days: int, out: Path) -> None:
    """Estimate against actual wait, old formula beside the replay, with the 80 % range."""
    import matplotlib

    matplotlib.use("Agg")  # a file, no screen
    import matplotlib.pyplot as plt

    waits = [r.wait for r in records]
    top = max(60.0, sorted(waits)[int(0.99 * len(waits))] * 1.1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), sharex=True, sharey=True)
    for ax, which, title in (
        (axes[0], "old", "old formula (people ahead x service / open windows)"),
        (axes[1], "new", "replay of the call order, with its 80 % range"),
    ):
        told = [getattr(r, which) for r in records]
        if which == "new":
            ax.vlines(
                told,
                [r.low for r in records],
                [r.high for r in records],
                color="#9bbcdc",
                alpha=0.25,
                linewidth=0.8,
                label="80 % range told",
            )
        ax.scatter(told, waits, s=5, alpha=0.35, color="#1f4e79", label="one ticket")
        ax.plot([0, top], [0, top], color="#b03a2e", linewidth=1, label="actual = told")
        acc = daysim.accuracy(records, which)
        ax.set_title(
            f"{title}\nMAE {acc.mae:.1f} min ({100 * acc.mae_share:.0f} % of mean), "
            f"told too little {100 * acc.too_low:.0f} %, by > 5 min {100 * acc.too_low_5:.0f} %",
            fontsize=9,
        )
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel("estimate told at issue (min)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("actual wait until called (min)")
    axes[1].legend(loc="upper left", fontsize=8)
    fig.suptitle(f"Wait estimates, {hall} hall, {days} simulated days, {len(records)} tickets")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"<!-- plot written to {out} -->", file=sys.stderr)


def cost(waiting: int = 2000, windows: int = 36, repeat: int = 30) -> None:
    """Time of one estimate with ``waiting`` tickets in one group of shared windows."""
    tz = ZoneInfo("Asia/Shanghai")
    now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=tz)
    qs = ("A", "B", "C")
    wins = [estimate.WindowNow(i + 1, (qs[i % 3], qs[(i + 1) % 3]), now) for i in range(windows)]
    tickets = [
        rules.Candidate(i + 1, qs[i % 3], now - dt.timedelta(seconds=waiting - i))
        for i in range(waiting)
    ]
    hall = estimate.HallNow(now, tz, tickets, wins, {q: 8.0 for q in qs})
    newcomer = rules.Candidate(waiting + 1, "A", now)
    t0 = time.perf_counter()
    for _ in range(repeat):
        estimate.estimate(hall, newcomer)
    new = (time.perf_counter() - t0) / repeat
    t0 = time.perf_counter()
    for _ in range(repeat):
        rules.estimate_wait_minutes(waiting // 3, 8.0, windows * 2 // 3)
    old = (time.perf_counter() - t0) / repeat
    print(
        f"estimator cost at {waiting} waiting, {windows} windows: {1000 * new:.2f} ms per "
        f"estimate (old formula {1e6 * old:.1f} µs; the store's reads come on top of both)"
    )


def store_cost(tickets: int = 300, rounds: int = 2) -> None:
    """Issue and snapshot on the real store (SQLite file, demo hall), with and without
    the replay: the baseline has the estimate switched off in the same run."""
    import tempfile

    from queue_server.core.states import WindowOp
    from queue_server.store import db
    from queue_server.store.ops import Actor, HallOps

    cfg = load_config(DEMO_CONFIG)
    kiosk, gateway = Actor("kiosk-1", "kiosk"), Actor("gateway", "gateway")
    now = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)  # 10:00 in the hall

    def run(ops: HallOps) -> tuple[float, float]:
        engine = db.open_engine(f"sqlite:///{tempfile.mkdtemp()}/hall.db")
        db.upgrade(engine)
        db.ensure_windows(engine, cfg)
        with engine.begin() as conn:
            for w in range(1, 37):
                ops.window_op(conn, gateway, {"window": w, "clerk": "c"}, now, WindowOp.OPEN)
        services = [x.id for x in cfg.services]
        t0 = time.perf_counter()
        for i in range(tickets):
            with engine.begin() as conn:
                ops.issue(conn, kiosk, {"service": services[i % len(services)]}, now)
        issue = (time.perf_counter() - t0) / tickets
        with engine.begin() as conn:
            for w in range(1, 37):
                ops.call_next(conn, gateway, {"window": w}, now)
        t0 = time.perf_counter()
        for _ in range(30):
            with engine.begin() as conn:
                ops.snapshot(conn, now)
        snap = (time.perf_counter() - t0) / 30
        engine.dispose()
        return issue, snap

    class Off(HallOps):
        """The same operations with the estimate switched off (the baseline)."""

        def _hall_now(self, conn, queue, now, **kw):  # type: ignore[no-untyped-def]
            return None

        def estimate(self, conn, ticket, now, hall=None):  # type: ignore[no-untyped-def]
            return estimate.Estimate(0, 0, 0)

        def _issue_estimates(self, hall, ticket, now):  # type: ignore[no-untyped-def]
            return estimate.Estimate(0, 0, 0), estimate.Estimate(0, 0, 0)

        def all_queue_stats(self, conn, now):  # type: ignore[no-untyped-def]
            off = estimate.Estimate(0, 0, 0)
            return [self.queue_stats(conn, q.prefix, now, est=off) for q in cfg.queues]

    for _ in range(rounds):
        (i0, s0), (i1, s1) = run(Off(cfg)), run(HallOps(cfg))
        print(
            f"store, demo hall, 36 windows open, {tickets} tickets: issue {1000 * i0:.2f} -> "
            f"{1000 * i1:.2f} ms (x{i1 / i0:.1f}); snapshot {1000 * s0:.1f} -> "
            f"{1000 * s1:.1f} ms (x{s1 / s0:.1f})"
        )


BUSY_SERVICES = ("hukou-birth", "idcard-apply", "hk-macao-endorsement")
"""Services of the demo hall's queues B, C and D, which share windows: the group in
which an issue's cost is measured (here with ``--cost``, and by ``hot_path.py``)."""


def fill_busy_group(ops: Any, conn: Any, waiting: int, now: dt.datetime) -> None:
    """The demo hall's 36 windows open and ``waiting`` tickets waiting in B, C and D,
    issued evenly over the 90 minutes before ``now``: the state both cost measurements
    time an issue in, made by ``ops`` (a HallOps of whichever tree is measured)."""
    from queue_server.core.permissions import Actor
    from queue_server.core.states import WindowOp

    kiosk, gateway = Actor("kiosk-1", "kiosk"), Actor("gateway", "gateway")
    for w in range(1, 37):
        ops.window_op(conn, gateway, {"window": w, "clerk": "c"}, now, WindowOp.OPEN)
    start = now - dt.timedelta(minutes=90)
    for i in range(waiting):
        at = start + dt.timedelta(seconds=90 * 60 * i / waiting)
        ops.issue(conn, kiosk, {"service": BUSY_SERVICES[i % 3]}, at)


def issue_cost(waiting: int = 2000, issues: int = 60) -> None:
    """One ticket issue on the real store (SQLite file, demo hall, 36 windows open) with
    ``waiting`` tickets already waiting in one group of queues sharing windows (B, C, D),
    issued over the 90 minutes before; with and without the estimate in the same run."""
    import tempfile

    from queue_server.store import db
    from queue_server.store.ops import Actor, HallOps

    cfg = load_config(DEMO_CONFIG)
    kiosk = Actor("kiosk-1", "kiosk")
    now = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)  # 10:00 in the hall
    services = BUSY_SERVICES
    engine = db.open_engine(f"sqlite:///{tempfile.mkdtemp()}/hall.db")
    db.upgrade(engine)
    db.ensure_windows(engine, cfg)
    nothing = estimate.Estimate(0, 0, 0)

    class Off(HallOps):
        """The same operations with the estimate switched off (the baseline)."""

        def _hall_now(self, conn, queue, now, **kw):  # type: ignore[no-untyped-def]
            return None

        def estimate(self, conn, ticket, now, hall=None):  # type: ignore[no-untyped-def]
            return nothing

        def _issue_estimates(self, hall, ticket, now):  # type: ignore[no-untyped-def]
            return nothing, nothing

    off = Off(cfg)
    with engine.begin() as conn:
        fill_busy_group(off, conn, waiting, now)

    def run(ops: HallOps, first: int) -> float:
        t0 = time.perf_counter()
        for i in range(issues):
            at = now + dt.timedelta(milliseconds=first + i)
            with engine.begin() as conn:
                ops.issue(conn, kiosk, {"service": services[i % 3]}, at)
        return (time.perf_counter() - t0) / issues

    on = HallOps(cfg)
    run(on, 0)  # warm the caches (service times, past days) as a running server has them
    base, with_est = run(off, 1000), run(on, 2000)
    est_ms = 1000 * (with_est - base)
    print(
        f"store, issue at {waiting} waiting in one group (B, C, D; 36 windows open): "
        f"{1000 * base:.2f} ms without the estimate, {1000 * with_est:.2f} ms with it; "
        f"the estimate {est_ms:.2f} ms per issue ({100 * est_ms / (1000 * with_est):.0f} %)"
    )

    # The phone page: ticket.status on a reader thread (as the server runs it), for
    # tickets anywhere in the 2,000-long line; its estimate replays the whole line.
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

    from queue_server.store import schema as s

    with engine.connect() as conn:
        tokens = (
            conn.execute(select(s.tickets.c.token).where(s.tickets.c.status == "waiting"))
            .scalars()
            .all()
        )

    def status(n: int) -> float:
        t0 = time.perf_counter()
        for i in range(n):
            with engine.begin() as conn:
                on.ticket_status(conn, tokens[(i * 37) % len(tokens)], now)
        return (time.perf_counter() - t0) / n

    with ThreadPoolExecutor(1, initializer=db._mark_reader) as reader:
        reader.submit(status, 3).result()
        per = reader.submit(status, 40).result()
    print(
        f"store, the phone page (ticket.status on a reader thread) at {len(tokens)} waiting "
        f"in its group: {1000 * per:.2f} ms"
    )


def _give_true_case_lengths(gap: bool) -> None:
    """The experiment of ``--oracle``: the simulation's own mean window time per call."""
    import dataclasses

    hall_now = daysim.DaySim.hall_now

    def true_hall_now(sim: daysim.DaySim, t: dt.datetime) -> estimate.HallNow:
        p = sim.p
        svc = {
            q: (1 - p.no_show_share) * (p.walk_minutes + m)
            + p.no_show_share * p.recall_minutes
            + (daysim.GAP_MINUTES if gap else 0.0)
            for q, m in sim.mean_service.items()
        }
        return dataclasses.replace(hall_now(sim, t), service_minutes=svc)

    daysim.DaySim.hall_now = true_hall_now  # type: ignore[method-assign]


def _scale_replay(factor: float) -> None:
    """The experiment of ``--scale``: every replayed wait times ``factor``."""
    replay_many = estimate.replay_many

    def scaled(hall: estimate.HallNow, targets: list[rules.Candidate]) -> list[estimate.Replay]:
        return [estimate.Replay(r.minutes * factor, r.rounds) for r in replay_many(hall, targets)]

    estimate.replay_many = scaled  # type: ignore[assignment]


def _with_seed(params: daysim.SimParams, seed: int) -> daysim.SimParams:
    import dataclasses

    return dataclasses.replace(params, seed=seed)


if __name__ == "__main__":
    main()
