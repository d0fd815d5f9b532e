"""The kiosk's actions against the queue server and the printer; the screens only call these.

Exactly one ticket per press, even across a dropped connection: the client resends a
request that was in flight when the link went down with the same idempotency key, and a
request that timed out keeps its key here, so pressing again asks for *that* ticket
rather than a second one — until that citizen leaves: the kiosk's reset starts a new
visit, and a key never outlives the visit it was made in, so the next citizen asking for
the same service gets a ticket of their own. A press while a request is under way is
ignored.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from hardware.idcard.protocol import CardReading
from kiosk.model import KioskModel
from kiosk.printing import PrinterService, PrintReport, ticket_print
from kiosk.scanner import Scan
from queue_server.client import ConnectionState, HallClient, RequestError, RequestTimeout

log = logging.getLogger("hallq.kiosk")
# A scanned ticket that cannot be rated now, said with the server's own refusal codes.
SCAN_REFUSALS = {"rated": "already_rated", "not_rated": "rating_closed"}
UNREGISTERED_READER = (
    "card read, but the hall file does not list this kiosk with a reader: "
    "set id_reader = true on its [[devices]] entry"
)


class KioskController:
    def __init__(
        self,
        model: KioskModel,
        client: HallClient,
        printer: PrinterService,
        request_timeout: float = 30.0,
    ) -> None:
        self.model = model
        self.client = client
        self.printer = printer
        self.request_timeout = request_timeout
        self.reported: tuple[str, str] | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self._keys: dict[tuple[str, ...], str] = {}
        self._keys_visit = model.visit
        self.print_task: asyncio.Task[Any] | None = None
        self.card: CardReading | None = None
        self._reader_reported = False
        # A card read belongs to one citizen: forgotten when the kiosk goes home.
        model.bind(screen=lambda _model, screen: self._forget_card(screen))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            try:
                await task
            except BaseException:  # noqa: BLE001 - cancelled or already reported
                pass

    # -- connection ----------------------------------------------------------------------

    def on_state(self, state: ConnectionState) -> None:
        """Called by the client from inside its handshake: must not wait for a reply."""
        self.model.connection_changed(state.value)
        if state is ConnectionState.ONLINE:
            self.spawn(self._online())

    async def _online(self) -> None:
        if self.model.hall is None:
            try:
                info = await self.client.request("hall.info", timeout=self.request_timeout)
            except (RequestError, RequestTimeout) as exc:
                log.warning("hall.info failed: %s", exc)
                return
            self.model.set_hall(info)
        self.reported = None  # the server may have restarted: tell it the printer's state
        await self.report_printer(await self.printer.status())

    # -- requests ------------------------------------------------------------------------

    async def _ask(self, op: str, args: dict[str, Any], retry_key: tuple[str, ...]) -> Any:
        """One request with a key kept across presses until it gets a definite answer."""
        if self._keys_visit != self.model.visit:
            self._keys.clear()  # another citizen: the last one's unanswered keys are not theirs
            self._keys_visit = self.model.visit
        key = self._keys.setdefault(retry_key, f"{self.client.name}:{uuid.uuid4().hex}")
        self.model.busy = True
        try:
            reply = await self.client.request(op, args, key=key, timeout=self.request_timeout)
        except RequestTimeout:
            self.model.refused("timeout")
            raise
        except RequestError as exc:
            self._keys.pop(retry_key, None)
            self.model.refused(exc.code)
            raise
        self._keys.pop(retry_key, None)
        self.model.busy = False
        return reply

    async def take_ticket(
        self, priority: str | None = None, staff_pin: str | None = None
    ) -> dict[str, Any] | None:
        m = self.model
        if m.busy or not m.service:
            return None
        args: dict[str, Any] = {"service": m.service, "language": m.language}
        if priority:
            args["priority"] = priority
        if priority and staff_pin:
            # The guide's own credential, checked by the server; never kept here.
            args.update(staff=m.staff_id or "", staff_pin=staff_pin)
        card = self._trusted_card()
        if card is not None:
            # Only the card's salted hash: the hall's daily cap per person and service.
            args["id_hash"] = card.id_hash
        if priority == "elderly" and card is not None and not staff_pin:
            # The card read for this citizen shows the age: the server decides (from its
            # hall's senior age) and keeps only that the ID card confirmed it.
            args["birth_date"] = card.birth_date.isoformat()
        try:
            reply = await self._ask(
                "ticket.issue", args, ("issue", m.service, priority or "", m.language)
            )
        except (RequestError, RequestTimeout):
            return None
        await self._issued(reply)
        return reply

    async def check_in(self, scanned: str | None = None) -> dict[str, Any] | None:
        """The typed code, or ``scanned`` (a code read by the scanner)."""
        m = self.model
        if m.busy or not (scanned or m.code_complete):
            return None
        code = scanned or m.code_entry
        try:
            reply = await self._ask(
                "appointment.checkin", {"code": code, "language": m.language}, ("checkin", code)
            )
        except (RequestError, RequestTimeout):
            m.code_entry = ""
            return None
        m.service = str(reply.get("service", ""))
        await self._issued(reply)
        return reply

    async def rate(self, level: int, extras: dict[str, Any] | None = None) -> bool:
        """Send the rating; with ``extras`` (reasons, a number with consent) after the
        citizen was asked why. The number goes to the server only: never to the log."""
        m = self.model
        if m.busy or not m.label_complete:
            return False
        label = m.label_entry
        args = {"label": label, "level": level, **m.rating_proof(), **(extras or {})}
        try:
            await self._ask("rating.submit", args, ("rate", label))
        except (RequestError, RequestTimeout):
            return False  # the model shows the refusal and asks again for what it refused
        m.rated()
        return True

    async def lookup_case(self) -> dict[str, Any] | None:
        """The typed case number with the typed check code; the server counts wrong
        codes, so a refusal is shown and the code asked again, never retried here."""
        m = self.model
        if m.busy or not m.case_entry:
            return None
        args = {"number": m.case_entry, "check": m.check_entry}
        try:
            reply = await self._ask("casefile.lookup", args, ("case", m.case_entry))
        except (RequestError, RequestTimeout):
            return None
        m.case_shown(reply)
        return reply

    async def lookup_case_by_token(self, token: str) -> dict[str, Any] | None:
        """The case opened for the scanned ticket (its QR is the proof: no number, no
        check code typed), as the phone page sees it through ``ticket.status``."""
        m = self.model
        m.busy = True
        try:
            status = await self.client.request(
                "ticket.status", {"token": token}, timeout=self.request_timeout
            )
        except (RequestError, RequestTimeout) as exc:
            code = getattr(exc, "code", "timeout")
            m.refused("unknown_case" if code == "unknown_ticket" else code)
            return None
        m.busy = False
        view = status.get("casefile")
        if not view:
            m.refused("unknown_case")  # a ticket that opened no promised case
            return None
        m.case_shown(view, token=token)
        return view

    async def take_pickup(self) -> dict[str, Any] | None:
        """A pick-up number (统一出件) for the ready case on screen: the clerk who calls
        it sees the case."""
        m = self.model
        if m.busy or not m.can_take_pickup:
            return None
        args = m.pickup_args()
        try:
            proof = str(args.get("casefile") or args.get("case_token"))
            reply = await self._ask("ticket.issue", args, ("pickup", proof))
        except (RequestError, RequestTimeout):
            return None
        m.service = str(reply.get("service", ""))
        await self._issued(reply)
        return reply

    async def _issued(self, reply: dict[str, Any]) -> None:
        m = self.model
        m.ticket_issued(reply, printing=self.printer.enabled)
        if self.printer.enabled:
            self.print_task = self.spawn(self._print(reply))

    async def _print(self, reply: dict[str, Any]) -> None:
        m = self.model
        service = m.service_info(str(reply.get("service", "")))
        try:
            paper = ticket_print(m.hall or {}, service, reply)
            report = await self.printer.print_ticket(paper)
        except Exception as exc:  # a ticket must never sit at "printing..." forever
            log.exception("printing failed")
            report = PrintReport(False, "not_answering", type(exc).__name__)
        if m.ticket.get("id") == reply.get("id"):
            m.printed(report.printed, report.condition)
        await self.report_printer(report)

    # -- scanner and ID card reader ------------------------------------------------------

    async def scanned(self, scan: Scan) -> None:
        """A ticket's QR opens its rating (when it may be rated), or on the case screen the
        case that ticket opened; an appointment code is checked in, as if typed."""
        m = self.model
        if m.busy or not m.online:
            return
        if scan.kind == "appointment":
            m.open_appointment()
            await self.check_in(scan.value)
        elif scan.kind == "ticket" and m.screen == "case":
            await self.lookup_case_by_token(scan.value)
        elif scan.kind == "ticket":
            try:
                status = await self.client.request(
                    "ticket.status", {"token": scan.value}, timeout=self.request_timeout
                )
            except (RequestError, RequestTimeout) as exc:
                m.refused(getattr(exc, "code", "timeout"))
                return
            m.open_rating()
            state = status.get("rating_state")
            if state != "pending":
                m.refused(SCAN_REFUSALS.get(state, "nothing_to_rate"))
                return
            m.label_entry = str(status.get("label", ""))
            m.rating_token = scan.value  # the scanned QR is the proof: no check code asked
            m.label_entered()

    async def id_card(self, reading: CardReading) -> None:
        """Keep the card read for this citizen's session (hash, birth date, validity
        only): it goes with the ticket (the daily cap per person), gives an elderly
        citizen priority, and on the appointment screen checks the booking in."""
        self.card = reading
        if self._trusted_card() is None:
            if not self._reader_reported:
                self._reader_reported = True
                await self.report_part("id_reader", False, UNREGISTERED_READER)
            return
        if self.model.screen == "appointment":
            await self.check_in_by_card()

    def _trusted_card(self) -> CardReading | None:
        """The card read for this citizen, if the hall trusts this kiosk's reader.

        The server refuses card data from a kiosk not registered with a reader; sending
        it anyway would turn the citizen away with no ticket. An older server that does
        not say is trusted (it refuses, as before)."""
        session = self.client.session or {}
        if session.get("id_reader", True) is False:
            return None
        return self.card

    async def check_in_by_card(self) -> dict[str, Any] | None:
        """The booking made with this citizen's ID number, found by the card's hash."""
        m = self.model
        if m.busy or self._trusted_card() is None:
            return None
        assert self.card is not None
        try:
            reply = await self._ask(
                "appointment.checkin",
                {"id_hash": self.card.id_hash, "language": m.language},
                ("checkin-card", self.card.id_hash),
            )
        except (RequestError, RequestTimeout):
            return None
        m.service = str(reply.get("service", ""))
        await self._issued(reply)
        return reply

    def _forget_card(self, screen: str) -> None:
        if screen == "home":
            self.card = None
        elif screen == "appointment" and self.card is not None:
            # The card was read first: the booking is looked up at once.
            self.spawn(self.check_in_by_card())

    async def report_part(self, part: str, up: bool, detail: str) -> None:
        """Scanner / ID reader presence, as ``device.report`` (state online/offline)."""
        try:
            await self.client.request(
                "device.report",
                {"part": part, "state": "online" if up else "offline", "detail": detail[:200]},
                timeout=self.request_timeout,
            )
        except (RequestError, RequestTimeout) as exc:
            log.warning("%s state not reported: %s", part, exc)

    async def watch_printer(
        self,
        interval: float,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """Poll the idle printer every ``interval`` s and report changes: a printer that
        runs out of paper at night is on the supervisor's page, not found by the first
        citizen in the morning. A ticket being printed holds the printer's lock, so a
        poll never interleaves with a job."""
        while True:
            await sleep(interval)
            try:
                report = await self.printer.status()
            except Exception:  # a poll must never end the watch
                log.exception("printer status poll failed")
                continue
            await self.report_printer(report)

    async def report_printer(self, report: PrintReport) -> None:
        """Tell the server the printer's state when it changed (supervisors see it)."""
        if report.condition == "none":
            return
        state = (report.condition, report.detail)
        if state == self.reported:
            return
        try:
            await self.client.request(
                "device.report",
                {"part": "printer", "state": report.condition, "detail": report.detail[:200]},
                timeout=self.request_timeout,
            )
        except (RequestError, RequestTimeout) as exc:
            log.warning("printer state not reported: %s", exc)
            return
        self.reported = state
