"""The kiosk's devices while nobody is printing (issue 16), under the real window."""

from __future__ import annotations

from hardware.printer.status import PaperLevel

from .harness import kiosk, run, until


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
