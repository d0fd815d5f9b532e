"""The kiosk's ID card reader (二代身份证): a polling thread handing each card read to the
loop as a :class:`hardware.idcard.protocol.CardReading` — a salted hash of the number, the
birth date and the validity end, nothing else. Nothing about a card is logged.

The salt is the hall's secret, the same on every kiosk (``HALLQ_ID_SALT``), so the server
can count a person's tickets per day without ever seeing an ID number.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

from hardware.exceptions import TransportError
from hardware.idcard.protocol import CardReading
from hardware.idcard.reader import CardReadError, IdCardReader
from kiosk.exceptions import SettingsError

log = logging.getLogger("hallq.kiosk.idreader")


class IdReaderService:
    def __init__(
        self, url: str, salt: str | None, *, poll_seconds: float = 0.3, baudrate: int = 115200
    ) -> None:
        self.url = url.strip()
        self.poll_seconds = poll_seconds
        self._reader: IdCardReader | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if not self.enabled:
            return
        if not salt or len(salt.encode()) < 16:
            raise SettingsError(
                "an ID card reader needs the hall's ID salt (HALLQ_ID_SALT, at least 16 "
                "characters, the same on every kiosk of the hall)"
            )
        target = self.url[len("serial:") :] if self.url.startswith("serial:") else self.url
        self._reader = IdCardReader(target, salt.encode(), baudrate=baudrate)

    @property
    def enabled(self) -> bool:
        return self.url.lower() not in ("", "none", "off")

    def start(
        self,
        on_card: Callable[[CardReading], Awaitable[object]],
        on_link: Callable[[bool, str], Awaitable[object]],
    ) -> None:
        if self._reader is None:
            return
        loop = asyncio.get_running_loop()
        reader = self._reader

        def post(coro: Awaitable[object]) -> None:
            asyncio.run_coroutine_threadsafe(_guarded(coro), loop)

        def run() -> None:
            up: bool | None = None
            while not self._stop.is_set():
                try:
                    reading = reader.poll()
                    if up is not True:
                        up = True
                        post(on_link(True, ""))
                except CardReadError as exc:
                    log.warning("ID card not read: %s", exc)  # status bytes only
                    reading = None
                except TransportError as exc:
                    if up is not False:
                        up = False
                        post(on_link(False, str(exc)))
                    reading = None
                if reading is not None:
                    post(on_card(reading))
                self._stop.wait(self.poll_seconds)

        self._thread = threading.Thread(target=run, name="id-reader", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(3)
        if self._reader is not None:
            self._reader.close()


async def _guarded(coro: Awaitable[object]) -> None:
    try:
        await coro
    except Exception:
        log.exception("ID reader handler failed")
