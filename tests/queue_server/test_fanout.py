"""Fan-out: a subscriber that stops reading is dropped and never holds up the others;
compression only when the hall asks for it (issue 14)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import statistics
import time
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import connect

from queue_server import callevent
from queue_server import protocol as p

from .harness import Clock, connected, running_hall

LIMIT = 16 * 1024


def _small(config, **server):
    return dataclasses.replace(
        config, server=dataclasses.replace(config.server, max_send_buffer_bytes=LIMIT, **server)
    )


async def _subscriber(port: int, sock: socket.socket | None = None, **kw):
    ws = await connect(f"ws://127.0.0.1:{port}/", sock=sock, **kw)
    await ws.send(p.request("h", "hello", {"token": "display-1-secret"}))
    assert json.loads(await ws.recv())["ok"]
    await ws.send(p.request("s", "subscribe", {}))
    assert json.loads(await ws.recv())["ok"]
    assert json.loads(await ws.recv())["event"] == "subscribed"
    return ws


async def _calls(gw, fast, n: int) -> list[float]:
    """Call and finish ``n`` times; how long each call took to reach ``fast``."""
    took = []
    for _ in range(n):
        start = time.perf_counter()
        await gw.request("call.next", {"window": 1})
        while True:
            msg = json.loads(await asyncio.wait_for(fast.recv(), 10))
            if msg.get("event") == "ticket.called":
                break
        took.append(time.perf_counter() - start)
        await gw.request("case.finish", {"window": 1})
    return took


def test_a_stuck_subscriber_is_dropped_and_does_not_delay_a_fast_one(config, sqlite_url):
    async def main() -> None:
        async with running_hall(_small(config), sqlite_url, Clock(), sweep_interval=3600) as hall:
            async with (
                connected(hall.port, "kiosk-1-secret") as kiosk,
                connected(hall.port, "gateway-secret") as gw,
            ):
                for _ in range(80):
                    await kiosk.request("ticket.issue", {"service": "general"})
                await gw.request("window.open", {"window": 1, "clerk": "c1"})
                fast = await _subscriber(hall.port)
                alone = await _calls(gw, fast, 15)

                # A subscriber that stops reading: tiny socket buffers on both sides, so
                # what it does not read piles up in the server's own send buffer.
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
                sock.connect(("127.0.0.1", hall.port))
                stuck = await _subscriber(hall.port, sock=sock, max_queue=1)
                local = sock.getsockname()
                (mine,) = [c for c in hall.clients if c.ws.remote_address[1] == local[1]]
                server_sock = mine.ws.transport.get_extra_info("socket")
                server_sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
                stuck.transport.pause_reading()

                peak = 0

                def watch() -> None:
                    nonlocal peak
                    t = mine.ws.transport
                    if t is not None and not t.is_closing():
                        peak = max(peak, t.get_write_buffer_size())

                beside = []
                for _ in range(30):
                    beside += await _calls(gw, fast, 1)
                    watch()
                assert mine not in hall.clients, "the stuck subscriber was never dropped"
                # Its memory stayed bounded: the limit plus at most one call's events.
                assert peak <= LIMIT + 8 * 1024, peak
                # The fast subscriber did not wait for it (relative to the same calls
                # with no stuck subscriber, measured in this test).
                assert statistics.median(beside) <= 3 * statistics.median(alone) + 0.005, (
                    statistics.median(alone),
                    statistics.median(beside),
                )
                # Once it reads again it learns it was dropped (then it resubscribes).
                stuck.transport.resume_reading()
                with pytest.raises(websockets.ConnectionClosed):
                    while True:
                        await asyncio.wait_for(stuck.recv(), 10)
                await fast.close()

    asyncio.run(asyncio.wait_for(main(), 120))


def test_a_dropped_client_resubscribes_and_misses_nothing(config, sqlite_url):
    """The client library's answer to 4004 is its answer to any lost connection."""

    async def main() -> None:
        async with running_hall(_small(config), sqlite_url, Clock(), sweep_interval=3600) as hall:
            seen: list[int] = []
            async with (
                connected(hall.port, "kiosk-1-secret") as kiosk,
                connected(
                    hall.port,
                    "display-1-secret",
                    subscribe=True,
                    on_event=lambda kind, seq, data: seen.append(seq),
                ) as display,
            ):
                await kiosk.request("ticket.issue", {"service": "general"})
                for _ in range(50):
                    if seen:
                        break
                    await asyncio.sleep(0.05)
                (mine,) = [c for c in hall.clients if c.actor and c.actor.role == "display"]
                hall._too_slow(mine)  # as the fan-out does when its buffer is over
                for _ in range(5):
                    await kiosk.request("ticket.issue", {"service": "general"})
                for _ in range(200):
                    if len(seen) >= 12 and display.reconnects:
                        break
                    await asyncio.sleep(0.05)
                assert display.reconnects >= 1
                # every event once, in order (ticket.issued + queue.stats per issue)
                assert seen == sorted(set(seen)) and len(seen) == 12, seen

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.parametrize("setting, negotiated", [("none", False), ("deflate", True)])
def test_compression_only_when_the_hall_asks(config, sqlite_url, setting, negotiated):
    async def main() -> None:
        cfg = _small(config, compression=setting)
        async with running_hall(cfg, sqlite_url, Clock(), sweep_interval=3600) as hall:
            # The client offers permessage-deflate, as every browser does.
            ws = await _subscriber(hall.port, compression="deflate")
            assert bool(ws.protocol.extensions) is negotiated
            wire: list[bytes] = []  # the bytes as they came, before the client decodes
            decode = ws.protocol.receive_data
            ws.protocol.receive_data = lambda data: (wire.append(data), decode(data))[1]
            async with connected(hall.port, "kiosk-1-secret") as kiosk:
                await kiosk.request("ticket.issue", {"service": "general"})
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert msg["event"] == "ticket.issued"
            # Compressed for this connection alone (RSV1 set), or the one shared frame.
            assert bool(wire[0][0] & 0x40) is negotiated, wire[0][:2]
            await ws.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_the_sender_gets_its_events_once_and_before_its_reply(config, sqlite_url):
    """Served out of turn, before the others, the sender still gets every event once,
    in ``seq`` order, its own before its reply (protocol.md §1)."""

    async def main() -> None:
        async with running_hall(config, sqlite_url, Clock(), sweep_interval=3600) as hall:
            async with connected(hall.port, "kiosk-1-secret") as kiosk:
                for _ in range(10):
                    await kiosk.request("ticket.issue", {"service": "general"})
            others = [await _subscriber(hall.port) for _ in range(3)]
            ws = await connect(f"ws://127.0.0.1:{hall.port}/")
            await ws.send(p.request("h", "hello", {"token": "gateway-secret"}))
            assert json.loads(await ws.recv())["ok"]
            await ws.send(p.request("s", "subscribe", {}))
            seqs: list[int] = []
            replies: dict[str, int] = {}  # request id -> events seen before its reply

            async def read_until(rid: str) -> None:
                while rid not in replies:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if msg.get("event") not in (None, "subscribed"):
                        seqs.append(msg["seq"])
                    elif "id" in msg:
                        assert msg.get("ok", True), msg
                        replies[msg["id"]] = len(seqs)

            await read_until("s")
            await ws.send(p.request("o", "window.open", {"window": 1, "clerk": "c1"}, "k-o"))
            sent = []
            for i in range(8):
                for op in ("call.next", "case.finish"):
                    rid = f"{op}-{i}"
                    await ws.send(p.request(rid, op, {"window": 1}, f"k-{rid}"))
                    sent.append(rid)
            for rid in sent:
                await read_until(rid)
            assert seqs == sorted(set(seqs)), "an event twice or out of order"
            # Each operation's events came before its reply: opening sends 3 (the window,
            # its two queues), a call 3, a finish 4; they are done in the order sent.
            for i in range(8):
                assert replies[f"call.next-{i}"] >= 3 + 7 * i + 3, (i, replies)
                assert replies[f"case.finish-{i}"] >= 3 + 7 * (i + 1), (i, replies)
            for other in others:
                got: list[int] = []
                while len(got) < len(seqs):
                    msg = json.loads(await asyncio.wait_for(other.recv(), 10))
                    if "seq" in msg and msg.get("event") != "subscribed":
                        got.append(msg["seq"])
                assert got == seqs
                await other.close()
            await ws.close()

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.parametrize(
    "line, problem",
    [
        ('compression = "gzip"', "server.compression"),
        ("max_send_buffer_bytes = 100", "server.max_send_buffer_bytes"),
    ],
)
def test_bad_fan_out_settings_are_refused_by_name(tmp_path, line, problem):
    from queue_server.config import ConfigError, load_config

    from ..conftest import TEST_HALL

    path = tmp_path / "hall.toml"
    path.write_text(TEST_HALL.read_text() + f"\n[server]\n{line}\n")
    with pytest.raises(ConfigError, match=problem):
        load_config(path)


class _CountingTransport:
    """A server-side connection's real transport, counting the writes made to it."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.real.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def _frames_until(ws, kind: str) -> list[dict]:
    """Every event frame up to and including the first ``kind``."""
    frames = []
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        frames.append(msg)
        if msg.get("event") == kind:
            return frames


async def _subscribed(port: int, hello: dict[str, Any], **subscribe: Any):
    """A raw connection, signed in with ``hello`` and subscribed with ``subscribe``."""
    ws = await connect(f"ws://127.0.0.1:{port}/")
    await ws.send(p.request("h", "hello", hello))
    assert json.loads(await ws.recv())["ok"]
    await ws.send(p.request("s", "subscribe", subscribe))
    assert json.loads(await ws.recv())["ok"]
    assert json.loads(await ws.recv())["event"] == "subscribed"
    return ws


def test_a_batch_goes_out_in_one_write_per_connection_in_each_ones_own_form(config, sqlite_url):
    """A call and a finish reach a staff display in one write each (one system call per
    connection, not one per event), in its own form and ``seq`` order; the sender, served
    first, gets them once; a phone page still gets only its own ticket's events and its
    queue's figures."""

    async def main() -> None:
        async with (
            running_hall(config, sqlite_url, Clock(), sweep_interval=3600) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
        ):
            await kiosk.request("ticket.issue", {"service": "general"})  # A001: called
            page_ticket = await kiosk.request("ticket.issue", {"service": "marriage"})
            sender = await _subscribed(hall.port, {"token": "gateway-secret"})
            await sender.send(p.request("o", "window.open", {"window": 1, "clerk": "c1"}, "o"))
            opened = await _frames_until(sender, "window.changed")
            display = await _subscribed(hall.port, {"token": "display-1-secret"})
            board = await _subscribed(hall.port, {"token": "display-1-secret"}, calls="combined")
            page = await _subscribed(hall.port, {"ticket": page_ticket["token"]})
            counted = {}
            for c in hall.clients:
                if c.live and c.actor.role in ("display", "citizen"):
                    c.ws.transport = counted[c] = _CountingTransport(c.ws.transport)
            assert len(counted) == 3

            await sender.send(p.request("c", "call.next", {"window": 1}, "c"))
            separate = await _frames_until(display, "queue.stats")  # the call's last
            combined = await _frames_until(board, "call")
            await sender.send(p.request("f", "case.finish", {"window": 1}, "f"))  # a batch
            separate += await _frames_until(display, "ticket.finished")
            combined += await _frames_until(board, "ticket.finished")
            await kiosk.request("ticket.issue", {"service": "marriage"})  # B's figures
            mine = await _frames_until(page, "queue.stats")
            sent: list[dict] = []
            for ws, got in ((display, separate), (board, combined), (sender, sent)):
                got += await _frames_until(ws, "ticket.issued")  # the two events
                got += await _frames_until(ws, "queue.stats")
            seqs = [m["seq"] for m in opened + sent if "event" in m]
            assert seqs == sorted(set(seqs)), "the sender got an event twice or out of order"
            assert seqs[-1] == separate[-1]["seq"]

            assert [m["event"] for m in separate[:3]] == list(callevent.PARTS)
            assert combined[0]["event"] == callevent.CALL
            assert [m["event"] for m in separate[3:]] == [m["event"] for m in combined[1:]]
            for frames in (separate, combined):
                seqs = [m["seq"] for m in frames]
                assert seqs == sorted(set(seqs)), "an event twice or out of order"
            assert combined[0]["seq"] == separate[2]["seq"]
            assert [(m["event"], m["data"].get("queue")) for m in mine] == [("queue.stats", "B")]
            # The call, the finish and the issue: three batches, one write each to a
            # display that gets anything of them, whatever the number of events; and
            # each connection's floor is where it is, so nothing is ever sent twice.
            for c, transport in counted.items():
                c.ws.transport = transport.real
                if c.actor.role == "display":
                    assert transport.writes == 3, (c.combined, transport.writes)
                    got = combined if c.combined else separate
                    assert c.floor == got[-1]["seq"], (c.combined, c.floor)
            for ws in (display, board, page, sender):
                await ws.close()

    asyncio.run(asyncio.wait_for(main(), 60))
