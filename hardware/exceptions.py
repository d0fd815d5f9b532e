"""Errors raised by the hardware package.

The tree follows h11's split between "we misused the protocol" (a bug on our side, or a
value the device cannot carry) and "the link or the device failed" (an operational fact
the kiosk or the gateway must show and record). Garbage coming *from* a device is never an
exception: stream decoders report it as ``Dropped`` events and carry on.

::

    HardwareError
     ├── EncodeError               we asked for a frame the protocol cannot carry
     │    └── UnprintableText      text a printer's character set cannot print (strict mode)
     ├── DecodeError               a single, complete frame given to a strict parser is malformed
     ├── TransportError            the link to a device failed
     │    ├── DeviceNotFound       no such port, USB device node or host
     │    ├── DevicePermissionDenied
     │    │                        the node exists but this user may not open it
     │    ├── DeviceNotAnswering   connected, but nothing came back in time
     │    └── LinkLost             an open link broke (adapter unplugged, peer closed)
     └── PrinterError              printer-level failures that are not transport errors
          └── TicketNotFound       a reprint was asked for a ticket we never printed
"""

from __future__ import annotations


class HardwareError(Exception):
    """Base class, so callers can catch everything this package raises in one clause."""


class EncodeError(HardwareError, ValueError):
    """A value does not fit the wire format (address > 255, text too long, ...)."""


class UnprintableText(EncodeError):
    """Raised only in strict mode; normally unprintable characters are replaced and reported."""

    def __init__(self, characters: str, encoding: str) -> None:
        self.characters = characters
        self.encoding = encoding
        super().__init__(f"cannot print {characters!r} with a {encoding} printer")


class DecodeError(HardwareError, ValueError):
    """A strict parser was handed something that is not a valid frame."""


class TransportError(HardwareError, OSError):
    """The link to a device failed; the message says which device and what to check."""


class DeviceNotFound(TransportError):
    """The port, USB node or network host does not exist or refuses connections."""


class DevicePermissionDenied(TransportError):
    """The device exists but the process lacks permission (udev rule, group membership)."""


class DeviceNotAnswering(TransportError):
    """The device accepted the connection but sent nothing back within the timeout."""


class LinkLost(TransportError):
    """An open link broke; drivers reopen it with backoff rather than give up."""


class PrinterError(HardwareError):
    """Printer failures that are not about the transport."""


class TicketNotFound(PrinterError, KeyError):
    """A reprint was requested for a ticket label this printer has not printed."""
