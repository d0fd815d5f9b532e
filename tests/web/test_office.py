"""The back office, /office, in real Chromium against a real server: a department's
promised cases listed by light, with the signed-in role's actions on each."""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import Any

from playwright.sync_api import expect

from queue_server.core.calendar import parse_year
from queue_server.store import db, workdays
from tests.queue_server.test_calendar import DEMO_2026
from tests.web.conftest import LiveHall


def _load_calendar(hall: LiveHall) -> None:
    engine = db.open_engine(hall.url)
    year = parse_year(tomllib.loads(DEMO_2026.read_text(encoding="utf-8")))
    with engine.begin() as conn:
        workdays.load_year(conn, year, "test", dt.datetime.now(dt.UTC))
    engine.dispose()


def _sign_in(page: Any, hall: LiveHall, staff: str, role: str) -> None:
    page.goto(f"{hall.base}/office")
    page.fill("#staff-id", staff)
    page.fill("#staff-pin", "1234")
    page.select_option("#staff-role", role)
    page.click("#signin-button")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")


def _promised_case(hall: LiveHall) -> str:
    kiosk = hall.client("kiosk-1-secret")
    gw = hall.client("gateway-secret")
    hall.issue(kiosk, "marriage")
    hall.request(gw, "window.open", {"window": 2})
    hall.request(gw, "call.next", {"window": 2})
    return hall.request(gw, "case.finish", {"window": 2})["casefile"]["number"]


def test_office_lists_cases_by_light_with_the_roles_actions(
    page: Any, browser: Any, hall: LiveHall
) -> None:
    _load_calendar(hall)
    number = _promised_case(hall)  # Tue 24 Nov 2026, due Fri 27 Nov
    _sign_in(page, hall, "o-civil", "officer")
    row = page.locator(f"#cases tr[data-number='{number}']")
    expect(row).to_have_attribute("data-light", "green")
    expect(row).to_contain_text("2026-11-27")
    expect(page.locator("#list-title")).to_have_text("Civil Affairs Bureau")
    # B reviews; B has no "decide" (A and B roles).
    expect(row.locator("button[data-op='decide']")).to_have_count(0)
    row.locator("button[data-op='review']").click()
    expect(row).to_have_attribute("data-state", "in_review")
    # Suspending needs the missing materials.
    row.locator("button[data-op='suspend']").click()
    expect(page.locator("#msg")).to_have_text("List the missing materials first")
    page.fill("#act-text", "户口簿原件")
    row.locator("button[data-op='suspend']").click()
    expect(row).to_have_attribute("data-state", "suspended")
    row.locator("button[data-op='resume']").click()  # the same day: no days given back
    expect(row).to_have_attribute("data-state", "in_review")
    # The server's clock moves the light; the page follows without a reload.
    hall.clock.advance(days=2)  # Thu 26 Nov: one working day left
    expect(row).to_have_attribute("data-light", "yellow")
    hall.clock.advance(days=2)  # Sat 28 Nov: past due
    expect(row).to_have_attribute("data-light", "red")
    expect(page.locator("#counts")).to_have_text("Red 1 · yellow 0 · green 0")

    # A, in another browser: decides, and grants two working days (due Tue 1 Dec).
    ctx = browser.new_context(locale="en-US")
    approver = ctx.new_page()
    approver.set_default_timeout(5000)
    _sign_in(approver, hall, "a-civil", "approver")
    arow = approver.locator(f"#cases tr[data-number='{number}']")
    expect(arow.locator("button[data-op='review']")).to_have_count(0)
    approver.fill("#act-days", "2")
    approver.fill("#act-text", "需专家论证")
    arow.locator("button[data-op='extend']").click()
    expect(arow).to_contain_text("2026-12-01")
    expect(arow).to_have_attribute("data-light", "green")
    arow.locator("button[data-op='decide']").click()
    expect(arow).to_have_attribute("data-state", "decided")
    arow.locator("button[data-op='ready']").click()
    expect(arow).to_have_attribute("data-state", "ready")
    ctx.close()
    # The officer's page saw every change live.
    expect(row).to_have_attribute("data-state", "ready")
    expect(row.locator("button")).to_have_count(0)  # delivery is the pick-up window's


def test_wrong_pin_and_a_role_the_person_does_not_hold(page: Any, hall: LiveHall) -> None:
    page.goto(f"{hall.base}/office")
    page.fill("#staff-id", "o-civil")
    page.fill("#staff-pin", "9999")
    page.click("#signin-button")
    expect(page.locator("#signin-msg")).to_have_text("Wrong clerk id or PIN")
    expect(page.locator("#office")).to_be_hidden()
    page.fill("#staff-pin", "1234")
    page.select_option("#staff-role", "head")
    page.click("#signin-button")
    expect(page.locator("#signin-msg")).to_have_text("Not allowed")
    expect(page.locator("#office")).to_be_hidden()


def test_the_phone_page_shows_the_case_number_and_due_day(page: Any, hall: LiveHall) -> None:
    _load_calendar(hall)
    kiosk = hall.client("kiosk-1-secret")
    gw = hall.client("gateway-secret")
    mine = hall.issue(kiosk, "marriage", language="en")
    page.goto(f"{hall.base}/t/{mine['token']}")
    expect(page.locator("#casefile")).to_be_hidden()
    hall.request(gw, "window.open", {"window": 2})
    hall.request(gw, "call.next", {"window": 2})
    number = hall.request(gw, "case.finish", {"window": 2})["casefile"]["number"]
    expect(page.locator("#case-number")).to_have_text(number)
    expect(page.locator("#case-due")).to_have_text("2026-11-27")
    expect(page.locator("#casefile")).to_contain_text("pick-up window")


def test_the_pick_up_window_finds_a_case_by_number_and_hands_it_over(
    page: Any, hall: LiveHall
) -> None:
    _load_calendar(hall)
    number = _promised_case(hall)
    page.goto(f"{hall.base}/clerk")
    page.fill("#clerk-id", "c001")
    page.fill("#clerk-pin", "1234")
    page.fill("#clerk-window", "1")
    page.click("#signin-button")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    page.fill("#pickup-number", number)
    page.click("#pickup-find")
    expect(page.locator("#pickup-info")).to_contain_text(
        f"{number} · Marriage registration · Accepted"
    )
    expect(page.locator("#pickup-deliver")).to_be_hidden()  # not ready yet
    page.fill("#pickup-number", "T2026-99999")
    page.click("#pickup-find")
    expect(page.locator("#msg")).to_have_text("No case with this number")
    # The back office makes it ready; the pick-up window hands it over.
    office = hall.client(None, staff={"clerk": "o-civil", "pin": "1234"})
    hall.request(office, "casefile.review", {"number": number})
    boss = hall.client(None, staff={"clerk": "h-civil", "pin": "1234"})
    hall.request(boss, "casefile.decide", {"number": number})
    hall.request(office, "casefile.ready", {"number": number})
    page.fill("#pickup-number", number)
    page.click("#pickup-find")
    expect(page.locator("#pickup-case")).to_have_attribute("data-state", "ready")
    page.click("#pickup-deliver")
    expect(page.locator("#pickup-case")).to_have_attribute("data-state", "delivered")
    expect(page.locator("#msg")).to_have_text(f"{number} handed over")
    expect(page.locator("#pickup-deliver")).to_be_hidden()


def test_office_works_its_ledger_and_sees_the_number_only_when_calling(
    page: Any, hall: LiveHall
) -> None:
    """The department's officer takes a bad rating from verification to the call-back on
    a phone-sized /office; the full number shows only on request, while calling."""
    page.set_viewport_size({"width": 390, "height": 844})
    kiosk = hall.client("kiosk-1-secret")
    gw = hall.client("gateway-secret")
    t = hall.issue(kiosk, "general")
    hall.request(gw, "window.open", {"window": 1})
    hall.request(gw, "call.next", {"window": 1})
    hall.request(gw, "case.finish", {"window": 1})
    citizen = hall.client(None, ticket=t["token"])
    hall.request(
        citizen,
        "rating.submit",
        {"level": 1, "reasons": ["attitude"], "phone": "13812341234", "consent": True},
    )
    _sign_in(page, hall, "o-civil", "officer")
    item = page.locator("#ledger li")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("138****1234")
    expect(item.locator("button[data-op='phone']")).to_have_count(0)  # not before verifying
    expect(item.locator("button[data-op='close']")).to_have_count(0)  # the head's
    item.locator("button[data-op='verify'][data-outcome='valid']").click()
    expect(page.locator("#msg")).to_have_text("Write what was found or done in the note field")
    page.fill("#act-text", "rude answer confirmed on the recording")
    item.locator("button[data-op='verify'][data-outcome='valid']").click()
    expect(item).to_have_attribute("data-state", "verified")
    item.locator("button[data-op='phone']").click()
    expect(item.locator(".phone")).to_have_text(" · 13812341234")
    item.locator("button[data-op='contact'][data-outcome='reached']").click()
    expect(item).to_have_attribute("data-state", "contacted")
    page.fill("#act-text", "clerk coached; apology made")
    item.locator("button[data-op='fix']").click()
    expect(item).to_have_attribute("data-state", "rectified")
    item.locator("button[data-op='callback'][data-outcome='satisfied']").click()
    expect(item).to_have_attribute("data-state", "called_back")
    expect(item.locator("button")).to_have_count(0)  # the head closes it
