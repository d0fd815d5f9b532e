"""A throwaway demo hall for the layout checks, the screenshots and the benchmarks.

Starts a real queue server (the demo hall, a temporary SQLite file, opening hours
ignored), makes it busy with real clients, and runs the real kiosk against it with touches
sent through Kivy's touch path. It lives in ``scripts/``, not in the kiosk or display
apps: it needs the server's database packages, which a kiosk or a display in a hall never
loads (their own layout checks only measure widgets, see ``kiosk.accessibility`` and
``display.layoutcheck``). Imported by ``scripts/``, ``tests/`` and ``benchmarks/``, which
run with the project's root on ``sys.path``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEMO_TOKENS = {
    "kiosk": "demo-kiosk-1-token",
    "gateway": "demo-gateway-1-token",
    "display": "demo-display-1-token",
}
"""The demo hall file's device tokens (``queue_server/demo/hall.toml``)."""


async def until(pred: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    """Poll ``pred`` every 20 ms; return its first true value, or raise TimeoutError
    (waiting on what the app shows, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or pred}")
        await asyncio.sleep(0.02)


@dataclass
class DemoServer:
    """A running demo hall: its server, hall file and WebSocket address."""

    server: Any  # queue_server.server.HallServer
    config: Any  # queue_server.config.HallConfig
    url: str

    def service_of(self, queue: str) -> str:
        """The first service that takes a number in ``queue``."""
        return next(s.id for s in self.config.services if s.queue == queue)


@contextlib.asynccontextmanager
async def demo_server(workdir: Path | None = None) -> AsyncIterator[DemoServer]:
    """The demo hall's queue server on a free loopback port and a new SQLite file in
    ``workdir`` (a temporary folder, removed afterwards, when none is given)."""
    from queue_server.config import DEMO_CONFIG, load_config
    from queue_server.server import HallServer
    from queue_server.store import db

    tmp = None
    if workdir is None:
        workdir = tmp = Path(tempfile.mkdtemp(prefix="hallq-demo-hall-"))
    config = load_config(DEMO_CONFIG)
    db_url = f"sqlite:///{workdir / 'hall.db'}"
    engine = db.open_engine(db_url)
    db.upgrade(engine)
    engine.dispose()
    hall = HallServer(config, db_url, ignore_hours=True)
    await hall.start("127.0.0.1", 0)
    try:
        yield DemoServer(hall, config, f"ws://127.0.0.1:{hall.port}/")
    finally:
        await hall.stop()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


async def populate(
    url: str,
    services: list[str],
    windows: list[int],
    *,
    tickets: int = 30,
    kiosk_token: str = DEMO_TOKENS["kiosk"],
    gateway_token: str = DEMO_TOKENS["gateway"],
    paused: tuple[int, ...] = (),
    serving: tuple[int, ...] = (),
    ratings: tuple[int, ...] = (),
) -> None:
    """Make a hall look busy: issue tickets, open windows, call, serve, pause, rate.

    ``serving`` windows take their call and start the case; ``ratings`` are levels
    given to cases finished along the way, so a satisfaction rate appears.
    """
    from queue_server.client import HallClient

    kiosk = HallClient(url, kiosk_token, name="devtools-kiosk")
    gate = HallClient(url, gateway_token, name="devtools-gateway")
    async with kiosk, gate:
        for i in range(tickets):
            await kiosk.request("ticket.issue", {"service": services[i % len(services)]})
        for n in windows:
            await gate.request("window.open", {"window": n, "clerk": f"clerk-{n}"})
        for level in ratings:
            n = windows[0]
            await gate.request("call.next", {"window": n})
            await gate.request("case.start", {"window": n})
            await gate.request("case.finish", {"window": n})
            await gate.request("rating.submit", {"window": n, "level": level})
        for n in windows:
            if n in paused:
                await gate.request("window.pause", {"window": n, "reason": "午休"})
                continue
            with contextlib.suppress(Exception):  # a window whose queues are empty
                await gate.request("call.next", {"window": n})
                if n in serving:
                    await gate.request("case.start", {"window": n})


@contextlib.asynccontextmanager
async def busy_demo_hall() -> AsyncIterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``hall.info`` and a snapshot of the demo hall made busy, what the displays'
    layout check feeds its screens: windows open in three areas (called, serving, paused,
    idle), tickets in every queue, ratings given."""
    from queue_server.client import HallClient

    async with demo_server() as hall:
        config = hall.config
        services = [hall.service_of(q.prefix) for q in config.queues]
        windows = [
            w.number
            for w in config.windows
            if w.area in ("social", "public-security", "real-estate")
        ]
        await populate(
            hall.url,
            services * 3,
            windows,
            tickets=len(services) * 3,
            paused=(windows[3],),
            serving=tuple(windows[4:9]),
            ratings=(5, 4),
        )
        async with HallClient(hall.url, DEMO_TOKENS["gateway"], name="layoutcheck") as g:
            # an open window whose queue is empty: "idle"
            await g.request("window.open", {"window": 1, "clerk": "c001"})
            info = await g.request("hall.info")
            snap = await g.request("snapshot")
        yield info, snap


class KioskDriver:
    """A running kiosk app driven as a citizen would: real touches through the window's
    touch dispatch, and waits on the app's own redraw counter rather than on the clock.
    The kiosk tests' ``Kiosk`` (tests/kiosk/harness.py) is this with more look-ups."""

    def __init__(self, app: Any) -> None:  # noqa: ANN401 - kiosk.app.KioskApp
        self.app = app

    async def settle(self) -> None:
        """Let the pending redraw happen (one or two frames)."""
        start = self.app.synced
        self.app._sync_trigger()
        await until(lambda: self.app.synced > start, 5, "a redraw")
        await asyncio.sleep(0.03)

    async def tap(self, widget: Any) -> None:  # noqa: ANN401 - a Kivy widget
        """A real touch at the widget's centre, through the window's touch dispatch."""
        from kivy.tests.common import UnitTestTouch

        assert widget.get_root_window() is not None, f"{widget} is not on screen"
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        await asyncio.sleep(0.02)
        touch.touch_up()
        await asyncio.sleep(0.05)  # on_release fires on a later clock tick


class DemoKiosk(KioskDriver):
    def __init__(self, app: Any, hall: DemoServer, emulator: Any) -> None:  # noqa: ANN401
        super().__init__(app)
        self.hall = hall
        self.server = hall.server
        self.emulator = emulator


@contextlib.asynccontextmanager
async def running_kiosk(
    server: str,
    workdir: Path,
    *,
    printer: bool = False,
    online_timeout: float = 15.0,
    **settings: Any,
) -> AsyncIterator[tuple[Any, Any]]:
    """The real kiosk app (``KioskApp``, recorded speech) against ``server``, online and
    with its window built; with ``printer``, printing to the TCP printer emulator from
    ``hardware/`` (its pages under ``workdir/printed``). Yields (app, emulator or None);
    stops both afterwards, so the shared Kivy window is left for the next app."""
    from hardware.emulators.printer import PrinterEmulator
    from kiosk.app import KioskApp
    from kiosk.printing import PrinterService
    from kiosk.settings import KioskSettings
    from kiosk.speech import RecordingSpeaker

    emulator = None
    service = PrinterService("none")
    if printer:
        emulator = PrinterEmulator(workdir / "printed")
        port = emulator.serve_tcp()
        service = PrinterService(f"tcp://127.0.0.1:{port}", status_timeout=0.3, confirm_margin=1.0)
    app = KioskApp(
        KioskSettings(server=server, **settings), printer=service, speaker=RecordingSpeaker()
    )
    task = asyncio.create_task(app.run_with_client())
    try:
        await until(
            lambda: app.root is not None and app.model.online, online_timeout, "kiosk online"
        )
        yield app, emulator
    finally:
        app.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        if emulator is not None:
            emulator.stop()


@contextlib.asynccontextmanager
async def demo_kiosk(
    workdir: Path, *, printer: bool = False, **settings: Any
) -> AsyncIterator[DemoKiosk]:
    """The real kiosk app against the demo hall, online and drawn (see
    :func:`running_kiosk`); ``settings`` override the kiosk's."""
    async with demo_server(workdir) as hall:
        device = next(d for d in hall.config.devices if d.role == "kiosk")
        opts: dict[str, Any] = dict(
            token=device.token, name=device.name, windowed=True, staff_id="c001", idle_seconds=600
        )
        opts.update(settings)
        async with running_kiosk(hall.url, workdir, printer=printer, **opts) as (app, emu):
            kiosk = DemoKiosk(app, hall, emu)
            await kiosk.settle()
            yield kiosk
