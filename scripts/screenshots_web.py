"""Screenshots of the browser pages for the docs: docs/screenshots/web-*.png.

Runs the demo hall on a throw-away SQLite file, fills it with a morning's worth of
tickets through the real protocol, and photographs the clerk console, the phone page
and the supervisor view in Chinese and English, at desktop and phone sizes, with
Debian's Chromium driven by Playwright.

    .venv/bin/python scripts/screenshots_web.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from queue_server import protocol as p
from queue_server.client import HallClient
from queue_server.config import HallConfig, load_config
from queue_server.server import HallServer
from queue_server.store import db, reports

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "queue_server" / "demo" / "hall.toml"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 860}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


def wire_reports() -> None:
    """Add window.waiting and clerk.today if this server does not have them yet.

    The same wiring docs/web.md asks protocol.py and server.py for; once they have it,
    this does nothing.
    """
    if "window.waiting" in p.OPS:
        return
    roles = ("clerk", "supervisor", "admin")
    p.OPS["window.waiting"] = p.OpSpec(roles, {"window": ((int,), False), "limit": ((int,), False)})
    p.OPS["clerk.today"] = p.OpSpec(roles, {"window": ((int,), False), "clerk": ((str,), False)})
    handlers = {"window.waiting": reports.window_waiting, "clerk.today": reports.clerk_today}
    original = HallServer._work

    def _work(self: HallServer, actor: Any, req: p.Request) -> Any:
        fn = handlers.get(req.op)
        if fn is None:
            return original(self, actor, req)
        return lambda conn, now: (fn(conn, self.ops, actor, req.args, now), [])

    HallServer._work = _work  # type: ignore[method-assign]


class Hall:
    """The demo hall's server on its own event loop in a thread."""

    def __init__(self, config: HallConfig, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = HallServer(config, url, ignore_hours=True)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._clients: list[HallClient] = []

    def start(self) -> int:
        self._thread.start()
        self.run(self.server.start("127.0.0.1", 0))
        return self.server.port

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def client(self, token: str) -> HallClient:
        async def connect() -> HallClient:
            c = HallClient(f"ws://127.0.0.1:{self.server.port}/", token, name=token)
            await c.start()
            await c.wait_online(5)
            return c

        client = self.run(connect())
        self._clients.append(client)
        return client

    def stop(self) -> None:
        for c in self._clients:
            self.run(c.close())
        self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def fill(hall: Hall, config: HallConfig) -> dict[str, Any]:
    """A busy morning: tickets in several queues, windows open, one case being served."""
    kiosk = hall.client("demo-kiosk-1-token")
    gateway = hall.client("demo-gateway-1-token")

    def req(c: HallClient, op: str, args: dict[str, Any] | None = None) -> Any:
        return hall.run(c.request(op, args or {}))

    services: dict[str, list[str]] = {}
    for sv in config.services:
        services.setdefault(sv.queue, []).append(sv.id)
    queues = [q.prefix for q in config.queues][:8]
    for i in range(3):
        for q in queues:
            req(kiosk, "ticket.issue", {"service": services[q][i % len(services[q])]})
    clerks = {}
    for n in range(2, 9):
        clerks[n] = hall.client(f"demo-clerk-{n}-token")
        # who works a window is named by the gateway (its keypad sign-in): a clerk's own
        # device may name only itself (docs/protocol.md, reserved arguments)
        req(gateway, "window.open", {"window": n, "clerk": f"c{100 + n}"})
        req(clerks[n], "call.next")
        if n % 2:
            req(clerks[n], "case.start")
    req(clerks[8], "case.finish")
    req(clerks[6], "case.finish")
    req(clerks[6], "window.pause", {"reason": "break"})
    # Window 1 (the clerk screenshots sign in there): one case done and rated, then more.
    # Through the gateway (window 1's keypad): a clerk device connected as window 1 would
    # keep the console's sign-in out ("the window is already signed in").
    req(gateway, "window.open", {"window": 1, "clerk": "c001"})
    req(gateway, "call.next", {"window": 1})
    req(gateway, "case.finish", {"window": 1})
    req(gateway, "rating.submit", {"window": 1, "level": 5})
    a = services[config.window(1).queues[0]]
    req(
        kiosk,
        "ticket.issue",
        {
            "service": a[0],
            "priority": "elderly",
            "language": "en",
            "staff": "c001",
            "staff_pin": "1234",
        },
    )  # the hall guide
    mine = req(kiosk, "ticket.issue", {"service": a[1 % len(a)]})
    req(kiosk, "ticket.issue", {"service": a[0]})
    req(gateway, "window.close", {"window": 1})
    return {"phone_token": mine["token"]}


def shoot(port: int, out: Path, data: dict[str, Any]) -> list[Path]:
    base = f"http://127.0.0.1:{port}"
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for lang in ("zh", "en"):
            for size, opts in SIZES.items():
                locale = "zh-CN" if lang == "zh" else "en-US"
                ctx = browser.new_context(locale=locale, **opts)
                page = ctx.new_page()
                # Clerk console: c001 at window 1, calls the next ticket and starts it.
                page.goto(f"{base}/clerk?lang={lang}")
                page.fill("#clerk-id", "c001")
                page.fill("#clerk-pin", "1234")
                page.fill("#clerk-window", "1")
                page.click("#signin-button")
                page.wait_for_selector("#act-next:not([disabled])")
                page.click("#act-next")
                page.wait_for_selector("#act-start:not([disabled])")
                page.click("#act-start")
                page.wait_for_selector("#current-status[data-status='serving']")
                page.wait_for_timeout(300)
                written.append(_save(page, out / f"web-clerk-{lang}-{size}.png"))
                page.click("#act-transfer")
                page.click("#transfer-to-queue")  # back to its own queue: the next shot
                page.wait_for_selector("#current-label", state="detached")
                page.click("#act-signout")
                # The phone page of a ticket with one ahead: "almost your turn".
                page.goto(f"{base}/t/{data['phone_token']}?lang={lang}")
                page.wait_for_selector("#number:not(:empty)")
                page.wait_for_timeout(300)
                written.append(_save(page, out / f"web-ticket-{lang}-{size}.png"))
                # The supervisor's live view.
                page.goto(f"{base}/supervisor?lang={lang}#token=demo-supervisor-1-token")
                page.wait_for_selector(".win")
                page.wait_for_timeout(300)
                written.append(_save(page, out / f"web-supervisor-{lang}-{size}.png"))
                ctx.close()
        browser.close()
    return written


def _save(page: Any, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=False)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    config = load_config(DEMO)
    wire_reports()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/demo.db"
        engine = db.open_engine(url)
        db.upgrade(engine)
        engine.dispose()
        hall = Hall(config, url)
        port = hall.start()
        try:
            data = fill(hall, config)
            for path in shoot(port, args.out, data):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        finally:
            hall.stop()


if __name__ == "__main__":
    main()
