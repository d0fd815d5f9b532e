"""Every printer transport recovers by itself (issue 16): unplug, re-plug, print again with
the same driver object, as a kiosk that is never restarted would.

Serial and the usblp node are played by the emulator on a real pty behind a stable symlink
(unplug closes the pty and removes the link; replug makes a new pty). TCP is the emulator's
real server, its connections dropped or the whole server stopped and started again on
the same port. Backoff uses an injected clock, so no test waits for it.
"""

from __future__ import annotations

import errno
from datetime import datetime

import pytest

from hardware.emulators.printer import PrinterEmulator
from hardware.exceptions import DeviceNotFound, DevicePermissionDenied, LinkLost, TransportError
from hardware.printer.printer import PrintOutcome, TicketPrinter
from hardware.printer.profile import PROFILES
from hardware.printer.status import Condition
from hardware.printer.ticket import TicketPrint
from hardware.printer.transport import (
    Backoff,
    SerialTransport,
    TcpTransport,
    UsbIdTransport,
    UsbLpTransport,
    transport_from_url,
    usb_error,
)

TICKET = TicketPrint(
    hall_name="市民服务中心",
    service_name="社保",
    service_name_zh="社保",
    label="C001",
    people_ahead=0,
    wait_minutes=None,
    issued_at=datetime(2024, 5, 1, 9, 0),
    qr_url="https://hall.example/t/c1",
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def driver(transport) -> TicketPrinter:
    return TicketPrinter(transport, PROFILES["58mm-gbk"], status_timeout=0.3, confirm_margin=1.0)


@pytest.fixture
def pty_printer(tmp_path):
    emu = PrinterEmulator()
    path = emu.serve_pty(tmp_path / "ttyUSB0")
    yield emu, path
    emu.stop()


@pytest.mark.parametrize("kind", ["serial", "usblp"])
def test_pty_printer_unplugged_and_replugged_prints_again(pty_printer, kind):
    emu, path = pty_printer
    clock = Clock()
    transport = (
        SerialTransport(path, clock=clock)
        if kind == "serial"
        else UsbLpTransport(path, clock=clock)
    )
    p = driver(transport)
    try:
        assert p.print_ticket(TICKET).outcome is PrintOutcome.PRINTED
        emu.unplug()
        down = p.print_ticket(TICKET)
        assert down.outcome is PrintOutcome.NOT_PRINTED
        assert down.before.condition is Condition.NOT_ANSWERING
        # Polled again at once: the backoff answers without touching the device.
        assert "next try" in p.status().detail
        emu.replug()
        clock.now += 2.0  # the longest backoff
        again = p.print_ticket(TICKET)
        assert again.outcome is PrintOutcome.PRINTED, again.error
        assert len(emu.tickets) == 2
    finally:
        p.close()


def test_serial_termios_error_closes_the_port_instead_of_escaping(pty_printer):
    """The failure measured on main: after the adapter is pulled, tcflush raises
    termios.error (not an OSError), it escaped the status call and the port stayed open."""
    emu, path = pty_printer
    transport = SerialTransport(path)
    transport.open()
    emu.unplug()
    with pytest.raises(LinkLost):
        transport.discard_input()
    assert transport._port is None  # closed, so the next call reopens the device node


def test_printer_replugged_while_the_old_port_is_open_is_found_in_one_status(pty_printer):
    """Unplugged and back between two polls: the stale port fails, is closed and reopened
    within the same status call, so the printer is never reported down."""
    emu, path = pty_printer
    p = driver(SerialTransport(path))
    try:
        assert p.status().condition is Condition.ONLINE
        emu.unplug()
        emu.replug()
        assert p.status().condition is Condition.ONLINE
        assert p.print_ticket(TICKET).printed
    finally:
        p.close()


@pytest.fixture
def tcp_printer():
    emu = PrinterEmulator()
    emu.serve_tcp()
    yield emu
    emu.stop()


def test_network_printer_that_closed_the_connection_costs_no_ticket(tcp_printer):
    p = driver(TcpTransport("127.0.0.1", tcp_printer.port, connect_timeout=1))
    try:
        assert p.print_ticket(TICKET).printed
        tcp_printer.close_connections()  # idle timeout on the printer's side
        result = p.print_ticket(TICKET)
        assert result.outcome is PrintOutcome.PRINTED, result.error
        assert len(tcp_printer.tickets) == 2
    finally:
        p.close()


def test_network_printer_power_cycled_prints_again(tcp_printer):
    clock = Clock()
    p = driver(TcpTransport("127.0.0.1", tcp_printer.port, connect_timeout=1, clock=clock))
    try:
        assert p.print_ticket(TICKET).printed
        port = tcp_printer.port
        tcp_printer.power_off()
        down = p.print_ticket(TICKET)
        assert down.outcome is PrintOutcome.NOT_PRINTED
        assert "refused" in down.before.detail
        tcp_printer.serve_tcp(port=port)
        clock.now += 2.0
        result = p.print_ticket(TICKET)
        assert result.outcome is PrintOutcome.PRINTED, result.error
    finally:
        p.close()


def test_backoff_doubles_to_two_seconds_and_resets():
    clock = Clock()
    backoff = Backoff(clock=clock)
    delays = []
    for _ in range(7):
        backoff.failed(DeviceNotFound("gone"))
        delays.append(round(backoff.retry_at - clock.now, 3))
        with pytest.raises(DeviceNotFound, match="next try"):
            backoff.check()
        clock.now = backoff.retry_at
        backoff.check()  # due: no raise
    assert delays == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    backoff.succeeded()
    backoff.failed(DeviceNotFound("gone"))
    assert backoff.retry_at - clock.now == pytest.approx(0.1)


def test_usb_by_vendor_and_product_id_errors_say_what_to_do():
    assert isinstance(transport_from_url("usb://0416:5011"), UsbIdTransport)
    with pytest.raises(ValueError, match="VID:PID"):
        transport_from_url("usb://printer:1")
    # pyusb is optional: whatever this machine has (no pyusb, no libusb, no such device),
    # the error names the fix, never a bare traceback.
    with pytest.raises(
        TransportError, match="pyusb is not installed|libusb is missing|no USB printer 0416:5011"
    ):
        UsbIdTransport(0x0416, 0x5011).open()
    denied = usb_error("usb 0416:5011", OSError(errno.EACCES, "Access denied"))
    assert isinstance(denied, DevicePermissionDenied) and "udev" in str(denied)
    assert isinstance(usb_error("usb 0416:5011", OSError(errno.ENODEV, "No device")), LinkLost)
