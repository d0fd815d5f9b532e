"""Pick-up by ticket (统一出件, issue 10), over real WebSockets on SQLite and PostgreSQL.

A citizen whose case is ready takes a ticket for the hall's pick-up service at the kiosk,
with the case number and the check code (or the QR of the ticket that opened the case);
the clerk who calls that ticket sees the case and records its delivery.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from queue_server.client import HallClient
from queue_server.config import ConfigError, HallConfig, load_config
from tests.conftest import TEST_HALL

from .harness import Clock, connected, running_hall
from .test_casefiles import load_calendar, office, refused

PICKUP = """
[[services]]
id = "pickup"
name = { zh = "统一出件", en = "Pick-up" }
area = "civil"
department = "civil"
queue = "A"
time_limit_minutes = 5

"""


def pickup_hall(tmp_path: Path, pickup_service: str = "pickup") -> Path:
    """The test hall with a pick-up service (in queue A, served by windows 1 and 2)."""
    text = TEST_HALL.read_text(encoding="utf-8")
    text = text.replace("[casefiles]\n", f'[casefiles]\npickup_service = "{pickup_service}"\n')
    text = text.replace("[[windows]]\n", PICKUP + "[[windows]]\n", 1)
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def hall_config(tmp_path: Path) -> HallConfig:
    return load_config(pickup_hall(tmp_path))


def test_the_pick_up_service_must_be_an_instant_service(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_config(pickup_hall(tmp_path, "marriage"))
    assert "casefiles.pickup_service" in str(exc.value)


async def _ready_case(kiosk: HallClient, gw: HallClient, port: int) -> tuple[str, dict]:
    """A marriage case accepted at window 2, reviewed, decided and ready."""
    ticket = await kiosk.request("ticket.issue", {"service": "marriage"})
    await gw.request("window.open", {"window": 2, "clerk": "c-2"})
    await gw.request("call.number", {"window": 2, "label": ticket["label"]})
    number = (await gw.request("case.finish", {"window": 2}))["casefile"]["number"]
    async with office(port, "officer") as officer, office(port, "approver") as approver:
        await officer.request("casefile.review", {"number": number})
        await approver.request("casefile.decide", {"number": number})
        await officer.request("casefile.ready", {"number": number})
    return number, ticket


def test_a_pick_up_ticket_brings_the_ready_case_to_the_clerk_who_calls_it(hall_config, db_url):
    load_calendar(db_url)

    async def main() -> None:
        async with (
            running_hall(hall_config, db_url, Clock()) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
            connected(hall.port, "clerk-1-secret") as clerk,
        ):
            number, opened = await _ready_case(kiosk, gw, hall.port)
            info = await kiosk.request("hall.info")
            assert info["pickup_service"] == "pickup"

            # A wrong code takes no number (and is counted like a lookup's).
            wrong = "1111" if opened["check"] != "1111" else "2222"
            take = {"service": "pickup", "casefile": number}
            assert await refused(kiosk.request("ticket.issue", {**take, "check": wrong})) == (
                "wrong_check"
            )
            # A case is brought only to the pick-up service.
            assert (
                await refused(
                    kiosk.request(
                        "ticket.issue",
                        {"service": "general", "casefile": number, "check": opened["check"]},
                    )
                )
                == "bad_request"
            )
            ticket = await kiosk.request("ticket.issue", {**take, "check": opened["check"]})
            assert ticket["pickup"] == [number]

            await clerk.request("window.open")
            called = await clerk.request("call.next")
            assert called["ticket"]["label"] == ticket["label"]
            seen = await clerk.request("casefile.pickups", {"ticket_id": ticket["id"]})
            assert [(c["number"], c["state"], c["actions"]) for c in seen["cases"]] == [
                (number, "ready", ["deliver"])
            ]
            done = await clerk.request("casefile.deliver", {"number": number})
            assert done["state"] == "delivered"
            seen = await clerk.request("casefile.pickups", {"ticket_id": ticket["id"]})
            assert [(c["number"], c["state"]) for c in seen["cases"]] == [(number, "delivered")]
            # Another window's clerk does not see what this ticket came for.
            async with connected(hall.port, "clerk-2-secret") as other:
                assert (
                    await refused(other.request("casefile.pickups", {"ticket_id": ticket["id"]}))
                    == "forbidden"
                )

    asyncio.run(main())


def test_the_earlier_tickets_qr_brings_its_case_and_a_case_not_ready_takes_no_number(
    hall_config, db_url
):
    load_calendar(db_url)

    async def main() -> None:
        async with (
            running_hall(hall_config, db_url, Clock()) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
            connected(hall.port, "admin-secret") as admin,
        ):
            # Not ready yet: refused, and no number is taken.
            waiting = await kiosk.request("ticket.issue", {"service": "marriage"})
            await gw.request("window.open", {"window": 2, "clerk": "c-2"})
            await gw.request("call.number", {"window": 2, "label": waiting["label"]})
            early = (await gw.request("case.finish", {"window": 2}))["casefile"]["number"]
            assert (
                await refused(
                    kiosk.request(
                        "ticket.issue",
                        {"service": "pickup", "casefile": early, "check": waiting["check"]},
                    )
                )
                == "not_ready"
            )
            assert (
                await refused(
                    kiosk.request("ticket.issue", {"service": "pickup", "case_token": "no-such"})
                )
                == "unknown_case"
            )

            number, opened = await _ready_case(kiosk, gw, hall.port)
            ticket = await kiosk.request(
                "ticket.issue", {"service": "pickup", "case_token": opened["token"]}
            )
            assert ticket["pickup"] == [number]
            assert ticket["label"] == "A001"  # the refusals above took no number
            seen = await admin.request("casefile.pickups", {"label": ticket["label"]})
            assert [c["number"] for c in seen["cases"]] == [number]

    asyncio.run(main())
