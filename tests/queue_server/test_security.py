"""The server in a hall where someone tries to break it: each finding on main, held.

Origins, framing, static files, /healthz, connection limits, the hello frame limit, a
window taken over, a transfer to a closed window, device details, and TLS — over real
sockets against a real server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import connect

from queue_server import protocol as p
from queue_server.server import WEB_DIR

from .harness import Clock, connected, running_hall


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


async def _hello(port: int, args: dict[str, Any], **kw: Any) -> tuple[Any, dict[str, Any]]:
    ws = await connect(f"ws://127.0.0.1:{port}/", **kw)
    await ws.send(p.request("h", "hello", args))
    return ws, json.loads(await ws.recv())


def test_origins_framing_static_files_and_healthz(config, sqlite_url, tmp_path):
    async def main() -> None:
        cfg = dataclasses.replace(
            config,
            server=dataclasses.replace(config.server, allowed_origins=("https://hall.example",)),
        )
        async with running_hall(cfg, sqlite_url, Clock()) as hall:
            url = f"ws://127.0.0.1:{hall.port}/"
            # A page on another site cannot open the WebSocket from a hall PC's browser.
            with pytest.raises(websockets.InvalidStatus) as refused:
                await connect(url, origin="http://evil.example")
            assert refused.value.response.status_code == 403
            for origin in (f"http://127.0.0.1:{hall.port}", "https://hall.example", None):
                ws = await connect(url, origin=origin)
                await ws.close()
            status, headers, _ = await asyncio.to_thread(_get, hall.port, "/clerk")
            assert status == 200 and headers["X-Frame-Options"] == "DENY"
            assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
            status, _, _ = await asyncio.to_thread(_get, hall.port, "/static/" + "a" * 5000)
            assert status == 404
            # A link put into the static folder after start is never followed.
            secret = tmp_path / "secret.txt"
            secret.write_text("do not serve")
            link = WEB_DIR / "static" / "zz-link.txt"
            link.symlink_to(secret)
            try:
                status, _, body = await asyncio.to_thread(_get, hall.port, "/static/zz-link.txt")
            finally:
                link.unlink()
            assert status == 404 and "do not serve" not in body
            # /healthz: up or not for anyone; counters only for staff.
            status, _, body = await asyncio.to_thread(_get, hall.port, "/healthz")
            assert status == 200 and json.loads(body) == {"status": "ok", "db": "ok"}
            bearer = {"Authorization": "Bearer supervisor-secret"}
            _, _, body = await asyncio.to_thread(_get, hall.port, "/healthz", bearer)
            assert {"seq", "clients", "ops", "commits"} <= set(json.loads(body))

    asyncio.run(main())


def test_connection_limits_and_a_small_hello_frame(config, sqlite_url):
    async def main() -> None:
        cfg = dataclasses.replace(
            config,
            server=dataclasses.replace(
                config.server,
                max_connections_per_address=6,
                max_connections_per_ticket=2,
                max_hello_bytes=1024,
            ),
        )
        async with running_hall(cfg, sqlite_url, Clock()) as hall:
            async with connected(hall.port, "kiosk-1-secret") as kiosk:
                t = await kiosk.request("ticket.issue", {"service": "general"})
                phones = []
                for _ in range(2):
                    ws, reply = await _hello(hall.port, {"ticket": t["token"]})
                    assert reply["ok"]
                    phones.append(ws)
                ws, reply = await _hello(hall.port, {"ticket": t["token"]})
                assert reply["error"]["code"] == "too_many"
                # Six connections from one address at most (kiosk + 2 phones + 3 more).
                extra = [await connect(f"ws://127.0.0.1:{hall.port}/") for _ in range(3)]
                over = await connect(f"ws://127.0.0.1:{hall.port}/")
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(over.recv(), 5)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
                for c in [*phones, *extra]:
                    await c.close()
                # Before sign-in only a small frame is read: a big one closes at once.
                big = await connect(f"ws://127.0.0.1:{hall.port}/")
                await big.send("x" * 4096)
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(big.recv(), 5)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
                # After sign-in, requests up to max_message_bytes are read as before.
                ws, reply = await _hello(hall.port, {"token": "admin-secret"})
                await ws.send(p.request(1, "hall.info", {"pad": "x" * 8000}))
                answer = json.loads(await ws.recv())
                assert answer["error"]["code"] == "bad_request"  # read, and refused politely
                await ws.close()

    asyncio.run(main())


def test_a_window_in_use_is_taken_over_only_when_asked(config, sqlite_url):
    async def main() -> None:
        async with running_hall(config, sqlite_url, Clock()) as hall:
            first, reply = await _hello(hall.port, {"token": "clerk-1-secret"})
            assert reply["ok"] and reply["result"]["window"] == 1
            clerk = {"clerk": "c001", "pin": "1234", "window": 1}
            _, reply = await _hello(hall.port, clerk)
            assert reply["error"]["code"] == "window_in_use"
            assert reply["error"]["details"]["clerk"] == "clerk-1"
            # The same identity may connect again (a console back after a dropped link).
            again, reply = await _hello(hall.port, {"token": "clerk-1-secret"})
            assert reply["ok"]
            second, reply = await _hello(hall.port, {**clerk, "take_over": True})
            assert reply["ok"] and reply["result"]["device"] == "c001"
            for old in (first, again):
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(old.recv(), 5)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == p.CLOSE_TAKEN_OVER
            await second.close()

    asyncio.run(main())


def test_transfer_to_a_closed_or_paused_window_and_long_details_are_refused(config, db_url):
    async def main() -> None:
        async with (
            running_hall(config, db_url, Clock()) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
        ):
            await kiosk.request("ticket.issue", {"service": "general"})
            await gw.request("window.open", {"window": 1, "clerk": "c-1"})
            await gw.request("call.next", {"window": 1})
            codes = []
            for to in (2, 3):
                if to == 3:
                    await gw.request("window.open", {"window": 3, "clerk": "c-3"})
                    await gw.request("window.pause", {"window": 3})
                try:
                    await gw.request("ticket.transfer", {"window": 1, "to_window": to})
                except Exception as exc:
                    codes.append(getattr(exc, "code", None))
            assert codes == ["window_closed", "window_paused"]
            try:
                await kiosk.request("device.report", {"state": "ok", "detail": "x" * 5000})
                raise AssertionError("a 5,000 character detail was kept")
            except Exception as exc:
                assert getattr(exc, "code", None) == "bad_request"

    asyncio.run(main())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a cert")
def test_wss_with_the_halls_certificate(config, sqlite_url, tmp_path: Path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip

    async def main() -> None:
        cfg = dataclasses.replace(
            config,
            server=dataclasses.replace(config.server, tls_cert=str(cert), tls_key=str(key)),
        )
        async with running_hall(cfg, sqlite_url, Clock()) as hall:
            ctx = ssl.create_default_context(cafile=str(cert))
            async with connect(f"wss://127.0.0.1:{hall.port}/", ssl=ctx) as ws:
                await ws.send(p.request("h", "hello", {"token": "kiosk-1-secret"}))
                assert json.loads(await ws.recv())["ok"]
            with pytest.raises((OSError, websockets.InvalidMessage)):
                await connect(f"ws://127.0.0.1:{hall.port}/", open_timeout=3)

    asyncio.run(main())
