"""Printer capabilities as data: paper width, character set, Chinese mode, QR, cut.

python-escpos ships profiles too, but none of them lists GB18030 and their media widths are
often "Unknown"; a hall needs a handful of known-good profiles, chosen by name in config.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Charset(enum.Enum):
    GB18030 = "gb18030"  # Chinese printers with the full GB18030 font (4-byte codes too)
    GBK = "gbk"  # Chinese printers whose font stops at GBK (most cheap 58 mm heads)
    LATIN = "latin"  # no Chinese font at all: ASCII/PC437 only


@dataclass(frozen=True)
class PrinterProfile:
    """``width_dots`` at 203 dpi: 384 for 58 mm paper, 576 for 80 mm. ``columns`` is the
    number of font-A (12-dot) half-width characters per line. ``chinese_mode`` sends
    ``FS &`` after ``ESC @`` because many heads boot in single-byte mode."""

    name: str
    width_dots: int
    charset: Charset
    chinese_mode: bool = True
    native_qr: bool = True
    qr_module: int = 6  # dots per QR module
    partial_cut: bool = True
    has_cutter: bool = True
    code_page: int = 0  # ESC t n for the Latin profile (0 = PC437)
    big_number: int = 4  # GS ! multiplier for the ticket label
    # False for printers that cannot answer (one-way USB, TX-only serial cable, print
    # servers that drop the back channel): tickets are sent blind, reported "unconfirmed".
    return_channel: bool = True
    # Slowest print speed the hall's heads run at; bounds how long a ticket may take.
    speed_mm_s: float = 50.0

    @property
    def columns(self) -> int:
        return self.width_dots // 12


PROFILES: dict[str, PrinterProfile] = {
    p.name: p
    for p in (
        PrinterProfile("58mm-gb18030", 384, Charset.GB18030, qr_module=5),
        PrinterProfile("80mm-gb18030", 576, Charset.GB18030, qr_module=7),
        PrinterProfile("58mm-gbk", 384, Charset.GBK, qr_module=5),
        PrinterProfile("80mm-gbk", 576, Charset.GBK, qr_module=7),
        PrinterProfile("58mm-latin", 384, Charset.LATIN, chinese_mode=False, qr_module=5),
        PrinterProfile("80mm-latin", 576, Charset.LATIN, chinese_mode=False, qr_module=7),
        # Heads without the GS ( k QR command: the QR is sent as a raster image.
        PrinterProfile("58mm-gbk-raster-qr", 384, Charset.GBK, native_qr=False, qr_module=5),
        # No return channel: printed blind, never counted as printed.
        PrinterProfile("58mm-gbk-oneway", 384, Charset.GBK, qr_module=5, return_channel=False),
        PrinterProfile(
            "80mm-gb18030-oneway", 576, Charset.GB18030, qr_module=7, return_channel=False
        ),
    )
}


def get_profile(name: str) -> PrinterProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown printer profile {name!r}; known: {sorted(PROFILES)}") from None
