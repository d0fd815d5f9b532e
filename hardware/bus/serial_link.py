"""Open a serial port from a URL with errors a hall technician can act on.

Every port is opened through ``serial.serial_for_url`` so configuration names a URL
(``/dev/ttyUSB0``, ``socket://10.0.0.5:4001``, ``loop://``) and tests swap in a
pseudo-terminal without code changes.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

import serial
import serial.rs485

from hardware.exceptions import (
    DeviceNotFound,
    DevicePermissionDenied,
    TransportError,
)


@dataclass(frozen=True)
class SerialSettings:
    """Bus line settings. RS-485 direction control (RTS) is off by default: most USB
    adapters switch direction on their own, and the ioctl fails (ENOTTY) on a pty."""

    url: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    read_timeout: float = 0.05
    write_timeout: float = 1.0
    rs485: bool = False


def open_serial(settings: SerialSettings) -> serial.SerialBase:
    try:
        port = serial.serial_for_url(
            settings.url,
            do_not_open=True,
            baudrate=settings.baudrate,
            bytesize=settings.bytesize,
            parity=settings.parity,
            stopbits=settings.stopbits,
            timeout=settings.read_timeout,
            write_timeout=settings.write_timeout,
        )
        port.open()
    except serial.SerialException as exc:
        raise _map_error(settings.url, exc) from exc
    except ValueError as exc:
        raise TransportError(f"bad serial settings for {settings.url}: {exc}") from exc
    if settings.rs485:
        try:
            port.rs485_mode = serial.rs485.RS485Settings()
        except (OSError, ValueError, serial.SerialException) as exc:
            port.close()
            raise TransportError(
                f"{settings.url}: RS-485 direction control is not supported by this port "
                f"({exc}); leave rs485 off for adapters that switch direction themselves"
            ) from exc
    return port


def _map_error(url: str, exc: serial.SerialException) -> TransportError:
    code = getattr(exc, "errno", None)
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return DeviceNotFound(
            f"serial port {url} not found: is the USB adapter plugged in, is the name right?"
        )
    if code in (errno.EACCES, errno.EPERM):
        return DevicePermissionDenied(
            f"no permission to open {url}: add the service user to the 'dialout' group"
        )
    if code == errno.EBUSY:
        return TransportError(f"{url} is busy: another process holds the port")
    if code == errno.ECONNREFUSED:
        return DeviceNotFound(f"{url}: connection refused")
    return TransportError(f"cannot open {url}: {exc}")
