"""How long a kiosk waits for a confirmed ticket, and for a fault found mid-ticket.

    .venv/bin/python benchmarks/printer_confirm.py

Against the printer emulator on TCP loopback printing at several speeds (``line_seconds``
per printed item). For each: the emulator's own print time, the driver's time to
``PRINTED`` (ratio to the print time: the confirmation follows the head, it is not a
fixed pause), and the time to ``UNCERTAIN`` when the paper runs out at item 3 (bounded by
two ``status_timeout`` polls, whatever the ticket's length).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from hardware.emulators.printer import PrinterEmulator
from hardware.printer.printer import TicketPrinter
from hardware.printer.profile import PROFILES
from hardware.printer.status import PaperLevel
from hardware.printer.ticket import TicketPrint
from hardware.printer.transport import TcpTransport

TICKET = TicketPrint(
    hall_name="市民服务中心",
    service_name="居住证办理",
    service_name_zh="居住证办理",
    label="A012",
    people_ahead=3,
    wait_minutes=12,
    issued_at=datetime(2024, 5, 1, 9, 30),
    qr_url="https://hall.example/t/q8Zr",
    materials=("身份证", "户口簿"),
)


def main() -> None:
    logging.disable(logging.WARNING)
    status_timeout = 0.3
    for line_seconds in (0.02, 0.05, 0.1):
        emu = PrinterEmulator(line_seconds=line_seconds)
        emu.serve_tcp()
        printer = TicketPrinter(
            TcpTransport("127.0.0.1", emu.port),
            PROFILES["80mm-gb18030"],
            status_timeout=status_timeout,
        )
        try:
            started = time.monotonic()
            ok = printer.print_ticket(TICKET)
            confirmed = time.monotonic() - started
            print_time = len(emu.tickets[0].items) * line_seconds

            def paper_out(ticket: object, index: int, emu: PrinterEmulator = emu) -> None:
                if index == 3:
                    emu.set_state(paper=PaperLevel.OUT)

            emu.before_item = paper_out
            started = time.monotonic()
            fault = printer.print_ticket(TICKET)
            detected = time.monotonic() - started
        finally:
            printer.close()
            emu.stop()
        print(
            f"line_seconds={line_seconds:.2f}: head {print_time:.2f} s, "
            f"{ok.outcome.value} after {confirmed:.2f} s (x{confirmed / print_time:.2f}); "
            f"paper out at item 3: {fault.outcome.value} after {detected:.2f} s "
            f"(bound {2 * status_timeout + 3 * line_seconds:.2f} s)"
        )


if __name__ == "__main__":
    main()
