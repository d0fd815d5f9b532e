"""Developer tools: a kiosk against a throwaway demo hall, for the accessibility check,
the screenshots and the latency benchmark.

Starts a real queue server (the demo hall, a temporary SQLite file, opening hours ignored)
and, when asked, the TCP printer emulator from ``hardware/``. Needs the server's database
packages, so the kiosk itself never imports this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from kivy.tests.common import UnitTestTouch
from kivy.uix.widget import Widget

from kiosk.app import KioskApp
from kiosk.printing import PrinterService
from kiosk.settings import KioskSettings
from kiosk.speech import RecordingSpeaker

DEMO_HALL = Path(__file__).resolve().parents[1] / "queue_server" / "demo" / "hall.toml"


async def until(pred: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {pred}")
        await asyncio.sleep(0.01)
    return value


class DemoKiosk:
    def __init__(self, app: KioskApp, server: Any, emulator: Any) -> None:  # noqa: ANN401
        self.app = app
        self.server = server
        self.emulator = emulator

    async def settle(self) -> None:
        start = self.app.synced
        self.app._sync_trigger()
        await until(lambda: self.app.synced > start, 5)
        await asyncio.sleep(0.05)

    async def tap(self, widget: Widget) -> None:
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        await asyncio.sleep(0.01)
        touch.touch_up()
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def demo_kiosk(
    workdir: Path, *, printer: bool = False, **settings: Any
) -> AsyncIterator[DemoKiosk]:
    from hardware.emulators.printer import PrinterEmulator
    from queue_server.config import load_config
    from queue_server.server import HallServer
    from queue_server.store import db

    config = load_config(DEMO_HALL)
    url = f"sqlite:///{workdir / 'kiosk-demo.db'}"
    engine = db.open_engine(url)
    db.upgrade(engine)
    engine.dispose()
    server = HallServer(config, url, ignore_hours=True)
    await server.start("127.0.0.1", 0)
    emulator = None
    service = PrinterService("none")
    if printer:
        emulator = PrinterEmulator(workdir / "printed")
        port = emulator.serve_tcp()
        service = PrinterService(f"tcp://127.0.0.1:{port}", status_timeout=0.3, confirm_margin=1.0)
    token = next(d.token for d in config.devices if d.role == "kiosk")
    name = next(d.name for d in config.devices if d.role == "kiosk")
    opts: dict[str, Any] = dict(server=f"ws://127.0.0.1:{server.port}/", token=token,
                                name=name, windowed=True, staff_id="c001",
                                idle_seconds=600)
    opts.update(settings)
    app = KioskApp(KioskSettings(**opts), printer=service, speaker=RecordingSpeaker())
    task = asyncio.create_task(app.run_with_client())
    try:
        await until(lambda: app.root is not None and app.model.online, 15)
        kiosk = DemoKiosk(app, server, emulator)
        await kiosk.settle()
        yield kiosk
    finally:
        app.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        if emulator is not None:
            emulator.stop()
        await server.stop()
