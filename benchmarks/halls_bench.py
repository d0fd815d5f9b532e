"""Halls on one PostgreSQL: does a hall issue as fast beside others, or with more processes?

Each hall has its own schema (``hall_<id>``) in one fresh PostgreSQL database and is
served by real ``hallq server`` processes; the load (kiosks, clerks) runs in this process.
Every figure of a table comes from one run, so the ratios against its first row are what
to read (issue 14's targets are ratios; the machine and its load move the absolute ones).

Two loads:

* **flat out** (the default): every hall's kiosks issue tickets as fast as they are
  answered. Prints tickets/s per hall and for all halls, and the worst hall's p99.
  ``--procs 1,2`` serves each hall by that many processes (``hallq server --config`` of
  the same hall file, as a busy hall's second process is deployed), kiosks spread across
  them: issue 14's "two processes serving one hall >= 1.6x one process".
* **paced** (``--rate``): every hall issues ``--rate`` tickets/s on average, citizens
  arriving at random (each request sent at its scheduled time, not when the last one
  came back, and timed from that schedule) while
  one clerk per hall calls and finishes ``--call-rate`` tickets/s, for ``--seconds``.
  Prints the p50/p99 of issue and of call next per hall count against the first row:
  issue 14's "20 halls on one PostgreSQL each issuing and calling at a busy hall's peak
  with p99 unchanged against one hall alone". A busy hall's peak is a few tickets a
  minute per window: the county hall of docs/benchmarks.md (140 windows) issues 4,600 a
  day, so 2 tickets/s and 1 call/s is several times its peak hour.

``--county`` serves all the halls of a row from ONE process (``hallq server --county``, as
small halls are deployed); without it each hall has its own processes. Twenty server
processes do not fit two cores honestly: ``--county`` is how 20 halls are measured here.
``--code DIR`` runs the servers from another source tree (``git archive main | tar -x
-C DIR``), for a same-run A/B: one run per tree, same command otherwise.

Flat out, each row also shows the servers' CPU per ticket (steadier than tickets/s on a
shared machine) and how many operations their writers committed per transaction (from
each server's last log line; ``?`` for code older than session 6). ``--waits`` samples
``pg_stat_activity`` during each flat-out row and prints where the run's backends were:
working, waiting for another's lock (row or advisory), or in a transaction waiting for
their server's Python.

    .venv/bin/python benchmarks/halls_bench.py --pg postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python benchmarks/halls_bench.py --pg URL --halls 1 --procs 1,2 --kiosks 8 [--waits]
    .venv/bin/python benchmarks/halls_bench.py --pg URL --halls 1,20 --county --rate 2
    .venv/bin/python benchmarks/halls_bench.py --pg URL --halls 1,20 --county --idle 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from server_bench import BENCH_SERVER, HALL, Conn, pct  # noqa: E402

from queue_server.store.scratch import throwaway_database  # noqa: E402

COUNTY_TOKEN = "county-bench-secret"


def free_port() -> int:
    """A port nothing listens on now (a county file names each hall's port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hall_file(folder: Path, hall: str, port: int | None = None) -> Path:
    body = HALL.read_text(encoding="utf-8").replace("[hall]\n", f'[hall]\nid = "{hall}"\n', 1)
    server = BENCH_SERVER + (f"port = {port}\n" if port is not None else "")
    path = folder / f"{hall}.toml"
    path.write_text(body + server, encoding="utf-8")
    return path


def county_file(folder: Path, halls: list[Path], url: str) -> Path:
    path = folder / "county.toml"
    names = ", ".join(f'"{h.name}"' for h in halls)
    path.write_text(
        f'[county]\nname = "bench"\nport = {free_port()}\ndb = "{url}"\nhalls = [{names}]\n\n'
        f'[[tokens]]\nname = "leader"\ntoken = "{COUNTY_TOKEN}"\n',
        encoding="utf-8",
    )
    return path


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


class WaitSampler:
    """Samples ``pg_stat_activity`` of one database every ``every`` s on its own thread:
    where the servers' backends spend a run (``--waits``). Each sample counts every
    backend of the database but this one by (state, wait event): ``active/CPU`` is
    PostgreSQL working, ``active/Lock:...`` a backend waiting for another's row or
    advisory lock, ``idle in transaction/ClientRead`` a transaction waiting for its
    server's Python, ``idle/ClientRead`` a connection between transactions."""

    QUERY = (
        "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM"
        " pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend' AND query NOT LIKE 'LISTEN%'"
    )

    def __init__(self, url: str, every: float = 0.01) -> None:
        self.url, self.every = url, every
        self.counts: dict[tuple[str, str], int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.every):
                self.samples += 1
                for state, wait in conn.execute(self.QUERY).fetchall():
                    key = (str(state), str(wait))
                    self.counts[key] = self.counts.get(key, 0) + 1

    def table(self, title: str) -> str:
        """Mean backends in each (state, wait) over the run, busiest first."""
        rows = sorted(self.counts.items(), key=lambda kv: -kv[1])
        out = [f"{title}: {self.samples} samples, mean backends per state/wait"]
        out += [f"  {n / max(self.samples, 1):6.2f}  {st} / {w}" for (st, w), n in rows]
        return "\n".join(out)


COMMITTED = re.compile(r"committed (\d+) operations in (\d+) transactions \((\d+) reruns")
"""The Committer's last words at a clean stop (db.Committer.close): how well it grouped."""


class Server:
    """A ``hallq server`` process and the ports of its halls, in start order; its log is
    drained (a full pipe would block it) and the Committers' totals kept."""

    def __init__(self, args: list[str], code: Path, ready: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "queue_server.cli", "server", *args, "--ignore-hours"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=code,
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.ports: list[int] = []
        self.committed = [0, 0, 0]  # operations, transactions, reruns
        tail: list[str] = []
        for line in self.proc.stdout:
            tail = [*tail[-20:], line]
            m = re.search(r"ready on [\d.]+:(\d+)", line)
            if m and "county page" not in line:
                self.ports.append(int(m.group(1)))
                if len(self.ports) == ready:
                    self._drain = threading.Thread(target=self._read, daemon=True)
                    self._drain.start()
                    return
        raise RuntimeError("server did not start:\n" + "".join(tail))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if m := COMMITTED.search(line):
                self.committed = [
                    a + int(b) for a, b in zip(self.committed, m.groups(), strict=True)
                ]

    def stop(self) -> None:
        self.proc.terminate()

    def wait(self) -> None:
        self.proc.wait(30)
        self._drain.join(5)


@contextlib.asynccontextmanager
async def serving(
    n: int, procs: int, pg: str, code: Path, county: bool
) -> AsyncIterator[tuple[list[list[int]], list[int], str]]:
    """``n`` halls in a fresh database; yields each hall's ports (one per process), the
    server processes and the database's URL."""
    running: list[Server] = []
    with throwaway_database(pg, "hallq_bench") as url, tempfile.TemporaryDirectory() as tmp:
        try:
            halls = [
                hall_file(Path(tmp), f"h{i}", free_port() if county else None) for i in range(n)
            ]
            for h in halls:
                subprocess.run(
                    [sys.executable, "-m", "queue_server.cli", "db", "upgrade",
                     "--config", str(h), "--db", url],
                    check=True, capture_output=True, cwd=code,
                )  # fmt: skip
            ports: list[list[int]] = [[] for _ in halls]
            if county:
                if procs != 1:
                    raise SystemExit("--county serves each hall from one process (--procs 1)")
                server = Server(["--county", str(county_file(Path(tmp), halls, url))], code, n)
                running.append(server)
                for i, port in enumerate(server.ports):
                    ports[i].append(port)
            else:
                for _ in range(procs):
                    for i, h in enumerate(halls):
                        server = Server(["--config", str(h), "--db", url, "--port", "0"], code, 1)
                        running.append(server)
                        ports[i] += server.ports
            yield ports, running, url
        finally:
            for server in running:
                server.stop()
            for server in running:
                server.wait()


async def flat(ports: list[int], kiosks: int, per_kiosk: int) -> dict[str, float]:
    """One hall's kiosks issuing flat out, kiosk i on process i mod len(ports)."""
    conns = [await Conn.open(ports[i % len(ports)], "kiosk-1-secret") for i in range(kiosks)]
    lat: list[float] = []

    async def kiosk(c: Conn, count: int) -> None:
        for _ in range(count):
            s = time.perf_counter()
            await c.req("ticket.issue", {"service": "general"})
            lat.append(time.perf_counter() - s)

    await asyncio.gather(*(kiosk(c, 3) for c in conns))  # warm up every process
    lat.clear()
    t0 = time.perf_counter()
    await asyncio.gather(*(kiosk(c, per_kiosk) for c in conns))
    elapsed = time.perf_counter() - t0
    for c in conns:
        await c.close()
    return {"rate": kiosks * per_kiosk / elapsed, "p99": pct(lat, 0.99) * 1e3}


async def paced(
    ports: list[int], rate: float, call_rate: float, seconds: float, seed: int
) -> dict[str, list[float]]:
    """One hall at a fixed pace: issue and call latencies (s), from each one's schedule.

    Citizens arrive at random (a Poisson process of ``rate``, seeded by the hall, so a
    run's one hall meets the same arrivals as the first of its twenty); the clerk calls
    every 1/``call_rate`` s from a random phase. Halls paced in step would all send at
    the same instant: a burst no real county makes.
    """
    rng = random.Random(seed)
    arrivals: list[float] = []
    at = rng.expovariate(rate)
    while at < seconds:
        arrivals.append(at)
        at += rng.expovariate(rate)
    phase = rng.random() / call_rate
    kiosk = await Conn.open(ports[0], "kiosk-1-secret")
    clerk = await Conn.open(ports[-1], "clerk-2-secret")  # window 2 serves B then A
    await clerk.req("window.open")
    for _ in range(3):  # warm up, and something to call first
        await kiosk.req("ticket.issue", {"service": "general"})
    issues: list[float] = []
    calls: list[float] = []
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.2

    async def one_issue(at: float) -> None:
        await asyncio.sleep(at - loop.time())
        await kiosk.req("ticket.issue", {"service": "general"})
        issues.append(loop.time() - at)

    async def calling() -> None:
        for j in range(int(seconds * call_rate)):
            at = t0 + phase + j / call_rate
            await asyncio.sleep(at - loop.time())
            r = await clerk.req("call.next")
            calls.append(loop.time() - at)
            if r["ticket"] is not None:
                await clerk.req("case.finish")

    await asyncio.gather(*(one_issue(t0 + x) for x in arrivals), calling())
    await kiosk.close()
    await clerk.close()
    return {"issue": issues, "call": calls}


async def run_flat(n: int, procs: int, a: argparse.Namespace, code: Path) -> dict[str, float]:
    async with serving(n, procs, a.pg, code, a.county) as (ports, servers, url):
        pids = [server.proc.pid for server in servers]
        waits = WaitSampler(url) if a.waits else contextlib.nullcontext()
        cpu0 = cpu_seconds(pids)
        with waits:
            got = await asyncio.gather(*(flat(p, a.kiosks, a.per_kiosk) for p in ports))
        cpu = cpu_seconds(pids) - cpu0
    if isinstance(waits, WaitSampler):
        print(waits.table(f"{n} hall(s), {procs} process(es) per hall"))
    ops, transactions, reruns = (sum(s.committed[i] for s in servers) for i in range(3))
    return {
        # whole run, start-up included; 0 when the servers' code does not say (older)
        "per_transaction": ops / transactions if transactions else 0.0,
        "reruns": reruns,
        "cpu_ms": cpu / (n * a.kiosks * (a.per_kiosk + 3)) * 1e3,
        "per_hall": sum(g["rate"] for g in got) / n,
        "total": sum(g["rate"] for g in got),
        "p99": max(g["p99"] for g in got),
    }


async def run_idle(n: int, a: argparse.Namespace, code: Path) -> float:
    """Cores the servers keep busy with no request at all: the halls' own timers (sweeps,
    watches), which a county process runs for every hall it serves."""
    async with serving(n, 1, a.pg, code, a.county) as (_ports, servers, _url):
        pids = [server.proc.pid for server in servers]
        await asyncio.sleep(a.settle)
        cpu0, t0 = cpu_seconds(pids), time.perf_counter()
        await asyncio.sleep(a.idle)
        return (cpu_seconds(pids) - cpu0) / (time.perf_counter() - t0)


async def run_paced(n: int, a: argparse.Namespace, code: Path) -> dict[str, float]:
    async with serving(n, 1, a.pg, code, a.county) as (ports, servers, _url):
        pids = [server.proc.pid for server in servers]
        # Past each hall's start-up sweeps (lights, assessments, summaries: once at a
        # start, then every few minutes), which would all land in the first second.
        await asyncio.sleep(a.settle)
        cpu0, t0 = cpu_seconds(pids), time.perf_counter()
        got = await asyncio.gather(
            *(paced(p, a.rate, a.call_rate, a.seconds, i) for i, p in enumerate(ports))
        )
        cores = (cpu_seconds(pids) - cpu0) / (time.perf_counter() - t0)
    issues = [x for g in got for x in g["issue"]]
    calls = [x for g in got for x in g["call"]]
    return {
        "issued": len(issues),
        "issue_p50": pct(issues, 0.5) * 1e3,
        "issue_p99": pct(issues, 0.99) * 1e3,
        "worst_issue_p99": max(pct(g["issue"], 0.99) for g in got) * 1e3,
        "call_p50": pct(calls, 0.5) * 1e3,
        "call_p99": pct(calls, 0.99) * 1e3,
        "worst_call_p99": max(pct(g["call"], 0.99) for g in got) * 1e3,
        "cores": cores,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", required=True, help="an admin URL of the PostgreSQL server")
    ap.add_argument("--halls", default="1,2,4", help="hall counts, comma-separated")
    ap.add_argument("--procs", default="1", help="server processes per hall, comma-separated")
    ap.add_argument("--county", action="store_true", help="all halls in one county process")
    ap.add_argument("--kiosks", type=int, default=4, help="kiosks per hall (flat out)")
    ap.add_argument("--per-kiosk", type=int, default=50)
    ap.add_argument("--rate", type=float, help="paced: tickets/s per hall")
    ap.add_argument("--call-rate", type=float, default=1.0, help="paced: calls/s per hall")
    ap.add_argument("--seconds", type=float, default=30.0, help="paced: how long")
    ap.add_argument("--settle", type=float, default=5.0, help="paced: wait after start")
    ap.add_argument("--waits", action="store_true", help="flat out: sample pg_stat_activity")
    ap.add_argument("--idle", type=float, help="idle: cores busy over this many seconds")
    ap.add_argument("--code", type=Path, default=ROOT, help="serve from this source tree")
    a = ap.parse_args()
    counts = [int(x) for x in a.halls.split(",")]
    code = a.code.resolve()
    where = "one county process" if a.county else "own processes per hall"
    print(f"servers from {code}; {where}; load average {os.getloadavg()[0]:.2f} "
          f"(cores: {os.cpu_count()})")  # fmt: skip
    if a.idle is not None:
        print("| halls | server cores busy, no requests |")
        print("| --- | --- |")
        for n in counts:
            print(f"| {n} | {asyncio.run(run_idle(n, a, code)):.4f} |")
        return
    if a.rate is not None:
        rows = {n: asyncio.run(run_paced(n, a, code)) for n in counts}
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        base = rows[counts[0]]
        print(
            f"| halls | {a.rate:g} tickets/s + {a.call_rate:g} calls/s each: issued | "
            "issue p50 / p99 ms | worst hall's issue p99 | call p50 / p99 ms | "
            f"worst hall's call p99 | issue p99 vs {counts[0]} | call p99 vs {counts[0]} | "
            "server cores busy |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for n, r in rows.items():
            print(
                f"| {n} | {r['issued']:.0f} | {r['issue_p50']:.1f} / {r['issue_p99']:.1f} | "
                f"{r['worst_issue_p99']:.1f} | {r['call_p50']:.1f} / {r['call_p99']:.1f} | "
                f"{r['worst_call_p99']:.1f} | {r['issue_p99'] / base['issue_p99']:.2f} | "
                f"{r['call_p99'] / base['call_p99']:.2f} | {r['cores']:.2f} |"
            )
        return
    procs = [int(x) for x in a.procs.split(",")]
    rows2 = {(n, k): asyncio.run(run_flat(n, k, a, code)) for n in counts for k in procs}
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    (n0, k0) = next(iter(rows2))
    base2 = rows2[(n0, k0)]
    print("| halls | processes per hall | tickets/s per hall | all halls | worst hall's p99 ms "
          "| per hall vs first row | p99 vs first row | server CPU ms per ticket "
          "| operations per transaction (reruns) |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (n, k), r in rows2.items():
        print(
            f"| {n} | {k} | {r['per_hall']:.0f} | {r['total']:.0f} | {r['p99']:.1f} | "
            f"{r['per_hall'] / base2['per_hall']:.2f} | {r['p99'] / base2['p99']:.2f} | "
            f"{r['cpu_ms']:.2f} | "
            + (
                f"{r['per_transaction']:.2f} ({r['reruns']:.0f}) |"
                if r["per_transaction"]
                else "? |"
            )
        )


if __name__ == "__main__":
    main()
