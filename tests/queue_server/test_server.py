"""End to end: real WebSocket clients on loopback against a real server and database."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
import websockets
from websockets.asyncio.client import connect

from queue_server import protocol as p
from queue_server.client import ConnectionState, HallClient, RequestError

from .harness import Clock, connected, running_hall


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, dict]] = []
        self.snapshots: list[dict] = []
        self.states: list[ConnectionState] = []
        self.changed = asyncio.Event()

    def on_event(self, kind, seq, data):
        self.events.append((kind, seq, data))
        self.changed.set()

    def on_snapshot(self, snap):
        self.snapshots.append(snap)
        self.changed.set()

    def on_state(self, state):
        self.states.append(state)

    async def wait_for(self, kind, pred=lambda d: True, timeout=5.0):
        async def loop():
            while True:
                for k, _seq, d in self.events:
                    if k == kind and pred(d):
                        return d
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(loop(), timeout)

    def kw(self):
        return dict(
            subscribe=True,
            on_event=self.on_event,
            on_snapshot=self.on_snapshot,
            on_state=self.on_state,
        )


def test_kiosk_issues_clerk_calls_display_sees_it(config, db_url):
    async def main():
        async with running_hall(config, db_url, Clock()) as hall:
            rec = Recorder()
            async with (
                connected(hall.port, "display-1-secret", **rec.kw()) as display,
                connected(hall.port, "kiosk-1-secret") as kiosk,
                connected(hall.port, "clerk-1-secret") as clerk,
            ):
                await asyncio.wait_for(_until(lambda: rec.snapshots), 5)
                assert rec.snapshots[0]["windows"][0]["status"] == "closed"
                ticket = await kiosk.request("ticket.issue", {"service": "general"})
                assert ticket["label"] == "A001"
                await clerk.request("window.open")
                called = await clerk.request("call.next")
                assert called["ticket"]["label"] == "A001"
                ev = await rec.wait_for("ticket.called")
                assert ev["label"] == "A001" and ev["window"] == 1 and ev["area"] == "civil"
                seqs = [seq for _, seq, _ in rec.events]
                assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
                assert display.last_seq == seqs[-1]

    run(main())


async def _until(pred, interval=0.02):
    while not pred():
        await asyncio.sleep(interval)


async def _raw(port, token="kiosk-1-secret"):
    ws = await connect(f"ws://127.0.0.1:{port}/")
    await ws.send(p.request("h", "hello", {"token": token}))
    reply = json.loads(await ws.recv())
    return ws, reply


def test_bad_input_gets_stable_error_codes_and_the_connection_stays(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url, Clock()) as hall:
            ws, hello = await _raw(hall.port)
            assert hello["ok"] and hello["result"]["role"] == "kiosk"
            cases = [
                ("{not json", p.BAD_JSON),
                ("[1, 2]", p.BAD_REQUEST),
                (json.dumps({"op": "ticket.issue"}), p.BAD_REQUEST),  # no id
                (json.dumps({"id": 1, "op": "nope"}), p.UNKNOWN_OP),
                (json.dumps({"id": 2, "op": "ticket.issue", "args": {}}), p.BAD_REQUEST),
                (
                    json.dumps({"id": 3, "op": "ticket.issue", "args": {"service": 5}}),
                    p.BAD_REQUEST,
                ),
                (
                    json.dumps(
                        {"id": 4, "op": "ticket.issue", "args": {"service": "x", "bogus": 1}}
                    ),
                    p.BAD_REQUEST,
                ),
                (
                    json.dumps({"id": 5, "op": "ticket.issue", "args": {"service": "nope"}}),
                    "unknown_service",
                ),
                (json.dumps({"id": 6, "op": "call.next", "args": {"window": 1}}), p.FORBIDDEN),
                (json.dumps({"id": 7, "v": 2, "op": "snapshot"}), p.BAD_REQUEST),
                (json.dumps({"id": 8, "op": "snapshot", "pad": "x" * 70_000}), p.TOO_LARGE),
            ]
            for text, code in cases:
                await ws.send(text)
                reply = json.loads(await ws.recv())
                assert reply["ok"] is False, text
                assert reply["error"]["code"] == code, (text, reply)
                assert reply["error"]["message"]
            # still connected and working
            await ws.send(p.request(9, "ticket.issue", {"service": "general"}))
            assert json.loads(await ws.recv())["result"]["label"] == "A001"
            await ws.close()

    run(main())


def test_failed_authentication_closes_with_documented_code(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url, Clock()) as hall:
            ws, reply = await _raw(hall.port, token="wrong-token-123")
            assert reply["ok"] is False and reply["error"]["code"] == "unauthorized"
            with pytest.raises(websockets.ConnectionClosed) as exc:
                await ws.recv()
            assert exc.value.rcvd.code == p.CLOSE_AUTH_FAILED
            # the client library reports it and stops retrying
            client = HallClient(f"ws://127.0.0.1:{hall.port}/", "wrong-token-123")
            await client.start()
            await asyncio.wait_for(_until(lambda: client.state == ConnectionState.REFUSED), 5)
            await client.close()

    run(main())


def test_idempotency_key_answers_a_retry_once(config, db_url):
    async def main():
        async with running_hall(config, db_url, Clock()) as hall:
            async with connected(hall.port, "kiosk-1-secret") as kiosk:
                a = await kiosk.request("ticket.issue", {"service": "general"}, key="touch-1")
                b = await kiosk.request("ticket.issue", {"service": "general"}, key="touch-1")
                c = await kiosk.request("ticket.issue", {"service": "general"})
                assert a == b and a["label"] == "A001" and c["label"] == "A002"
                with pytest.raises(RequestError) as exc:
                    await kiosk.request("appointment.checkin", {"code": "1"}, key="touch-1")
                assert exc.value.code == "key_reused"

    run(main())


def test_roles_and_clerk_window(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url, Clock()) as hall:
            async with (
                connected(hall.port, "clerk-1-secret") as clerk,
                connected(hall.port, "display-1-secret") as display,
            ):
                with pytest.raises(RequestError) as exc:
                    await clerk.request("window.open", {"window": 2})
                assert exc.value.code == "forbidden"
                with pytest.raises(RequestError) as exc:
                    await display.request("ticket.issue", {"service": "general"})
                assert exc.value.code == "forbidden"
                info = await display.request("hall.info")
                assert {s["id"] for s in info["services"]} >= {"general", "party-fee"}

    run(main())


def test_resume_after_reconnect_replays_missed_events(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url, Clock()) as hall:
            rec = Recorder()
            async with connected(hall.port, "kiosk-1-secret") as kiosk:
                display = HallClient(
                    f"ws://127.0.0.1:{hall.port}/", "display-1-secret", name="display", **rec.kw()
                )
                await display.start()
                await asyncio.wait_for(_until(lambda: rec.snapshots), 5)
                await kiosk.request("ticket.issue", {"service": "general"})
                await rec.wait_for("ticket.issued")
                # cut the display's connection: events meanwhile must be replayed
                await display._ws.close()
                await asyncio.wait_for(_until(lambda: display.state != ConnectionState.ONLINE), 5)
                for _ in range(3):
                    await kiosk.request("ticket.issue", {"service": "marriage"})
                await rec.wait_for("ticket.issued", lambda d: d["label"] == "B003")
                assert len(rec.snapshots) == 1  # resumed, not resnapshotted
                labels = [d["label"] for k, _, d in rec.events if k == "ticket.issued"]
                assert labels == ["A001", "B001", "B002", "B003"]
                seqs = [s for _, s, _ in rec.events]
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap, no repeat
                await display.close()

    run(main())


def test_server_restart_client_resumes_and_pending_request_is_answered_once(config, tmp_path):
    url = f"sqlite:///{tmp_path / 'hall.db'}"

    async def main():
        rec = Recorder()
        async with running_hall(config, url, Clock()) as hall:
            port = hall.port
            display = HallClient(
                f"ws://127.0.0.1:{port}/", "display-1-secret", name="d", backoff_max=0.3, **rec.kw()
            )
            kiosk = HallClient(
                f"ws://127.0.0.1:{port}/", "kiosk-1-secret", name="k", backoff_max=0.3
            )
            await display.start()
            await kiosk.start()
            await kiosk.wait_online(5)
            await kiosk.request("ticket.issue", {"service": "general"})
            await rec.wait_for("ticket.issued")
        # server gone: a ticket asked for now waits, then is issued once after restart
        pending = asyncio.ensure_future(
            kiosk.request("ticket.issue", {"service": "general"}, timeout=20)
        )
        await asyncio.sleep(0.5)
        assert kiosk.state == ConnectionState.OFFLINE and not pending.done()
        # a new server process on the same port and database
        from queue_server.server import HallServer

        hall3 = HallServer(config, url, clock=Clock())
        await hall3.start("127.0.0.1", port)
        try:
            second = await pending
            assert second["label"] == "A002"
            await rec.wait_for("ticket.issued", lambda d: d["label"] == "A002", timeout=10)
            assert len(rec.snapshots) == 1  # resumed from its last sequence
            third = await kiosk.request("ticket.issue", {"service": "general"})
            assert third["label"] == "A003"
        finally:
            await display.close()
            await kiosk.close()
            await hall3.stop()

    run(main())


def test_healthz_over_http_on_the_same_port(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url, Clock()) as hall:

            def get(path):
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{hall.port}{path}", timeout=5
                    ) as r:
                        return r.status, r.read().decode()
                except urllib.error.HTTPError as e:
                    return e.code, ""

            status, body = await asyncio.to_thread(get, "/healthz")
            assert status == 200 and json.loads(body)["status"] == "ok"
            status, _ = await asyncio.to_thread(get, "/nowhere")
            assert status == 404

    run(main())


def test_rating_timeout_is_swept_and_published(config, sqlite_url):
    async def main():
        clock = Clock()
        async with running_hall(config, sqlite_url, clock, sweep_interval=0.05) as hall:
            rec = Recorder()
            async with (
                connected(hall.port, "display-1-secret", **rec.kw()),
                connected(hall.port, "kiosk-1-secret") as kiosk,
                connected(hall.port, "gateway-secret") as gw,
            ):
                await kiosk.request("ticket.issue", {"service": "general"})
                await gw.request("window.open", {"window": 1})
                await gw.request("call.next", {"window": 1})
                done = await gw.request("case.finish", {"window": 1})
                prompt = await rec.wait_for("rating.requested")
                assert prompt["case"] == done["case"] and prompt["window"] == 1
                clock.advance(seconds=61)
                ev = await rec.wait_for("rating.not_rated")
                assert ev["case"] == done["case"]

    run(main())


async def _hello(port, **args):
    ws = await connect(f"ws://127.0.0.1:{port}/")
    await ws.send(p.request("h", "hello", args))
    return ws, json.loads(await ws.recv())


def test_clerk_signs_in_with_id_and_pin_and_wrong_pins_lock(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url, Clock()) as hall:
            ws, reply = await _hello(hall.port, clerk="c001", pin="1234", window=2)
            assert reply["ok"] and reply["result"]["role"] == "clerk"
            assert reply["result"]["window"] == 2 and reply["result"]["device"] == "c001"
            await ws.send(p.request(1, "window.open", {}))
            opened = json.loads(await ws.recv())["result"]
            assert opened["number"] == 2 and opened["clerk"] == "c001"
            await ws.close()
            _, reply = await _hello(hall.port, clerk="c003", pin="1234", window=1)
            assert reply["error"]["code"] == "forbidden"  # c003 works only at window 3
            for _ in range(5):
                ws, reply = await _hello(hall.port, clerk="c001", pin="9999", window=1)
                assert reply["error"]["code"] == "unauthorized"
            # locked now, even with the right PIN
            _, reply = await _hello(hall.port, clerk="c001", pin="1234", window=1)
            assert reply["error"]["code"] == "locked"
            _, reply = await _hello(hall.port, clerk="nobody", pin="1234", window=1)
            assert reply["error"]["code"] == "unauthorized"

    run(main())


def test_phone_page_sees_only_its_own_ticket(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url, Clock()) as hall:
            async with (
                connected(hall.port, "kiosk-1-secret") as kiosk,
                connected(hall.port, "gateway-secret") as gw,
            ):
                mine = await kiosk.request("ticket.issue", {"service": "general"})
                other = await kiosk.request("ticket.issue", {"service": "general"})
                rec = Recorder()
                phone = HallClient(
                    f"ws://127.0.0.1:{hall.port}/", ticket=mine["token"], name="phone", **rec.kw()
                )
                await phone.start()
                await asyncio.wait_for(_until(lambda: rec.snapshots), 5)
                assert rec.snapshots[0]["ticket"]["label"] == "A001"
                assert rec.snapshots[0]["ticket"]["status"] == "waiting"
                await gw.request("window.open", {"window": 1})
                await gw.request("call.next", {"window": 1})
                called = await rec.wait_for("ticket.called")
                assert called["label"] == "A001" and called["window"] == 1
                await gw.request("case.finish", {"window": 1})
                await rec.wait_for("rating.requested")
                await gw.request("call.next", {"window": 1})  # calls A002: not for us
                await asyncio.sleep(0.3)
                labels = {d.get("label") for k, _, d in rec.events if k.startswith("ticket.")}
                assert labels == {"A001"}
                assert all("token" not in d for _, _, d in rec.events)
                # own status yes, another ticket's no; rate once
                with pytest.raises(RequestError) as exc:
                    await phone.request("ticket.status", {"token": other["token"]})
                assert exc.value.code == "unknown_ticket"
                rated = await phone.request("rating.submit", {"level": 5})
                assert rated["source"] == "phone" and rated["label"] == "A001"
                with pytest.raises(RequestError) as exc:
                    await phone.request("rating.submit", {"level": 4})
                assert exc.value.code == "already_rated"
                with pytest.raises(RequestError) as exc:
                    await phone.request("call.next", {"window": 1})
                assert exc.value.code == "forbidden"
                await phone.close()
            # a made-up token is refused at hello
            _, reply = await _hello(hall.port, ticket="not-a-real-token")
            assert reply["error"]["code"] == "unknown_ticket"

    run(main())


@pytest.mark.parametrize(
    "path",
    [
        "/static/../config.py",
        "/t/../../etc/passwd",
        "/static/%2e%2e/server.py",
        "/clerk/../server.py",
    ],
)
def test_web_paths_cannot_leave_the_web_folder(config, sqlite_url, path):
    async def main():
        async with running_hall(config, sqlite_url, Clock()) as hall:

            def get():
                req = urllib.request.Request(f"http://127.0.0.1:{hall.port}{path}")
                try:
                    with urllib.request.urlopen(req, timeout=5) as r:
                        return r.status
                except urllib.error.HTTPError as e:
                    return e.code

            assert await asyncio.to_thread(get) == 404

    run(main())


def test_a_request_abandoned_by_its_asker_does_not_stop_the_database_thread(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url, Clock()) as hall:
            committer = hall.committer
            for _ in range(50):  # cancel requests while they are queued or running
                task = asyncio.ensure_future(committer.submit(lambda c, n: (None, [])))
                await asyncio.sleep(0)
                task.cancel()
            async with connected(hall.port, "kiosk-1-secret") as kiosk:
                t = await kiosk.request("ticket.issue", {"service": "general"})
                assert t["label"] == "A001"
            assert committer._thread.is_alive()

    run(main())


def test_refused_hello_answers_its_id_and_checks_the_protocol_version(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url, Clock()) as hall:
            _, reply = await _hello(hall.port, token="kiosk-1-secret", protocol=2)
            assert reply["id"] == "h" and reply["error"]["code"] == p.BAD_REQUEST
            _, reply = await _hello(hall.port, clerk="c001", pin="0000", window=1)
            assert reply["id"] == "h" and reply["error"]["code"] == "unauthorized"
            # unknown clerk ids are never locked out, so nobody can lock a real clerk out
            for _ in range(6):
                _, reply = await _hello(hall.port, clerk="c999", pin="0000", window=1)
                assert reply["error"]["code"] == "unauthorized"

    run(main())


def test_the_ledger_is_for_the_department_and_supervision(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url, Clock()) as hall:
            async with (
                connected(hall.port, "kiosk-1-secret") as kiosk,
                connected(hall.port, "gateway-secret") as gw,
                connected(hall.port, "supervisor-secret") as sup,
                connected(hall.port, "clerk-1-secret") as clerk,
            ):
                await kiosk.request("ticket.issue", {"service": "general"})
                await gw.request("window.open", {"window": 1})
                await gw.request("call.next", {"window": 1})
                done = await gw.request("case.finish", {"window": 1})
                await gw.request("rating.submit", {"window": 1, "level": 1})
                listed = await sup.request("ledger.list")
                assert [i["case"] for i in listed["records"]] == [done["case"]]
                assert listed["records"][0]["department"] == "civil"
                with pytest.raises(RequestError) as exc:
                    await clerk.request("ledger.list")
                assert exc.value.code == "forbidden"
                with pytest.raises(RequestError) as exc:  # verification is the department's
                    await sup.request(
                        "ledger.verify",
                        {"id": listed["records"][0]["id"], "outcome": "valid", "note": "x"},
                    )
                assert exc.value.code == "forbidden"

    run(main())
