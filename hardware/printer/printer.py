"""The kiosk's ticket printer: a ticket counts as printed only when the printer says so.

Sequence for a printer with a return channel (docs/hardware.md, "Status sequence"):

1. ``DLE EOT 1..4`` (real time): refuse to send anything unless the printer can print;
2. the ticket, followed by ``GS r 1``. ``GS r`` sits in the printer's buffer behind the
   ticket and is answered only once everything before it has been processed, and never
   while the printer is offline (paper out, cover open), so its answer means "this ticket
   went through the head". The wait for it scales with the ticket's length and the link;
3. ``DLE EOT 1..4`` again: a fault that shows up at the cut still makes the ticket uncertain.

Asking ``DLE EOT`` alone after a fixed pause, as this driver once did, is answered at once
while the ticket is still being printed, so faults during the 0.5-2 s a ticket takes were
reported as "printed". A printer without a return channel is printed to blind and the
result is ``UNCONFIRMED``, never ``PRINTED``. Anything else is a typed :class:`PrintResult`
so the kiosk keeps the on-screen ticket and the server can record the fault.
"""

from __future__ import annotations

import enum
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from hardware.exceptions import TicketNotFound, TransportError
from hardware.printer.profile import PrinterProfile
from hardware.printer.receipt import CaseReceipt, render_receipt
from hardware.printer.status import (
    DLE_EOT,
    GS_R_PAPER,
    ONE_WAY,
    QUERIES,
    PrinterStatus,
    gs_r_paper_end,
    is_gs_r_byte,
    is_status_byte,
    parse_status,
)
from hardware.printer.ticket import RenderedTicket, TicketPrint, render_ticket
from hardware.printer.transport import PrinterTransport

log = logging.getLogger("hallq.hardware.printer")


class PrintOutcome(enum.Enum):
    PRINTED = "printed"
    NOT_PRINTED = "not_printed"  # refused before sending: the status said it could not print
    UNCERTAIN = "uncertain"  # sent, but not confirmed: a fault, silence, or no answer in time
    UNCONFIRMED = "unconfirmed"  # sent to a printer that cannot answer: probably printed


@dataclass
class PrintResult:
    outcome: PrintOutcome
    before: PrinterStatus
    after: PrinterStatus | None
    rendered: RenderedTicket | None = None
    error: str = ""
    report: list[str] = field(default_factory=list)

    @property
    def printed(self) -> bool:
        return self.outcome is PrintOutcome.PRINTED


# Printed length of a ticket, roughly: a text row is 24 dots plus spacing (about 4 mm at
# 203 dpi), the label is printed ``big_number`` rows high, a QR code of a short URL is
# about 41 modules with its quiet zone, and the cut feeds six rows.
ROW_MM = 4.0
QR_MODULES = 41
DOTS_PER_MM = 8.0
CUT_FEED_ROWS = 6


def ticket_length_mm(rendered: RenderedTicket, profile: PrinterProfile) -> float:
    rows = len(rendered.lines) + CUT_FEED_ROWS + (profile.big_number - 1)
    return rows * ROW_MM + profile.qr_module * QR_MODULES / DOTS_PER_MM


class TicketPrinter:
    """``status_timeout`` bounds each DLE EOT answer. The confirmation wait is
    ``confirm_margin`` + the time to move the bytes over the link + the ticket's length at
    the profile's slowest speed (:meth:`confirm_timeout`). ``clock`` is injectable."""

    def __init__(
        self,
        transport: PrinterTransport,
        profile: PrinterProfile,
        *,
        status_timeout: float = 0.5,
        confirm_margin: float = 2.0,
        keep_for_reprint: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.profile = profile
        self.status_timeout = status_timeout
        self.confirm_margin = confirm_margin
        self.clock = clock
        self._printed: OrderedDict[str, TicketPrint] = OrderedDict()
        self._keep = keep_for_reprint

    @property
    def two_way(self) -> bool:
        """Both the profile and the transport must have a return channel (``file://`` has
        none whatever the profile says)."""
        return self.profile.return_channel and getattr(self.transport, "return_channel", True)

    def close(self) -> None:
        self.transport.close()

    def confirm_timeout(self, rendered: RenderedTicket) -> float:
        transfer = len(rendered.data) / getattr(self.transport, "bytes_per_second", 1e5)
        printing = ticket_length_mm(rendered, self.profile) / self.profile.speed_mm_s
        return self.confirm_margin + transfer + printing

    def status(self) -> PrinterStatus:
        """Ask all four real-time status queries; never raises for transport trouble.

        A link found broken (peer closed, adapter unplugged and back) is reopened once at
        once, so a printer that came back is seen now rather than at the next ticket."""
        if not self.two_way:
            return ONE_WAY
        try:
            return self._status()
        except TransportError:
            self.transport.close()
        try:
            return self._status()
        except TransportError as exc:
            self.transport.close()
            return parse_status({}, detail=str(exc))

    def _status(self) -> PrinterStatus:
        answers: dict[int, int | None] = {}
        self.transport.discard_input()
        for n in QUERIES:
            self.transport.write(DLE_EOT + bytes((n,)))
            answers[n] = self._read_matching(is_status_byte, self.status_timeout)
            if answers[n] is None:
                # One silent query is enough: do not spend 4 x timeout on a dead line.
                break
        return parse_status(answers)

    def _read_matching(self, accept: Callable[[int], bool], timeout: float) -> int | None:
        """The first byte ``accept`` takes within ``timeout``; other bytes (a late answer
        to an earlier query) are skipped."""
        deadline = self.clock() + timeout
        while True:
            left = deadline - self.clock()
            if left <= 0:
                return None
            reply = self.transport.read(1, left)
            if reply and accept(reply[0]):
                return reply[0]

    def _await_confirmation(self, timeout: float) -> tuple[int | None, str]:
        """Wait for the ``GS r 1`` answer. Every ``status_timeout`` the printer is asked
        ``DLE EOT 1`` (real time): offline or silent mid-job ends the wait at once, so a
        citizen is not kept waiting for a ticket that cannot come."""
        now = self.clock()
        deadline = now + timeout
        next_poll = now + self.status_timeout
        poll_open = False
        while (left := deadline - self.clock()) > 0:
            reply = self.transport.read(1, max(0.0, min(left, next_poll - self.clock())))
            if reply:
                value = reply[0]
                if is_gs_r_byte(value):
                    return value, ""
                if is_status_byte(value):
                    poll_open = False
                    if value & 0x08:
                        return None, "the printer went offline while printing the ticket"
                continue
            if self.clock() >= next_poll:
                if poll_open:
                    return None, "the printer stopped answering while printing the ticket"
                self.transport.write(DLE_EOT + b"\x01")
                poll_open = True
                next_poll = self.clock() + self.status_timeout
        return None, f"the printer did not confirm the ticket within {timeout:.1f} s"

    def print_ticket(self, ticket: TicketPrint, *, reprint: bool = False) -> PrintResult:
        rendered = render_ticket(ticket, self.profile, reprint=reprint)
        return self._print(rendered, ticket.label, lambda: self._remember(ticket))

    def print_receipt(self, receipt: CaseReceipt) -> PrintResult:
        """A promised case's receipt (:mod:`.receipt`), with the ticket's confirmation."""
        return self._print(render_receipt(receipt, self.profile), receipt.number, lambda: None)

    def _print(
        self, rendered: RenderedTicket, label: str, remember: Callable[[], None]
    ) -> PrintResult:
        if not self.two_way:
            return self._print_blind(rendered, remember)
        before = self.status()
        if not before.can_print:
            log.warning(
                "printer %s: not printing, %s", self.transport.description, before.condition.value
            )
            return PrintResult(
                PrintOutcome.NOT_PRINTED,
                before,
                None,
                error=before.detail or before.condition.value,
            )
        for line in rendered.report:
            log.info("printer %s: ticket %s: %s", self.transport.description, label, line)
        try:
            self.transport.write(rendered.data + GS_R_PAPER)
        except TransportError as exc:
            self.transport.close()
            remember()
            after = self.status()
            return PrintResult(
                PrintOutcome.UNCERTAIN, before, after, rendered, str(exc), rendered.report
            )
        remember()
        try:
            confirmed, error = self._await_confirmation(self.confirm_timeout(rendered))
        except TransportError as exc:
            self.transport.close()
            confirmed, error = None, str(exc)
        after = self.status()
        if confirmed is not None and gs_r_paper_end(confirmed):
            error = "paper ran out at the end of the ticket"
        elif confirmed is not None and not after.can_print:
            error = f"printer reports {after.condition.value} after the ticket"
        if error:
            log.warning(
                "printer %s: ticket %s uncertain: %s (%s)",
                self.transport.description,
                label,
                error,
                after.condition.value,
            )
            return PrintResult(
                PrintOutcome.UNCERTAIN, before, after, rendered, error, rendered.report
            )
        return PrintResult(PrintOutcome.PRINTED, before, after, rendered, "", rendered.report)

    def _print_blind(self, rendered: RenderedTicket, remember: Callable[[], None]) -> PrintResult:
        try:
            self.transport.open()
        except TransportError as exc:
            self.transport.close()
            return PrintResult(PrintOutcome.NOT_PRINTED, ONE_WAY, None, rendered, str(exc))
        try:
            self.transport.write(rendered.data)
        except TransportError as exc:
            self.transport.close()
            return PrintResult(
                PrintOutcome.UNCERTAIN, ONE_WAY, None, rendered, str(exc), rendered.report
            )
        remember()
        return PrintResult(
            PrintOutcome.UNCONFIRMED, ONE_WAY, ONE_WAY, rendered, ONE_WAY.detail, rendered.report
        )

    def reprint(self, label: str) -> PrintResult:
        """Print a ticket printed earlier again, marked as a reprint."""
        try:
            ticket = self._printed[label]
        except KeyError:
            raise TicketNotFound(f"ticket {label} was not printed here") from None
        return self.print_ticket(ticket, reprint=True)

    def _remember(self, ticket: TicketPrint) -> None:
        self._printed[ticket.label] = ticket
        self._printed.move_to_end(ticket.label)
        while len(self._printed) > self._keep:
            self._printed.popitem(last=False)
