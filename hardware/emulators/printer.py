"""A thermal ticket printer on TCP (port 9100 style) or a pseudo-terminal.

It parses the stream (:mod:`hardware.emulators.escpos`), answers ``DLE EOT n`` from a
state tests can change at any moment (paper out, cover open, silent ...), and writes each
ticket out as ``ticket-NNNN.txt`` (text lines plus ``[QR] payload``) and ``ticket-NNNN.png``
(a preview a person can look at), besides keeping it in :attr:`PrinterEmulator.tickets`.

A ticket cut while the printer is faulted is kept in :attr:`PrinterEmulator.lost`, not in
``tickets``: a real printer would not have printed it.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from hardware.emulators.escpos import EscPosParser, Ticket
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
        if self.silent:
            return None
        return status_bytes(
            offline=self.offline,
            cover_open=self.cover_open,
            paper=self.paper,
            cutter_error=self.cutter_error,
            auto_recoverable_error=self.overheated,
        ).get(n)


class PrinterEmulator:
    def __init__(self, output_dir: str | Path | None = None, width_dots: int = 576) -> None:
        self.output_dir = Path(output_dir) if output_dir else None
        self.width_dots = width_dots
        self.state = PrinterState()
        self.tickets: list[Ticket] = []
        self.lost: list[Ticket] = []
        self.queries: list[int] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._server: socket.socket | None = None
        self._pty: PtyEndpoint | None = None
        self._pty_parser: EscPosParser | None = None
        self.port = 0

    # -- state ------------------------------------------------------------------------

    def set_state(self, **changes: object) -> None:
        """E.g. ``set_state(paper=PaperLevel.OUT)`` or ``set_state(silent=True)``."""
        self.state = replace(self.state, **changes)  # type: ignore[arg-type]

    def _answer(self, n: int) -> int | None:
        self.queries.append(n)
        return self.state.answer(n)

    def _on_ticket(self, ticket: Ticket) -> None:
        with self._lock:
            if not self.state.can_print:
                self.lost.append(ticket)
                return
            self.tickets.append(ticket)
            number = len(self.tickets)
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            stem = self.output_dir / f"ticket-{number:04d}"
            stem.with_suffix(".txt").write_text(ticket.as_text(), encoding="utf-8")
            render_preview(ticket, self.width_dots).save(stem.with_suffix(".png"))

    def _parser(self, reply: Callable[[bytes], object]) -> EscPosParser:
        return EscPosParser(self._on_ticket, self._answer, reply)

    # -- TCP ----------------------------------------------------------------------------

    def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen (port 0 picks a free port, returned); one parser per connection."""
        server = socket.create_server((host, port))
        server.settimeout(0.1)
        self._server = server
        self.port = server.getsockname()[1]
        thread = threading.Thread(target=self._accept_loop, name="printer-emu", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self.port

    def _accept_loop(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            thread = threading.Thread(target=self._serve_conn, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve_conn(self, conn: socket.socket) -> None:
        def reply(data: bytes) -> None:
            with contextlib.suppress(OSError):
                conn.sendall(data)

        parser = self._parser(reply)
        with conn:
            while not self._stop.is_set():
                ready, _, _ = select.select([conn], [], [], 0.1)
                if not ready:
                    continue
                try:
                    data = conn.recv(65536)
                except OSError:
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

    def _on_pty_bytes(self, data: bytes) -> None:
        assert self._pty_parser is not None
        self._pty_parser.feed(data)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()
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
