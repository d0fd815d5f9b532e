"""Today's figures at the top of /supervisor, on a phone, with charts drawn by the
server; report downloads (the XLSX opened with openpyxl) and the printable report, in
real Chromium against a real server."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.web.conftest import LiveHall


def _serve(hall: LiveHall, levels: list[int]) -> None:
    kiosk, gw = hall.client("kiosk-1-secret"), hall.client("gateway-secret")
    hall.request(gw, "window.open", {"window": 1, "clerk": "c-1"})
    for level in levels:
        hall.issue(kiosk)
        hall.clock.advance(minutes=2)
        hall.request(gw, "call.next", {"window": 1})
        hall.request(gw, "case.finish", {"window": 1})
        hall.request(gw, "rating.submit", {"window": 1, "level": level})
    hall.issue(kiosk)  # one still waiting


def _sign_in(page: Any, hall: LiveHall) -> None:
    page.goto(f"{hall.base}/supervisor")
    page.fill("#token", "supervisor-secret")
    page.click("#signin-button")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")


def test_todays_figures_and_charts_fit_a_phone(browser: Any, hall: LiveHall) -> None:
    _serve(hall, [5, 4, 3, 1])
    ctx = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    page.set_default_timeout(8000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _sign_in(page, hall)
        figs = page.locator("#today-figures")
        expect(figs.locator("#today-issued b")).to_have_text("5")
        expect(figs.locator("#today-waiting b")).to_have_text("1")
        expect(figs.locator("#today-served b")).to_have_text("4")
        # 5 and 4 of 5, 4, 3, 1: satisfied or better is half
        expect(figs.locator("#today-satisfaction b")).to_have_text("50.0%")
        expect(figs.locator("#today-satisfaction")).to_contain_text("4 rated, 0 not rated")
        # the first panel, above the queues: what a supervisor sees first
        first = page.locator("#panels > section").first
        expect(first).to_have_attribute("id", "panel-today")
        for chart in ("#chart-hours", "#chart-windows"):
            expect(page.locator(chart)).to_be_visible()
            assert page.eval_on_selector(chart, "img => img.complete && img.naturalWidth > 0")
        wide = page.eval_on_selector(
            "#panel-today", "p => [p.scrollWidth, p.clientWidth, window.innerWidth]"
        )
        assert wide[0] <= wide[1] and wide[1] <= wide[2], wide  # nothing sticks out
        page.screenshot(path="/tmp/i11b-supervisor-phone.png", full_page=False)
        # Live: a new rating moves the figure without a reload.
        gw = hall.client("gateway-secret")
        hall.request(gw, "call.next", {"window": 1})
        hall.request(gw, "case.finish", {"window": 1})
        hall.request(gw, "rating.submit", {"window": 1, "level": 5})
        expect(figs.locator("#today-satisfaction b")).to_have_text("60.0%", timeout=10000)
    finally:
        ctx.close()
    assert not errors, errors


def test_downloads_and_the_printable_report(page: Any, hall: LiveHall) -> None:
    _serve(hall, [5, 2])
    _sign_in(page, hall)
    page.fill("#report-period", "2026-11")
    with page.expect_download() as got:
        page.click("#report-xlsx")
    path = got.value.path()
    assert got.value.suggested_filename == "hallq-report-2026-11.xlsx"
    with open(path, "rb") as f:
        book = load_workbook(io.BytesIO(f.read()))
    head = {r[0]: r[1] for r in book["概览"].iter_rows(min_row=4, values_only=True)}
    assert head["办结件数"] == 2 and head["满意率"] == 0.5
    with page.expect_download() as got_csv:
        page.click("#report-csv")
    assert got_csv.value.suggested_filename.endswith(".csv")
    # A reversed period: a clear message, nothing downloaded.
    page.fill("#report-period", "2026-11-30..2026-11-01")
    page.click("#report-xlsx")
    expect(page.locator("#report-msg")).to_have_text("That period cannot be read")
    page.fill("#report-period", "2026-11")
    with page.context.expect_page() as popup:
        page.click("#report-print")
    report = popup.value
    expect(report.locator("#rep-period")).to_have_text("Period: 2026-11-01 to 2026-11-30")
    expect(report.locator("#rep-headline [data-key='served'] b")).to_have_text("2")
    expect(report.locator("#rep-window tr[data-key='1']")).to_contain_text("50.0%")
    report.emulate_media(media="print")
    expect(report.locator("header.bar")).to_be_hidden()
    report.close()
    # The audit log: today's, by actor, shown and exported.
    page.fill("#audit-actor", "gateway")
    page.click("#audit-show")
    expect(page.locator("#audit tr[data-op='rating.submit']")).to_have_count(2)
    with page.expect_download() as got_audit:
        page.click("#audit-csv")
    with open(got_audit.value.path(), encoding="utf-8-sig") as f:
        exported = f.read()
    assert exported.count("rating.submit") == 2 and "gateway" in exported
