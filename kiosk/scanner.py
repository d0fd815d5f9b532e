"""The kiosk's QR / barcode scanner: device thread to asyncio, and what a scan means.

A ticket's QR code (the phone-page URL, ``…/t/<token>``) opens that ticket's rating when
it may be rated; any other short code is an appointment code and is checked in. Codes are
secrets (a ticket token signs a phone page in): they are never logged, only their kind.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hardware.scanner import TERMINATORS, ScannerReader
from kiosk.exceptions import SettingsError

log = logging.getLogger("hallq.kiosk.scanner")

TICKET_URL = re.compile(r"/t/([A-Za-z0-9_-]{8,64})(?:[?#].*)?$")
APPOINTMENT_CODE = re.compile(r"^[A-Za-z0-9]{4,32}$")


@dataclass(frozen=True)
class Scan:
    kind: str  # "ticket", "appointment" or "unknown"
    value: str = ""

    def __repr__(self) -> str:  # the value is a secret
        return f"Scan({self.kind}, {len(self.value)} chars)"


def classify(code: str) -> Scan:
    code = code.strip()
    match = TICKET_URL.search(code)
    if match:
        return Scan("ticket", match.group(1))
    if APPOINTMENT_CODE.match(code):
        return Scan("appointment", code.upper())
    return Scan("unknown")


class ScannerService:
    """``url``: ``none``, ``serial:…``/``/dev/tty…`` or ``hid:/dev/input/…``; see
    :func:`hardware.scanner.open_scanner`."""

    def __init__(self, url: str, terminator: str = "CR") -> None:
        self.url = url.strip()
        if terminator not in TERMINATORS:
            raise SettingsError(
                f"scanner_terminator {terminator!r}: one of " + ", ".join(TERMINATORS)
            )
        self.terminator = terminator
        self._reader: ScannerReader | None = None

    @property
    def enabled(self) -> bool:
        return self.url.lower() not in ("", "none", "off")

    def start(
        self,
        on_scan: Callable[[Scan], Awaitable[object]],
        on_link: Callable[[bool, str], Awaitable[object]],
    ) -> None:
        """Run the device thread; each scan and link change is handed to the running
        loop (the handlers run there, never on the device thread)."""
        if not self.enabled:
            return
        loop = asyncio.get_running_loop()

        def code(text: str) -> None:
            scan = classify(text)
            log.info("scanned a %s code (%d chars)", scan.kind, len(text))
            asyncio.run_coroutine_threadsafe(_guarded(on_scan(scan)), loop)

        def link(up: bool, detail: str) -> None:
            asyncio.run_coroutine_threadsafe(_guarded(on_link(up, detail)), loop)

        self._reader = ScannerReader(
            self.url, code, terminator=self.terminator, on_link=link
        ).start()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.stop()
            self._reader = None


async def _guarded(coro: Awaitable[object]) -> None:
    try:
        await coro
    except Exception:  # a failing handler must not kill the device thread's futures
        log.exception("scanner handler failed")
