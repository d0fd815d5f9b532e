"""Halls on one PostgreSQL: does a hall issue as fast beside others as alone?

Each hall has its own `hallq server` process and its own schema (``hall_<id>``) in one
fresh PostgreSQL database; every hall's kiosks issue tickets at once, from this process.
For each hall count it prints the tickets per second of one hall, of all halls together,
and the worst hall's p99, with ratios against one hall alone measured in the same run.
The halls share nothing but the database server (no lock, no channel, no row), so
whatever slows a hall beside others is the machine: its cores and its disk.

    .venv/bin/python benchmarks/halls_bench.py --pg postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from server_bench import BENCH_SERVER, HALL, issue_bench  # noqa: E402

from queue_server.store.scratch import throwaway_database  # noqa: E402


def hall_file(folder: Path, hall: str) -> Path:
    body = HALL.read_text(encoding="utf-8").replace("[hall]\n", f'[hall]\nid = "{hall}"\n', 1)
    path = folder / f"{hall}.toml"
    path.write_text(body + BENCH_SERVER, encoding="utf-8")
    return path


def start(hall: Path, url: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "queue_server.cli", "server", "--config", str(hall),
         "--db", url, "--port", "0", "--ignore-hours"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.search(r"ready on [\d.]+:(\d+)", line)
        if m:
            threading.Thread(target=lambda: [*proc.stdout], daemon=True).start()  # type: ignore[misc]
            return proc, int(m.group(1))
    raise RuntimeError(f"server for {hall} did not start")


async def run(n: int, pg: str, kiosks: int, per_kiosk: int) -> dict[str, float]:
    procs: list[subprocess.Popen[str]] = []
    with throwaway_database(pg, "hallq_bench") as url:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                halls = [hall_file(Path(tmp), f"h{i}") for i in range(n)]
                for h in halls:
                    subprocess.run(
                        [sys.executable, "-m", "queue_server.cli", "db", "upgrade",
                         "--config", str(h), "--db", url],
                        check=True, capture_output=True, cwd=ROOT,
                    )  # fmt: skip
                ports = []
                for h in halls:
                    proc, port = start(h, url)
                    procs.append(proc)
                    ports.append(port)
                got = await asyncio.gather(*(issue_bench(p, kiosks, per_kiosk) for p in ports))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(15)
    return {
        "per_hall": sum(g["rate"] for g in got) / n,
        "total": sum(g["rate"] for g in got),
        "p99": max(g["p99"] for g in got),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", required=True, help="an admin URL of the PostgreSQL server")
    ap.add_argument("--halls", default="1,2,4", help="hall counts, comma-separated")
    ap.add_argument("--kiosks", type=int, default=4, help="kiosks per hall")
    ap.add_argument("--per-kiosk", type=int, default=50)
    a = ap.parse_args()
    counts = [int(x) for x in a.halls.split(",")]
    rows = {n: asyncio.run(run(n, a.pg, a.kiosks, a.per_kiosk)) for n in counts}
    base = rows[counts[0]]
    load = os.getloadavg()
    print(f"load average before the last run: {load[0]:.2f} (cores: {os.cpu_count()})")
    print("| halls | tickets/s per hall | all halls | worst hall's p99 ms | per hall vs "
          f"{counts[0]} | p99 vs {counts[0]} |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for n, r in rows.items():
        print(
            f"| {n} | {r['per_hall']:.0f} | {r['total']:.0f} | {r['p99']:.1f} | "
            f"{r['per_hall'] / base['per_hall']:.2f} | {r['p99'] / base['p99']:.2f} |"
        )


if __name__ == "__main__":
    main()
