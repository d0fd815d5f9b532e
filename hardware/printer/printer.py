"""The kiosk's ticket printer: status before and after each ticket, and reprints.

A ticket counts as printed only when the printer answered "fine" before the job and still
answers "fine" after it. Anything else comes back as a typed :class:`PrintResult` so the
kiosk can show the ticket on screen instead, and the server can record the fault; nothing
here lets a lost ticket pass as printed.
"""

from __future__ import annotations

import enum
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from hardware.exceptions import TicketNotFound, TransportError
from hardware.printer.profile import PrinterProfile
from hardware.printer.status import DLE_EOT, QUERIES, PrinterStatus, parse_status
from hardware.printer.ticket import RenderedTicket, TicketPrint, render_ticket
from hardware.printer.transport import PrinterTransport

log = logging.getLogger("hallq.hardware.printer")


class PrintOutcome(enum.Enum):
    PRINTED = "printed"
    NOT_PRINTED = "not_printed"  # refused before sending: the status said it could not print
    UNCERTAIN = "uncertain"  # sent, but the printer failed or went silent: assume lost


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


class TicketPrinter:
    """``status_timeout`` bounds each DLE EOT answer; ``settle`` is how long to wait after a
    job before asking again, so a paper-out hit while printing shows in the after-status."""

    def __init__(
        self,
        transport: PrinterTransport,
        profile: PrinterProfile,
        *,
        status_timeout: float = 0.5,
        settle: float = 0.3,
        keep_for_reprint: int = 500,
    ) -> None:
        self.transport = transport
        self.profile = profile
        self.status_timeout = status_timeout
        self.settle = settle
        self._printed: OrderedDict[str, TicketPrint] = OrderedDict()
        self._keep = keep_for_reprint

    def close(self) -> None:
        self.transport.close()

    def status(self) -> PrinterStatus:
        """Ask all four real-time status queries; never raises for transport trouble."""
        answers: dict[int, int | None] = {}
        try:
            self.transport.discard_input()
            for n in QUERIES:
                self.transport.write(DLE_EOT + bytes((n,)))
                reply = self.transport.read(1, self.status_timeout)
                answers[n] = reply[0] if reply else None
                if not reply:
                    # One silent query is enough: do not spend 4 x timeout on a dead line.
                    break
        except TransportError as exc:
            self.transport.close()
            return parse_status(answers, detail=str(exc))
        return parse_status(answers)

    def print_ticket(self, ticket: TicketPrint, *, reprint: bool = False) -> PrintResult:
        before = self.status()
        if not before.can_print:
            log.warning("printer %s: not printing, %s", self.transport.description,
                        before.condition.value)
            return PrintResult(PrintOutcome.NOT_PRINTED, before, None,
                               error=before.detail or before.condition.value)
        rendered = render_ticket(ticket, self.profile, reprint=reprint)
        for line in rendered.report:
            log.info("printer %s: ticket %s: %s", self.transport.description, ticket.label, line)
        try:
            self.transport.write(rendered.data)
        except TransportError as exc:
            self.transport.close()
            self._remember(ticket)
            after = self.status()
            return PrintResult(PrintOutcome.UNCERTAIN, before, after, rendered, str(exc),
                               rendered.report)
        time.sleep(self.settle)
        after = self.status()
        self._remember(ticket)
        outcome = PrintOutcome.PRINTED if after.can_print else PrintOutcome.UNCERTAIN
        if outcome is PrintOutcome.UNCERTAIN:
            log.warning("printer %s: ticket %s uncertain, %s", self.transport.description,
                        ticket.label, after.condition.value)
        return PrintResult(outcome, before, after, rendered, after.detail, rendered.report)

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
