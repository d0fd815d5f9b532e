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


class ServerProcess:
    def __init__(self, url: str, port: int = 0) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "queue_server.cli",
                "server",
                "--config",
                str(TEST_HALL),
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
