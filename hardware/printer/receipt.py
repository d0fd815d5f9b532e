"""The receipt of a promised case (受理回执), as ESC/POS bytes, apart from any transport.

Printed by the window's printer when finishing a ticket opens a case file: the case
number (办件编号), the service, the acceptance day and the due day, the check code that
proves the case at a kiosk (``casefile.lookup``) and a QR code of the ticket's phone page,
which follows the case until delivery. Same builder as the ticket (:mod:`.ticket`), so
encoding, wrapping and the QR's quiet zone are the ticket's.
"""

from __future__ import annotations

from dataclasses import dataclass

from hardware.printer.profile import Charset, PrinterProfile
from hardware.printer.ticket import ESC_INIT, FS_CHINESE_ON, RenderedTicket, _Builder

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "受理回执",
        "number": "办件编号",
        "accepted": "受理日期 {date}",
        "due": "承诺办结日期 {date}",
        "due_days": "承诺 {n} 个工作日内办结",
        "check": "查询校验码 {check}",
        "scan": "扫码查看办理进度",
        "kiosk": "也可在自助机输入办件编号和校验码查询",
    },
    "en": {
        "title": "Receipt of your application",
        "number": "Case number",
        "accepted": "Accepted {date}",
        "due": "Due {date}",
        "due_days": "Done within {n} working days",
        "check": "Check code: {check}",
        "scan": "Scan to follow your case",
        "kiosk": "Or enter the case number and check code at a kiosk",
    },
}


@dataclass(frozen=True)
class CaseReceipt:
    """What ``casefile.receipt`` answered, with names in the receipt's language."""

    hall_name: str
    service_name: str
    number: str
    opened_on: str
    due_on: str | None
    promised_days: int
    check: str
    qr_url: str
    language: str = "zh"


def render_receipt(receipt: CaseReceipt, profile: PrinterProfile) -> RenderedTicket:
    b = _Builder(profile)
    language = receipt.language if receipt.language in LABELS else "en"
    if profile.charset is Charset.LATIN:
        language = "en"
    labels = LABELS[language]
    b.raw(ESC_INIT)
    if profile.charset is Charset.LATIN:
        b.raw(b"\x1bt" + bytes((profile.code_page,)))
    elif profile.chinese_mode:
        b.raw(FS_CHINESE_ON)
    b.style(align="center", bold=True)
    b.text(receipt.hall_name, optional=True)
    b.text(labels["title"])
    b.text(receipt.service_name, optional=True)
    b.style(align="center")
    b.text(labels["number"])
    b.style(align="center", bold=True, size=2 if profile.columns >= 32 else 1)
    b.text(receipt.number)
    b.style(align="center")
    b.text(labels["accepted"].format(date=receipt.opened_on))
    if receipt.due_on:
        b.style(align="center", bold=True)
        b.text(labels["due"].format(date=receipt.due_on))
    else:  # no calendar loaded yet: the promise, counted when it is
        b.text(labels["due_days"].format(n=receipt.promised_days))
    b.qr(receipt.qr_url)
    b.style(align="center")
    b.text(labels["scan"])
    b.style(align="center", bold=True)
    b.text(labels["check"].format(check=receipt.check))
    b.style(align="center")
    b.text(labels["kiosk"], optional=True)
    b.style(align="left")
    if profile.has_cutter:
        b.out.cut(mode="PART" if profile.partial_cut else "FULL")
    else:
        b.raw(b"\x1bd\x06")
    return RenderedTicket(
        b.out.output, b.lines, receipt.qr_url, report=b.report, unprintable=b.unprintable
    )
