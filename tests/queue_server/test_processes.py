"""Real server processes: killed with SIGKILL, and two of them sharing one PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from queue_server.client import HallClient, RequestError
from queue_server.store import db

TEST_HALL = Path(__file__).parent.parent / "hall_test.toml"

HALL_PATH = f"-c search_path={db.schema_name(db.DEFAULT_HALL)}"
"""What a raw connection needs to see the test hall's tables (its schema)."""
COMMITTED = re.compile(r"committed (\d+) operations in (\d+) transactions")
"""The writer's totals, logged at a clean stop (db.Committer.close)."""


class ServerProcess:
    def __init__(self, url: str, port: int = 0, config: Path = TEST_HALL) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "queue_server.cli",
                "server",
                "--config",
                str(config),
                "--db",
                url,
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        self.lines: list[str] = []
        for line in self.proc.stdout:
            self.lines.append(line)
            m = re.search(r"ready on [\d.]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                # keep reading the log (a full pipe would block the server) for failures
                threading.Thread(target=self._drain, daemon=True).start()
                break
        else:
            raise AssertionError(f"server did not start (exit {self.proc.wait()})")

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def log_tail(self, n: int = 60) -> str:
        return "".join(self.lines[-n:])

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=15)


def _migrate(url: str) -> None:
    engine = db.open_engine(url)
    db.upgrade(engine)
    engine.dispose()


def test_sigkill_between_operations_loses_no_acknowledged_ticket(sqlite_url):
    _migrate(sqlite_url)

    async def main():
        server = ServerProcess(sqlite_url)
        port = server.port
        try:
            kiosk = HallClient(server.url, "kiosk-1-secret", name="k", backoff_max=0.3)
            await kiosk.start()
            await kiosk.wait_online(10)
            acknowledged = [
                await kiosk.request("ticket.issue", {"service": "general"}) for _ in range(20)
            ]
            server.kill()
            server = ServerProcess(sqlite_url, port)
            await kiosk.wait_online(10)
            for t in acknowledged:
                status = await kiosk.request("ticket.status", {"token": t["token"]})
                assert status["label"] == t["label"] and status["status"] == "waiting"
            nxt = await kiosk.request("ticket.issue", {"service": "general"})
            assert nxt["label"] == "A021"  # numbering continues, nothing doubled
            await kiosk.close()
            assert server.terminate() == 0  # graceful stop on SIGTERM
        finally:
            if server.proc.poll() is None:
                server.kill()

    asyncio.run(asyncio.wait_for(main(), 90))


def test_two_servers_on_one_postgres_never_call_a_ticket_twice(pg_url):
    _migrate(pg_url)
    n_tickets = 60

    async def main():
        servers = [ServerProcess(pg_url), ServerProcess(pg_url)]
        try:
            kiosk = HallClient(servers[0].url, "kiosk-1-secret", name="k")
            gws = [
                HallClient(srv.url, "gateway-secret", name=f"gw{i}")
                for i, srv in enumerate(servers)
            ]
            for c in (kiosk, *gws):
                await c.start()
                await c.wait_online(10)
            for _ in range(n_tickets):
                await kiosk.request("ticket.issue", {"service": "general"})
            # windows 1 and 2 both serve queue A; each is driven through both servers
            for w in (1, 2):
                await gws[0].request("window.open", {"window": w})
            called: list[str] = []

            async def clerk(window: int, gw: HallClient) -> None:
                while True:
                    try:
                        r = await gw.request("call.next", {"window": window})
                    except RequestError as exc:
                        assert exc.code == "window_busy", "\n".join(
                            srv.log_tail() for srv in servers
                        )
                        await asyncio.sleep(0)
                        continue
                    if r["ticket"] is None:
                        return
                    called.append(r["ticket"]["label"])
                    try:
                        await gw.request("case.finish", {"window": window})
                    except RequestError as exc:  # the other server finished it first
                        assert exc.code in ("invalid_state", "no_current")

            # each window is hammered from both servers at once
            await asyncio.gather(*(clerk(w, gw) for w in (1, 2) for gw in gws))
            assert len(called) == n_tickets
            assert len(set(called)) == n_tickets
            for c in (kiosk, *gws):
                await c.close()
        finally:
            for srv in servers:
                if srv.proc.poll() is None:
                    srv.terminate()

    asyncio.run(asyncio.wait_for(main(), 120))


def test_displays_on_one_server_see_calls_made_through_another(pg_url):
    _migrate(pg_url)

    async def main():
        servers = [ServerProcess(pg_url), ServerProcess(pg_url)]
        seen: list[tuple[int, str, dict]] = []
        snapshots: list[dict] = []
        try:
            display = HallClient(
                servers[1].url,
                "display-1-secret",
                name="d",
                subscribe=True,
                on_event=lambda kind, seq, data: seen.append((seq, kind, data)),
                on_snapshot=snapshots.append,
            )
            kiosk_a = HallClient(servers[0].url, "kiosk-1-secret", name="ka")
            kiosk_b = HallClient(servers[1].url, "kiosk-1-secret", name="kb")
            gw_a = HallClient(servers[0].url, "gateway-secret", name="ga")
            for c in (display, kiosk_a, kiosk_b, gw_a):
                await c.start()
                await c.wait_online(10)
            while not snapshots:
                await asyncio.sleep(0.05)
            # tickets taken through both servers at once, then called through server A
            await asyncio.gather(
                *(
                    k.request("ticket.issue", {"service": "general"})
                    for _ in range(10)
                    for k in (kiosk_a, kiosk_b)
                )
            )
            await gw_a.request("window.open", {"window": 1})
            called = await gw_a.request("call.next", {"window": 1})
            deadline = asyncio.get_running_loop().time() + 10
            while asyncio.get_running_loop().time() < deadline:
                if any(k == "ticket.called" for _, k, _ in seen):
                    break
                await asyncio.sleep(0.05)
            calls = [d for _, k, d in seen if k == "ticket.called"]
            # (which ticket comes first between two kiosks on two servers in the same
            # millisecond is the servers' clocks' call; the display shows that one)
            assert calls and calls[0]["label"] == called["ticket"]["label"]
            issued = sorted(d["label"] for _, k, d in seen if k == "ticket.issued")
            assert issued == [f"A{n:03d}" for n in range(1, 21)]
            seqs = [seq for seq, _, _ in seen]
            assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
            for c in (display, kiosk_a, kiosk_b, gw_a):
                await c.close()
        finally:
            for srv in servers:
                if srv.proc.poll() is None:
                    srv.terminate()

    asyncio.run(asyncio.wait_for(main(), 120))


def test_two_processes_issuing_and_calling_at_once_show_one_order_of_events(pg_url):
    """Kiosks and clerks on both processes of one hall at once, a display on each: both
    displays see the same events, each once, in one order (sequence order is commit
    order: every write transaction takes the hall's writer lock first, whichever process
    groups what), no number is issued twice and no ticket called twice."""
    import psycopg

    _migrate(pg_url)
    per_kiosk = 15

    async def main() -> None:
        servers = [ServerProcess(pg_url), ServerProcess(pg_url)]
        seen: list[list[tuple[int, str, str]]] = [[], []]
        clients: list[HallClient] = []
        try:
            for i, srv in enumerate(servers):
                clients.append(
                    HallClient(
                        srv.url,
                        "display-1-secret",
                        name=f"d{i}",
                        subscribe=True,
                        on_event=lambda kind, seq, data, i=i: seen[i].append(
                            (seq, kind, str(data.get("label")))
                        ),
                    )
                )
            kiosks = [HallClient(srv.url, "kiosk-1-secret", name=f"k{i}")
                      for i, srv in enumerate(servers) for _ in range(2)]  # fmt: skip
            gws = [HallClient(srv.url, "gateway-secret", name=f"g{i}") for i, srv in
                   enumerate(servers)]  # fmt: skip
            clients += kiosks + gws
            for c in clients:
                await c.start()
                await c.wait_online(10)
            for w, gw in zip((1, 2), gws, strict=True):
                await gw.request("window.open", {"window": w})
            labels: list[str] = []
            called: list[str] = []
            done = asyncio.Event()

            async def kiosk(k: HallClient) -> None:
                for _ in range(per_kiosk):
                    labels.append(
                        (await k.request("ticket.issue", {"service": "general"}))["label"]
                    )

            async def clerk(gw: HallClient, window: int) -> None:
                while not (done.is_set() and len(called) == len(labels)):
                    r = await gw.request("call.next", {"window": window})
                    if r["ticket"] is None:
                        await asyncio.sleep(0.01)
                        continue
                    called.append(r["ticket"]["label"])
                    await gw.request("case.finish", {"window": window})

            async def issuing() -> None:
                await asyncio.gather(*(kiosk(k) for k in kiosks))
                done.set()

            await asyncio.gather(
                issuing(), *(clerk(g, w) for g, w in zip(gws, (1, 2), strict=True))
            )
            with psycopg.connect(pg_url.replace("+psycopg", ""), options=HALL_PATH) as conn:
                (top,) = conn.execute("SELECT max(seq) FROM events").fetchone()
            deadline = asyncio.get_running_loop().time() + 20
            while asyncio.get_running_loop().time() < deadline and any(
                c.last_seq != top for c in clients[:2]
            ):
                await asyncio.sleep(0.05)
        finally:
            for c in clients:
                await c.close()
            for srv in servers:
                if srv.proc.poll() is None:
                    srv.terminate()
        assert len(labels) == len(set(labels)) == 4 * per_kiosk  # no number twice
        assert sorted(called) == sorted(labels)  # each called once
        assert seen[0] == seen[1]  # one order of events on both processes
        seqs = [seq for seq, _k, _l in seen[0]]
        assert seqs == sorted(set(seqs)) and seqs[-1] == top  # each once, in order, all
        assert sorted(lbl for _s, k, lbl in seen[0] if k == "ticket.called") == sorted(called)

    asyncio.run(asyncio.wait_for(main(), 120))


def test_sigkill_mid_group_on_postgres_loses_nothing_acknowledged_and_doubles_nothing(pg_url):
    """Eight kiosks issue at once through one process (its writer commits what queued
    while it was busy in groups) and the process is SIGKILLed with requests in flight: a
    group that had committed is answered on the retry from its idempotency records, one
    that had not runs once; so every request made gets exactly one ticket, under one
    number."""
    import psycopg

    _migrate(pg_url)
    kiosks_n, each = 8, 12

    async def main() -> None:
        server = ServerProcess(pg_url)
        port = server.port
        kiosks = [
            HallClient(server.url, "kiosk-1-secret", name=f"k{i}", backoff_min=0.05,
                       backoff_max=0.3, request_timeout=60)
            for i in range(kiosks_n)
        ]  # fmt: skip
        got: list[dict] = []
        killed = asyncio.Event()
        try:
            for k in kiosks:
                await k.start()
                await k.wait_online(10)

            async def kiosk(k: HallClient) -> None:
                for _ in range(each):
                    got.append(await k.request("ticket.issue", {"service": "general"}))

            load = asyncio.gather(*(kiosk(k) for k in kiosks))
            while len(got) < kiosks_n * each // 3:  # well under way: groups in flight
                await asyncio.sleep(0.005)
            server.kill()
            killed.set()
            server = await asyncio.to_thread(ServerProcess, pg_url, port)
            await asyncio.wait_for(load, 60)
        finally:
            for k in kiosks:
                await k.close()
            if server.proc.poll() is None:
                assert server.terminate() == 0
        # The restarted server said how it committed; whether its writer grouped the
        # retries is timing (on a loaded machine each may come alone: 64 in 64 was seen
        # in CI), so only the exactly-once promises below are asserted. Grouping itself
        # is tested where it is made to happen: test_group_commit.py.
        grouped = [m for line in server.lines if (m := COMMITTED.search(line))]
        assert grouped, server.log_tail()
        with psycopg.connect(pg_url.replace("+psycopg", ""), options=HALL_PATH) as conn:
            stored = dict(conn.execute("SELECT token, number FROM tickets").fetchall())
        assert killed.is_set() and len(got) == kiosks_n * each
        assert {t["token"] for t in got} == set(stored)  # nothing lost, nothing extra
        assert len(set(stored.values())) == len(stored) == kiosks_n * each  # one number each

    asyncio.run(asyncio.wait_for(main(), 120))


def test_chaos_two_servers_sigkills_and_failover_keep_every_invariant(pg_url):
    """Two processes on one PostgreSQL; kiosks, clerks and a display fail over between
    them while one or the other is SIGKILLed mid-load. At the end: no acknowledged
    ticket lost, no number doubled, no ticket called twice, no answer ``internal``, and
    the display saw every call, each event once and in order."""
    import random

    import psycopg

    from queue_server.client import RequestTimeout

    _migrate(pg_url)
    rng = random.Random(9)
    kills = 4

    async def main() -> None:
        servers = [ServerProcess(pg_url), ServerProcess(pg_url)]
        ports = [srv.port for srv in servers]
        clients: list[HallClient] = []
        issued: dict[str, str] = {}  # acknowledged tickets: token -> label
        called: list[str] = []  # acknowledged calls
        errors: list[str] = []
        display_seqs: list[int] = []
        display_calls: list[str] = []
        stop = asyncio.Event()

        def url(i: int) -> str:
            return f"ws://127.0.0.1:{ports[i]}/"

        def client(token: str, name: str, i: int, **kw) -> HallClient:
            c = HallClient(
                url(i),
                token,
                name=name,
                backoff_min=0.05,
                backoff_max=0.3,
                request_timeout=60,
                **kw,
            )
            c.home = i  # type: ignore[attr-defined]
            clients.append(c)
            return c

        def on_event(kind: str, seq: int, data: dict) -> None:
            display_seqs.append(seq)
            if kind == "ticket.called":
                display_calls.append(data["label"])

        async def kiosk(c: HallClient) -> None:
            while not stop.is_set():
                try:
                    t = await c.request("ticket.issue", {"service": "general"})
                except RequestError as exc:
                    errors.append(f"issue: {exc.code}")
                    continue
                issued[t["token"]] = t["label"]
                await asyncio.sleep(rng.uniform(0, 0.05))

        async def clerk(c: HallClient, window: int) -> None:
            await c.request("window.open", {"window": window, "clerk": f"c{window}"})
            while not stop.is_set():
                try:
                    r = await c.request("call.next", {"window": window})
                    if r["ticket"] is None:
                        await asyncio.sleep(0.05)
                        continue
                    called.append(r["ticket"]["label"])
                    await c.request("case.finish", {"window": window})
                except RequestError as exc:
                    errors.append(f"{window}: {exc.code} {exc}")

        try:
            display = client("display-1-secret", "d", 1, subscribe=True, on_event=on_event)
            kiosks = [client("kiosk-1-secret", f"k{i}", i % 2) for i in range(3)]
            clerks = [client("gateway-secret", f"g{w}", w % 2) for w in (1, 2)]
            for c in clients:
                await c.start()
                await c.wait_online(10)
            load = [asyncio.ensure_future(kiosk(k)) for k in kiosks] + [
                asyncio.ensure_future(clerk(g, w)) for g, w in zip(clerks, (1, 2), strict=True)
            ]

            def blip() -> None:
                # A client that thinks its server went away fails over while its
                # request may still be running there: both copies meet in the database.
                c = rng.choice(kiosks + clerks)
                ws = c._ws
                c.url = url(1 - ports.index(int(c.url.rsplit(":", 1)[1].strip("/"))))
                if ws is not None:
                    ws.transport.abort()

            async def blips() -> None:
                # Now and then the database is slow (a long report holds the counters
                # and windows): requests pile up in flight, and clients fail over then.
                slow = await psycopg.AsyncConnection.connect(
                    pg_url.replace("+psycopg", ""), options=HALL_PATH
                )
                try:
                    while not stop.is_set():
                        await asyncio.sleep(rng.uniform(0.1, 0.4))
                        try:
                            await slow.execute("SELECT 1 FROM ticket_counters FOR UPDATE")
                            await slow.execute("SELECT 1 FROM windows FOR UPDATE")
                        except psycopg.errors.DeadlockDetected:
                            # A group of a server's operations held a window and waited
                            # for a counter held here: PostgreSQL failed whichever waited
                            # first. When that is the server's group, it runs again.
                            await slow.rollback()
                            continue
                        await asyncio.sleep(0.05)
                        for _ in range(2):
                            blip()
                        await asyncio.sleep(0.15)
                        await slow.commit()
                finally:
                    await slow.close()

            load.append(asyncio.ensure_future(blips()))
            for n in range(kills):
                await asyncio.sleep(rng.uniform(1.0, 2.5))
                victim = n % 2
                servers[victim].kill()
                for c in clients:  # the clients of the dead process fail over
                    if c.url == url(victim):
                        c.url = url(1 - victim)
                await asyncio.sleep(rng.uniform(0.2, 1.0))
                servers[victim] = await asyncio.to_thread(ServerProcess, pg_url, ports[victim])
                for c in clients:  # and some come back
                    if c.home == victim and rng.random() < 0.5:  # type: ignore[attr-defined]
                        c.url = url(victim)
                        if c._ws is not None:
                            await c._ws.close()
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*load), 90)
            with psycopg.connect(pg_url.replace("+psycopg", ""), options=HALL_PATH) as conn:
                tickets = dict(
                    conn.execute(
                        "SELECT token, prefix || lpad(number::text, 3, '0') FROM tickets"
                    ).fetchall()
                )
                twice = conn.execute(
                    "SELECT ticket_id FROM cases GROUP BY ticket_id HAVING count(*) > 1"
                ).fetchall()
                (cases,) = conn.execute("SELECT count(*) FROM cases").fetchone()
                (top,) = conn.execute("SELECT max(seq) FROM events").fetchone()
            deadline = asyncio.get_running_loop().time() + 20
            while display.last_seq != top and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.1)
        except (RequestTimeout, AssertionError):
            for srv in servers:
                print(srv.log_tail(100))
            raise
        finally:
            for c in clients:
                await c.close()
            for srv in servers:
                if srv.proc.poll() is None:
                    srv.terminate()
        assert len(issued) > 20 and len(called) > 10, (len(issued), len(called))
        assert not errors, errors  # no internal, no refusal of its own result
        lost = {tok: lbl for tok, lbl in issued.items() if tickets.get(tok) != lbl}
        assert not lost, lost  # every acknowledged ticket is there, under its number
        assert len(set(issued.values())) == len(issued)  # no number handed out twice
        assert not twice and len(set(called)) == len(called) == cases  # none called twice
        assert display.last_seq == top
        assert display_seqs == sorted(set(display_seqs))  # in order, each once
        assert sorted(display_calls) == sorted(called)  # the display saw every call

    asyncio.run(asyncio.wait_for(main(), 110))
