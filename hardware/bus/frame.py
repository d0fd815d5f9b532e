"""Pure codec for the ``FF 68 L L 68 ADDR CMD DATA... CS 16`` bus frame.

No I/O happens here: bytes go in through :meth:`FrameDecoder.feed`, events come out
(:class:`Frame` or :class:`Dropped`), and :func:`encode` turns a frame into bytes. Drivers and
emulators wrap this; tests drive it directly.

The frame layout is data (:class:`FrameVariant`) so a vendor that changes the preamble, the
start/end bytes or the checksum is a new table, not a fork of the decoder.

Resync rules (documented byte by byte in docs/hardware.md):

- the decoder hunts for ``START L L START``; the preamble is optional on receive because
  some keypads omit it and an RS-485 transceiver often mangles the first byte after the
  line turns around;
- any failure (length bytes differ, body longer than the variant allows, wrong end byte,
  bad checksum) drops one byte, the false start, and hunts again from the next byte, so a
  real frame hidden behind a false header is still found;
- a header whose frame cannot complete is false too: when a complete valid frame starts
  inside it, or when the line goes quiet (:meth:`FrameDecoder.flush`), its start byte is
  dropped and the rest hunted again, so a collision followed by a short frame and silence
  loses nothing but the collision;
- the buffer is bounded by the largest frame the variant allows, so a flood of garbage
  costs memory proportional to one frame.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from hardware.exceptions import DecodeError, EncodeError


def sum_mod_256(body: bytes) -> int:
    """DL/T-645 style checksum: the byte sum of ADDR through DATA, modulo 256."""
    return sum(body) & 0xFF


def xor_checksum(body: bytes) -> int:
    """XOR of every byte; some vendors use it in the same frame shape."""
    value = 0
    for byte in body:
        value ^= byte
    return value


@dataclass(frozen=True)
class FrameVariant:
    """Everything that differs between vendors of the FF 68 family.

    ``max_body`` caps ``L`` (ADDR + CMD + DATA). Real keypads send fewer than 20 bytes; a
    small cap lets the decoder reject a false header at once instead of waiting for 255
    bytes of what is really the next frames.
    """

    name: str = "dlt645-like"
    preamble: bytes = b"\xff"
    start: int = 0x68
    end: int = 0x16
    checksum: Callable[[bytes], int] = sum_mod_256
    max_body: int = 64

    def __post_init__(self) -> None:
        if not 2 <= self.max_body <= 255:
            raise ValueError("max_body must be between 2 (ADDR + CMD) and 255")
        for value in (self.start, self.end):
            if not 0 <= value <= 255:
                raise ValueError("start and end must be single bytes")

    @property
    def max_frame(self) -> int:
        """Longest encoded frame, preamble included: bounds the decoder's buffer."""
        return len(self.preamble) + 4 + self.max_body + 2


DEFAULT_VARIANT = FrameVariant()


@dataclass(frozen=True)
class Frame:
    """One bus frame. ``address`` is the device's bus address, ``command`` the function code."""

    address: int
    command: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.address <= 255:
            raise EncodeError(f"bus address {self.address} is not a byte")
        if not 0 <= self.command <= 255:
            raise EncodeError(f"command {self.command} is not a byte")
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))

    @property
    def body(self) -> bytes:
        return bytes((self.address, self.command)) + self.data


class DropReason(enum.Enum):
    """Why bytes were thrown away; one value per rule in the module docstring."""

    GARBAGE = "garbage"  # bytes outside any frame
    LENGTH_MISMATCH = "length_mismatch"  # the two L bytes differ, or L is out of range
    BAD_END = "bad_end"  # no end byte where L says the frame ends
    BAD_CHECKSUM = "bad_checksum"
    TRUNCATED = "truncated"  # a partial frame was abandoned (line went quiet, reset)


@dataclass(frozen=True)
class Dropped:
    """Bytes the decoder discarded, with the reason. Bus bytes carry no personal data."""

    reason: DropReason
    data: bytes

    def describe(self) -> str:
        return f"{self.reason.value}: {len(self.data)} bytes {self.data[:16].hex(' ')}"


Event = Frame | Dropped


@dataclass
class DecoderStats:
    """Byte accounting; ``bytes_in == bytes_framed + bytes_dropped + pending`` always."""

    bytes_in: int = 0
    bytes_framed: int = 0
    bytes_dropped: int = 0
    frames: int = 0
    drops: dict[DropReason, int] = field(default_factory=dict)


def encode(frame: Frame, variant: FrameVariant = DEFAULT_VARIANT) -> bytes:
    """Serialise a frame; raises :class:`EncodeError` if it is longer than the variant allows."""
    body = frame.body
    if len(body) > variant.max_body:
        raise EncodeError(
            f"frame body of {len(body)} bytes exceeds {variant.max_body} ({variant.name})"
        )
    length = len(body)
    return (
        variant.preamble
        + bytes((variant.start, length, length, variant.start))
        + body
        + bytes((variant.checksum(body) & 0xFF, variant.end))
    )


def decode_one(raw: bytes, variant: FrameVariant = DEFAULT_VARIANT) -> Frame:
    """Strictly decode exactly one frame (tests, logs); streams use :class:`FrameDecoder`."""
    decoder = FrameDecoder(variant)
    events = decoder.feed(raw)
    frames = [e for e in events if isinstance(e, Frame)]
    if len(frames) != 1 or len(events) != 1 or decoder.pending:
        problems = ", ".join(e.describe() for e in events if isinstance(e, Dropped))
        raise DecodeError(f"not exactly one valid frame: {problems or 'incomplete'}")
    return frames[0]


class FrameDecoder:
    """Incremental decoder: feed it whatever the port delivered, get events back in order."""

    def __init__(self, variant: FrameVariant = DEFAULT_VARIANT) -> None:
        self.variant = variant
        self._buffer = bytearray()
        self._garbage = bytearray()
        self.stats = DecoderStats()

    @property
    def pending(self) -> int:
        """Bytes held back because they may be the start of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | Iterable[int]) -> list[Event]:
        data = bytes(data)
        self.stats.bytes_in += len(data)
        self._buffer += data
        events: list[Event] = []
        self._parse(events)
        self._flush_garbage(events)
        return events

    def flush(self) -> list[Event]:
        """The line has been quiet too long: the frame being waited for will not complete.

        Only its false start byte is dropped (``TRUNCATED``) and the rest is hunted again,
        as often as needed, so a valid frame behind a false header (a collision such as
        ``FF 68 09 09 68``) is still delivered; only bytes that belong to no frame go."""
        events: list[Event] = []
        while self._buffer:
            start_at = self._buffer.find(self.variant.start)
            if start_at < 0:  # a partial preamble and nothing else
                self._flush_garbage(events)
                self._drop(events, DropReason.TRUNCATED, bytes(self._buffer))
                self._buffer.clear()
                break
            self._reject_start(events, DropReason.TRUNCATED, start_at)
            self._parse(events)
        self._flush_garbage(events)
        return events

    # -- internals -------------------------------------------------------------------

    def _drop(self, events: list[Event], reason: DropReason, data: bytes) -> None:
        self.stats.bytes_dropped += len(data)
        self.stats.drops[reason] = self.stats.drops.get(reason, 0) + 1
        events.append(Dropped(reason, data))

    def _flush_garbage(self, events: list[Event]) -> None:
        if self._garbage:
            self._drop(events, DropReason.GARBAGE, bytes(self._garbage))
            self._garbage.clear()

    def _reject_start(self, events: list[Event], reason: DropReason, start_at: int) -> None:
        """Drop only the false start byte (and its preamble) so a real frame right behind
        it is still found."""
        self._flush_garbage(events)
        self._drop(events, reason, bytes(self._buffer[: start_at + 1]))
        del self._buffer[: start_at + 1]

    def _parse(self, events: list[Event]) -> None:
        v = self.variant
        buf = self._buffer
        pre = v.preamble
        while buf:
            start_at = buf.find(v.start)
            if start_at < 0:
                # Keep a trailing partial preamble: it may belong to the next frame.
                keep = _partial_suffix(buf, pre)
                self._garbage += buf[: len(buf) - keep]
                del buf[: len(buf) - keep]
                return
            if start_at:
                # A preamble right before the start byte belongs to the frame, not garbage.
                lead = start_at
                if pre and buf[:start_at].endswith(pre):
                    lead -= len(pre)
                self._garbage += buf[:lead]
                del buf[:lead]
                start_at -= lead
            # buf now begins with [preamble] START
            if len(buf) < start_at + 4:
                return
            length = buf[start_at + 1]
            if buf[start_at + 2] != length or buf[start_at + 3] != v.start:
                self._garbage += buf[: start_at + 1]
                del buf[: start_at + 1]
                continue
            if length < 2 or length > v.max_body:
                self._reject_start(events, DropReason.LENGTH_MISMATCH, start_at)
                continue
            total = start_at + 4 + length + 2
            if len(buf) < total:
                if self._frame_inside(start_at + 1):
                    # A complete valid frame starts inside the one announced: the header
                    # was false (a collision); waiting for it would lose the real one.
                    self._reject_start(events, DropReason.TRUNCATED, start_at)
                    continue
                return
            body = bytes(buf[start_at + 4 : start_at + 4 + length])
            checksum, end = buf[total - 2], buf[total - 1]
            reason = None
            if end != v.end:
                reason = DropReason.BAD_END
            elif checksum != v.checksum(body) & 0xFF:
                reason = DropReason.BAD_CHECKSUM
            if reason is not None:
                self._reject_start(events, reason, start_at)
                continue
            self._flush_garbage(events)
            del buf[:total]
            self.stats.bytes_framed += total
            self.stats.frames += 1
            events.append(Frame(body[0], body[1], body[2:]))

    def _frame_inside(self, first: int) -> bool:
        """Whether a complete, valid frame starts at or after ``first`` in the buffer."""
        v, buf = self.variant, self._buffer
        j = buf.find(v.start, first)
        while j >= 0 and j + 4 <= len(buf):
            length = buf[j + 1]
            end = j + 4 + length + 2
            if (
                buf[j + 2] == length
                and buf[j + 3] == v.start
                and 2 <= length <= v.max_body
                and end <= len(buf)
                and buf[end - 1] == v.end
                and buf[end - 2] == v.checksum(bytes(buf[j + 4 : end - 2])) & 0xFF
            ):
                return True
            j = buf.find(v.start, j + 1)
        return False


def _partial_suffix(buf: bytearray, preamble: bytes) -> int:
    """Length of the longest suffix of ``buf`` that is a prefix of ``preamble``."""
    for size in range(min(len(preamble), len(buf)), 0, -1):
        if buf.endswith(preamble[:size]):
            return size
    return 0
