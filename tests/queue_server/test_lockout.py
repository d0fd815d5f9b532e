"""Wrong PINs are counted in the database, before they are checked.

Found on main: sign-ins in flight at once read one stale failure count, so 499 wrong
PINs in parallel bursts were all checked and ``locked`` never came; and the count lived
in one process's memory, so a second server process behind the same PostgreSQL
started from zero. The same lock-out guards a kiosk's priority ticket, which a hall
guide confirms with their own id and PIN.
"""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from queue_server import protocol as p
from queue_server.client import HallClient

from .harness import Clock, connected, running_hall


async def _hello(port: int, **args: object) -> str:
    async with connect(f"ws://127.0.0.1:{port}/") as ws:
        await ws.send(p.request("h", "hello", args))
        reply = json.loads(await ws.recv())
    return "ok" if reply["ok"] else reply["error"]["code"]


def test_a_parallel_burst_of_wrong_pins_is_stopped_after_five(config, db_url):
    async def main() -> None:
        async with running_hall(config, db_url, Clock()) as hall:
            burst = [_hello(hall.port, clerk="c001", pin=f"{n:04d}", window=1) for n in range(30)]
            codes = await asyncio.gather(*burst)
            assert codes.count("unauthorized") == 5, codes  # only five guesses were checked
            assert codes.count("locked") == 25
            assert await _hello(hall.port, clerk="c001", pin="1234", window=1) == "locked"

    asyncio.run(main())


def test_the_lock_runs_out_on_the_servers_clock(config, sqlite_url):
    async def main() -> None:
        clock = Clock()
        async with running_hall(config, sqlite_url, clock) as hall:
            for _ in range(5):
                assert await _hello(hall.port, clerk="c001", pin="0000", window=1) == "unauthorized"
            assert await _hello(hall.port, clerk="c001", pin="1234", window=1) == "locked"
            clock.advance(minutes=4, seconds=59)
            assert await _hello(hall.port, clerk="c001", pin="1234", window=1) == "locked"
            clock.advance(seconds=2)
            assert await _hello(hall.port, clerk="c001", pin="1234", window=1) == "ok"
            # a success clears the count: four more wrong PINs do not lock
            for _ in range(4):
                assert await _hello(hall.port, clerk="c001", pin="0000", window=1) == "unauthorized"
            assert await _hello(hall.port, clerk="c001", pin="1234", window=1) == "ok"

    asyncio.run(main())


def test_two_server_processes_share_one_lock(config, pg_url):
    """Guesses spread over two servers on one PostgreSQL are counted together."""

    async def main() -> None:
        clock = Clock()
        async with (
            running_hall(config, pg_url, clock) as one,
            running_hall(config, pg_url, clock) as two,
        ):
            for i in range(5):
                port = (one, two)[i % 2].port
                assert await _hello(port, clerk="c001", pin="0000", window=1) == "unauthorized"
            assert await _hello(two.port, clerk="c001", pin="1234", window=1) == "locked"
            assert await _hello(one.port, clerk="c001", pin="1234", window=1) == "locked"

    asyncio.run(main())


def test_kiosk_priority_needs_a_staff_pin_checked_by_the_server(config, db_url):
    async def main() -> None:
        async with (
            running_hall(config, db_url, Clock()) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "admin-secret") as admin,
        ):
            ask = {"service": "general", "priority": "elderly"}
            codes = []
            for extra in ({}, {"staff": "c001"}, {"staff": "nobody", "staff_pin": "1234"}):
                try:
                    await kiosk.request("ticket.issue", {**ask, **extra})
                except Exception as exc:
                    codes.append(getattr(exc, "code", None))
            assert codes == ["staff_needed", "staff_needed", "unauthorized"]
            for _ in range(5):
                try:
                    await kiosk.request("ticket.issue", {**ask, "staff": "c001", "staff_pin": "9"})
                except Exception as exc:
                    codes.append(getattr(exc, "code", None))
            assert codes[3:] == ["unauthorized"] * 5
            # The same lock as a sign-in: the guide's id is locked everywhere now.
            assert await _hello(hall.port, clerk="c001", pin="1234", window=1) == "locked"
            ok = await kiosk.request("ticket.issue", {**ask, "staff": "c003", "staff_pin": "1234"})
            assert ok["priority"] == "elderly"
            # An admin console is staff already; no confirmation asked.
            assert (await admin.request("ticket.issue", ask))["priority"] == "elderly"

    asyncio.run(main())


def test_guesses_spread_over_many_ids_lock_the_address_and_supervisors_are_told(config, sqlite_url):
    async def main() -> None:
        async with running_hall(config, sqlite_url, Clock()) as hall:
            seen: list[tuple[str, dict]] = []
            async with connected(
                hall.port,
                "supervisor-secret",
                subscribe=True,
                on_event=lambda kind, seq, data: seen.append((kind, data)),
            ):
                for n in range(20):  # one PIN tried on twenty ids, none of them real
                    code = await _hello(hall.port, clerk=f"x{n:03d}", pin="1234", window=1)
                    assert code == "unauthorized"
                assert await _hello(hall.port, clerk="c001", pin="1234", window=1) == "locked"
                for _ in range(50):
                    if any(k == "signin.locked" for k, _ in seen):
                        break
                    await asyncio.sleep(0.05)
                locked = [d for k, d in seen if k == "signin.locked"]
                assert locked and locked[0]["kind"] == "addr" and locked[0]["who"] == "127.0.0.1"

    asyncio.run(main())


def test_a_phone_page_polling_in_a_loop_is_slowed_and_clerks_are_not(config, sqlite_url):
    import time

    async def main() -> None:
        async with (
            running_hall(config, sqlite_url, Clock()) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
        ):
            t = await kiosk.request("ticket.issue", {"service": "general"})
            phone = HallClient(f"ws://127.0.0.1:{hall.port}/", ticket=t["token"], name="phone")
            async with phone:
                started = time.monotonic()
                answered = refused = 0
                for _ in range(40):
                    try:
                        await phone.request("ticket.status", {})
                        answered += 1
                    except Exception as exc:
                        assert getattr(exc, "code", None) == "rate_limited"
                        refused += 1
                elapsed = time.monotonic() - started
                # 5 at once, then one a second: bounded by the time it actually took.
                assert answered <= 5 + int(elapsed) + 1 and refused > 0
                await gw.request("window.open", {"window": 1, "clerk": "c-1"})
                assert (await gw.request("call.next", {"window": 1}))["ticket"]["id"] == t["id"]

    asyncio.run(main())
