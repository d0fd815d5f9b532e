"""Text to printer bytes, character by character, so nothing unprintable is ever sent.

python-escpos picks an encoding per string and lets full-width punctuation, ``¥`` or rare
ideographs through as bytes a Chinese head misreads. Here each character is checked
against the profile's character set: printable ones are encoded, known look-alikes are
substituted (``¥`` → ``￥``), and the rest become a visible placeholder and are reported so
the kiosk log says which service name needs fixing.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from hardware.exceptions import UnprintableText
from hardware.printer.profile import Charset

# Look-alikes inside GBK for characters outside it (or whose cp936 code is non-standard).
GBK_SUBSTITUTES: dict[str, str] = {
    "\u00a5": "\uffe5",  # ¥ -> ￥ (full-width yen/yuan)
    "\u2022": "\u00b7",  # • -> ·
    "\u20ac": "EUR",  # € has no GBK code (cp936's 0x80 is not printable on heads)
    "\u2013": "-",  # – en dash
    "\u00a0": " ",  # no-break space
    "\u2212": "-",  # minus sign
}
PREFERRED = frozenset({"\u00a5"})
# For printers without Chinese: full-width forms fold to ASCII by NFKC; these need a hand.
LATIN_SUBSTITUTES: dict[str, str] = {
    "\u3000": " ",
    "\u3001": ",",
    "\u3002": ".",
    "\uffe5": "Y",
    "\u00a5": "Y",
    "\u2014": "-",
    "\u2013": "-",
    "\u2022": "*",
    "\u00b7": ".",
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
}
PLACEHOLDER = {Charset.GB18030: "?", Charset.GBK: "\u25a1", Charset.LATIN: "?"}


@dataclass
class EncodedText:
    data: bytes
    substituted: list[tuple[str, str]] = field(default_factory=list)
    unprintable: list[str] = field(default_factory=list)


def _encode_char(char: str, charset: Charset) -> bytes | None:
    """The bytes for one character, or None if this charset cannot print it."""
    if charset is Charset.GB18030:
        try:
            raw = char.encode("gb18030")
        except UnicodeEncodeError:
            return None
        return raw
    if charset is Charset.GBK:
        try:
            raw = char.encode("gbk")
        except UnicodeEncodeError:
            return None
        # cp936 maps a few characters to single bytes >= 0x80 that GBK heads do not print.
        return raw if len(raw) == 2 or raw[0] < 0x80 else None
    return char.encode("ascii") if ord(char) < 0x80 else None


def encode_text(text: str, charset: Charset, strict: bool = False) -> EncodedText:
    """Encode ``text`` for a printer; control characters are dropped as unprintable so a
    service name can never smuggle an ESC/POS command onto the ticket."""
    out = EncodedText(b"")
    data = bytearray()
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") and char != "\n":
            out.unprintable.append(char)
            continue
        raw = None
        if charset is not Charset.LATIN and char in PREFERRED:
            # In range for GB18030 too, but the 4-byte code is the one heads get wrong.
            raw = _substitute(char, charset, out)
        if raw is None:
            raw = _encode_char(char, charset)
        if raw is None:
            raw = _substitute(char, charset, out)
        if raw is None:
            out.unprintable.append(char)
            if strict:
                raise UnprintableText(char, charset.value)
            raw = _encode_char(PLACEHOLDER[charset], charset) or b"?"
        data += raw
    out.data = bytes(data)
    return out


def _substitute(char: str, charset: Charset, out: EncodedText) -> bytes | None:
    table = LATIN_SUBSTITUTES if charset is Charset.LATIN else GBK_SUBSTITUTES
    candidate = table.get(char)
    if candidate is None and charset is Charset.LATIN:
        folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", char))
        folded = "".join(c for c in folded if not unicodedata.combining(c))
        if folded and folded.isascii() and folded != char:
            candidate = folded
    if candidate is None:
        return None
    parts = [_encode_char(c, charset) for c in candidate]
    if any(p is None for p in parts):
        return None
    out.substituted.append((char, candidate))
    return b"".join(p for p in parts if p is not None)


def can_print(text: str, charset: Charset) -> bool:
    """True if every character prints as itself or as a documented look-alike."""
    return not encode_text(text, charset).unprintable


def display_width(text: str) -> int:
    """Columns of font A: East Asian wide/full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def wrap(text: str, columns: int) -> list[str]:
    """Wrap at spaces for Latin text and anywhere between CJK characters."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, width = "", 0
        for word in _tokens(paragraph):
            w = display_width(word)
            if width + w > columns and line:
                lines.append(line.rstrip())
                line, width = "", 0
                word = word.lstrip()
                w = display_width(word)
            while w > columns:  # a single token longer than a line: hard split
                cut, cw = "", 0
                for c in word:
                    if cw + display_width(c) > columns:
                        break
                    cut += c
                    cw += display_width(c)
                lines.append(cut)
                word = word[len(cut):]
                w = display_width(word)
            line += word
            width += w
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    """Split into wrap units: a CJK character alone, or a Latin word with its leading space."""
    tokens: list[str] = []
    current = ""
    for c in text:
        if unicodedata.east_asian_width(c) in ("W", "F"):
            if current:
                tokens.append(current)
                current = ""
            tokens.append(c)
        elif c == " " and current.strip():
            tokens.append(current)
            current = c
        else:
            current += c
    if current:
        tokens.append(current)
    return tokens
