"""Text to printer bytes, character by character, so nothing unprintable is ever sent.

python-escpos picks an encoding per string and lets full-width punctuation, ``¥`` or rare
ideographs through as bytes a Chinese head misreads. Here each character is checked
against the profile's character set: printable ones are encoded, known look-alikes are
substituted (``¥`` → ``￥``), and the rest become a visible placeholder and are reported so
the kiosk log says which service name needs fixing.

Layout order matters (docs/hardware.md, "Text layout"): substitute first (``€`` → ``EUR``
is three columns, not one), then wrap by each character's *printed* width in the
profile's mode. In Chinese mode every character sent as a multi-byte code prints full
width, two columns — ``— “ ” … é ·`` included, although Unicode calls them narrow or
ambiguous — and only single-byte ASCII is half width.
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
    "\u20ac": "EUR",  # no euro sign in PC437
}
PLACEHOLDER = {Charset.GB18030: "?", Charset.GBK: "\u25a1", Charset.LATIN: "?"}


@dataclass
class EncodedText:
    """``text`` is what the printer will show: substitutions and placeholders applied,
    control characters gone. Wrapping works on it, never on the original."""

    data: bytes
    substituted: list[tuple[str, str]] = field(default_factory=list)
    unprintable: list[str] = field(default_factory=list)
    text: str = ""


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
    shown: list[str] = []
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") and char != "\n":
            out.unprintable.append(char)
            continue
        raw, shown_as = None, char
        if charset is not Charset.LATIN and char in PREFERRED:
            # In range for GB18030 too, but the 4-byte code is the one heads get wrong.
            raw = _substitute(char, charset, out)
            if raw is not None:
                shown_as = out.substituted[-1][1]
        if raw is None:
            raw = _encode_char(char, charset)
        if raw is None:
            raw = _substitute(char, charset, out)
            if raw is not None:
                shown_as = out.substituted[-1][1]
        if raw is None:
            out.unprintable.append(char)
            if strict:
                raise UnprintableText(char, charset.value)
            shown_as = PLACEHOLDER[charset]
            raw = _encode_char(shown_as, charset)
            if raw is None:
                shown_as, raw = "?", b"?"
        shown.append(shown_as)
        data += raw
    out.data = bytes(data)
    out.text = "".join(shown)
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


def display_width(text: str, charset: Charset | None = None) -> int:
    """Printed columns of font A. With a Chinese ``charset`` (the printer in Chinese
    mode) a character sent as a multi-byte code takes two columns, ASCII one; with the
    Latin charset every character is one byte and one column. Without a charset, East
    Asian wide/full-width characters take two (Unicode's view, for screens)."""
    if charset is None:
        return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)
    if charset is Charset.LATIN:
        return len(text)
    codec = "gb18030" if charset is Charset.GB18030 else "gbk"
    width = 0
    for c in text:
        try:
            width += 1 if len(c.encode(codec)) == 1 else 2
        except UnicodeEncodeError:
            width += 2
    return width


def wrap(text: str, columns: int, charset: Charset | None = None) -> list[str]:
    """Wrap at spaces for Latin text and anywhere between CJK characters, measuring each
    character's printed width for ``charset`` (see :func:`display_width`). Give it the
    text as printed (:attr:`EncodedText.text`), substitutions already made."""

    def width_of(part: str) -> int:
        return display_width(part, charset)

    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, width = "", 0
        for word in _tokens(paragraph):
            w = width_of(word)
            if width + w > columns and line:
                lines.append(line.rstrip())
                line, width = "", 0
                word = word.lstrip()
                w = width_of(word)
            while w > columns:  # a single token longer than a line: hard split
                cut, cw = "", 0
                for c in word:
                    if cw + width_of(c) > columns:
                        break
                    cut += c
                    cw += width_of(c)
                if not cut:  # a two-column character on a one-column line
                    cut, cw = word[0], width_of(word[0])
                lines.append(cut)
                word = word[len(cut) :]
                w = width_of(word)
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
