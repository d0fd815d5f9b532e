"""A second-generation ID card reader on a pseudo-terminal, for tests and demos.

It answers the SAM interface frames (:mod:`hardware.idcard.protocol`) like a reader module:
``place(card)`` puts a card on it, ``lift()`` takes it away. A card that was read is not
found again until it is lifted and placed again, as real readers behave. ``unplug()`` /
``replug()`` pull the USB-serial bridge. The cards are made up (see :data:`SAMPLE_SENIOR`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hardware.emulators.pty import PtyEndpoint
from hardware.idcard.protocol import (
    PHOTO_LENGTH,
    TEXT_LENGTH,
    Command,
    FrameDecoder,
    Request,
    Status,
    card_text,
    encode_response,
)


@dataclass(frozen=True)
class EmulatedCard:
    """Every field a real card carries, so tests can check that only the allowed ones
    leave the driver. Numbers must pass the GB 11643 check digit."""

    name: str
    id_number: str
    birth_date: str  # YYYYMMDD
    gender: str = "1"
    ethnic_group: str = "01"
    address: str = "北京市东城区景山前街4号"
    authority: str = "北京市公安局东城分局"
    valid_from: str = "20200101"
    valid_to: str = "长期"

    def text(self) -> bytes:
        return card_text(
            name=self.name,
            gender=self.gender,
            ethnic_group=self.ethnic_group,
            birth_date=self.birth_date,
            address=self.address,
            id_number=self.id_number,
            authority=self.authority,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
        )


# Made-up people; the numbers are constructed to pass the check digit.
SAMPLE_SENIOR = EmulatedCard(name="张三", id_number="110101195003070021", birth_date="19500307")
SAMPLE_ADULT = EmulatedCard(
    name="李四", id_number="110101199003070011", birth_date="19900307", valid_to="20300101"
)


class IdCardReaderEmulator:
    def __init__(self) -> None:
        self.card: EmulatedCard | None = None
        self._read_since_placed = False
        self._selected = False
        self.requests: list[tuple[int, int]] = []
        # Runs before each answer, e.g. to lift the card between find and select.
        self.before_answer: Callable[[tuple[int, int]], object] | None = None
        self._lock = threading.Lock()
        self._decoder = FrameDecoder(requests=True)
        self._pty: PtyEndpoint | None = None

    def serve_pty(self, link: str | Path | None = None) -> str:
        self._pty = PtyEndpoint(self._on_bytes, link)
        self._pty.start()
        return self._pty.path

    def stop(self) -> None:
        if self._pty is not None:
            self._pty.stop()

    def unplug(self) -> None:
        assert self._pty is not None
        self._pty.unplug()

    def replug(self) -> None:
        assert self._pty is not None
        self._decoder = FrameDecoder(requests=True)
        self._pty.replug()

    def place(self, card: EmulatedCard) -> None:
        with self._lock:
            self.card, self._read_since_placed, self._selected = card, False, False

    def lift(self) -> None:
        with self._lock:
            self.card, self._selected = None, False

    def _on_bytes(self, data: bytes) -> None:
        for event in self._decoder.feed(data):
            if isinstance(event, Request):
                answer = self._answer(event)
            else:
                answer = encode_response(Status.BAD_CHECKSUM)
            assert self._pty is not None
            self._pty.write(answer)

    def _answer(self, request: Request) -> bytes:
        key = (request.command, request.parameter)
        self.requests.append(key)
        if self.before_answer is not None:
            self.before_answer(key)
        with self._lock:
            if key in (Command.RESET_SAM.value, Command.SAM_STATUS.value):
                return encode_response(Status.OK)
            if key == Command.SAM_ID.value:
                return encode_response(Status.OK, bytes(16))
            if key == Command.FIND_CARD.value:
                if self.card is None or self._read_since_placed:
                    return encode_response(Status.NO_CARD)
                return encode_response(Status.CARD_FOUND, bytes(4))
            if key == Command.SELECT_CARD.value:
                if self.card is None or self._read_since_placed:
                    return encode_response(Status.SELECT_FAILED)
                self._selected = True
                return encode_response(Status.OK, bytes(8))
            if key == Command.READ_TEXT_PHOTO.value:
                if self.card is None or not self._selected:
                    return encode_response(0x41)  # read failed
                self._read_since_placed, self._selected = True, False
                photo = os.urandom(PHOTO_LENGTH)  # stands for the vendor-compressed photo
                data = (
                    TEXT_LENGTH.to_bytes(2, "big")
                    + PHOTO_LENGTH.to_bytes(2, "big")
                    + self.card.text()
                    + photo
                )
                return encode_response(Status.OK, data)
        return encode_response(Status.UNKNOWN_COMMAND)
