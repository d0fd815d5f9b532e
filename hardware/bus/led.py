"""Pure codec for LED window strips: ``A0 90 ADDR CMD LEN_H LEN_L PAYLOAD XOR``.

Text frames (CMD 0xA5) carry one cell per character: an ASCII byte or two GBK bytes,
followed by a colour byte. The check byte is the XOR of ADDR through the last payload
byte. The init frame (CMD 0xA1) has an empty payload.

The reference host splits the payload length as ``len // 255, len % 255``, not base 256;
strips built for it expect that, so the base is a variant field. Both agree below 255
bytes, which is every realistic strip message.

The host never reads from a strip; the decoder exists for the emulator and for tests.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from hardware.exceptions import EncodeError

HEAD = b"\xa0\x90"
CMD_INIT = 0xA1
CMD_SET_ROM = 0xA2
CMD_TEXT = 0xA5


class LedColour(enum.IntEnum):
    """Colour byte values; what 1 and 2 look like depends on the strip (green/yellow typical)."""

    RED = 0
    GREEN = 1
    YELLOW = 2


@dataclass(frozen=True)
class LedVariant:
    name: str = "slzc-strip"
    length_base: int = 255
    max_payload: int = 600
    # Strips are often narrow; the helpers wrap nothing but the driver may cap text here.
    columns: int = 16


DEFAULT_LED = LedVariant()


@dataclass(frozen=True)
class LedCell:
    char: str
    colour: LedColour = LedColour.RED


@dataclass(frozen=True)
class LedFrame:
    address: int
    command: int
    payload: bytes = b""

    def cells(self) -> list[LedCell]:
        """Decode a text payload; undecodable cells come back as U+FFFD, never raise."""
        return decode_cells(self.payload)

    @property
    def text(self) -> str:
        return "".join(c.char for c in self.cells())


def _xor(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def encode_cells(cells: list[LedCell]) -> bytes:
    out = bytearray()
    for cell in cells:
        try:
            raw = cell.char.encode("gbk")
        except UnicodeEncodeError as exc:
            raise EncodeError(f"LED strips show GBK only; cannot show {cell.char!r}") from exc
        if len(raw) == 1 and raw[0] >= 0x80:
            raise EncodeError(f"{cell.char!r} has no standard GBK code")
        if raw in (b"\r", b"\n") or (len(raw) == 1 and raw[0] < 0x20):
            raise EncodeError("control characters cannot be shown on a strip")
        out += raw + bytes((int(cell.colour),))
    return bytes(out)


def decode_cells(payload: bytes) -> list[LedCell]:
    cells: list[LedCell] = []
    i = 0
    while i < len(payload):
        width = 2 if payload[i] >= 0x81 else 1
        raw = payload[i : i + width]
        if i + width >= len(payload):
            cells.append(LedCell("\ufffd"))
            break
        colour_byte = payload[i + width]
        try:
            colour = LedColour(colour_byte)
        except ValueError:
            colour = LedColour.RED
        cells.append(LedCell(raw.decode("gbk", errors="replace"), colour))
        i += width + 1
    return cells


def encode(frame: LedFrame, variant: LedVariant = DEFAULT_LED) -> bytes:
    if not 0 <= frame.address <= 255:
        raise EncodeError(f"LED address {frame.address} is not a byte")
    size = len(frame.payload)
    if size > variant.max_payload:
        raise EncodeError(f"LED payload of {size} bytes exceeds {variant.max_payload}")
    high, low = divmod(size, variant.length_base)
    if high > 255:
        raise EncodeError("LED payload too long for the length field")
    body = bytes((frame.address, frame.command, high, low)) + frame.payload
    return HEAD + body + bytes((_xor(body),))


def text_frame(address: int, text: str, colour: LedColour = LedColour.RED) -> LedFrame:
    return LedFrame(address, CMD_TEXT, encode_cells([LedCell(c, colour) for c in text]))


def segments_frame(address: int, segments: list[tuple[str, LedColour]]) -> LedFrame:
    """Several colours on one line, e.g. the ticket in green and the rest in red."""
    cells = [LedCell(c, colour) for text, colour in segments for c in text]
    return LedFrame(address, CMD_TEXT, encode_cells(cells))


def init_frame(address: int) -> LedFrame:
    return LedFrame(address, CMD_INIT)


# -- hall texts -------------------------------------------------------------------------

SERVING = {"zh": "请{ticket}号到{window}号窗口", "en": "{ticket} to window {window}"}
PAUSED = {"zh": "{window}号窗口暂停服务", "en": "Window {window} paused"}
IDLE = {"zh": "{window}号窗口", "en": "Window {window}"}


def serving_frame(address: int, window: str, ticket: str, language: str = "zh") -> LedFrame:
    """The strip over a window while a ticket is called/served: ticket in green."""
    template = SERVING.get(language, SERVING["en"])
    before, _, after = template.partition("{ticket}")
    return segments_frame(
        address,
        [
            (before.format(window=window), LedColour.RED),
            (ticket, LedColour.GREEN),
            (after.format(window=window), LedColour.RED),
        ],
    )


def paused_frame(address: int, window: str, language: str = "zh") -> LedFrame:
    return text_frame(address, PAUSED.get(language, PAUSED["en"]).format(window=window))


def idle_frame(address: int, window: str, language: str = "zh") -> LedFrame:
    return text_frame(address, IDLE.get(language, IDLE["en"]).format(window=window))


# -- stream decoder (emulator side) -------------------------------------------------------


@dataclass(frozen=True)
class LedDropped:
    reason: str
    data: bytes


@dataclass
class LedDecoder:
    """Finds LED frames in a byte stream that may also carry FF 68 frames for other devices."""

    variant: LedVariant = DEFAULT_LED
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[LedFrame | LedDropped]:
        self._buffer += data
        out: list[LedFrame | LedDropped] = []
        buf = self._buffer
        while True:
            at = buf.find(HEAD)
            if at < 0:
                # Keep a trailing A0 that may begin the next head; the rest is not ours.
                keep = 1 if buf.endswith(HEAD[:1]) else 0
                del buf[: len(buf) - keep]
                return out
            del buf[:at]
            if len(buf) < 7:
                return out
            address, command, high, low = buf[2], buf[3], buf[4], buf[5]
            size = high * self.variant.length_base + low
            if size > self.variant.max_payload:
                out.append(LedDropped("length", bytes(buf[:2])))
                del buf[:2]
                continue
            total = 6 + size + 1
            if len(buf) < total:
                return out
            body = bytes(buf[2 : 6 + size])
            if _xor(body) != buf[total - 1]:
                out.append(LedDropped("checksum", bytes(buf[:total])))
                del buf[:2]
                continue
            out.append(LedFrame(address, command, body[4:]))
            del buf[:total]
