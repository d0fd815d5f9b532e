"""The event side of the server: a subscriber that leaves mid-answer is not an error."""

from __future__ import annotations

import asyncio
import logging

from websockets.asyncio.client import connect

from queue_server import protocol as p

from .harness import Clock, connected, running_hall


def test_a_connection_closed_during_subscribe_is_not_a_request_failure(config, sqlite_url, caplog):
    async def main() -> None:
        async with running_hall(config, sqlite_url, Clock()) as hall:
            async with connected(hall.port, "kiosk-1-secret") as kiosk:
                for _ in range(30):  # something to replay
                    await kiosk.request("ticket.issue", {"service": "general"})
            for args in ({"since": 0}, {}):  # a resume, then a snapshot
                ws = await connect(f"ws://127.0.0.1:{hall.port}/")
                await ws.send(p.request("h", "hello", {"token": "display-1-secret"}))
                await ws.recv()
                await ws.send(p.request("s", "subscribe", args))
                ws.transport.abort()  # gone before the answer
                await asyncio.sleep(0.5)
            async with connected(hall.port, "display-1-secret") as display:
                assert (await display.request("snapshot"))["queues"][0]["waiting"] == 30

    with caplog.at_level(logging.INFO, logger="hallq.server"):
        asyncio.run(asyncio.wait_for(main(), 60))
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not failures, [r.getMessage() for r in failures]
