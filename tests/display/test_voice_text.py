"""The words of every kind of call, pinned exactly, in every rendering."""

from __future__ import annotations

import pytest

from display.voice.exceptions import CallRequestError
from display.voice.text import (
    CLIP_NAMES,
    PAUSE,
    CallKind,
    CallRequest,
    Chime,
    Pause,
    Phrase,
    TextOptions,
    build_script,
    espeak_text,
    espeak_voice,
    phrase,
    window_words,
)

A012 = ("letter_a", "digit_0", "digit_1", "digit_2")

# (kind, language) -> (text a person reads, espeak-ng input, word names = clip names)
EXPECTED = {
    (CallKind.CALL, "zh"): (
        "请 A012 号 到 3 号窗口办理",
        "qing3 A ling2 yi1 er4 hao4, dao4 san1 hao4 chuang1 kou3 ban4 li3",
        ("please", *A012, "number", PAUSE, "to", "digit_3", "window", "for_service"),
    ),
    (CallKind.RECALL, "zh"): (
        "再次呼叫 请 A012 号 到 3 号窗口办理",
        "zai4 ci4 hu1 jiao4, qing3 A ling2 yi1 er4 hao4, dao4 san1 hao4 chuang1 kou3 ban4 li3",
        (
            "calling_again",
            PAUSE,
            "please",
            *A012,
            "number",
            PAUSE,
            "to",
            "digit_3",
            "window",
            "for_service",
        ),
    ),
    (CallKind.TRANSFER, "zh"): (
        "请 A012 号 转到 3 号窗口办理",
        "qing3 A ling2 yi1 er4 hao4, zhuan3 dao4 san1 hao4 chuang1 kou3 ban4 li3",
        ("please", *A012, "number", PAUSE, "transfer_to", "digit_3", "window", "for_service"),
    ),
    (CallKind.CALL, "en"): (
        "Number A 0 1 2, please go to window 3",
        "Number [['eI]] zero one two, please go to window three",
        ("number", *A012, PAUSE, "please_go_to", "window", "digit_3"),
    ),
    (CallKind.RECALL, "en"): (
        "Calling again: number A 0 1 2, please go to window 3",
        "Calling again, Number [['eI]] zero one two, please go to window three",
        ("calling_again", PAUSE, "number", *A012, PAUSE, "please_go_to", "window", "digit_3"),
    ),
    (CallKind.TRANSFER, "en"): (
        "Number A 0 1 2, please move to window 3",
        "Number [['eI]] zero one two, please move to window three",
        ("number", *A012, PAUSE, "please_move_to", "window", "digit_3"),
    ),
}


@pytest.mark.parametrize(("kind", "language"), sorted(EXPECTED))
def test_phrase_in_every_rendering(kind: CallKind, language: str) -> None:
    text, espeak, words = EXPECTED[kind, language]
    p = phrase(CallRequest("A012", 3, "en", kind), language)
    assert p == Phrase(language, words, text)
    assert espeak_text(p) == espeak


def test_every_word_has_a_clip_name() -> None:
    for (_, language), (_, _, words) in EXPECTED.items():
        assert {w for w in words if w != PAUSE} <= set(CLIP_NAMES[language])
    for language in ("zh", "en"):
        for n in range(1, 1000):
            assert set(window_words(n, language)) <= set(CLIP_NAMES[language])


def test_voices() -> None:
    # The cmn voice misreads Hanzi; pinyin through cmn-latn-pinyin is correct Mandarin.
    assert espeak_voice("zh") == "cmn-latn-pinyin"
    assert espeak_voice("en") == "en"


def test_chinese_ticket_spoken_twice_with_chime_first() -> None:
    s = build_script([CallRequest("A012", 3)])
    zh = phrase(CallRequest("A012", 3), "zh")
    assert s.items == (Chime(), Pause(250), zh, Pause(900), zh)
    assert s.text == "请 A012 号 到 3 号窗口办理 / 请 A012 号 到 3 号窗口办理"


def test_english_ticket_gets_chinese_then_english_twice() -> None:
    s = build_script([CallRequest("A012", 3, "en")])
    assert [p.language for p in s.phrases] == ["zh", "en", "zh", "en"]
    assert s.items[3] == Pause(500)
    assert s.text == (
        "请 A012 号 到 3 号窗口办理 / Number A 0 1 2, please go to window 3 / "
        "请 A012 号 到 3 号窗口办理 / Number A 0 1 2, please go to window 3"
    )


def test_recall_is_announced_again_in_full() -> None:
    s = build_script([CallRequest("A012", 3, "en", CallKind.RECALL)])
    assert [p.text for p in s.phrases] == [
        "再次呼叫 请 A012 号 到 3 号窗口办理",
        "Calling again: number A 0 1 2, please go to window 3",
    ] * 2


def test_mongolian_ticket_is_called_in_chinese_only() -> None:
    s = build_script([CallRequest("B007", 12, "mn")])
    assert [p.text for p in s.phrases] == ["请 B007 号 到 12 号窗口办理"] * 2


def test_batch_script_one_chime_each_call_once() -> None:
    calls = [CallRequest("A012", 3), CallRequest("B001", 5, "en")]
    s = build_script(calls, repeats=1)
    assert sum(isinstance(i, Chime) for i in s.items) == 1
    assert s.text == (
        "请 A012 号 到 3 号窗口办理 / 请 B001 号 到 5 号窗口办理 / "
        "Number B 0 0 1, please go to window 5"
    )


def test_ticket_digits_are_read_one_by_one_never_as_a_number() -> None:
    p = phrase(CallRequest("A112", 1), "zh")
    assert espeak_text(p).startswith("qing3 A yi1 yi1 er4 hao4,")  # not shi2 er4
    assert "shi2" not in espeak_text(p).split(",")[0]
    p = phrase(CallRequest("a012", 1), "en")
    assert espeak_text(p).startswith("Number [['eI]] zero one two,")


def test_multi_letter_prefix_is_spelled() -> None:
    p = phrase(CallRequest("VIP3", 1), "en")
    assert p.words[:5] == ("number", "letter_v", "letter_i", "letter_p", "digit_3")
    assert espeak_text(p).startswith("Number V [['aI]] P three,")


# Window numbers: read as a number by default (as halls say them), digit by digit with
# window_reading="digits", and always digit by digit from 1000 up.
WINDOWS = {
    1: ("yi1", "one"),
    10: ("shi2", "ten"),
    12: ("shi2 er4", "twelve"),
    20: ("er4 shi2", "twenty"),
    21: ("er4 shi2 yi1", "twenty one"),
    100: ("yi1 bai3", "one hundred"),
    105: ("yi1 bai3 ling2 wu3", "one hundred five"),
    110: ("yi1 bai3 yi1 shi2", "one hundred ten"),
    140: ("yi1 bai3 si4 shi2", "one hundred forty"),
    999: ("jiu3 bai3 jiu3 shi2 jiu3", "nine hundred ninety nine"),
    1024: ("yi1 ling2 er4 si4", "one zero two four"),
}


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_window_read_as_a_number(window: int) -> None:
    zh, en = WINDOWS[window]
    call = CallRequest("A1", window)
    assert espeak_text(phrase(call, "zh")) == (
        f"qing3 A yi1 hao4, dao4 {zh} hao4 chuang1 kou3 ban4 li3"
    )
    assert espeak_text(phrase(call, "en")) == f"Number [['eI]] one, please go to window {en}"
    assert phrase(call, "zh").text == f"请 A1 号 到 {window} 号窗口办理"


def test_window_read_digit_by_digit_when_configured() -> None:
    call = CallRequest("A1", 12)
    options = TextOptions(window_reading="digits")
    assert espeak_text(phrase(call, "zh", options)).endswith(
        "dao4 yi1 er4 hao4 chuang1 kou3 ban4 li3"
    )
    assert espeak_text(phrase(call, "en", options)).endswith("window one two")


@pytest.mark.parametrize(
    ("ticket", "window", "kind"),
    [("", 1, "call"), ("A-12", 1, "call"), ("A012", 0, "call"), ("A012", True, "call"),
     ("A012", "3", "call"), ("A012", 3, "shout"), ("号12", 3, "call")],
)  # fmt: skip
def test_bad_call_requests_are_refused(ticket: str, window: int, kind: str) -> None:
    with pytest.raises(CallRequestError):
        CallRequest(ticket, window, "zh", kind)  # type: ignore[arg-type]


def test_call_request_normalises() -> None:
    c = CallRequest(" a012 ", 3, "EN", "recall")  # type: ignore[arg-type]
    assert (c.ticket, c.language, c.kind) == ("A012", "en", CallKind.RECALL)
    assert c.languages == ("zh", "en")
