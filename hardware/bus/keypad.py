"""Caller keypad protocol: key frames in, typed key events out; display commands back.

A keypad sends one frame per key that ends an entry: the last data byte is the key code,
and digits typed before it (0x00-0x09) come first as raw bytes. What a key *means* varies
between vendors (which digit + FUNCTION pauses, which signs out), so the meaning lives in
a :class:`KeypadVariant` table of :class:`KeyRule` rows; the parser only walks the table.

Host to keypad uses CMD 0x02 (show digits, or one byte: success 1 / failure 0) and CMD 0x03
(beep). Whether the host echoes each received frame as an acknowledgement is a variant flag.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from hardware.bus.frame import DEFAULT_VARIANT, Frame, FrameVariant, encode
from hardware.exceptions import EncodeError

KEY_START = 0x0A
KEY_RATE = 0x0B  # labelled "wait" on many keypads
KEY_CALL = 0x0C
KEY_RECALL = 0x0D
KEY_CANCEL = 0x0E
KEY_FUNCTION = 0x0F
BLANK = 0x0A  # in a display command, a blank digit position


class KeyAction(enum.Enum):
    """What the clerk asked for; the gateway maps each onto a clerk operation."""

    CALL_NEXT = "call_next"
    CALL_NUMBER = "call_number"  # argument: the digits typed
    RECALL = "recall"
    TRANSFER = "transfer"  # argument: target window or queue number
    RATE = "rate"  # ask the citizen to rate on the evaluator
    CANCEL = "cancel"
    PAUSE = "pause"
    NO_SHOW = "no_show"
    SIGN_IN = "sign_in"  # argument: clerk number
    SIGN_OUT = "sign_out"
    CALL_BACK = "call_back"  # call back a ticket put on hold
    SHOW_ADDRESS = "show_address"  # installer asks the keypad to show its bus address
    # Used by the gateway's key tables (hardware/gateway/keys.py), not by SLZC/JQ above:
    START = "start"  # the citizen has arrived: start the case
    RESUME = "resume"  # end a pause explicitly


@dataclass(frozen=True)
class KeyRule:
    """One row of a key table: a key code plus a digit pattern selects an action.

    ``digits`` set means exactly these digits must precede the key (e.g. "0" + FUNCTION);
    otherwise the number of digits must lie in ``min_digits..max_digits``.
    """

    key: int
    action: KeyAction
    digits: str | None = None
    min_digits: int = 0
    max_digits: int = 0

    def matches(self, key: int, digits: str) -> bool:
        if key != self.key:
            return False
        if self.digits is not None:
            return digits == self.digits
        return self.min_digits <= len(digits) <= self.max_digits


# Rows are tried in order, first match wins: exact digit rules go before ranges.
SLZC_RULES: tuple[KeyRule, ...] = (
    KeyRule(KEY_CALL, KeyAction.CALL_NEXT),
    KeyRule(KEY_CALL, KeyAction.CALL_NUMBER, min_digits=1, max_digits=6),
    KeyRule(KEY_RECALL, KeyAction.RECALL),
    KeyRule(KEY_START, KeyAction.TRANSFER, min_digits=1, max_digits=4),
    KeyRule(KEY_RATE, KeyAction.RATE),
    KeyRule(KEY_RATE, KeyAction.PAUSE, digits="0"),
    KeyRule(KEY_CANCEL, KeyAction.CANCEL),
    KeyRule(KEY_FUNCTION, KeyAction.PAUSE, digits="0"),
    KeyRule(KEY_FUNCTION, KeyAction.SIGN_OUT, digits="4"),
    KeyRule(KEY_FUNCTION, KeyAction.NO_SHOW, digits="5"),
    KeyRule(KEY_FUNCTION, KeyAction.SHOW_ADDRESS, digits="8"),
    KeyRule(KEY_FUNCTION, KeyAction.SIGN_IN, min_digits=2, max_digits=8),
)

# The variant seen in JackQChen/QueueSystem: 6+F is no-show, 3+F calls back, and two
# extra keys (0x12 pause, 0x13 transfer with no target typed).
JQ_RULES: tuple[KeyRule, ...] = (
    KeyRule(KEY_CALL, KeyAction.CALL_NEXT),
    KeyRule(KEY_CALL, KeyAction.CALL_NUMBER, min_digits=1, max_digits=6),
    KeyRule(KEY_RECALL, KeyAction.RECALL),
    KeyRule(KEY_START, KeyAction.TRANSFER, min_digits=1, max_digits=4),
    KeyRule(KEY_RATE, KeyAction.RATE),
    KeyRule(KEY_CANCEL, KeyAction.CANCEL),
    KeyRule(KEY_FUNCTION, KeyAction.PAUSE, digits="0"),
    KeyRule(KEY_FUNCTION, KeyAction.CALL_BACK, digits="3"),
    KeyRule(KEY_FUNCTION, KeyAction.NO_SHOW, digits="6"),
    KeyRule(0x12, KeyAction.PAUSE),
)


@dataclass(frozen=True)
class KeypadVariant:
    """A vendor's keypad dialect: frame layout, key table and host command codes.

    ``key_command`` is the CMD byte keypads put on key frames; vendors differ and the
    reference hosts ignore it, so ``None`` accepts any. ``display_width`` is the number of
    digit positions; the left half shows the waiting count, the right half the ticket
    number, as the reference hosts do. ``echo_ack``: the host echoes each key frame back.
    """

    name: str = "slzc"
    frame: FrameVariant = DEFAULT_VARIANT
    rules: tuple[KeyRule, ...] = SLZC_RULES
    key_command: int | None = None
    emulator_key_command: int = 0x01
    show_command: int = 0x02
    beep_command: int = 0x03
    display_width: int = 6
    echo_ack: bool = True


SLZC = KeypadVariant()
JQ = KeypadVariant(name="jq", rules=JQ_RULES)
VARIANTS: dict[str, KeypadVariant] = {v.name: v for v in (SLZC, JQ)}


@dataclass(frozen=True)
class KeyEvent:
    """A decoded key press. ``argument`` holds typed digits where the action takes them."""

    address: int
    action: KeyAction
    argument: str | None = None


@dataclass(frozen=True)
class UnknownKey:
    """A well-formed frame whose key/digit combination is not in the table; logged, ignored."""

    address: int
    key: int
    digits: str = ""
    reason: str = field(default="no rule for this key")


def parse_key_frame(frame: Frame, variant: KeypadVariant = SLZC) -> KeyEvent | UnknownKey:
    """Map a keypad frame to an event; never raises for bad device input."""
    if variant.key_command is not None and frame.command != variant.key_command:
        return UnknownKey(frame.address, -1, reason=f"command 0x{frame.command:02x}")
    if not frame.data:
        return UnknownKey(frame.address, -1, reason="no key byte")
    key = frame.data[-1]
    prefix = frame.data[:-1]
    if any(b > 9 for b in prefix):
        return UnknownKey(frame.address, key, reason="non-digit before key")
    digits = "".join(str(b) for b in prefix)
    for rule in variant.rules:
        if rule.matches(key, digits):
            takes_argument = rule.digits is None and rule.max_digits > 0
            return KeyEvent(frame.address, rule.action, digits if takes_argument else None)
    return UnknownKey(frame.address, key, digits)


def key_frame(address: int, key: int, digits: str = "", variant: KeypadVariant = SLZC) -> Frame:
    """The frame a keypad sends; used by the emulator and by tests."""
    if not digits.isdigit() and digits:
        raise EncodeError(f"keypad digits must be 0-9, got {digits!r}")
    data = bytes(int(d) for d in digits) + bytes((key,))
    return Frame(address, variant.emulator_key_command, data)


def _digit_cells(text: str, width: int) -> list[int]:
    digits = [int(c) for c in text if c.isdigit()][-width:] if width else []
    return [BLANK] * (width - len(digits)) + digits


def show_number_frame(
    address: int,
    ticket: str,
    waiting: int | None = None,
    variant: KeypadVariant = SLZC,
) -> Frame:
    """Show a ticket on the keypad's digit display.

    Letters in a label ("A012") are dropped because the display only has 7-segment digits;
    the number is right-aligned in the right half, the waiting count (capped at what fits)
    in the left half, blanks elsewhere.
    """
    half = variant.display_width // 2
    right = variant.display_width - half
    if waiting is None:
        left_cells = [BLANK] * half
    else:
        cap = 10**half - 1
        left_cells = _digit_cells(str(min(max(waiting, 0), cap)), half)
    return Frame(address, variant.show_command, bytes(left_cells + _digit_cells(ticket, right)))


def show_result_frame(address: int, success: bool, variant: KeypadVariant = SLZC) -> Frame:
    return Frame(address, variant.show_command, bytes((1 if success else 0,)))


def beep_frame(address: int, variant: KeypadVariant = SLZC) -> Frame:
    return Frame(address, variant.beep_command)


@dataclass(frozen=True)
class DisplayUpdate:
    """What a host command asks the keypad to show; decoded by the keypad emulator."""

    address: int
    kind: str  # "digits", "success", "failure", "beep", "unknown"
    text: str = ""


def parse_host_frame(frame: Frame, variant: KeypadVariant = SLZC) -> DisplayUpdate:
    if frame.command == variant.beep_command:
        return DisplayUpdate(frame.address, "beep")
    if frame.command == variant.show_command:
        if len(frame.data) == 1 and frame.data[0] in (0, 1):
            return DisplayUpdate(frame.address, "success" if frame.data[0] else "failure")
        text = "".join(" " if b == BLANK else str(b) if b <= 9 else "?" for b in frame.data)
        return DisplayUpdate(frame.address, "digits", text)
    return DisplayUpdate(frame.address, "unknown", frame.data.hex())


def encode_frames(frames: Sequence[Frame], variant: KeypadVariant = SLZC) -> bytes:
    return b"".join(encode(f, variant.frame) for f in frames)
