"""Queue server benchmark: prints figures and (with --write) updates docs/benchmarks.md.

Measures, in one run on this machine:
  1. raw SQLite durable inserts (WAL, synchronous=FULL, one row per transaction) — the
     ceiling a one-commit-per-ticket design could reach;
  2. ticket issue end to end: WebSocket request → durable commit → reply, from many
     kiosks at once, against a real `hallq server` process on SQLite;
  3. call next for one clerk (call.next timed; case.finish in between, not timed);
  4. ticket issue again with ``--waiting`` tickets already waiting (issue 14: the cost
     of an issue must not grow with the queue);
  5. call-to-display delivery: ``--displays`` connected displays (held by
     ``--workers`` client processes, so the load side is not the limit), time from a
     clerk's call.next to the call arriving at every display (one ``call`` event where
     the server offers it, subscribing with calls "combined" as the Kivy display does;
     ``ticket.called`` from a server that does not), the clerk's own reply time while
     the server fans out, and the event frames each display receives per call;
     displays are lean raw sockets (``fanout_client.py``) unless
     ``--display-client websockets``; from the server's timing lines
     (``HALLQ_FANOUT_TIMING``), when it had written the call to the last display, so
     the delay splits into the server's part and the clients'; and calls made right
     after a finish, which meet the finish's own fan-out;
  6. server memory per idle subscribed display (RSS before and after they connect).

With ``--before REV`` steps 2-6 run first against the code of git revision REV (its
own server process and database), so before and after come from one run on one
machine: compare ratios, not figures from different runs.

The server runs in its own process; the load runs in this process. Both share the
machine's cores, so figures are for the whole system on this box.

    .venv/bin/python benchmarks/server_bench.py [--before main] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websockets
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.fanout_client import lean_worker  # noqa: E402
from queue_server import fanout  # noqa: E402
from queue_server import protocol as p  # noqa: E402

HALL = ROOT / "tests" / "hall_test.toml"
BENCH_SERVER = """
[server]
max_connections = 20000
max_connections_per_address = 20000
"""


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def raw_sqlite(path: Path, n: int) -> dict[str, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT, at TEXT, n INTEGER)")
    lat = []
    t0 = time.perf_counter()
    for i in range(n):
        s = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO t (label, at, n) VALUES (?, ?, ?)",
            (f"A{i:03d}", dt.datetime.now(dt.UTC).isoformat(), i),
        )
        conn.execute("COMMIT")
        lat.append(time.perf_counter() - s)
    elapsed = time.perf_counter() - t0
    conn.close()
    return {"rate": n / elapsed, "p50": pct(lat, 0.5) * 1e3, "p99": pct(lat, 0.99) * 1e3}


def bench_hall(tmp: Path, extra: str = "") -> Path:
    """The test hall, with connection caps raised so one address may hold every display."""
    path = tmp / f"hall{len(extra)}.toml"
    path.write_text(HALL.read_text() + BENCH_SERVER + extra)
    return path


def migrate(code: Path, url: str) -> None:
    """The schema of ``code``'s own migrations (a separate process: its own modules)."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from queue_server.store import db; db.upgrade(db.open_engine({url!r}))",
        ],
        cwd=code,
        check=True,
    )


def preload_waiting(url: str, hall: Path, n: int) -> None:
    """``n`` ordinary tickets waiting in queue A today, written directly (fast)."""
    if n <= 0:
        return
    from sqlalchemy import create_engine, insert

    from queue_server.config import load_config
    from queue_server.store import schema as s
    from queue_server.store.ops import HallOps

    now = dt.datetime.now(dt.UTC)
    day = HallOps(load_config(hall)).day(now)
    engine = create_engine(url)
    rows = [
        {
            "day": day,
            "prefix": "A",
            "number": i,
            "queue": "A",
            "service_id": "general",
            "status": "waiting",
            "language": "zh",
            "issued_at": now - dt.timedelta(seconds=n - i),
            "sort_at": now - dt.timedelta(seconds=n - i),
            "recalls": 0,
            "transfers": 0,
            "token": f"preload-{i}",
        }
        for i in range(1, n + 1)
    ]
    with engine.begin() as conn:
        conn.execute(insert(s.tickets), rows)
        conn.execute(insert(s.counters).values(day=day, queue="A", last=n))
    engine.dispose()


class Server:
    def __init__(
        self, url: str, hall: Path = HALL, code: Path = ROOT, env: dict[str, str] | None = None
    ) -> None:
        migrate(code, url)
        # The server's log goes to a file: a pipe nobody drains would block the server
        # once 64 KiB of "signed in" lines had piled up.
        self.log = Path(tempfile.mkstemp(prefix="hallq-bench-server-", suffix=".log")[1])
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "queue_server.cli",
                "server",
                "--config",
                str(hall),
                "--db",
                url,
                "--port",
                "0",
            ],
            cwd=code,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = re.search(r"ready on [\d.]+:(\d+)", self.log.read_text())
            if m:
                self.port = int(m.group(1))
                return
            time.sleep(0.1)
        raise RuntimeError("server did not start: " + self.log.read_text()[-500:])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


class Conn:
    """A minimal protocol client: request/reply by id, events to a callback."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.n = 0
        self.waiting: dict[int, asyncio.Future[dict]] = {}
        self.on_event = None
        self.on_raw = None
        self.task = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, port: int, token: str) -> Conn:
        ws = await connect(f"ws://127.0.0.1:{port}/", max_size=None, ping_interval=None)
        await ws.send(p.request("h", "hello", {"token": token}))
        hello = json.loads(await ws.recv())
        assert hello["ok"]
        conn = cls(ws)
        conn.seq = hello["result"]["seq"]
        return conn

    async def _read(self) -> None:
        async for raw in self.ws:
            if self.on_raw is not None and raw.startswith('{"v":1,"event"'):
                self.on_raw(raw)  # the fan-out test times arrival without parsing JSON
                continue
            msg = json.loads(raw)
            if "event" in msg:
                if self.on_event:
                    self.on_event(msg)
            elif msg.get("id") in self.waiting:
                self.waiting.pop(msg["id"]).set_result(msg)

    async def req(self, op: str, args: dict | None = None, key: bool = True) -> dict:
        self.n += 1
        fut = asyncio.get_running_loop().create_future()
        self.waiting[self.n] = fut
        await self.ws.send(
            p.request(self.n, op, args or {}, f"b{id(self)}-{self.n}" if key else None)
        )
        msg = await fut
        if not msg["ok"]:
            raise RuntimeError(msg["error"])
        return msg["result"]

    async def close(self) -> None:
        await self.ws.close()


async def issue_bench(port: int, kiosks: int, per_kiosk: int) -> dict[str, float]:
    conns = [await Conn.open(port, "kiosk-1-secret") for _ in range(kiosks)]
    lat: list[float] = []

    async def kiosk(c: Conn) -> None:
        for _ in range(per_kiosk):
            s = time.perf_counter()
            await c.req("ticket.issue", {"service": "general"})
            lat.append(time.perf_counter() - s)

    await kiosk(conns[0])  # warm up
    lat.clear()
    t0 = time.perf_counter()
    await asyncio.gather(*(kiosk(c) for c in conns))
    elapsed = time.perf_counter() - t0
    for c in conns:
        await c.close()
    n = kiosks * per_kiosk
    return {"rate": n / elapsed, "p50": pct(lat, 0.5) * 1e3, "p99": pct(lat, 0.99) * 1e3, "n": n}


async def call_bench(port: int, calls: int) -> dict[str, float]:
    clerk = await Conn.open(port, "clerk-2-secret")  # window 2 serves B then A
    await clerk.req("window.open")  # a clerk token works as itself
    lat: list[float] = []
    busy = 0.0
    for _ in range(calls):
        s = time.perf_counter()
        r = await clerk.req("call.next")
        e = time.perf_counter()
        lat.append(e - s)
        busy += e - s
        if r["ticket"] is None:
            raise RuntimeError("ran out of tickets")
        await clerk.req("case.finish")
    await clerk.close()
    return {"rate": calls / busy, "p50": pct(lat, 0.5) * 1e3, "p99": pct(lat, 0.99) * 1e3}


def _display_worker(port: int, n: int, pipe) -> None:
    """A client process holding ``n`` subscribed displays; for each call it is told
    about, it reports when every display received the call (``call`` or, from a server
    without it, ``ticket.called``); at the end, how many event frames they received.

    Each display is a websockets-client connection parsing every frame
    (``--display-client websockets``); ``fanout_client.lean_worker`` is the lean one."""
    asyncio.run(_displays(port, n, pipe))


async def _displays(port: int, n: int, pipe) -> None:
    arrivals: list[float] = []
    want = [n]
    done = asyncio.Event()
    frames = [0]

    def on_raw(raw: str) -> None:
        frames[0] += 1
        if '"event":"call"' in raw or '"event":"ticket.called"' in raw:
            arrivals.append(time.monotonic())
            if len(arrivals) >= want[0]:
                done.set()

    conns: list[Conn] = []
    for i in range(0, n, 100):
        conns += await asyncio.gather(
            *(Conn.open(port, "display-1-secret") for _ in range(min(100, n - i)))
        )
    combined = {"calls": "combined"}
    for c in conns:
        # A display resuming from where its hello said the hall is (no snapshot each:
        # ten thousand snapshots would measure the readers, not the fan-out).
        try:
            await c.req("subscribe", {"since": c.seq, **combined}, key=False)
        except RuntimeError:  # a server from before the combined call event
            combined = {}
            await c.req("subscribe", {"since": c.seq}, key=False)
        c.on_raw = on_raw
    loop = asyncio.get_running_loop()
    pipe.send("ready")
    while True:
        cmd = await loop.run_in_executor(None, pipe.recv)
        if cmd == "stop":
            pipe.send(frames[0])
            break
        # "go": a call is about to be made; report its arrivals
        arrivals.clear()
        done.clear()
        pipe.send("armed")
        try:
            await asyncio.wait_for(done.wait(), 60)
        except TimeoutError:
            pass
        pipe.send(list(arrivals))
    for c in conns:
        await c.close()


DISPLAY_CLIENTS = {"lean": lean_worker, "websockets": _display_worker}
"""How the benchmark's displays read (``--display-client``): raw sockets, or websockets."""
FANOUT_TIMING = re.compile(
    re.escape(fanout.TIMING_LOG)
    + r": seqs (\d+)-(\d+), (\d+) connections, published ([\d.]+), begun ([\d.]+), ended ([\d.]+)"
)


async def server_times(server: Server, start: float) -> tuple[float, float, float] | None:
    """(published, begun, ended) of the fan-out batches of the call made at ``start``.

    From the server's timing lines (``HALLQ_FANOUT_TIMING``, same monotonic clock); None
    from a server that does not write them. The line follows the batch's last write, so
    it may come a little after the displays had the call.
    """
    for _ in range(50):
        found = [
            tuple(float(m.group(k)) for k in (4, 5, 6))
            for m in FANOUT_TIMING.finditer(server.log.read_text())
            if float(m.group(4)) >= start
        ]
        if found:
            return found[0][0], found[0][1], max(t[2] for t in found)
        await asyncio.sleep(0.04)
    return None


def cpu(pid: int) -> tuple[str, int, int]:
    """A process's main thread's state (``S``: sleeping) and its user and system CPU
    time so far, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return fields[0], int(fields[11]), int(fields[12])


def idle(pid: int) -> tuple[bool, int]:
    """Whether a process's main thread sleeps (not running nor waiting for a core), and
    its CPU time so far in clock ticks."""
    state, user, system = cpu(pid)
    return state == "S", user + system


async def settle(pid: int, quiet: int = 5, timeout: float = 10.0) -> None:
    """Wait until the server's event loop slept and used no CPU at ``quiet`` looks 10 ms
    apart: its work done. (A process merely waiting for a core on a loaded machine shows
    as running, so CPU time alone would pass it as idle.)"""
    deadline = time.monotonic() + timeout
    last, still = idle(pid)[1], 0
    while still < quiet and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
        sleeping, ticks = idle(pid)
        still = still + 1 if sleeping and ticks == last else 0
        last = ticks


def raise_open_files(displays: int) -> None:
    """Each display is a socket in a client process and one in the server: raise this
    process's soft limit of open files (the server and the clients inherit it), or say
    what to do."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = displays + 1000
    if soft < need <= hard or (soft < need and hard == resource.RLIM_INFINITY):
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    elif soft < need:
        raise SystemExit(f"{displays} displays need {need} open files: `ulimit -n {need}` as root")


async def fanout_bench(
    server: Server, displays: int, calls: int, workers: int, client: str = "lean"
) -> dict[str, float]:
    """Call → every display, the clerk's own reply meanwhile, and memory per display;
    from the server's timing lines, when it had written the call to the last display."""
    port = server.port
    rss0 = rss_kb(server.proc.pid)
    ctx = mp.get_context("spawn")
    procs, pipes = [], []
    per = [displays // workers + (1 if i < displays % workers else 0) for i in range(workers)]
    for n in per:
        a, b = ctx.Pipe()
        pr = ctx.Process(target=DISPLAY_CLIENTS[client], args=(port, n, b), daemon=True)
        pr.start()
        procs.append(pr)
        pipes.append(a)
    loop = asyncio.get_running_loop()
    for a in pipes:
        msg = await loop.run_in_executor(None, a.recv)
        assert msg == "ready", msg
    await asyncio.sleep(1.0)  # let the server settle before measuring its memory
    rss1 = rss_kb(server.proc.pid)
    clerk = await Conn.open(port, "clerk-1-secret")
    await clerk.req("window.open")  # a clerk token works as itself
    all_lat: list[float] = []
    worst: list[float] = []
    replies: list[float] = []
    published: list[float] = []  # call.next sent → its events committed and queued
    wrote: list[float] = []  # call.next sent → the server had written to every display
    spans: list[float] = []  # the server's first to last write of the call's batch
    # One untimed call, ``calls`` calls each after the last finish's fan-out, then
    # ``calls`` calls made right after a finish (as a clerk does: finish, next), which
    # meet the finish's events still going out to every display.
    after_finish: list[float] = []  # back to back: the last display, per call
    ticks: list[tuple[int, int]] = []
    for k in range(2 * calls + 1):
        for a in pipes:
            a.send("go")
        for a in pipes:
            assert await loop.run_in_executor(None, a.recv) == "armed"
        start = time.monotonic()
        await clerk.req("call.next")
        replies.append(time.monotonic() - start)
        got: list[float] = []
        for a in pipes:
            got += [t - start for t in await loop.run_in_executor(None, a.recv)]
        if len(got) < displays:
            raise RuntimeError(f"only {len(got)} of {displays} displays got the call")
        times = await server_times(server, start)
        await clerk.req("case.finish")
        if k in (0, calls):  # the server's CPU over the calls timed one by one
            ticks.append(cpu(server.proc.pid)[1:])
        if k < calls:
            # The finish's events go to every display too: the next call must not
            # queue behind their fan-out (at 10,000 displays most of a second on main).
            await settle(server.proc.pid)
        if k > calls:
            after_finish.append(max(got))
            continue
        if k == 0:
            # Not timed: the first call after thousands of connections were set up
            # meets the garbage collector's first full pass over them (~0.5 s at
            # 10,000, measured), which a hall whose screens connect over minutes
            # does not concentrate on one call.
            replies.pop()
            continue
        all_lat += got
        worst.append(max(got))
        if times is not None:
            published.append(times[0] - start)
            wrote.append(times[2] - start)
            spans.append(times[2] - times[1])
    frames = 0
    for a in pipes:
        a.send("stop")
        frames += await loop.run_in_executor(None, a.recv)
    for pr in procs:
        pr.join(60)
    await clerk.close()
    split = (
        {
            "published_p50": pct(published, 0.5) * 1e3,
            "wrote_p50": pct(wrote, 0.5) * 1e3,
            "wrote_max": max(wrote) * 1e3,
            "span_p50": pct(spans, 0.5) * 1e3,
        }
        if len(wrote) == calls
        else {}
    )
    return {
        **split,
        "p50": pct(all_lat, 0.5) * 1e3,
        "p99": pct(all_lat, 0.99) * 1e3,
        "last_p50": statistics.median(worst) * 1e3,
        "last_max": max(worst) * 1e3,
        "kernel_share": (ticks[1][1] - ticks[0][1]) / max(1, sum(ticks[1]) - sum(ticks[0])),
        "b2b_last_p50": statistics.median(after_finish) * 1e3,
        "b2b_last_max": max(after_finish) * 1e3,
        "reply_p50": pct(replies, 0.5) * 1e3,
        "reply_p99": pct(replies, 0.99) * 1e3,
        "kb_per_conn": (rss1 - rss0) / displays,
        "frames": frames / displays / (2 * calls + 1),
    }


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def measure(code: Path, tmp: Path, hall: Path, args: argparse.Namespace) -> dict[str, float]:
    """Every server-side figure for one tree of code, each on its own server process."""
    out: dict[str, float] = {}
    server = Server(f"sqlite:///{tmp / 'hall.db'}", hall, code)
    try:
        cpu0 = cpu_s(server.proc.pid)
        issue = await issue_bench(server.port, args.kiosks, args.per_kiosk)
        cpu1 = cpu_s(server.proc.pid)
        out.update(issue_rate=issue["rate"], issue_p50=issue["p50"], issue_p99=issue["p99"])
        # the warm-up kiosk's tickets and the connections' hellos included: all the
        # server's CPU while the phase ran, over the tickets it issued
        out["issue_cpu"] = (cpu1 - cpu0) * 1e3 / (issue["n"] + args.per_kiosk)
        call = await call_bench(server.port, args.calls)
        out["call_cpu"] = (cpu_s(server.proc.pid) - cpu1) * 1e3 / args.calls
        out.update(call_rate=call["rate"], call_p50=call["p50"], call_p99=call["p99"])
    finally:
        server.stop()
    for n in args.displays:
        timing = {fanout.TIMING_ENV: "1"}  # a server from before it ignores it
        server = Server(f"sqlite:///{tmp / f'fan{n}.db'}", hall, code, timing)
        try:
            # tickets to call (issued, not preloaded: the same path as a hall's)
            await issue_bench(server.port, 4, args.fanout_calls // 2 + 2)
            fan = await fanout_bench(
                server, n, args.fanout_calls, args.workers, args.display_client
            )
            out.update({f"fan{n}_{k}": v for k, v in fan.items()})
        finally:
            server.stop()
    if args.waiting:
        url = f"sqlite:///{tmp / 'waiting.db'}"
        migrate(code, url)
        preload_waiting(url, hall, args.waiting)
        server = Server(url, hall, code)
        try:
            cpu0 = cpu_s(server.proc.pid)
            issue = await issue_bench(server.port, args.kiosks, args.waiting_per_kiosk)
            out["wait_issue_cpu"] = (
                (cpu_s(server.proc.pid) - cpu0) * 1e3 / (issue["n"] + args.waiting_per_kiosk)
            )
            out.update(wait_issue_rate=issue["rate"], wait_issue_p99=issue["p99"])
            call = await call_bench(server.port, min(args.calls, 50))
            out.update(wait_call_p50=call["p50"], wait_call_p99=call["p99"])
        finally:
            server.stop()
    return out


ROWS = [
    ("issue_rate", "ticket issue, {kiosks} kiosks, from an empty queue, tickets/s", "{:.0f}"),
    ("issue_raw", "... as a share of raw durable SQLite inserts", "{:.0%}"),
    ("issue_p99", "ticket issue p99, ms", "{:.1f}"),
    ("issue_cpu", "server CPU per ticket issued (all threads), ms", "{:.2f}"),
    ("wait_issue_rate", "ticket issue with {waiting} already waiting, tickets/s", "{:.0f}"),
    ("wait_ratio", "... ÷ issue from an empty queue", "{:.2f}"),
    ("wait_issue_cpu", "server CPU per ticket issued with {waiting} waiting, ms", "{:.2f}"),
    ("call_rate", "call next, one clerk, calls/s", "{:.0f}"),
    ("call_p50", "call next p50, ms", "{:.2f}"),
    ("call_p99", "call next p99, ms", "{:.2f}"),
    ("call_cpu", "server CPU per call next + finish, ms", "{:.2f}"),
    ("wait_call_p99", "call next p99 with {waiting} waiting, ms", "{:.2f}"),
]
FAN_ROWS = [
    ("p50", "call → {n} displays, per display p50, ms", "{:.1f}"),
    ("p99", "call → {n} displays, per display p99, ms", "{:.1f}"),
    ("last_max", "call → {n} displays, until the last has it, worst, ms", "{:.1f}"),
    ("published_p50", "call → committed and queued for the fan-out, p50, ms", "{:.1f}"),
    ("kernel_share", "the server's CPU in the kernel (system calls), share, {n}", "{:.0%}"),
    ("b2b_last_p50", "call right after a finish → the last of {n} has it, p50, ms", "{:.1f}"),
    ("b2b_last_max", "call right after a finish → the last of {n} has it, worst, ms", "{:.1f}"),
    ("wrote_p50", "call → the server had written it to all {n}, p50, ms", "{:.1f}"),
    ("wrote_max", "call → the server had written it to all {n}, worst, ms", "{:.1f}"),
    ("span_p50", "the server's first to last write of a call, p50, ms", "{:.1f}"),
    ("reply_p50", "the clerk's own reply meanwhile, p50, ms", "{:.1f}"),
    ("reply_p99", "the clerk's own reply meanwhile, p99, ms", "{:.1f}"),
    ("frames", "event frames per display per call + finish", "{:.1f}"),
    ("kb_per_conn", "server memory per idle subscribed display, KB", "{:.1f}"),
]


async def main(args: argparse.Namespace) -> str:
    raise_open_files(max(args.displays))
    tmp = Path(tempfile.mkdtemp(prefix="hallq-bench-"))
    hall = bench_hall(tmp)
    raw = raw_sqlite(tmp / "raw.db", args.raw)
    results: dict[str, dict[str, float]] = {}
    if args.before:
        code = tmp / "before"
        code.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.before], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
        (tmp / "b").mkdir()
        results["before"] = await measure(code, tmp / "b", hall, args)
    (tmp / "a").mkdir()
    results["after"] = await measure(ROOT, tmp / "a", hall, args)
    for r in results.values():
        r["issue_raw"] = r["issue_rate"] / raw["rate"]
        if "wait_issue_rate" in r:
            r["wait_ratio"] = r["wait_issue_rate"] / r["issue_rate"]
    cols = list(results)
    names = {
        "before": f"before (`{args.before}`)",
        "after": "after (this tree)",
    }
    lines = [
        f"Raw SQLite durable inserts (WAL, synchronous=FULL, one row per transaction): "
        f"**{raw['rate']:.0f}/s**, p99 {raw['p99']:.2f} ms. Tickets are acknowledged after "
        f"their durable commit; displays negotiate compression as browsers do.",
        "",
        "| figure | "
        + " | ".join(names[c] for c in cols)
        + (" | last ÷ first column |" if len(cols) >= 2 else " |"),
        "| --- | " + " | ".join("---" for _ in cols) + (" | --- |" if len(cols) >= 2 else " |"),
    ]
    rows = [(k, label.format(kiosks=args.kiosks, waiting=args.waiting), f) for k, label, f in ROWS]
    for n in args.displays:
        rows += [(f"fan{n}_{k}", label.format(n=n), f) for k, label, f in FAN_ROWS]
    for key, label, fmt in rows:
        if key not in results[cols[-1]]:
            continue
        vals = [results[c].get(key) for c in cols]
        cells = [fmt.format(v) if v is not None else "-" for v in vals]
        if len(cols) >= 2 and vals[0] and vals[-1] is not None:
            cells.append(f"{vals[-1] / vals[0]:.2f}")
        elif len(cols) >= 2:
            cells.append("-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(report: str, command: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = "<!-- server_bench:start -->", "<!-- server_bench:end -->"
    cpu = platform.processor() or platform.machine()
    block = (
        f"{start}\n## Queue server\n\nCommand: `{command}`  \n"
        f"Run: {dt.date.today().isoformat()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}\n\n"
        f"{report}\n{end}"
    )
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", type=int, default=3000)
    ap.add_argument("--kiosks", type=int, default=32)
    ap.add_argument("--per-kiosk", type=int, default=100)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument(
        "--displays",
        type=lambda v: [int(x) for x in v.split(",") if int(x) > 0],
        default=[1000],
        help="display counts, comma-separated (e.g. 1000,10000); 0: no fan-out phase",
    )
    ap.add_argument("--workers", type=int, default=2, help="client processes holding displays")
    ap.add_argument("--fanout-calls", type=int, default=20)
    ap.add_argument(
        "--display-client",
        choices=sorted(DISPLAY_CLIENTS),
        default="lean",
        help="displays as raw sockets read in one epoll loop per process (lean), or as "
        "websockets-client connections parsing every frame",
    )
    ap.add_argument("--waiting", type=int, default=20000, help="tickets waiting, 0: skip")
    ap.add_argument("--waiting-per-kiosk", type=int, default=10)
    ap.add_argument("--before", help="git revision to measure first, in the same run")
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    a = ap.parse_args()
    out = asyncio.run(main(a))
    print(out)
    if a.write:
        cmd = " ".join(["python benchmarks/server_bench.py", *sys.argv[1:]])
        write(out, cmd)
