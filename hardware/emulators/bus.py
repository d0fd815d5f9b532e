"""Emulated hall bus: keypads, evaluators and LED strips behind one pseudo-terminal.

Like a real RS-485 line, every device sees every host byte and answers only to its own
address. The host's byte stream is decoded twice, once as FF 68 frames and once as LED
frames, because both families share the line in halls.

Tests and the demo script the devices (press keys, type digits, press a rating) and read
back what the host made them show.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from hardware.bus import evaluator as ev
from hardware.bus import keypad as kp
from hardware.bus import led
from hardware.bus.frame import DEFAULT_VARIANT, Frame, FrameDecoder, FrameVariant, encode
from hardware.emulators.pty import PtyEndpoint


def wait_for(predicate: Callable[[], bool], timeout: float = 3.0, interval: float = 0.01) -> bool:
    """Poll until ``predicate`` holds; the emulators are threaded, tests need a barrier."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class EmulatedBus:
    def __init__(self, link: str | Path | None = None, variant: FrameVariant = DEFAULT_VARIANT):
        self.variant = variant
        self._decoder = FrameDecoder(variant)
        self._led_decoder = led.LedDecoder()
        self._devices: dict[int, BusDevice] = {}
        self._leds: dict[int, LedStripEmulator] = {}
        self.host_frames: list[Frame] = []
        self.dropped = 0
        self._lock = threading.Lock()
        self.endpoint = PtyEndpoint(self._on_host_bytes, link)

    @property
    def path(self) -> str:
        return self.endpoint.path

    def start(self) -> EmulatedBus:
        self.endpoint.start()
        return self

    def stop(self) -> None:
        self.endpoint.stop()

    def __enter__(self) -> EmulatedBus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def unplug(self) -> None:
        self.endpoint.unplug()

    def replug(self) -> None:
        self.endpoint.replug()

    def attach(self, device: BusDevice) -> BusDevice:
        device.bus = self
        if isinstance(device, LedStripEmulator):
            self._leds[device.address] = device
        else:
            self._devices[device.address] = device
        return device

    def keypad(self, address: int, variant: kp.KeypadVariant = kp.SLZC) -> KeypadEmulator:
        device = KeypadEmulator(address, variant)
        self.attach(device)
        return device

    def evaluator(
        self, address: int, keys: int = 5, variant: ev.EvaluatorVariant = ev.SLZC_EVALUATOR
    ) -> EvaluatorEmulator:
        device = EvaluatorEmulator(address, keys, variant)
        self.attach(device)
        return device

    def led_strip(self, address: int) -> LedStripEmulator:
        device = LedStripEmulator(address)
        self.attach(device)
        return device

    def send(self, frame: Frame) -> bool:
        return self.endpoint.write(encode(frame, self.variant))

    def send_raw(self, data: bytes) -> bool:
        """Put arbitrary bytes on the line: noise, truncated frames, other vendors."""
        return self.endpoint.write(data)

    def _on_host_bytes(self, data: bytes) -> None:
        with self._lock:
            events = self._decoder.feed(data)
            led_events = self._led_decoder.feed(data)
        for event in events:
            if isinstance(event, Frame):
                self.host_frames.append(event)
                device = self._devices.get(event.address)
                if device is not None:
                    device.on_host_frame(event)
            else:
                self.dropped += 1
        for item in led_events:
            if isinstance(item, led.LedFrame):
                strip = self._leds.get(item.address)
                if strip is not None:
                    strip.on_led_frame(item)


class BusDevice:
    def __init__(self, address: int) -> None:
        self.address = address
        self.bus: EmulatedBus | None = None

    def _send(self, frame: Frame) -> bool:
        if self.bus is None:
            raise RuntimeError("device not attached to a bus")
        return self.bus.send(frame)

    def on_host_frame(self, frame: Frame) -> None:  # pragma: no cover - overridden
        pass


class KeypadEmulator(BusDevice):
    """A caller keypad. ``display`` is what its digit display shows now."""

    def __init__(self, address: int, variant: kp.KeypadVariant = kp.SLZC) -> None:
        BusDevice.__init__(self, address)
        self.variant = variant
        self.display = ""
        self.results: list[bool] = []
        self.beeps = 0
        self.acks = 0
        self.updates: list[kp.DisplayUpdate] = []
        self._sent: list[Frame] = []

    def press(self, key: int, digits: str = "") -> bool:
        frame = kp.key_frame(self.address, key, digits, self.variant)
        self._sent.append(frame)
        return self._send(frame)

    def call_next(self) -> bool:
        return self.press(kp.KEY_CALL)

    def call_number(self, number: str) -> bool:
        return self.press(kp.KEY_CALL, number)

    def recall(self) -> bool:
        return self.press(kp.KEY_RECALL)

    def transfer(self, target: str) -> bool:
        return self.press(kp.KEY_START, target)

    def request_rating(self) -> bool:
        return self.press(kp.KEY_RATE)

    def cancel(self) -> bool:
        return self.press(kp.KEY_CANCEL)

    def function(self, digits: str) -> bool:
        return self.press(kp.KEY_FUNCTION, digits)

    def on_host_frame(self, frame: Frame) -> None:
        if frame in self._sent:
            # The host's echo acknowledges our key frame.
            self._sent.remove(frame)
            self.acks += 1
            return
        update = kp.parse_host_frame(frame, self.variant)
        self.updates.append(update)
        if update.kind == "digits":
            self.display = update.text
        elif update.kind in ("success", "failure"):
            self.results.append(update.kind == "success")
        elif update.kind == "beep":
            self.beeps += 1


class EvaluatorEmulator(BusDevice):
    """An evaluation device with ``keys`` keys (raw 0 = worst)."""

    def __init__(
        self, address: int, keys: int = 5, variant: ev.EvaluatorVariant = ev.SLZC_EVALUATOR
    ) -> None:
        BusDevice.__init__(self, address)
        self.keys = keys
        self.variant = variant
        self.prompts: list[str] = []
        self.prompting = False
        self.acks = 0
        self.stars: list[int] = []
        self.auto_press: int | None = None

    def press(self, raw: int) -> bool:
        """Press key ``raw``; sent even without a prompt, as a real device would."""
        return self._send(ev.rating_frame(self.address, raw, self.variant))

    def on_host_frame(self, frame: Frame) -> None:
        command = ev.parse_host_frame(frame, self.variant)
        if command.kind == "prompt":
            self.prompts.append(command.ticket_digits)
            self.prompting = True
            if self.auto_press is not None:
                self.press(self.auto_press)
        elif command.kind == "ack":
            self.acks += 1
            self.prompting = False
        elif command.kind == "stars":
            self.stars.append(command.stars)


class LedStripEmulator(BusDevice):
    """Records what the strip would display; ``text`` is the current message."""

    def __init__(self, address: int) -> None:
        BusDevice.__init__(self, address)
        self.text = ""
        self.cells: list[led.LedCell] = []
        self.history: list[str] = []
        self.inits = 0

    def on_led_frame(self, frame: led.LedFrame) -> None:
        if frame.command == led.CMD_INIT:
            self.inits += 1
            self.text = ""
            self.cells = []
        elif frame.command == led.CMD_TEXT:
            self.cells = frame.cells()
            self.text = "".join(c.char for c in self.cells)
            self.history.append(self.text)

    def render(self) -> str:
        """A terminal rendering with ANSI colours, for the demo."""
        colours = {led.LedColour.RED: "31", led.LedColour.GREEN: "32", led.LedColour.YELLOW: "33"}
        return "".join(f"\x1b[{colours[c.colour]}m{c.char}" for c in self.cells) + "\x1b[0m"
