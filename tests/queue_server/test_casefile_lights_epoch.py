"""The lights sweep looks at every open case only when a light may have moved (issue 10):
on a new hall-local day, after a calendar load, and once after every start; not every
minute. The server's clock is injected and advanced; the sweep is called as the sweeper
calls it (its background loop is parked with a long interval), so nothing is timed.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from queue_server.client import HallClient

from .harness import Clock, connected, running_hall
from .test_casefiles import Events, load_calendar

PARKED = 3600.0  # the background sweeper never wakes during a test


async def _open_case(kiosk: HallClient, gw: HallClient) -> dict:
    await kiosk.request("ticket.issue", {"service": "marriage"})
    await gw.request("window.open", {"window": 2, "clerk": "c-2"})
    await gw.request("call.next", {"window": 2})
    return (await gw.request("case.finish", {"window": 2}))["casefile"]


def test_the_full_look_runs_on_a_new_day_or_calendar_and_after_a_restart(config, db_url):
    clock = Clock()  # Tue 24 Nov 2026, 10:00 in Shanghai

    async def main() -> None:
        events = Events()
        async with (
            running_hall(config, db_url, clock, sweep_interval=PARKED) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
            connected(hall.port, "supervisor-secret", subscribe=True, on_event=events),
        ):
            await hall._sweep_lights()
            assert hall.lights_checks == 1  # at once after the start
            case = await _open_case(kiosk, gw)  # no calendar yet: no due day, no light
            assert (case["due_on"], case["light"]) == (None, None)
            for _ in range(60):  # an hour of minutes on the same day: no full look
                clock.advance(minutes=1)
                await hall._sweep_lights()
            assert hall.lights_checks == 1

            # The calendar is loaded (hallq calendar load, another process): the next
            # minute's look sets the due day and the light.
            load_calendar(db_url)
            clock.advance(minutes=1)
            await hall._sweep_lights()
            assert hall.lights_checks == 2
            lit = await events.wait_for("casefile.light", 1)
            assert (lit[0]["light"], lit[0]["due_on"]) == ("green", "2026-11-27")

            # Thursday 26 Nov from 00:00: a new day, yellow. A step written with the old day
            # may commit just after the day's first look, so its first minutes are looked
            # at each (00:00, 00:01, 00:02); then none for the rest of the day.
            clock.now = dt.datetime(2026, 11, 25, 16, 0, 30, tzinfo=dt.UTC)
            await hall._sweep_lights()
            assert hall.lights_checks == 3
            assert (await events.wait_for("casefile.light", 2))[1]["light"] == "yellow"
            for _ in range(3):
                clock.advance(minutes=1)  # 00:01, 00:02, 00:03
                await hall._sweep_lights()
            assert hall.lights_checks == 5
            for _ in range(30):
                clock.advance(minutes=30)  # to 15:03, the same Thursday
                await hall._sweep_lights()
            assert hall.lights_checks == 5
            assert len(events.of("casefile.light")) == 2  # each change announced once

        # Down from Thursday afternoon to Monday 30 Nov: the case ran past its due day
        # (Friday) meanwhile. The first look after the start finds it red, straight from
        # yellow, announced once.
        clock.now = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
        events = Events()
        async with (
            running_hall(config, db_url, clock, sweep_interval=PARKED) as hall,
            connected(hall.port, "supervisor-secret", subscribe=True, on_event=events),
        ):
            await hall._sweep_lights()
            assert hall.lights_checks == 1
            lit = await events.wait_for("casefile.light", 1)
            assert (lit[0]["light"], lit[0]["was"], lit[0]["number"]) == (
                "red",
                "yellow",
                case["number"],
            )
            for _ in range(10):
                clock.advance(minutes=1)
                await hall._sweep_lights()
            assert hall.lights_checks == 1
            assert len(events.of("casefile.light")) == 1

    asyncio.run(main())
