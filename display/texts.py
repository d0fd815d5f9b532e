"""The words on the screens, in Chinese and English, as pure functions.

Kept apart from the widgets so every wording is tested without a window and one change
of wording reaches both screens. Chinese comes first on every line: it is the hall's main
language; English is for visitors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from .state import Call, QueueView, WindowView

WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def window_zh(number: int) -> str:
    return f"{number}号窗口"


def window_en(number: int) -> str:
    return f"Window {number}"


def call_line(call: Call) -> str:
    """One row of the recent-calls list: ``A011 → 2号窗口``."""
    return f"{call.label} → {window_zh(call.window)}"


def window_in(number: int, lang: str) -> str:
    return window_en(number) if lang == "en" else window_zh(number)


def newest_caption(call: Call | None) -> tuple[str, str]:
    """Chinese and English lines under the big number of the newest call (short enough
    for one line at the display's text floor)."""
    if call is None:
        return "请留意叫号", "Please watch for your number"
    if call.recall:
        return (
            f"再次呼叫 请到{window_zh(call.window)}",
            f"Again: please go to {window_en(call.window)}",
        )
    return f"请到{window_zh(call.window)}办理", f"Please go to {window_en(call.window)}"


def wait_text(queue: QueueView) -> tuple[str, str]:
    """Waiting count and estimate, e.g. ``等候 12 人 约 15 分钟``."""
    if queue.waiting == 0:
        return "无人等候", "no wait"
    est = queue.est_wait_minutes
    zh = f"等候 {queue.waiting} 人"
    en = f"{queue.waiting} waiting"
    if est is not None:
        zh += f"  约 {est} 分钟"
        en += f", about {est} min"
    return zh, en


def wait_cells(queue: QueueView, lang: str) -> tuple[str, str]:
    """The waiting table's two cells in one language: count, estimate."""
    zh, en = wait_text(queue)
    if queue.waiting == 0:
        return (en if lang == "en" else zh), ""
    est = queue.est_wait_minutes
    if lang == "en":
        return f"{queue.waiting} waiting", (f"about {est} min" if est is not None else "")
    return f"等候 {queue.waiting} 人", (f"约 {est} 分钟" if est is not None else "")


def number_ranges(numbers: list[int]) -> str:
    """``[5, 6, 7, 9, 12, 13]`` -> ``"5–7, 9, 12–13"``."""
    parts: list[str] = []
    ns = sorted(set(numbers))
    i = 0
    while i < len(ns):
        j = i
        while j + 1 < len(ns) and ns[j + 1] == ns[j] + 1:
            j += 1
        parts.append(str(ns[i]) if i == j else f"{ns[i]}–{ns[j]}")
        i = j + 1
    return ", ".join(parts)


def closed_summary(numbers: list[int], lang: str = "zh") -> str:
    """One line for every closed window: tiles that say "closed" 39 times fill half a hall
    display and push the open windows' numbers to a size nobody reads from 10 m."""
    if not numbers:
        return ""
    if lang == "en":
        return f"Closed windows: {number_ranges(numbers)}"
    return f"未开放窗口：{number_ranges(numbers)}"


def window_tile(window: WindowView) -> tuple[str, str]:
    """What a window's tile on the hall display says under its number."""
    if window.status == "closed":
        return "暂停服务", "Closed"
    if window.status == "paused":
        return "暂停", "Paused"
    if window.ticket and window.ticket_status in ("called", "serving"):
        return window.ticket, "Now serving" if window.ticket_status == "serving" else "Calling"
    return "空闲", "Open"


def tile_line(window: WindowView, lang: str) -> str:
    """The big line of a window's tile: its ticket, else its state in one word."""
    zh, en = window_tile(window)
    if window.ticket and window.ticket_status in ("called", "serving"):
        return window.ticket
    return en if lang == "en" else zh


def window_screen(window: WindowView | None) -> tuple[str, str, str, str]:
    """For the display over one window: (mode, big text, Chinese line, English line).

    ``mode`` is one of ``unknown``, ``closed``, ``paused``, ``called``, ``serving``,
    ``idle``; the screen colours itself by it.
    """
    if window is None:
        return "unknown", "", "正在连接", "Connecting"
    if window.status == "closed":
        return "closed", "", "本窗口暂停服务", "This window is closed"
    if window.status == "paused":
        zh, en = "暂停服务 请稍候", "Paused, back shortly"
        if window.pause_reason:
            zh += f"（{window.pause_reason}）"
            en += f" ({window.pause_reason})"
        return "paused", window.ticket if window.ticket_status == "serving" else "", zh, en
    if window.ticket and window.ticket_status == "called":
        return (
            "called",
            window.ticket,
            f"请 {window.ticket} 号到本窗口办理",
            f"Number {window.ticket}, please come to this window",
        )
    if window.ticket and window.ticket_status == "serving":
        return "serving", window.ticket, "正在办理", "Now serving"
    return "idle", "", "请稍候 等待叫号", "Waiting for the next number"


def clerk_line(clerk_id: str | None, clerks: dict[str, dict[str, str]]) -> str:
    """Who works this window, as halls show it: "工号 0123  张三" (name alone without a
    staff number; nothing for an id the hall file does not know, such as a terminal's)."""
    c = clerks.get(clerk_id or "")
    if c is None:
        return ""
    number = c.get("staff_number") or ""
    return f"工号 {number}  {c.get('name', '')}".strip() if number else c.get("name", "")


def clock_text(now: dt.datetime) -> tuple[str, str]:
    """Date (with the weekday in Chinese) and time, for the top bar."""
    return (
        f"{now.year}年{now.month}月{now.day}日 {WEEKDAYS_ZH[now.weekday()]}",
        now.strftime("%H:%M:%S"),
    )


def info_line(rounds: int, lang: str, zh: Sequence[str], en: Sequence[str]) -> str:
    """The top bar's info line: in each language's turn one of that language's items
    (hall name, date, satisfaction), the next one each time that language comes round.

    Indexed by the rounds of both languages, not by the turn: with two items and two
    languages a turn index would show the English name only in the Chinese turn and the
    date only in the English one.
    """
    items = [x for x in (en if lang == "en" else zh) if x]
    return items[rounds % len(items)] if items else ""


def date_en(now: dt.datetime) -> str:
    """The date for the English turn: a visitor who reads no Chinese reads no 年月日 either."""
    return f"{now:%a} {now.day} {now:%b %Y}"


def satisfaction_text(rate: float | None, rated: int) -> str:
    if rate is None:
        return ""
    return f"今日满意率 {rate * 100:.1f}%  Satisfaction ({rated})"


def ranking_text(ranking: dict, top: int = 10) -> str:
    """The weekly publication (周公示) as one notice line: the ranked windows by place,
    satisfaction and on-time rate (the server ranks them: ``ranking.get``)."""
    shown = [w for w in ranking.get("windows", []) if w.get("rank") is not None][:top]
    if not shown:
        return ""
    parts = []
    for w in shown:
        text = f"第{w['rank']}名 {w['key']}号窗口 满意率{w['satisfaction'] * 100:.1f}%"
        if w.get("on_time_rate") is not None:
            text += f" 按时办结率{w['on_time_rate'] * 100:.1f}%"
        parts.append(text)
    period = f"{ranking.get('from', '')}至{ranking.get('to', '')}"
    return f"【窗口服务评价公示 {period}】" + "；".join(parts) + "  Weekly window ranking"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def board_titles(ranking: dict, lang: str) -> tuple[str, str, list[str]]:
    """The weekly ranking board's title, period and column heads (short enough for one
    line at the floor on a portrait screen)."""
    period = f"{ranking.get('from', '')} – {ranking.get('to', '')}"
    if lang == "en":
        return "Weekly window ranking", period, ["Rank", "Window", "Satisfied", "On time"]
    return "窗口服务评价公示", period, ["名次", "窗口", "满意率", "按时办结"]


def connection_text(connection: str, live: bool) -> str:
    """The small mark shown while the display is not live; empty when it is."""
    if live:
        return ""
    if connection == "refused":
        return "● 认证失败 Token refused"
    if connection == "connecting":
        return "● 正在连接 Connecting…"
    return "● 正在重新连接 Reconnecting…"


def text_width_em(text: str) -> float:
    """Rough width of ``text`` in ems: a Chinese character (or arrow) is one, Latin 0.62."""
    return sum(1.0 if ord(ch) > 0x7F else 0.62 for ch in text) or 1.0


FONT_SIZES = (
    10,
    11,
    12,
    14,
    16,
    18,
    20,
    22,
    24,
    27,
    30,
    33,
    36,
    40,
    45,
    50,
    56,
    63,
    70,
    78,
    88,
    98,
    110,
    124,
    140,
    156,
    176,
    196,
    220,
    246,
    276,
    310,
    350,
    390,
    440,
)
"""The only font sizes the screens use, about 12 % apart.

Kivy's SDL2 text provider keeps at most 64 opened fonts, one per size and style; every
other size reopens the font file. With sizes computed freely (fitted to each box) the
cache thrashed and each new number cost 100-200 ms of reopening a 5 MB .ttc; snapped to
this ladder, every size stays open."""


def snap_size(size: float) -> float:
    """The largest ladder size not above ``size`` (the smallest one below the ladder)."""
    best = FONT_SIZES[0]
    for step in FONT_SIZES:
        if step > size:
            break
        best = step
    return float(best)


def snap_up(size: float) -> float:
    """The smallest ladder size not below ``size``: how a floor is kept on the ladder."""
    for step in FONT_SIZES:
        if step >= size - 1e-6:
            return float(step)
    return float(FONT_SIZES[-1])


def fit_font(
    text: str, width: float, height: float, cap: float, line_height: float = 0.8, floor: float = 0.0
) -> float:
    """The largest ladder font size up to ``cap`` at which one line of ``text`` fits, and
    never under ``floor`` (:func:`display.layout.floor_px`).

    Used by the .kv files for every label: a ticket label must never be cut to "A0…"
    because a hall named its queues with long prefixes. A text that does not fit at the
    floor is the layout's fault (too many things in too little room), not a reason to
    draw it too small to read: the layout check reports it as cut.
    """
    low = snap_up(floor) if floor > 0 else 0.0
    if width <= 0 or height <= 0:
        return max(low, snap_size(cap))
    return max(low, snap_size(min(cap, height * line_height, width * 0.95 / text_width_em(text))))
