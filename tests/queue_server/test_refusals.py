"""A refused operation leaves nothing but its audit row, through the server's own path.

Each refusal below is sent over a real connection to a real server (so it runs in the
server's per-operation savepoint, as in the hall), and every table is compared before and
after: only one audit row may be new, naming the refusal. A refused ticket must not use
up a number or count toward a daily cap; a refused call must not touch a window.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from queue_server.core import rules
from queue_server.store import db
from queue_server.store import schema as s

from .harness import Clock, connected, running_hall

KEPT = {"audit", "sign_in_failures"}
"""Tables a refusal may write to: its audit row, and a counted wrong guess."""


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = db.open_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=lambda r: repr(r))
                for t in s.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def test_refusals_leave_only_their_audit_row(config, db_url):
    async def main() -> list[str]:
        async with (
            running_hall(config, db_url, Clock()) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "gateway-secret") as gw,
            connected(hall.port, "clerk-1-secret") as clerk,
        ):
            await gw.request("window.open", {"window": 1, "clerk": "c-1"})
            await gw.request("window.open", {"window": 3, "clerk": "c-3"})
            a1 = await kiosk.request("ticket.issue", {"service": "general"})
            for _ in range(2):  # the party fee's daily cap is 2
                await kiosk.request("ticket.issue", {"service": "party-fee"})
            await gw.request("call.next", {"window": 1})
            wrong_check = "0000" if a1["check"] != "0000" else "1111"
            refusals: list[tuple[Any, str, dict[str, Any], str]] = [
                (kiosk, "ticket.issue", {"service": "party-fee"}, "daily_cap"),
                (kiosk, "ticket.issue", {"service": "nope"}, "unknown_service"),
                (
                    kiosk,
                    "ticket.issue",
                    {"service": "general", "priority": "elderly"},
                    "staff_needed",
                ),
                (kiosk, "ticket.issue", {"service": "general", "language": "xx"}, "bad_request"),
                (gw, "call.next", {"window": 2}, "window_closed"),
                (gw, "call.next", {"window": 1}, "window_busy"),
                (gw, "case.finish", {"window": 3}, "no_current"),
                (gw, "rating.submit", {"window": 1, "level": 9}, "bad_rating"),
                (clerk, "call.next", {"window": 3}, "forbidden"),
                (clerk, "ticket.cancel", {"label": "C001"}, "forbidden"),
                (kiosk, "appointment.checkin", {"code": "NOSUCH"}, "appointment_unknown"),
                (gw, "ticket.transfer", {"window": 1, "to_queue": "Z"}, "unknown_queue"),
                (
                    kiosk,
                    "rating.submit",
                    {"label": "A001", "check": a1["check"], "level": 5},
                    "nothing_to_rate",
                ),
                (kiosk, "ticket.cancel", {"label": "A001", "check": wrong_check}, "wrong_check"),
            ]
            wrong: list[str] = []
            for client, op, args, code in refusals:
                before = dump(db_url)
                try:
                    await client.request(op, args)
                    wrong.append(f"{op} {args} was not refused")
                    continue
                except Exception as exc:  # RequestError carries the code
                    got = getattr(exc, "code", None)
                if got != code:
                    wrong.append(f"{op} {args}: {got}, expected {code}")
                after = dump(db_url)
                changed = [t for t in before if t not in KEPT and before[t] != after[t]]
                if changed:
                    wrong.append(f"{op} {args} ({code}) changed {changed}")
                new_audit = [r for r in after["audit"] if r not in before["audit"]]
                if len(new_audit) != 1 or f'"refused": "{code}"' not in (new_audit[0][-1] or ""):
                    wrong.append(f"{op} {args} ({code}) audit rows: {new_audit}")
                if (before["sign_in_failures"] != after["sign_in_failures"]) != (
                    code == "wrong_check"
                ):
                    wrong.append(f"{op} {args} ({code}) wrong guesses counted wrongly")
            return wrong

    wrong = asyncio.run(main())
    assert wrong == [], "\n".join(wrong)


def test_five_wrong_check_codes_lock_the_ticket_for_the_day(config, db_url):
    async def main() -> None:
        clock = Clock()
        async with (
            running_hall(config, db_url, clock) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
        ):
            t = await kiosk.request("ticket.issue", {"service": "general"})
            codes = [f"{n:04d}" for n in range(10) if f"{n:04d}" != t["check"]][:5]
            for code in codes:
                err = await _refusal(
                    kiosk.request("ticket.cancel", {"label": t["label"], "check": code})
                )
                assert err == "wrong_check"
            # Now even the right code is refused, all day: four digits cannot be tried out.
            right = {"label": t["label"], "check": t["check"]}
            assert await _refusal(kiosk.request("ticket.cancel", right)) == "locked"
            clock.advance(hours=8)
            assert await _refusal(kiosk.request("ticket.cancel", right)) == "locked"
            assert rules.check_code(t["token"]) == t["check"]

    asyncio.run(main())


async def _refusal(coro: Any) -> str | None:
    try:
        await coro
    except Exception as exc:
        return getattr(exc, "code", None)
    return None
