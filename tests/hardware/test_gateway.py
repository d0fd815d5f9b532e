"""The gateway end to end: a real queue server on loopback, the keypad / evaluator / LED
emulators on a real pty, the gateway in-process (and once as a `hallq gateway` process).
"""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from hardware.bus import keypad as kp
from hardware.bus.frame import Frame, encode
from hardware.emulators.bus import EmulatedBus
from hardware.gateway import config as gc
from hardware.gateway.gateway import Gateway
from queue_server.client import HallClient
from queue_server.server import HallServer
from queue_server.store import db
from tests.queue_server.harness import Clock

HALL_FILE = Path(__file__).parents[1] / "hall_test.toml"
HALL = tomllib.loads(HALL_FILE.read_text("utf-8"))
EXAMPLE_FILE = Path(__file__).parent / "gateway_hall.toml"
EXAMPLE = tomllib.loads(EXAMPLE_FILE.read_text("utf-8"))
TOKEN = "gateway-secret"
FAST = {"request_timeout": 2.0, "reconnect_max": 0.3, "health_interval": 0.1, "startup_grace": 0.5}


def run(coro: Any, timeout: float = 30) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(predicate: Any, timeout: float = 5.0, what: str = "") -> None:
    """Poll without blocking the loop: the server and the gateway share it with the test."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.02)


def gateway_section(port_path: str, server_port: int, **overrides: Any) -> dict[str, Any]:
    section = copy.deepcopy(EXAMPLE["gateway"])
    section["buses"][0]["port"] = port_path
    section["server"] = f"ws://127.0.0.1:{server_port}/"
    section.update(FAST, **overrides)
    return section


def settings_for(port_path: str, server_port: int, **overrides: Any) -> gc.GatewaySettings:
    section = gateway_section(port_path, server_port, **overrides)
    settings, problems = gc.parse(section, dict(HALL, gateway=section))
    assert problems == [] and settings is not None
    return settings


class Watcher:
    """A hall display: every event the server pushes, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, kind: str, seq: int | None, data: dict[str, Any]) -> None:
        self.events.append((kind, data))

    def of(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [
            d
            for k, d in self.events
            if k == kind and all(d.get(key) == value for key, value in match.items())
        ]


class Rig:
    """Server + display + kiosk + emulated bus + gateway, started and stopped together."""

    def __init__(
        self, config: Any, db_url: str, tmp_path: Path, sweep: float = 1.0, **overrides: Any
    ) -> None:
        self.config = config
        self.sweep = sweep
        self.db_url = db_url
        self.tmp_path = tmp_path
        self.overrides = overrides
        self.clock = Clock()
        self.emu = EmulatedBus(tmp_path / "ttyBUS")
        self.pad1 = self.emu.keypad(1)
        self.eval1 = self.emu.evaluator(0x81, keys=5)
        self.led1 = self.emu.led_strip(1)
        self.pad2 = self.emu.keypad(2)
        self.led2 = self.emu.led_strip(2)
        self.watch = Watcher()
        self.hall: HallServer | None = None
        self.port = 0
        self._pressed: dict[Any, float] = {}

    async def start_server(self) -> None:
        self.hall = HallServer(
            self.config, self.db_url, clock=self.clock, sweep_interval=self.sweep
        )
        await self.hall.start("127.0.0.1", self.port)
        self.port = self.hall.port

    async def stop_server(self) -> None:
        assert self.hall is not None
        await self.hall.stop()
        self.hall = None

    async def __aenter__(self) -> Rig:
        engine = db.open_engine(self.db_url)
        db.upgrade(engine)
        engine.dispose()
        await self.start_server()
        url = f"ws://127.0.0.1:{self.port}/"
        self.display = HallClient(
            url,
            "display-1-secret",
            name="display-1",
            subscribe=True,
            on_event=self.watch,
            backoff_max=0.3,
        )
        self.kiosk = HallClient(url, "kiosk-1-secret", name="kiosk-1", backoff_max=0.3)
        for client in (self.display, self.kiosk):
            await client.start()
            await client.wait_online(5)
        self.emu.start()
        self.gateway = Gateway(settings_for(self.emu.path, self.port, **self.overrides), TOKEN)
        await self.gateway.start()
        await until(
            lambda: (
                len(
                    [
                        d
                        for d in self.watch.of("device.state", state="online")
                        if d["part"] != "printer"  # a window's receipt printer is not on the bus
                    ]
                )
                == 5
            ),
            what="all five devices reported online",
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.gateway.stop()
        await self.display.close()
        await self.kiosk.close()
        if self.hall is not None:
            await self.stop_server()
        self.emu.stop()

    async def issue(self, n: int, service: str = "general") -> list[str]:
        return [
            (await self.kiosk.request("ticket.issue", {"service": service}))["label"]
            for _ in range(n)
        ]

    async def press(self, pad: Any, action: Any, *args: Any) -> bool:
        """Press a key on an emulated keypad and wait for the success/failure it shows."""
        # The bus driver takes a frame identical to one it echoed less than echo_window
        # (0.3 s) ago for that echo coming back; a clerk's second press comes later.
        key = (id(pad), getattr(action, "__name__", ""), args)
        wait = self._pressed.get(key, 0.0) + 0.35 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._pressed[key] = time.monotonic()
        before = len(pad.results)
        action(*args)
        await until(lambda: len(pad.results) > before, what="the keypad's result")
        assert len(pad.results) == before + 1
        return pad.results[-1]


def test_keypad_calls_shows_and_the_evaluator_rates(config, sqlite_url, tmp_path):
    async def main() -> None:
        async with Rig(config, sqlite_url, tmp_path) as r:
            pad, led, w = r.pad1, r.led1, r.watch
            assert await r.issue(3) == ["A001", "A002", "A003"]

            assert await r.press(pad, pad.function, "001")  # sign in as clerk c001
            assert w.of("window.changed", number=1, status="open", clerk="c001")
            await until(lambda: led.text == "1号窗口", what="idle strip")

            assert await r.press(pad, pad.call_next)
            assert w.of("ticket.called", label="A001", window=1)
            await until(lambda: pad.display == "  2001", what="keypad shows A001, 2 waiting")
            await until(lambda: led.text == "请A001号到1号窗口", what="strip shows A001")

            assert await r.press(pad, pad.recall)
            await until(lambda: w.of("ticket.recalled", label="A001"))
            assert await r.press(pad, pad.press, kp.KEY_START)
            await until(lambda: w.of("ticket.started", label="A001"))

            assert await r.press(pad, pad.request_rating)  # RATE/WAIT finishes the case
            await until(lambda: r.eval1.prompts == ["001"], what="evaluator prompted")
            await until(lambda: pad.display == "  2   " and led.text == "1号窗口")
            r.eval1.press(4)  # very satisfied on a five-key device
            await until(lambda: w.of("rating.recorded"), what="rating recorded")
            (rating,) = w.of("rating.recorded")
            assert (rating["label"], rating["level"], rating["source"]) == ("A001", 5, "device")
            await until(lambda: r.eval1.acks == 1 and r.eval1.stars == [5])

            assert await r.press(pad, pad.call_number, "3")  # digits + CALL: A003
            assert w.of("ticket.called", label="A003", window=1)
            await until(lambda: pad.display == "  1003" and led.text == "请A003号到1号窗口")

            # To a closed window a transfer is refused (the ticket would wait unseen)...
            assert not await r.press(pad, pad.transfer, "2")
            assert r.gateway.stats["refused.window_closed"] == 1
            assert not w.of("ticket.transferred", label="A003")
            # ...and accepted once a clerk works window 2 (closed again, empty, after).
            async with HallClient(
                f"ws://127.0.0.1:{r.port}/", "admin-secret", name="admin"
            ) as admin:
                await admin.request("window.open", {"window": 2, "clerk": "c-2"})
                assert await r.press(pad, pad.transfer, "2")  # digits + START: to window 2
                await admin.request("window.close", {"window": 2})
            (moved,) = w.of("ticket.transferred", label="A003")
            assert moved["target_window"] == 2 and moved["status"] == "waiting"
            await until(lambda: led.text == "1号窗口", what="strip idle after transfer")

            # Refused operations show failure on the keypad (and beep).
            beeps = r.pad2.beeps
            assert not await r.press(r.pad2, r.pad2.call_next)  # window 2 is closed
            assert r.gateway.stats["refused.window_closed"] == 2
            await until(lambda: r.pad2.beeps == beeps + 1)
            assert not await r.press(pad, pad.recall)  # nothing to recall
            assert r.gateway.stats["refused.no_current"] == 1

            assert await r.press(pad, pad.function, "0")  # pause
            await until(lambda: led.text == "1号窗口暂停服务", what="paused strip")
            assert not await r.press(pad, pad.call_next)
            assert r.gateway.stats["refused.window_paused"] == 1
            assert await r.press(pad, pad.function, "0")  # the pause key toggles back
            assert w.of("window.changed", number=1, status="open")[-1]["status"] == "open"

            assert await r.press(pad, pad.call_next)  # A002
            await until(lambda: led.text == "请A002号到1号窗口")
            assert await r.press(pad, pad.function, "5")  # no-show
            assert w.of("ticket.no_show", label="A002")
            assert await r.press(pad, pad.function, "4")  # sign out
            assert w.of("window.changed", number=1, status="closed")
            assert not await r.press(pad, pad.call_next)  # nobody signed in

    run(main())


def test_bad_bus_input_is_counted_and_the_gateway_carries_on(config, sqlite_url, tmp_path):
    async def main() -> None:
        async with Rig(config, sqlite_url, tmp_path) as r:
            emu, pad = r.emu, r.pad1
            emu.send_raw(b"\x00\x13\x68\x02\x03\x68garbage\xff\xff")
            bad = bytearray(encode(kp.key_frame(1, kp.KEY_CALL)))
            bad[-2] ^= 0x55  # checksum
            emu.send_raw(bytes(bad))
            emu.send(Frame(0x40, 0x01, b"\x0c"))  # nobody configured at 0x40
            emu.send_raw(encode(kp.key_frame(1, kp.KEY_RECALL))[:6])  # then the line goes quiet
            stats = r.gateway.stats
            await until(
                lambda: (
                    stats["dropped.bad_checksum"]
                    and stats["dropped.garbage"]
                    and stats["unknown_address"]
                    and stats["dropped.truncated"]
                ),
                what="every kind of bad input counted",
            )
            assert not await r.press(pad, pad.press, 0x3F)  # a key in no table
            assert stats["unknown_key"] == 1
            # Bad evaluator keys are counted too, and rate nothing.
            r.eval1.press(9)
            await until(lambda: stats["rating.unsolicited"] + stats["rating.invalid_key"] == 1)
            # Nothing of it was taken for a key press, and the gateway still works.
            assert r.watch.of("window.changed") == []
            assert await r.press(pad, pad.function, "001")
            assert r.gateway.stats["internal_errors"] == 0

    run(main())


def test_unplugged_bus_is_reported_offline_and_recovers(config, sqlite_url, tmp_path):
    async def main() -> None:
        async with Rig(config, sqlite_url, tmp_path) as r:
            await r.issue(1)
            inits = r.led1.inits
            r.emu.unplug()
            await until(
                lambda: len(r.watch.of("device.state", state="offline")) == 5,
                what="every device on the bus offline",
            )
            pad_off = r.watch.of("device.state", state="offline", device="window-1", part="keypad")
            assert pad_off and "bus-1" in pad_off[0]["detail"]
            r.emu.replug()
            await until(
                lambda: len(r.watch.of("device.state", state="online")) == 10,
                what="every device back online",
            )
            # The strip was initialised and redrawn after the port came back.
            await until(lambda: r.led1.inits == inits + 1 and r.led1.text == "1号窗口")
            assert await r.press(r.pad1, r.pad1.function, "001")
            assert await r.press(r.pad1, r.pad1.call_next)
            await until(lambda: r.led1.text == "请A001号到1号窗口")

    run(main())


def test_server_restart_keys_fail_while_away_then_work(config, sqlite_url, tmp_path):
    async def main() -> None:
        async with Rig(config, sqlite_url, tmp_path, request_timeout=2.0) as r:
            pad = r.pad1
            await r.issue(3)
            assert await r.press(pad, pad.function, "001")
            await r.stop_server()

            # Away longer than request_timeout: the keypad shows failure, nothing is lost.
            started = time.monotonic()
            assert not await r.press(pad, pad.call_next)
            # Waited for the request timeout, and not much longer (relative, not wall-clock).
            assert 0.9 * 2.0 < time.monotonic() - started < 5 * 2.0
            assert r.gateway.stats["server_away"] == 1

            # Pressed while away, server back within request_timeout: done exactly once.
            pad.call_next()
            await asyncio.sleep(0.3)
            await r.start_server()
            await until(lambda: len(pad.results) == 3, timeout=5, what="result after restart")
            assert pad.results[-1] is True
            await until(lambda: r.watch.of("ticket.called"), timeout=5)
            assert [d["label"] for d in r.watch.of("ticket.called")] == ["A001"]
            await until(lambda: r.led1.text == "请A001号到1号窗口")

            # And the gateway goes on working on the restarted server.
            assert await r.press(pad, pad.request_rating)
            assert await r.press(pad, pad.call_next)
            await until(
                lambda: [d["label"] for d in r.watch.of("ticket.called")] == ["A001", "A002"]
            )

    run(main(), timeout=45)


def test_a_rating_after_the_servers_timeout_is_refused_and_logged(config, sqlite_url, tmp_path):
    async def main() -> None:
        async with Rig(config, sqlite_url, tmp_path, sweep=0.1) as r:
            pad = r.pad1
            await r.issue(1)
            assert await r.press(pad, pad.function, "001")
            assert await r.press(pad, pad.call_next)
            assert await r.press(pad, pad.request_rating)
            await until(lambda: r.eval1.prompts == ["001"])
            r.clock.advance(seconds=61)  # the test hall rates within 60 s
            await until(lambda: r.watch.of("rating.not_rated"), what="server gave up")
            r.eval1.press(0)
            await until(lambda: r.gateway.stats["rating.refused.rating_closed"] == 1)
            assert r.watch.of("rating.recorded") == []

    run(main())


def test_hallq_gateway_command_runs_against_the_server(config, sqlite_url, tmp_path):
    """`hallq gateway --config --server --token` as its own process, stopped by SIGTERM."""

    async def main() -> None:
        engine = db.open_engine(sqlite_url)
        db.upgrade(engine)
        engine.dispose()
        hall = HallServer(config, sqlite_url, clock=Clock())
        await hall.start("127.0.0.1", 0)
        emu = EmulatedBus(tmp_path / "ttyCLI").start()
        pad = emu.keypad(1)
        led = emu.led_strip(1)
        hall_file = tmp_path / "hall.toml"
        section = (
            EXAMPLE_FILE.read_text("utf-8")
            .replace("/dev/ttyUSB0", str(emu.path))
            .replace("ws://127.0.0.1:8765/", "ws://127.0.0.1:1/")  # --server overrides it
        )
        hall_file.write_text(HALL_FILE.read_text("utf-8") + "\n" + section, "utf-8")
        env = dict(os.environ, HALLQ_GATEWAY_TOKEN="wrong-token")  # --token wins over it
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from queue_server.cli import main; sys.exit(main(sys.argv[1:]))",
                "gateway",
                "--config",
                str(hall_file),
                "--server",
                f"ws://127.0.0.1:{hall.port}/",
                "--token",
                TOKEN,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            await until(lambda: led.inits >= 1, timeout=10, what="the gateway opened the bus")
            pad.function("001")
            await until(lambda: pad.results, timeout=5, what="sign-in result")
            assert pad.results == [True]
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.to_thread(proc.communicate, timeout=10)
            emu.stop()
            await hall.stop()
        assert proc.returncode == 0, out
        assert "window.open done" in out

    run(main())


def test_hallq_gateway_refuses_a_bad_file(tmp_path):
    hall_file = tmp_path / "hall.toml"
    section = EXAMPLE_FILE.read_text("utf-8").replace("window = 2 }", "window = 9 }")
    hall_file.write_text(HALL_FILE.read_text("utf-8") + "\n" + section, "utf-8")
    from hardware.gateway.cli import main

    assert main(["--config", str(hall_file), "--token", "x"]) == 2
    no_section = tmp_path / "plain.toml"
    no_section.write_text(HALL_FILE.read_text("utf-8"), "utf-8")
    assert main(["--config", str(no_section), "--token", "x"]) == 2
    good = tmp_path / "good.toml"
    good.write_text(HALL_FILE.read_text("utf-8") + "\n" + EXAMPLE_FILE.read_text("utf-8"))
    os.environ.pop("HALLQ_GATEWAY_TOKEN", None)
    assert main(["--config", str(good)]) == 2  # no token anywhere
