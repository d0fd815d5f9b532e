"""QR / barcode scanners at the kiosk: serial (USB-CDC) and USB HID keyboard wedge.

Both kinds "type" a code followed by a terminator. A serial scanner sends bytes ending in
CR, LF or CR LF (configurable). A keyboard-wedge scanner is an input device: here its
``/dev/input/eventN`` node is read directly as the kernel's ``struct input_event`` records
(no evdev package needed) and grabbed (``EVIOCGRAB``) so the codes never reach the kiosk's
UI as keystrokes. Key codes are mapped with a US layout, which is what scanners emit by
default.

:class:`ScannerReader` runs a reader thread that reopens the device with backoff when it is
unplugged, and hands each complete code to a callback.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import select
import struct
import threading
import time
from collections.abc import Callable
from typing import Protocol

from hardware.exceptions import DeviceNotFound, DevicePermissionDenied, TransportError
from hardware.printer.transport import Backoff, SerialTransport

log = logging.getLogger("hallq.hardware.scanner")

MAX_CODE = 1024  # longer without a terminator is noise or a wrong terminator setting
TERMINATORS = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t"}


class CodeAssembler:
    """Bytes in, complete codes out. With CR or CRLF a stray LF after CR is ignored, so a
    scanner set to CR LF works with either setting."""

    def __init__(self, terminator: str = "CR") -> None:
        if terminator not in TERMINATORS:
            raise ValueError(f"terminator must be one of {', '.join(TERMINATORS)}")
        self.ends = set(TERMINATORS[terminator]) | ({0x0A} if terminator == "CR" else set())
        self._buf = bytearray()
        self._skipping = False  # after an overflow, until the next terminator
        self.overflows = 0

    def feed(self, data: bytes) -> list[str]:
        codes: list[str] = []
        for byte in data:
            if byte in self.ends:
                if self._buf and not self._skipping:
                    codes.append(self._buf.decode("utf-8", errors="replace").strip())
                self._buf.clear()
                self._skipping = False
                continue
            if self._skipping:
                continue
            if len(self._buf) >= MAX_CODE:
                self.overflows += 1
                self._buf.clear()
                self._skipping = True
                continue
            self._buf.append(byte)
        return [c for c in codes if c]


# -- HID keyboard wedge ----------------------------------------------------------------

EVENT = struct.Struct("llHHi")  # struct input_event: timeval, type, code, value
EV_KEY = 1
KEY_ENTER, KEY_KPENTER, KEY_TAB = 28, 96, 15
SHIFTS = {42, 54}
EVIOCGRAB = 0x40044590

_PLAIN = {
    2: "1",
    3: "2",
    4: "3",
    5: "4",
    6: "5",
    7: "6",
    8: "7",
    9: "8",
    10: "9",
    11: "0",
    12: "-",
    13: "=",
    16: "q",
    17: "w",
    18: "e",
    19: "r",
    20: "t",
    21: "y",
    22: "u",
    23: "i",
    24: "o",
    25: "p",
    26: "[",
    27: "]",
    30: "a",
    31: "s",
    32: "d",
    33: "f",
    34: "g",
    35: "h",
    36: "j",
    37: "k",
    38: "l",
    39: ";",
    40: "'",
    41: "`",
    43: "\\",
    44: "z",
    45: "x",
    46: "c",
    47: "v",
    48: "b",
    49: "n",
    50: "m",
    51: ",",
    52: ".",
    53: "/",
    57: " ",
    71: "7",
    72: "8",
    73: "9",
    75: "4",
    76: "5",
    77: "6",
    79: "1",
    80: "2",
    81: "3",
    82: "0",
    83: ".",
    55: "*",
    74: "-",
    78: "+",
    98: "/",
}
_SHIFTED = {
    2: "!",
    3: "@",
    4: "#",
    5: "$",
    6: "%",
    7: "^",
    8: "&",
    9: "*",
    10: "(",
    11: ")",
    12: "_",
    13: "+",
    26: "{",
    27: "}",
    39: ":",
    40: '"',
    41: "~",
    43: "|",
    51: "<",
    52: ">",
    53: "?",
}
KEYCODES: dict[str, tuple[int, bool]] = {c: (k, False) for k, c in _PLAIN.items() if k < 58}
KEYCODES.update({c: (k, True) for k, c in _SHIFTED.items()})
KEYCODES.update({c.upper(): (k, True) for k, c in _PLAIN.items() if c.isalpha()})


class KeyAssembler:
    """``input_event`` records in, codes out (Enter ends a code)."""

    def __init__(self, terminator: str = "CR") -> None:
        self.end_keys = {KEY_TAB} if terminator == "TAB" else {KEY_ENTER, KEY_KPENTER}
        self._buf = b""
        self._chars: list[str] = []
        self.shift = False
        self.unknown_keys = 0

    def feed(self, data: bytes) -> list[str]:
        self._buf += data
        codes: list[str] = []
        while len(self._buf) >= EVENT.size:
            _, _, kind, code, value = EVENT.unpack_from(self._buf)
            self._buf = self._buf[EVENT.size :]
            if kind != EV_KEY:
                continue
            if code in SHIFTS:
                self.shift = value != 0
                continue
            if value != 1:  # key release (0) or auto-repeat (2)
                continue
            if code in self.end_keys:
                if self._chars:
                    codes.append("".join(self._chars))
                    self._chars.clear()
                continue
            char = (_SHIFTED.get(code) if self.shift else None) or _PLAIN.get(code)
            if char is None:
                self.unknown_keys += 1
                continue
            self._chars.append(char.upper() if self.shift and char.isalpha() else char)
            if len(self._chars) > MAX_CODE:
                self._chars.clear()
        return codes


def key_events(code: str, terminator: str = "CR") -> bytes:
    """The records a keyboard-wedge scanner sends for ``code`` (emulator, tests)."""
    out = bytearray()

    def key(k: int, value: int) -> None:
        out.extend(EVENT.pack(0, 0, EV_KEY, k, value))

    for char in code:
        k, shifted = KEYCODES[char]
        if shifted:
            key(42, 1)
        key(k, 1)
        key(k, 0)
        if shifted:
            key(42, 0)
    end = KEY_TAB if terminator == "TAB" else KEY_ENTER
    key(end, 1)
    key(end, 0)
    return bytes(out)


# -- devices ---------------------------------------------------------------------------


class _Source(Protocol):
    description: str

    def open(self) -> None: ...
    def close(self) -> None: ...
    def read(self, timeout: float) -> bytes: ...


class SerialSource:
    def __init__(
        self, url: str, baudrate: int = 9600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.transport = SerialTransport(url, baudrate=baudrate, clock=clock, device="scanner")
        self.description = f"scanner on {url}"

    def open(self) -> None:
        self.transport.open()

    def close(self) -> None:
        self.transport.close()

    def read(self, timeout: float) -> bytes:
        return self.transport.read(4096, timeout)


class HidSource:
    """A keyboard-wedge scanner's ``/dev/input/eventN`` (best by its stable
    ``/dev/input/by-id/...-event-kbd`` link). Opened read-only and grabbed."""

    def __init__(self, path: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.description = f"scanner {path}"
        self.backoff = Backoff(clock=clock)
        self._fd: int | None = None
        self.grabbed = False

    def open(self) -> None:
        if self._fd is not None:
            return
        self.backoff.check()
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError as exc:
            error: TransportError = DeviceNotFound(
                f"no scanner at {self.path}: is it plugged in? (ls /dev/input/by-id/)"
            )
            self.backoff.failed(error)
            raise error from exc
        except PermissionError as exc:
            error = DevicePermissionDenied(
                f"no permission to read {self.path}: add the kiosk user to the 'input' group "
                "(docs/deployment.md)"
            )
            self.backoff.failed(error)
            raise error from exc
        try:
            fcntl.ioctl(fd, EVIOCGRAB, 1)
            self.grabbed = True
        except OSError as exc:
            # Not an input device (a FIFO in tests): nothing to grab. On a real node a
            # failed grab means the codes also reach the UI as keystrokes: say so.
            self.grabbed = False
            if exc.errno != errno.ENOTTY:
                log.warning("%s: could not grab the device (%s)", self.description, exc)
        self.backoff.succeeded()
        self._fd = fd

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def read(self, timeout: float) -> bytes:
        self.open()
        assert self._fd is not None
        try:
            ready, _, _ = select.select([self._fd], [], [], timeout)
            if not ready:
                return b""
            data = os.read(self._fd, EVENT.size * 64)
        except BlockingIOError:
            return b""
        except OSError as exc:
            self.close()
            raise TransportError(f"{self.description}: {exc}") from exc
        if not data:  # a FIFO whose writer went away, or the node vanished
            self.close()
            raise TransportError(f"{self.description}: device gone")
        return data


def open_scanner(
    url: str,
    terminator: str = "CR",
    clock: Callable[[], float] = time.monotonic,
) -> tuple[_Source, CodeAssembler | KeyAssembler]:
    """``hid:/dev/input/by-id/...-event-kbd`` for a keyboard wedge; ``serial:<url>?baudrate=``
    or a ``/dev/tty*`` path for a serial scanner."""
    if url.startswith("hid:"):
        return HidSource(url[len("hid:") :], clock), KeyAssembler(terminator)
    target = url[len("serial:") :] if url.startswith("serial:") else url
    target, _, query = target.partition("?")
    baud = 9600
    for part in query.split("&"):
        if part.startswith("baudrate="):
            baud = int(part.split("=", 1)[1])
    return SerialSource(target, baud, clock), CodeAssembler(terminator)


class ScannerReader:
    """A thread that reads codes and calls ``on_code(code)`` for each; the device is
    reopened with backoff when it fails; ``on_link(up, detail)`` reports changes."""

    def __init__(
        self,
        url: str,
        on_code: Callable[[str], None],
        *,
        terminator: str = "CR",
        on_link: Callable[[bool, str], None] | None = None,
    ) -> None:
        self.source, self.assembler = open_scanner(url, terminator)
        self.on_code = on_code
        self.on_link = on_link or (lambda up, detail: None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.up: bool | None = None

    def start(self) -> ScannerReader:
        self._thread = threading.Thread(target=self._run, name="scanner", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self.source.close()

    def _link(self, up: bool, detail: str = "") -> None:
        if up != self.up:
            self.up = up
            self.on_link(up, detail)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.source.read(0.1)
            except TransportError as exc:
                self._link(False, str(exc))
                self._stop.wait(0.1)
                continue
            self._link(True)
            for code in self.assembler.feed(data):
                try:
                    self.on_code(code)
                except Exception:  # a bad handler must not stop the scanner
                    log.exception("scanner: handling a code failed")
