"""The clerk console in real Chromium against a real server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import LiveHall
from tests.web.conftest import Recorder as _Recorder

# On a loaded 2-core machine Chromium, the server and the test share the cores: a wait is
# a guard against a hang, long enough never to decide an outcome. What the console
# decides by time (the cancel confirmation) runs on the page's clock, fixed by the test.
GUARD_MS = 20_000


class Recorder(_Recorder):
    def wait_for(
        self, kind: str, match: Callable[[dict[str, Any]], bool], timeout: float = GUARD_MS / 1000
    ) -> dict[str, Any]:
        return super().wait_for(kind, match, timeout)


@pytest.fixture(autouse=True)
def patient(page: Any) -> Iterator[None]:
    page.set_default_timeout(GUARD_MS)
    expect.set_options(timeout=GUARD_MS)
    yield
    expect.set_options(timeout=5_000)  # Playwright's default, for the other modules


T0 = 1_796_000_000.0  # seconds (Playwright's unit): a fixed "now" for the page's Date


def sign_in(
    page: Any, hall: LiveHall, clerk: str = "c001", pin: str = "1234", window: int = 1
) -> None:
    page.goto(f"{hall.base}/clerk")
    page.fill("#clerk-id", clerk)
    page.fill("#clerk-pin", pin)
    page.fill("#clerk-window", str(window))
    page.click("#signin-button")


def signed_in(page: Any, hall: LiveHall, **kw: Any) -> None:
    sign_in(page, hall, **kw)
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(page.locator("#who")).to_contain_text("Open")


def test_sign_in_call_next_reaches_a_display(page: Any, hall: LiveHall) -> None:
    kiosk = hall.client("kiosk-1-secret")
    seen = Recorder()
    hall.client("display-1-secret", subscribe=True, on_event=seen)
    first = hall.issue(kiosk)  # A001, queue A
    second = hall.issue(kiosk, "marriage")  # B001: window 1 prefers A, so it comes second
    # A002 with priority (confirmed by hall guide c001's PIN): called first
    priority = hall.issue(kiosk, priority="elderly", staff="c001", staff_pin="1234")
    signed_in(page, hall)
    # The waiting list in the order call.next will take them.
    expect(page.locator("#waiting-list li")).to_have_count(3)
    labels = page.locator("#waiting-list li").evaluate_all("els => els.map(e => e.dataset.label)")
    assert labels == [priority["label"], first["label"], second["label"]]
    # Nothing to finish, recall or transfer before a call.
    for action in ("finish", "recall", "start", "noshow", "transfer"):
        expect(page.locator(f"#act-{action}")).to_be_disabled()
    page.click("#act-next")
    expect(page.locator("#current-label")).to_have_text(priority["label"])
    called = seen.wait_for("ticket.called", lambda d: d["label"] == priority["label"])
    assert called["window"] == 1
    # The ticket's details: service, priority, language, materials, promised time.
    current = page.locator("#current")
    expect(current).to_contain_text("General enquiry")
    expect(current).to_contain_text("elderly")
    expect(current).to_contain_text("ID card")
    expect(current).to_contain_text("time limit 10 min")
    expect(page.locator("#act-next")).to_be_disabled()
    expect(page.locator("#act-finish")).to_be_enabled()
    expect(page.locator("#waiting-list li")).to_have_count(2)


def test_finish_shows_the_rating_and_todays_figures(page: Any, hall: LiveHall) -> None:
    kiosk = hall.client("kiosk-1-secret")
    gateway = hall.client("gateway-secret")
    hall.issue(kiosk)
    hall.issue(kiosk)
    signed_in(page, hall)
    page.keyboard.press("n")
    expect(page.locator("#current-status")).to_have_attribute("data-status", "called")
    page.keyboard.press("s")
    expect(page.locator("#current-status")).to_have_attribute("data-status", "serving")
    hall.clock.advance(minutes=4)
    page.keyboard.press("f")
    expect(page.locator("#rating")).to_have_attribute("data-state", "pending")
    hall.request(gateway, "rating.submit", {"window": 1, "level": 4})
    expect(page.locator("#rating")).to_have_attribute("data-state", "rated")
    expect(page.locator("#rating")).to_contain_text("Satisfied (device)")
    expect(page.locator("#today-served b")).to_have_text("1")
    expect(page.locator("#today-avg b")).to_have_text("4:00")
    expect(page.locator("#today-satisfaction b")).to_have_text("100%")
    expect(page.locator("#today-title")).not_to_contain_text("since sign-in")
    # The next case is not rated in time: the console says so.
    page.keyboard.press("n")
    expect(page.locator("#current-status")).to_have_attribute("data-status", "called")
    page.keyboard.press("f")
    expect(page.locator("#rating")).to_have_attribute("data-state", "pending")
    hall.clock.advance(seconds=61)
    expect(page.locator("#rating")).to_have_attribute("data-state", "not_rated")


def test_transfer_to_another_window(page: Any, hall: LiveHall) -> None:
    kiosk = hall.client("kiosk-1-secret")
    seen = Recorder()
    hall.client("display-1-secret", subscribe=True, on_event=seen)
    ticket = hall.issue(kiosk)
    # A transfer to a closed window is refused (the ticket would wait unseen): open it.
    hall.request(hall.client("gateway-secret"), "window.open", {"window": 2, "clerk": "c-2"})
    signed_in(page, hall)
    page.click("#act-next")
    expect(page.locator("#current-label")).to_have_text(ticket["label"])
    page.keyboard.press("t")
    expect(page.locator("#transfer")).to_be_visible()
    page.select_option("#transfer-window", "2")
    page.click("#transfer-to-window")
    moved = seen.wait_for("ticket.transferred", lambda d: d["label"] == ticket["label"])
    assert moved["target_window"] == 2 and moved["status"] == "waiting"
    expect(page.locator("#msg")).to_contain_text(f"{ticket['label']} transferred to window 2")
    expect(page.locator("#current-label")).to_have_count(0)
    # Sent to window 2 only: it left window 1's list.
    expect(page.locator("#waiting-list li")).to_have_count(0)
    expect(page.locator("#act-next")).to_be_enabled()


def test_recall_then_no_show(page: Any, hall: LiveHall) -> None:
    kiosk = hall.client("kiosk-1-secret")
    seen = Recorder()
    hall.client("display-1-secret", subscribe=True, on_event=seen)
    ticket = hall.issue(kiosk)
    signed_in(page, hall)
    page.keyboard.press("n")
    expect(page.locator("#current-label")).to_have_text(ticket["label"])
    page.keyboard.press("r")
    seen.wait_for("ticket.recalled", lambda d: d["label"] == ticket["label"])
    expect(page.locator("#current-status")).to_contain_text("recalled 1×")
    page.keyboard.press("m")
    gone = seen.wait_for("ticket.no_show", lambda d: d["label"] == ticket["label"])
    assert gone["window"] == 1
    expect(page.locator("#current-status")).to_have_attribute("data-status", "no_show")
    expect(page.locator("#today-noshows b")).to_have_text("1")
    expect(page.locator("#act-noshow")).to_be_disabled()
    expect(page.locator("#act-next")).to_be_enabled()
    # A shortcut that makes no sense now is refused with a message, not sent.
    page.keyboard.press("f")
    expect(page.locator("#msg")).to_contain_text("Finish is not possible now")


def test_wrong_pin_and_wrong_window_are_refused(page: Any, hall: LiveHall) -> None:
    sign_in(page, hall, pin="9999")
    expect(page.locator("#signin-msg")).to_have_text("Wrong clerk id or PIN")
    expect(page.locator("#console")).to_be_hidden()
    expect(page.locator("#conn")).to_have_attribute("data-state", "refused")
    # c003 may only work at window 3.
    sign_in(page, hall, clerk="c003", window=1)
    expect(page.locator("#signin-msg")).to_have_text("Not allowed")
    expect(page.locator("#console")).to_be_hidden()
    sign_in(page, hall, clerk="c003", window=3)
    expect(page.locator("#who")).to_contain_text("c003 · window 3")


def test_token_sign_in_pause_and_sign_out(page: Any, hall: LiveHall) -> None:
    supervisor = hall.client("supervisor-secret")
    page.goto(f"{hall.base}/clerk")
    page.click("#mode-token")
    page.fill("#clerk-token", "clerk-1-secret")
    page.click("#signin-button")
    # A terminal's token works as itself (no clerk id can be typed in: the server would
    # record the cases under someone else).
    expect(page.locator("#clerk-token-id")).to_have_count(0)
    expect(page.locator("#who")).to_contain_text("clerk-1 · window 1 · Open")
    page.keyboard.press("p")
    expect(page.locator("#who")).to_contain_text("Paused")
    expect(page.locator("#act-next")).to_be_disabled()
    expect(page.locator("#act-pause")).to_contain_text("Resume")
    # A reload keeps a token sign-in (never a PIN).
    page.reload()
    expect(page.locator("#who")).to_contain_text("window 1 · Paused")
    page.keyboard.press("p")
    expect(page.locator("#who")).to_contain_text("Open")
    page.keyboard.press("l")
    expect(page.locator("#signin")).to_be_visible()
    snap = hall.request(supervisor, "snapshot")
    assert next(w for w in snap["windows"] if w["number"] == 1)["status"] == "closed"


def test_offline_actions_are_refused_and_in_flight_ones_resent(page: Any, hall: LiveHall) -> None:
    kiosk = hall.client("kiosk-1-secret")
    seen = Recorder()
    hall.client("display-1-secret", subscribe=True, on_event=seen)
    first = hall.issue(kiosk)
    hall.issue(kiosk)
    signed_in(page, hall)
    # Drop the connection and keep it down for a few seconds.
    page.evaluate("() => { hallq.conn._delay = 4000; hallq.conn._ws.close(); }")
    expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
    expect(page.locator("#act-next")).to_be_disabled()
    page.keyboard.press("n")
    expect(page.locator("#msg")).to_contain_text("Not connected: the action was not sent")
    # A request already on its way when the connection dropped goes again with its key.
    page.evaluate(
        "() => { window.sent = hallq.conn.request('call.next', {window: 1}, {key: 'k-1'}); }"
    )
    expect(page.locator("#conn")).to_have_attribute("data-state", "online", timeout=10000)
    result = page.evaluate("() => window.sent")
    assert result["ticket"]["label"] == first["label"]
    again = page.evaluate("() => hallq.conn.request('call.next', {window: 1}, {key: 'k-1'})")
    assert again == result  # the same key is answered once
    seen.wait_for("ticket.called", lambda d: d["label"] == first["label"])
    assert sum(1 for k, _ in seen.events if k == "ticket.called") == 1


def test_narrow_window_has_no_horizontal_scroll(browser: Any, hall: LiveHall) -> None:
    ctx = browser.new_context(locale="en-US", viewport={"width": 400, "height": 800})
    page = ctx.new_page()
    try:
        signed_in(page, hall)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 400
        box = page.locator("#act-next").bounding_box()
        assert box is not None and box["height"] >= 48  # a big button, even when narrow
    finally:
        ctx.close()


def test_cancel_takes_two_presses_and_a_no_show_can_rejoin(page: Any, hall: LiveHall) -> None:
    kiosk = hall.client("kiosk-1-secret")
    seen = Recorder()
    hall.client("display-1-secret", subscribe=True, on_event=seen)
    first = hall.issue(kiosk)
    second = hall.issue(kiosk)
    # The page's Date stands still (its timers still run): the second press is within
    # the 4 s confirmation however long the machine takes between the two.
    page.clock.set_fixed_time(T0)
    signed_in(page, hall)
    page.keyboard.press("n")
    expect(page.locator("#current-label")).to_have_text(first["label"])
    page.keyboard.press("x")  # the first press only asks for confirmation
    expect(page.locator("#msg")).to_contain_text("Press Cancel ticket again")
    assert not any(k == "ticket.cancelled" for k, _ in seen.events)
    page.click("#act-cancel")
    gone = seen.wait_for("ticket.cancelled", lambda d: d["label"] == first["label"])
    assert gone["status"] == "cancelled"
    expect(page.locator("#msg")).to_contain_text(f"{first['label']} cancelled")
    # the window is free again: the next one, marked no-show, comes back by its number
    expect(page.locator("#act-next")).to_be_enabled()
    page.keyboard.press("n")
    expect(page.locator("#current-label")).to_have_text(second["label"])
    page.keyboard.press("m")
    seen.wait_for("ticket.no_show", lambda d: d["label"] == second["label"])
    page.fill("#number-input", second["label"].lower())
    page.click("#act-rejoin")
    back = seen.wait_for("ticket.rejoined", lambda d: d["label"] == second["label"])
    assert back["status"] == "waiting"
    expect(page.locator("#msg")).to_contain_text("back in the queue")


def test_a_second_console_takes_a_window_over_only_when_the_clerk_says_so(
    page: Any, browser: Any, hall: LiveHall
) -> None:
    signed_in(page, hall)  # c001 at window 1
    ctx = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 800})
    other = ctx.new_page()
    other.set_default_timeout(5000)
    try:
        answers = iter([False, True])
        other.on("dialog", lambda d: d.accept() if next(answers) else d.dismiss())
        other.goto(f"{hall.base}/clerk")
        other.click("#mode-token")
        other.fill("#clerk-token", "clerk-1-secret")
        other.click("#signin-button")
        # Declined: nothing changes, the first console keeps the window.
        expect(other.locator("#signin-msg")).to_have_text("Someone is signed in at this window")
        expect(page.locator("#conn")).to_have_attribute("data-state", "online")
        other.click("#signin-button")  # this time the clerk says yes
        expect(other.locator("#who")).to_contain_text("clerk-1 · window 1")
        # The first console is told, and signed out.
        expect(page.locator("#signin-msg")).to_have_text(
            "Another console took over this window; you are signed out"
        )
        expect(page.locator("#console")).to_be_hidden()
    finally:
        ctx.close()


def test_the_cancel_confirmation_lapses_after_four_seconds(page: Any, hall: LiveHall) -> None:
    """By the page's clock: a second press 4.1 s later asks again, it does not cancel."""
    kiosk = hall.client("kiosk-1-secret")
    seen = Recorder()
    hall.client("display-1-secret", subscribe=True, on_event=seen)
    first = hall.issue(kiosk)
    page.clock.set_fixed_time(T0)
    signed_in(page, hall)
    page.keyboard.press("n")
    expect(page.locator("#current-label")).to_have_text(first["label"])
    page.keyboard.press("x")
    expect(page.locator("#msg")).to_contain_text("Press Cancel ticket again")
    page.evaluate("() => { document.getElementById('msg').textContent = ''; }")
    page.clock.set_fixed_time(T0 + 4.1)
    page.keyboard.press("x")  # too late: this press only asks again
    expect(page.locator("#msg")).to_contain_text("Press Cancel ticket again")
    page.clock.set_fixed_time(T0 + 7.0)
    page.keyboard.press("x")  # 2.9 s after the last: cancels
    gone = seen.wait_for("ticket.cancelled", lambda d: d["label"] == first["label"])
    assert gone["status"] == "cancelled"
    cancelled = [k for k, _ in seen.events if k == "ticket.cancelled"]
    assert len(cancelled) == 1
