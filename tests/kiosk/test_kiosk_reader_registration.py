"""A kiosk with an ID card reader plugged in that the hall file does not list as having one.

The server refuses ``id_hash`` and ``birth_date`` from a kiosk whose ``[[devices]]`` entry
lacks ``id_reader = true`` (only a registered reader's readings are trusted). An installer
who plugs in a reader and forgets the hall file must not turn every citizen who taps a card
away without a ticket: the kiosk learns at sign-in that its reader is not registered,
issues tickets without the card, and reports the reader so the hall admin sees why.
"""

from __future__ import annotations

import datetime as dt

from hardware.idcard.protocol import CardReading
from kiosk.controller import KioskController
from kiosk.model import KioskModel
from kiosk.printing import PrinterService
from queue_server.client import HallClient
from tests.queue_server.harness import Clock

from .harness import KIOSK_TOKEN, Hall, run, until

CARD = CardReading(id_hash="ab" * 32, birth_date=dt.date(1950, 5, 1), valid_to=None)


def test_an_unregistered_reader_does_not_cost_the_citizen_a_ticket(config, sqlite_url):
    assert not next(d for d in config.devices if d.token == KIOSK_TOKEN).id_reader

    async def main():
        hall = Hall(config, sqlite_url, Clock())
        await hall.start()
        model = KioskModel()
        client = HallClient(f"ws://127.0.0.1:{hall.port}/", KIOSK_TOKEN, name="kiosk-1")
        ctl = KioskController(model, client, PrinterService("none"), request_timeout=5)
        try:
            await client.start()
            await client.wait_online(10)
            model.set_hall(await client.request("hall.info"))
            assert client.session is not None and client.session["id_reader"] is False
            model.open_service("general")
            await ctl.id_card(CARD)
            ticket = await ctl.take_ticket()
            assert ticket is not None and ticket["label"] == "A001", model.error
            # Asked for elderly priority with the card: the guide is needed, as without one.
            model.reset()
            model.open_service("general")
            await ctl.id_card(CARD)
            assert await ctl.take_ticket(priority="elderly") is None
            assert model.error == "staff_needed"
            await until(lambda: hall.device_state("id_reader") == "offline", 5, "reported")
        finally:
            await ctl.close()
            await client.close()
            await hall.stop()

    run(main(), 60)
