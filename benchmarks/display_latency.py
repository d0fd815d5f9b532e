"""Display latency and memory: event received → screen updated, and the app's RSS.

    .venv/bin/python benchmarks/display_latency.py [--calls 300] [--interval 0.05]
        [--windows 8] [--notice] [--xvfb]

A queue server runs in its own process (``hallq server`` on the test hall, a fresh
SQLite file); this process runs the real display app (hall layout, 1920×1080) and a
gateway client that opens windows and calls numbers as fast as ``--interval`` allows.
For each event the app measures from the moment its client callback starts to the
``on_flip`` of the frame that shows it (what a citizen sees), and the script prints
p50/p99 per event kind, the clerk-request → frame delay for calls, and the resident set
size of this process (app + client; the server is elsewhere) before and after.

Without ``--xvfb`` it renders offscreen (SDL + Mesa llvmpipe); with it, through a
private Xvfb as the tests do. Software OpenGL is the slow part: a hall PC with a GPU
draws a frame in well under a millisecond.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


CALL_LATENCY_TARGET_S = 1.0
"""From the clerk's request to the flipped frame showing the number, median. A bound on
a figure that depends on the machine's load belongs here, not in a test (the test only
checks that the call shows up)."""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


async def frame_times(n: int) -> list[float]:
    """Milliseconds from asking for a redraw to its flip, ``n`` times: the GL cost."""
    from kivy.core.window import Window

    out: list[float] = []
    for _ in range(n):
        flipped = asyncio.Event()

        def on_flip(*_: object, ev: asyncio.Event = flipped) -> None:
            ev.set()

        Window.bind(on_flip=on_flip)
        t0 = time.perf_counter()
        Window.canvas.ask_update()
        await asyncio.wait_for(flipped.wait(), 10)
        out.append((time.perf_counter() - t0) * 1000)
        Window.unbind(on_flip=on_flip)
        await asyncio.sleep(0.05)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def bench(args: argparse.Namespace, port: int) -> bool:
    from display.app import DisplayApp
    from display.devtools import running_display, until, until_drawn
    from display.fonts import find_cjk_font, register_default_font
    from display.options import DisplayOptions
    from queue_server.client import HallClient

    register_default_font(find_cjk_font())
    url = f"ws://127.0.0.1:{port}/"
    notice = (
        "温馨提示：请持号等候，听到叫号后前往对应窗口办理。 Please wait for your number."
        if args.notice
        else ""
    )
    app = DisplayApp(
        DisplayOptions(server=url, token="display-1-secret", notice=notice, show_satisfaction=True)
    )
    rss_before = None
    async with (
        HallClient(url, "kiosk-1-secret", name="bench-kiosk") as kiosk,
        HallClient(url, "gateway-secret", name="bench-gateway") as gate,
    ):
        async with running_display(app):
            rss_before = rss_mb()
            windows = [1, 2]
            for n in windows:
                await gate.request("window.open", {"window": n, "clerk": f"c{n}"})
            for _ in range(args.calls):
                await kiosk.request("ticket.issue", {"service": "general"})
            app.latencies.clear()
            await until_drawn(app)
            delays: list[float] = []
            t_start = time.perf_counter()
            for i in range(args.calls):
                n = windows[i % len(windows)]
                if i >= len(windows):
                    await gate.request("case.start", {"window": n})
                    await gate.request("case.finish", {"window": n})
                t0 = time.perf_counter()
                reply = await gate.request("call.next", {"window": n})
                label = reply["ticket"]["label"]
                await until(lambda lb=label: app.root.ids.newest_label.text == lb, 10, label)
                await until_drawn(app)
                delays.append(time.perf_counter() - t0)
                await asyncio.sleep(args.interval)
            elapsed = time.perf_counter() - t_start
            rss_after = rss_mb()
            frames = await frame_times(30)
    by_kind: dict[str, list[float]] = {}
    for kind, t in app.latencies:
        by_kind.setdefault(kind, []).append(t * 1000)
    mode = "Xvfb (X11)" if os.environ.get("DISPLAY") else "SDL offscreen"
    print(
        f"display latency benchmark: {args.calls} calls over {elapsed:.1f} s, "
        f"{mode}, Mesa llvmpipe, {args.size}, notice {'on' if args.notice else 'off'}"
    )
    print(f"{'event kind':<18}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for kind in sorted(by_kind):
        v = by_kind[kind]
        print(f"{kind:<18}{len(v):>6}{pct(v, 50):>10.1f}{pct(v, 99):>10.1f}{max(v):>10.1f}")
    d = [x * 1000 for x in delays]
    print(
        f"{'clerk→screen':<18}{len(d):>6}{pct(d, 50):>10.1f}{pct(d, 99):>10.1f}"
        f"{max(d):>10.1f}   (call.next request to flipped frame showing it)"
    )
    print(
        f"{'full redraw':<18}{len(frames):>6}{pct(frames, 50):>10.1f}{pct(frames, 99):>10.1f}"
        f"{max(frames):>10.1f}   (one frame of the whole screen, nothing changed)"
    )
    print(
        f"RSS of the display process: {rss_before:.1f} MB live, {rss_after:.1f} MB after "
        f"{args.calls} calls; mean of calls {statistics.mean(d):.1f} ms"
    )
    median = pct(d, 50) / 1000
    verdict = "meets" if median < CALL_LATENCY_TARGET_S else "MISSES"
    print(
        f"clerk→screen median {median * 1000:.0f} ms {verdict} the target of "
        f"{CALL_LATENCY_TARGET_S * 1000:.0f} ms"
    )
    return median < CALL_LATENCY_TARGET_S


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--notice", action="store_true", help="scroll a notice line meanwhile")
    p.add_argument("--xvfb", action="store_true", help="render through a private Xvfb")
    p.add_argument("--size", default="1920x1080", help="window size, e.g. 1280x720")
    args = p.parse_args()
    os.environ["HALLQ_TEST_XVFB"] = "1" if args.xvfb else "0"
    if not args.xvfb:
        os.environ.pop("DISPLAY", None)
    import tests.kivy_env  # noqa: F401  (Kivy's environment, before Kivy is imported)

    os.environ["KCFG_GRAPHICS_WIDTH"], os.environ["KCFG_GRAPHICS_HEIGHT"] = args.size.split("x")

    tmp = Path(tempfile.mkdtemp(prefix="hallq-bench-display-"))
    port = free_port()
    hallq = [
        sys.executable,
        "-c",
        "import sys; from queue_server.cli import main; sys.exit(main(sys.argv[1:]))",
    ]
    db = f"sqlite:///{tmp / 'hall.db'}"
    subprocess.run(
        [*hallq, "db", "upgrade", "--db", db, "--config", str(ROOT / "tests/hall_test.toml")],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = subprocess.Popen(
        [
            *hallq,
            "server",
            "--config",
            str(ROOT / "tests/hall_test.toml"),
            "--db",
            db,
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        ok = asyncio.run(bench(args, port))
    finally:
        server.terminate()
        server.wait(10)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
