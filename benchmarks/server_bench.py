"""Queue server benchmark: prints figures and (with --write) updates docs/benchmarks.md.

Measures, in one run on this machine:
  1. raw SQLite durable inserts (WAL, synchronous=FULL, one row per transaction) — the
     ceiling a one-commit-per-ticket design could reach;
  2. ticket issue end to end: WebSocket request → durable commit → reply, from many
     kiosks at once, against a real `hallq server` process on SQLite;
  3. call next for one clerk (call.next timed; case.finish in between, not timed);
  4. call-to-display delivery: 1,000 connected displays, time from a clerk's call.next
     to the ticket.called event arriving at every display.

The server runs in its own process; the load runs in this process. Both share the
machine's cores, so figures are for the whole system on this box.

    .venv/bin/python benchmarks/server_bench.py [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
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

from queue_server import protocol as p  # noqa: E402
from queue_server.store import db  # noqa: E402

HALL = ROOT / "tests" / "hall_test.toml"


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


class Server:
    def __init__(self, url: str) -> None:
        engine = db.open_engine(url)
        db.upgrade(engine)
        engine.dispose()
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
                str(HALL),
                "--db",
                url,
                "--port",
                "0",
            ],
            cwd=ROOT,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
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
        assert json.loads(await ws.recv())["ok"]
        return cls(ws)

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


async def fanout_bench(port: int, displays: int, calls: int) -> dict[str, float]:
    conns: list[Conn] = []
    for i in range(0, displays, 100):
        conns += await asyncio.gather(
            *(Conn.open(port, "display-1-secret") for _ in range(min(100, displays - i)))
        )
    for c in conns:
        await c.req("subscribe", key=False)
    clerk = await Conn.open(port, "clerk-1-secret")
    await clerk.req("window.open")  # a clerk token works as itself
    all_lat: list[float] = []
    worst: list[float] = []
    for _ in range(calls):
        got: list[float] = []
        done = asyncio.Event()
        start = [0.0]

        def on_raw(
            raw: str, got: list[float] = got, done: asyncio.Event = done, start: list[float] = start
        ) -> None:
            if '"event":"ticket.called"' in raw:
                got.append(time.perf_counter() - start[0])
                if len(got) == displays:
                    done.set()

        for c in conns:
            c.on_raw = on_raw
        start[0] = time.perf_counter()
        await clerk.req("call.next")
        await asyncio.wait_for(done.wait(), 30)
        all_lat += got
        worst.append(max(got))
        await clerk.req("case.finish")
        await asyncio.sleep(0.05)
    for c in conns:
        c.on_raw = None
    for c in [*conns, clerk]:
        await c.close()
    return {
        "p50": pct(all_lat, 0.5) * 1e3,
        "p99": pct(all_lat, 0.99) * 1e3,
        "last_p50": statistics.median(worst) * 1e3,
        "last_max": max(worst) * 1e3,
    }


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def main(args: argparse.Namespace) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="hallq-bench-"))
    raw = raw_sqlite(tmp / "raw.db", args.raw)
    server = Server(f"sqlite:///{tmp / 'hall.db'}")
    try:
        issue = await issue_bench(server.port, args.kiosks, args.per_kiosk)
        call = await call_bench(server.port, args.calls)
        fan = await fanout_bench(server.port, args.displays, args.fanout_calls)
        rss = rss_kb(server.proc.pid)
    finally:
        server.stop()
    lines = [
        f"- raw SQLite durable inserts (WAL, synchronous=FULL, one row per transaction): "
        f"**{raw['rate']:.0f}/s**, p50 {raw['p50']:.2f} ms, p99 {raw['p99']:.2f} ms",
        f"- ticket issue end to end ({args.kiosks} kiosks, {issue['n']} tickets, each "
        f"acknowledged after its durable commit): **{issue['rate']:.0f} tickets/s** "
        f"({issue['rate'] / raw['rate'] * 100:.0f} % of the raw rate), "
        f"p50 {issue['p50']:.2f} ms, p99 {issue['p99']:.2f} ms",
        f"- call next, one clerk ({args.calls} calls): **{call['rate']:.0f} calls/s**, "
        f"p50 {call['p50']:.2f} ms, p99 {call['p99']:.2f} ms",
        f"- call → {args.displays} displays ({args.fanout_calls} calls): per display p50 "
        f"{fan['p50']:.1f} ms, **p99 {fan['p99']:.1f} ms**; until the last display has it: "
        f"median {fan['last_p50']:.1f} ms, worst {fan['last_max']:.1f} ms",
        f"- server RSS after the run with {args.displays} displays connected: {rss / 1024:.0f} MiB",
    ]
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
    ap.add_argument("--displays", type=int, default=1000)
    ap.add_argument("--fanout-calls", type=int, default=20)
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    a = ap.parse_args()
    out = asyncio.run(main(a))
    print(out)
    if a.write:
        write(out, "python benchmarks/server_bench.py --write")
