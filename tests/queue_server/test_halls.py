"""Halls as a unit: each hall its own PostgreSQL schema, and nothing mixed between halls.

All on the real PostgreSQL (and SQLite where the rule is the same): real servers, real
WebSocket clients. A database made before halls is made here the way such a database
looks (HallQ's tables in ``public``), by putting a populated hall's tables back there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select, text

from queue_server.client import HallClient
from queue_server.config import ConfigError, parse_config
from queue_server.server import HallServer
from queue_server.store import db
from queue_server.store import schema as s

from .harness import Clock, connected

ROOT = Path(__file__).resolve().parents[2]
TEST_HALL = ROOT / "tests" / "hall_test.toml"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _dump(url: str, hall: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every HallQ table of one hall, in a fixed order."""
    engine = db.open_engine(url, hall=hall)
    try:
        with engine.connect() as conn:
            return {
                name: sorted(
                    (tuple(map(repr, r)) for r in conn.execute(select(t))), key=lambda r: r
                )
                for name, t in s.metadata.tables.items()
            }
    finally:
        engine.dispose()


def _back_to_public(url: str, hall: str) -> None:
    """Make the hall's database look as every database made before halls does."""
    schema = db.schema_name(hall)
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
            )
        ]
        with conn.transaction():
            for name in names:
                conn.execute(f'ALTER TABLE {schema}."{name}" SET SCHEMA public')
            conn.execute(f"DROP SCHEMA {schema}")


async def _populate(port: int) -> None:
    """Tickets, a case, a bad rating with its ledger record, and their events."""
    async with (
        connected(port, "kiosk-1-secret") as kiosk,
        connected(port, "gateway-secret") as gw,
    ):
        t = await kiosk.request("ticket.issue", {"service": "general"})
        for _ in range(2):
            await kiosk.request("ticket.issue", {"service": "general"})
        await gw.request("window.open", {"window": 1})
        await gw.request("call.next", {"window": 1})
        await gw.request("case.finish", {"window": 1})
        await kiosk.request(
            "rating.submit",
            {"label": t["label"], "token": t["token"], "level": 1, "phone": "13812341234",
             "consent": True},
        )  # fmt: skip


@pytest.mark.postgres
def test_a_database_made_before_halls_is_moved_into_its_hall_whole(config, pg_url):
    clock = Clock()

    async def main() -> None:
        engine = db.open_engine(pg_url)
        db.upgrade(engine)
        engine.dispose()
        hall = HallServer(config, pg_url, clock=clock)
        await hall.start("127.0.0.1", 0)
        port = hall.port
        seen: list[tuple[str, int]] = []
        display = HallClient(
            f"ws://127.0.0.1:{port}/",
            "display-1-secret",
            subscribe=True,
            on_event=lambda kind, seq, data: seen.append((kind, seq)),
            backoff_max=0.2,
        )
        await display.start()
        await display.wait_online(5)
        await _populate(port)
        while display.last_seq != hall.last_seq:
            await asyncio.sleep(0.02)
        top = hall.last_seq
        await hall.stop()

        before = _dump(pg_url, db.DEFAULT_HALL)
        assert before["tickets"] and before["cases"] and before["rectifications"]
        _back_to_public(pg_url, db.DEFAULT_HALL)

        unmoved = HallServer(config, pg_url, clock=clock)
        with pytest.raises(db.HallDatabaseError, match="schema public.*hallq db upgrade"):
            unmoved.prepare_database()
        unmoved.engine.dispose()

        up = subprocess.run(
            [sys.executable, "-m", "queue_server.cli", "db", "upgrade",
             "--config", str(TEST_HALL), "--db", pg_url],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert up.returncode == 0, up.stderr
        assert _dump(pg_url, db.DEFAULT_HALL) == before
        with psycopg.connect(_libpq(pg_url)) as conn:
            (left,) = conn.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public'"
            ).fetchone()
        assert left == 0  # tables, their indexes and sequences all went across

        hall = HallServer(config, pg_url, clock=clock)
        await hall.start("127.0.0.1", port)
        try:
            assert hall.last_seq == top
            async with connected(port, "kiosk-1-secret") as kiosk:
                nxt = await kiosk.request("ticket.issue", {"service": "general"})
            assert nxt["label"] == "A004"  # numbering continues
            while display.last_seq is None or display.last_seq <= top:
                await asyncio.sleep(0.02)
            # The display resumed from where it was: the next event, no snapshot, no gap.
            after = [seq for _kind, seq in seen if seq > top]
            assert after[0] == top + 1
        finally:
            await display.close()
            await hall.stop()

    asyncio.run(asyncio.wait_for(main(), 90))


@pytest.mark.postgres
def test_upgrade_refuses_while_a_server_serves_the_hall_and_names_it(config, pg_url):
    async def main() -> None:
        engine = db.open_engine(pg_url)
        db.upgrade(engine)
        hall = HallServer(config, pg_url)
        await hall.start("127.0.0.1", 0)
        try:
            await asyncio.to_thread(db.upgrade, engine)  # nothing to do: no lock needed
            # A newer HallQ's migration, run while this version serves the hall:
            with engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = '0013'"))
            with pytest.raises(db.HallDatabaseError, match=r"hall 'main' is being served.*pid"):
                await asyncio.to_thread(db.upgrade, engine)
            with engine.begin() as conn:  # (what the refused migration left alone)
                conn.execute(
                    text(f"UPDATE alembic_version SET version_num = '{db.head_revision()}'")
                )
            # Another hall of the same database is not held up by this one's servers.
            other = db.open_engine(pg_url, hall="other")
            await asyncio.to_thread(db.upgrade, other)
            other.dispose()
        finally:
            await hall.stop()
        await asyncio.to_thread(db.upgrade, engine)  # nobody serves it now
        engine.dispose()

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.postgres
def test_a_server_cannot_start_while_its_hall_is_being_migrated(config, pg_url):
    engine = db.open_engine(pg_url)
    db.upgrade(engine)
    key = db.hall_key(db.SERVING, db.DEFAULT_HALL)
    with psycopg.connect(_libpq(pg_url)) as migrating:
        migrating.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        hall = HallServer(config, pg_url)
        with pytest.raises(db.HallDatabaseError, match="being migrated"):
            hall.prepare_database()
        hall.engine.dispose()
    engine.dispose()


def test_a_server_older_than_its_database_refuses_naming_both_revisions(config, db_url):
    engine = db.open_engine(db_url)
    db.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    hall = HallServer(config, db_url)
    with pytest.raises(db.HallDatabaseError, match=f"0099, newer than.*{db.head_revision()}"):
        hall.prepare_database()
    hall.engine.dispose()


def test_hall_id_is_checked_where_it_is_written(config):
    import tomllib

    raw = tomllib.loads(TEST_HALL.read_text(encoding="utf-8"))
    assert parse_config(raw).hall_id == db.DEFAULT_HALL  # none given: one hall
    for bad in ("North", "1st", "a-b", "x" * 33, ""):
        raw["hall"]["id"] = bad
        with pytest.raises(ConfigError) as exc:
            parse_config(raw, "county/north.toml")
        assert any(p.startswith("hall.id: ") for p in exc.value.problems), exc.value.problems
    raw["hall"]["id"] = "north_2"
    assert parse_config(raw).hall_id == "north_2"


# -- two halls on one PostgreSQL -----------------------------------------------------------


async def _hall_traffic(port: int, n: int) -> list[dict[str, Any]]:
    """A kiosk issuing and a clerk calling at once in one hall: the tickets issued."""
    async with (
        connected(port, "kiosk-1-secret") as kiosk,
        connected(port, "gateway-secret") as gw,
    ):
        await gw.request("window.open", {"window": 1})
        issued = []
        for _ in range(n):
            issued.append(await kiosk.request("ticket.issue", {"service": "general"}))
            await gw.request("call.next", {"window": 1})
            await gw.request("case.finish", {"window": 1})
        return issued


@pytest.mark.postgres
def test_two_halls_on_one_database_never_see_each_other(config, pg_url):
    clock = Clock(dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC))
    halls = {h: dataclasses.replace(config, hall_id=h) for h in ("north", "south")}

    async def main() -> None:
        servers: dict[str, HallServer] = {}
        for h, cfg in halls.items():
            engine = db.open_engine(pg_url, hall=h)
            db.upgrade(engine)
            engine.dispose()
            servers[h] = HallServer(cfg, pg_url, clock=clock)
            await servers[h].start("127.0.0.1", 0)
        events: dict[str, list[tuple[str, dict[str, Any]]]] = {h: [] for h in halls}
        displays = {}
        try:
            for h, srv in servers.items():
                displays[h] = HallClient(
                    f"ws://127.0.0.1:{srv.port}/",
                    "display-1-secret",
                    subscribe=True,
                    on_event=lambda kind, seq, data, h=h: events[h].append((kind, data)),
                )
                await displays[h].start()
                await displays[h].wait_online(5)
            north, south = await asyncio.gather(
                _hall_traffic(servers["north"].port, 6), _hall_traffic(servers["south"].port, 4)
            )
            # The same numbers in both: each hall's numbering is its own.
            assert [t["label"] for t in north] == [f"A{i:03d}" for i in range(1, 7)]
            assert [t["label"] for t in south] == [f"A{i:03d}" for i in range(1, 5)]
            for h, srv in servers.items():
                while displays[h].last_seq != srv.last_seq:
                    await asyncio.sleep(0.02)
            # Each hall's events are its own: its own tickets only, its own sequence.
            for h, mine in (("north", north), ("south", south)):
                issued = [d for k, d in events[h] if k == "ticket.issued"]
                assert len(issued) == len(mine)  # 6 and 4: none of the other hall's
                calls = [d for k, d in events[h] if k == "ticket.called"]
                assert len(calls) == len(mine)
                async with connected(servers[h].port, "supervisor-secret") as sup:
                    snap = await sup.request("snapshot")
                assert snap["seq"] == servers[h].last_seq
                # Its own calls only: the other hall's A001... never show here.
                assert len(snap["recent_calls"]) == len(mine)
                assert sorted(c["label"] for c in snap["recent_calls"]) == sorted(
                    t["label"] for t in mine
                )
            assert servers["north"].last_seq != servers["south"].last_seq
            with psycopg.connect(_libpq(pg_url)) as conn:
                for h, n in (("north", 6), ("south", 4)):
                    (count,) = conn.execute(
                        f"SELECT count(*) FROM {db.schema_name(h)}.tickets"
                    ).fetchone()
                    assert count == n
        finally:
            for c in displays.values():
                await c.close()
            for srv in servers.values():
                await srv.stop()

    asyncio.run(asyncio.wait_for(main(), 120))


def _hall_file(tmp_path: Path, hall: str) -> Path:
    """The test hall's file under another hall id (same windows, same queue prefixes)."""
    body = TEST_HALL.read_text(encoding="utf-8").replace("[hall]\n", f'[hall]\nid = "{hall}"\n', 1)
    path = tmp_path / f"{hall}.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.postgres
def test_three_processes_two_halls_and_sigkills_keep_halls_apart(pg_url, tmp_path):
    """North served by two processes, south by one; kiosks issue through all three while
    one north process and then the south one are killed and restarted."""
    from .test_processes import ServerProcess

    files = {h: _hall_file(tmp_path, h) for h in ("north", "south")}
    for h in files:
        up = subprocess.run(
            [sys.executable, "-m", "queue_server.cli", "db", "upgrade",
             "--config", str(files[h]), "--db", pg_url],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert up.returncode == 0, up.stderr

    async def main() -> None:
        procs = {
            "n1": ServerProcess(pg_url, config=files["north"]),
            "n2": ServerProcess(pg_url, config=files["north"]),
            "s1": ServerProcess(pg_url, config=files["south"]),
        }
        hall_of = {"n1": "north", "n2": "north", "s1": "south"}
        issued: dict[str, list[str]] = {"north": [], "south": []}
        seen: dict[str, list[tuple[str, dict[str, Any]]]] = {"north": [], "south": []}
        clients: list[HallClient] = []
        try:
            displays = {
                "north": HallClient(procs["n1"].url, "display-1-secret", subscribe=True,
                                    on_event=lambda k, q, d: seen["north"].append((k, d))),
                "south": HallClient(procs["s1"].url, "display-1-secret", subscribe=True,
                                    on_event=lambda k, q, d: seen["south"].append((k, d))),
            }  # fmt: skip
            kiosks = {
                name: HallClient(srv.url, "kiosk-1-secret", name=name, backoff_max=0.3)
                for name, srv in procs.items()
            }
            clients = [*displays.values(), *kiosks.values()]
            for c in clients:
                await c.start()
                await c.wait_online(10)

            async def issue(name: str, n: int) -> None:
                for _ in range(n):
                    t = await kiosks[name].request("ticket.issue", {"service": "general"})
                    issued[hall_of[name]].append(t["label"])

            await asyncio.gather(*(issue(name, 5) for name in procs))
            for victim in ("n2", "s1"):
                port = procs[victim].port
                procs[victim].kill()
                procs[victim] = ServerProcess(pg_url, port, config=files[hall_of[victim]])
                await asyncio.gather(*(issue(name, 5) for name in procs))
            # Each hall numbered its own tickets, once each, without gaps.
            assert sorted(issued["north"]) == [f"A{i:03d}" for i in range(1, 31)]
            assert sorted(issued["south"]) == [f"A{i:03d}" for i in range(1, 16)]
            with psycopg.connect(_libpq(pg_url)) as conn:
                for h, n in (("north", 30), ("south", 15)):
                    (count, top) = conn.execute(
                        f"SELECT count(*), max(number) FROM {db.schema_name(h)}.tickets"
                    ).fetchone()
                    assert (count, top) == (n, n)
                    (events,) = conn.execute(
                        f"SELECT max(seq) FROM {db.schema_name(h)}.events"
                    ).fetchone()
                    display = displays[h]
                    deadline = asyncio.get_running_loop().time() + 20
                    while display.last_seq != events:
                        assert asyncio.get_running_loop().time() < deadline, (h, display.last_seq)
                        await asyncio.sleep(0.05)
            # The north display (on n1, never killed) saw north's 30 issues, none of south's.
            assert sum(k == "ticket.issued" for k, _d in seen["north"]) == 30
        finally:
            for c in clients:
                await c.close()
            for srv in procs.values():
                if srv.proc.poll() is None:
                    srv.terminate()

    asyncio.run(asyncio.wait_for(main(), 180))


@pytest.mark.postgres
def test_a_lock_or_a_notification_of_one_hall_never_reaches_another(config, pg_url):
    """The database-wide things are keyed by hall: north's events lock and idempotency
    claim held elsewhere stop north's issue but not south's; south's commits notify
    south's channel only."""
    import json

    halls = {h: dataclasses.replace(config, hall_id=h) for h in ("north", "south")}

    async def main() -> None:
        servers: dict[str, HallServer] = {}
        for h, cfg in halls.items():
            engine = db.open_engine(pg_url, hall=h)
            db.upgrade(engine)
            engine.dispose()
            # No timers: only the requests below commit (and notify) in this test.
            servers[h] = HallServer(cfg, pg_url, sweep_interval=3600)
            await servers[h].start("127.0.0.1", 0)
        listener = await psycopg.AsyncConnection.connect(_libpq(pg_url), autocommit=True)
        await listener.execute(f"LISTEN {db.notify_channel('north')}")
        holder = await psycopg.AsyncConnection.connect(_libpq(pg_url))

        async def heard() -> list[str]:
            return [note.channel async for note in listener.notifies(timeout=0.5)]

        try:
            async with (
                connected(servers["north"].port, "kiosk-1-secret") as north,
                connected(servers["south"].port, "kiosk-1-secret") as south,
            ):
                issue = {"service": "general"}
                locks = (
                    ("SELECT pg_advisory_xact_lock(%s)", db.hall_key(db.EVENTS, "north"), None),
                    (
                        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                        json.dumps(["north", "kiosk-1", "same-key"]),
                        "same-key",
                    ),
                )
                for n, (sql, key, idem) in enumerate(locks, start=1):
                    await holder.execute(sql, (key,))
                    held = asyncio.ensure_future(north.request("ticket.issue", issue, key=idem))
                    t = await asyncio.wait_for(south.request("ticket.issue", issue, key=idem), 20)
                    assert t["label"] == f"A{n:03d}"
                    # South's commit woke nobody listening for north.
                    assert await heard() == []
                    assert not held.done()  # north waits for its own lock only
                    await holder.rollback()
                    assert (await asyncio.wait_for(held, 20))["label"] == f"A{n:03d}"
                    assert set(await heard()) == {db.notify_channel("north")}
        finally:
            await holder.close()
            await listener.close()
            for srv in servers.values():
                await srv.stop()

    asyncio.run(asyncio.wait_for(main(), 90))


@pytest.mark.postgres
def test_a_named_hall_takes_the_public_tables_only_when_told_they_are_its_own(config, pg_url):
    """Which hall made a database before halls is not written in it: a hall with an id
    upgraded first must not take them unasked (they may be another hall's)."""
    engine = db.open_engine(pg_url)
    db.upgrade(engine)
    engine.dispose()
    _back_to_public(pg_url, db.DEFAULT_HALL)
    central = db.open_engine(pg_url, hall="central")
    with pytest.raises(db.HallDatabaseError, match="--move-public"):
        db.upgrade(central)
    server = HallServer(dataclasses.replace(config, hall_id="central"), pg_url)
    with pytest.raises(db.HallDatabaseError, match="schema public.*--move-public"):
        server.prepare_database()
    server.engine.dispose()
    with psycopg.connect(_libpq(pg_url)) as conn:
        assert conn.execute("SELECT to_regclass('public.tickets')").fetchone()[0] is not None
        assert conn.execute("SELECT to_regnamespace('hall_central')").fetchone()[0] is None
    db.upgrade(central, move_public=True)
    assert db.current_revision(central) == db.head_revision()
    central.dispose()
    with psycopg.connect(_libpq(pg_url)) as conn:
        assert conn.execute("SELECT to_regclass('hall_central.tickets')").fetchone()[0]
