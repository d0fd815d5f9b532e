"""A case number typed at the kiosk (issue 10): the real app in the shared window, a real
queue server on loopback; touches through Kivy's touch path."""

from __future__ import annotations

from sqlalchemy import select

from queue_server.store import db
from queue_server.store import schema as s
from tests.queue_server.harness import Clock, connected
from tests.queue_server.test_casefiles import load_calendar, office

from .harness import Hall, kiosk, run, until


def test_a_case_followed_by_number_and_check_code(config, sqlite_url, tmp_path):
    load_calendar(sqlite_url)

    async def main():
        hall = Hall(config, sqlite_url, Clock())
        await hall.start()
        async with (
            connected(hall.port, "kiosk-1-secret") as kc,
            connected(hall.port, "gateway-secret") as gw,
        ):
            check = (await kc.request("ticket.issue", {"service": "marriage"}))["check"]
            await gw.request("window.open", {"window": 2, "clerk": "c-2"})
            await gw.request("call.next", {"window": 2})
            number = (await gw.request("case.finish", {"window": 2}))["casefile"]["number"]
        assert number == "T2026-00001"
        async with kiosk(config, sqlite_url, tmp_path, hall=hall, printer=False) as k:
            await k.tap_text("办件进度查询")
            await k.wait_screen("case")
            # The hall's numbers look like T2026-00001: the pad has T and - beside the digits.
            for key in number:
                await k.tap_key(k.ids().pad, key)
            assert k.ids().entry.text == number
            await k.tap(k.ids().ok_key)
            await k.settle()
            assert k.model.case_step == "check"
            wrong = "1111" if check != "1111" else "2222"
            for key in wrong:
                await k.tap_key(k.ids().pad, key)
            await k.tap(k.ids().ok_key)
            await until(lambda: k.model.error == "wrong_check", 5, "wrong check")
            await k.settle()
            assert k.ids().error.text == "校验码不正确，请核对后重新输入"
            assert k.model.case_step == "check" and k.model.check_entry == ""
            for key in check:
                await k.tap_key(k.ids().pad, key)
            await k.tap(k.ids().ok_key)
            await until(lambda: k.model.case_step == "shown", 5, "the case")
            await k.settle()
            texts = k.texts()
            assert k.ids().title.text == "婚姻登记"
            assert k.ids().hint.text == f"办件编号 {number}"
            assert k.ids().state.text == "已受理，等待审查"
            assert k.ids().due.text == "承诺办结日期 2026-11-27，还有 3 个工作日"
            assert "√  受理" in texts and "○  审查" in texts and "○  取件" in texts
            assert "可以取件" not in texts
            assert k.model.check_entry == ""  # the proof is not kept on screen

            async with (
                office(hall.port, "officer") as officer,
                office(hall.port, "approver") as approver,
            ):
                await officer.request("casefile.review", {"number": number})
                await approver.request("casefile.decide", {"number": number})
                await officer.request("casefile.ready", {"number": number})
            await k.tap_text("完成")
            await k.wait_screen("home")
            await k.tap_text("办件进度查询")
            await k.wait_screen("case")
            for key in number:
                await k.tap_key(k.ids().pad, key)
            await k.tap(k.ids().ok_key)
            for key in check:
                await k.tap_key(k.ids().pad, key)
            await k.tap(k.ids().ok_key)
            await until(lambda: k.model.case_step == "shown", 5, "the case")
            await k.settle()
            assert k.ids().entry.text == "可以取件"
            assert k.ids().due.text == "请取出件号，到统一出件窗口领取"
            assert "√  办结" in k.texts() and "○  取件" in k.texts()
            # The test hall has no pick-up service: no button to take one.
            assert k.ids().take_pickup.disabled and k.ids().take_pickup.opacity == 0

    run(main(), 240)


def test_a_ready_case_takes_a_pick_up_number_at_the_kiosk(sqlite_url, tmp_path):
    """In a hall with a pick-up service, the ready case on screen takes its number: the
    ticket is printed and the case is brought to it (the clerk who calls it sees it)."""
    from queue_server.config import load_config
    from tests.queue_server.test_casefile_pickup import pickup_hall

    config = load_config(pickup_hall(tmp_path))
    load_calendar(sqlite_url)

    async def main():
        hall = Hall(config, sqlite_url, Clock())
        await hall.start()
        async with (
            connected(hall.port, "kiosk-1-secret") as kc,
            connected(hall.port, "gateway-secret") as gw,
        ):
            check = (await kc.request("ticket.issue", {"service": "marriage"}))["check"]
            await gw.request("window.open", {"window": 2, "clerk": "c-2"})
            await gw.request("call.next", {"window": 2})
            number = (await gw.request("case.finish", {"window": 2}))["casefile"]["number"]
            async with (
                office(hall.port, "officer") as officer,
                office(hall.port, "approver") as approver,
            ):
                await officer.request("casefile.review", {"number": number})
                await approver.request("casefile.decide", {"number": number})
                await officer.request("casefile.ready", {"number": number})
        async with kiosk(config, sqlite_url, tmp_path, hall=hall) as k:
            await k.tap_text("办件进度查询")
            await k.wait_screen("case")
            for key in [*number, "ok", *check, "ok"]:
                if key == "ok":
                    await k.tap(k.ids().ok_key)
                else:
                    await k.tap_key(k.ids().pad, key)
            await until(lambda: k.model.case_step == "shown", 5, "the case")
            await k.settle()
            await k.tap_text("取号出件")
            await k.wait_screen("ticket")
            assert k.model.ticket["service"] == "pickup"
            assert k.model.ticket["pickup"] == [number]
            await until(lambda: k.printer.tickets, 10, "the printed ticket")
            assert k.model.ticket["label"] in k.printer.tickets[0].text_lines
            # The case is brought to that ticket (read straight from the file).
            engine = db.open_engine(sqlite_url)
            with engine.connect() as conn:
                linked = (
                    conn.execute(
                        select(s.casefiles.c.number)
                        .join(
                            s.casefile_pickups, s.casefile_pickups.c.casefile_id == s.casefiles.c.id
                        )
                        .where(s.casefile_pickups.c.ticket_id == k.model.ticket["id"])
                    )
                    .scalars()
                    .all()
                )
            engine.dispose()
            assert linked == [number]

    run(main(), 240)


def test_scanning_the_earlier_tickets_qr_opens_the_case_and_takes_a_pick_up_number(
    sqlite_url, tmp_path
):
    """Issue 12: on the case screen the scanner (a serial one, emulated on a real pty)
    reads the QR of the ticket that opened the case: that case is shown with nothing
    typed, and a ready one takes its pick-up number with the token as the proof
    (``ticket.issue`` with ``case_token``). A ticket that opened no case is refused where
    the citizen looks."""
    from hardware.emulators.scanner import SerialScannerEmulator
    from queue_server.config import load_config
    from tests.queue_server.test_casefile_pickup import pickup_hall

    config = load_config(pickup_hall(tmp_path))
    load_calendar(sqlite_url)

    async def main():
        hall = Hall(config, sqlite_url, Clock())
        await hall.start()
        async with (
            connected(hall.port, "kiosk-1-secret") as kc,
            connected(hall.port, "gateway-secret") as gw,
        ):
            first = await kc.request("ticket.issue", {"service": "marriage"})
            other = await kc.request("ticket.issue", {"service": "marriage"})
            await gw.request("window.open", {"window": 2, "clerk": "c-2"})
            await gw.request("call.next", {"window": 2})
            number = (await gw.request("case.finish", {"window": 2}))["casefile"]["number"]
            async with (
                office(hall.port, "officer") as officer,
                office(hall.port, "approver") as approver,
            ):
                await officer.request("casefile.review", {"number": number})
                await approver.request("casefile.decide", {"number": number})
                await officer.request("casefile.ready", {"number": number})
        scanner = SerialScannerEmulator("CRLF")
        tty = scanner.serve_pty(tmp_path / "ttyACM0")
        try:
            async with kiosk(config, sqlite_url, tmp_path, hall=hall, scanner=tty) as k:
                await until(lambda: k.hall.device_state("scanner") == "online", 10, "scanner")
                await k.tap_text("办件进度查询")
                await k.wait_screen("case")
                scanner.scan(other["url"])  # this ticket opened no case (yet)
                await until(lambda: k.model.error == "unknown_case", 10, "refused")
                await k.settle()
                assert k.ids().error.text == "没有找到这个办件编号，请核对"
                assert k.model.case_step == "number"
                scanner.scan(first["url"])
                await until(lambda: k.model.case_step == "shown", 10, "the case")
                await k.settle()
                assert k.ids().entry.text == "可以取件"
                assert k.ids().title.text == "婚姻登记"
                assert k.model.check_entry == ""  # nothing typed, nothing kept on screen
                await k.tap_text("取号出件")
                await k.wait_screen("ticket")
                assert k.model.ticket["service"] == "pickup"
                assert k.model.ticket["pickup"] == [number]
                await until(lambda: k.printer.tickets, 10, "the printed ticket")
        finally:
            scanner.stop()

    run(main(), 240)
