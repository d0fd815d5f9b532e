"""The kiosk's side of the ticket printer: URL to driver, a thread per job, typed outcome.

The driver in :mod:`hardware.printer` blocks (status queries wait for bytes), so every
call runs in a worker thread and the screen keeps moving. One job at a time: a second
citizen's ticket waits for the first one's cut.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardware.printer.printer import TicketPrinter
from hardware.printer.profile import get_profile
from hardware.printer.status import Condition
from hardware.printer.ticket import TicketPrint
from hardware.printer.transport import transport_from_url
from kiosk import i18n
from kiosk.exceptions import PrinterSetupError

log = logging.getLogger("hallq.kiosk.printer")


@dataclass(frozen=True)
class PrintReport:
    """``printed`` is True only for a ticket the printer confirmed; ``outcome`` is the
    driver's word (``printed``, ``not_printed``, ``uncertain``, ``unconfirmed``), empty for
    a status poll."""

    printed: bool
    condition: str  # a hardware.printer.status.Condition value
    detail: str = ""
    outcome: str = ""


def normalise_url(url: str) -> str | None:
    """``none`` → no printer; a bare file path → ``file://``; ``usb:VID:PID`` →
    ``usb://VID:PID`` (pyusb; ``usb:///dev/usb/lp0`` is the kernel's usblp node)."""
    url = url.strip()
    if url.lower() in ("", "none", "off"):
        return None
    if url.startswith("usb:") and not url.startswith("usb://"):
        url = "usb://" + url[len("usb:") :]
    if url.startswith("/") and not url.startswith(("/dev/tty", "/dev/pts")):
        return "file://" + url
    if "://" not in url and not url.startswith("serial:") and Path(url).suffix:
        return "file://" + str(Path(url).resolve())
    return url


class PrinterService:
    """``url`` as in :func:`normalise_url`; ``status_timeout`` and ``confirm_margin`` go
    to the driver (tests shorten them)."""

    def __init__(self, url: str, profile: str = "80mm-gb18030", **driver: Any) -> None:
        target = normalise_url(url)
        self.url = target
        self._lock = asyncio.Lock()
        self._printer: TicketPrinter | None = None
        if target is None:
            return
        try:
            transport = transport_from_url(target)
            prof = get_profile(profile)
        except (ValueError, KeyError) as exc:
            raise PrinterSetupError(str(exc).strip("'\"")) from None
        self._printer = TicketPrinter(transport, prof, **driver)

    @property
    def enabled(self) -> bool:
        return self._printer is not None

    async def status(self) -> PrintReport:
        if self._printer is None:
            return PrintReport(False, "none")
        async with self._lock:
            st = await asyncio.to_thread(self._printer.status)
        return PrintReport(st.can_print, st.condition.value, st.detail)

    async def print_ticket(self, ticket: TicketPrint) -> PrintReport:
        if self._printer is None:
            return PrintReport(False, "none")
        async with self._lock:
            result = await asyncio.to_thread(self._printer.print_ticket, ticket)
        status = result.after if result.after is not None else result.before
        condition = status.condition
        if not result.printed and condition in (Condition.ONLINE, Condition.PAPER_NEAR_END):
            condition = Condition.NOT_ANSWERING  # sent but lost: treat the printer as suspect
        log.info("ticket print: %s (%s)", result.outcome.value, condition.value)
        return PrintReport(
            result.printed, condition.value, result.error or status.detail, result.outcome.value
        )

    def close(self) -> None:
        if self._printer is not None:
            self._printer.close()


def ticket_print(
    hall: Mapping[str, Any], service: Mapping[str, Any], reply: Mapping[str, Any]
) -> TicketPrint:
    """The paper ticket for a server reply, in the ticket's language."""
    lang = str(reply.get("language") or "zh")
    issued = reply.get("issued_at")
    try:
        when = dt.datetime.fromisoformat(issued) if issued else dt.datetime.now(dt.UTC)
    except ValueError:
        when = dt.datetime.now(dt.UTC)
    tz = hall.get("timezone")
    if tz and when.tzinfo is not None:
        from zoneinfo import ZoneInfo

        when = when.astimezone(ZoneInfo(tz))
    materials = i18n.pick(service.get("materials"), lang) or []
    names = service.get("name") or {}
    hall_names = hall.get("name") or {}
    hall_en = hall_names.get("en", "") if isinstance(hall_names, dict) else str(hall_names)
    return TicketPrint(
        hall_name=str(i18n.pick(hall.get("name"), lang)),
        service_name=str(i18n.pick(names, lang)),
        service_name_zh=str(i18n.pick(names, "zh")),
        label=str(reply["label"]),
        people_ahead=int(reply.get("people_ahead") or 0),
        wait_minutes=reply.get("est_wait_minutes"),
        issued_at=when,
        qr_url=str(reply.get("url") or ""),
        materials=tuple(str(m) for m in materials),
        language=lang,
        hall_name_en=str(hall_en),
        service_name_en=str(i18n.pick(names, "en")),
        materials_en=tuple(str(m) for m in i18n.pick(service.get("materials"), "en") or []),
        where=i18n.where_to_go(hall, service, lang),
        where_en=i18n.where_to_go(hall, service, "en"),
        mark=i18n.mark(reply.get("priority"), lang),
        mark_en=i18n.mark(reply.get("priority"), "en"),
        check=str(reply.get("check") or ""),
    )
