"""Byte transports to a printer: TCP 9100, serial (any pyserial URL), USB printer class
device node, plain file. Each only moves bytes; all have short timeouts because a kiosk
must tell the citizen within seconds whether a ticket came out.

USB is driven through the kernel's ``usblp`` device (``/dev/usb/lp0``), which is
bidirectional, so status queries work without pyusb or detaching kernel drivers.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import time
from typing import Protocol
from urllib.parse import parse_qs, urlparse

import serial

from hardware.bus.serial_link import SerialSettings, open_serial
from hardware.exceptions import (
    DeviceNotAnswering,
    DeviceNotFound,
    DevicePermissionDenied,
    LinkLost,
    TransportError,
)


class PrinterTransport(Protocol):
    description: str
    return_channel: bool  # False: nothing can ever be read back (write-only)
    bytes_per_second: float  # how fast the link moves a job, for the confirmation wait

    def open(self) -> None: ...
    def close(self) -> None: ...
    def write(self, data: bytes) -> None: ...
    def read(self, size: int, timeout: float) -> bytes: ...
    def discard_input(self) -> None: ...


class TcpTransport:
    def __init__(
        self, host: str, port: int = 9100, connect_timeout: float = 2.0, write_timeout: float = 5.0
    ) -> None:
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self.description = f"tcp://{host}:{port}"
        self.return_channel = True
        self.bytes_per_second = 1e6
        self._sock: socket.socket | None = None

    def open(self) -> None:
        if self._sock is not None:
            return
        try:
            sock = socket.create_connection((self.host, self.port), self.connect_timeout)
        except ConnectionRefusedError as exc:
            raise DeviceNotFound(f"printer {self.description} refused the connection") from exc
        except TimeoutError as exc:
            raise DeviceNotAnswering(f"printer {self.description} did not answer") from exc
        except OSError as exc:
            raise DeviceNotFound(f"printer {self.description} unreachable: {exc}") from exc
        sock.settimeout(self.write_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def _require(self) -> socket.socket:
        if self._sock is None:
            self.open()
        assert self._sock is not None
        return self._sock

    def write(self, data: bytes) -> None:
        sock = self._require()
        try:
            sock.sendall(data)
        except TimeoutError as exc:
            self.close()
            raise DeviceNotAnswering(f"printer {self.description} stopped accepting data") from exc
        except OSError as exc:
            self.close()
            raise LinkLost(f"printer {self.description}: {exc}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        sock = self._require()
        ready, _, _ = select.select([sock], [], [], timeout)
        if not ready:
            return b""
        try:
            data = sock.recv(size)
        except OSError as exc:
            self.close()
            raise LinkLost(f"printer {self.description}: {exc}") from exc
        if not data:
            self.close()
            raise LinkLost(f"printer {self.description} closed the connection")
        return data

    def discard_input(self) -> None:
        sock = self._require()
        while select.select([sock], [], [], 0)[0]:
            if not sock.recv(4096):
                break


class SerialTransport:
    def __init__(self, url: str, baudrate: int = 9600, write_timeout: float = 5.0) -> None:
        self.settings = SerialSettings(url, baudrate=baudrate, read_timeout=0.05,
                                       write_timeout=write_timeout)
        self.description = f"serial {url}"
        self.return_channel = True
        self.bytes_per_second = baudrate / 10  # 8N1: ten bits a byte
        self._port: serial.SerialBase | None = None

    def open(self) -> None:
        if self._port is None:
            self._port = open_serial(self.settings)

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def _require(self) -> serial.SerialBase:
        if self._port is None:
            self.open()
        assert self._port is not None
        return self._port

    def write(self, data: bytes) -> None:
        port = self._require()
        try:
            port.write(data)
            port.flush()
        except serial.SerialTimeoutException as exc:
            raise DeviceNotAnswering(f"printer on {self.description} blocks writes") from exc
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise LinkLost(f"printer on {self.description}: {exc}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        port = self._require()
        deadline = time.monotonic() + timeout
        try:
            while True:
                data = port.read(size)
                if data or time.monotonic() >= deadline:
                    return data
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise LinkLost(f"printer on {self.description}: {exc}") from exc

    def discard_input(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self._require().reset_input_buffer()


class UsbLpTransport:
    """A USB printer through the kernel's printer-class driver (``/dev/usb/lpN``)."""

    def __init__(self, device: str = "/dev/usb/lp0") -> None:
        self.device = device
        self.description = f"usb {device}"
        self.return_channel = True
        self.bytes_per_second = 1e5  # what cheap USB heads take in, not the bus speed
        self._fd: int | None = None

    def open(self) -> None:
        if self._fd is not None:
            return
        try:
            self._fd = os.open(self.device, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError as exc:
            raise DeviceNotFound(
                f"no USB printer at {self.device}: check the cable and power, and that the "
                "usblp kernel module is loaded"
            ) from exc
        except PermissionError as exc:
            raise DevicePermissionDenied(
                f"no permission to open {self.device}: add the kiosk user to the 'lp' group "
                "or install a udev rule"
            ) from exc
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                raise TransportError(f"{self.device} is busy (CUPS or another process)") from exc
            raise TransportError(f"cannot open {self.device}: {exc}") from exc

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _require(self) -> int:
        if self._fd is None:
            self.open()
        assert self._fd is not None
        return self._fd

    def write(self, data: bytes) -> None:
        fd = self._require()
        view = memoryview(data)
        deadline = time.monotonic() + 5.0
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DeviceNotAnswering(f"{self.description} stopped taking data") from None
                select.select([], [fd], [], 0.1)
            except OSError as exc:
                self.close()
                raise LinkLost(f"{self.description}: {exc}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        fd = self._require()
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(fd, size)
        except BlockingIOError:
            return b""
        except OSError as exc:
            self.close()
            raise LinkLost(f"{self.description}: {exc}") from exc

    def discard_input(self) -> None:
        with contextlib.suppress(OSError):
            while self.read(64, 0):
                pass


class FileTransport:
    """Append to a file (spool, debugging, a one-way device node). Write-only: tickets are
    sent blind and reported "unconfirmed"; no status query is ever written into it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"file {path}"
        self.return_channel = False
        self.bytes_per_second = 1e6

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def write(self, data: bytes) -> None:
        try:
            with open(self.path, "ab") as handle:
                handle.write(data)
        except PermissionError as exc:
            raise DevicePermissionDenied(f"cannot write {self.path}: {exc}") from exc
        except OSError as exc:
            raise TransportError(f"cannot write {self.path}: {exc}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        return b""

    def discard_input(self) -> None:
        pass


def transport_from_url(url: str) -> PrinterTransport:
    """``tcp://host[:9100]``, ``usb:///dev/usb/lp0``, ``file:///path``, ``serial:<pyserial
    URL or device>?baudrate=19200``; a bare ``/dev/tty...`` path is a serial port."""
    if url.startswith("/dev/tty") or url.startswith("/dev/pts"):
        return SerialTransport(url)
    parsed = urlparse(url)
    if parsed.scheme == "tcp":
        return TcpTransport(parsed.hostname or "localhost", parsed.port or 9100)
    if parsed.scheme == "usb":
        return UsbLpTransport(parsed.path or "/dev/usb/lp0")
    if parsed.scheme == "file":
        return FileTransport(parsed.path)
    if parsed.scheme == "serial":
        target, _, query = url[len("serial:"):].partition("?")
        options = parse_qs(query)
        baud = int(options.get("baudrate", ["9600"])[0])
        return SerialTransport(target, baudrate=baud)
    raise ValueError(f"unsupported printer URL {url!r}")
