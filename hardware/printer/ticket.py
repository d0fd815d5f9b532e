"""Ticket layout as ESC/POS bytes, apart from any transport.

python-escpos builds the commands it gets right (sizes via ``GS !``, bold, alignment,
``GS ( k`` QR, cut); text bytes are encoded here (:mod:`hardware.printer.text`) because its
own encoding choice misprints Chinese. Note its ``set(normal_textsize=True)`` leaves a
``GS !`` size in force, so sizes are always reset with ``GS ! 0``.

Every line the layout means to print is also returned as text (``RenderedTicket.lines``)
so tests and the emulator can compare what was intended with what arrived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import qrcode
from escpos.constants import QR_ECLEVEL_M
from escpos.image import EscposImage
from escpos.printer import Dummy
from PIL import Image

from hardware.printer.profile import Charset, PrinterProfile
from hardware.printer.text import encode_text, wrap

ESC_INIT = b"\x1b@"
FS_CHINESE_ON = b"\x1c&"
QUIET_ZONE_MODULES = 4  # ISO/IEC 18004 asks for four modules of white around the symbol

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "ahead": "前面还有 {n} 人",
        "check": "评价校验码 {check}",
        "wait": "预计等待约 {n} 分钟",
        "issued": "取号时间 {t}",
        "scan": "扫码查看排队进度",
        "materials": "所需材料：",
        "reprint": "** 补打 **",
    },
    "en": {
        "ahead": "{n} people ahead of you",
        "ahead_0": "No one ahead of you",
        "ahead_1": "1 person ahead of you",
        "check": "Check code for rating: {check}",
        "wait": "Estimated wait: about {n} min",
        "issued": "Issued {t}",
        "scan": "Scan to follow your turn",
        "materials": "Required materials:",
        "reprint": "** REPRINT **",
    },
}


@dataclass(frozen=True)
class TicketPrint:
    """What the kiosk asks to print. ``service_name`` is in the ticket's language,
    ``service_name_zh`` in Chinese; ``hall_name_en``, ``service_name_en`` and
    ``materials_en`` are used on printers without Chinese."""

    hall_name: str
    service_name: str
    service_name_zh: str
    label: str
    people_ahead: int
    wait_minutes: int | None
    issued_at: datetime
    qr_url: str
    materials: tuple[str, ...] = ()
    footer: str = ""
    language: str = "zh"
    hall_name_en: str = ""
    service_name_en: str = ""
    materials_en: tuple[str, ...] = ()
    #: Where to go ("请到 户籍区 · 3–7 号窗口"), in the ticket's language.
    where: str = ""
    where_en: str = ""
    #: "优先 · 老年人", "预约": a guide and the clerk see at a glance why this number.
    mark: str = ""
    mark_en: str = ""
    #: The 4-digit code that proves the ticket is the holder's when rating at a kiosk.
    check: str = ""


@dataclass
class RenderedTicket:
    data: bytes
    lines: list[str]
    qr_payload: str
    report: list[str] = field(default_factory=list)
    unprintable: list[str] = field(default_factory=list)


class _Builder:
    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self.out = Dummy()
        self.lines: list[str] = []
        self.report: list[str] = []
        self.unprintable: list[str] = []
        self.size = 1

    def raw(self, data: bytes) -> None:
        self.out._raw(data)

    def style(self, *, align: str = "left", bold: bool = False, size: int = 1) -> None:
        self.out.set(align=align, bold=bold)
        self.out.set(custom_size=True, width=size, height=size)
        self.size = size

    def text(self, text: str, *, optional: bool = False) -> bool:
        """Print wrapped text. An ``optional`` line the printer cannot print is left out
        (and reported) rather than printed as placeholders."""
        charset = self.profile.charset
        probe = encode_text(text, charset)
        if probe.unprintable:
            self.unprintable.extend(probe.unprintable)
            if optional and charset is Charset.LATIN:
                self.report.append(f"left out a line this printer cannot print: {len(text)} chars")
                return False
            self.report.append(f"unprintable characters replaced: {''.join(probe.unprintable)!r}")
        for src, dst in probe.substituted:
            self.report.append(f"substituted {src!r} -> {dst!r}")
        # Substitute first, then wrap by printed width: "€" -> "EUR" is three columns.
        for line in wrap(probe.text, max(1, self.profile.columns // self.size), charset):
            encoded = encode_text(line, charset)
            self.raw(encoded.data + b"\n")
            # Record what will come out of the printer, substitutions included.
            codec = "ascii" if charset is Charset.LATIN else charset.value
            self.lines.append(encoded.data.decode(codec, errors="replace"))
        return True

    def feed_dots(self, dots: int) -> None:
        while dots > 0:
            step = min(dots, 255)
            self.raw(b"\x1bJ" + bytes((step,)))
            dots -= step

    def qr(self, payload: str) -> None:
        module = self.profile.qr_module
        quiet = QUIET_ZONE_MODULES * module
        self.style(align="center")
        if self.profile.native_qr:
            # The printer draws only the symbol: the quiet zone is white paper we leave
            # around it (centred, so the sides are wide; feeds above and below).
            self.feed_dots(quiet)
            self.out.qr(payload, native=True, size=module, ec=QR_ECLEVEL_M)
            self.feed_dots(quiet)
        else:
            self.raw(raster_qr(payload, module, self.profile.width_dots))


def qr_image(payload: str, module: int) -> Image.Image:
    """A QR code with a four-module quiet zone (qrcode's default border is already 4)."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=module,
        border=QUIET_ZONE_MODULES,
    )
    code.add_data(payload)
    code.make(fit=True)
    return code.make_image().get_image().convert("1")


def raster_qr(payload: str, module: int, width_dots: int) -> bytes:
    """``GS v 0`` raster of the QR code centred on a full-width canvas.

    Centring is done in the image so it does not depend on the printer honouring
    ``ESC a`` for raster data, and the canvas keeps the quiet zone on every side.
    """
    symbol = qr_image(payload, module)
    if symbol.width > width_dots:
        symbol = qr_image(payload, max(1, module * width_dots // symbol.width))
    canvas = Image.new("1", (width_dots, symbol.height), 1)
    canvas.paste(symbol, ((width_dots - symbol.width) // 2, 0))
    image = EscposImage(canvas)
    header = (
        b"\x1dv0\x00" + image.width_bytes.to_bytes(2, "little") + image.height.to_bytes(2, "little")
    )
    return header + image.to_raster_format()


def render_ticket(
    ticket: TicketPrint, profile: PrinterProfile, *, reprint: bool = False
) -> RenderedTicket:
    b = _Builder(profile)
    language = ticket.language if ticket.language in LABELS else "en"
    if language != ticket.language:
        b.report.append(f"no ticket labels for language {ticket.language!r}; using English")
    if profile.charset is Charset.LATIN and language == "zh":
        language = "en"
        b.report.append("printer has no Chinese font; ticket printed with English labels")
    labels = LABELS[language]

    b.raw(ESC_INIT)
    if profile.charset is Charset.LATIN:
        b.raw(b"\x1bt" + bytes((profile.code_page,)))
    elif profile.chinese_mode:
        b.raw(FS_CHINESE_ON)

    if reprint:
        b.style(align="center", bold=True)
        b.text(labels["reprint"])

    b.style(align="center", bold=True, size=2 if profile.columns >= 32 else 1)
    hall = ticket.hall_name
    if profile.charset is Charset.LATIN and ticket.hall_name_en:
        hall = ticket.hall_name_en
    b.text(hall, optional=True)

    latin = profile.charset is Charset.LATIN
    b.style(align="center", bold=True)
    b.text(
        ticket.service_name_en if latin and ticket.service_name_en else ticket.service_name,
        optional=True,
    )
    if ticket.language != "zh" and ticket.service_name_zh != ticket.service_name:
        b.style(align="center")
        b.text(ticket.service_name_zh, optional=True)

    b.style(align="center", bold=True, size=profile.big_number)
    b.text(ticket.label)

    mark = ticket.mark_en if latin and ticket.mark_en else ticket.mark
    if mark:
        b.style(align="center", bold=True)
        b.text(f"[ {mark} ]")
    where = ticket.where_en if latin and ticket.where_en else ticket.where
    if where:
        b.style(align="center", bold=True)
        b.text(where)

    b.style(align="center")
    ahead = labels.get(f"ahead_{ticket.people_ahead}", labels["ahead"])
    b.text(ahead.format(n=ticket.people_ahead))
    if ticket.wait_minutes is not None:
        b.text(labels["wait"].format(n=ticket.wait_minutes))
    b.text(labels["issued"].format(t=ticket.issued_at.strftime("%Y-%m-%d %H:%M")))

    b.qr(ticket.qr_url)
    b.style(align="center")
    b.text(labels["scan"])
    if ticket.check:
        b.style(align="center", bold=True)
        b.text(labels["check"].format(check=ticket.check))

    materials = ticket.materials_en if latin and ticket.materials_en else ticket.materials
    if materials:
        b.style(align="left", bold=True)
        b.text(labels["materials"])
        b.style(align="left")
        for number, item in enumerate(materials, 1):
            b.text(f"{number}. {item}", optional=True)

    if ticket.footer:
        b.style(align="center")
        b.text(ticket.footer, optional=True)

    b.style(align="left")
    if profile.has_cutter:
        b.out.cut(mode="PART" if profile.partial_cut else "FULL")
    else:
        b.raw(b"\x1bd\x06")
    return RenderedTicket(b.out.output, b.lines, ticket.qr_url, b.report, b.unprintable)
