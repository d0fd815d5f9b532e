"""A server's own commits wake its listener too: it must not read them back for nothing.

Every commit on PostgreSQL notifies the hall's channel, so that the hall's other
processes read the new events. The process that committed them publishes them itself,
straight from the commit; reading "events after N" again at its own notification was one
more reader round trip per operation, which in a county process serving twenty halls
competes with every hall's requests.
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from queue_server.store import db

from .harness import connected, running_hall

pytestmark = pytest.mark.postgres

ISSUES = 12


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


async def _listening(hall, url: str, timeout: float = 20) -> None:
    """Until the hall's listener is up: a notification sent before its LISTEN is lost,
    so one is sent again until it has been heard."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(_libpq(url), autocommit=True) as other:
        while hall.notes_heard == 0:
            assert time.monotonic() < deadline, "the hall's listener never heard a commit"
            other.execute(f"NOTIFY {db.notify_channel(hall.config.hall_id)}")
            await asyncio.sleep(0.1)
    # One sent just before the first was heard may still be on its way: let it land, so
    # it is not counted among the notifications the test then waits for.
    await asyncio.sleep(0.5)


async def _heard(hall, n: int, timeout: float = 20) -> None:
    """Until the hall's listener has handled ``n`` notifications (they come in order)."""
    deadline = time.monotonic() + timeout
    while hall.notes_heard < n:
        assert time.monotonic() < deadline, f"heard {hall.notes_heard} of {n} notifications"
        await asyncio.sleep(0.02)


def test_own_commits_are_not_read_back_and_others_are(config, pg_url):
    async def main() -> None:
        # No timers: only the requests below commit (and notify).
        async with running_hall(config, pg_url, sweep_interval=3600) as hall:
            await _listening(hall, pg_url)
            start_reads, start_notes = hall.catch_up_reads, hall.notes_heard
            async with connected(hall.port, "kiosk-1-secret") as kiosk:
                for _ in range(ISSUES):
                    await kiosk.request("ticket.issue", {"service": "general"})
            # Another process's commit (no events here, as a sweep's): read, as before.
            with psycopg.connect(_libpq(pg_url), autocommit=True) as other:
                other.execute(f"NOTIFY {db.notify_channel(config.hall_id)}")
            await _heard(hall, start_notes + ISSUES + 1)
            reads = hall.catch_up_reads - start_reads
            assert reads >= 1, "another process's notification was not read"
            # Own notifications may race their own publish (then read, harmlessly), but
            # not every one of them.
            assert reads <= 1 + ISSUES // 2, f"{reads} reads for {ISSUES} own commits"

    asyncio.run(asyncio.wait_for(main(), 90))


def test_own_commit_whose_events_were_never_published_is_read_at_its_notification(config, pg_url):
    """An operation whose asker went away between its commit and its publish: its events
    still go out, at its own notification."""

    async def main() -> None:
        async with running_hall(config, pg_url, sweep_interval=3600) as hall:
            assert hall.committer is not None
            # Once the listener is up (before, its first read after LISTEN would
            # publish anything, whoever committed it).
            await _listening(hall, pg_url)
            _, published = await hall.committer.submit(
                lambda c, n: (None, [("queue.unattended", {"queue": "A", "oldest": 1})])
            )
            seq = published[-1][0]
            deadline = time.monotonic() + 20
            while hall.last_seq < seq:
                assert time.monotonic() < deadline, "the events were never published"
                await asyncio.sleep(0.02)

    asyncio.run(asyncio.wait_for(main(), 90))
