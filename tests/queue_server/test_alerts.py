"""Alerts that reach people: a real SMTP server, a real HTTP webhook and SMS gateway.

A dissatisfied rating (or a red light) is written to the outbox with its event, in one
transaction, and the sender delivers it: e-mail over SMTP (aiosmtpd), a JSON POST signed
with HMAC-SHA256, an SMS through an HTTP gateway. A receiver that is down gets the alert
later (the clock is the server's, advanced by the test); one that refuses it for good
gets it marked dead; a server killed with alerts queued sends them after its restart,
each with the same key, so the receiver keeps exactly one of each.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from queue_server.config import ConfigError, parse_config
from queue_server.core import alerts
from queue_server.core.hall import AlertRule, NotifySettings, Recipient
from queue_server.store import db

from .harness import Clock, connected, running_hall

SECRET = "webhook-secret-for-tests"


class Receiver:
    """An HTTP server that records POSTs, and can be down (503) or refusing (400)."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.status == 200:
                    outer.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    def json(self, path_part: str = "") -> list[dict[str, Any]]:
        return [json.loads(b) for _, b in self.posts]


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


def _settings(smtp_port: int, hook: Receiver, sms: Receiver, **kw: Any) -> NotifySettings:
    return NotifySettings(
        webhook_url=f"http://127.0.0.1:{hook.port}/hook",
        webhook_secret=SECRET,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        sms_url=f"http://127.0.0.1:{sms.port}/sms",
        sms_body='{"mobile": "{phone}", "content": "{text}"}',
        recipients=(
            Recipient(
                "head-civil",
                "Head of civil affairs",
                "head@hall.example",
                "13800001234",
                webhook=True,
            ),
        ),  # fmt: skip
        alerts=(AlertRule("rating.dissatisfied", ("head-civil",)),),
        **kw,
    )


async def _dissatisfied(port: int) -> None:
    async with (
        connected(port, "kiosk-1-secret") as kiosk,
        connected(port, "gateway-secret") as gw,
    ):
        await kiosk.request("ticket.issue", {"service": "general"})
        await gw.request("window.open", {"window": 1, "clerk": "c-1"})
        await gw.request("call.next", {"window": 1})
        await gw.request("case.finish", {"window": 1})
        await gw.request("rating.submit", {"window": 1, "level": 1})


async def _until(pred: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


def test_routing_and_masking_are_pure_rules():
    hook, sms = object.__new__(Receiver), object.__new__(Receiver)
    hook.port = sms.port = 9
    s = _settings(25, hook, sms)
    got = alerts.route(42, "rating.dissatisfied", {"window": 3, "label": "A012", "level": 1}, s)
    assert sorted((a.channel, a.key) for a in got) == [
        ("email", "42:head-civil:email"),
        ("sms", "42:head-civil:sms"),
        ("webhook", "42:head-civil:webhook"),
    ]
    assert all("A012" in a.text and "very dissatisfied" in a.text for a in got)
    assert alerts.route(42, "case.overdue", {}, s) == []  # no rule for it
    only_sms = dataclasses.replace(
        s, alerts=(AlertRule("case.overdue", ("head-civil",), ("sms",)),)
    )
    assert [a.channel for a in alerts.route(7, "case.overdue", {}, only_sms)] == ["sms"]
    assert alerts.mask("sms", "13800001234") == "138****1234"
    assert alerts.mask("email", "head@hall.example") == "h***@hall.example"


def test_alert_rules_in_the_hall_file_are_checked(config):
    import tomllib

    raw = tomllib.loads((Path(__file__).parents[1] / "hall_test.toml").read_text())
    raw["notify"] = {"recipients": [{"id": "duty", "email": "not-an-address"}]}
    raw["alerts"] = [
        {"on": "rating.dissatisfied", "to": ["nobody"], "channels": ["sms"]},
        {"on": "weather", "to": ["duty"]},
    ]
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    problems = "\n".join(exc.value.problems)
    for where in (
        "notify.recipients[0].email",
        "alerts[0].to[0]",
        "alerts[0].channels",
        "alerts[1].on",
    ):
        assert where in problems


def test_a_dissatisfied_rating_reaches_smtp_webhook_and_sms(config, db_url):
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    hook, sms = Receiver(), Receiver()
    try:

        async def main() -> list[dict[str, Any]]:
            cfg = dataclasses.replace(config, notify=_settings(smtp.port, hook, sms))
            async with running_hall(cfg, db_url, Clock()) as hall:
                await _dissatisfied(hall.port)
                await _until(lambda: mailbox.messages and hook.posts and sms.posts)
                async with connected(hall.port, "supervisor-secret") as sup:
                    await _until(lambda: hall.notifier is not None and hall.notifier.delivered == 3)
                    return (await sup.request("alert.list", {}))["alerts"]

        listed = asyncio.run(main())
    finally:
        smtp.stop()
        hook.close()
        sms.close()
    (mail,) = mailbox.messages
    assert mail.rcpt_tos == ["head@hall.example"]
    assert b"very dissatisfied" in mail.content and b"A001" in mail.content
    ((headers, body),) = hook.posts
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-hallq-signature"] == expected
    payload = json.loads(body)
    assert payload["kind"] == "rating.dissatisfied" and payload["data"]["label"] == "A001"
    assert headers["x-hallq-key"] == payload["key"]
    ((_, sms_body),) = sms.posts
    sent = json.loads(sms_body)
    assert sent["mobile"] == "13800001234" and "A001" in sent["content"]
    assert sorted(a["channel"] for a in listed) == ["email", "sms", "webhook"]
    assert {a["state"] for a in listed} == {"sent"}
    assert "138****1234" in [a["to"] for a in listed]  # staff numbers masked in the view


def test_a_receiver_that_is_down_gets_it_later_and_one_that_refuses_never(config, sqlite_url):
    hook, sms = Receiver(), Receiver()
    dead_port = _free_port()  # nothing listens: SMTP is down for good in this test
    try:

        async def main() -> dict[str, Any]:
            clock = Clock()
            notify = _settings(dead_port, hook, sms, max_tries=3)
            async with running_hall(config.__class__(**{
                **{f.name: getattr(config, f.name) for f in dataclasses.fields(config)},
                "notify": notify,
            }), sqlite_url, clock) as hall:  # fmt: skip
                hook.status, sms.status = 503, 400
                await _dissatisfied(hall.port)
                async with connected(hall.port, "supervisor-secret") as sup:

                    async def states() -> dict[str, Any]:
                        got = (await sup.request("alert.list", {}))["alerts"]
                        return {a["channel"]: a for a in got}

                    for _ in range(100):
                        now = await states()
                        if {a["state"] for a in now.values()} == {"failed", "dead"}:
                            break
                        await asyncio.sleep(0.05)
                    assert now["webhook"]["state"] == "failed"  # 503: worth another try
                    assert now["sms"]["state"] == "dead" and "400" in now["sms"]["error"]
                    assert now["email"]["state"] == "failed"
                    hook.status = 200
                    for _ in range(4):  # the backoff runs on the server's clock
                        clock.advance(minutes=10)
                        hall.notifier.wake.set()
                        await asyncio.sleep(0.3)
                    return await states()

        final = asyncio.run(main())
    finally:
        hook.close()
        sms.close()
    assert final["webhook"]["state"] == "sent" and len(hook.posts) == 1
    assert final["email"]["state"] == "dead" and final["email"]["tries"] == 3
    assert sms.posts == []


def test_alerts_queued_when_the_server_is_killed_are_sent_once_after_restart(tmp_path):
    """SIGKILL with alerts waiting (the webhook down), restart with it up: every alert
    arrives, and the receiver keeps one per key."""
    hook = Receiver()
    hook.status = 503
    hall = tmp_path / "hall.toml"
    test_hall = Path(__file__).parents[1] / "hall_test.toml"
    hall.write_text(
        test_hall.read_text()
        + f"""
[notify]
webhook_url = "http://127.0.0.1:{hook.port}/hook"
max_tries = 20

[[notify.recipients]]
id = "duty"
webhook = true

[[alerts]]
on = "rating.dissatisfied"
to = ["duty"]
"""
    )
    url = f"sqlite:///{tmp_path / 'hall.db'}"
    engine = db.open_engine(url)
    db.upgrade(engine)
    engine.dispose()
    root = Path(__file__).parents[2]

    def start() -> tuple[subprocess.Popen[bytes], int]:
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "queue_server.cli", "server", "--config", str(hall),
             "--db", url, "--port", str(port), "--ignore-hours"],
            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(root)},
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return proc, port
            time.sleep(0.1)
        raise AssertionError("server did not start")

    async def rate_three(port: int) -> None:
        async with (
            connected(port, "kiosk-1-secret") as kiosk,
            connected(port, "gateway-secret") as gw,
        ):
            await gw.request("window.open", {"window": 1, "clerk": "c-1"})
            for _ in range(3):
                await kiosk.request("ticket.issue", {"service": "general"})
                await gw.request("call.next", {"window": 1})
                await gw.request("case.finish", {"window": 1})
                await gw.request("rating.submit", {"window": 1, "level": 2})

    proc, port = start()
    try:
        asyncio.run(rate_three(port))
        time.sleep(0.5)  # at least one try each against the 503
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        hook.status = 200
        proc, port = start()
        deadline = time.monotonic() + 60  # retries wait out their backoff (5 s, then 10 s)
        while len({json.loads(b)["key"] for _, b in hook.posts}) < 3:
            assert time.monotonic() < deadline, hook.posts
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(10)
        hook.close()
    keys = [json.loads(b)["key"] for _, b in hook.posts]
    assert len(set(keys)) == 3  # every alert, once per key at the receiver


def test_people_waiting_with_no_open_window_alert_the_duty_supervisor_once(config, sqlite_url):
    hook = Receiver()
    try:

        async def main() -> None:
            clock = Clock()
            notify = NotifySettings(
                webhook_url=f"http://127.0.0.1:{hook.port}/hook",
                recipients=(Recipient("duty", webhook=True),),
                alerts=(AlertRule("queue.unattended", ("duty",)),),
            )
            cfg = dataclasses.replace(config, notify=notify)
            async with (
                running_hall(cfg, sqlite_url, clock, sweep_interval=0.05) as hall,
                connected(hall.port, "kiosk-1-secret") as kiosk,
            ):
                await kiosk.request("ticket.issue", {"service": "general"})
                await asyncio.sleep(0.6)  # nobody has waited 10 minutes yet
                assert hook.posts == []
                clock.advance(minutes=11)
                await _until(lambda: len(hook.posts) == 1)
                await asyncio.sleep(0.6)  # the same stretch is not announced again
                assert len(hook.posts) == 1
                payload = json.loads(hook.posts[0][1])
                assert payload["kind"] == "queue.unattended" and payload["data"]["queue"] == "A"

        asyncio.run(main())
    finally:
        hook.close()


def test_a_red_case_reaches_its_department_head_by_email_and_the_webhook(config, db_url):
    """The issue's promise: a promised case past its due day turns red on the server's
    clock, and the department's head hears of it (e-mail from the [[departments]] entry)
    while the hall's webhook gets it too."""
    from .test_casefiles import load_calendar

    load_calendar(db_url)
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    hook = Receiver()
    try:

        async def main() -> None:
            clock = Clock()
            notify = NotifySettings(
                webhook_url=f"http://127.0.0.1:{hook.port}/hook",
                smtp_host="127.0.0.1",
                smtp_port=smtp.port,
                recipients=(Recipient("bot", webhook=True),),
                alerts=(AlertRule("casefile.light", ("head", "bot")),),
            )
            cfg = dataclasses.replace(config, notify=notify)
            async with (
                running_hall(cfg, db_url, clock, sweep_interval=0.02) as hall,
                connected(hall.port, "kiosk-1-secret") as kiosk,
                connected(hall.port, "gateway-secret") as gw,
            ):
                await kiosk.request("ticket.issue", {"service": "marriage"})
                await gw.request("window.open", {"window": 2, "clerk": "c-2"})
                await gw.request("call.next", {"window": 2})
                finished = await gw.request("case.finish", {"window": 2})
                number = finished["casefile"]["number"]
                clock.advance(days=10)  # long past its due day
                await _until(lambda: mailbox.messages and hook.posts, timeout=20)
            (mail,) = [m for m in mailbox.messages if b"red" in m.content]
            assert mail.rcpt_tos == ["head@civil.example"]  # the civil department's head
            assert number.encode() in mail.content
            reds = [json.loads(b) for _, b in hook.posts]
            assert any(p["data"]["light"] == "red" and p["data"]["number"] == number for p in reds)

        asyncio.run(main())
    finally:
        smtp.stop()
        hook.close()


def test_department_roles_resolve_from_the_events_service(config):
    from queue_server.core.alerts import department_recipients

    roles = department_recipients(config, {"service": "marriage"})
    assert roles["head"].email == "head@civil.example"
    assert roles["leader"].phone == "13800000001"
    assert department_recipients(config, {"service": "nope"}) == {}
