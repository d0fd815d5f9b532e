"""The ID card reader driver: find, select, read, over a serial line (often a USB-serial
bridge at 115200 8N1), with the same recovery as the printer's serial transport.

:meth:`IdCardReader.poll` returns a :class:`CardReading` once per card placed on the reader
(a card must be lifted before it can be found again, so leaving it there does not read it
twice) and None otherwise. Nothing personal is logged: only status bytes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from hardware.exceptions import DecodeError, DeviceNotAnswering, TransportError
from hardware.idcard.protocol import (
    CardReading,
    Command,
    FrameDecoder,
    Response,
    Status,
    encode_request,
    parse_card,
)
from hardware.printer.transport import SerialTransport

log = logging.getLogger("hallq.hardware.idcard")


class CardReadError(TransportError):
    """The reader answered, but the card could not be read (moved away, bad data)."""


class IdCardReader:
    """``url``: any pyserial URL or device path. ``salt``: the hall's secret for the ID
    number hash (at least 16 bytes). ``timeout`` bounds each answer; a full text + photo
    answer is 1295 bytes, about 0.11 s at 115200 baud."""

    def __init__(
        self,
        url: str,
        salt: bytes,
        *,
        baudrate: int = 115200,
        timeout: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.salt = salt
        self.timeout = timeout
        self.clock = clock
        self.transport = SerialTransport(
            url, baudrate=baudrate, clock=clock, device="ID card reader"
        )
        self.description = f"ID card reader on {url}"

    def close(self) -> None:
        self.transport.close()

    def request(self, command: Command) -> Response:
        decoder = FrameDecoder()
        self.transport.discard_input()
        self.transport.write(encode_request(command))
        deadline = self.clock() + self.timeout
        while (left := deadline - self.clock()) > 0:
            data = self.transport.read(2048, left)
            for event in decoder.feed(data):
                if isinstance(event, Response):
                    return event
        raise DeviceNotAnswering(f"{self.description}: no answer to {command.name}")

    def sam_ok(self) -> bool:
        """The reader's security module answers (the reader is there and working)."""
        return self.request(Command.SAM_STATUS).sw3 == Status.OK

    def poll(self) -> CardReading | None:
        """One find → select → read round; None when no (new) card is on the reader."""
        found = self.request(Command.FIND_CARD)
        if found.sw3 != Status.CARD_FOUND:
            if found.sw3 != Status.NO_CARD:
                log.warning("%s: find card answered %s", self.description, found.describe())
            return None
        selected = self.request(Command.SELECT_CARD)
        if selected.sw3 != Status.OK:
            raise CardReadError(
                f"{self.description}: select card answered "
                f"{selected.describe()}; lift the card and place it again"
            )
        answer = self.request(Command.READ_TEXT_PHOTO)
        if answer.sw3 != Status.OK:
            raise CardReadError(f"{self.description}: read answered {answer.describe()}")
        data = bytearray(answer.data)
        del answer
        try:
            return parse_card(data, self.salt)
        except DecodeError as exc:
            raise CardReadError(f"{self.description}: {exc}") from None
