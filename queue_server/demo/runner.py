"""``hallq demo``: the whole demo hall on one machine, with emulated devices.

Starts, each as it runs in a real hall: the queue server (SQLite, opening hours ignored
so it can be tried at any hour), a ticket-printer emulator on TCP, an RS-485 bus emulator
on a pseudo-terminal with keypads, evaluators and LED strips for the first windows, the
hardware gateway on that bus, and — when there is a screen — the kiosk and the hall
display. ``--simulate`` adds citizens and clerks: tickets are taken, keypads pressed and
ratings given, so the screens show a living hall.

Everything the demo writes goes to one folder (``./demo-data`` by default): the database,
the hall file with its ``[gateway]`` section pointing at the emulated bus, printed
tickets (text and PNG), and each process's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..config import DEMO_CONFIG, load_config

DEMO_GUIDE = "c001"
"""The demo kiosk's hall guide: the demo clerk, whose PIN (1234) confirms priority."""
"""The hall guide's PIN that confirms a priority ticket at the demo kiosk."""

BUS_WINDOWS = (1, 2, 3, 4)
"""Windows whose keypad, evaluator and LED strip are emulated on the demo bus."""


class Demo:
    def __init__(self, folder: Path, port: int, gui: bool, simulate: bool, halls: int = 1) -> None:
        self.halls = halls
        """``--halls 2``: a second hall (another id, name, port and SQLite file) and the
        county page, served by one ``hallq server --county`` process."""
        self.county_token = ""
        self.folder = folder
        self.port = port
        self.gui = gui
        self.simulate = simulate
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.config = load_config(DEMO_CONFIG)
        self.bus: Any = None
        self.printer: Any = None
        self.keypads: dict[int, Any] = {}
        self.evaluators: dict[int, Any] = {}
        self.server_args: tuple[str, ...] = ()
        self.appointment = ""
        self.voice_line = ""
        """The banner's line saying where the display's voice goes (:func:`voice_route`)."""
        self.yesterday: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def token(self, name: str) -> str:
        return next(d.token for d in self.config.devices if d.name == name)

    # -- devices -----------------------------------------------------------------------

    def start_emulators(self) -> None:
        from hardware.emulators.bus import EmulatedBus
        from hardware.emulators.printer import PrinterEmulator

        self.printer = PrinterEmulator(self.folder / "tickets")
        self.printer.serve_tcp("127.0.0.1", 0)
        self.bus = EmulatedBus(self.folder / "ttyHALL0").start()
        for w in BUS_WINDOWS:
            self.keypads[w] = self.bus.keypad(w)
            self.evaluators[w] = self.bus.evaluator(0x80 | w)
            self.bus.led_strip(w)

    def write_hall_file(self) -> Path:
        """The demo hall plus a [gateway] section for the emulated bus."""
        devices = []
        for w in BUS_WINDOWS:
            devices += [
                f'  {{ address = {w}, kind = "keypad", window = {w} }},',
                f'  {{ address = {0x80 | w}, kind = "evaluator", window = {w}, scale = 5 }},',
                f'  {{ address = {w}, kind = "led", window = {w} }},',
            ]
        gateway = "\n".join(
            [
                "",
                "# Added by `hallq demo`: the emulated RS-485 bus of windows "
                + ", ".join(map(str, BUS_WINDOWS))
                + ".",
                "[gateway]",
                f'server = "{self.url}"',
                f'token = "{self.token("gateway-1")}"',
                "",
                "[[gateway.buses]]",
                'name = "demo-bus"',
                f'port = "{self.bus.path}"',
                "devices = [",
                *devices,
                "]",
                "",
            ]
        )
        path = self.folder / "hall.toml"
        path.write_text(DEMO_CONFIG.read_text(encoding="utf-8") + gateway, encoding="utf-8")
        self._copy_photos()
        return path

    def _copy_photos(self) -> None:
        """The hall file names its staff photos relative to itself: a copy of the file
        needs the folder beside it."""
        photos = DEMO_CONFIG.parent / "staff-photos"
        shutil.copytree(photos, self.folder / photos.name, dirs_exist_ok=True)

    # -- processes ---------------------------------------------------------------------

    def spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - lives with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "queue_server.cli", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        # Each process's id beside its log, for a developer (or a test) to find it.
        (self.folder / f"{name}.pid").write_text(f"{self.procs[name].pid}\n")

    def check_port(self) -> None:
        """A port already taken is said before anything starts: otherwise another server's
        /healthz would answer for ours and the demo would talk to the wrong hall.

        Bound as the server binds (SO_REUSEADDR, asyncio's default): a port that only the
        last demo's closed connections still hold (TIME_WAIT, a minute after Ctrl-C) is
        free for the server, so it is free here too; one something listens on is not."""
        import socket

        for port in range(self.port, self.port + (3 if self.halls >= 2 else 1)):
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError as exc:
                    raise RuntimeError(
                        f"port {port} is in use ({exc.strerror}): stop what holds it or "
                        f"pick another with --port"
                    ) from None

    def wait_ready(
        self, timeout: float = 30, port: int | None = None, name: str = "server"
    ) -> None:
        import urllib.request

        path = "/county" if name == "county" else "/healthz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port or self.port}{path}", timeout=1
                ):
                    if self.procs[name].poll() is None:
                        return
            if self.procs[name].poll() is not None:
                break
            time.sleep(0.2)
        log = (self.folder / f"{name}.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the {name} did not start:\n{log}")

    def start(self) -> None:
        from ..store import db

        self.check_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{self.folder / 'hallq-demo.db'}"
        # Schema migrations say what they do at INFO; the demo's banner comes first.
        import logging

        logging.getLogger("alembic").setLevel(logging.WARNING)
        engine = db.open_engine(url)
        db.upgrade(engine)
        _load_demo_calendars(engine)
        if self.simulate:
            import datetime as dt

            db.ensure_windows(engine, self.config)
            today = dt.datetime.now(self.config.tz).date()
            self.yesterday = simulate_day(
                url, self.config, previous_working_day(today), self.folder
            )
        engine.dispose()
        self.start_emulators()
        hall = self.write_hall_file()
        self.server_args = (
            "server",
            "--config",
            str(hall),
            "--db",
            url,
            "--port",
            str(self.port),
            "--ignore-hours",
        )
        self.spawn("server", *self.server_args)
        self.wait_ready()
        if self.halls >= 2:
            self.start_county(url)
        self.spawn("gateway", "gateway", "--config", str(hall))
        if self.gui:
            voice, self.voice_line = voice_route(self.folder)
            (kx, ky, kw, kh), (dx, dy, dw, dh) = side_by_side(screen_size())
            self.spawn(
                "kiosk",
                "kiosk",
                "--server",
                self.url,
                "--name",
                "kiosk-1",
                "--printer",
                f"tcp://127.0.0.1:{self.printer.port}",
                "--windowed",
                "--size",
                f"{kw}x{kh}",
                env={
                    "HALLQ_KIOSK_TOKEN": self.token("kiosk-1"),
                    "HALLQ_KIOSK_STAFF_ID": DEMO_GUIDE,
                    **placed(kx, ky),
                },
            )
            self.spawn(
                "display",
                "display",
                "--server",
                self.url,
                "--windowed",
                "--size",
                f"{dw}x{dh}",
                "--speak",
                *voice,
                env={"HALLQ_DISPLAY_TOKEN": self.token("display-1"), **placed(dx, dy)},
            )

    # -- a second hall and the county ---------------------------------------------------

    def hall_variant(self, name: str, hall_id: str | None, port: int, url: str, title: str) -> Path:
        """The demo hall's file under another id, name, port and database."""
        body = DEMO_CONFIG.read_text(encoding="utf-8")
        if hall_id is not None:
            body = body.replace("[hall]\n", f'[hall]\nid = "{hall_id}"\n', 1)
        if title:
            body = re.sub(r"(?m)^name = \{ zh = .*$", title, body, count=1)
        body = re.sub(r"(?m)^port = \d+$", f"port = {port}", body, count=1)
        body = re.sub(r'(?m)^db = ".*"$', f'db = "{url}"', body, count=1)
        body = re.sub(
            r'(?m)^public_url = ".*"$', f'public_url = "http://127.0.0.1:{port}"', body, count=1
        )
        path = self.folder / name
        path.write_text(body, encoding="utf-8")
        self._copy_photos()
        return path

    def start_county(self, url: str) -> None:
        """The second hall and the county page: ``hallq server --county`` serving the
        second hall (the first keeps its own process) and the page over both."""
        import secrets

        from ..store import db

        town_url = f"sqlite:///{self.folder / 'hallq-demo-town.db'}"
        engine = db.open_engine(town_url, hall="town")
        db.upgrade(engine)
        _load_demo_calendars(engine)
        engine.dispose()
        first = self.hall_variant("county-main.toml", None, self.port, url, "")
        town = self.hall_variant(
            "county-town.toml",
            "town",
            self.port + 1,
            town_url,
            'name = { zh = "临江市江北便民服务站", en = "Linjiang Jiangbei Service Station" }',
        )
        self.county_token = secrets.token_urlsafe(12)
        county = self.folder / "county.toml"
        county.write_text(
            "# Written by `hallq demo --halls 2` (docs/deployment.md, county file).\n"
            "[county]\n"
            'name = "临江市 Linjiang"\n'
            f"port = {self.port + 2}\n"
            f'halls = ["{first.name}", "{town.name}"]\n\n'
            "[[tokens]]\n"
            'name = "county-leader"\n'
            f'token = "{self.county_token}"\n',
            encoding="utf-8",
        )
        self.spawn(
            "county", "server", "--county", str(county), "--hall", "town", "--county-page",
            "--ignore-hours",
        )  # fmt: skip
        self.wait_ready(port=self.port + 2, name="county")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.bus is not None:
            self.bus.stop()
        if self.printer is not None:
            self.printer.stop()

    def restart_server(self) -> bool:
        """Start the server again after it stopped: the kiosk, display and gateway stay up
        and reconnect by themselves, as in a hall. True when it is back."""
        self.spawn("server", *self.server_args)
        try:
            self.wait_ready()
        except RuntimeError:
            return False
        return True

    def check(self) -> list[str]:
        """Processes that stopped on their own, with the tail of their log. A stopped
        server is started again (once per stop) and is not counted when it comes back."""
        server = self.procs.get("server")
        if server is not None and server.poll() is not None and self.server_args:
            print(
                f"hallq demo: the server stopped (exit {server.returncode}); starting it again",
                file=sys.stderr,
                flush=True,
            )
            if self.restart_server():
                print("hallq demo: the server is back", file=sys.stderr, flush=True)
        dead = []
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.folder / f"{name}.log").read_text(errors="replace")[-600:]
                dead.append(f"{name} stopped (exit {proc.returncode}):\n{tail}")
        return dead

    # -- a living hall -----------------------------------------------------------------

    async def simulate_hall(self, stop: asyncio.Event) -> None:
        """Citizens take tickets for the bus windows' queues; clerks press their keypads."""
        from ..client import HallClient, RequestError

        queues = {q for w in BUS_WINDOWS for q in self.config.window(w).queues}  # type: ignore
        services = [s.id for s in self.config.services if s.queue in queues]
        kiosk = HallClient(self.url, self.token("kiosk-2"), name="demo-citizens")
        await kiosk.start()
        rng = random.Random(2026)
        await self._wait_for_gateway(kiosk)
        await self._sign_in_all(kiosk, stop)
        ledger = asyncio.get_running_loop().create_task(self._work_the_ledger(stop))
        try:
            while not stop.is_set():
                with contextlib.suppress(RequestError, Exception):
                    await kiosk.request(
                        "ticket.issue",
                        {"service": rng.choice(services), "language": rng.choice(["zh", "en"])},
                    )
                w = rng.choice(BUS_WINDOWS)
                pad = self.keypads[w]
                pad.call_next()
                await asyncio.sleep(rng.uniform(2, 4))
                pad.press(0x0B)  # finish: ask the citizen to rate
                await asyncio.sleep(1)
                # Mostly satisfied, as halls report (five keys: 4 very satisfied ... 0 very
                # dissatisfied), so the ledger gets an occasional bad rating, not a flood.
                level = rng.choices([4, 3, 2, 1, 0], weights=[60, 25, 10, 4, 1])[0]
                self.evaluators[w].press(level)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), rng.uniform(2, 5))
        finally:
            ledger.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ledger
            await kiosk.close()

    DEMO_STEPS = {
        "verify": ("valid", "checked the window's recording: the wait was too long"),
        "contact": ("reached", None),
        "fix": ("done", "a second window opens when more than ten wait"),
        "callback": ("satisfied", None),
        "close": ("closed", None),
    }
    """What the simulated department heads record on each bad rating, step by step."""

    async def _work_the_ledger(self, stop: asyncio.Event) -> None:
        """Each department's head follows its bad ratings through the ledger (差评整改),
        one step every few seconds, so a dissatisfied case is seen to the end."""
        from ..client import HallClient

        heads = [c for c in self.config.clerks if "head" in c.roles and c.department is not None]
        clients = []
        for h in heads:
            client = HallClient(
                self.url, None, staff={"clerk": h.id, "pin": "1234", "role": "head"}, name=h.id
            )
            await client.start()
            clients.append(client)
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 6)
                for client in clients:
                    with contextlib.suppress(Exception):
                        for r in (await client.request("ledger.list"))["records"]:
                            op = next((a for a in r["actions"] if a in self.DEMO_STEPS), None)
                            if op is None:
                                continue
                            outcome, note = self.DEMO_STEPS[op]
                            args: dict[str, Any] = {"id": r["id"], "outcome": outcome}
                            if note:
                                args["note"] = note
                            if op == "callback":
                                args["level"] = 4
                            await client.request(f"ledger.{op}", args)
        finally:
            for client in clients:
                await client.close()

    async def _sign_in_all(self, client: Any, stop: asyncio.Event, timeout: float = 60) -> None:
        """Clerks sign in on their keypads (their number + FUNCTION) until every simulated
        window is open: a key pressed while the gateway reconnects is lost, so a window
        that stays closed is signed in again rather than left with its queue growing."""
        deadline = time.monotonic() + timeout
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                snap = await client.request("snapshot")
                open_now = {w["number"] for w in snap["windows"] if w["status"] != "closed"}
            except Exception:  # the server restarting: try again
                open_now = set()
            closed = [w for w in BUS_WINDOWS if w not in open_now]
            if not closed:
                return
            for w in closed:
                self.keypads[w].function(f"{w:03d}")
                await asyncio.sleep(0.3)
            await asyncio.sleep(1.5)
        print("hallq demo: some simulated windows did not open", file=sys.stderr)

    async def _wait_for_gateway(self, client: Any, timeout: float = 20) -> None:
        """Keys pressed before the gateway has the bus open would be lost."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                snap = await client.request("snapshot")
                if any(d["part"] == "keypad" and d["state"] == "online" for d in snap["devices"]):
                    return
            await asyncio.sleep(0.5)


def run(folder: Path, port: int, gui: bool | None, simulate: bool, halls: int = 1) -> int:
    if gui is None:
        gui = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    demo = Demo(folder, port, gui, simulate, halls)
    try:
        demo.start()
    except Exception as exc:
        demo.stop()
        print(f"hallq demo: could not start: {exc!r}", file=sys.stderr)
        return 1
    try:
        demo.appointment = _book_appointment(demo)
        _introduce(demo, folder, port, gui)
    except Exception:
        demo.stop()
        raise
    failed: list[str] = []

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sim = loop.create_task(demo.simulate_hall(stop)) if simulate else None
        while not stop.is_set():
            dead = demo.check()
            if dead:
                print("\n".join(dead), file=sys.stderr)
                failed.extend(dead)
                stop.set()
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1)
        if sim is not None:
            await sim

    try:
        asyncio.run(main())
    finally:
        demo.stop()
    return 1 if failed else 0


def screen_size() -> tuple[int, int]:
    """The X screen's size (``xdpyinfo``), or 1920×1080 when it cannot be asked."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["xdpyinfo"], capture_output=True, text=True, timeout=5).stdout
        found = re.search(r"dimensions:\s+(\d+)x(\d+)", out)
        if found:
            return int(found.group(1)), int(found.group(2))
    return 1920, 1080


SMALLEST_CHECKED = (960, 540)
"""The smallest window the kiosk's and the displays' layout checks cover (issue 12): the
demo never opens a smaller one, so what it shows has been checked."""


def side_by_side(screen: tuple[int, int]) -> tuple[tuple[int, int, int, int], ...]:
    """Kiosk on the left half, hall display on the right, both 16:9 (x, y, w, h), never
    smaller than :data:`SMALLEST_CHECKED` (on a screen under 1920 px wide the display
    then overlaps the kiosk's right edge rather than shrinking below what was checked)."""
    w = max(SMALLEST_CHECKED[0], min(screen[0] // 2, screen[1] * 16 // 9))
    h = w * 9 // 16
    return (0, 0, w, h), (max(0, min(w, screen[0] - w)), 0, w, h)


def placed(x: int, y: int) -> dict[str, str]:
    """Kivy's window position, given through its ``KCFG_`` environment settings."""
    return {
        "KCFG_GRAPHICS_POSITION": "custom",
        "KCFG_GRAPHICS_LEFT": str(x),
        "KCFG_GRAPHICS_TOP": str(y),
    }


def _book_appointment(demo: Demo) -> str:
    """One appointment for now, so the banner can give a code to try at the kiosk."""
    import datetime as dt

    from ..client import HallClient

    async def book() -> str:
        async with HallClient(demo.url, demo.token("admin-1"), name="demo-banner") as admin:
            now = dt.datetime.now(dt.UTC)
            reply = await admin.request(
                "appointment.create",
                {
                    "service": demo.config.services[0].id,
                    "start": now.isoformat(),
                    "end": (now + dt.timedelta(hours=4)).isoformat(),
                },
            )
            return str(reply.get("code", ""))

    try:
        return asyncio.run(book())
    except Exception as exc:  # the demo runs without it; the banner says why
        return f"(none: {exc})"


def voice_route(folder: Path) -> tuple[list[str], str]:
    """Where the demo display's voice goes: the display's extra arguments and the banner's
    line that says so.

    The sound output is tried with a tenth of a second of silence through the player the
    display would use, not only looked for: on a machine with ``aplay`` but no sound card
    (a server, a container) every call failed and was logged while the banner said it was
    spoken. Then the calls are written as WAV files into ``<folder>/voice/``, and the
    banner says where, so the demo hall still speaks and can be listened to."""
    from display.voice.exceptions import AudioOutputError
    from display.voice.pcm import Pcm
    from display.voice.sinks import DeviceSink

    try:
        sink = DeviceSink(timeout_margin=5.0)
        sink.play(Pcm.silence(100), "sound check")
    except AudioOutputError as exc:
        wavs = folder / "voice"
        return (
            ["--voice-output", "wav", "--wav-dir", str(wavs)],
            f"  voice         no sound output here ({exc}): each call is written as a WAV "
            f"file to {wavs}/",
        )
    player = " ".join(sink.command)
    return [], f"  voice         calls are spoken through `{player}` to the default sound output"


def _introduce(demo: Demo, folder: Path, port: int, gui: bool) -> None:
    c = demo.config
    print(
        f"HallQ demo hall: {c.name.get('en') or c.name.get('zh')} "
        f"({len(c.services)} services, {len(c.windows)} windows), files in {folder}/"
    )
    print(f"  server        {demo.url}   health http://127.0.0.1:{port}/healthz")
    print(f"  clerk console http://127.0.0.1:{port}/clerk    (clerk c001, PIN 1234)")
    supervisor = demo.token("supervisor-1")
    print(f"  supervisor    http://127.0.0.1:{port}/supervisor (token {supervisor})")
    print(
        f"  back office   http://127.0.0.1:{port}/office     (officer o001, approver a001, "
        "PIN 1234: the party department's promised cases)"
    )
    print(
        f"  printer       emulated on tcp://127.0.0.1:{demo.printer.port}, "
        f"tickets in {folder / 'tickets'}/"
    )
    print(
        f"  serial bus    emulated on {demo.bus.path}: keypads, evaluators and LED "
        f"strips of windows {', '.join(map(str, BUS_WINDOWS))}, driven by `hallq gateway`"
    )
    print(f"  appointment   code {demo.appointment}: try it at the kiosk's “appointment check-in”")
    if demo.halls >= 2:
        print(
            f"  second hall   ws://127.0.0.1:{port + 1}/   supervisor "
            f"http://127.0.0.1:{port + 1}/supervisor (same tokens as the first hall)"
        )
        print(f"  county page   http://127.0.0.1:{port + 2}/county (token {demo.county_token})")
    if gui:
        print(
            f"  kiosk and hall display: side by side in their own windows (a priority "
            f"ticket is confirmed by hall guide {DEMO_GUIDE}, PIN 1234)"
        )
        print(demo.voice_line)
    else:
        print(
            "  no screen here: kiosk and hall display not started (run on a desktop, "
            "or with DISPLAY set)"
        )
    if demo.yesterday is not None:
        y = demo.yesterday
        print(
            f"  yesterday     {y['day']} simulated: {y['cases']} cases, {y['rated']} rated, "
            f"{y['dissatisfied']} dissatisfied on the ledger (/supervisor), window "
            f"{WORSE_WINDOW}'s clerk rated worse: {len(y['reminders'])} talk reminders"
        )
        print(f"  day's report  {y['report']}  (the XLSX a director hands in)")
    print("Stop with Ctrl-C.", flush=True)


def _load_demo_calendars(engine: Any) -> None:
    """The example working-day calendars shipped with the demo (calendar-YYYY.toml), so
    promised cases get due days; a real hall loads the official one itself."""
    import datetime as dt
    import tomllib

    from ..core.calendar import parse_year
    from ..store import workdays

    for path in sorted(Path(__file__).parent.glob("calendar-*.toml")):
        year = parse_year(tomllib.loads(path.read_text(encoding="utf-8")), str(path))
        with engine.begin() as conn:
            if year.year not in workdays.loaded_years(conn):
                workdays.load_year(conn, year, str(path), dt.datetime.now(dt.UTC))


SIMULATED = "demo-yesterday"
"""The actor of the simulated past day's operations (its audit rows say so)."""

WORSE_WINDOW = 2
"""The window whose clerk the simulated citizens rate worse: under 80 % satisfied, so the
day's assessment gives it (and its clerk) a talk reminder."""


def simulate_day(url: str, config: Any, day: Any, folder: Path, seed: int = 2026) -> dict[str, Any]:
    """A whole working day of windows 1-3 written through the store's own operations on
    an injected clock (09:00 to 17:00 hall time on ``day``): some 90 cases with ratings,
    window 2's clerk rated worse, a few dissatisfied ratings that open ledger records.
    Then the day is assessed as the clock would (talk reminders: the warning) and its
    report written as the XLSX a director hands in. Returns what the banner says."""
    import dataclasses
    import datetime as dt

    from ..core import accountability as acc
    from ..core.errors import HallError
    from ..core.hall import ALWAYS_OPEN
    from ..core.permissions import Actor
    from ..core.states import WindowOp
    from ..store import accountability, db, reportbook
    from ..store.ops import HallOps

    # the demo server ignores opening hours; so does its past day
    config = dataclasses.replace(
        config, queues=tuple(dataclasses.replace(q, hours=ALWAYS_OPEN) for q in config.queues)
    )
    ops = HallOps(config)
    rng = random.Random(seed)
    clock_now = [dt.datetime.combine(day, dt.time(9, 0), config.tz).astimezone(dt.UTC)]
    engine = db.open_engine(url)
    committer = db.Committer(engine, lambda: clock_now[0])
    actor = Actor(SIMULATED, "gateway")

    def run(fn: Any, args: dict[str, Any], *extra: Any) -> Any:
        def work(conn: Any, now: Any) -> tuple[Any, list[Any]]:
            return fn(conn, actor, args, now, *extra).reply, []

        return committer.call(work)[0]

    def advance(seconds: float) -> None:
        clock_now[0] += dt.timedelta(seconds=seconds)

    windows = {1: "c001", 2: "c002", 3: "c003"}
    kiosk = Actor(SIMULATED, "kiosk")
    counts = {"cases": 0, "rated": 0, "dissatisfied": 0}
    try:
        for w, clerk in windows.items():
            run(ops.window_op, {"window": w, "clerk": clerk}, WindowOp.OPEN)
        services = {
            w: [s.id for s in config.services if s.queue in config.window(w).queues]  # type: ignore[union-attr]
            for w in windows
        }
        for _ in range(30):
            for w in windows:
                advance(rng.uniform(60, 240))
                try:
                    committer.call(
                        lambda c, n, w=w: (
                            ops.issue(c, kiosk, {"service": rng.choice(services[w])}, n).reply,
                            [],
                        )
                    )
                    run(ops.call_next, {"window": w})
                except HallError:
                    continue  # a service's daily cap: this window waits a turn
                advance(rng.uniform(20, 60))
                run(ops.start, {"window": w})
                advance(rng.uniform(120, 600))
                run(ops.finish, {"window": w})
                counts["cases"] += 1
                worse = w == WORSE_WINDOW
                level = rng.choices(
                    [5, 4, 3, 2, 1], weights=[40, 20, 25, 10, 5] if worse else [75, 18, 5, 2, 0]
                )[0]
                with contextlib.suppress(HallError):
                    run(ops.rate, {"window": w, "level": level})
                    counts["rated"] += 1
                    counts["dissatisfied"] += level <= 2
        for w in windows:
            run(ops.window_op, {"window": w}, WindowOp.CLOSE)
        # The day is over: assessed as the server's clock would (日检查), and reported.
        clock_now[0] = dt.datetime.combine(
            day + dt.timedelta(days=1), dt.time(0, 5), config.tz
        ).astimezone(dt.UTC)
        period = acc.Period(day, day, "day")
        summary, _ = committer.call(
            lambda c, n: (accountability.assess(c, config, period, n, by=SIMULATED)[0], [])
        )
        with engine.connect() as conn, conn.begin():
            report = reportbook.build(conn, ops, period, clock_now[0])
    finally:
        committer.close()
        engine.dispose()
    path = folder / reportbook.filename(report, "xlsx")
    path.write_bytes(reportbook.to_xlsx(report))
    return {
        **counts,
        "day": day,
        "reminders": summary.get("reminders", []),
        "report": path,
        "satisfaction": report["headline"]["satisfaction"],
    }


def previous_working_day(today: Any) -> Any:
    """The weekday before ``today`` (a demo needs no holiday calendar for it)."""
    import datetime as dt

    day = today - dt.timedelta(days=1)
    while day.isoweekday() > 5:
        day -= dt.timedelta(days=1)
    return day


def clean(folder: Path) -> None:
    """Remove an old demo folder (database, logs, tickets) for a fresh start."""
    if folder.exists() and re.search(r"demo", folder.name):
        shutil.rmtree(folder)
