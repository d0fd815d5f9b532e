"""A kiosk's idempotency key belongs to one request of one citizen.

The key of a request whose reply was lost is kept so that pressing again asks for *that*
ticket; but once the citizen has left (the idle reset), the next citizen asking for the
same service must get a ticket of their own, never the first citizen's replayed.
"""

from __future__ import annotations

from kiosk.controller import KioskController
from kiosk.model import KioskModel
from kiosk.printing import PrinterService
from queue_server.client import HallClient
from tests.queue_server.harness import Clock

from .harness import KIOSK_TOKEN, CablePuller, Hall, run, until


async def reconnect(cable: CablePuller, client: HallClient) -> None:
    """Drop the deaf link (a half-read frame cannot be resumed) and let the client back."""
    cable.cut()
    await until(lambda: not client._online.is_set(), 5, "client offline")
    cable.plug()
    await client.wait_online(10)


def test_lost_reply_is_not_replayed_to_the_next_citizen(config, sqlite_url):
    async def main():
        hall = Hall(config, sqlite_url, Clock())
        await hall.start()
        cable = CablePuller(hall.port)
        await cable.start()
        model = KioskModel()
        client = HallClient(f"ws://127.0.0.1:{cable.port}/", KIOSK_TOKEN, name="kiosk-1")
        ctl = KioskController(model, client, PrinterService("none"), request_timeout=0.5)
        try:
            await client.start()
            await client.wait_online(10)
            model.set_hall(await client.request("hall.info"))
            # The first citizen asks; the request reaches the server, the reply is lost.
            model.open_service("general")
            cable.deaf = True
            assert await ctl.take_ticket() is None
            await until(lambda: hall.count() == 1, 5, "first ticket committed")
            await reconnect(cable, client)
            # Pressing again before leaving asks for *that* ticket: still one ticket.
            first = await ctl.take_ticket()
            assert first is not None and first["label"] == "A001" and hall.count() == 1
            # Suppose instead the citizen walked away after a second lost reply...
            model.reset()
            model.open_service("general")
            cable.deaf = True
            assert await ctl.take_ticket() is None
            await until(lambda: hall.count() == 2, 5, "second ticket committed")
            await reconnect(cable, client)
            model.reset()  # ...and the kiosk went home: nothing of that citizen stays.
            # The next citizen asks the same service, priority and language.
            model.open_service("general")
            third = await ctl.take_ticket()
            assert third is not None
            assert third["label"] == "A003", "the next citizen got another citizen's ticket"
            assert hall.tickets() == ["A001", "A002", "A003"]
        finally:
            await ctl.close()
            await client.close()
            await cable.stop()
            await hall.stop()

    run(main(), 60)
