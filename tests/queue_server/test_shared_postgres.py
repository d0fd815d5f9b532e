"""Several `hallq server` processes on one PostgreSQL keep every promise one process keeps.

Each test makes the ordering that broke a promise happen on purpose, not by luck: a
transaction of the test holds a lock the servers need (and the test waits until the
servers' backends are seen waiting on it), or events are committed to the database
without the notification another process would send, which is what a process that lags
behind the others sees.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
import pytest
from websockets.asyncio.client import ClientConnection, connect

from queue_server import protocol as p
from queue_server.store import db

from .test_processes import ServerProcess

pytestmark = pytest.mark.postgres

HALL_PATH = f"-c search_path={db.schema_name(db.DEFAULT_HALL)}"
"""What a raw connection needs to see the test hall's tables (its schema)."""


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _migrate(url: str) -> None:
    engine = db.open_engine(url)
    db.upgrade(engine)
    engine.dispose()


def _waiting_on_locks(url: str) -> int:
    """Backends of this database waiting for a lock (a row, a key, an advisory lock)."""
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        (n,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        ).fetchone()
    return n


def _wait_for_waiters(url: str, n: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _waiting_on_locks(url) < n:
        assert time.monotonic() < deadline, f"fewer than {n} backends ever waited"
        time.sleep(0.05)


@contextmanager
def servers(url: str, n: int) -> Iterator[list[ServerProcess]]:
    procs: list[ServerProcess] = []
    try:
        for _ in range(n):
            procs.append(ServerProcess(url))
        yield procs
    finally:
        for srv in procs:
            if srv.proc.poll() is None:
                srv.terminate()


class Raw:
    """A protocol connection that keeps every message in arrival order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self._n = 0

    async def send(
        self, op: str, args: dict[str, Any] | None = None, key: str | None = None
    ) -> str:
        self._n += 1
        rid = f"r{self._n}"
        await self.ws.send(p.request(rid, op, args, key))
        return rid

    async def reply(self, rid: str, timeout: float = 20) -> dict[str, Any]:
        """Read until the reply to ``rid``; every message read is kept in order."""
        async with asyncio.timeout(timeout):
            while True:
                for m in self.messages:
                    if m.get("id") == rid:
                        return m
                self.messages.append(json.loads(await self.ws.recv()))

    async def drain(self, quiet: float = 0.5) -> None:
        """Keep reading until nothing arrives for ``quiet`` seconds."""
        while True:
            try:
                async with asyncio.timeout(quiet):
                    self.messages.append(json.loads(await self.ws.recv()))
            except TimeoutError:
                return

    def events(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if "event" in m and m["event"] != "subscribed"]


@asynccontextmanager
async def raw(srv: ServerProcess, token: str) -> AsyncIterator[Raw]:
    async with connect(srv.url) as ws:
        await ws.send(p.request("h", "hello", {"token": token}))
        assert json.loads(await ws.recv())["ok"]
        yield Raw(ws)


def _insert_events_without_notify(url: str, n: int) -> list[int]:
    """Commit events the way another server process does, minus its notification."""
    with psycopg.connect(_libpq(url), autocommit=True, options=HALL_PATH) as conn:
        return [
            conn.execute(
                "INSERT INTO events (at, type, payload) VALUES (now() at time zone 'utc',"
                " 'device.state', %s) RETURNING seq",
                (json.dumps({"device": "elsewhere", "part": "printer", "state": f"s{i}"}),),
            ).fetchone()[0]
            for i in range(n)
        ]


def test_two_processes_starting_together_both_run(config, pg_url):
    """The windows' rows inserted by another starting process are no reason to die."""
    _migrate(pg_url)
    other = psycopg.connect(_libpq(pg_url), options=HALL_PATH)  # "the other process", mid-start
    started: list[ServerProcess] = []
    failed: list[BaseException] = []

    def start() -> None:
        try:
            started.append(ServerProcess(pg_url))
        except BaseException as exc:  # reported below
            failed.append(exc)

    try:
        for w in config.windows:
            other.execute("INSERT INTO windows (number, status) VALUES (%s, 'closed')", (w.number,))
        thread = threading.Thread(target=start)
        thread.start()
        _wait_for_waiters(pg_url, 1)  # the server inserts the same rows and waits
        other.commit()
        thread.join(60)
        assert not failed, failed
        assert started and started[0].proc.poll() is None
    finally:
        other.close()
        for srv in started:
            srv.terminate()


def test_a_request_in_flight_on_another_process_gets_the_same_reply(pg_url):
    """A kiosk resends its ticket request to the second server while the first copy is
    still running on the first: one ticket, one reply given twice, no error logged."""
    _migrate(pg_url)

    async def main() -> None:
        with servers(pg_url, 2) as (a, b):
            async with raw(a, "kiosk-1-secret") as ka, raw(b, "kiosk-1-secret") as kb:
                first = await ka.reply(await ka.send("ticket.issue", {"service": "general"}, "k0"))
                assert first["ok"]
                # Hold queue A's counter, which every ticket of A needs.
                hold = await psycopg.AsyncConnection.connect(_libpq(pg_url), options=HALL_PATH)
                await hold.execute("SELECT * FROM ticket_counters WHERE queue = 'A' FOR UPDATE")
                args = {"service": "general"}
                ra = await ka.send("ticket.issue", args, "same-key")
                await asyncio.to_thread(_wait_for_waiters, pg_url, 1)
                rb = await kb.send("ticket.issue", args, "same-key")
                await asyncio.to_thread(_wait_for_waiters, pg_url, 2)
                await hold.commit()
                await hold.close()
                reply_a, reply_b = await ka.reply(ra), await kb.reply(rb)
        assert reply_a["ok"], reply_a
        assert reply_b["ok"], (reply_b, b.log_tail())
        assert reply_b["result"] == reply_a["result"]
        with psycopg.connect(_libpq(pg_url), options=HALL_PATH) as conn:
            (n,) = conn.execute("SELECT count(*) FROM tickets").fetchone()
        assert n == 2
        logs = a.log_tail(400) + b.log_tail(400)
        assert "Traceback" not in logs and "idempotency_pkey" not in logs, logs

    asyncio.run(asyncio.wait_for(main(), 120))


def test_the_sender_gets_its_events_before_its_reply_on_a_lagging_process(pg_url):
    """protocol.md §1: on the connection that asked, the operation's events come first,
    also on a process that has not yet published another process's commits."""
    _migrate(pg_url)

    async def main() -> None:
        with servers(pg_url, 1) as (srv,):
            async with raw(srv, "gateway-secret") as gw:
                sub = await gw.reply(await gw.send("subscribe"))
                assert sub["ok"]
                for attempt in range(3):
                    _insert_events_without_notify(pg_url, 2)  # this process now lags
                    rid = await gw.send("window.open", {"window": 1 + attempt, "clerk": "c"})
                    reply = await gw.reply(rid)
                    assert reply["ok"], reply
                    before = [
                        m.get("event")
                        for m in gw.messages[: gw.messages.index(reply)]
                        if m.get("data", {}).get("number") == 1 + attempt
                    ]
                    assert "window.changed" in before, gw.messages[-6:]
                await gw.drain()
                seqs = [m["seq"] for m in gw.events()]
                assert seqs == sorted(set(seqs))  # in order, none twice

    asyncio.run(asyncio.wait_for(main(), 120))


def test_resume_on_a_lagging_process_is_served_from_the_database(pg_url):
    """A display that saw events on another process fails over to one that has not yet
    published them: it is resumed (not re-snapshotted), gets exactly the events after
    its marker, and none of the older ones when this process catches up later."""
    _migrate(pg_url)

    async def main() -> None:
        with servers(pg_url, 2) as (a, b):
            async with raw(a, "kiosk-1-secret") as kiosk:
                for i in range(3):
                    r = await kiosk.reply(
                        await kiosk.send("ticket.issue", {"service": "general"}, f"t{i}")
                    )
                    assert r["ok"]
                # committed by "another process" whose notifications b has not seen
                seqs = _insert_events_without_notify(pg_url, 6)
                marker = seqs[2]  # the display had seen up to here on that process
                async with raw(b, "display-1-secret") as display:
                    sub = await display.reply(await display.send("subscribe", {"since": marker}))
                    assert sub["ok"] and sub["result"]["mode"] == "resume", sub
                    assert sub["result"]["seq"] == seqs[-1]
                    # b now learns of them all at once, and more come
                    r = await kiosk.reply(
                        await kiosk.send("ticket.issue", {"service": "general"}, "t9")
                    )
                    assert r["ok"]
                    await display.drain(1.0)
        got = [m["seq"] for m in display.events()]
        assert got[:3] == seqs[3:], got
        assert len(got) == len(set(got)) and got == sorted(got), got
        assert all(s > marker for s in got), got
        assert len(got) > 3  # the new ticket's events arrived too

    asyncio.run(asyncio.wait_for(main(), 120))


def test_a_case_is_flagged_overdue_once_when_two_processes_sweep_at_once(config, pg_url):
    """Both processes' sweepers see the same open case past its limit at the same
    moment; only one of them announces ``case.overdue``."""
    from .harness import Store

    store = Store(config, pg_url)
    try:
        store.issue()
        store.open(1)
        store.call_next(1)
        store.clock.advance(hours=1)
        now = store.clock()
        first = store.engine.connect()
        tx = first.begin()
        assert len(store.ops.flag_overdue(first, now)) == 1  # holds the case's row
        second: list[Any] = []

        def sweep() -> None:
            with store.engine.begin() as conn:
                second.extend(store.ops.flag_overdue(conn, now))

        thread = threading.Thread(target=sweep)
        thread.start()
        _wait_for_waiters(pg_url, 1)
        tx.commit()
        first.close()
        thread.join(30)
        assert second == []
    finally:
        store.close()
