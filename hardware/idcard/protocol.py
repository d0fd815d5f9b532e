"""Pure codec for the ID card reader's SAM interface frames (docs/hardware.md, section 9).

Request:  ``AA AA AA 96 69  LEN(2, big-endian)  CMD PARA [DATA]  CHK``
Response: ``AA AA AA 96 69  LEN(2, big-endian)  SW1 SW2 SW3 [DATA]  CHK``

``LEN`` counts every byte after it, the check byte included; ``CHK`` is the XOR of the two
length bytes and everything up to the check byte. No I/O here: bytes in, events out.

The card text (answer to ``30 01``) is 256 bytes of UCS-2 little-endian in fixed fields;
:func:`parse_card` reads the three it needs (birth date, ID number, valid-to) and returns
a :class:`CardReading` holding only a salted HMAC of the number. The other fields (name,
address, ...) and the photo are never decoded, and the caller's buffer is overwritten.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from hardware.exceptions import DecodeError, EncodeError

# The one hashing rule, shared with the server (booked appointments are hashed there).
from queue_server.core.pins import hash_id_number as hash_id_number

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
MAX_LENGTH = 4096  # the longest answer (text + photo) is 1288; anything far above is noise


class Command(enum.Enum):
    """(CMD, PARA) pairs from the public SAM interface."""

    RESET_SAM = (0x01, 0xFF)
    SAM_STATUS = (0x11, 0xFF)
    SAM_ID = (0x12, 0xFF)
    FIND_CARD = (0x20, 0x01)
    SELECT_CARD = (0x20, 0x02)
    READ_TEXT_PHOTO = (0x30, 0x01)


class Status(enum.IntEnum):
    """SW3 of an answer (SW1 SW2 are 00 00 for every status used here)."""

    OK = 0x90
    CARD_FOUND = 0x9F
    NO_CARD = 0x80  # find failed: no card, or the card was not lifted since the last read
    SELECT_FAILED = 0x81
    BAD_CHECKSUM = 0x10  # the reader got a request with a wrong check byte
    UNKNOWN_COMMAND = 0x21


def xor(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def _frame(body: bytes) -> bytes:
    length = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + length + body + bytes((xor(length + body),))


def encode_request(command: Command, data: bytes = b"") -> bytes:
    """E.g. find card: ``AA AA AA 96 69 00 03 20 01 22``."""
    if len(data) > MAX_LENGTH:
        raise EncodeError("request data too long")
    return _frame(bytes(command.value) + data)


def encode_response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """The reader's side (the emulator uses it)."""
    return _frame(bytes((sw1, sw2, sw3)) + data)


@dataclass(frozen=True)
class Request:
    command: int
    parameter: int
    data: bytes = b""


@dataclass(frozen=True)
class Response:
    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    @property
    def ok(self) -> bool:
        return (self.sw1, self.sw2) == (0, 0) and self.sw3 in (Status.OK, Status.CARD_FOUND)

    def describe(self) -> str:
        """Status bytes only: the data may hold a card's text and is never described."""
        try:
            name = Status(self.sw3).name.lower()
        except ValueError:
            name = "error"
        return f"{self.sw1:02x} {self.sw2:02x} {self.sw3:02x} ({name})"

    def __repr__(self) -> str:  # never print card data
        return f"Response({self.describe()}, {len(self.data)} data bytes)"


@dataclass(frozen=True)
class Garbage:
    size: int
    reason: str


class FrameDecoder:
    """Incremental: feed bytes, get :class:`Response` (or :class:`Request` with
    ``requests=True``, for the emulator) and :class:`Garbage` events. A bad check byte or
    an impossible length drops the first preamble byte and hunts again."""

    def __init__(self, *, requests: bool = False) -> None:
        self.requests = requests
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Response | Request | Garbage]:
        self._buf += data
        events: list[Response | Request | Garbage] = []
        buf = self._buf
        while buf:
            at = buf.find(PREAMBLE)
            if at < 0:
                keep = next(
                    (
                        k
                        for k in range(min(len(PREAMBLE) - 1, len(buf)), 0, -1)
                        if buf.endswith(PREAMBLE[:k])
                    ),
                    0,
                )
                if len(buf) - keep:
                    events.append(Garbage(len(buf) - keep, "outside a frame"))
                del buf[: len(buf) - keep]
                break
            if at:
                events.append(Garbage(at, "outside a frame"))
                del buf[:at]
            if len(buf) < 7:
                break
            length = int.from_bytes(buf[5:7], "big")
            minimum = 3 if self.requests else 4
            if not minimum <= length <= MAX_LENGTH:
                events.append(Garbage(1, "impossible length"))
                del buf[:1]
                continue
            total = 7 + length
            if len(buf) < total:
                break
            body = bytes(buf[7 : total - 1])
            if xor(bytes(buf[5:7]) + body) != buf[total - 1]:
                events.append(Garbage(1, "bad check byte"))
                del buf[:1]
                continue
            del buf[:total]
            if self.requests:
                events.append(Request(body[0], body[1], body[2:]))
            else:
                events.append(Response(body[0], body[1], body[2], body[3:]))
        return events


# -- card text --------------------------------------------------------------------------

# (field, bytes) in order; UCS-2 LE, padded with spaces. Sum: 256.
TEXT_FIELDS: tuple[tuple[str, int], ...] = (
    ("name", 30),
    ("gender", 2),
    ("ethnic_group", 4),
    ("birth_date", 16),
    ("address", 70),
    ("id_number", 36),
    ("authority", 30),
    ("valid_from", 16),
    ("valid_to", 16),
    ("reserved", 36),
)
TEXT_LENGTH = 256
PHOTO_LENGTH = 1024
_OFFSETS: dict[str, tuple[int, int]] = {}
_pos = 0
for _name, _size in TEXT_FIELDS:
    _OFFSETS[_name] = (_pos, _pos + _size)
    _pos += _size
assert _pos == TEXT_LENGTH
NO_EXPIRY = "长期"

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number_valid(number: str) -> bool:
    """GB 11643: 17 digits and a check character (ISO 7064 MOD 11-2)."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == number[17].upper()


@dataclass(frozen=True)
class CardReading:
    """What a card read gives the rest of the system, and all of it.

    ``id_hash``: salted hash of the ID number (daily cap, appointment match);
    ``birth_date``: to decide senior priority at the moment of issue;
    ``valid_to``: None for a card valid for life (长期)."""

    id_hash: str
    birth_date: dt.date
    valid_to: dt.date | None

    def age_on(self, day: dt.date) -> int:
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday

    def is_senior(self, day: dt.date, age: int = 65) -> bool:
        return self.age_on(day) >= age

    def expired_on(self, day: dt.date) -> bool:
        return self.valid_to is not None and day > self.valid_to

    def __repr__(self) -> str:  # a hash prefix is enough to tell readings apart in a test
        return f"CardReading(id_hash={self.id_hash[:8]}…)"


def _field(text: bytes | bytearray, name: str) -> str:
    start, end = _OFFSETS[name]
    return bytes(text[start:end]).decode("utf-16-le", errors="replace").strip(" \x00")


def _date(value: str, what: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise DecodeError(f"card {what} is not a YYYYMMDD date") from None


def parse_card(data: bytearray, salt: bytes) -> CardReading:
    """Parse the data of a ``30 01`` answer and wipe it (name, address and photo included).

    Raises :class:`DecodeError` with a message that never contains card content."""
    try:
        if len(data) < 4:
            raise DecodeError("card data too short")
        text_len = int.from_bytes(data[0:2], "big")
        photo_len = int.from_bytes(data[2:4], "big")
        if text_len != TEXT_LENGTH or len(data) < 4 + text_len + photo_len:
            raise DecodeError(f"card data has text length {text_len}, expected {TEXT_LENGTH}")
        text = data[4 : 4 + TEXT_LENGTH]
        number = _field(text, "id_number")
        if not id_number_valid(number):
            raise DecodeError("the ID number on the card fails its check digit")
        birth = _date(_field(text, "birth_date"), "birth date")
        if number[6:14] != birth.strftime("%Y%m%d"):
            raise DecodeError("the birth date does not match the ID number")
        valid_to_raw = _field(text, "valid_to")
        valid_to = None if valid_to_raw == NO_EXPIRY else _date(valid_to_raw, "validity end")
        reading = CardReading(hash_id_number(number, salt), birth, valid_to)
        del number
        return reading
    finally:
        data[:] = bytes(len(data))  # best effort: the card's text leaves no copy here


def card_text(**fields: str) -> bytes:
    """Build the 256-byte text block (emulator and tests): each field UCS-2 LE, padded."""
    out = bytearray()
    for name, size in TEXT_FIELDS:
        raw = fields.get(name, "").encode("utf-16-le")
        if len(raw) > size:
            raise EncodeError(f"{name} longer than {size // 2} characters")
        out += raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)
    return bytes(out)
