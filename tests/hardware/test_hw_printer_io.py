"""The printer driver against the emulator over real TCP loopback and a real pty."""

from __future__ import annotations

import socket
import time
from datetime import datetime

import pytest

from hardware.emulators.printer import PrinterEmulator
from hardware.exceptions import DeviceNotFound, TicketNotFound
from hardware.printer.printer import PrintOutcome, TicketPrinter
from hardware.printer.profile import PROFILES
from hardware.printer.status import Condition, PaperLevel
from hardware.printer.ticket import TicketPrint
from hardware.printer.transport import (
    SerialTransport,
    TcpTransport,
    UsbLpTransport,
    transport_from_url,
)

TICKET = TicketPrint(
    hall_name="市民服务中心",
    service_name="Residence permit",
    service_name_zh="居住证办理",
    label="B007",
    people_ahead=0,
    wait_minutes=None,
    issued_at=datetime(2024, 5, 1, 16, 5),
    qr_url="https://hall.example/t/9fK2pQ",
    materials=("Passport",),
    language="en",
)


@pytest.fixture
def emulator(tmp_path):
    emu = PrinterEmulator(tmp_path / "out")
    emu.serve_tcp()
    yield emu
    emu.stop()


@pytest.fixture
def printer(emulator):
    p = TicketPrinter(
        TcpTransport("127.0.0.1", emulator.port, connect_timeout=1),
        PROFILES["80mm-gb18030"],
        status_timeout=0.3,
        confirm_margin=1.0,
    )
    yield p
    p.close()


def wait_tickets(emu, n, timeout=3.0):
    deadline = time.monotonic() + timeout
    while len(emu.tickets) + len(emu.lost) < n and time.monotonic() < deadline:
        time.sleep(0.01)


def test_print_over_tcp_round_trips_fields_and_files(emulator, printer, tmp_path):
    result = printer.print_ticket(TICKET)
    assert result.outcome is PrintOutcome.PRINTED
    assert result.before.condition is Condition.ONLINE
    assert result.after.condition is Condition.ONLINE
    wait_tickets(emulator, 1)
    ticket = emulator.tickets[0]
    assert "B007" in ticket.text_lines and "居住证办理" in ticket.text_lines
    assert "No one ahead of you" in ticket.text_lines
    assert ticket.qr_payloads == [TICKET.qr_url]
    text = (tmp_path / "out" / "ticket-0001.txt").read_text(encoding="utf-8")
    assert "[QR] https://hall.example/t/9fK2pQ" in text
    assert (tmp_path / "out" / "ticket-0001.png").stat().st_size > 0
    assert emulator.queries.count(4) == 2  # status before and after


@pytest.mark.parametrize(
    ("state", "condition"),
    [
        ({"paper": PaperLevel.OUT}, Condition.PAPER_OUT),
        ({"cover_open": True}, Condition.COVER_OPEN),
        ({"cutter_error": True}, Condition.CUTTER_ERROR),
    ],
)
def test_fault_before_printing_is_typed_and_nothing_is_sent(emulator, printer, state, condition):
    emulator.set_state(**state)
    result = printer.print_ticket(TICKET)
    assert result.outcome is PrintOutcome.NOT_PRINTED
    assert result.before.condition is condition
    time.sleep(0.1)
    assert emulator.tickets == [] and emulator.lost == []


def test_paper_near_end_still_prints_but_says_so(emulator, printer):
    emulator.set_state(paper=PaperLevel.NEAR_END)
    result = printer.print_ticket(TICKET)
    assert result.printed and result.after.condition is Condition.PAPER_NEAR_END


def test_silent_printer_is_not_answering_within_timeout(emulator, printer):
    emulator.set_state(silent=True)
    started = time.monotonic()
    status = printer.status()
    assert status.condition is Condition.NOT_ANSWERING
    # Bounded by the printer's own status timeout (a hang would take far longer), with
    # room for a loaded machine: a relative bound, not a race against the wall clock.
    assert time.monotonic() - started < 10 * printer.status_timeout
    assert printer.print_ticket(TICKET).outcome is PrintOutcome.NOT_PRINTED


def test_printer_dying_mid_ticket_is_uncertain_not_printed(emulator, printer):
    original = printer.transport.write

    def write_then_die(data):
        original(data)
        if len(data) > 3:  # the job, not a status query
            emulator.set_state(silent=True)

    printer.transport.write = write_then_die
    result = printer.print_ticket(TICKET)
    assert result.outcome is PrintOutcome.UNCERTAIN
    assert result.after.condition is Condition.NOT_ANSWERING


def test_reprint(emulator, printer):
    with pytest.raises(TicketNotFound):
        printer.reprint("Z999")
    printer.print_ticket(TICKET)
    assert printer.reprint("B007").printed
    wait_tickets(emulator, 2)
    assert "** REPRINT **" in emulator.tickets[1].text_lines


def test_nothing_listening_is_not_answering_not_fine():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = TicketPrinter(TcpTransport("127.0.0.1", port, connect_timeout=0.5), PROFILES["58mm-gbk"])
    status = p.status()
    assert status.condition is Condition.NOT_ANSWERING
    assert "refused" in status.detail
    result = p.print_ticket(TICKET)
    assert result.outcome is PrintOutcome.NOT_PRINTED


def test_serial_printer_over_pty(tmp_path):
    emu = PrinterEmulator(tmp_path)
    path = emu.serve_pty(tmp_path / "printer")
    try:
        p = TicketPrinter(
            SerialTransport(path),
            PROFILES["58mm-gbk-raster-qr"],
            status_timeout=0.3,
            confirm_margin=1.0,
        )
        emu.set_state(paper=PaperLevel.OUT)
        assert p.status().condition is Condition.PAPER_OUT
        emu.set_state(paper=PaperLevel.OK)
        assert p.print_ticket(TICKET).printed
        wait_tickets(emu, 1)
        assert emu.tickets[0].rasters and "B007" in emu.tickets[0].text_lines
        p.close()
    finally:
        emu.stop()


def test_clear_errors_for_missing_devices(tmp_path):
    with pytest.raises(DeviceNotFound, match="no USB printer"):
        UsbLpTransport(str(tmp_path / "lp9")).open()
    with pytest.raises(DeviceNotFound, match="not found"):
        SerialTransport(str(tmp_path / "ttyUSB9")).open()


def test_transport_urls():
    assert isinstance(transport_from_url("tcp://10.0.0.9"), TcpTransport)
    assert transport_from_url("tcp://10.0.0.9").port == 9100
    assert isinstance(transport_from_url("usb:///dev/usb/lp1"), UsbLpTransport)
    serial_t = transport_from_url("serial:/dev/ttyS1?baudrate=19200")
    assert isinstance(serial_t, SerialTransport) and serial_t.settings.baudrate == 19200
    with pytest.raises(ValueError):
        transport_from_url("lpd://x")
