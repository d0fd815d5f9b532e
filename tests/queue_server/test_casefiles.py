"""Promised cases end to end over real WebSockets, on SQLite and PostgreSQL.

A marriage registration (promised: 3 working days) goes from the window through the
civil department's back office to the pick-up window, is suspended and resumed, turns
yellow and red on the server's clock (injected, advanced by days, never slept on), is
extended, and is delivered. A server that is down while a case runs late turns it red
at its first sweep after the restart, announced once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import tomllib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from queue_server.client import HallClient, RequestError
from queue_server.core.calendar import parse_year
from queue_server.core.casefile import CaseOp
from queue_server.core.permissions import Actor
from queue_server.store import db, workdays
from queue_server.store import schema as s
from queue_server.store.ops import Outcome

from .harness import Clock, connected, running_hall
from .test_calendar import DEMO_2026

CIVIL = {"officer": "o-civil", "approver": "a-civil", "head": "h-civil"}
# T0 of the harness: Tuesday 24 Nov 2026, 10:00 in Shanghai.


def load_calendar(url: str) -> None:
    engine = db.open_engine(url)
    db.upgrade(engine)
    year = parse_year(tomllib.loads(DEMO_2026.read_text(encoding="utf-8")))
    with engine.begin() as conn:
        workdays.load_year(conn, year, "test", dt.datetime.now(dt.UTC))
    engine.dispose()


@contextlib.asynccontextmanager
async def office(port: int, role: str) -> AsyncIterator[HallClient]:
    staff = {"clerk": CIVIL[role], "pin": "1234", "role": role}
    client = HallClient(f"ws://127.0.0.1:{port}/", staff=staff, name=role)
    await client.start()
    await client.wait_online(5)
    try:
        yield client
    finally:
        await client.close()


class Events:
    """What a subscribed supervisor console receives."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.changed = asyncio.Event()

    async def __call__(self, kind: str, _seq: int | None, data: dict[str, Any]) -> None:
        self.seen.append((kind, data))
        self.changed.set()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [d for k, d in self.seen if k == kind]

    async def wait_for(self, kind: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        async def until() -> None:
            while len(self.of(kind)) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), timeout)
        return self.of(kind)


async def refused(coro: Any) -> str:
    with pytest.raises(RequestError) as exc:
        await coro
    return exc.value.code


def test_a_promised_case_from_the_window_to_delivery(config, db_url):
    load_calendar(db_url)
    clock = Clock()

    async def main() -> None:
        events = Events()
        async with (
            running_hall(config, db_url, clock, sweep_interval=0.02) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
            connected(hall.port, "supervisor-secret", subscribe=True, on_event=events) as sup,
            office(hall.port, "officer") as officer,
            office(hall.port, "approver") as approver,
            connected(hall.port, "clerk-1-secret") as pickup,
        ):
            await kiosk.request("ticket.issue", {"service": "marriage"})
            await gw.request("window.open", {"window": 2, "clerk": "c-2"})
            await gw.request("call.next", {"window": 2})
            done = await gw.request("case.finish", {"window": 2})
            case = done["casefile"]
            number = case["number"]
            assert number == "T2026-00001"
            assert (case["state"], case["due_on"], case["light"]) == (
                "accepted",
                "2026-11-27",  # Wed 25, Thu 26, Fri 27 Nov
                "green",
            )
            assert (await events.wait_for("casefile.opened", 1))[0]["number"] == number

            # B reviews; the same request again (same key) is answered once.
            r1 = await officer.request("casefile.review", {"number": number}, key="rev-1")
            r2 = await officer.request("casefile.review", {"number": number}, key="rev-1")
            assert r1 == r2 and r1["state"] == "in_review"
            assert await refused(officer.request("casefile.decide", {"number": number})) == (
                "forbidden"
            )
            assert await refused(pickup.request("casefile.deliver", {"number": number})) == (
                "invalid_state"
            )
            assert await refused(officer.request("casefile.get", {"number": "T2026-99999"})) == (
                "unknown_case"
            )

            # Wed 25 Nov: materials missing, the clock stops; Mon 30 Nov they are brought.
            clock.advance(days=1)
            sus = await officer.request(
                "casefile.suspend", {"number": number, "materials": "户口簿原件"}
            )
            assert sus["state"] == "suspended"
            clock.advance(days=5)
            res = await officer.request("casefile.resume", {"number": number})
            # It waited 26, 27, 30 Nov: three working days given back -> Wed 2 Dec.
            assert (res["state"], res["due_on"], res["suspended_days"]) == (
                "in_review",
                "2026-12-02",
                3,
            )
            assert res["light"] == "green"  # 1, 2 Dec left

            # Tue 1 Dec: one working day left -> yellow, from the sweeper.
            clock.advance(days=1)
            lights = await events.wait_for("casefile.light", 1)
            assert (lights[0]["light"], lights[0]["was"], lights[0]["days_left"]) == (
                "yellow",
                "green",
                1,
            )
            await approver.request("casefile.decide", {"number": number, "note": "符合条件"})

            # Thu 3 Dec: past due -> red, once, however many sweeps follow.
            clock.advance(days=2)
            lights = await events.wait_for("casefile.light", 2)
            assert lights[1]["light"] == "red" and lights[1]["department"] == "civil"
            for _ in range(3):
                clock.advance(minutes=2)
                await asyncio.sleep(0.1)
            assert len(events.of("casefile.light")) == 2

            # A approves two more working days: due Fri 4 Dec, yellow again.
            ext = await approver.request(
                "casefile.extend", {"number": number, "days": 2, "reason": "需专家论证"}
            )
            assert (ext["due_on"], ext["light"], ext["extended_days"]) == (
                "2026-12-04",
                "yellow",
                2,
            )
            listed = await approver.request("casefile.list", {})
            assert [c["number"] for c in listed["cases"]] == [number]
            assert listed["counts"] == {"red": 0, "yellow": 1, "green": 0}
            assert await refused(approver.request("casefile.list", {"department": "party"})) == (
                "forbidden"
            )

            await officer.request("casefile.ready", {"number": number})
            got = await pickup.request("casefile.get", {"number": number})
            assert got["state"] == "ready"
            delivered = await pickup.request("casefile.deliver", {"number": number})
            assert delivered["state"] == "delivered" and delivered["closed_at"]

            full = await sup.request("casefile.get", {"number": number})
            assert [st["op"] for st in full["steps"]] == [
                "accept",
                "review",
                "suspend",
                "resume",
                "decide",
                "extend",
                "ready",
                "deliver",
            ]
            steps = {st["op"]: st for st in full["steps"]}
            assert steps["suspend"]["materials"] == "户口簿原件"
            assert steps["resume"]["waited_days"] == 3
            assert steps["extend"]["approver"] == "a-civil" and steps["extend"]["days"] == 2
            changed = events.of("casefile.changed")
            assert [c["op"] for c in changed] == [
                "review",
                "suspend",
                "resume",
                "decide",
                "extend",
                "ready",
                "deliver",
            ]
            # Events carry no reasons or materials (staff may write personal matters there).
            assert all("户口簿" not in json.dumps(d, ensure_ascii=False) for _k, d in events.seen)

        engine = db.open_engine(db_url)
        with engine.connect() as conn:
            audited = (
                conn.execute(select(s.audit.c.op).where(s.audit.c.op.like("casefile.%")))
                .scalars()
                .all()
            )
        engine.dispose()
        # The retried review is answered from its key: audited once.
        assert audited.count("casefile.review") == 1
        assert {"casefile.suspend", "casefile.extend", "casefile.deliver"} <= set(audited)

    asyncio.run(main())


def test_a_case_that_ran_late_while_the_server_was_down_turns_red_at_restart(config, db_url):
    load_calendar(db_url)
    clock = Clock()

    async def main() -> None:
        async with (
            running_hall(config, db_url, clock, sweep_interval=0.02) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
        ):
            await kiosk.request("ticket.issue", {"service": "marriage"})
            await gw.request("window.open", {"window": 2, "clerk": "c-2"})
            await gw.request("call.next", {"window": 2})
            number = (await gw.request("case.finish", {"window": 2}))["casefile"]["number"]
        clock.advance(days=10)  # the hall was closed for a while; the case is long overdue
        for _restart in range(2):
            async with (
                running_hall(config, db_url, clock, sweep_interval=0.02) as hall,
                connected(hall.port, "supervisor-secret") as sup,
            ):
                for _ in range(100):
                    got = await sup.request("casefile.get", {"number": number})
                    if got["light"] == "red":
                        break
                    await asyncio.sleep(0.05)
                assert got["light"] == "red"
                for _ in range(5):  # more sweeps find nothing more to say
                    clock.advance(minutes=2)
                    await asyncio.sleep(0.05)
        engine = db.open_engine(db_url)
        with engine.connect() as conn:
            announced = [
                json.loads(p)
                for p in conn.execute(
                    select(s.events.c.payload).where(s.events.c.type == "casefile.light")
                ).scalars()
            ]
        engine.dispose()
        # Once, straight from green to red (no yellow was missed), over two restarts.
        assert [(a["number"], a["was"], a["light"]) for a in announced] == [
            (number, "green", "red")
        ]

    asyncio.run(main())


def test_without_a_calendar_the_case_opens_without_a_due_day_until_one_is_loaded(config, db_url):
    clock = Clock()

    async def main() -> None:
        events = Events()
        async with (
            running_hall(config, db_url, clock, sweep_interval=0.02) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
            connected(hall.port, "supervisor-secret", subscribe=True, on_event=events),
        ):
            await kiosk.request("ticket.issue", {"service": "marriage"})
            await gw.request("window.open", {"window": 2, "clerk": "c-2"})
            await gw.request("call.next", {"window": 2})
            case = (await gw.request("case.finish", {"window": 2}))["casefile"]
            assert case["due_on"] is None and case["warning"] == "no_calendar"
            load_calendar(db_url)
            clock.advance(minutes=2)  # the next lights sweep finds the calendar
            lights = await events.wait_for("casefile.light", 1)
            assert (lights[0]["light"], lights[0]["due_on"]) == ("green", "2026-11-27")

    asyncio.run(main())


def test_on_time_and_early_figures(config, db_url):
    """Five marriage cases accepted Tue 24 Nov 2026, due Fri 27 Nov: ready Thu 26 (early:
    one working day to spare), ready Fri 27 (on time), ready Sat 28 (late), refused Tue 24
    (early), one still open and red on Sat 28."""
    load_calendar(db_url)
    clock = Clock()

    async def main() -> None:
        async with (
            running_hall(config, db_url, clock, sweep_interval=0.02) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
            connected(hall.port, "supervisor-secret") as sup,
            office(hall.port, "officer") as officer,
            office(hall.port, "approver") as approver,
            office(hall.port, "head") as head,
        ):
            await gw.request("window.open", {"window": 2, "clerk": "c-2"})
            numbers = []
            for _ in range(5):
                await kiosk.request("ticket.issue", {"service": "marriage"})
                await gw.request("call.next", {"window": 2})
                numbers.append(
                    (await gw.request("case.finish", {"window": 2}))["casefile"]["number"]
                )
            for n in numbers[:3]:
                await officer.request("casefile.review", {"number": n})
                await approver.request("casefile.decide", {"number": n})
            await officer.request("casefile.refuse", {"number": numbers[3], "reason": "不符合条件"})
            for n, days in zip(numbers[:3], (2, 1, 1), strict=True):
                clock.advance(days=days)  # Thu 26, Fri 27, Sat 28
                await officer.request("casefile.ready", {"number": n})
            for _ in range(100):  # the sweeper turns the open one red on Sat 28
                fig = await sup.request(
                    "casefile.figures", {"from": "2026-11-01", "to": "2026-11-30"}
                )
                if fig["total"]["overdue_open"]:
                    break
                await asyncio.sleep(0.05)
            total = fig["total"]
            assert {k: total[k] for k in ("accepted", "finished", "on_time", "early", "late")} == {
                "accepted": 5,
                "finished": 4,
                "on_time": 3,
                "early": 2,
                "late": 1,
            }
            assert (total["open"], total["overdue_open"], total["refused"]) == (1, 1, 1)
            assert total["yellow_open"] == 0
            assert (total["on_time_rate"], total["early_rate"]) == (0.75, 0.5)
            assert [r["key"] for r in fig["rows"]] == ["civil"]
            by_window = await sup.request(
                "casefile.figures", {"by": "window", "from": "2026-11-24"}
            )
            assert [(r["key"], r["accepted"]) for r in by_window["rows"]] == [(2, 5)]
            by_clerk = await head.request("casefile.figures", {"by": "clerk", "from": "2026-11-24"})
            assert [(r["key"], r["early"]) for r in by_clerk["rows"]] == [("c-2", 2)]
            assert await refused(head.request("casefile.figures", {"department": "party"})) == (
                "forbidden"
            )
            assert await refused(sup.request("casefile.figures", {"from": "30 Nov"})) == (
                "bad_request"
            )
            # The reports' period rule (core.accountability.check_range): reversed, or
            # over a year, is a clear refusal, not a scan of years.
            for period, code in (
                ({"from": "2026-11-30", "to": "2026-11-01"}, "bad_period"),
                ({"from": "2020-01-01", "to": "2026-11-30"}, "period_too_long"),
            ):
                assert await refused(sup.request("casefile.figures", period)) == code
            none = await sup.request("casefile.figures", {"from": "2026-10-01", "to": "2026-10-31"})
            assert none["total"]["accepted"] == 0 and none["total"]["on_time_rate"] is None

    asyncio.run(main())


def test_hallq_report_cases_prints_the_figures(config, tmp_path):
    from .harness import Store
    from .test_config import TEST_HALL, run_cli

    url = f"sqlite:///{tmp_path / 'hall.db'}"
    load_calendar(url)
    clock = Clock()
    store = Store(config, url, clock)
    try:
        store.open(2)
        numbers = []
        for _ in range(2):
            store.issue("marriage")
            store.call_next(2)
            numbers.append(store.finish(2)["casefile"]["number"])
        officer = Actor("o-civil", "officer", department="civil")
        approver = Actor("a-civil", "approver", department="civil")

        def step(actor: Actor, op: CaseOp, number: str) -> None:
            store.run(
                lambda c, a, args, n: Outcome(*store.ops.casefiles.transition(c, a, args, n, op)),
                actor,
                {"number": number},
            )

        step(officer, CaseOp.REVIEW, numbers[0])
        step(approver, CaseOp.DECIDE, numbers[0])
        step(officer, CaseOp.READY, numbers[0])  # the same day: early
    finally:
        store.close()
    out = run_cli(
        "report",
        "cases",
        "--config",
        str(TEST_HALL),
        "--db",
        url,
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "promised cases accepted 2026-11-01 to 2026-11-30, by department"
    assert lines[1].split() == [
        "department",
        "accepted",
        "finished",
        "on_time",
        "early",
        "late",
        "open",
        "overdue_open",
        "yellow_open",
        "suspended",
        "extended",
        "refused",
        "on-time",
        "%",
        "early",
        "%",
    ]
    assert lines[2].split() == [
        "civil",
        "2",
        "1",
        "1",
        "1",
        "0",
        "1",
        "0",
        "0",
        "0",
        "0",
        "0",
        "100.0",
        "100.0",
    ]
    assert lines[3].split()[0] == "total"
    bad = run_cli("report", "cases", "--config", str(TEST_HALL), "--db", url, "--from", "nope")
    assert bad.returncode == 1 and "from must be a date" in bad.stderr


def test_two_servers_on_one_postgresql_announce_a_light_once(config, pg_url):
    """Several server processes share a PostgreSQL hall: both sweep the same cases on
    the same clock, and each change of light is announced by one of them only."""
    load_calendar(pg_url)
    clock = Clock()

    async def main() -> None:
        async with (
            running_hall(config, pg_url, clock, sweep_interval=0.01) as one,
            running_hall(config, pg_url, clock, sweep_interval=0.01) as two,
            connected(one.port, "kiosk-1-secret") as kiosk,
            connected(two.port, "gateway-secret") as gw,
        ):
            await gw.request("window.open", {"window": 2, "clerk": "c-2"})
            for _ in range(6):
                await kiosk.request("ticket.issue", {"service": "marriage"})
                await gw.request("call.next", {"window": 2})
                await gw.request("case.finish", {"window": 2})
            for days in (2, 2):  # Thu 26 Nov: yellow; Sat 28 Nov: red
                clock.advance(days=days)
                await asyncio.sleep(0.5)  # many sweeps of both servers
        engine = db.open_engine(pg_url)
        with engine.connect() as conn:
            announced = [
                json.loads(p)
                for p in conn.execute(
                    select(s.events.c.payload).where(s.events.c.type == "casefile.light")
                ).scalars()
            ]
        engine.dispose()
        assert sorted((a["number"], a["light"]) for a in announced) == sorted(
            (f"T2026-{i:05d}", light) for i in range(1, 7) for light in ("yellow", "red")
        )

    asyncio.run(main())


def test_a_server_started_without_this_years_calendar_says_so(config, tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'hall.db'}"

    async def main() -> None:
        async with running_hall(config, url, Clock()):
            pass

    with caplog.at_level("WARNING", logger="hallq.server"):
        asyncio.run(main())
    assert any(
        r.getMessage().startswith("calendar.2026: no working-day calendar loaded for 2026")
        for r in caplog.records
    )
    load_calendar(url)
    caplog.clear()
    with caplog.at_level("WARNING", logger="hallq.server"):
        asyncio.run(main())
    assert not any("calendar.2026" in r.getMessage() for r in caplog.records)


def test_the_ticket_follows_its_promised_case_after_its_day(config, db_url):
    """A promised case takes days: the ticket's QR keeps opening the phone page while the
    case is open, and for 30 days after it closed; an ordinary ticket's stops at the end
    of its day."""
    load_calendar(db_url)
    clock = Clock()

    async def main() -> None:
        async with (
            running_hall(config, db_url, clock) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
        ):
            promised = await kiosk.request("ticket.issue", {"service": "marriage"})
            plain = await kiosk.request("ticket.issue", {"service": "general"})
            await gw.request("window.open", {"window": 2, "clerk": "c-2"})
            await gw.request("call.number", {"window": 2, "label": promised["label"]})
            number = (await gw.request("case.finish", {"window": 2}))["casefile"]["number"]
            clock.advance(days=2)

            async def phone(token: str) -> Any:
                client = HallClient(f"ws://127.0.0.1:{hall.port}/", ticket=token, name="p")
                try:
                    await client.start()
                    await client.wait_online(3)
                    return await client.request("ticket.status", {})
                except Exception:
                    return None
                finally:
                    await client.close()

            status = await phone(promised["token"])
            assert status is not None and status["casefile"]["number"] == number
            assert await phone(plain["token"]) is None  # yesterday's ordinary ticket
            async with office(hall.port, "approver") as approver:
                await approver.request("casefile.refuse", {"number": number, "reason": "x"})
            clock.advance(days=29)
            assert (await phone(promised["token"]))["casefile"]["state"] == "refused"
            clock.advance(days=2)
            assert await phone(promised["token"]) is None  # 31 days after it closed

    asyncio.run(main())
