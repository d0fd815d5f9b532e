"""A case number typed at the kiosk (issue 10), over real WebSockets on SQLite and PostgreSQL.

Case numbers run in sequence: anyone can guess one. The kiosk shows a case only with the
check code of the ticket it was opened for, counts wrong codes per case (the fifth locks
the case's lookups until the hall's day ends) and wrong lookups per kiosk, in the
database, and shows no more than the phone page does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from queue_server.client import HallClient
from queue_server.core.errors import Forbidden
from queue_server.core.permissions import Actor
from queue_server.core.rules import check_code
from queue_server.store import schema as s

from .harness import Clock, Store, connected, running_hall
from .test_casefiles import load_calendar, office, refused

CITIZEN_KEYS = {"number", "service", "state", "due_on", "days_left", "ready", "progress"}


async def _promised_case(kiosk: HallClient, gw: HallClient) -> tuple[str, str, str]:
    """A marriage registration finished at window 2: (case number, the ticket's check,
    its token)."""
    ticket = await kiosk.request("ticket.issue", {"service": "marriage"})
    await gw.request("window.open", {"window": 2, "clerk": "c-2"})
    await gw.request("call.next", {"window": 2})
    done = await gw.request("case.finish", {"window": 2})
    return done["casefile"]["number"], ticket["check"], ticket["token"]


def _wrong(check: str) -> str:
    return f"{(int(check) + 1) % 10000:04d}"


def test_the_kiosk_shows_a_case_to_the_holder_of_its_code_and_locks_guessers(config, db_url):
    load_calendar(db_url)
    clock = Clock()

    async def main() -> None:
        async with (
            running_hall(config, db_url, clock) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
            office(hall.port, "officer") as officer,
            office(hall.port, "approver") as approver,
        ):
            number, check, token = await _promised_case(kiosk, gw)
            seen = await kiosk.request("casefile.lookup", {"number": number, "check": check})
            assert set(seen) == CITIZEN_KEYS  # no light, window, clerk, ticket
            assert seen == {
                "number": number,
                "service": "marriage",
                "state": "accepted",
                "due_on": "2026-11-27",
                "days_left": 3,
                "ready": False,
                "progress": ["accepted"],
            }
            # The phone page shows the same.
            status = await kiosk.request("ticket.status", {"token": token})
            assert status["casefile"] == seen
            assert (
                await refused(
                    kiosk.request("casefile.lookup", {"number": "T2026-09999", "check": check})
                )
                == "unknown_case"
            )

            # Four wrong codes, then the right one: the count is cleared.
            for _ in range(4):
                assert (
                    await refused(
                        kiosk.request("casefile.lookup", {"number": number, "check": _wrong(check)})
                    )
                    == "wrong_check"
                )
            await kiosk.request("casefile.lookup", {"number": number, "check": check})
            # Five wrong in a row lock the case's lookups, the right code included...
            for _ in range(5):
                assert (
                    await refused(
                        kiosk.request("casefile.lookup", {"number": number, "check": _wrong(check)})
                    )
                    == "wrong_check"
                )
            assert (
                await refused(kiosk.request("casefile.lookup", {"number": number, "check": check}))
                == "locked"
            )
            # ... for the rest of the hall's day (not a few minutes: four digits) ...
            clock.advance(hours=13, minutes=50)
            assert (
                await refused(kiosk.request("casefile.lookup", {"number": number, "check": check}))
                == "locked"
            )
            # ... until it ends (Wed 25 Nov).
            clock.advance(minutes=15)
            await officer.request("casefile.review", {"number": number})
            await approver.request("casefile.decide", {"number": number})
            await officer.request("casefile.ready", {"number": number})
            seen = await kiosk.request("casefile.lookup", {"number": number, "check": check})
            assert (seen["state"], seen["ready"], seen["days_left"]) == ("ready", True, None)
            assert seen["progress"] == ["accepted", "in_review", "decided", "ready"]

    asyncio.run(main())


def test_wrong_lookups_in_a_row_pause_the_kiosk(config, db_url):
    """A sweep across case numbers (each taking its few guesses) meets the kiosk's own
    count: twenty wrong lookups in a row, unknown numbers included, pause it."""
    load_calendar(db_url)
    clock = Clock()

    async def main() -> None:
        async with (
            running_hall(config, db_url, clock) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
        ):
            number, check, _ = await _promised_case(kiosk, gw)
            for i in range(16):
                code = await refused(
                    kiosk.request(
                        "casefile.lookup", {"number": f"T2026-{i + 100:05d}", "check": check}
                    )
                )
                assert code == "unknown_case"
            for _ in range(4):  # wrong codes count for the kiosk too
                assert (
                    await refused(
                        kiosk.request("casefile.lookup", {"number": number, "check": _wrong(check)})
                    )
                    == "wrong_check"
                )
            assert (
                await refused(kiosk.request("casefile.lookup", {"number": number, "check": check}))
                == "locked"
            )
            clock.advance(minutes=16)
            seen = await kiosk.request("casefile.lookup", {"number": number, "check": check})
            assert seen["number"] == number

    asyncio.run(main())


def test_a_receipt_is_only_for_the_gateway_of_the_cases_window(config, db_url):
    """The receipt carries the citizen's proofs: a gateway that serves another window is
    refused; the one of the case's window gets the check code and the phone link."""
    load_calendar(db_url)
    store = Store(config, db_url)
    try:
        store.issue("marriage")
        store.open(2)
        store.call_next(2)
        number = store.finish(2)["casefile"]["number"]
        ticket = store.read(lambda conn, _now: conn.execute(select(s.tickets.c.token)).scalar_one())

        def receipt(actor: Actor) -> Any:
            return store.committer.call(
                lambda conn, now: (
                    store.ops.casefiles.receipt(conn, actor, {"number": number}, now),
                    [],
                )
            )[0]

        with pytest.raises(Forbidden):
            receipt(Actor("gateway-w1", "gateway", window=1))
        got = receipt(Actor("gateway-w2", "gateway", window=2))
        assert (got["number"], got["window"], got["check"]) == (number, 2, check_code(ticket))
        assert got["url"].endswith(f"/t/{ticket}")
    finally:
        store.close()
