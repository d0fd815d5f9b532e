"""The county leader's page, /county, in real Chromium against two real halls.

Two halls (two SQLite files, as SQLite holds one hall per file) and the county page run
on one event loop in a thread, as ``hallq server --county`` runs them in one process.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from queue_server.client import HallClient
from queue_server.config import load_county
from queue_server.county import CountyView
from queue_server.server import HallServer
from queue_server.store import db
from tests.queue_server.test_county import COUNTY_TOKEN, county_file, hall_file
from tests.web.conftest import LoopThread


class LiveCounty(LoopThread):
    """Two halls and the county page on their own loop in a thread."""

    name = "county"

    def __init__(self, folder: Path) -> None:
        super().__init__()
        halls = [
            hall_file(folder, h, db_url=f"sqlite:///{folder}/{h}.db") for h in ("north", "south")
        ]
        self.county = load_county(county_file(folder, halls))
        self.ports: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
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
        try:
            yield
        finally:
            await view.stop()
            for srv in servers:
                await srv.stop()

    def issue(self, hall: str, n: int) -> None:
        async def go() -> None:
            k = HallClient(f"ws://127.0.0.1:{self.ports[hall]}/", "kiosk-1-secret")
            await k.start()
            await k.wait_online(5)
            for _ in range(n):
                await k.request("ticket.issue", {"service": "general"})
            await k.close()

        self.run(go(), 20)

    def serve(self, hall: str, levels: list[int]) -> None:
        """Window 1 of ``hall`` calls, serves and has rated one ticket per level."""

        async def go() -> None:
            gw = HallClient(f"ws://127.0.0.1:{self.ports[hall]}/", "gateway-secret")
            await gw.start()
            await gw.wait_online(5)
            await gw.request("window.open", {"window": 1, "clerk": "c1"})
            for level in levels:
                for op in ("call.next", "case.start", "case.finish"):
                    await gw.request(op, {"window": 1})
                await gw.request("rating.submit", {"window": 1, "level": level})
            await gw.close()

        self.run(go(), 30)


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


def test_county_report_side_by_side_and_its_downloads(
    county_page: Any, county: LiveCounty, tmp_path: Path
):
    """The period report of both halls and the county on /county, and its CSV and XLSX
    downloads, fetched with the token (never in the address)."""
    import csv
    import io

    from openpyxl import load_workbook

    page = county_page
    county.issue("north", 3)
    county.issue("south", 1)
    county.serve("north", [5, 2])
    county.serve("south", [4])
    page.goto(f"http://127.0.0.1:{county.ports['county']}/county")
    page.fill("#token", COUNTY_TOKEN)
    page.click("#signin-button")
    report = page.locator("#report")
    north = report.locator("tr[data-report='north']")
    total = report.locator("tr[data-report='county']")
    expect(north.locator(".served")).to_have_text("2")
    expect(report.locator("tr[data-report='south'] .served")).to_have_text("1")
    expect(total.locator(".served")).to_have_text("3")
    expect(north.locator(".satisfaction")).to_have_text("50.0%")
    expect(total.locator(".satisfaction")).to_have_text("66.7%")  # 2 of 3, not (50+100)/2
    expect(total.locator(".wait_median_s")).to_have_text("–")
    expect(total.locator(".name")).to_have_text("County (2 halls)")
    # A period the report does not know is refused with its reason, on the page.
    page.fill("#period", "2026-13")
    page.click("#report-show")
    expect(page.locator("#report-msg")).not_to_be_empty()
    page.fill("#period", "2026-11")
    page.click("#report-show")
    expect(page.locator("#report-msg")).to_be_empty()
    with page.expect_download() as got:
        page.click("#report-csv")
    path = tmp_path / got.value.suggested_filename
    got.value.save_as(path)
    assert path.name == "hallq-county-report-2026-11.csv"
    table = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
    served = table[1].index("办结件数")
    assert [(r[0], r[served]) for r in table[2:5]] == [
        ("north", "2"),
        ("south", "1"),
        ("全县合计", "3"),
    ]
    with page.expect_download() as got:
        page.click("#report-xlsx")
    path = tmp_path / got.value.suggested_filename
    got.value.save_as(path)
    ws = load_workbook(path).active
    assert [ws.cell(r, 1).value for r in (4, 5, 6)] == ["north", "south", "全县合计"]
