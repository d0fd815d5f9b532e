"""One combined ``call`` event for displays where a call commits three (issue 14).

Real server, real WebSockets: a display that subscribes with calls "combined" gets one
frame per call holding everything it needs; everyone else still gets the three events;
a resume replays the same forms from the events table, without losing or repeating one.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from queue_server import callevent
from queue_server import protocol as p

from .harness import Clock, connected, running_hall
from .test_shared_postgres import _migrate, raw, servers


async def _subscriber(port: int, token: str, **args: Any) -> tuple[ClientConnection, dict]:
    """A raw connection, signed in and subscribed with ``args``: (socket, reply)."""
    ws = await connect(f"ws://127.0.0.1:{port}/")
    await ws.send(p.request("h", "hello", {"token": token}))
    assert json.loads(await ws.recv())["ok"]
    await ws.send(p.request("s", "subscribe", args))
    reply = json.loads(await ws.recv())
    if reply["ok"]:
        backlog = []
        while (msg := json.loads(await ws.recv())).get("event") != "subscribed":
            backlog.append(msg)
        reply["backlog"] = backlog
    return ws, reply


async def _until(ws: ClientConnection, kind: str) -> list[dict]:
    """Every frame up to and including the first event ``kind``."""
    frames = []
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        frames.append(msg)
        if msg.get("event") == kind:
            return frames


def test_a_display_gets_one_frame_per_call_with_everything_and_others_get_three(config, sqlite_url):
    async def main() -> None:
        async with (
            running_hall(config, sqlite_url, Clock(), sweep_interval=3600) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
        ):
            for _ in range(3):
                await kiosk.request("ticket.issue", {"service": "general"})
            await gw.request("window.open", {"window": 1, "clerk": "c1"})
            display, _ = await _subscriber(hall.port, "display-1-secret", calls="combined")
            board, _ = await _subscriber(hall.port, "display-1-secret")  # an older display
            reply = await gw.request("call.next", {"window": 1})
            # a marker after the call: whatever came before it belongs to the call
            await kiosk.request("ticket.issue", {"service": "general"})

            frames = await _until(display, "ticket.issued")
            assert [f["event"] for f in frames] == ["call", "ticket.issued"]
            call = frames[0]
            data = call["data"]
            assert data["ticket"]["label"] == reply["ticket"]["label"] == "A001"
            assert data["ticket"]["case"] == reply["case"]
            assert data["ticket"]["area"] == "civil"
            assert data["window"]["number"] == 1 and data["window"]["ticket"] == "A001"
            assert data["queue"]["queue"] == "A" and data["queue"]["waiting"] == 2
            assert call["seq"] == data["seqs"][-1]
            assert data["seqs"] == list(range(data["seqs"][0], data["seqs"][0] + 3))

            separate = await _until(board, "ticket.issued")
            assert [f["event"] for f in separate] == [*callevent.PARTS, "ticket.issued"]
            assert [f["seq"] for f in separate[:3]] == data["seqs"]
            assert [f["data"] for f in separate[:3]] == [
                data["ticket"],
                data["window"],
                data["queue"],
            ]
            # the same seq numbering: the marker follows the call on both
            assert frames[1]["seq"] == separate[3]["seq"] == call["seq"] + 1

            for ws in (display, board):  # the marker's own queue.stats
                assert [f["event"] for f in await _until(ws, "queue.stats")] == ["queue.stats"]
            # a recall is one event already, and other operations are unchanged
            await gw.request("call.recall", {"window": 1})
            await gw.request("case.start", {"window": 1})
            frames = await _until(display, "window.changed")
            assert [f["event"] for f in frames] == [
                "ticket.recalled",
                "ticket.started",
                "window.changed",
            ]
            for ws in (display, board):
                await ws.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_combined_resume_replays_calls_as_one_event_and_misses_nothing(config, sqlite_url):
    async def main() -> None:
        async with (
            running_hall(config, sqlite_url, Clock(), sweep_interval=3600) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
        ):
            for _ in range(4):
                await kiosk.request("ticket.issue", {"service": "general"})
            await gw.request("window.open", {"window": 1, "clerk": "c1"})
            start = (await gw.request("snapshot"))["seq"]
            for _ in range(3):
                await gw.request("call.next", {"window": 1})
                await gw.request("case.start", {"window": 1})
                await gw.request("case.finish", {"window": 1})

            # resumed from before all three calls: the replay has each call once
            ws, reply = await _subscriber(
                hall.port, "display-1-secret", since=start, calls="combined"
            )
            kinds = [m["event"] for m in reply["backlog"]]
            assert kinds.count("call") == 3
            assert not set(kinds) & {"ticket.called"}
            assert reply["result"]["replayed"] == len(reply["backlog"])
            seqs = [m["seq"] for m in reply["backlog"]]
            assert seqs == sorted(set(seqs)) and seqs[-1] == reply["result"]["seq"]
            await ws.close()

            # the separate form of the same stretch, event for event
            ws, plain = await _subscriber(hall.port, "display-1-secret", since=start)
            await ws.close()
            covered = {
                s for m in reply["backlog"] if m["event"] == "call" for s in m["data"]["seqs"]
            }
            assert sorted(
                {m["seq"] for m in reply["backlog"] if m["event"] != "call"} | covered
            ) == [m["seq"] for m in plain["backlog"]]

            # resumed in the middle of a call (a display that had the older form):
            # the rest of that call comes as separate events, then calls again
            first = next(m for m in reply["backlog"] if m["event"] == "call")
            ws, mid = await _subscriber(
                hall.port, "display-1-secret", since=first["data"]["seqs"][0], calls="combined"
            )
            await ws.close()
            head = [m["event"] for m in mid["backlog"][:3]]
            assert head == ["window.changed", "queue.stats", "ticket.started"]
            assert [m["seq"] for m in mid["backlog"][:2]] == first["data"]["seqs"][1:]
            assert [m["event"] for m in mid["backlog"]].count("call") == 2

            # resumed from a call's own seq: nothing of it again
            ws, after = await _subscriber(
                hall.port, "display-1-secret", since=first["seq"], calls="combined"
            )
            await ws.close()
            assert all(m["seq"] > first["seq"] for m in after["backlog"])
            assert after["backlog"][0]["event"] == "ticket.started"

    asyncio.run(asyncio.wait_for(main(), 60))


def test_calls_asked_for_wrongly_are_refused_by_name(config, sqlite_url):
    async def main() -> None:
        async with (
            running_hall(config, sqlite_url, Clock(), sweep_interval=3600) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
        ):
            ws, reply = await _subscriber(hall.port, "display-1-secret", calls="merged")
            assert reply["error"]["code"] == "bad_request"
            assert "calls must be one of separate, combined" in reply["error"]["message"]
            await ws.close()
            token = (await kiosk.request("ticket.issue", {"service": "general"}))["token"]
            ws = await connect(f"ws://127.0.0.1:{hall.port}/")
            await ws.send(p.request("h", "hello", {"ticket": token}))
            assert json.loads(await ws.recv())["ok"]
            await ws.send(p.request("s", "subscribe", {"calls": "combined"}))
            reply = json.loads(await ws.recv())
            assert reply["error"]["code"] == "bad_request"
            await ws.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_fold_leaves_everything_but_whole_calls_alone():
    at = "2026-11-24T02:00:00+00:00"
    ticket = {"id": 1, "label": "A001", "queue": "A", "window": 1}
    win = {"number": 1, "ticket": "A001"}
    stats = {"queue": "A", "waiting": 0}
    rows = [
        (1, at, "window.changed", win),
        (2, at, "queue.stats", stats),
        (3, at, "ticket.called", ticket),
        (4, at, "window.changed", win),
        (5, at, "queue.stats", stats),
        (6, at, "ticket.called", ticket),  # cut short: a replay that ends here
        (7, at, "window.changed", win),
    ]
    folded = callevent.fold(rows)
    forms = [(r[0], r[2], f) for r, f in folded]
    assert forms == [
        (1, "window.changed", callevent.Form.ALL),
        (2, "queue.stats", callevent.Form.ALL),
        (3, "ticket.called", callevent.Form.SEPARATE),
        (4, "window.changed", callevent.Form.SEPARATE),
        (5, "queue.stats", callevent.Form.SEPARATE),
        (5, "call", callevent.Form.COMBINED),
        (6, "ticket.called", callevent.Form.ALL),
        (7, "window.changed", callevent.Form.ALL),
    ]
    # another window's change, or another operation's time, is not part of the call
    other = [
        (3, at, "ticket.called", ticket),
        (4, at, "window.changed", {"number": 2}),
        (5, at, "queue.stats", stats),
    ]
    assert all(f is callevent.Form.ALL for _, f in callevent.fold(other))
    later = [
        (3, at, "ticket.called", ticket),
        (4, at, "window.changed", win),
        (5, "2026-11-24T02:00:01+00:00", "queue.stats", stats),
    ]
    assert all(f is callevent.Form.ALL for _, f in callevent.fold(later))


@pytest.mark.postgres
def test_a_display_on_another_process_gets_one_call_event_per_call(pg_url):
    """Two processes on one PostgreSQL: the calls a clerk makes on one reach a combined
    display on the other (forwarded from the database) as one event each, with the same
    seqs the three events have on a separate display there."""
    _migrate(pg_url)

    async def main() -> None:
        with servers(pg_url, 2) as (a, b):
            async with (
                raw(a, "kiosk-1-secret") as kiosk,
                raw(a, "gateway-secret") as gw,
                raw(b, "display-1-secret") as combined,
                raw(b, "display-1-secret") as separate,
            ):
                for i in range(3):
                    assert (
                        await kiosk.reply(
                            await kiosk.send("ticket.issue", {"service": "general"}, f"t{i}")
                        )
                    )["ok"]
                assert (
                    await gw.reply(await gw.send("window.open", {"window": 1, "clerk": "c1"}, "o"))
                )["ok"]
                for d, args in ((combined, {"calls": "combined"}), (separate, {})):
                    assert (await d.reply(await d.send("subscribe", args)))["ok"]
                for i in range(2):
                    for op in ("call.next", "case.finish"):
                        r = await gw.reply(await gw.send(op, {"window": 1}, f"{op}{i}"))
                        assert r["ok"], r
                await combined.drain(1.0)
                await separate.drain(0.2)
        calls = [m for m in combined.events() if m["event"] == "call"]
        assert len(calls) == 2
        assert not [m for m in combined.events() if m["event"] == "ticket.called"]
        called = [m["seq"] for m in separate.events() if m["event"] == "ticket.called"]
        assert [c["data"]["seqs"][0] for c in calls] == called
        seqs = [m["seq"] for m in combined.events()]
        assert seqs == sorted(set(seqs))

    asyncio.run(asyncio.wait_for(main(), 120))
