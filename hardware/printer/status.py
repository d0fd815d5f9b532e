"""Real-time printer status (``DLE EOT n``) as a typed result.

The host asks ``10 04 01`` .. ``10 04 04``; each answer is one byte whose fixed bits are
0 (bit 0), 1 (bit 1), 1 (bit 4) and 0 (bit 7). A byte that does not match that pattern is
not a status answer (line noise, or a printer in a mode that echoes), and a query with no
answer is "not answering". Neither is ever read as "fine": python-escpos reports a silent
serial printer as paper OK, which is how tickets get silently lost.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

DLE_EOT = b"\x10\x04"
QUERIES = (1, 2, 3, 4)
FIXED_MASK = 0b1001_0011
FIXED_VALUE = 0b0001_0010


class Condition(enum.Enum):
    """The one thing the kiosk shows; ordered from worst to best in :data:`SEVERITY`."""

    NOT_ANSWERING = "not_answering"
    NO_RETURN_CHANNEL = "no_return_channel"  # a one-way printer: its state cannot be known
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    CUTTER_ERROR = "cutter_error"
    UNRECOVERABLE_ERROR = "unrecoverable_error"
    OVERHEATED = "overheated"  # auto-recoverable error, e.g. head too hot
    OFFLINE = "offline"
    PAPER_NEAR_END = "paper_near_end"
    ONLINE = "online"


SEVERITY = list(Condition)
PRINTABLE = frozenset({Condition.ONLINE, Condition.PAPER_NEAR_END})


class PaperLevel(enum.Enum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"


def is_status_byte(value: int) -> bool:
    return value & FIXED_MASK == FIXED_VALUE


@dataclass(frozen=True)
class PrinterStatus:
    """A snapshot. ``raw`` maps query n to the byte answered (None: no valid answer)."""

    answering: bool
    online: bool = False
    paper: PaperLevel = PaperLevel.UNKNOWN
    cover_open: bool = False
    feed_button: bool = False
    cutter_error: bool = False
    unrecoverable_error: bool = False
    auto_recoverable_error: bool = False
    raw: Mapping[int, int | None] = field(default_factory=dict)
    detail: str = ""
    one_way: bool = False  # the printer has no return channel; nothing was asked

    @property
    def conditions(self) -> list[Condition]:
        """Every condition that holds, worst first."""
        if self.one_way:
            return [Condition.NO_RETURN_CHANNEL]
        if not self.answering:
            return [Condition.NOT_ANSWERING]
        found = {
            Condition.PAPER_OUT: self.paper is PaperLevel.OUT,
            Condition.COVER_OPEN: self.cover_open,
            Condition.CUTTER_ERROR: self.cutter_error,
            Condition.UNRECOVERABLE_ERROR: self.unrecoverable_error,
            Condition.OVERHEATED: self.auto_recoverable_error,
            Condition.OFFLINE: not self.online,
            Condition.PAPER_NEAR_END: self.paper is PaperLevel.NEAR_END,
        }
        worst = [c for c in SEVERITY if found.get(c)]
        return worst or [Condition.ONLINE]

    @property
    def condition(self) -> Condition:
        return self.conditions[0]

    @property
    def can_print(self) -> bool:
        return self.condition in PRINTABLE

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for the server's device log."""
        data = asdict(self)
        data["paper"] = self.paper.value
        data["raw"] = {str(k): v for k, v in self.raw.items()}
        data["condition"] = self.condition.value
        data["conditions"] = [c.value for c in self.conditions]
        return data


NOT_ANSWERING = PrinterStatus(answering=False)
ONE_WAY = PrinterStatus(
    answering=False,
    one_way=True,
    detail="the printer has no return channel: status cannot be asked",
)

GS_R_PAPER = b"\x1dr\x01"  # GS r 1: paper sensor status, answered after the data before it


def is_gs_r_byte(value: int) -> bool:
    """``GS r 1`` answers have bits 4 and 7 clear, ``DLE EOT`` answers bit 4 set, so a late
    answer of one kind is never taken for the other."""
    return value & 0x90 == 0


def gs_r_paper_end(value: int) -> bool:
    return bool(value & 0x0C)


def parse_status(answers: Mapping[int, int | None], detail: str = "") -> PrinterStatus:
    """Build a status from the answers to queries 1-4; missing or malformed means silent."""
    raw = {n: answers.get(n) for n in QUERIES}
    valid = {n: v for n, v in raw.items() if v is not None and is_status_byte(v)}
    if len(valid) < len(QUERIES):
        missing = [n for n in QUERIES if n not in valid]
        reason = detail or f"no valid answer to DLE EOT {', '.join(map(str, missing))}"
        return PrinterStatus(answering=False, raw=raw, detail=reason)
    printer, offline, error, paper = (valid[n] for n in QUERIES)
    if paper & 0x60:
        level = PaperLevel.OUT
    elif paper & 0x0C:
        level = PaperLevel.NEAR_END
    else:
        level = PaperLevel.OK
    return PrinterStatus(
        answering=True,
        online=not printer & 0x08,
        paper=PaperLevel.OUT if offline & 0x20 else level,
        cover_open=bool(offline & 0x04),
        feed_button=bool(offline & 0x08),
        cutter_error=bool(error & 0x08),
        unrecoverable_error=bool(error & 0x20),
        auto_recoverable_error=bool(error & 0x40),
        raw=raw,
        detail=detail,
    )


def status_bytes(
    *,
    offline: bool = False,
    cover_open: bool = False,
    paper: PaperLevel = PaperLevel.OK,
    cutter_error: bool = False,
    unrecoverable_error: bool = False,
    auto_recoverable_error: bool = False,
) -> dict[int, int]:
    """The answers a printer in this state gives; the emulator and tests use it."""
    any_error = cutter_error or unrecoverable_error or auto_recoverable_error
    is_offline = offline or cover_open or paper is PaperLevel.OUT or any_error
    return {
        1: 0x12 | (0x08 if is_offline else 0),
        2: 0x12
        | (0x04 if cover_open else 0)
        | (0x20 if paper is PaperLevel.OUT else 0)
        | (0x40 if any_error else 0),
        3: 0x12
        | (0x08 if cutter_error else 0)
        | (0x20 if unrecoverable_error else 0)
        | (0x40 if auto_recoverable_error else 0),
        4: 0x12
        | (0x0C if paper in (PaperLevel.NEAR_END, PaperLevel.OUT) else 0)
        | (0x60 if paper is PaperLevel.OUT else 0),
    }
