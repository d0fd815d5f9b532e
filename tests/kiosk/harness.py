"""A kiosk under test: the real app in the shared window, a real queue server on loopback,
the TCP printer emulator, and touches sent through Kivy's touch path."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from kivy.uix.widget import Widget
from sqlalchemy import func, select

from hardware.emulators.printer import PrinterEmulator
from kiosk.app import KioskApp
from queue_server.config import HallConfig
from queue_server.server import HallServer
from queue_server.store import db
from queue_server.store import schema as s
from scripts.demo_hall import KioskDriver, running_kiosk, until
from tests.queue_server.harness import Clock

KIOSK_TOKEN = "kiosk-1-secret"


def run(coro: Any, timeout: float = 60) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


__all__ = ["CablePuller", "Hall", "Kiosk", "kiosk", "run", "until"]


class Hall:
    """A queue server that can be stopped and started again on the same port and file."""

    def __init__(self, config: HallConfig, url: str, clock: Clock) -> None:
        self.config, self.url, self.clock = config, url, clock
        self.server: HallServer | None = None
        self.port = 0
        engine = db.open_engine(url)
        db.upgrade(engine)
        engine.dispose()

    async def start(self) -> None:
        self.server = HallServer(self.config, self.url, clock=self.clock)
        await self.server.start("127.0.0.1", self.port)
        self.port = self.server.port

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    def tickets(self) -> list[str]:
        """Labels of every ticket in the database, read straight from the file."""
        engine = db.open_engine(self.url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(s.tickets.c.prefix, s.tickets.c.number)).all()
        finally:
            engine.dispose()
        return [f"{p}{n:03d}" for p, n in rows]

    def device_state(self, part: str = "printer") -> str | None:
        engine = db.open_engine(self.url)
        try:
            with engine.connect() as conn:
                return conn.execute(
                    select(s.device_states.c.state).where(s.device_states.c.part == part)
                ).scalar_one_or_none()
        finally:
            engine.dispose()

    def count(self) -> int:
        engine = db.open_engine(self.url)
        try:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(s.tickets)).scalar_one()
        finally:
            engine.dispose()


class Kiosk(KioskDriver):
    """The demo scripts' kiosk driver (its touches and redraw waits) with the tests'
    look-ups of screens, buttons and texts."""

    def __init__(self, app: KioskApp, hall: Hall, printer: PrinterEmulator | None) -> None:
        super().__init__(app)
        self.model = app.model
        self.hall = hall
        self.printer = printer

    @property
    def root(self) -> Widget:
        return self.app.root

    def screen(self) -> Any:
        return self.root.ids.sm.current_screen

    def ids(self) -> Any:
        return self.screen().ids

    def find(self, text: str, root: Widget | None = None) -> Widget:
        """The on-screen button whose text is ``text``."""
        for w in (root or self.root).walk():
            if getattr(w, "text", None) == text and hasattr(w, "trigger_action"):
                return w
        raise AssertionError(f"no button {text!r} on screen {self.model.screen}")

    def texts(self) -> list[str]:
        return [w.text for w in self.root.walk() if isinstance(getattr(w, "text", None), str)]

    async def tap_text(self, text: str) -> None:
        await self.settle()
        await self.tap(self.find(text))
        await self.settle()

    async def tap_key(self, pad: Widget, key: str) -> None:
        for w in pad.children:
            if getattr(w, "key", None) == key:
                await self.tap(w)
                await self.settle()
                return
        raise AssertionError(f"no key {key!r}")

    async def wait_screen(self, name: str, timeout: float = 5.0) -> None:
        await until(lambda: self.model.screen == name, timeout, f"screen {name}")
        await until(lambda: self.root.ids.sm.current == name, timeout, f"drawn {name}")
        await self.settle()


@contextlib.asynccontextmanager
async def kiosk(
    config: HallConfig,
    db_url: str,
    tmp_path: Path,
    *,
    printer: bool = True,
    clock: Clock | None = None,
    hall: Hall | None = None,
    server_url: Callable[[int], str] | None = None,
    **settings: Any,
) -> AsyncIterator[Kiosk]:
    """A running hall, printer emulator and kiosk app; everything stopped afterwards so the
    shared Window is left clean for the next test."""
    hall = hall or Hall(config, db_url, clock or Clock())
    if hall.server is None:
        await hall.start()
    url = server_url(hall.port) if server_url else f"ws://127.0.0.1:{hall.port}/"
    opts: dict[str, Any] = dict(
        token=KIOSK_TOKEN, name="kiosk-1", windowed=True, staff_id="c001", request_timeout=20.0
    )
    opts.update(settings)
    try:
        async with running_kiosk(url, tmp_path, printer=printer, online_timeout=10, **opts) as (
            app,
            emulator,
        ):
            k = Kiosk(app, hall, emulator)
            await k.settle()
            yield k
    finally:
        await hall.stop()


class CablePuller:
    """A TCP proxy between kiosk and server that a test can cut, or make deaf (requests go
    through, replies are dropped), to put a request in flight across a disconnect."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.up = True
        self.deaf = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._conn, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_w}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, down: bool) -> None:
            try:
                while data := await src.read(65536):
                    if down and self.deaf:
                        continue
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_w, False), pipe(up_r, writer, True))

    def cut(self) -> None:
        """Pull the cable: every connection drops and new ones are refused."""
        self.up = False
        self.deaf = False
        for w in self._writers:
            w.transport.abort()
        self._writers.clear()

    def plug(self) -> None:
        self.up = True

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
