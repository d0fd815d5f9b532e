"""Byte transports to a printer: TCP 9100, serial (any pyserial URL), USB printer class
device node, USB by vendor:product id (pyusb), plain file. Each only moves bytes; all have
short timeouts because a kiosk must tell the citizen within seconds whether a ticket came
out.

Every transport recovers by itself (docs/hardware.md, "Recovery"): any failure of an open
link (an ``OSError`` of any kind, ``termios.error`` included, a peer that closed) closes it
and raises :class:`LinkLost`; the next call opens it again. Opening a device that is not
there is retried with a backoff (0.1 s doubling to 2 s) so an unplugged printer polled
every few seconds is not hammered, and a re-plugged one is found within 2 s.

USB is preferably driven through the kernel's ``usblp`` device (``/dev/usb/lp0``), which is
bidirectional, so status queries work without pyusb or detaching kernel drivers.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import termios
import time
from collections.abc import Callable
from typing import Any, Protocol
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


class Backoff:
    """When to try opening a missing device again: 0.1 s after the first failure, doubling
    to ``longest``; reset by a successful open. ``clock`` is injectable for tests."""

    def __init__(
        self, first: float = 0.1, longest: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.first, self.longest, self.clock = first, longest, clock
        self.delay = first
        self.retry_at = 0.0
        self.last_error: TransportError | None = None

    def check(self) -> None:
        """Raise the last open error again while it is too early to retry."""
        if self.last_error is not None and self.clock() < self.retry_at:
            left = self.retry_at - self.clock()
            raise type(self.last_error)(f"{self.last_error} (next try in {left:.1f} s)")

    def failed(self, error: TransportError) -> None:
        self.last_error = error
        self.retry_at = self.clock() + self.delay
        self.delay = min(self.delay * 2, self.longest)

    def succeeded(self) -> None:
        self.delay = self.first
        self.last_error = None


def _opening(backoff: Backoff, open_link: Callable[[], None]) -> None:
    backoff.check()
    try:
        open_link()
    except TransportError as exc:
        backoff.failed(exc)
        raise
    backoff.succeeded()


class TcpTransport:
    def __init__(
        self,
        host: str,
        port: int = 9100,
        connect_timeout: float = 2.0,
        write_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host, self.port = host, port
        self.backoff = Backoff(clock=clock)
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self.description = f"tcp://{host}:{port}"
        self.return_channel = True
        self.bytes_per_second = 1e6
        self._sock: socket.socket | None = None

    def open(self) -> None:
        if self._sock is None:
            _opening(self.backoff, self._connect)

    def _connect(self) -> None:
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
        """Also where a connection the printer closed while idle (power cycle, idle
        timeout) is found: EOF here closes it and raises, and the caller reconnects before
        the job instead of losing it to a dead socket."""
        sock = self._require()
        try:
            while select.select([sock], [], [], 0)[0]:
                if not sock.recv(4096):
                    self.close()
                    raise LinkLost(f"printer {self.description} closed the connection")
        except (OSError, ValueError) as exc:
            if isinstance(exc, LinkLost):
                raise
            self.close()
            raise LinkLost(f"printer {self.description}: {exc}") from exc


class SerialTransport:
    def __init__(
        self,
        url: str,
        baudrate: int = 9600,
        write_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        device: str = "printer",
    ) -> None:
        self.device = device  # "printer", "ID card reader": for the messages only
        self.backoff = Backoff(clock=clock)
        self.settings = SerialSettings(
            url, baudrate=baudrate, read_timeout=0.05, write_timeout=write_timeout
        )
        self.description = f"serial {url}"
        self.return_channel = True
        self.bytes_per_second = baudrate / 10  # 8N1: ten bits a byte
        self._port: serial.SerialBase | None = None

    def open(self) -> None:
        if self._port is None:
            _opening(self.backoff, self._open)

    def _open(self) -> None:
        self._port = open_serial(self.settings)

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError, termios.error):
                port.close()

    def _lost(self, exc: BaseException) -> LinkLost:
        """A USB-serial adapter pulled out fails in many ways (``SerialException``,
        ``OSError`` EIO/ENXIO, ``termios.error`` from flush or attribute calls): all of them
        close the port so the next call opens the device node afresh."""
        self.close()
        return LinkLost(f"{self.device} on {self.description}: {exc}")

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
            raise DeviceNotAnswering(f"{self.device} on {self.description} blocks writes") from exc
        except (serial.SerialException, OSError, termios.error) as exc:
            raise self._lost(exc) from exc

    def read(self, size: int, timeout: float) -> bytes:
        port = self._require()
        deadline = time.monotonic() + timeout
        try:
            while True:
                data = port.read(size)
                if data or time.monotonic() >= deadline:
                    return data
        except (serial.SerialException, OSError, termios.error) as exc:
            raise self._lost(exc) from exc

    def discard_input(self) -> None:
        port = self._require()
        try:
            port.reset_input_buffer()
        except (serial.SerialException, OSError, termios.error) as exc:
            raise self._lost(exc) from exc


class UsbLpTransport:
    """A USB printer through the kernel's printer-class driver (``/dev/usb/lpN``)."""

    def __init__(
        self, device: str = "/dev/usb/lp0", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.backoff = Backoff(clock=clock)
        self.device = device
        self.description = f"usb {device}"
        self.return_channel = True
        self.bytes_per_second = 1e5  # what cheap USB heads take in, not the bus speed
        self._fd: int | None = None

    def open(self) -> None:
        if self._fd is None:
            _opening(self.backoff, self._open)

    def _open(self) -> None:
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
                view = view[os.write(fd, view) :]
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
        while self.read(64, 0):
            pass


UDEV_HINT = "see docs/deployment.md for the udev rule that gives the kiosk user access"


class UsbIdTransport:
    """A USB printer by vendor:product id through pyusb (libusb), for hosts without the
    ``usblp`` node (it is blacklisted, or the printer is not printer-class). The kernel
    driver is detached from the interface first; the bulk OUT endpoint carries the job and
    the bulk IN endpoint, where the printer has one, the status answers.

    python-escpos's own ``Usb`` printer does the same through pyusb but with fixed,
    long timeouts and no way to tell "unplugged" from "no answer", so pyusb is used
    directly, as an optional dependency (``pip install hallq[usb]``)."""

    def __init__(
        self,
        vendor: int,
        product: int,
        timeout_ms: int = 5000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.vendor, self.product = vendor, product
        self.timeout_ms = timeout_ms
        self.backoff = Backoff(clock=clock)
        self.description = f"usb {vendor:04x}:{product:04x}"
        self.return_channel = True
        self.bytes_per_second = 1e5
        self._dev: Any = None
        self._out: Any = None
        self._in: Any = None
        self._pending = b""

    def open(self) -> None:
        if self._dev is None:
            _opening(self.backoff, self._open)

    def _open(self) -> None:
        try:
            import usb.core
            import usb.util
        except ImportError as exc:
            raise TransportError(
                f"{self.description}: pyusb is not installed (pip install 'hallq[usb]'), "
                "or use usb:///dev/usb/lp0"
            ) from exc
        try:
            dev = usb.core.find(idVendor=self.vendor, idProduct=self.product)
        except usb.core.NoBackendError as exc:
            raise TransportError(
                f"{self.description}: libusb is missing (apt-get install libusb-1.0-0)"
            ) from exc
        if dev is None:
            raise DeviceNotFound(
                f"no USB printer {self.vendor:04x}:{self.product:04x}: check the cable and "
                "power, and the id (lsusb)"
            )
        try:
            config = dev.get_active_configuration()
            intf = config[(0, 0)]
            if dev.is_kernel_driver_active(intf.bInterfaceNumber):
                dev.detach_kernel_driver(intf.bInterfaceNumber)
            usb.util.claim_interface(dev, intf.bInterfaceNumber)
        except usb.core.USBError as exc:
            raise usb_error(self.description, exc) from exc

        def direction(d: int) -> Callable[[Any], bool]:
            return lambda ep: usb.util.endpoint_direction(ep.bEndpointAddress) == d

        self._out = usb.util.find_descriptor(intf, custom_match=direction(usb.util.ENDPOINT_OUT))
        self._in = usb.util.find_descriptor(intf, custom_match=direction(usb.util.ENDPOINT_IN))
        if self._out is None:
            raise TransportError(f"{self.description}: no bulk OUT endpoint (not a printer?)")
        self.return_channel = self._in is not None
        self._dev = dev

    def close(self) -> None:
        dev, self._dev = self._dev, None
        self._pending = b""
        if dev is not None:
            with contextlib.suppress(Exception):
                import usb.util

                usb.util.dispose_resources(dev)

    def _require(self) -> None:
        if self._dev is None:
            self.open()

    def write(self, data: bytes) -> None:
        self._require()
        try:
            self._out.write(data, self.timeout_ms)
        except Exception as exc:  # usb.core.USBError; pyusb is imported lazily
            self.close()
            raise usb_error(self.description, exc, lost=True) from exc

    def read(self, size: int, timeout: float) -> bytes:
        self._require()
        if self._in is None:
            return b""
        if not self._pending:
            try:
                packet = self._in.read(self._in.wMaxPacketSize, max(1, int(timeout * 1000)))
                self._pending = bytes(packet)
            except Exception as exc:
                if (
                    getattr(exc, "errno", None) == errno.ETIMEDOUT
                    or type(exc).__name__ == "USBTimeoutError"
                ):
                    return b""
                self.close()
                raise usb_error(self.description, exc, lost=True) from exc
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def discard_input(self) -> None:
        self._pending = b""
        while self.read(64, 0.001):
            pass


def usb_error(description: str, exc: Exception, *, lost: bool = False) -> TransportError:
    """pyusb's errors in words a technician can act on."""
    code = getattr(exc, "errno", None)
    if code in (errno.EACCES, errno.EPERM):
        return DevicePermissionDenied(
            f"{description}: permission denied opening the USB device; {UDEV_HINT}"
        )
    if code == errno.EBUSY:
        return TransportError(f"{description}: busy (CUPS or another process has it)")
    if lost or code in (errno.ENODEV, errno.ENOENT, errno.EIO, errno.EPIPE):
        return LinkLost(f"{description}: {exc}")
    return TransportError(f"{description}: {exc}")


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
    """``tcp://host[:9100]``, ``usb:///dev/usb/lp0``, ``usb://VID:PID`` (hex, pyusb),
    ``file:///path``, ``serial:<pyserial
    URL or device>?baudrate=19200``; a bare ``/dev/tty...`` path is a serial port."""
    if url.startswith("/dev/tty") or url.startswith("/dev/pts"):
        return SerialTransport(url)
    parsed = urlparse(url)
    if parsed.scheme == "tcp":
        return TcpTransport(parsed.hostname or "localhost", parsed.port or 9100)
    if parsed.scheme == "usb":
        if url.startswith("usb://") and not url.startswith("usb:///"):
            vid, _, pid = url[len("usb://") :].partition(":")
            try:
                return UsbIdTransport(int(vid, 16), int(pid, 16))
            except ValueError:
                raise ValueError(
                    f"printer URL {url!r}: use usb://VID:PID in hex, e.g. usb://0416:5011"
                ) from None
        return UsbLpTransport(parsed.path or "/dev/usb/lp0")
    if parsed.scheme == "file":
        return FileTransport(parsed.path)
    if parsed.scheme == "serial":
        target, _, query = url[len("serial:") :].partition("?")
        options = parse_qs(query)
        baud = int(options.get("baudrate", ["9600"])[0])
        return SerialTransport(target, baudrate=baud)
    raise ValueError(f"unsupported printer URL {url!r}")
