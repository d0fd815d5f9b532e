"""Evaluation device ("one matter, one rating"): prompt, press, grade, acknowledgement.

Device keys differ (four or five keys, numbered from 0 = worst), while the hall reports on
the national five-level scale. A :class:`RatingScale` per device maps raw keys onto
:class:`NationalGrade`; docs/hardware.md explains the default mappings.

:class:`EvaluationTracker` is the pure state machine that pairs a press with the ticket it
was prompted for and turns silence into an explicit "not rated"; time is passed in so it
is tested without sleeping.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from hardware.bus.frame import DEFAULT_VARIANT, Frame, FrameVariant
from hardware.exceptions import EncodeError
from queue_server.core import rules
from queue_server.core.ratings import level_names


class _Grade(enum.IntEnum):
    """The five levels of the national good/bad review scheme for government services."""

    @property
    def needs_follow_up(self) -> bool:
        """Dissatisfied ratings go to the department head and the call-back list (the
        one rule: ``rules.is_dissatisfied``)."""
        return rules.is_dissatisfied(int(self))

    @property
    def label(self) -> dict[str, str]:
        """The level's names as screens and logs show them (core/ratings.py)."""
        return level_names()[int(self)]


# The members (VERY_DISSATISFIED = 1 ... VERY_SATISFIED = 5) come from the server's one
# table of levels, so the bus can never name or number a level another way.
NationalGrade = _Grade(  # type: ignore[call-arg]
    "NationalGrade",
    [(name.upper(), level) for level, name in sorted(rules.NATIONAL_LEVELS.items())],
    module=__name__,
)


@dataclass(frozen=True)
class RatingScale:
    """Raw device key -> national grade. Built per device from the hall config."""

    name: str
    keys: Mapping[int, NationalGrade]

    def grade(self, raw: int) -> NationalGrade | None:
        return self.keys.get(raw)


G = NationalGrade
# Four keys printed poor / fair / good / very good. "Poor" (差) reads as dissatisfied,
# not *very* dissatisfied; a four-key device simply cannot express level 1.
FOUR_KEY = RatingScale(
    "four-key", {0: G.DISSATISFIED, 1: G.BASICALLY_SATISFIED, 2: G.SATISFIED, 3: G.VERY_SATISFIED}
)
# Five keys map one to one, 0 = very dissatisfied ... 4 = very satisfied.
FIVE_KEY = RatingScale(
    "five-key",
    {
        0: G.VERY_DISSATISFIED,
        1: G.DISSATISFIED,
        2: G.BASICALLY_SATISFIED,
        3: G.SATISFIED,
        4: G.VERY_SATISFIED,
    },
)
SCALES: dict[str, RatingScale] = {s.name: s for s in (FOUR_KEY, FIVE_KEY)}


@dataclass(frozen=True)
class EvaluatorVariant:
    """Command codes of one vendor's evaluator.

    ``prompt_digits``: append the ticket's digits to the prompt so a device with a display
    shows which case is being rated; devices that only check the first byte ignore them.
    ``address_offset``: an evaluator usually sits at its window keypad's address with the
    high bit set (0x80).
    """

    name: str = "slzc"
    frame: FrameVariant = DEFAULT_VARIANT
    rating_command: int = 0x11  # device -> host: grade in the first data byte
    host_command: int = 0x01  # host -> device: start evaluation / acknowledge
    start_byte: int = 0x0B
    stars_command: int = 0x02
    prompt_digits: bool = True
    address_offset: int = 0x80

    def address_for_keypad(self, keypad_address: int) -> int:
        return (keypad_address | self.address_offset) & 0xFF


SLZC_EVALUATOR = EvaluatorVariant()


def prompt_frame(
    address: int, ticket: str = "", variant: EvaluatorVariant = SLZC_EVALUATOR
) -> Frame:
    """Start an evaluation (device lights up / says "please rate our service")."""
    data = bytes((variant.start_byte,))
    if variant.prompt_digits:
        data += bytes(int(c) for c in ticket if c.isdigit())
    return Frame(address, variant.host_command, data)


def ack_frame(address: int, variant: EvaluatorVariant = SLZC_EVALUATOR) -> Frame:
    """Acknowledge a rating so the device stops resending it and thanks the citizen."""
    return Frame(address, variant.host_command)


def stars_frame(address: int, stars: int, variant: EvaluatorVariant = SLZC_EVALUATOR) -> Frame:
    if not 0 <= stars <= 5:
        raise EncodeError("stars must be 0-5")
    return Frame(address, variant.stars_command, bytes((stars,)))


def rating_frame(address: int, raw: int, variant: EvaluatorVariant = SLZC_EVALUATOR) -> Frame:
    """What the device sends when pressed; used by the emulator."""
    return Frame(address, variant.rating_command, bytes((raw,)))


@dataclass(frozen=True)
class Press:
    """A rating press as it came off the bus; ``grade`` is None for a key outside the scale."""

    address: int
    raw: int
    grade: NationalGrade | None


def parse_rating_frame(
    frame: Frame, scale: RatingScale, variant: EvaluatorVariant = SLZC_EVALUATOR
) -> Press | None:
    """A Press for a rating frame, None for any other frame (not ours to interpret)."""
    if frame.command != variant.rating_command or not frame.data:
        return None
    raw = frame.data[0]
    return Press(frame.address, raw, scale.grade(raw))


@dataclass(frozen=True)
class HostCommand:
    """A host frame as the evaluator emulator understands it."""

    kind: str  # "prompt", "ack", "stars", "unknown"
    ticket_digits: str = ""
    stars: int = 0


def parse_host_frame(frame: Frame, variant: EvaluatorVariant = SLZC_EVALUATOR) -> HostCommand:
    if frame.command == variant.host_command:
        if not frame.data:
            return HostCommand("ack")
        if frame.data[0] == variant.start_byte:
            digits = "".join(str(b) for b in frame.data[1:] if b <= 9)
            return HostCommand("prompt", ticket_digits=digits)
    if frame.command == variant.stars_command and len(frame.data) == 1:
        return HostCommand("stars", stars=frame.data[0])
    return HostCommand("unknown")


class OutcomeKind(enum.Enum):
    RATED = "rated"
    NOT_RATED = "not_rated"  # prompt timed out: every case gets a rating or this
    UNSOLICITED = "unsolicited"  # a press with no open prompt (citizen pressed late/early)
    INVALID_KEY = "invalid_key"  # a key the device's scale does not define


@dataclass(frozen=True)
class RatingOutcome:
    address: int
    kind: OutcomeKind
    ticket: str | None = None
    grade: NationalGrade | None = None
    raw: int | None = None


@dataclass
class _Pending:
    ticket: str
    deadline: float


@dataclass
class EvaluationTracker:
    """Pairs presses with prompts per evaluator address; no I/O, time passed in.

    A second prompt for the same device replaces the first, whose case is closed as
    "not rated" so it is never silently lost.
    """

    timeout: float = 30.0
    _pending: dict[int, _Pending] = field(default_factory=dict)

    def prompt(self, address: int, ticket: str, now: float) -> list[RatingOutcome]:
        closed = []
        old = self._pending.get(address)
        if old is not None:
            closed.append(RatingOutcome(address, OutcomeKind.NOT_RATED, old.ticket))
        self._pending[address] = _Pending(ticket, now + self.timeout)
        return closed

    def press(self, press: Press, now: float) -> RatingOutcome:
        pending = self._pending.get(press.address)
        if pending is None or now > pending.deadline:
            return RatingOutcome(
                press.address, OutcomeKind.UNSOLICITED, None, press.grade, press.raw
            )
        if press.grade is None:
            # Keep the prompt open: the citizen may press a valid key next.
            return RatingOutcome(
                press.address, OutcomeKind.INVALID_KEY, pending.ticket, None, press.raw
            )
        del self._pending[press.address]
        return RatingOutcome(
            press.address, OutcomeKind.RATED, pending.ticket, press.grade, press.raw
        )

    def expire(self, now: float) -> list[RatingOutcome]:
        expired = [a for a, p in self._pending.items() if now > p.deadline]
        return [
            RatingOutcome(a, OutcomeKind.NOT_RATED, self._pending.pop(a).ticket) for a in expired
        ]

    def waiting(self, address: int) -> str | None:
        pending = self._pending.get(address)
        return pending.ticket if pending else None
