"""A senior citizen's ID card, read at a kiosk that has a reader, gives priority unasked.

Only the "elderly" reason, only from a kiosk whose ``[[devices]]`` entry declares
``id_reader``, only from the configured age (65 by default) on the hall's day; every
other priority still needs a hall guide's PIN. The birth date decides and is forgotten:
the audit row says the ID card confirmed it, and nothing stores the date.
"""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy import select

from queue_server.core import rules
from queue_server.store import db
from queue_server.store import schema as s

from .harness import T0, Clock, connected, running_hall


def _with_reader(config, reader: bool):
    devices = tuple(
        dataclasses.replace(d, id_reader=reader) if d.role == "kiosk" else d for d in config.devices
    )
    return dataclasses.replace(config, devices=devices)


async def _issue(port: int, **args) -> str:
    async with connected(port, "kiosk-1-secret") as kiosk:
        try:
            t = await kiosk.request("ticket.issue", {"service": "general", **args})
        except Exception as exc:
            return getattr(exc, "code", "?")
        return t["priority"] or "none"


def test_age_is_counted_in_whole_years():
    assert rules.age_on(dt_date(1961, 11, 24), dt_date(2026, 11, 24)) == 65
    assert rules.age_on(dt_date(1961, 11, 25), dt_date(2026, 11, 24)) == 64
    assert rules.age_on(dt_date(1960, 2, 29), dt_date(2026, 2, 28)) == 65  # not yet 66


def dt_date(y: int, m: int, d: int):
    import datetime as dt

    return dt.date(y, m, d)


def test_a_senior_card_at_a_kiosk_with_a_reader_gives_priority(config, db_url):
    async def main() -> None:
        # T0 is 2026-11-24 in the hall: born 1961-11-24 is 65 that day.
        async with running_hall(_with_reader(config, True), db_url, Clock(T0)) as hall:
            senior, young = "1961-11-24", "1961-11-25"
            assert await _issue(hall.port, priority="elderly", birth_date=senior) == "elderly"
            assert await _issue(hall.port, priority="elderly", birth_date=young) == "staff_needed"
            assert await _issue(hall.port, priority="disabled", birth_date=senior) == (
                "staff_needed"
            )
            assert await _issue(hall.port, priority="elderly", birth_date="24/11/1961") == (
                "bad_request"
            )
        engine = db.open_engine(db_url)
        with engine.connect() as conn:
            details = [
                d
                for (d,) in conn.execute(
                    select(s.audit.c.detail).where(s.audit.c.op == "ticket.issue")
                )
            ]
        engine.dispose()
        assert any('"confirmed_by": "id_card"' in (d or "") for d in details)
        assert not any("1961" in (d or "") for d in details)  # the birth date is not kept

    asyncio.run(main())


def test_a_kiosk_without_a_reader_cannot_claim_a_card(config, sqlite_url):
    async def main() -> None:
        async with running_hall(_with_reader(config, False), sqlite_url, Clock(T0)) as hall:
            got = await _issue(hall.port, priority="elderly", birth_date="1940-01-01")
            assert got == "staff_needed"

    asyncio.run(main())


HASH = "ab" * 32  # a card's salted hash as the kiosk sends it (never the number)


def test_one_id_card_takes_at_most_the_daily_cap_per_service(config, db_url):
    """Against ticket touts: an ID card read at the kiosk takes at most
    ``per_person_daily_cap`` (2) tickets per service a day; the hash is erased once its
    day is over."""

    async def main() -> None:
        clock = Clock(T0)
        async with running_hall(_with_reader(config, True), db_url, clock) as hall:
            got = [await _issue(hall.port, id_hash=HASH) for _ in range(3)]
            assert got == ["none", "none", "person_cap"]
            other = await _issue(hall.port, id_hash="cd" * 32)  # another citizen
            assert other == "none"
            async with connected(hall.port, "kiosk-1-secret") as kiosk:
                t = await kiosk.request("ticket.issue", {"service": "marriage", "id_hash": HASH})
                assert "person" not in t and HASH not in str(t)  # never shown
            assert await _issue(hall.port, id_hash="not-hex!" * 4) == "bad_request"
            clock.advance(days=1)
            assert await _issue(hall.port, id_hash=HASH) == "none"  # a new day
            await hall.committer.submit(lambda c, n: (hall.ops.prune(c, n), []))
        engine = db.open_engine(db_url)
        with engine.connect() as conn:
            kept = conn.execute(
                select(s.tickets.c.day, s.tickets.c.person).where(s.tickets.c.person.is_not(None))
            ).all()
        engine.dispose()
        assert {day for day, _ in kept} == {rules.service_day(clock(), config.tz)}

    asyncio.run(main())


def test_only_a_kiosk_with_a_reader_sends_a_cards_hash(config, sqlite_url):
    async def main() -> None:
        async with running_hall(_with_reader(config, False), sqlite_url, Clock(T0)) as hall:
            assert await _issue(hall.port, id_hash=HASH) == "forbidden"

    asyncio.run(main())


SALT = b"hall-secret-salt-0123"
NUMBER = "110101195003070021"


def test_an_appointment_booked_with_an_id_number_checks_in_with_the_card(config, db_url):
    """The booking channel gives the ID number; the server keeps only the hall's salted
    hash; the kiosk's reader gives the same hash; the booking checks in, once, and the
    hash is gone after."""
    from queue_server.core.pins import hash_id_number

    async def main() -> None:
        cfg = dataclasses.replace(_with_reader(config, True), id_salt=SALT)
        async with (
            running_hall(cfg, db_url, Clock(T0)) as hall,
            connected(hall.port, "admin-secret") as admin,
            connected(hall.port, "kiosk-1-secret") as kiosk,
        ):
            await admin.request(
                "appointment.create",
                {
                    "service": "marriage",
                    "start": "2026-11-24T10:00:00+08:00",
                    "end": "2026-11-24T10:30:00+08:00",
                    "id_number": NUMBER,
                },
            )
            card = {"id_hash": hash_id_number(NUMBER, SALT)}
            t = await kiosk.request("appointment.checkin", card)
            assert t["priority"] == "appointment" and t["service"] == "marriage"
            again = await _refused(kiosk.request("appointment.checkin", card))
            assert again == "appointment_unknown"  # used: once only
            stranger = {"id_hash": hash_id_number("11010119900307001X", SALT)}
            assert await _refused(kiosk.request("appointment.checkin", stranger)) == (
                "appointment_unknown"
            )
        engine = db.open_engine(db_url)
        with engine.connect() as conn:
            rows = conn.execute(select(s.appointments.c.person)).all()
            audit = [d for (d,) in conn.execute(select(s.audit.c.detail))]
        engine.dispose()
        assert rows == [(None,)]  # checked in: the hash has served its purpose
        assert not any(NUMBER in (d or "") for d in audit)

    asyncio.run(main())


def test_booking_by_id_number_needs_the_halls_salt(config, sqlite_url):
    async def main() -> None:
        async with (
            running_hall(config, sqlite_url, Clock(T0)) as hall,
            connected(hall.port, "admin-secret") as admin,
        ):
            got = await _refused(
                admin.request(
                    "appointment.create",
                    {
                        "service": "marriage",
                        "start": "2026-11-24T10:00:00+08:00",
                        "end": "2026-11-24T10:30:00+08:00",
                        "id_number": NUMBER,
                    },
                )
            )
            assert got == "bad_request"

    asyncio.run(main())


async def _refused(coro) -> str | None:
    try:
        await coro
    except Exception as exc:
        return getattr(exc, "code", "?")
    return None
