"""Thin I/O around the bus codecs: one thread owns one port, frames are dispatched by address.

The reader thread never lets a port problem escape: when the port disappears (USB adapter
unplugged, pty closed) it reports the link down, drops any partial frame, and reopens with
exponential backoff until the port is back. Callbacks run on the reader thread; an asyncio
gateway wraps them with :func:`threadsafe` so they land on its loop.

Device façades (:class:`KeypadDriver`, :class:`EvaluatorDriver`, :class:`LedDriver`) hold
no I/O of their own: they translate between typed events and frames on a shared bus.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import serial

from hardware.bus import evaluator as ev
from hardware.bus import keypad as kp
from hardware.bus import led
from hardware.bus.frame import DEFAULT_VARIANT, Dropped, Frame, FrameDecoder, FrameVariant, encode
from hardware.bus.serial_link import SerialSettings, open_serial
from hardware.exceptions import TransportError

log = logging.getLogger("hallq.hardware.bus")

FrameCallback = Callable[[Frame], None]


def threadsafe(
    loop: asyncio.AbstractEventLoop, callback: Callable[..., Any]
) -> Callable[..., None]:
    """Wrap a callback so calling it from the reader thread runs it on ``loop``."""

    def schedule(*args: Any) -> None:
        loop.call_soon_threadsafe(callback, *args)

    return schedule


class BusDriver:
    """Owns one serial port of the hall bus.

    ``idle_gap``: a partial frame older than this is abandoned (RS-485 devices send a frame
    in one burst, so silence mid-frame means the rest was lost). ``echo_window``: frames
    identical to one we sent within this window are our own bytes echoed by a half-duplex
    adapter, and are dropped rather than taken as a second key press.
    """

    def __init__(
        self,
        settings: SerialSettings,
        variant: FrameVariant = DEFAULT_VARIANT,
        *,
        idle_gap: float = 0.2,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        echo_window: float = 0.3,
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.variant = variant
        self.idle_gap = idle_gap
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.echo_window = echo_window
        self.name = name or settings.url
        self._decoder = FrameDecoder(variant)
        self._listeners: dict[int | None, list[FrameCallback]] = {}
        self._tickers: list[Callable[[float], None]] = []
        self.on_drop: Callable[[Dropped], None] | None = None
        self.on_link: Callable[[bool], None] | None = None
        self.on_unknown_address: FrameCallback | None = None
        self._port: serial.SerialBase | None = None
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._up = threading.Event()
        self._thread: threading.Thread | None = None
        self._sent: deque[tuple[float, bytes]] = deque(maxlen=32)
        self.reopen_count = 0
        self.last_error: str | None = None

    # -- wiring ------------------------------------------------------------------------

    def add_listener(self, address: int | None, callback: FrameCallback) -> None:
        """``address=None`` receives every frame (monitoring, the demo's bus log)."""
        self._listeners.setdefault(address, []).append(callback)

    def add_ticker(self, callback: Callable[[float], None]) -> None:
        """Called with ``time.monotonic()`` on every reader loop (about 20 times a second)."""
        self._tickers.append(callback)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"bus:{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._close(report=False)

    def __enter__(self) -> BusDriver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def is_up(self) -> bool:
        return self._up.is_set()

    def wait_up(self, timeout: float) -> bool:
        return self._up.wait(timeout)

    # -- output ------------------------------------------------------------------------

    def send(self, frame: Frame) -> bool:
        return self.send_raw(encode(frame, self.variant))

    def send_raw(self, data: bytes) -> bool:
        """Write bytes; False when the link is down (the caller reports the device offline)."""
        with self._write_lock:
            port = self._port
            if port is None:
                return False
            try:
                port.write(data)
                port.flush()
            except (serial.SerialException, OSError) as exc:
                log.warning("bus %s: write failed: %s", self.name, exc)
                self.last_error = str(exc)
                return False
            self._sent.append((time.monotonic(), data))
            return True

    # -- reader thread -----------------------------------------------------------------

    def _open(self) -> bool:
        try:
            port = open_serial(self.settings)
        except TransportError as exc:
            if self.last_error != str(exc):
                log.warning("bus %s: %s", self.name, exc)
            self.last_error = str(exc)
            return False
        with self._write_lock:
            self._port = port
        self.reopen_count += 1
        self.last_error = None
        self._up.set()
        log.info("bus %s: port open", self.name)
        self._notify_link(True)
        return True

    def _close(self, report: bool = True) -> None:
        with self._write_lock:
            port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass
        was_up = self._up.is_set()
        self._up.clear()
        for event in self._decoder.flush():
            self._handle(event)
        if report and was_up:
            self._notify_link(False)

    def _notify_link(self, up: bool) -> None:
        if self.on_link is not None:
            try:
                self.on_link(up)
            except Exception:  # a buggy callback must not kill the bus thread
                log.exception("bus %s: link callback failed", self.name)

    def _run(self) -> None:
        backoff = self.backoff_initial
        last_rx = time.monotonic()
        while not self._stop.is_set():
            if self._port is None:
                if not self._open():
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.backoff_max)
                    continue
                backoff = self.backoff_initial
            port = self._port
            assert port is not None
            try:
                data = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError, TypeError) as exc:
                # TypeError: pyserial's posix read may hit a closed fd during shutdown.
                if not self._stop.is_set():
                    log.warning("bus %s: link lost: %s", self.name, exc)
                    self.last_error = str(exc)
                self._close()
                continue
            now = time.monotonic()
            if data:
                last_rx = now
                for event in self._decoder.feed(data):
                    self._handle(event)
            elif self._decoder.pending and now - last_rx > self.idle_gap:
                for event in self._decoder.flush():
                    self._handle(event)
            for ticker in self._tickers:
                try:
                    ticker(now)
                except Exception:
                    log.exception("bus %s: ticker failed", self.name)

    def _is_echo(self, frame: Frame) -> bool:
        raw = encode(frame, self.variant)
        cutoff = time.monotonic() - self.echo_window
        for sent_at, data in self._sent:
            if sent_at >= cutoff and data == raw:
                self._sent.remove((sent_at, data))
                return True
        return False

    def _handle(self, event: Frame | Dropped) -> None:
        if isinstance(event, Dropped):
            log.info("bus %s: dropped %s", self.name, event.describe())
            if self.on_drop is not None:
                self.on_drop(event)
            return
        if self._is_echo(event):
            log.debug("bus %s: ignored our own echo", self.name)
            return
        callbacks = self._listeners.get(event.address, []) + self._listeners.get(None, [])
        if not self._listeners.get(event.address):
            log.info("bus %s: frame for unknown address 0x%02x", self.name, event.address)
            if self.on_unknown_address is not None:
                self.on_unknown_address(event)
        for callback in callbacks:
            try:
                callback(event)
            except Exception:
                log.exception("bus %s: listener failed for 0x%02x", self.name, event.address)


class KeypadDriver:
    """A window's caller keypad on a bus: key events out, display commands in."""

    def __init__(
        self,
        bus: BusDriver,
        address: int,
        on_event: Callable[[kp.KeyEvent | kp.UnknownKey], None],
        variant: kp.KeypadVariant = kp.SLZC,
    ) -> None:
        self.bus = bus
        self.address = address
        self.variant = variant
        self.on_event = on_event
        bus.add_listener(address, self._on_frame)

    def _on_frame(self, frame: Frame) -> None:
        if self.variant.echo_ack:
            # Echo first: the keypad retries until acknowledged, whatever we do with the key.
            self.bus.send(frame)
        event = kp.parse_key_frame(frame, self.variant)
        if isinstance(event, kp.UnknownKey):
            log.info(
                "keypad 0x%02x: ignored key 0x%02x (%s)", self.address, event.key, event.reason
            )
        self.on_event(event)

    def show_number(self, ticket: str, waiting: int | None = None) -> bool:
        return self.bus.send(kp.show_number_frame(self.address, ticket, waiting, self.variant))

    def show_result(self, success: bool) -> bool:
        return self.bus.send(kp.show_result_frame(self.address, success, self.variant))

    def beep(self) -> bool:
        return self.bus.send(kp.beep_frame(self.address, self.variant))


class EvaluatorDriver:
    """An evaluation device: prompt with a ticket, get a :class:`RatingOutcome` back.

    Outcomes include "not rated" after ``timeout`` seconds without a press, delivered from
    the bus thread's ticker so the gateway needs no timer of its own.
    """

    def __init__(
        self,
        bus: BusDriver,
        address: int,
        on_outcome: Callable[[ev.RatingOutcome], None],
        scale: ev.RatingScale = ev.FIVE_KEY,
        variant: ev.EvaluatorVariant = ev.SLZC_EVALUATOR,
        timeout: float = 30.0,
        show_stars: bool = True,
    ) -> None:
        self.bus = bus
        self.address = address
        self.scale = scale
        self.variant = variant
        self.on_outcome = on_outcome
        self.show_stars = show_stars
        self.tracker = ev.EvaluationTracker(timeout=timeout)
        self._lock = threading.Lock()
        bus.add_listener(address, self._on_frame)
        bus.add_ticker(self._tick)

    def prompt(self, ticket: str) -> bool:
        with self._lock:
            closed = self.tracker.prompt(self.address, ticket, time.monotonic())
        for outcome in closed:
            self.on_outcome(outcome)
        return self.bus.send(ev.prompt_frame(self.address, ticket, self.variant))

    def _on_frame(self, frame: Frame) -> None:
        press = ev.parse_rating_frame(frame, self.scale, self.variant)
        if press is None:
            return
        self.bus.send(ev.ack_frame(self.address, self.variant))
        with self._lock:
            outcome = self.tracker.press(press, time.monotonic())
        if self.show_stars and outcome.kind is ev.OutcomeKind.RATED and outcome.grade:
            self.bus.send(ev.stars_frame(self.address, int(outcome.grade), self.variant))
        self.on_outcome(outcome)

    def _tick(self, now: float) -> None:
        with self._lock:
            expired = self.tracker.expire(now)
        for outcome in expired:
            self.on_outcome(outcome)


class LedDriver:
    """The LED strip over one window. Shares the bus port with keypads and evaluators."""

    def __init__(
        self,
        bus: BusDriver,
        address: int,
        window: str,
        language: str = "zh",
        variant: led.LedVariant = led.DEFAULT_LED,
    ) -> None:
        self.bus = bus
        self.address = address
        self.window = window
        self.language = language
        self.variant = variant

    def _send(self, frame: led.LedFrame) -> bool:
        return self.bus.send_raw(led.encode(frame, self.variant))

    def init(self) -> bool:
        return self._send(led.init_frame(self.address))

    def show_serving(self, ticket: str) -> bool:
        return self._send(led.serving_frame(self.address, self.window, ticket, self.language))

    def show_paused(self) -> bool:
        return self._send(led.paused_frame(self.address, self.window, self.language))

    def show_idle(self) -> bool:
        return self._send(led.idle_frame(self.address, self.window, self.language))

    def show_text(self, text: str, colour: led.LedColour = led.LedColour.RED) -> bool:
        return self._send(led.text_frame(self.address, text, colour))
