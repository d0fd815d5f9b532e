"""A bad rating from the evaluator at the window, through to its closed ledger record.

Real parts end to end: the evaluator emulator on a pty, the gateway, the queue server on
loopback, the department head's e-mail at a local SMTP server (aiosmtpd), the head's
steps over a real WebSocket, and /supervisor in headless Chromium (Playwright's async
API, on this test's own event loop) following every step live.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from queue_server.client import HallClient
from queue_server.core.hall import AlertRule, NotifySettings
from tests.hardware.test_gateway import Rig, until
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_device_rating_is_alerted_verified_rectified_called_back_and_closed(
    config, sqlite_url, tmp_path
):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is needed: apt-get install -y chromium fonts-wqy-microhei")
    from playwright.async_api import async_playwright, expect

    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    notify = NotifySettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        alerts=(AlertRule("rating.dissatisfied", ("head",)),),
    )
    cfg = dataclasses.replace(config, notify=notify)

    async def main() -> None:
        async with Rig(cfg, sqlite_url, tmp_path) as r, async_playwright() as pw:
            await r.issue(1)
            pad = r.pad1
            assert await r.press(pad, pad.function, "001")  # clerk c001 signs in
            assert await r.press(pad, pad.call_next)
            assert await r.press(pad, pad.request_rating)  # finishes the case, prompts
            await until(lambda: r.eval1.prompts == ["001"], what="evaluator prompted")
            r.eval1.press(0)  # the worst key: very dissatisfied
            await until(lambda: r.watch.of("ledger.opened"), what="a ledger record opened")
            (opened,) = r.watch.of("ledger.opened")
            assert opened["department"] == "civil" and opened["level"] == 1
            (rating,) = r.watch.of("rating.recorded")
            assert rating["source"] == "device"
            await until(lambda: mailbox.messages, timeout=15, what="the head's e-mail")
            (mail,) = mailbox.messages
            assert mail.rcpt_tos == ["head@civil.example"]
            assert b"very dissatisfied" in mail.content

            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page(locale="en-US", viewport={"width": 390, "height": 844})
            page.set_default_timeout(8000)
            await page.goto(f"http://127.0.0.1:{r.port}/supervisor#token=supervisor-secret")
            item = page.locator("#ledger li")
            await expect(item).to_have_count(1)
            await expect(item).to_contain_text("to verify")
            head = HallClient(
                f"ws://127.0.0.1:{r.port}/",
                None,
                staff={"clerk": "h-civil", "pin": "1234", "role": "head"},
                name="head",
            )
            await head.start()
            await head.wait_online(5)
            rid = opened["id"]
            await head.request(
                "ledger.verify", {"id": rid, "outcome": "valid", "note": "long wait, confirmed"}
            )
            await expect(item).to_contain_text("to contact")
            await head.request("ledger.contact", {"id": rid, "outcome": "reached"})
            await head.request("ledger.fix", {"id": rid, "note": "a second window at noon"})
            await expect(item).to_contain_text("to call back")
            await head.request("ledger.callback", {"id": rid, "outcome": "satisfied", "level": 4})
            await expect(item).to_contain_text("to close")
            await head.request("ledger.close", {"id": rid})
            await expect(page.locator("#ledger li")).to_have_count(0)
            got = await head.request("ledger.get", {"id": rid})
            assert got["state"] == "closed" and got["fix_level"] == 4
            await head.close()
            await browser.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 90))
    finally:
        smtp.stop()
