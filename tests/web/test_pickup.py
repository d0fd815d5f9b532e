"""Pick-up by ticket (统一出件) on the clerk console, in real Chromium against a real server:
the clerk who calls a pick-up ticket taken with a case number sees the case it came for
and hands it over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from queue_server.config import HallConfig, load_config
from tests.queue_server.test_casefile_pickup import pickup_hall
from tests.web.conftest import LiveHall
from tests.web.test_office import _load_calendar


@pytest.fixture
def config(tmp_path: Path) -> HallConfig:
    """The test hall with a pick-up service (queue A, windows 1 and 2)."""
    return load_config(pickup_hall(tmp_path))


def test_the_clerk_who_calls_a_pick_up_ticket_sees_its_case_and_hands_it_over(
    page: Any, hall: LiveHall
) -> None:
    _load_calendar(hall)
    kiosk = hall.client("kiosk-1-secret")
    gw = hall.client("gateway-secret")
    opened = hall.issue(kiosk, "marriage")
    hall.request(gw, "window.open", {"window": 2})
    hall.request(gw, "call.next", {"window": 2})
    number = hall.request(gw, "case.finish", {"window": 2})["casefile"]["number"]
    officer = hall.client(None, staff={"clerk": "o-civil", "pin": "1234"})
    head = hall.client(None, staff={"clerk": "h-civil", "pin": "1234"})
    hall.request(officer, "casefile.review", {"number": number})
    hall.request(head, "casefile.decide", {"number": number})
    hall.request(officer, "casefile.ready", {"number": number})
    pickup = hall.issue(kiosk, "pickup", casefile=number, check=opened["check"])
    assert pickup["pickup"] == [number]

    page.goto(f"{hall.base}/clerk")
    page.fill("#clerk-id", "c001")
    page.fill("#clerk-pin", "1234")
    page.fill("#clerk-window", "1")
    page.click("#signin-button")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(page.locator("#pickup-brought")).to_be_hidden()
    page.click("#act-next")  # call next: the pick-up ticket
    expect(page.locator("#current-label")).to_have_text(pickup["label"])
    expect(page.locator("#pickup-brought-title")).to_have_text(
        f"Ticket {pickup['label']} came for:"
    )
    item = page.locator(f"#pickup-brought-list li[data-number='{number}']")
    expect(item).to_contain_text(f"{number} · Marriage registration · Ready")
    item.locator("button").click()
    expect(item).to_have_attribute("data-state", "delivered")
    expect(page.locator("#msg")).to_have_text(f"{number} handed over")
    expect(item.locator("button")).to_have_count(0)
