"""The county leader's page, /county, in real Chromium against two real halls.

Two halls (two SQLite files, as SQLite holds one hall per file) and the county page run
on one event loop in a thread, as ``hallq server --county`` runs them in one process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from queue_server.client import HallClient
from queue_server.config import load_county
from queue_server.county import CountyView
from queue_server.server import HallServer
from queue_server.store import db
from tests.queue_server.harness import Clock
from tests.queue_server.test_county import COUNTY_TOKEN, county_file, hall_file


class LiveCounty:
    """Two halls and the county page on their own loop in a thread."""

    def __init__(self, folder: Path) -> None:
        halls = [
            hall_file(folder, h, db_url=f"sqlite:///{folder}/{h}.db") for h in ("north", "south")
        ]
        self.county = load_county(county_file(folder, halls))
        self.clock = Clock()
        self.loop = asyncio.new_event_loop()
        self.ports: dict[str, int] = {}
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="county", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        servers = []
        for h in self.county.halls:
            engine = db.open_engine(self.county.dbs[h.hall_id], hall=h.hall_id)
            db.upgrade(engine)
            engine.dispose()
            srv = HallServer(h, self.county.dbs[h.hall_id], clock=self.clock)
            await srv.start("127.0.0.1", 0)
            self.ports[h.hall_id] = srv.port
            servers.append(srv)
        view = CountyView(self.county, self.clock, ports=self.ports)
        await view.start("127.0.0.1", 0)
        self.ports["county"] = view.port
        self._ready.set()
        await self._stop.wait()
        await view.stop()
        for srv in servers:
            await srv.stop()

    def start(self) -> LiveCounty:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)

    def issue(self, hall: str, n: int) -> None:
        async def go() -> None:
            k = HallClient(f"ws://127.0.0.1:{self.ports[hall]}/", "kiosk-1-secret")
            await k.start()
            await k.wait_online(5)
            for _ in range(n):
                await k.request("ticket.issue", {"service": "general"})
            await k.close()

        asyncio.run_coroutine_threadsafe(go(), self.loop).result(20)


@pytest.fixture
def county(tmp_path: Path) -> Iterator[LiveCounty]:
    live = LiveCounty(tmp_path).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def county_page(browser: Any, county: LiveCounty) -> Iterator[Any]:
    ctx = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 800})
    pg = ctx.new_page()
    pg.set_default_timeout(12000)  # the page refreshes its figures every 5 s
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.add_init_script("localStorage.setItem('hallq.lang', 'en')")
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_county_page_shows_every_hall_and_drills_down(county_page: Any, county: LiveCounty):
    page = county_page
    county.issue("north", 2)
    page.goto(f"http://127.0.0.1:{county.ports['county']}/county")
    page.fill("#token", "wrong-token")
    page.click("#signin-button")
    expect(page.locator("#signin-msg")).to_have_text("token refused")
    expect(page.locator("#halls-card")).to_be_hidden()
    page.fill("#token", COUNTY_TOKEN)
    page.click("#signin-button")
    expect(page.locator("#county")).to_have_text("Test County")
    north, south = page.locator("tr[data-hall='north']"), page.locator("tr[data-hall='south']")
    expect(north.locator(".waiting")).to_have_text("2")
    expect(south.locator(".waiting")).to_have_text("0")
    expect(north.locator(".windows")).to_have_text("0/3")
    expect(north.locator(".satisfaction")).to_have_text("–")
    # Live: south's line grows, and the page shows it at its next refresh.
    county.issue("south", 3)
    expect(south.locator(".waiting")).to_have_text("3")
    expect(north.locator(".waiting")).to_have_text("2")
    # Drill down: the hall's own supervisor view, signed in with the county token.
    link = north.locator("a.drill")
    expect(link).to_have_attribute(
        "href", f"http://127.0.0.1:{county.ports['north']}/supervisor#token={COUNTY_TOKEN}"
    )
    link.click()
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(page.locator("tr[data-queue='A'] td[data-col='waiting']")).to_have_text("2")
