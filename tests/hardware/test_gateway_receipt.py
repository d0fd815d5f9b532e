"""The receipt of a promised case, printed by its window's printer (issue 10): a real queue
server on loopback, the gateway in-process with the bus emulators on a pty, and the ESC/POS
printer emulator on TCP reading the bytes back."""

from __future__ import annotations

import asyncio

from hardware.emulators.printer import PrinterEmulator
from hardware.gateway import config as gc
from hardware.printer.status import PaperLevel
from queue_server.client import HallClient
from tests.hardware.test_gateway import HALL, Rig, gateway_section, run, until
from tests.queue_server.test_casefiles import load_calendar


async def _finish(admin: HallClient, kiosk: HallClient, window: int) -> tuple[str, dict]:
    """A marriage ticket (promised) finished at ``window``: (case number, the ticket)."""
    ticket = await kiosk.request("ticket.issue", {"service": "marriage"})
    await admin.request("call.number", {"window": window, "label": ticket["label"]})
    done = await admin.request("case.finish", {"window": window})
    return done["casefile"]["number"], ticket


def test_a_case_opened_at_a_window_prints_its_receipt_there(config, sqlite_url, tmp_path):
    load_calendar(sqlite_url)
    emulator = PrinterEmulator(tmp_path / "printed")
    port = emulator.serve_tcp()
    printers = [{"window": 2, "url": f"tcp://127.0.0.1:{port}"}]

    async def main() -> None:
        async with Rig(config, sqlite_url, tmp_path, printers=printers) as r:
            admin = HallClient(f"ws://127.0.0.1:{r.port}/", "admin-secret", name="admin")
            await admin.start()
            await admin.wait_online(5)
            for w in (1, 2):
                await admin.request("window.open", {"window": w, "clerk": f"c-{w}"})
            number, ticket = await _finish(admin, r.kiosk, 2)
            await until(lambda: r.gateway.stats["receipt.printed"] == 1, 10, "the receipt")
            assert len(emulator.tickets) == 1
            paper = emulator.tickets[0]
            lines = paper.text_lines
            assert "受理回执" in lines and "婚姻登记" in lines
            assert number in lines
            assert "受理日期 2026-11-24" in lines
            assert "承诺办结日期 2026-11-27" in lines
            assert f"查询校验码 {ticket['check']}" in lines
            assert paper.qr_payloads == [ticket["url"]]  # the phone page follows the case
            assert paper.cut
            # The same event again (a replay after a reconnect) prints nothing.
            await r.gateway._on_event("casefile.opened", None, {"window": 2, "number": number})
            await asyncio.sleep(0.3)
            assert r.gateway.stats["receipt.printed"] == 1 and len(emulator.tickets) == 1

            # A case opened at a window without a printer prints nothing, anywhere.
            await _finish(admin, r.kiosk, 1)
            # The printer out of paper: the case stands, the gateway carries on.
            emulator.set_state(paper=PaperLevel.OUT)
            await _finish(admin, r.kiosk, 2)
            await until(lambda: r.gateway.stats["receipt.not_printed"] == 1, 10, "refused job")
            # ... and the supervisors are told (the poll at start had found it online).
            await until(
                lambda: (
                    [d["state"] for d in r.watch.of("device.state", part="printer")]
                    == ["online", "paper_out"]
                ),
                10,
                "paper out reported after the job",
            )
            await asyncio.sleep(0.3)
            assert len(emulator.tickets) == 1
            assert r.gateway.stats["receipt.printed"] == 1
            assert await r.press(r.pad1, r.pad1.function, "001")  # keys still work
            await admin.close()

    try:
        run(main(), 60)
    finally:
        emulator.stop()


def test_the_receipt_printers_state_reaches_the_server(config, sqlite_url, tmp_path):
    """Paper out at a window's receipt printer shows on the supervisor's page as a kiosk's
    does (``device.state``, device ``window-N``, part ``printer``): found by the idle poll
    at start, and again when paper is loaded; once per change, not once per poll."""
    emulator = PrinterEmulator(tmp_path / "printed")
    emulator.set_state(paper=PaperLevel.OUT)
    port = emulator.serve_tcp()
    printers = [{"window": 2, "url": f"tcp://127.0.0.1:{port}"}]

    async def main() -> None:
        async with Rig(config, sqlite_url, tmp_path, printers=printers, printer_poll=0.1) as r:

            def states() -> list[str]:
                return [d["state"] for d in r.watch.of("device.state", part="printer")]

            await until(lambda: states() == ["paper_out"], 10, "paper out reported")
            (out,) = r.watch.of("device.state", part="printer")
            assert out["device"] == "window-2"
            emulator.set_state(paper=PaperLevel.OK)
            await until(lambda: states() == ["paper_out", "online"], 10, "paper loaded")
            await asyncio.sleep(0.5)  # several more polls: no change, nothing more sent
            assert states() == ["paper_out", "online"]

    try:
        run(main(), 60)
    finally:
        emulator.stop()


def test_a_printer_is_checked_with_a_located_error():
    section = gateway_section("/dev/ttyUSB0", 8765)
    section["printers"] = [
        {"window": 2, "url": "tcp://127.0.0.1:9100"},
        {"window": 2, "url": "tcp://127.0.0.1:9101"},
        {"window": 9, "url": "tcp://127.0.0.1:9102"},
        {"window": 1, "url": "tcp://127.0.0.1:9103", "profile": "nope"},
        {"window": 3},
    ]
    settings, problems = gc.parse(section, dict(HALL, gateway=section))
    assert settings is None
    where = [p[0] for p in problems]
    assert where == [
        "printers[1].window",
        "printers[2].window",
        "printers[3].profile",
        "printers[4].url",
    ], problems
