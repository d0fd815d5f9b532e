"""The server's minute sweep of red lights, as the sweeper calls it (session 4 review).

Issue 10's once-a-day look at the case files and issue 11's every-minute look at the
ledger were merged into one ``_sweep_lights``. Each half's store tests call the store
directly; these drive the merged function through a running server with an injected
clock, so dropping either half, or keeping the day's epoch when its look failed, turns
a test red. The background sweeper is parked: nothing here is timed.
"""

from __future__ import annotations

import asyncio

import pytest

from queue_server.client import HallClient

from .harness import Clock, connected, running_hall
from .test_casefile_lights_epoch import PARKED, _open_case
from .test_casefiles import Events, load_calendar


async def _bad_rating(kiosk: HallClient, gw: HallClient) -> None:
    await kiosk.request("ticket.issue", {"service": "marriage"})
    await gw.request("window.open", {"window": 2, "clerk": "c-2"})
    await gw.request("call.next", {"window": 2})
    await gw.request("case.finish", {"window": 2})
    await gw.request("rating.submit", {"window": 2, "level": 1})


def test_an_overdue_ledger_record_turns_red_in_the_servers_sweep_once(config, db_url):
    clock = Clock()  # Tue 24 Nov 2026, 10:00 in Shanghai

    async def main() -> None:
        events = Events()
        load_calendar(db_url)
        async with (
            running_hall(config, db_url, clock, sweep_interval=PARKED) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
            connected(hall.port, "supervisor-secret", subscribe=True, on_event=events),
        ):
            await _bad_rating(kiosk, gw)
            await hall._sweep_lights()
            assert events.of("ledger.overdue") == []  # contact is due tomorrow
            clock.advance(days=2)  # Thursday: Wednesday's contact is late
            await hall._sweep_lights()
            (red,) = await events.wait_for("ledger.overdue", 1)
            assert (red["department"], red["due"]) == ("civil", "2026-11-25")
            for _ in range(5):
                clock.advance(minutes=1)
                await hall._sweep_lights()
            await asyncio.sleep(0)
            assert len(events.of("ledger.overdue")) == 1  # announced once

    asyncio.run(main())


def test_a_full_look_that_failed_is_tried_again_the_next_minute(config, db_url):
    clock = Clock()

    async def main() -> None:
        events = Events()
        async with (
            running_hall(config, db_url, clock, sweep_interval=PARKED) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
            connected(hall.port, "supervisor-secret", subscribe=True, on_event=events),
        ):
            await hall._sweep_lights()
            await _open_case(kiosk, gw)
            load_calendar(db_url)  # the epoch changes: the next minute looks at the cases
            real = hall.ops.casefiles.sweep_lights
            calls = 0

            def fails_once(conn, now):  # noqa: ANN001, ANN202
                nonlocal calls
                calls += 1
                if calls == 1:
                    raise OSError("disk went away for a moment")
                return real(conn, now)

            hall.ops.casefiles.sweep_lights = fails_once
            clock.advance(minutes=1)
            with pytest.raises(OSError):
                await hall._sweep_lights()
            assert events.of("casefile.light") == []
            clock.advance(minutes=1)
            await hall._sweep_lights()
            (lit,) = await events.wait_for("casefile.light", 1)
            assert lit["light"] == "green" and calls == 2

    asyncio.run(main())
