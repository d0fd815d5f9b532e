"""Reporting upward: ratings and closed ledger records reach an HTTP endpoint that fails
half the time, through the durable outbox, across a SIGKILL of the server, each record
kept once by its record id."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from pathlib import Path

from queue_server.client import HallClient

from .test_processes import TEST_HALL, ServerProcess, _migrate


class FlakyReceiver:
    """Fails half the requests: the first try of each record (and every other one after)
    gets 503, so every record is retried, and none waits through a long backoff by bad
    luck. Keeps each record once by ``X-HallQ-Key``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.records: dict[str, dict] = {}
        self.deliveries: dict[str, int] = {}
        self.tries: dict[str, int] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["X-HallQ-Key"]
                with receiver.lock:
                    receiver.requests += 1
                    receiver.tries[key] = receiver.tries.get(key, 0) + 1
                    fail = receiver.tries[key] % 2 == 1
                    if not fail:
                        receiver.deliveries[key] = receiver.deliveries.get(key, 0) + 1
                        receiver.records.setdefault(key, json.loads(body))
                self.send_response(503 if fail else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/ratings"


async def _rate(gw: HallClient, kiosk: HallClient, level: int) -> int:
    await kiosk.request("ticket.issue", {"service": "general"})
    await gw.request("call.next", {"window": 1})
    done = await gw.request("case.finish", {"window": 1})
    await gw.request("rating.submit", {"window": 1, "level": level})
    return done["case"]


def test_every_record_reaches_a_flaky_endpoint_once_across_a_sigkill(sqlite_url, tmp_path):
    receiver = FlakyReceiver()
    hall = tmp_path / "hall.toml"
    text = TEST_HALL.read_text(encoding="utf-8")
    hall.write_text(
        text.replace("[ratings]\n", f'[ratings]\nupload_url = "{receiver.url}"\n', 1),
        encoding="utf-8",
    )
    _migrate(sqlite_url)

    async def main() -> list[int]:
        server = ServerProcess(sqlite_url, config=Path(hall))
        port = server.port
        cases: list[int] = []
        try:
            gw = HallClient(server.url, "gateway-secret", name="gw", backoff_max=0.3)
            kiosk = HallClient(server.url, "kiosk-1-secret", name="k", backoff_max=0.3)
            for c in (gw, kiosk):
                await c.start()
                await c.wait_online(10)
            await gw.request("window.open", {"window": 1, "clerk": "c001"})
            for i in range(6):
                cases.append(await _rate(gw, kiosk, (5, 4, 3)[i % 3]))
            deadline = time.monotonic() + 30
            while len(receiver.records) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            server.kill()  # mid-delivery: some sent, some queued, one perhaps in flight
            server = ServerProcess(sqlite_url, port, config=Path(hall))
            await gw.wait_online(10)
            for _ in range(4):
                cases.append(await _rate(gw, kiosk, 5))
            # A batch claimed by the killed server waits out its lease (60 s) first.
            deadline = time.monotonic() + 100
            want = {f"R{c}" for c in cases}
            while not want <= set(receiver.records) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await gw.close()
            await kiosk.close()
        finally:
            if server.proc.poll() is None:
                server.kill()
        return cases

    cases = asyncio.run(asyncio.wait_for(main(), 160))
    want = {f"R{c}" for c in cases}
    assert set(receiver.records) == want, "every rating reached the endpoint"
    assert len(receiver.records) == len(cases)  # kept once each, by record id
    # On the wire a record is sent again only if the kill came between its send and the
    # outbox row saying so: at most the one batch in flight.
    assert sum(receiver.deliveries.values()) - len(want) <= 20
    rec = receiver.records[f"R{cases[0]}"]
    assert rec["kind"] == "rating" and rec["record"]["评价渠道"] == "4"
    assert rec["record"]["满意度代码"] == "1" and rec["record"]["行政区划代码"] == "511822"
    assert receiver.requests >= 2 * len(want)  # half failed, and were retried
