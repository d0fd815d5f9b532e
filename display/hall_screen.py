"""The hall display: newest call very large, recent calls, windows, queues, notice.

A view of :class:`~display.state.DisplayState`: :meth:`HallScreen.show` copies the state
into Kivy properties and the .kv file beside this module lays them out (landscape, or
portrait when the screen is taller than wide). Nothing here decides anything the state
does not.

Readable at 10 m (:mod:`display.layout`): no text is drawn under the floor; what does not
fit at that size is paged. How many recent calls, window tiles and waiting rows fit is
measured from the panels' sizes on screen, and the page and language shown come from
the time ``show`` is given, so the same state at the same time always draws the same.
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty

from . import layout, texts
from .state import Call, DisplayState, QueueView, WindowView
from .widgets import (
    BoardRow,
    CallRow,
    QueueRow,
    Scaled,
    WindowTile,
    load_kv,
    sync_children,
    sync_keyed,
)

TILE_MIN_W = 270.0  # design px: "Window 140" at the floor, with padding
TILE_H = 136.0  # two lines at the floor, each 1.25 times its size
CALL_ROW_H = 72.0
QUEUE_ROW_H = 68.0  # one line at the floor
QUEUE_ROW_H_2 = 124.0  # portrait: the name on one line, the figures on the next
BOARD_ROW_H = 68.0  # one line at the floor
GAP = 8.0


class HallScreen(Scaled):
    portrait = BooleanProperty(False)
    title_text = StringProperty("")
    info_text = StringProperty("")
    date_text = StringProperty("")
    date_en = StringProperty("")  # the English turn's date (the top bar's info line)
    time_text = StringProperty("")
    connection_text = StringProperty("")
    satisfaction_text = StringProperty("")
    live = BooleanProperty(False)
    newest_label = StringProperty("")
    newest_window = StringProperty("")
    newest_zh = StringProperty("")
    newest_en = StringProperty("")
    highlight = BooleanProperty(False)
    blink = BooleanProperty(False)
    notice = StringProperty("")
    notice_x = NumericProperty(0.0)
    window_cols = NumericProperty(2)
    closed_text = StringProperty("")
    recent_slots = NumericProperty(8)
    recent_cols = NumericProperty(1)
    language = StringProperty("zh")
    page_count = NumericProperty(1)
    """Pages of the longest paged panel (windows or waiting table)."""
    board = BooleanProperty(False)
    """The weekly ranking board (周公示) is on screen instead of the calls."""
    board_title = StringProperty("")
    board_period = StringProperty("")
    board_head = ListProperty(["", "", "", ""])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._last: tuple[Any, ...] | None = None
        self._again = Clock.create_trigger(self._reshow, 0)

    def on_size(self, *args: Any) -> None:
        super().on_size(*args)
        self.portrait = self.height > self.width
        self._again()

    def panel_resized(self) -> None:
        """A panel's size changed: how many rows fit changed with it."""
        self._again()

    def _reshow(self, *_: Any) -> None:
        if self._last is not None:
            self.show(*self._last)

    def show(
        self,
        state: DisplayState,
        now: float,
        show_satisfaction: bool = True,
        page_time: float | None = None,
        board: dict | None = None,
    ) -> None:
        """Copy everything the state says onto the screen, at the page turn of
        ``page_time`` (default ``now``); with ``board`` (a ``ranking.get`` reply) the
        weekly ranking board instead of the calls."""
        self._last = (state, now, show_satisfaction, page_time, board)
        turn = layout.turn_at(now if page_time is None else page_time)
        lang = layout.language_at(turn)
        self.language = lang
        u = self.u
        hall_zh = state.hall_name.get("zh", "")
        areas = sorted(state.filter.areas or ())
        zone = "  ".join(state.areas.get(a, {}).get("zh", a) for a in areas)
        self.title_text = zone or hall_zh
        self.live = state.live
        self.connection_text = texts.connection_text(state.connection, state.live)
        self.satisfaction_text = (
            texts.satisfaction_text(state.satisfaction.rate, state.satisfaction.rated)
            if show_satisfaction
            else ""
        )
        self.info_text = texts.info_line(
            turn // len(layout.LANGUAGES),
            lang,
            zh=(hall_zh if zone else "", self.date_text, self.satisfaction_text),
            en=(
                state.hall_name.get("en", ""),
                self.date_en or self.date_text,
                self.satisfaction_text,
            ),
        )
        newest = state.newest
        self.newest_label = newest.label if newest else ""
        self.newest_window = texts.window_zh(newest.window) if newest else ""
        self.newest_zh, self.newest_en = texts.newest_caption(newest)
        self.highlight = state.live and state.highlighted(now)

        recent = self.ids.recent
        self.recent_cols = 2 if self.portrait else 1
        rows = layout.fits(recent.height, CALL_ROW_H * u, GAP * u)
        slots = min(self.recent_slots, rows * self.recent_cols)
        sync_keyed(
            recent,
            state.recent()[:slots],
            lambda c: (c.label, c.window),
            CallRow,
            lambda r, c: _fill_call(r, c, u, lang),
        )

        shown = state.shown_windows()
        windows = [w for w in shown if w.status != "closed"]
        self.closed_text = texts.closed_summary(
            [w.number for w in shown if w.status == "closed"], lang
        )
        grid = self.ids.windows
        cols = layout.fits(grid.width, TILE_MIN_W * u, GAP * u)
        per_page = cols * layout.fits(grid.height, TILE_H * u, GAP * u)
        self.window_cols = cols
        window_pages = layout.pages_for(len(windows), per_page)
        page = layout.page_items(windows, per_page, layout.page_at(turn, window_pages))
        sync_children(
            grid,
            page,
            WindowTile,
            lambda t, w: _fill_tile(t, w, state.window_highlighted(w.number, now), u, lang),
        )

        queues = state.shown_queues()
        table = self.ids.queues
        row_h = (QUEUE_ROW_H_2 if self.portrait else QUEUE_ROW_H) * u
        per_page = layout.fits(table.height, row_h, GAP * u)
        table.row_default_height = row_h
        queue_pages = layout.pages_for(len(queues), per_page)
        page_q = layout.page_items(queues, per_page, layout.page_at(turn, queue_pages))
        portrait = self.portrait
        sync_children(table, page_q, QueueRow, lambda r, q: _fill_queue(r, q, u, lang, portrait))
        self.page_count = max(window_pages, queue_pages)
        self._show_board(board, turn, lang)

    def _show_board(self, board: dict | None, turn: int, lang: str) -> None:
        """The ranked windows, a page per turn when they do not all fit."""
        self.board = board is not None
        rows_box = self.ids.board_rows
        if board is None:
            sync_children(rows_box, [], BoardRow, lambda r, w: None)
            return
        u = self.u
        self.board_title, self.board_period, self.board_head = texts.board_titles(board, lang)
        ranked = [w for w in board.get("windows", []) if w.get("rank") is not None]
        per_page = layout.fits(rows_box.height, BOARD_ROW_H * u, GAP * u)
        rows_box.row_default_height = BOARD_ROW_H * u
        pages = layout.pages_for(len(ranked), per_page)
        page = layout.page_items(ranked, per_page, layout.page_at(turn, pages))
        sync_children(rows_box, page, BoardRow, lambda r, w: _fill_board(r, w, u, lang))
        self.page_count = max(self.page_count, pages)

    def tick(self, dt_s: float, speed: float) -> None:
        """Move the notice line left; it re-enters from the right when it has left."""
        label = self.ids.notice_label
        if not self.notice:
            self.notice_x = 0
            return
        box = self.ids.notice_box
        x = self.notice_x - speed * self.u * dt_s
        if x < -label.texture_size[0]:
            x = box.width
        self.notice_x = x


def _fill_call(row: CallRow, call: Call, u: float, lang: str) -> None:
    row.u = u
    row.label = call.label
    row.window_text = texts.window_in(call.window, lang)


def _fill_tile(tile: WindowTile, w: WindowView, highlight: bool, u: float, lang: str) -> None:
    from .colors import tile_color

    tile.u = u
    tile.number = texts.window_in(w.number, lang)
    tile.line = texts.tile_line(w, lang)
    tile.status = w.status
    tile.highlight = highlight
    tile.bg_color = list(tile_color(w.status, highlight))


def _fill_board(row: BoardRow, w: dict, u: float, lang: str) -> None:
    row.u = u
    row.rank = str(w["rank"])
    row.window_text = texts.window_in(int(w["key"]), lang)
    row.satisfaction = texts.percent(w.get("satisfaction"))
    row.on_time = texts.percent(w.get("on_time_rate"))


def _fill_queue(row: QueueRow, q: QueueView, u: float, lang: str, portrait: bool) -> None:
    row.u = u
    row.portrait = portrait
    row.prefix = q.prefix
    row.name = q.name.get(lang) or q.name.get("zh", q.prefix)
    row.waiting, row.estimate = texts.wait_cells(q, lang)


load_kv(__file__)
