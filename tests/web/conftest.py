"""A real server in a background thread and a real Chromium, for the browser pages.

Playwright's sync API cannot run inside a running asyncio loop, so the hall server (and
the Python clients that play kiosk and display) live on their own loop in a thread; the
test drives Chromium from the main thread. The server's clock is the harness Clock
(fixed at a Tuesday 10:00 in Shanghai), which also keeps phone tokens valid.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, Self

import pytest

from queue_server.client import HallClient
from queue_server.config import HallConfig
from queue_server.server import HallServer
from tests.queue_server.harness import Clock, running_hall

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class LoopThread:
    """Servers on their own event loop in a thread, started, stopped and reached from the
    test thread (Playwright's sync API owns the main thread's loop). A subclass says what
    runs in :meth:`serving`; the same start, stop and error hand-over serve every page's
    tests (the hall's here, the county's in test_county.py)."""

    name = "servers"

    def __init__(self) -> None:
        self.clock = Clock()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)

    def serving(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Start the servers on entry (on the thread's loop), stop them on exit."""
        raise NotImplementedError

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with self.serving():
            self._ready.set()
            await self._stop.wait()

    def start(self, timeout: float = 30) -> Self:
        self._thread.start()
        self._ready.wait(timeout)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 15) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


class LiveHall(LoopThread):
    """The hall server on its own event loop in a thread, with helpers to reach it."""

    name = "hall"

    def __init__(self, config: HallConfig, url: str) -> None:
        super().__init__()
        self.config = config
        self.url = url
        self.port = 0
        self.server: HallServer | None = None
        self._clients: list[HallClient] = []

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        async with running_hall(self.config, self.url, self.clock, sweep_interval=0.2) as hall:
            self.server = hall
            self.port = hall.port
            try:
                yield
            finally:
                for c in self._clients:
                    await c.close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, token: str, **kw: Any) -> HallClient:
        """A Python client (kiosk, display, gateway...) connected on the hall's loop."""

        async def connect() -> HallClient:
            c = HallClient(f"ws://127.0.0.1:{self.port}/", token, name=token, **kw)
            await c.start()
            await c.wait_online(5)
            return c

        c = self.run(connect())
        self._clients.append(c)
        return c

    def request(self, client: HallClient, op: str, args: dict[str, Any] | None = None) -> Any:
        return self.run(client.request(op, args or {}))

    def issue(self, kiosk: HallClient, service: str = "general", **kw: Any) -> dict[str, Any]:
        return self.request(kiosk, "ticket.issue", dict(service=service, **kw))


class Recorder:
    """Events a display client received, readable from the test thread."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, kind: str, seq: int, data: dict[str, Any]) -> None:
        with self._lock:
            self.events.append((kind, data))

    def wait_for(
        self, kind: str, match: Callable[[dict[str, Any]], bool], timeout: float = 5
    ) -> dict[str, Any]:
        import time

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                for k, d in self.events:
                    if k == kind and match(d):
                        return d
            time.sleep(0.05)
        raise AssertionError(f"no {kind} event matching; got {[k for k, _ in self.events]}")


@pytest.fixture
def hall(
    config: HallConfig, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveHall]:
    live = LiveHall(config, sqlite_url).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module, not per session: Playwright's sync API keeps an
    event loop running in the main thread while it is open, and any later test that
    calls ``asyncio.run`` would fail. Modules of web tests hold only web tests, so in any
    test order no other test runs while it is open."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("Debian chromium is needed: apt-get install -y chromium fonts-wqy-microhei")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, hall: LiveHall) -> Iterator[Any]:
    """A fresh browser context (no storage shared between tests), English by default.

    It depends on ``hall`` so that it closes first: no request is left in flight when
    the server stops.
    """
    ctx = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 800})
    pg = ctx.new_page()
    pg.set_default_timeout(5000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
