"""What abuse costs the server: memory per idle connection, and a clerk's calls under a
phone-page flood. Prints figures; ``--write`` puts them in docs/benchmarks.md.

  1. server RSS before and after N idle signed-in connections (a display token), and
     after N connections that never say hello (closed by the hello timeout later);
  2. a clerk's call.next latency, p50/p99, alone and while phone pages (4 tickets, 4
     connections each, the most a ticket may hold) send ticket.status in a loop. The
     figure that matters is the ratio of the two, measured in the same run.

    .venv/bin/python benchmarks/security_bench.py [--connections 5000] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from server_bench import ROOT, Conn, pct, rss_kb  # noqa: E402 (benchmarks/ is on sys.path)
from websockets.asyncio.client import connect

sys.path.insert(0, str(ROOT))

from queue_server import protocol as p  # noqa: E402
from queue_server.store import db  # noqa: E402

HALL = ROOT / "tests" / "hall_test.toml"


def start_server(work: Path, connections: int) -> tuple[subprocess.Popen[bytes], int, Path]:
    hall = work / "hall.toml"
    # The test hall, with room for every connection from this one address.
    hall.write_text(
        HALL.read_text()
        + f"\n[server]\nmax_connections = {connections * 3}\n"
        + f"max_connections_per_address = {connections * 3}\n"
    )
    url = f"sqlite:///{work / 'hall.db'}"
    engine = db.open_engine(url)
    db.upgrade(engine)
    engine.dispose()
    log = work / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "queue_server.cli", "server", "--config", str(hall),
         "--db", url, "--port", "0", "--ignore-hours"],
        cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = re.search(r"ready on [\d.]+:(\d+)", log.read_text())
        if m:
            return proc, int(m.group(1)), log
        time.sleep(0.1)
    raise RuntimeError("server did not start: " + log.read_text()[-500:])


async def idle(port: int, pid: int, n: int) -> dict[str, float]:
    base = rss_kb(pid)
    signed = []
    for i in range(n):
        ws = await connect(f"ws://127.0.0.1:{port}/", ping_interval=None, max_size=None)
        await ws.send(p.request("h", "hello", {"token": "display-1-secret"}))
        assert json.loads(await ws.recv())["ok"]
        signed.append(ws)
        if i % 500 == 499:
            await asyncio.sleep(0)
    await asyncio.sleep(1)
    after_signed = rss_kb(pid)
    silent = [await connect(f"ws://127.0.0.1:{port}/", ping_interval=None) for _ in range(n // 5)]
    await asyncio.sleep(1)
    after_silent = rss_kb(pid)
    for ws in signed + silent:
        await ws.close()
    return {
        "base_mib": base / 1024,
        "signed_mib": after_signed / 1024,
        "per_signed_kib": (after_signed - base) / n,
        "silent": len(silent),
        "per_silent_kib": (after_silent - after_signed) / max(1, len(silent)),
    }


async def clerk_calls(clerk: Conn, gw: Conn, calls: int) -> list[float]:
    lat = []
    for _ in range(calls):
        t0 = time.perf_counter()
        await clerk.req("call.next")
        lat.append(time.perf_counter() - t0)
        await gw.req("case.finish", {"window": 1})
    return lat


async def flood(port: int, tokens: list[str], stop: asyncio.Event) -> int:
    sent = 0

    async def one(token: str) -> None:
        nonlocal sent
        ws = await connect(f"ws://127.0.0.1:{port}/", ping_interval=None)
        await ws.send(p.request("h", "hello", {"ticket": token}))
        assert json.loads(await ws.recv())["ok"]
        while not stop.is_set():
            await ws.send(p.request(1, "ticket.status", {}))
            await ws.recv()
            sent += 1
        await ws.close()

    await asyncio.gather(*(one(t) for t in tokens for _ in range(4)))
    return sent


async def main(args: argparse.Namespace) -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, _log = start_server(Path(tmp), args.connections)
        try:
            mem = await idle(port, proc.pid, args.connections)
            kiosk = await Conn.open(port, "kiosk-1-secret")
            clerk = await Conn.open(port, "clerk-1-secret")
            gw = await Conn.open(port, "gateway-secret")
            phones = [
                (await kiosk.req("ticket.issue", {"service": "marriage"}))["token"]
                for _ in range(4)
            ]
            for _ in range(2 * args.calls):
                await kiosk.req("ticket.issue", {"service": "general"})
            await clerk.req("window.open")
            alone = await clerk_calls(clerk, gw, args.calls)
            stop = asyncio.Event()
            flooding = asyncio.create_task(flood(port, phones, stop))
            await asyncio.sleep(0.5)
            t0 = time.perf_counter()
            flooded = await clerk_calls(clerk, gw, args.calls)
            seconds = time.perf_counter() - t0
            stop.set()
            sent = await flooding
        finally:
            proc.terminate()
            proc.wait(30)
    rows = [
        "| measure | figure |",
        "| --- | --- |",
        f"| server RSS, no connections | {mem['base_mib']:.0f} MiB |",
        f"| server RSS with {args.connections:,} idle signed-in connections | "
        f"{mem['signed_mib']:.0f} MiB ({mem['per_signed_kib']:.1f} KiB each) |",
        f"| ...plus {mem['silent']:,} connections that never say hello | "
        f"{mem['per_silent_kib']:.1f} KiB each (closed after 10 s) |",
        f"| clerk call.next alone, p50 / p99 | {pct(alone, 0.5) * 1e3:.1f} / "
        f"{pct(alone, 0.99) * 1e3:.1f} ms |",
        f"| ...while 16 phone pages poll ticket.status ({sent / seconds:,.0f} requests/s, "
        f"mostly refused `rate_limited`), p50 / p99 | {pct(flooded, 0.5) * 1e3:.1f} / "
        f"{pct(flooded, 0.99) * 1e3:.1f} ms |",
        f"| clerk p99 under the flood ÷ alone | {pct(flooded, 0.99) / pct(alone, 0.99):.2f} |",
    ]
    return "\n".join(rows)


def write(report: str, command: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text()
    head = "## Abuse: memory per connection, a clerk under a phone-page flood"
    body = (
        f"{head}\n\nMeasured with `{command}` on {platform.machine()}, "
        f"{platform.python_version()} (server and load share the machine's 2 cores).\n\n"
        f"{report}\n"
    )
    if head in text:
        start = text.index(head)
        end = text.find("\n## ", start + len(head))
        text = text[:start] + body + (text[end:] if end != -1 else "")
    else:
        text = text.rstrip() + "\n\n" + body
    path.write_text(text)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=5000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    out = asyncio.run(main(a))
    print(out)
    if a.write:
        write(out, "python benchmarks/security_bench.py " + " ".join(sys.argv[1:]))
