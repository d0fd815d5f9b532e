"""The server's clock summarizes the days that ended (store/summaries.py): driven through a
running server's own sweep loop with an injected clock, so a sweep that forgot the
summaries turns this red. Waits on the database's state, never on wall time."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from queue_server.core import accountability as acc
from queue_server.store import db, kpis
from queue_server.store import schema as s

from .harness import Clock, connected, running_hall


def _days(url: str) -> set[dt.date]:
    engine = db.open_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(s.report_days.c.day)).scalars())
    finally:
        engine.dispose()


def test_the_sweep_summarizes_yesterday_and_the_report_reads_it(config, sqlite_url):
    clock = Clock()  # Tue 24 Nov 2026, 10:00 in Shanghai

    async def main() -> None:
        async with (
            running_hall(config, sqlite_url, clock, sweep_interval=0.02) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
        ):
            await kiosk.request("ticket.issue", {"service": "general"})
            await gw.request("window.open", {"window": 1, "clerk": "c-1"})
            await gw.request("call.next", {"window": 1})
            await gw.request("case.finish", {"window": 1})
            await gw.request("rating.submit", {"window": 1, "level": 5})
            assert _days(sqlite_url) == set()  # today is not over
            clock.advance(days=1)  # Wednesday: Tuesday has ended
            for _ in range(1000):
                if dt.date(2026, 11, 24) in _days(sqlite_url):
                    break
                await asyncio.sleep(0.02)
            assert dt.date(2026, 11, 24) in _days(sqlite_url)
            engine = db.open_engine(sqlite_url)
            try:
                with engine.connect() as conn, conn.begin():
                    period = acc.parse_period("2026-11-24")
                    fast = kpis.collect(conn, config, period)
                    raw = kpis.collect(conn, config, period, summaries=False)
            finally:
                engine.dispose()
            assert fast == raw and fast[0]["total"]["rated"] == 1

    asyncio.run(main())


def test_the_sweep_summarizes_a_closed_months_case_files(config, sqlite_url):
    """A promised case accepted in November: once December begins on the server's
    clock, the sweep summarizes November's case-file figures (store/casefile_summaries.py),
    and the figures read through the summary equal the raw recount."""
    from queue_server.store import casefile_summaries as cs

    clock = Clock()  # Tue 24 Nov 2026, 10:00 in Shanghai

    def months() -> set[dt.date]:
        engine = db.open_engine(sqlite_url)
        try:
            with engine.connect() as conn:
                return set(conn.execute(select(s.casefile_months.c.month)).scalars())
        finally:
            engine.dispose()

    async def main() -> None:
        async with (
            running_hall(config, sqlite_url, clock, sweep_interval=0.02) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
        ):
            await kiosk.request("ticket.issue", {"service": "marriage"})
            await gw.request("window.open", {"window": 2, "clerk": "c-2"})
            await gw.request("call.next", {"window": 2})
            done = await gw.request("case.finish", {"window": 2})
            assert done["casefile"]["state"] == "accepted"
            assert months() == set()  # November is not over
            clock.advance(days=7)  # Tue 1 Dec
            for _ in range(1000):
                if dt.date(2026, 11, 1) in months():
                    break
                await asyncio.sleep(0.02)
            assert months() == {dt.date(2026, 11, 1)}
            engine = db.open_engine(sqlite_url)
            try:
                with engine.connect() as conn:
                    a, b = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
                    fast = cs.grouped(conn, a, b)
                    assert fast == cs.grouped(conn, a, b, summaries=False)
                    assert fast[1]["accepted"] == fast[1]["open"] == 1
            finally:
                engine.dispose()

    asyncio.run(main())
