"""A talk reminder end to end: a window under the threshold for a day, assessed on the
server's clock when the day has ended, appears live on the head's /office page, and the
head signs it off with a note; in real Chromium against a real server."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from queue_server.config import HallConfig
from queue_server.core.hall import AccountabilitySettings
from tests.web.conftest import LiveHall


@pytest.fixture
def daily_hall(config: HallConfig, sqlite_url: str) -> Iterator[LiveHall]:
    settings = AccountabilitySettings(min_ratings=2, periods=("day",))
    live = LiveHall(dataclasses.replace(config, accountability=settings), sqlite_url).start()
    try:
        yield live
    finally:
        live.stop()


def test_the_head_signs_off_a_talk_reminder_raised_at_the_days_end(
    browser: Any, daily_hall: LiveHall
) -> None:
    hall = daily_hall
    kiosk, gw = hall.client("kiosk-1-secret"), hall.client("gateway-secret")
    hall.request(gw, "window.open", {"window": 1, "clerk": "c-1"})
    for level in (1, 4, 2):  # one of three satisfied: 33 %
        hall.issue(kiosk)
        hall.request(gw, "call.next", {"window": 1})
        hall.request(gw, "case.finish", {"window": 1})
        hall.request(gw, "rating.submit", {"window": 1, "level": level})
    ctx = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(10000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{hall.base}/office")
        page.fill("#staff-id", "h-civil")
        page.fill("#staff-pin", "1234")
        page.select_option("#staff-role", "head")
        page.click("#signin-button")
        expect(page.locator("#conn")).to_have_attribute("data-state", "online")
        expect(page.locator("#no-reminders")).to_be_visible()  # the day is not over
        hall.clock.advance(days=1)  # the server's clock: 24 November has ended
        items = page.locator("#reminders li")
        expect(items).to_have_count(2)  # window 1 and clerk c-1, live
        window = items.filter(has_text="2026-11-24 window 1: satisfaction 33.3% (1/3)")
        expect(window).to_contain_text("civil")  # its cases were the civil department's
        window.locator("button").click()  # without a note: refused on the page
        expect(page.locator("#rem-msg")).to_have_text("Write what the talk was about first")
        page.fill("#rem-note", "Talked with c-1: greet, explain the materials list")
        window.locator("button").click()
        expect(page.locator("#rem-msg")).to_have_text("Talk reminder signed off")
        expect(items).to_have_count(1)
    finally:
        ctx.close()
    sup = hall.client("supervisor-secret")
    done = hall.request(sup, "reminder.list", {"state": "done"})["reminders"]
    assert [(r["subject_kind"], r["done_by"]) for r in done] == [("window", "h-civil")]
    assert "note" not in done[0]  # the head's note is the head's record
    assert not errors, errors
