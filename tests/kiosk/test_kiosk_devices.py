"""The kiosk's devices while nobody is printing (issue 16), under the real window."""

from __future__ import annotations

import datetime as dt
import logging

from hardware.emulators.idcard import SAMPLE_SENIOR, IdCardReaderEmulator
from hardware.emulators.scanner import HidScannerEmulator, SerialScannerEmulator
from hardware.idcard.protocol import hash_id_number
from hardware.printer.status import PaperLevel
from kiosk.printing import PrinterService
from tests.queue_server.harness import T0, Clock, connected

from .harness import Hall, kiosk, run, until


def test_idle_printer_state_reaches_the_server_without_a_citizen(config, sqlite_url, tmp_path):
    """Measured on main: the printer was only asked when a ticket was printed, so paper
    out at night was found by the first citizen in the morning."""

    async def main():
        async with kiosk(config, sqlite_url, tmp_path, printer_poll_seconds=0.1) as k:
            await until(lambda: k.hall.device_state() == "online", 5, "first report")
            k.printer.set_state(paper=PaperLevel.NEAR_END)
            await until(lambda: k.hall.device_state() == "paper_near_end", 5, "near end")
            k.printer.set_state(paper=PaperLevel.OUT)
            await until(lambda: k.hall.device_state() == "paper_out", 5, "paper out")
            k.printer.set_state(paper=PaperLevel.OK)
            await until(lambda: k.hall.device_state() == "online", 5, "refilled")
            assert k.hall.tickets() == []  # nobody took a ticket
            assert k.model.screen == "home"

    run(main())


def test_no_polling_when_switched_off(config, sqlite_url, tmp_path):
    async def main():
        async with kiosk(config, sqlite_url, tmp_path, printer_poll_seconds=0) as k:
            await until(lambda: k.hall.device_state() == "online", 5, "first report")
            asked = len(k.printer.queries)
            k.printer.set_state(paper=PaperLevel.OUT)
            for _ in range(10):
                await k.settle()
            assert len(k.printer.queries) == asked
            assert k.hall.device_state() == "online"

    run(main())


# -- scanner and ID card reader driving the real kiosk ------------------------------------


def test_scanning_a_ticket_qr_opens_its_rating(config, sqlite_url, tmp_path):
    async def main():
        hall = Hall(config, sqlite_url, Clock())
        await hall.start()
        async with (
            connected(hall.port, "kiosk-1-secret") as kc,
            connected(hall.port, "clerk-1-secret") as clerk,
        ):
            ticket = await kc.request("ticket.issue", {"service": "general"})
            await clerk.request("window.open")
            await clerk.request("call.next")
            await clerk.request("case.start")
            await clerk.request("case.finish")
        scanner = SerialScannerEmulator("CRLF")
        tty = scanner.serve_pty(tmp_path / "ttyACM0")
        try:
            async with kiosk(
                config, sqlite_url, tmp_path, hall=hall, printer=False, scanner=tty
            ) as k:
                await until(lambda: k.hall.device_state("scanner") == "online", 5, "scanner")
                scanner.scan(ticket["url"])
                await k.wait_screen("rating")
                await until(lambda: k.model.rating_step == "level", 5, "level step")
                await k.settle()
                assert k.ids().title.text == "请为号码 A001 的服务评价"
                assert k.model.label_entry == "A001"
                # The scanned QR (the ticket's token) is the proof: the rating is taken.
                await k.tap_text("非常满意")
                await until(lambda: k.model.rating_step == "thanks", 5, "thanks")
                async with connected(hall.port, "supervisor-secret") as sup:
                    today = await sup.request("clerk.today", {"clerk": "clerk-1"})
                    assert today["rated"] == 1
        finally:
            scanner.stop()

    run(main(), 90)


def test_scanning_an_appointment_code_checks_in(config, sqlite_url, tmp_path):
    async def main():
        hall = Hall(config, sqlite_url, Clock())
        await hall.start()
        async with connected(hall.port, "admin-secret") as admin:
            await admin.request(
                "appointment.create",
                {
                    "service": "marriage",
                    "code": "M20261124",
                    "start": T0.isoformat(),
                    "end": (T0 + dt.timedelta(hours=1)).isoformat(),
                },
            )
        wedge = HidScannerEmulator(tmp_path / "event-kbd")
        node = wedge.plug()
        try:
            async with kiosk(
                config, sqlite_url, tmp_path, hall=hall, printer=False, scanner=f"hid:{node}"
            ) as k:
                wedge.scan("m20261124")
                await k.wait_screen("ticket")
                assert k.ids().number.text == "B001"
                assert k.model.ticket["priority"] == "appointment"
                assert hall.count() == 1
        finally:
            wedge.stop()

    run(main(), 90)


def test_id_card_read_reaches_the_kiosk_as_hash_and_birth_date_only(
    config, sqlite_url, tmp_path, caplog
):
    async def main():
        reader = IdCardReaderEmulator()
        tty = reader.serve_pty(tmp_path / "ttyUSB-id")
        try:
            async with kiosk(
                config,
                sqlite_url,
                tmp_path,
                printer=False,
                id_reader=tty,
                id_salt="hall-secret-salt-0123",
            ) as k:
                await until(lambda: k.hall.device_state("id_reader") == "online", 5, "reader")
                reader.place(SAMPLE_SENIOR)
                card = await until(lambda: k.app.controller.card, 5, "card read")
                assert card.is_senior(dt.date(2026, 11, 30))
                assert card.id_hash == hash_id_number(
                    SAMPLE_SENIOR.id_number, b"hall-secret-salt-0123"
                )
                k.model.go("services")
                k.model.go("home")  # the next citizen: the card is forgotten
                assert k.app.controller.card is None
        finally:
            reader.stop()
        for secret in (SAMPLE_SENIOR.name, SAMPLE_SENIOR.id_number, SAMPLE_SENIOR.address):
            assert secret not in caplog.text

    caplog.set_level(logging.DEBUG)
    run(main(), 90)


def test_scanning_a_waiting_ticket_says_there_is_nothing_to_rate(config, sqlite_url, tmp_path):
    async def main():
        hall = Hall(config, sqlite_url, Clock())
        await hall.start()
        async with connected(hall.port, "kiosk-1-secret") as kc:
            ticket = await kc.request("ticket.issue", {"service": "general"})
        scanner = SerialScannerEmulator()
        tty = scanner.serve_pty(tmp_path / "ttyACM0")
        try:
            async with kiosk(
                config,
                sqlite_url,
                tmp_path,
                hall=hall,
                printer=False,
                scanner=f"serial:{tty}?baudrate=9600",
            ) as k:
                await until(lambda: k.hall.device_state("scanner") == "online", 5, "scanner")
                scanner.scan(ticket["url"])
                await until(lambda: k.model.error == "nothing_to_rate", 5, "refusal")
                await k.settle()
                assert k.ids().error.text == "该号码还没有办结的服务可评价"
        finally:
            scanner.stop()

    run(main(), 90)


def test_one_way_printer_keeps_the_ticket_on_screen(config, sqlite_url, tmp_path):
    """A printer without a return channel prints blind: never "printed", the citizen
    keeps the number and QR on screen with a message that says why."""

    async def main():
        async with kiosk(config, sqlite_url, tmp_path, printer=False) as k:
            spool = tmp_path / "spool.bin"
            k.app.controller.printer = PrinterService(str(spool))
            k.model.open_service("general")
            await k.wait_screen("detail")
            await k.tap(k.ids().take)
            await k.wait_screen("ticket")
            await until(lambda: k.model.print_state == "failed", 5, "unconfirmed")
            await k.settle()
            assert k.ids().number.text == "A001"
            assert "无法确认是否已出票" in k.ids().printing.text
            assert b"A001" in spool.read_bytes()
            assert k.model.timeout() == k.model.ticket_fail_seconds

    run(main(), 90)


def test_a_senior_card_gives_an_elderly_ticket_without_the_guide(config, sqlite_url, tmp_path):
    """A kiosk declared with a reader: the citizen places the card, picks "elderly", and
    gets the priority ticket with no PIN asked; the server decided from the birth date."""
    import dataclasses

    devices = tuple(dataclasses.replace(d, id_reader=d.role == "kiosk") for d in config.devices)
    hall_config = dataclasses.replace(config, devices=devices)

    async def main():
        reader = IdCardReaderEmulator()
        tty = reader.serve_pty(tmp_path / "ttyUSB-id")
        try:
            async with kiosk(
                hall_config,
                sqlite_url,
                tmp_path,
                printer=False,
                id_reader=tty,
                id_salt="hall-secret-salt-0123",
            ) as k:
                await until(lambda: k.hall.device_state("id_reader") == "online", 5, "reader")
                reader.place(SAMPLE_SENIOR)
                await until(lambda: k.app.controller.card, 5, "card read")
                k.model.open_service("general")
                await k.wait_screen("detail")
                await k.tap(k.ids().priority)
                await k.wait_screen("priority")
                await k.tap_text("老年人")
                await k.wait_screen("ticket")
                assert k.model.ticket["priority"] == "elderly"
                assert k.model.pin_entry == ""  # no PIN was asked for
        finally:
            reader.stop()

    run(main(), 90)


def test_an_appointment_checks_in_with_the_id_card(config, sqlite_url, tmp_path):
    """Booked with the citizen's ID number (kept only as the hall's salted hash): on the
    appointment screen the citizen places the card, and the booking's ticket comes out."""
    import dataclasses

    salt = b"hall-secret-salt-0123"
    devices = tuple(dataclasses.replace(d, id_reader=d.role == "kiosk") for d in config.devices)
    hall_config = dataclasses.replace(config, devices=devices, id_salt=salt)

    async def main():
        reader = IdCardReaderEmulator()
        tty = reader.serve_pty(tmp_path / "ttyUSB-id")
        try:
            async with kiosk(
                hall_config,
                sqlite_url,
                tmp_path,
                printer=False,
                id_reader=tty,
                id_salt=salt.decode(),
            ) as k:
                async with connected(k.hall.port, "admin-secret") as admin:
                    await admin.request(
                        "appointment.create",
                        {
                            "service": "marriage",
                            "id_number": SAMPLE_SENIOR.id_number,
                            "start": "2026-11-24T10:00:00+08:00",
                            "end": "2026-11-24T10:30:00+08:00",
                        },
                    )
                await until(lambda: k.hall.device_state("id_reader") == "online", 5, "reader")
                k.model.open_appointment()
                await k.wait_screen("appointment")
                reader.place(SAMPLE_SENIOR)
                await k.wait_screen("ticket", 10)
                assert k.model.ticket["priority"] == "appointment"
                assert k.model.ticket["service"] == "marriage"
        finally:
            reader.stop()

    run(main(), 90)
