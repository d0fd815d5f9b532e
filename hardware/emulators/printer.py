"""A thermal ticket printer on TCP (port 9100 style) or a pseudo-terminal.

It parses the stream (:mod:`hardware.emulators.escpos`), answers ``DLE EOT n`` from a
state tests can change at any moment (paper out, cover open, silent ...), and writes each
ticket out as ``ticket-NNNN.txt`` (text lines plus ``[QR] payload``) and ``ticket-NNNN.png``
(a preview a person can look at), besides keeping it in :attr:`PrinterEmulator.tickets`.

Like a real printer it has two halves. The receive side answers ``DLE EOT n`` at once from
the current state, even mid-job. The print engine works through the data in order,
``line_seconds`` per printed item (text line, QR, image): a ticket faulted at any point
while it is printed (paper out, cover open, silent ...) is kept in
:attr:`PrinterEmulator.lost`, not in ``tickets``, and the engine stops until the fault is
cleared, as a printer goes offline. ``GS r n`` is answered by the engine, after the data
before it, and so never while the printer is offline.

Faults can be injected at any moment of a job through hooks run on the engine thread:
``before_item(ticket, index)``, ``after_ticket(ticket)`` and ``after_confirm(n)``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from hardware.emulators.escpos import EscPosParser, Ticket, gs_r_answer
from hardware.emulators.pty import PtyEndpoint
from hardware.printer.status import PaperLevel, status_bytes
from hardware.printer.ticket import qr_image

CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


@dataclass(frozen=True)
class PrinterState:
    paper: PaperLevel = PaperLevel.OK
    cover_open: bool = False
    cutter_error: bool = False
    offline: bool = False
    overheated: bool = False
    silent: bool = False  # accepts bytes, never answers: a hung or half-dead printer
    one_way: bool = False  # prints, but has no return channel: never answers anything

    @property
    def can_print(self) -> bool:
        return not (
            self.paper is PaperLevel.OUT
            or self.cover_open
            or self.cutter_error
            or self.offline
            or self.overheated
            or self.silent
        )

    def answer(self, n: int) -> int | None:
        if self.silent or self.one_way:
            return None
        return status_bytes(
            offline=self.offline,
            cover_open=self.cover_open,
            paper=self.paper,
            cutter_error=self.cutter_error,
            auto_recoverable_error=self.overheated,
        ).get(n)


Job = tuple[str, object, Callable[[bytes], object]]


class PrinterEmulator:
    def __init__(
        self,
        output_dir: str | Path | None = None,
        width_dots: int = 576,
        line_seconds: float = 0.0,
    ) -> None:
        self.output_dir = Path(output_dir) if output_dir else None
        self.width_dots = width_dots
        self.line_seconds = line_seconds
        self.state = PrinterState()
        self.tickets: list[Ticket] = []
        self.lost: list[Ticket] = []
        self.queries: list[int] = []
        self.confirmations: list[int] = []  # GS r answers sent
        self.before_item: Callable[[Ticket, int], None] | None = None
        self.after_ticket: Callable[[Ticket], None] | None = None
        self.after_confirm: Callable[[int], None] | None = None
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._state_changed = threading.Condition()
        self._engine = threading.Thread(
            target=self._engine_loop, name="printer-engine", daemon=True
        )
        self._engine.start()
        self._server: socket.socket | None = None
        self._tcp_stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._acceptor: threading.Thread | None = None
        self._pty: PtyEndpoint | None = None
        self._pty_parser: EscPosParser | None = None
        self.port = 0

    # -- state ------------------------------------------------------------------------

    def set_state(self, **changes: object) -> None:
        """E.g. ``set_state(paper=PaperLevel.OUT)`` or ``set_state(silent=True)``."""
        with self._state_changed:
            self.state = replace(self.state, **changes)  # type: ignore[arg-type]
            self._state_changed.notify_all()

    def _answer(self, n: int) -> int | None:
        self.queries.append(n)
        return self.state.answer(n)

    # -- print engine ------------------------------------------------------------------

    def _engine_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            kind, payload, reply = job
            if kind == "ticket":
                assert isinstance(payload, Ticket)
                self._print(payload)
            else:
                assert isinstance(payload, int)
                if not self._wait_until_ready():
                    return
                if self.state.silent or self.state.one_way:
                    continue
                answer = gs_r_answer(self.state.answer(4))
                self.confirmations.append(answer)
                # The fault happens after the answer was made but before it is sent, so
                # the driver's next status request always sees it (run after the reply,
                # the hook raced with that request and the fault was missed at times).
                if self.after_confirm is not None:
                    self.after_confirm(payload)
                reply(bytes((answer,)))

    def _wait_until_ready(self) -> bool:
        """Block while the printer cannot print (offline: nothing is processed)."""
        with self._state_changed:
            while not self.state.can_print:
                if self._stop.is_set():
                    return False
                self._state_changed.wait(0.05)
        return not self._stop.is_set()

    def _print(self, ticket: Ticket) -> None:
        if not self._wait_until_ready():
            return
        faulted = False
        for index in range(max(1, len(ticket.items))):
            if self.before_item is not None:
                self.before_item(ticket, index)
            if self.line_seconds and self._stop.wait(self.line_seconds):
                return
            if not self.state.can_print:
                faulted = True
                break
        if faulted or not self.state.can_print:
            with self._lock:
                self.lost.append(ticket)
        else:
            self._keep(ticket)
        if self.after_ticket is not None:
            self.after_ticket(ticket)

    def _on_ticket(self, ticket: Ticket, reply: Callable[[bytes], object]) -> None:
        self._jobs.put(("ticket", ticket, reply))

    def _keep(self, ticket: Ticket) -> None:
        with self._lock:
            self.tickets.append(ticket)
            number = len(self.tickets)
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            stem = self.output_dir / f"ticket-{number:04d}"
            stem.with_suffix(".txt").write_text(ticket.as_text(), encoding="utf-8")
            render_preview(ticket, self.width_dots).save(stem.with_suffix(".png"))

    def _parser(self, reply: Callable[[bytes], object]) -> EscPosParser:
        return EscPosParser(
            lambda ticket: self._on_ticket(ticket, reply),
            self._answer,
            reply,
            on_gs_r=lambda n: self._jobs.put(("gs_r", n, reply)),
        )

    # -- TCP ----------------------------------------------------------------------------

    def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen (port 0 picks a free port, returned); one parser per connection.
        Called again after :meth:`power_off` with the same port, the printer comes back."""
        server = socket.create_server((host, port))
        server.settimeout(0.1)
        self._server = server
        self._tcp_stop = threading.Event()
        self.port = server.getsockname()[1]
        thread = threading.Thread(
            target=self._accept_loop, args=(server, self._tcp_stop), name="printer-emu", daemon=True
        )
        thread.start()
        self._threads.append(thread)
        self._acceptor = thread
        return self.port

    def close_connections(self) -> None:
        """The printer drops its clients (idle timeout) but keeps listening."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def power_off(self) -> None:
        """A network printer switched off: connections closed, nothing listening."""
        self._tcp_stop.set()
        if self._acceptor is not None:
            # Until accept() returns the kernel keeps the listening socket open.
            self._acceptor.join(1)
            self._acceptor = None
        if self._server is not None:
            self._server.close()
            self._server = None
        self.close_connections()

    def _accept_loop(self, server: socket.socket, stop: threading.Event) -> None:
        while not (stop.is_set() or self._stop.is_set()):
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self._conns.append(conn)
            thread = threading.Thread(target=self._serve_conn, args=(conn, stop), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve_conn(self, conn: socket.socket, stop: threading.Event) -> None:
        def reply(data: bytes) -> None:
            with contextlib.suppress(OSError):
                conn.sendall(data)

        parser = self._parser(reply)
        with conn:
            while not (stop.is_set() or self._stop.is_set()):
                try:
                    ready, _, _ = select.select([conn], [], [], 0.1)
                    if not ready:
                        continue
                    data = conn.recv(65536)
                except (OSError, ValueError):
                    return
                if not data:
                    return
                parser.feed(data)

    # -- pseudo-terminal ---------------------------------------------------------------

    def serve_pty(self, link: str | Path | None = None) -> str:
        """Play a serial printer; returns the path the host should open."""
        self._pty = PtyEndpoint(self._on_pty_bytes, link)
        self._pty_parser = self._parser(self._pty.write)
        self._pty.start()
        return self._pty.path

    def unplug(self) -> None:
        """The serial/USB cable is pulled (the pty vanishes); :meth:`replug` brings it back."""
        assert self._pty is not None
        self._pty.unplug()

    def replug(self) -> None:
        assert self._pty is not None
        self._pty_parser = self._parser(self._pty.write)  # a fresh printer-side buffer
        self._pty.replug()

    def _on_pty_bytes(self, data: bytes) -> None:
        assert self._pty_parser is not None
        self._pty_parser.feed(data)

    def stop(self) -> None:
        self._stop.set()
        self._jobs.put(None)
        self._engine.join(2)
        if self._server is not None:
            self.power_off()
        if self._pty is not None:
            self._pty.stop()
        for thread in self._threads:
            thread.join(1)

    def __enter__(self) -> PrinterEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for path in CJK_FONTS:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def render_preview(ticket: Ticket, width: int = 576) -> Image.Image:
    """Draw the ticket roughly as paper would show it (CJK needs a CJK font installed)."""
    parts: list[Image.Image] = []
    for kind, index in ticket.items:
        if kind == "line":
            line = ticket.lines[index]
            size = 22 * line.height
            font = _font(size)
            img = Image.new("1", (width, size + 8), 1)
            draw = ImageDraw.Draw(img)
            text_width = draw.textlength(line.text, font=font)
            x = {0: 4, 1: (width - text_width) / 2, 2: width - text_width - 4}.get(line.align, 4)
            draw.text((max(0, x), 2), line.text, font=font, fill=0)
            parts.append(img)
        elif kind == "qr":
            qr = ticket.qr_codes[index]
            symbol = qr_image(qr.payload, max(1, qr.module))
            img = Image.new("1", (width, symbol.height), 1)
            img.paste(symbol, (max(0, (width - symbol.width) // 2), 0))
            parts.append(img)
        else:
            parts.append(ticket.rasters[index].to_image())
    height = sum(p.height for p in parts) + 40
    page = Image.new("1", (width, max(height, 40)), 1)
    y = 20
    for part in parts:
        page.paste(part, (0, y))
        y += part.height
    return page
