"""The gateway process: serial buses on one side, the queue server on the other.

Threads and the loop: each bus port is read by its :class:`BusDriver` thread; everything
the drivers report is posted onto the asyncio loop (:meth:`Gateway._post`), where all
state lives, so no lock is needed around the hall view, the presence tracker or the
counters. Writes go the other way through one single-thread executor per bus, which keeps
a bus's frames in order (result, then display) without blocking the loop on a slow port.

Guarantees, each tested in tests/hardware/test_gateway*.py:

- a key press is answered on its keypad, success or failure, never dropped: the request
  rides a reconnect with its idempotency key for up to ``request_timeout`` seconds, then
  the keypad shows failure (and beeps);
- a device's online/offline changes reach the server once each, and every state is
  reported again after a reconnect (a restarted server may have missed changes);
- nothing a device sends can stop the gateway: every callback from a bus thread runs
  under a guard that logs and counts instead of raising.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from hardware.bus import evaluator as ev
from hardware.bus import keypad as kp
from hardware.bus.driver import BusDriver, EvaluatorDriver, KeypadDriver, LedDriver
from hardware.bus.frame import Dropped, Frame
from hardware.bus.serial_link import SerialSettings
from hardware.gateway.config import (
    EVALUATOR_VARIANTS,
    FRAME_VARIANTS,
    BusSettings,
    DeviceSettings,
    GatewaySettings,
    PrinterSettings,
)
from hardware.gateway.keys import Plan, keypad_variant, plan_key
from hardware.gateway.state import Change, DeviceKey, HallView, Presence
from hardware.printer.printer import PrintResult, TicketPrinter
from hardware.printer.profile import get_profile
from hardware.printer.receipt import CaseReceipt
from hardware.printer.status import PrinterStatus
from hardware.printer.transport import transport_from_url
from queue_server.client import (
    ClientError,
    ConnectionState,
    HallClient,
    RequestError,
    RequestTimeout,
)

log = logging.getLogger("hallq.gateway")

RATING_GRACE_S = 10.0
"""The evaluator keeps a prompt open this much longer than the server's rating time, so a
late press still reaches the server, which answers ``rating_closed`` (the server owns the
timeout; the device only stops waiting eventually)."""

RECEIPTS_KEPT = 2000
"""Case numbers a window's printer remembers having printed (a replayed event after a
reconnect prints nothing); older ones cannot come back in a replay."""

KEY_QUEUE = 4
"""Keys waiting per keypad while one is being handled; more is a clerk hammering a key."""


@dataclass
class _Bus:
    settings: BusSettings
    driver: BusDriver
    executor: ThreadPoolExecutor


@dataclass
class _Keypad:
    device: DeviceSettings
    bus: _Bus
    driver: KeypadDriver
    keys: asyncio.Queue[kp.KeyEvent] = field(
        default_factory=lambda: asyncio.Queue(maxsize=KEY_QUEUE)
    )
    shown: tuple[str, int | None] | None = None


@dataclass
class _Evaluator:
    device: DeviceSettings
    bus: _Bus
    driver: EvaluatorDriver


@dataclass
class _Printer:
    """A window's receipt printer: one job at a time on its own thread (the driver
    blocks on status answers)."""

    settings: PrinterSettings
    printer: TicketPrinter
    executor: ThreadPoolExecutor
    printed: dict[str, None] = field(default_factory=dict)
    """Cases printed (or being printed) in this run, oldest first, at most RECEIPTS_KEPT."""
    condition: str | None = None
    """The last condition queued for the server (reported only when it changes)."""

    @property
    def key(self) -> DeviceKey:
        """How the server knows it: the window's device, part ``printer``."""
        return DeviceKey(f"window-{self.settings.window}", "printer", "", 0)


@dataclass
class _Led:
    device: DeviceSettings
    bus: _Bus
    driver: LedDriver
    shown: tuple[str, str | None] | None = None


class Gateway:
    """Owns the configured buses and one connection to the queue server.

    ``clock`` is monotonic seconds (tests may pass their own). ``start()`` returns once
    the buses and the client are started; neither has to be up.
    """

    def __init__(
        self,
        settings: GatewaySettings,
        token: str,
        *,
        server: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.token = token
        self.url = server or settings.server
        self.clock = clock
        self.view = HallView(settings.window_queues)
        self.stats: collections.Counter[str] = collections.Counter()
        self.buses: dict[str, _Bus] = {}
        self.keypads: dict[int, _Keypad] = {}
        self.evaluators: dict[int, _Evaluator] = {}
        self.leds: dict[int, _Led] = {}
        self.printers: dict[int, _Printer] = {
            p.window: _Printer(
                p,
                TicketPrinter(transport_from_url(p.url), get_profile(p.profile)),
                ThreadPoolExecutor(1, thread_name_prefix=f"printer:{p.window}"),
            )
            for p in settings.printers
        }
        self.client: HallClient | None = None
        self.presence: Presence | None = None
        self.reported: dict[DeviceKey, Change] = {}
        self._unsent: dict[DeviceKey, Change] = {}
        self._report_wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        keys: list[DeviceKey] = []
        for bus_settings in self.settings.buses:
            bus = self._make_bus(bus_settings)
            self.buses[bus_settings.name] = bus
            for device in bus_settings.devices:
                self._attach(bus, device)
                keys.append(
                    DeviceKey(
                        device.name,
                        device.kind,
                        bus_settings.name,
                        device.address,
                        device.silence_timeout,
                    )
                )
        self.presence = Presence(keys, self.clock(), self.settings.startup_grace)
        self.client = HallClient(
            self.url,
            self.token,
            name=self.settings.name,
            subscribe=True,
            on_event=self._on_event,
            on_snapshot=self._on_snapshot,
            on_state=self._on_state,
            request_timeout=self.settings.request_timeout,
            backoff_max=self.settings.reconnect_max,
        )
        for pad in self.keypads.values():
            self._spawn(self._key_worker(pad), f"keys:{pad.device.window}")
        self._spawn(self._reporter(), "device-reports")
        self._spawn(self._health(), "device-health")
        for printer in self.printers.values():
            self._spawn(self._watch_printer(printer), f"printer:{printer.settings.window}")
        for bus in self.buses.values():
            bus.driver.start()
        await self.client.start()
        log.info(
            "gateway started: %d bus(es), %d keypad(s), %d evaluator(s), %d LED strip(s); "
            "server %s",
            len(self.buses),
            len(self.keypads),
            len(self.evaluators),
            len(self.leds),
            self.url,
        )

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.client is not None:
            await self.client.close()
        for bus in self.buses.values():
            await asyncio.to_thread(bus.driver.stop)
            bus.executor.shutdown(wait=False, cancel_futures=True)
        for printer in self.printers.values():
            printer.executor.shutdown(wait=False, cancel_futures=True)
            await asyncio.to_thread(printer.printer.close)
        if self.stats:
            log.info("gateway stopped; counters: %s", dict(sorted(self.stats.items())))

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def run(self, stop: asyncio.Event) -> None:
        async with self:
            await stop.wait()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- wiring ------------------------------------------------------------------------

    def _make_bus(self, s: BusSettings) -> _Bus:
        driver = BusDriver(
            SerialSettings(s.port, baudrate=s.baud, rs485=s.rs485),
            FRAME_VARIANTS[s.frame],
            idle_gap=s.idle_gap,
            name=s.name,
        )
        bus = _Bus(s, driver, ThreadPoolExecutor(1, thread_name_prefix=f"write:{s.name}"))
        driver.on_drop = lambda d: self._post(self._on_drop, bus, d)
        driver.on_unknown_address = lambda f: self._post(self._on_stranger, bus, f)
        driver.on_link = lambda up: self._post(self._on_link, bus, up, driver.last_error)
        driver.add_listener(None, lambda f: self._post(self._on_heard, bus, f))
        return bus

    def _attach(self, bus: _Bus, device: DeviceSettings) -> None:
        d, w = bus.driver, device.window
        if device.kind == "keypad":
            variant = keypad_variant(bus.settings.keys)
            self.keypads[w] = _Keypad(
                device,
                bus,
                KeypadDriver(d, device.address, lambda e: self._post(self._on_key, w, e), variant),
            )
        elif device.kind == "evaluator":
            self.evaluators[w] = _Evaluator(
                device,
                bus,
                EvaluatorDriver(
                    d,
                    device.address,
                    lambda o: self._post(self._on_rating, w, o),
                    scale=ev.FOUR_KEY if device.scale == 4 else ev.FIVE_KEY,
                    variant=EVALUATOR_VARIANTS[bus.settings.evaluator],
                    timeout=self.settings.hall_rating_seconds + RATING_GRACE_S,
                ),
            )
        else:
            self.leds[w] = _Led(device, bus, LedDriver(d, device.address, str(w), device.language))

    def _post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` on the loop; called from bus threads. Never raises into the driver."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between check and call
            loop.call_soon_threadsafe(self._guarded, fn, *args)

    def _guarded(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            self.stats["internal_errors"] += 1
            log.exception("gateway: handler %s failed", getattr(fn, "__name__", fn))

    def _write(self, bus: _Bus, fn: Callable[..., bool], *args: Any) -> asyncio.Future[bool]:
        """Queue a write on the bus's own thread; frames of one bus keep their order."""
        assert self._loop is not None
        try:
            return self._loop.run_in_executor(bus.executor, fn, *args)
        except RuntimeError:  # stopping: the executor is shut down, the port is closed
            done: asyncio.Future[bool] = self._loop.create_future()
            done.set_result(False)
            return done

    # -- bus facts ---------------------------------------------------------------------

    def _on_drop(self, bus: _Bus, dropped: Dropped) -> None:
        self.stats[f"dropped.{dropped.reason.value}"] += 1
        log.debug("bus %s: dropped %s", bus.settings.name, dropped.describe())

    def _on_stranger(self, bus: _Bus, frame: Frame) -> None:
        self.stats["unknown_address"] += 1
        log.debug(
            "bus %s: frame from unconfigured address 0x%02x", bus.settings.name, frame.address
        )

    def _on_heard(self, bus: _Bus, frame: Frame) -> None:
        if self.presence is not None:
            self.presence.heard(bus.settings.name, frame.address, self.clock())

    def _on_link(self, bus: _Bus, up: bool, error: str | None) -> None:
        log.info("bus %s: port %s", bus.settings.name, "open" if up else f"lost ({error})")
        self.stats["link_up" if up else "link_down"] += 1
        assert self.presence is not None
        self._queue_reports(self.presence.link(bus.settings.name, up, self.clock(), error))
        if up:
            # The devices may have lost power with the adapter: show everything again.
            for led in self.leds.values():
                if led.bus is bus:
                    self._write(bus, led.driver.init)
            for window in self._windows_on(bus):
                self._render(window, force=True)

    def _windows_on(self, bus: _Bus) -> set[int]:
        return {
            w for table in (self.keypads, self.leds) for w, dev in table.items() if dev.bus is bus
        }

    # -- presence reports --------------------------------------------------------------

    def _queue_reports(self, changes: list[Change]) -> None:
        for change in changes:
            log.info(
                "device %s %s: %s%s",
                change.device.name,
                change.device.part,
                change.state,
                f" ({change.detail})" if change.detail else "",
            )
            self.reported[change.device] = change
            self._unsent[change.device] = change
        if changes:
            self._report_wake.set()

    async def _health(self) -> None:
        while True:
            await asyncio.sleep(self.settings.health_interval)
            assert self.presence is not None
            self._queue_reports(self.presence.evaluate(self.clock()))

    async def _reporter(self) -> None:
        """Send device states while online; keep the unsent ones for the next connection."""
        while True:
            await self._report_wake.wait()
            self._report_wake.clear()
            client = self.client
            if client is None or client.state is not ConnectionState.ONLINE:
                continue
            for key, change in list(self._unsent.items()):
                args = {"device": key.name, "part": key.part, "state": change.state}
                if change.detail:
                    args["detail"] = change.detail
                try:
                    await client.request(
                        "device.report", args, timeout=self.settings.request_timeout
                    )
                except RequestError as exc:  # refused: retrying would not help
                    self.stats["report_refused"] += 1
                    log.error("device.report for %s refused: %s", key.name, exc)
                except ClientError:
                    break  # away again; everything is re-sent on reconnect
                if self._unsent.get(key) is change:
                    del self._unsent[key]

    async def _on_state(self, state: ConnectionState) -> None:
        log.info("server connection: %s", state.value)
        if state is ConnectionState.ONLINE:
            self._unsent.update(self.reported)
            self._report_wake.set()
        elif state is ConnectionState.REFUSED:
            log.error("the server refused the gateway token; keys will show failure")

    # -- server events -----------------------------------------------------------------

    async def _on_snapshot(self, snap: dict[str, Any]) -> None:
        self.view.apply_snapshot(snap)
        for window in set(self.keypads) | set(self.leds):
            self._render(window, force=True)

    async def _on_event(self, kind: str, seq: int | None, data: Any) -> None:
        if not isinstance(data, dict):
            return
        if kind == "window.changed":
            window = self.view.apply_window(data)
            if window is not None:
                self._render(window)
        elif kind in ("ticket.called", "ticket.recalled"):
            window = self.view.apply_called(data)
            if window is not None:
                # A recall shows the number again: strips blink or scroll on a new frame.
                self._render(window, force=kind == "ticket.recalled")
        elif kind == "queue.stats":
            for window in self.view.apply_stats(data):
                self._render_keypad(window)
        elif kind == "rating.requested":
            self._prompt(data)
        elif kind == "casefile.opened" and data.get("window") in self.printers:
            number = data.get("number")
            if isinstance(number, str):
                self._spawn(self._print_receipt(data["window"], number), f"receipt:{number}")
        elif kind == "rating.not_rated" and data.get("window") in self.evaluators:
            log.info("window %s: case %s not rated in time", data.get("window"), data.get("case"))

    def _render(self, window: int, force: bool = False) -> None:
        self._render_keypad(window, force)
        led = self.leds.get(window)
        if led is None:
            return
        shown = self.view.window(window).led()
        if shown == led.shown and not force:
            return
        led.shown = shown
        what, label = shown
        if what == "serving" and label:
            self._write(led.bus, led.driver.show_serving, label)
        elif what == "paused":
            self._write(led.bus, led.driver.show_paused)
        else:
            self._write(led.bus, led.driver.show_idle)

    def _render_keypad(self, window: int, force: bool = False) -> None:
        pad = self.keypads.get(window)
        if pad is None:
            return
        shown = (self.view.window(window).current or "", self.view.waiting_at(window))
        if shown == pad.shown and not force:
            return
        pad.shown = shown
        self._write(pad.bus, pad.driver.show_number, *shown)

    def _prompt(self, data: dict[str, Any]) -> None:
        window, label = data.get("window"), data.get("label")
        evaluator = self.evaluators.get(window) if isinstance(window, int) else None
        if evaluator is None or not isinstance(label, str):
            return
        log.info("window %d: rating requested for %s (case %s)", window, label, data.get("case"))
        self._write(evaluator.bus, evaluator.driver.prompt, label)

    # -- receipts ----------------------------------------------------------------------

    async def _print_receipt(self, window: int, number: str) -> None:
        """A promised case opened at a window with a printer: ask the server for the
        receipt (the check code and phone link are not in the event, which every
        console sees) and print it, once per case (a replayed event prints nothing)."""
        printer = self.printers[window]
        if number in printer.printed or self.client is None:
            return
        printer.printed[number] = None
        while len(printer.printed) > RECEIPTS_KEPT:
            del printer.printed[next(iter(printer.printed))]
        try:
            r = await self.client.request(
                "casefile.receipt", {"number": number}, timeout=self.settings.request_timeout
            )
        except (RequestError, RequestTimeout, ClientError) as exc:
            printer.printed.pop(number, None)
            self.stats["receipt.not_asked"] += 1
            log.warning("window %d: receipt of %s not fetched: %s", window, number, exc)
            return
        lang = printer.settings.language
        receipt = CaseReceipt(
            hall_name=_pick(r.get("hall_name"), lang),
            service_name=_pick(r.get("service_name"), lang),
            number=str(r["number"]),
            opened_on=str(r.get("opened_on") or ""),
            due_on=r.get("due_on"),
            promised_days=int(r.get("promised_days") or 0),
            check=str(r["check"]),
            qr_url=str(r["url"]),
            language=lang,
        )
        assert self._loop is not None
        result: PrintResult = await self._loop.run_in_executor(
            printer.executor, printer.printer.print_receipt, receipt
        )
        self.stats[f"receipt.{result.outcome.value}"] += 1
        log.info("window %d: receipt of %s: %s", window, number, result.outcome.value)
        self._printer_state(printer, result.after or result.before)

    async def _watch_printer(self, printer: _Printer) -> None:
        """Ask the idle printer its state at start and every ``printer_poll`` seconds, on
        its own thread (a receipt being printed is asked in turn, never at once)."""
        assert self._loop is not None
        while True:
            try:
                status = await self._loop.run_in_executor(printer.executor, printer.printer.status)
            except Exception:  # a poll must never end the watch
                log.exception("window %d: printer status failed", printer.settings.window)
            else:
                self._printer_state(printer, status)
            if self.settings.printer_poll <= 0:
                return
            await asyncio.sleep(self.settings.printer_poll)

    def _printer_state(self, printer: _Printer, status: PrinterStatus) -> None:
        """Queue the printer's condition for the server when it changed: the clerk's
        paper running out shows on the supervisor's page like a kiosk's."""
        condition = status.condition.value
        if condition == printer.condition:
            return
        printer.condition = condition
        self._queue_reports([Change(printer.key, condition, None)])

    # -- keys --------------------------------------------------------------------------

    def _on_key(self, window: int, event: kp.KeyEvent | kp.UnknownKey) -> None:
        pad = self.keypads[window]
        if isinstance(event, kp.UnknownKey):
            self.stats["unknown_key"] += 1
            log.info(
                "window %d: unknown key 0x%02x (%s)",
                window,
                event.key & 0xFF,
                event.reason or "not in the key table",
            )
            self._feedback(pad, False)
            return
        try:
            pad.keys.put_nowait(event)
        except asyncio.QueueFull:
            self.stats["keys_overflow"] += 1
            log.warning("window %d: keys arrive faster than the server answers", window)
            self._feedback(pad, False)

    async def _key_worker(self, pad: _Keypad) -> None:
        """One key at a time per keypad, in the order pressed."""
        while True:
            event = await pad.keys.get()
            try:
                await self._handle_key(pad, event)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.stats["internal_errors"] += 1
                log.exception("window %d: key %s failed", pad.device.window, event.action.value)
                self._feedback(pad, False)

    async def _handle_key(self, pad: _Keypad, event: kp.KeyEvent) -> None:
        window = pad.device.window
        plan = plan_key(
            event.action,
            event.argument,
            window=window,
            status=self.view.window(window).status,
            queues=self.settings.window_queues.get(window, ()),
            clerk_format=self.settings.clerk_format,
        )
        self.stats[f"key.{event.action.value}"] += 1
        if plan.local == "clear":
            self._render_keypad(window, force=True)
            return
        if plan.local == "show_address":
            self._write(pad.bus, pad.driver.show_number, str(pad.device.address))
            pad.shown = None
            return
        if plan.refuse:
            log.info("window %d: %s: %s", window, event.action.value, plan.refuse)
            self._feedback(pad, False)
            return
        self._feedback(pad, await self._perform(window, plan))

    async def _perform(self, window: int, plan: Plan) -> bool:
        client = self.client
        if client is None or client.state is ConnectionState.REFUSED:
            self.stats["server_refused_token"] += 1
            return False
        for i, req in enumerate(plan.requests):
            try:
                result = await client.request(
                    req.op, req.args, timeout=self.settings.request_timeout
                )
            except RequestError as exc:
                if exc.code == "unknown_ticket" and i + 1 < len(plan.requests):
                    continue
                self.stats[f"refused.{exc.code}"] += 1
                log.info("window %d: %s refused: %s", window, req.op, exc.code)
                return False
            except (RequestTimeout, ClientError) as exc:
                self.stats["server_away"] += 1
                log.warning(
                    "window %d: %s not answered (%s); keypad shows failure", window, req.op, exc
                )
                return False
            if req.op == "call.next" and isinstance(result, dict) and result.get("ticket") is None:
                self.stats["nobody_waiting"] += 1
                log.info("window %d: nobody waiting", window)
                return False
            log.info("window %d: %s done", window, req.op)
            return True
        return False

    def _feedback(self, pad: _Keypad, ok: bool) -> None:
        """Success or failure on the keypad, then its number again (the result replaces
        the digits on most keypads)."""
        self._write(pad.bus, pad.driver.show_result, ok)
        if not ok:
            self._write(pad.bus, pad.driver.beep)
        self._render_keypad(pad.device.window, force=True)

    # -- ratings -----------------------------------------------------------------------

    def _on_rating(self, window: int, outcome: ev.RatingOutcome) -> None:
        kind = outcome.kind
        if kind is ev.OutcomeKind.RATED and outcome.grade is not None:
            self.stats["rating.pressed"] += 1
            self._spawn(self._submit_rating(window, int(outcome.grade)), f"rating:{window}")
        elif kind is ev.OutcomeKind.NOT_RATED:
            log.debug("window %d: evaluator stopped waiting (the server records not rated)", window)
        elif kind is ev.OutcomeKind.INVALID_KEY:
            self.stats["rating.invalid_key"] += 1
            log.info("window %d: evaluator key %s is not on its scale", window, outcome.raw)
        else:
            self.stats["rating.unsolicited"] += 1
            log.info("window %d: evaluator pressed with no rating open; ignored", window)

    async def _submit_rating(self, window: int, level: int) -> None:
        assert self.client is not None
        try:
            await self.client.request(
                "rating.submit",
                {"window": window, "level": level},
                timeout=self.settings.rating_timeout,
            )
        except RequestError as exc:
            self.stats[f"rating.refused.{exc.code}"] += 1
            log.info("window %d: rating not recorded: %s", window, exc.code)
        except ClientError as exc:
            self.stats["rating.lost"] += 1
            log.warning("window %d: rating could not reach the server: %s", window, exc)
        else:
            self.stats["rating.recorded"] += 1
            log.info("window %d: rating %d recorded", window, level)


def _pick(names: Any, language: str) -> str:  # noqa: ANN401 - a name table from the hall
    """A per-language name of the hall file, with the hall's first language as fallback."""
    if isinstance(names, str):
        return names
    if not isinstance(names, dict) or not names:
        return ""
    return str(names.get(language) or names.get("zh") or next(iter(names.values())))
