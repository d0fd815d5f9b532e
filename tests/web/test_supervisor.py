"""The supervisor's live view, /supervisor, in real Chromium against a real server."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from queue_server.config import HallConfig
from tests.web.conftest import LiveHall


def test_live_queues_and_windows(page: Any, hall: LiveHall) -> None:
    kiosk = hall.client("kiosk-1-secret")
    clerk = hall.client("clerk-1-secret")
    hall.issue(kiosk)
    page.goto(f"{hall.base}/supervisor")
    page.fill("#token", "supervisor-secret")
    page.click("#signin-button")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    waiting_a = page.locator("tr[data-queue='A'] td[data-col='waiting']")
    expect(waiting_a).to_have_text("1")
    expect(page.locator(".win")).to_have_count(3)
    expect(page.locator(".win[data-window='1']")).to_have_attribute("data-status", "closed")
    # Live, without a reload: a new ticket, a window opening and calling.
    hall.issue(kiosk)
    expect(waiting_a).to_have_text("2")
    hall.request(clerk, "window.open")
    hall.request(clerk, "call.next")
    win1 = page.locator(".win[data-window='1']")
    expect(win1).to_have_attribute("data-status", "open")
    expect(win1).to_have_attribute("data-busy", "called")
    expect(win1).to_contain_text("Called A001")
    expect(win1).to_contain_text("clerk-1")
    expect(waiting_a).to_have_text("1")
    expect(page.locator("#summary")).to_contain_text("1 waiting · 1 open · 0 paused · 2 closed")
    # Red light: the case runs past the service's 10 minute limit.
    hall.clock.advance(minutes=11)
    expect(win1).to_have_attribute("data-overdue", "1")
    expect(page.locator("#alerts li[data-kind='case.overdue']")).to_contain_text(
        "Window 1: case past its 10 min limit"
    )
    hall.request(clerk, "case.finish")
    expect(win1).not_to_have_attribute("data-busy", "called")
    expect(win1).to_contain_text("Idle")
    hall.request(clerk, "window.pause", {"reason": "lunch"})
    expect(win1).to_have_attribute("data-status", "paused")
    expect(win1).to_contain_text("Paused · lunch")
    # Filter by area: window 3 is the party area's.
    page.select_option("#area", "party")
    expect(page.locator(".win")).to_have_count(1)
    expect(page.locator(".win[data-window='3']")).to_be_visible()


def test_wrong_token_is_refused_and_chinese_labels(page: Any, hall: LiveHall) -> None:
    page.goto(f"{hall.base}/supervisor")
    page.fill("#token", "clerk-9-secret")
    page.click("#signin-button")
    expect(page.locator("#signin-msg")).to_have_text("Wrong clerk id or PIN")
    expect(page.locator("#panels")).to_be_hidden()
    page.goto(f"{hall.base}/supervisor?lang=zh#token=supervisor-secret")
    expect(page.locator("#panel-queues h2")).to_have_text("队列")
    expect(page.locator(".win[data-window='1']")).to_contain_text("关闭")
    assert "token" not in page.url  # the token left the address bar


def test_the_ledger_follows_a_bad_rating_to_its_close(page: Any, hall: LiveHall) -> None:
    """A device rating opens a record; the department works it over WebSockets and the
    supervisor reviews an appeal in the page; the page follows every step live, on a
    phone-sized screen."""
    page.set_viewport_size({"width": 390, "height": 844})
    kiosk = hall.client("kiosk-1-secret")
    gateway = hall.client("gateway-secret")
    head = hall.client(None, staff={"clerk": "h-civil", "pin": "1234", "role": "head"})
    page.goto(f"{hall.base}/supervisor")
    page.fill("#token", "supervisor-secret")
    page.click("#signin-button")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(page.locator("#panel-ledger")).to_contain_text("No bad rating")
    hall.issue(kiosk)
    hall.request(gateway, "window.open", {"window": 1})
    hall.request(gateway, "call.next", {"window": 1})
    hall.request(gateway, "case.finish", {"window": 1})
    hall.request(gateway, "rating.submit", {"window": 1, "level": 1})
    item = page.locator("#ledger li")
    expect(item).to_have_count(1)  # live: no reload
    expect(item).to_contain_text("Very dissatisfied")
    expect(item).to_contain_text("to verify")
    expect(item.locator("button")).to_have_count(0)  # verification is the department's
    rid = int(item.get_attribute("data-id"))
    hall.request(
        head, "ledger.verify", {"id": rid, "outcome": "malicious", "note": "abusive on video"}
    )
    expect(item).to_contain_text("appeal to review")
    item.locator("button[data-op='decide']").click()
    page.select_option("#step-outcome", "overturn")
    page.fill("#step-note", "the video shows a long wait too")
    page.click("#step-save")
    expect(item).to_contain_text("to contact")
    hall.request(head, "ledger.contact", {"id": rid, "outcome": "reached"})
    hall.request(head, "ledger.fix", {"id": rid, "note": "second window opened at noon"})
    hall.request(head, "ledger.callback", {"id": rid, "outcome": "satisfied", "level": 5})
    expect(item).to_contain_text("to close")
    hall.request(head, "ledger.close", {"id": rid})
    expect(page.locator("#ledger li")).to_have_count(0)
    expect(page.locator("#panel-ledger")).to_contain_text("No bad rating")
    got = hall.request(head, "ledger.get", {"id": rid})
    assert [s["op"] for s in got["steps"]] == [
        "open",
        "verify",
        "decide",
        "contact",
        "fix",
        "callback",
        "close",
    ]
    assert got["steps"][2]["by"] == "supervisor"


def test_alerts_sent_show_with_their_delivery_state(
    config: HallConfig, sqlite_url: str, browser: Any
) -> None:
    """A dissatisfied rating alerts the duty supervisor's webhook; the page says it was
    delivered (and, while the receiver refuses, that it failed and why)."""
    import dataclasses

    from queue_server.core.hall import AlertRule, NotifySettings, Recipient
    from tests.queue_server.test_alerts import Receiver

    hook = Receiver()
    hook.status = 400
    notify = NotifySettings(
        webhook_url=f"http://127.0.0.1:{hook.port}/hook",
        recipients=(Recipient("duty", webhook=True),),
        alerts=(AlertRule("rating.dissatisfied", ("duty",)),),
    )
    hall = LiveHall(dataclasses.replace(config, notify=notify), sqlite_url).start()
    ctx = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 800})
    page = ctx.new_page()
    page.set_default_timeout(8000)
    try:
        page.goto(f"{hall.base}/supervisor")
        page.fill("#token", "supervisor-secret")
        page.click("#signin-button")
        expect(page.locator("#panel-deliveries")).to_contain_text("No alert sent yet")
        kiosk, gw = hall.client("kiosk-1-secret"), hall.client("gateway-secret")
        hall.request(gw, "window.open", {"window": 1, "clerk": "c-1"})
        for level, status in ((1, 400), (2, 200)):
            hook.status = status
            hall.issue(kiosk)
            hall.request(gw, "call.next", {"window": 1})
            hall.request(gw, "case.finish", {"window": 1})
            hall.request(gw, "rating.submit", {"window": 1, "level": level})
            if level == 1:  # refused by the receiver: shown with the reason
                dead = page.locator("#deliveries li[data-state='dead']")
                expect(dead).to_contain_text("failed for good (HTTP 400")
        expect(page.locator("#deliveries li[data-state='sent']")).to_contain_text("delivered")
    finally:
        ctx.close()
        hall.stop()
        hook.close()


def test_todays_estimate_error_per_queue_and_its_csv(page: Any, hall: LiveHall) -> None:
    """Issue 15: every called ticket's promised wait beside the wait it had, per queue."""
    kiosk = hall.client("kiosk-1-secret")
    clerk = hall.client("clerk-1-secret")
    told = [hall.issue(kiosk) for _ in range(2)]
    page.goto(f"{hall.base}/supervisor")
    page.fill("#token", "supervisor-secret")
    page.click("#signin-button")
    expect(page.locator("#panel-estimates")).to_contain_text("Nobody called yet today")
    hall.request(clerk, "window.open")
    hall.request(clerk, "call.next")
    hall.clock.advance(minutes=6)
    hall.request(clerk, "case.finish")
    hall.request(clerk, "call.next")
    row = page.locator("#estimates tr[data-est='A']")
    expect(row.locator("td[data-col='n']")).to_have_text("2")
    waits = [0, 6]
    errors = [abs(t["est_wait_minutes"] - w) for t, w in zip(told, waits, strict=True)]
    mae = round(sum(errors) / 2, 1)
    share = round(mae / 3 * 100)  # of the mean wait, 3 minutes
    expect(row.locator("td[data-col='mae']")).to_have_text(f"{mae:g} min ({share} %)")
    low = sum(1 for t, w in zip(told, waits, strict=True) if t["est_wait_minutes"] < w)
    expect(row.locator("td[data-col='low']")).to_have_text(f"{low * 50} %")
    expect(page.locator("#estimates tr[data-est='all'] td[data-col='n']")).to_have_text("2")
    with page.expect_download() as got:
        page.click("#estimates-csv")
    lines = open(got.value.path(), encoding="utf-8").read().splitlines()
    assert lines[0] == (
        "ticket,queue,issued_at,told_minutes,told_low,told_high,called_at,waited_minutes"
    )
    assert [line.split(",")[0] for line in lines[1:]] == [t["label"] for t in told]
    assert [float(line.split(",")[-1]) for line in lines[1:]] == waits
    assert got.value.suggested_filename.startswith("hallq-estimates-")


def test_a_county_token_reads_every_panel_but_is_offered_no_step(
    browser: Any, hall: LiveHall
) -> None:
    """The county leader's token (read-only, ``permissions.COUNTY_READS``) on the hall's
    /supervisor: every panel it may read, the ledger record awaiting the supervisor's
    decision, and no button to decide it; the supervisor's token on the same record is
    offered the decision. What each token may do comes from the server's one table, in
    its hello reply; a display token, which may read none of the supervisor's figures,
    gets the live queues, windows and alerts only."""
    kiosk = hall.client("kiosk-1-secret")
    gateway = hall.client("gateway-secret")
    head = hall.client(None, staff={"clerk": "h-civil", "pin": "1234", "role": "head"})
    hall.issue(kiosk)
    hall.request(gateway, "window.open", {"window": 1})
    hall.request(gateway, "call.next", {"window": 1})
    hall.request(gateway, "case.finish", {"window": 1})
    hall.request(gateway, "rating.submit", {"window": 1, "level": 1})
    rid = hall.request(head, "ledger.list")["records"][0]["id"]
    hall.request(head, "ledger.verify", {"id": rid, "outcome": "malicious", "note": "video"})

    panels = ["today", "queues", "windows", "alerts", "ledger", "deliveries", "caselights",
              "estimates", "reminders", "reports", "audit"]  # fmt: skip
    for token, decide in (("county-secret", 0), ("supervisor-secret", 1)):
        ctx = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 800})
        page = ctx.new_page()
        page.set_default_timeout(5000)
        try:
            page.goto(f"{hall.base}/supervisor#token={token}")
            expect(page.locator("#conn")).to_have_attribute("data-state", "online")
            item = page.locator(f"#ledger li[data-id='{rid}']")
            expect(item).to_contain_text("appeal to review")
            expect(item.locator("button[data-op='decide']")).to_have_count(decide)
            expect(page.locator("#ledger button")).to_have_count(decide)
            got = page.eval_on_selector_all("#panels > section", "s => s.map((x) => x.id)")
            assert got == [f"panel-{p}" for p in panels], token
        finally:
            ctx.close()

    ctx = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 800})
    page = ctx.new_page()
    page.set_default_timeout(5000)
    try:
        page.goto(f"{hall.base}/supervisor#token=display-1-secret")
        expect(page.locator("#conn")).to_have_attribute("data-state", "online")
        expect(page.locator(".win")).to_have_count(3)
        got = page.eval_on_selector_all("#panels > section", "s => s.map((x) => x.id)")
        assert got == ["panel-queues", "panel-windows", "panel-alerts"]
        expect(page.locator("#panels button")).to_have_count(0)
    finally:
        ctx.close()
