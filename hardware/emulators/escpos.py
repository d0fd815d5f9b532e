"""An ESC/POS stream parser: the printer's side of the byte stream, command by command.

It consumes each command with its exact parameter length (``GS v 0`` and ``GS ( k``
carry their own lengths), so a ``10 04`` inside raster data is image data, not a status
query. Unknown commands are consumed conservatively and listed in ``Ticket.unknown``.

Output: :class:`Ticket` objects (text lines, QR payloads, raster images, cut), one per cut.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

NEED_MORE = -1


@dataclass
class Raster:
    width: int  # dots
    height: int
    data: bytes  # GS v 0 layout: rows of width/8 bytes, 1 = black

    def to_image(self) -> Image.Image:
        image = Image.new("1", (self.width, self.height), 1)
        row_bytes = self.width // 8
        for y in range(self.height):
            for xb in range(row_bytes):
                byte = self.data[y * row_bytes + xb]
                if not byte:
                    continue
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        image.putpixel((xb * 8 + bit, y), 0)
        return image


@dataclass
class Line:
    text: str
    align: int = 0
    bold: bool = False
    width: int = 1
    height: int = 1


@dataclass
class QrCode:
    payload: str
    module: int
    ecc: int


@dataclass
class Ticket:
    lines: list[Line] = field(default_factory=list)
    qr_codes: list[QrCode] = field(default_factory=list)
    rasters: list[Raster] = field(default_factory=list)
    # Order of items as printed: ("line", i) / ("qr", i) / ("raster", i)
    items: list[tuple[str, int]] = field(default_factory=list)
    cut: str = ""
    chinese_mode: bool = False
    unknown: list[str] = field(default_factory=list)
    raw: bytes = b""

    @property
    def text_lines(self) -> list[str]:
        return [line.text for line in self.lines]

    @property
    def qr_payloads(self) -> list[str]:
        return [q.payload for q in self.qr_codes]

    def as_text(self) -> str:
        out = []
        for kind, index in self.items:
            if kind == "line":
                out.append(self.lines[index].text)
            elif kind == "qr":
                out.append(f"[QR] {self.qr_codes[index].payload}")
            else:
                r = self.rasters[index]
                out.append(f"[image {r.width}x{r.height}]")
        return "\n".join(out) + "\n"


# Fixed-length commands: prefix -> number of parameter bytes after the prefix.
FIXED: dict[bytes, int] = {
    b"\x1b@": 0,
    b"\x1b!": 1,
    b"\x1bE": 1,
    b"\x1b-": 1,
    b"\x1ba": 1,
    b"\x1bd": 1,
    b"\x1bJ": 1,
    b"\x1bt": 1,
    b"\x1bM": 1,
    b"\x1bG": 1,
    b"\x1b{": 1,
    b"\x1b2": 0,
    b"\x1b3": 1,
    b"\x1bV": 1,
    b"\x1b ": 1,
    b"\x1bR": 1,
    b"\x1bp": 3,
    b"\x1bc5": 1,
    b"\x1b$": 2,
    b"\x1bB": 2,
    b"\x1bi": 0,
    b"\x1bm": 0,
    b"\x1d!": 1,
    b"\x1dB": 1,
    b"\x1dh": 1,
    b"\x1dw": 1,
    b"\x1dH": 1,
    b"\x1df": 1,
    b"\x1dr": 1,
    b"\x1dL": 2,
    b"\x1dW": 2,
    b"\x1da": 1,
    b"\x1db": 1,
    b"\x1dI": 1,
    b"\x1c&": 0,
    b"\x1c.": 0,
    b"\x1c!": 1,
    b"\x1cC": 1,
    b"\x1c-": 1,
    b"\x1cW": 1,
    b"\x1cS": 2,
    b"\x10\x04": 1,
    b"\x10\x05": 1,
    b"\x10\x14": 3,
}


def gs_r_answer(paper_sensor: int | None) -> int:
    """``GS r 1``'s byte from a ``DLE EOT 4`` byte: near end in bits 0-1, paper end in
    bits 2-3, bit 4 always 0 (so it can never be mistaken for a ``DLE EOT`` answer, whose
    bit 4 is always 1)."""
    value = paper_sensor or 0
    return (0x03 if value & 0x0C else 0) | (0x0C if value & 0x60 else 0)


THREE_BYTE_PREFIXES = {p[:2] for p in FIXED if len(p) == 3} | {b"\x1dv"}


class EscPosParser:
    """Feed bytes; completed tickets go to ``on_ticket``, status queries to ``on_query``.

    ``on_query(n)`` returns the byte to answer (or None for a silent printer); the answer
    goes out through ``reply`` at once, as a real printer answers DLE EOT in real time.
    ``on_gs_r(n)`` gets ``GS r n``, which a printer answers only once it has processed
    everything before it; the caller decides when (the emulator's print engine does).
    Without it ``GS r`` is answered at once from ``on_query(4)``'s paper bits.
    """

    def __init__(
        self,
        on_ticket: Callable[[Ticket], None],
        on_query: Callable[[int], int | None] = lambda n: 0x12,
        reply: Callable[[bytes], object] = lambda data: None,
        max_buffer: int = 4 * 1024 * 1024,
        on_gs_r: Callable[[int], None] | None = None,
    ) -> None:
        self.on_ticket = on_ticket
        self.on_gs_r = on_gs_r
        self.on_query = on_query
        self.reply = reply
        self.max_buffer = max_buffer
        self._buf = bytearray()
        self._text = bytearray()
        self._raw = bytearray()
        self._reset_style()
        self.ticket = Ticket()
        self._done: Ticket | None = None
        self._gs_r: int | None = None
        self.queries: list[int] = []
        self._qr_store = b""
        self._qr_module = 3
        self._qr_ecc = 48

    def _reset_style(self) -> None:
        self.align = 0
        self.bold = False
        self.width = 1
        self.height = 1
        self.chinese = False

    def feed(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > self.max_buffer:
            raise ValueError("ESC/POS command larger than the emulator accepts")
        while self._buf:
            used = self._step()
            if used == NEED_MORE:
                return
            chunk = bytes(self._buf[:used])
            del self._buf[:used]
            if not chunk.startswith(b"\x10\x04"):
                self._raw += chunk
            done, self._done = self._done, None
            if done is not None:
                done.raw = bytes(self._raw)
                self._raw.clear()
                self.on_ticket(done)
            gs_r, self._gs_r = self._gs_r, None
            if gs_r is not None:
                # After the ticket it follows, so an engine sees them in stream order.
                if self.on_gs_r is not None:
                    self.on_gs_r(gs_r)
                else:
                    self.reply(bytes((gs_r_answer(self.on_query(4)),)))

    # -- text ----------------------------------------------------------------------------

    def _codec(self) -> str:
        return "gb18030" if self.chinese else "cp437"

    def _flush_line(self, force: bool = False) -> None:
        if not self._text and not force:
            return
        text = bytes(self._text).decode(self._codec(), errors="replace")
        self._text.clear()
        self.ticket.lines.append(Line(text, self.align, self.bold, self.width, self.height))
        self.ticket.items.append(("line", len(self.ticket.lines) - 1))

    def _finish_ticket(self, cut: str) -> None:
        self._flush_line()
        self.ticket.cut = cut
        self._done, self.ticket = self.ticket, Ticket(chinese_mode=self.chinese)

    # -- commands ------------------------------------------------------------------------

    def _step(self) -> int:  # noqa: C901 - one branch per command family
        buf = self._buf
        first = buf[0]
        if first == 0x0A:
            self._flush_line(force=True)
            return 1
        if first in (0x0D, 0x09, 0x00):
            return 1
        if first == 0x0C:
            self._flush_line()
            return 1
        if first not in (0x10, 0x1B, 0x1C, 0x1D):
            # Text: a GB18030 lead byte in Chinese mode takes its trail bytes with it, so a
            # trail byte equal to 0x10/0x1B is never taken for a command.
            if self.chinese and first >= 0x81:
                if len(buf) < 2:
                    return NEED_MORE
                size = 4 if 0x30 <= buf[1] <= 0x39 else 2
                if len(buf) < size:
                    return NEED_MORE
                self._text += buf[:size]
                return size
            self._text.append(first)
            return 1
        if len(buf) < 2:
            return NEED_MORE
        if len(buf) < 3 and bytes(buf[:2]) in THREE_BYTE_PREFIXES:
            return NEED_MORE  # e.g. "GS v" may still become "GS v 0"
        # Variable-length commands first.
        if buf[:3] == b"\x1dv0":
            if len(buf) < 8:
                return NEED_MORE
            xbytes = buf[4] | buf[5] << 8
            height = buf[6] | buf[7] << 8
            total = 8 + xbytes * height
            if len(buf) < total:
                return NEED_MORE
            self._flush_line()
            self.ticket.rasters.append(Raster(xbytes * 8, height, bytes(buf[8:total])))
            self.ticket.items.append(("raster", len(self.ticket.rasters) - 1))
            return total
        if buf[:2] in (b"\x1d(", b"\x1d8"):
            return self._gs_paren(buf)
        if buf[:2] == b"\x1dV":
            if len(buf) < 3:
                return NEED_MORE
            mode = buf[2]
            size = 4 if mode in (65, 66, 97, 98, 103, 104) else 3
            if len(buf) < size:
                return NEED_MORE
            self._finish_ticket("partial" if mode in (1, 49, 66) else "full")
            return size
        if buf[:2] == b"\x1dk":
            return self._barcode(buf)
        if buf[:2] == b"\x1b*":
            if len(buf) < 5:
                return NEED_MORE
            dots = buf[3] | buf[4] << 8
            total = 5 + dots * (3 if buf[2] in (32, 33) else 1)
            return total if len(buf) >= total else NEED_MORE
        for prefix_len in (3, 2):
            prefix = bytes(buf[:prefix_len])
            if prefix in FIXED:
                total = prefix_len + FIXED[prefix]
                if len(buf) < total:
                    return NEED_MORE
                self._apply(prefix, bytes(buf[prefix_len:total]))
                return total
        self.ticket.unknown.append(bytes(buf[:2]).hex(" "))
        return 2

    def _apply(self, prefix: bytes, args: bytes) -> None:
        if prefix == b"\x1b@":
            self._flush_line()
            self._reset_style()
        elif prefix == b"\x1ba":
            self.align = args[0] % 48 if args[0] >= 48 else args[0]
        elif prefix == b"\x1bE":
            self.bold = bool(args[0] & 1)
        elif prefix == b"\x1d!":
            self.width = (args[0] >> 4) + 1
            self.height = (args[0] & 0x0F) + 1
        elif prefix == b"\x1b!":
            self.width = 2 if args[0] & 0x20 else 1
            self.height = 2 if args[0] & 0x10 else 1
            self.bold = bool(args[0] & 0x08)
        elif prefix == b"\x1c&":
            self._flush_line()
            self.chinese = True
            self.ticket.chinese_mode = True
        elif prefix == b"\x1c.":
            self._flush_line()
            self.chinese = False
        elif prefix == b"\x1bd":
            self._flush_line()
        elif prefix == b"\x1dr":
            self._gs_r = args[0]
        elif prefix == b"\x10\x04":
            n = args[0]
            self.queries.append(n)
            answer = self.on_query(n)
            if answer is not None:
                self.reply(bytes((answer,)))

    def _gs_paren(self, buf: bytearray) -> int:
        # GS ( fn pL pH ... (GS 8 L uses 4 length bytes).
        if buf[1] == 0x38:
            if len(buf) < 7:
                return NEED_MORE
            size = int.from_bytes(buf[3:7], "little")
            total = 7 + size
            return total if len(buf) >= total else NEED_MORE
        if len(buf) < 5:
            return NEED_MORE
        size = buf[3] | buf[4] << 8
        total = 5 + size
        if len(buf) < total:
            return NEED_MORE
        body = bytes(buf[5:total])
        if buf[2] == ord("k") and len(body) >= 2 and body[0] == ord("1"):
            fn = body[1]
            if fn == ord("C") and len(body) >= 3:
                self._qr_module = body[2]
            elif fn == ord("E") and len(body) >= 3:
                self._qr_ecc = body[2]
            elif fn == ord("P"):
                self._qr_store = body[3:]
            elif fn == ord("Q"):
                self._flush_line()
                payload = self._qr_store.decode("utf-8", errors="replace")
                self.ticket.qr_codes.append(QrCode(payload, self._qr_module, self._qr_ecc))
                self.ticket.items.append(("qr", len(self.ticket.qr_codes) - 1))
        return total

    def _barcode(self, buf: bytearray) -> int:
        if len(buf) < 3:
            return NEED_MORE
        m = buf[2]
        if m <= 6:
            end = buf.find(b"\x00", 3)
            return end + 1 if end >= 0 else NEED_MORE
        if len(buf) < 4:
            return NEED_MORE
        total = 4 + buf[3]
        return total if len(buf) >= total else NEED_MORE
