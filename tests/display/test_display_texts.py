"""Wording, font search and command line of the display: pure, no window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from display import texts
from display.cli import options_from_args, parser
from display.fonts import FontNotFound, find_cjk_font
from display.state import Call, QueueView, WindowView


def win(status="open", ticket=None, ticket_status=None, reason=None):
    return WindowView(3, "civil", {}, status, ticket, ticket_status, reason, "c")


def test_newest_caption_in_chinese_and_english():
    call = Call("A012", 3, "civil", "A", "zh", recall=False)
    assert texts.newest_caption(call) == ("请到3号窗口办理", "Please go to Window 3")
    again = Call("A012", 3, "civil", "A", "en", recall=True)
    zh, en = texts.newest_caption(again)
    assert "再次呼叫" in zh and "3号窗口" in zh and en.startswith("Again: please go to Window 3")
    assert texts.call_line(call) == "A012 → 3号窗口"


def test_window_display_modes():
    assert texts.window_screen(None)[0] == "unknown"
    assert texts.window_screen(win("closed"))[:2] == ("closed", "")
    mode, big, zh, en = texts.window_screen(win("paused", reason="午休"))
    assert (mode, big) == ("paused", "") and "午休" in zh and en.startswith("Paused")
    mode, big, zh, _ = texts.window_screen(win(ticket="A012", ticket_status="called"))
    assert (mode, big) == ("called", "A012") and "A012" in zh
    assert texts.window_screen(win(ticket="A012", ticket_status="serving"))[:2] == (
        "serving",
        "A012",
    )
    assert texts.window_screen(win())[0] == "idle"


def test_wait_and_tile_and_connection_texts():
    q = QueueView("A", {}, "civil", 12, 15, 2, 300)
    assert texts.wait_text(q) == ("等候 12 人  约 15 分钟", "12 waiting, about 15 min")
    assert texts.wait_text(QueueView("A", {}, None, 0, 0, 0, 0))[0] == "无人等候"
    assert texts.window_tile(win("closed")) == ("暂停服务", "Closed")
    assert texts.window_tile(win(ticket="B001", ticket_status="serving"))[0] == "B001"
    assert texts.connection_text("online", True) == ""
    assert "Reconnecting" in texts.connection_text("offline", False)
    assert "refused" in texts.connection_text("refused", False)
    assert texts.clock_text(dt.datetime(2026, 11, 24, 9, 5, 7)) == (
        "2026年11月24日 星期二",
        "09:05:07",
    )
    assert texts.date_en(dt.datetime(2026, 11, 24, 9, 5, 7)) == "Tue 24 Nov 2026"


def test_the_info_line_speaks_the_turns_language_and_shows_each_item_in_turn():
    zh = ("", "2026年11月24日 星期二", "今日满意率 98.0%  Satisfaction (50)")
    en = ("Linjiang Service Hall", "Tue 24 Nov 2026", "今日满意率 98.0%  Satisfaction (50)")
    from display import layout

    shown = {}
    for turn in range(12):
        lang = layout.language_at(turn)
        shown.setdefault(lang, []).append(
            texts.info_line(turn // len(layout.LANGUAGES), lang, zh, en)
        )
    assert set(shown["zh"]) == {zh[1], zh[2]}  # no English in the Chinese turn
    assert set(shown["en"]) == set(en)  # the English name, date and figure all come round
    assert shown["en"][:3] == list(en)
    assert texts.info_line(5, "zh", ("", ""), ("",)) == ""


def test_fit_font_never_exceeds_the_box_or_the_cap_and_stays_on_the_ladder():
    assert texts.fit_font("A012", 2000, 400, 230) == 220
    small = texts.fit_font("A012", 200, 400, 230)
    assert small * texts.text_width_em("A012") <= 200 and small in texts.FONT_SIZES
    assert texts.fit_font("3号窗口", 1000, 50, 120) == 40
    sizes = {
        texts.fit_font("A012 → 3号窗口", w, h, cap)
        for w in range(50, 2000, 7)
        for h in range(10, 400, 5)
        for cap in (28, 120, 230)
    }
    assert len(sizes) < 40  # Kivy keeps 64 fonts open; more would thrash its cache


def test_font_search_order_and_clear_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("HALLQ_FONT", raising=False)
    font = tmp_path / "cjk.ttf"
    font.write_bytes(b"\0" * 16)
    assert find_cjk_font(font).source == "configured"
    with pytest.raises(FontNotFound, match="does not exist.*fonts-wqy-microhei"):
        find_cjk_font(tmp_path / "missing.ttf")
    bad = tmp_path / "font.txt"
    bad.write_text("x")
    with pytest.raises(FontNotFound, match="not a .ttf"):
        find_cjk_font(bad)
    assert find_cjk_font(None, known=((str(font), 0),), use_fontconfig=False).path == font
    with pytest.raises(FontNotFound, match="no font for Chinese"):
        find_cjk_font(None, known=((str(tmp_path / "none.ttc"), 0),), use_fontconfig=False)
    monkeypatch.setenv("HALLQ_FONT", str(font))
    assert find_cjk_font(None).path == font


def test_this_machine_has_a_cjk_font():
    """The display tests below render Chinese; say plainly if the font is missing."""
    assert Path(find_cjk_font().path).is_file()


def test_command_line_options(monkeypatch, tmp_path):
    monkeypatch.setenv("HALLQ_DISPLAY_TOKEN", "tok")
    notice = tmp_path / "notice.txt"
    notice.write_text("欢迎\n光临\n", encoding="utf-8")
    o = options_from_args(
        parser().parse_args(
            [
                "--areas",
                "civil,party",
                "--portrait",
                "--recent",
                "5",
                "--windowed",
                "--notice-file",
                str(notice),
                "--speak",
                "--voice-engine",
                "espeak",
            ]
        )
    )
    assert o.token == "tok" and o.areas == frozenset({"civil", "party"})
    assert o.portrait and o.recent == 5 and not o.fullscreen and o.speak
    assert o.notice == "欢迎 光临" and o.voice_engine == "espeak"
    o = options_from_args(parser().parse_args(["--token", "t2", "--window", "3"]))
    assert o.token == "t2" and o.window == 3 and o.fullscreen and not o.speak
    monkeypatch.delenv("HALLQ_DISPLAY_TOKEN")
    with pytest.raises(ValueError, match="token"):
        options_from_args(parser().parse_args([]))
    with pytest.raises(ValueError, match="do not go together"):
        options_from_args(parser().parse_args(["--token", "t", "--window", "1", "--areas", "a"]))
    with pytest.raises(ValueError, match="1920x1080"):
        options_from_args(parser().parse_args(["--token", "t", "--size", "big"]))


def test_cli_reports_a_missing_token_without_opening_a_window(monkeypatch, capsys):
    from display.cli import main

    monkeypatch.delenv("HALLQ_DISPLAY_TOKEN", raising=False)
    assert main([]) == 2
    assert "token" in capsys.readouterr().err


def test_speaking_display_without_a_sound_player_builds_no_voice_but_says_why(monkeypatch):
    """``--speak`` on a machine with no audio player: the voice cannot be built; the CLI
    then runs the screen silent (checked here at the builder) rather than not at all."""
    import shutil

    from display.cli import build_voice
    from display.voice.exceptions import VoiceError

    o = options_from_args(parser().parse_args(["--token", "t", "--speak"]))
    real_which = shutil.which
    monkeypatch.setattr(
        shutil,
        "which",
        lambda name, *a, **k: (
            None if name in ("pw-play", "paplay", "aplay") else real_which(name, *a, **k)
        ),
    )
    with pytest.raises(VoiceError, match="audio player"):
        build_voice(o)
    assert build_voice(options_from_args(parser().parse_args(["--token", "t"]))) is None


def test_closed_windows_said_as_ranges():
    assert texts.number_ranges([9, 5, 6, 7, 12, 13]) == "5–7, 9, 12–13"
    assert texts.closed_summary(list(range(2, 41))) == "未开放窗口：2–40"
    assert texts.closed_summary([2, 3, 5], "en") == "Closed windows: 2–3, 5"
    assert texts.closed_summary([]) == ""


def test_the_window_display_names_its_clerk_with_the_staff_number():
    from display.texts import clerk_line

    clerks = {
        "c001": {"id": "c001", "name": "张三", "staff_number": "0123"},
        "c002": {"id": "c002", "name": "李四", "staff_number": ""},
    }
    assert clerk_line("c001", clerks) == "工号 0123  张三"
    assert clerk_line("c002", clerks) == "李四"
    assert clerk_line("clerk-1", clerks) == ""  # a terminal's token: no person to name
    assert clerk_line(None, clerks) == ""


def test_initials_stand_in_for_a_missing_photo():
    from display.photos import initials, photo_url

    assert initials("王芳") == "王" and initials("Zhang Wei") == "ZW" and initials("") == ""
    assert (
        photo_url("wss://hall.example:8765/ws", "c 1")
        == "https://hall.example:8765/staff-photo/c%201"
    )


def test_the_weekly_ranking_as_a_notice_line():
    from display.texts import ranking_text

    got = ranking_text(
        {
            "from": "2026-11-16",
            "to": "2026-11-22",
            "windows": [
                {"rank": 1, "key": 3, "satisfaction": 0.991, "on_time_rate": 1.0},
                {"rank": 2, "key": 1, "satisfaction": 0.95, "on_time_rate": None},
                {"rank": None, "key": 7, "satisfaction": 1.0, "on_time_rate": None},
            ],
        }
    )
    assert got.startswith("【窗口服务评价公示 2026-11-16至2026-11-22】")
    assert "第1名 3号窗口 满意率99.1% 按时办结率100.0%；第2名 1号窗口 满意率95.0%" in got
    assert "7号窗口" not in got  # too few ratings to publish a place
    assert ranking_text({"windows": []}) == ""


def test_ranking_option(monkeypatch):
    monkeypatch.setenv("HALLQ_DISPLAY_TOKEN", "tok")
    assert options_from_args(parser().parse_args(["--ranking", "30"])).ranking_minutes == 30
    with pytest.raises(ValueError, match="hall display only"):
        options_from_args(parser().parse_args(["--ranking", "30", "--window", "2"]))
