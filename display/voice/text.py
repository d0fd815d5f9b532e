"""What an announcement says, built as words before any engine turns it into sound.

A call becomes a :class:`Script`: a chime, then one :class:`Phrase` per language, the
whole block twice. A phrase is a tuple of *word names* (``"please"``, ``"letter_a"``,
``"digit_0"``, ``"window"`` ...). The same names serve three renderings, so the three can
never disagree:

* ``Phrase.text``: what a person reads ("请 A012 号 到 3 号窗口办理"), for logs, screens
  and tests;
* :func:`espeak_text`: pinyin with tone numbers for espeak-ng's ``cmn-latn-pinyin`` voice
  (its ``cmn`` voice misreads characters, so we never hand it Hanzi), plain English for
  ``en``;
* the clip file names a recorded clip set must hold (``zh/please.wav`` ...).

Ticket numbers are always read digit by digit ("A 零 一 二", never "十二") and letters are
spelled, because a citizen compares what they hear with the paper in their hand. Window
numbers are read as a number by default ("十二号窗口", "window twelve"), which is how
halls say them; ``window_reading="digits"`` reads them digit by digit instead. Windows
from 1,000 up are always read digit by digit.

Pure: no I/O, no engine, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from .exceptions import CallRequestError

CHINESE = "zh"
ENGLISH = "en"
SPOKEN_LANGUAGES = (CHINESE, ENGLISH)
"""Languages the voice can speak. Every call is spoken in Chinese; a ticket in English
gets English too. Other ticket languages (Mongolian, ``"mn"``) are shown on screens by
the display but spoken in Chinese only until a hall supplies a phrase table and clips."""

PAUSE = "pause"
"""A word name that is not a clip: a short breath inside a phrase (a comma)."""

_TICKET = re.compile(r"^[A-Z0-9]{1,12}$")


class CallKind(StrEnum):
    CALL = "call"
    RECALL = "recall"
    TRANSFER = "transfer-call"


@dataclass(frozen=True)
class CallRequest:
    """One call event as the voice needs it: nothing about the citizen but the ticket."""

    ticket: str
    window: int
    language: str = CHINESE
    kind: CallKind = CallKind.CALL

    def __post_init__(self) -> None:
        ticket = str(self.ticket).strip().upper()
        if not _TICKET.match(ticket):
            raise CallRequestError(f"ticket {self.ticket!r} is not letters and digits")
        if isinstance(self.window, bool) or not isinstance(self.window, int):
            raise CallRequestError(f"window {self.window!r} is not a whole number")
        if self.window < 1:
            raise CallRequestError(f"window {self.window} is not a window number")
        try:
            kind = CallKind(self.kind)
        except ValueError:
            raise CallRequestError(f"unknown call kind {self.kind!r}") from None
        object.__setattr__(self, "ticket", ticket)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "language", str(self.language).strip().lower() or CHINESE)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages this call is spoken in, Chinese first."""
        if self.language != CHINESE and self.language in SPOKEN_LANGUAGES:
            return (CHINESE, self.language)
        return (CHINESE,)


@dataclass(frozen=True)
class Phrase:
    """One sentence in one language, as word names plus the text a person would read."""

    language: str
    words: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Pause:
    milliseconds: int


@dataclass(frozen=True)
class Chime:
    pass


ScriptItem = Phrase | Pause | Chime


@dataclass(frozen=True)
class Script:
    items: tuple[ScriptItem, ...]

    @property
    def phrases(self) -> tuple[Phrase, ...]:
        return tuple(i for i in self.items if isinstance(i, Phrase))

    @property
    def text(self) -> str:
        """All spoken sentences, for a log line or a caption."""
        return " / ".join(p.text for p in self.phrases)


@dataclass(frozen=True)
class TextOptions:
    """How calls are worded and paced. Defaults suit a hall loudspeaker."""

    window_reading: Literal["number", "digits"] = "number"
    after_chime_ms: int = 250
    between_languages_ms: int = 500
    between_repeats_ms: int = 900
    between_calls_ms: int = 700


# -- word tables -----------------------------------------------------------------------

_DIGITS = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
_LETTERS = tuple(chr(c) for c in range(ord("A"), ord("Z") + 1))

ZH_PINYIN: dict[str, str] = {
    "please": "qing3",
    "number": "hao4",
    "to": "dao4",
    "transfer_to": "zhuan3 dao4",
    "window": "hao4 chuang1 kou3",
    "for_service": "ban4 li3",
    "calling_again": "zai4 ci4 hu1 jiao4",
    "ten": "shi2",
    "hundred": "bai3",
    **{
        f"digit_{d}": p
        for d, p in zip(
            _DIGITS,
            ("ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3"),
            strict=True,
        )
    },
    # The pinyin voice reads a lone capital as the letter's name ("A" -> ei).
    **{f"letter_{c.lower()}": c for c in _LETTERS},
}

ZH_HANZI: dict[str, str] = {
    "please": "请",
    "number": "号",
    "to": "到",
    "transfer_to": "转到",
    "window": "号窗口",
    "for_service": "办理",
    "calling_again": "再次呼叫",
    "ten": "十",
    "hundred": "百",
    **{f"digit_{d}": h for d, h in zip(_DIGITS, "零一二三四五六七八九", strict=True)},
    **{f"letter_{c.lower()}": c for c in _LETTERS},
}

_EN_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_EN_TEENS = (
    "ten", "eleven", "twelve", "thirteen", "fourteen",
    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_EN_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

EN_WORDS: dict[str, str] = {
    "number": "Number",
    "please_go_to": "please go to",
    "please_move_to": "please move to",
    "window": "window",
    "calling_again": "Calling again",
    "hundred": "hundred",
    **{f"digit_{d}": w for d, w in zip(_DIGITS, _EN_UNITS, strict=True)},
    **{w: w for w in _EN_TEENS + _EN_TENS},
    **{f"letter_{c.lower()}": c for c in _LETTERS},
    # Alone, espeak-ng reads "A" as the article and "I" as the pronoun; give it the
    # letter names as phonemes.
    "letter_a": "[['eI]]",
    "letter_i": "[['aI]]",
}

ESPEAK_WORDS = {CHINESE: ZH_PINYIN, ENGLISH: EN_WORDS}

CLIP_NAMES: dict[str, tuple[str, ...]] = {
    lang: tuple(sorted(table)) for lang, table in ESPEAK_WORDS.items()
}
"""Every clip a complete set holds, per language: ``<dir>/<lang>/<name>.wav``."""


# -- reading numbers -------------------------------------------------------------------


def _spell(chars: str) -> list[str]:
    return [f"digit_{c}" if c.isdigit() else f"letter_{c.lower()}" for c in chars]


def _zh_number(n: int) -> list[str]:
    """1..999 the way a hall says a window: 十二, 二十, 一百零五, 一百一十."""
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds:
        words += [f"digit_{hundreds}", "hundred"]
        if rest and tens == 0:
            words.append("digit_0")
    if tens:
        if hundreds or tens > 1:
            words.append(f"digit_{tens}")
        words.append("ten")
    if units:
        words.append(f"digit_{units}")
    return words


def _en_number(n: int) -> list[str]:
    """1..999 in English words: twelve, twenty one, one hundred five."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds:
        words += [f"digit_{hundreds}", "hundred"]
    if 10 <= rest < 20:
        words.append(_EN_TEENS[rest - 10])
    else:
        tens, units = divmod(rest, 10)
        if tens:
            words.append(_EN_TENS[tens - 2])
        if units:
            words.append(f"digit_{units}")
    return words


def window_words(window: int, language: str, options: TextOptions = TextOptions()) -> list[str]:
    if options.window_reading == "digits" or window >= 1000:
        return _spell(str(window))
    return _zh_number(window) if language == CHINESE else _en_number(window)


# -- phrases ---------------------------------------------------------------------------


def phrase(call: CallRequest, language: str, options: TextOptions = TextOptions()) -> Phrase:
    """The sentence for ``call`` in ``language`` (``"zh"`` or ``"en"``)."""
    ticket = _spell(call.ticket)
    window = window_words(call.window, language, options)
    if language == CHINESE:
        lead = ["calling_again", PAUSE] if call.kind is CallKind.RECALL else []
        verb = "transfer_to" if call.kind is CallKind.TRANSFER else "to"
        words = [*lead, "please", *ticket, "number", PAUSE, verb, *window, "window"]
        words.append("for_service")
        text = f"请 {call.ticket} 号 {ZH_HANZI[verb]} {call.window} 号窗口办理"
        if lead:
            text = f"再次呼叫 {text}"
    elif language == ENGLISH:
        verb = "please_move_to" if call.kind is CallKind.TRANSFER else "please_go_to"
        spelled = " ".join(call.ticket)
        words = ["number", *ticket, PAUSE, verb, "window", *window]
        text = f"Number {spelled}, {EN_WORDS[verb]} window {call.window}"
        if call.kind is CallKind.RECALL:
            words = ["calling_again", PAUSE, *words]
            text = f"Calling again: number {spelled}, {EN_WORDS[verb]} window {call.window}"
    else:
        raise CallRequestError(f"no phrase table for language {language!r}")
    return Phrase(language, tuple(words), text)


def build_script(
    calls: Sequence[CallRequest], repeats: int = 2, options: TextOptions = TextOptions()
) -> Script:
    """Chime, then each call in each of its languages; the whole block ``repeats`` times.

    Several calls make one script only when the queue batches a backlog; then ``repeats``
    is 1 and calls follow one another after a single chime.
    """
    if not calls:
        raise CallRequestError("an announcement needs at least one call")
    if repeats < 1:
        raise CallRequestError("an announcement is spoken at least once")
    items: list[ScriptItem] = [Chime(), Pause(options.after_chime_ms)]
    for r in range(repeats):
        if r:
            items.append(Pause(options.between_repeats_ms))
        for c, call in enumerate(calls):
            if c:
                items.append(Pause(options.between_calls_ms))
            for n, language in enumerate(call.languages):
                if n:
                    items.append(Pause(options.between_languages_ms))
                items.append(phrase(call, language, options))
    return Script(tuple(items))


def espeak_text(p: Phrase) -> str:
    """The phrase as espeak-ng should read it with the voice from :func:`espeak_voice`."""
    table = ESPEAK_WORDS[p.language]
    out: list[str] = []
    for word in p.words:
        if word == PAUSE:
            if out:
                out[-1] += ","
            continue
        out.append(table[word])
    return " ".join(out)


def espeak_voice(language: str) -> str:
    return {CHINESE: "cmn-latn-pinyin", ENGLISH: "en"}[language]


__all__ = [
    "CHINESE",
    "CLIP_NAMES",
    "ENGLISH",
    "ESPEAK_WORDS",
    "PAUSE",
    "SPOKEN_LANGUAGES",
    "CallKind",
    "CallRequest",
    "Chime",
    "Pause",
    "Phrase",
    "Script",
    "TextOptions",
    "build_script",
    "espeak_text",
    "espeak_voice",
    "phrase",
    "window_words",
]
