"""The promised cases' lights on /supervisor (issue 10), in real Chromium against a real
server whose clock is advanced by days: counts per department and light, and the red
cases with the working days they are over, kept live by the sweep's events."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import LiveHall
from tests.web.test_office import _load_calendar


def test_the_lights_panel_counts_per_department_and_lists_the_red_cases(
    page: Any, hall: LiveHall
) -> None:
    _load_calendar(hall)
    kiosk = hall.client("kiosk-1-secret")
    gw = hall.client("gateway-secret")
    hall.issue(kiosk, "marriage")  # civil, 3 working days: due Fri 27 Nov
    hall.issue(kiosk, "party-archive")  # party, 2 working days: due Thu 26 Nov
    hall.request(gw, "window.open", {"window": 2})
    hall.request(gw, "call.next", {"window": 2})
    civil = hall.request(gw, "case.finish", {"window": 2})["casefile"]["number"]
    page.goto(f"{hall.base}/supervisor")
    page.fill("#token", "supervisor-secret")
    page.click("#signin-button")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    civil_row = page.locator("#case-lights tr[data-department='civil']")
    party_row = page.locator("#case-lights tr[data-department='party']")
    expect(civil_row.locator("td[data-light='green']")).to_have_text("1")
    expect(party_row).to_contain_text("Organisation Department")
    expect(page.locator("#red-cases-none")).to_have_text("No case is over its due day")

    # Live: a case opened at window 3 while the page is open.
    hall.request(gw, "window.open", {"window": 3})
    hall.request(gw, "call.next", {"window": 3})
    party = hall.request(gw, "case.finish", {"window": 3})["casefile"]["number"]
    expect(party_row.locator("td[data-light='green']")).to_have_text("1")

    # Thu 26 Nov: the party case's due day, the civil one's day before -> both yellow.
    hall.clock.advance(days=2)
    expect(civil_row.locator("td[data-light='yellow']")).to_have_text("1")
    expect(party_row.locator("td[data-light='yellow']")).to_have_text("1")
    expect(civil_row.locator("td[data-light='green']")).to_have_text("0")

    # Tue 1 Dec: civil is 2 working days over (Mon 30, Tue 1), party 3 (27, 30, 1).
    hall.clock.advance(days=5)
    expect(civil_row.locator("td[data-light='red']")).to_have_text("1")
    expect(party_row.locator("td[data-light='red']")).to_have_text("1")
    red = page.locator("#red-cases li")
    expect(red).to_have_count(2)
    expect(page.locator(f"#red-cases li[data-number='{party}']")).to_have_text(
        f"{party} · Party member file request · Organisation Department · 3 working day(s) over"
    )
    expect(page.locator(f"#red-cases li[data-number='{civil}']")).to_have_text(
        f"{civil} · Marriage registration · Civil Affairs Bureau · 2 working day(s) over"
    )
    # A red case made ready leaves the panel at once (the clock stopped).
    officer = hall.client(None, staff={"clerk": "o-civil", "pin": "1234"})
    head = hall.client(None, staff={"clerk": "h-civil", "pin": "1234"})
    hall.request(officer, "casefile.review", {"number": civil})
    hall.request(head, "casefile.decide", {"number": civil})
    hall.request(officer, "casefile.ready", {"number": civil})
    expect(red).to_have_count(1)
    expect(civil_row.locator("td[data-light='red']")).to_have_text("0")
