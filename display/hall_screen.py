"""The hall display: newest call very large, recent calls, windows, queues, notice.

A view of :class:`~display.state.DisplayState`: :meth:`HallScreen.show` copies the state
into Kivy properties and the .kv file beside this module lays them out (landscape for a
1920×1080 wall screen, or portrait). Nothing here decides anything the state does not.
"""

from __future__ import annotations

import math

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from . import texts
from .state import Call, DisplayState, QueueView, WindowView
from .widgets import CallRow, QueueRow, Scaled, WindowTile, load_kv, sync_children, sync_keyed


class HallScreen(Scaled):
    portrait = BooleanProperty(False)
    hall_zh = StringProperty("")
    hall_en = StringProperty("")
    zone_text = StringProperty("")
    date_text = StringProperty("")
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
    window_cols = NumericProperty(4)
    closed_text = StringProperty("")
    recent_slots = NumericProperty(8)

    def show(self, state: DisplayState, now: float, show_satisfaction: bool = True) -> None:
        """Copy everything the state says onto the screen."""
        self.hall_zh = state.hall_name.get("zh", "")
        self.hall_en = state.hall_name.get("en", "")
        areas = state.filter.areas
        self.zone_text = "  ".join(state.areas.get(a, {}).get("zh", a) for a in sorted(areas)) \
            if areas else ""
        self.live = state.live
        self.connection_text = texts.connection_text(state.connection, state.live)
        self.satisfaction_text = texts.satisfaction_text(
            state.satisfaction.rate, state.satisfaction.rated) if show_satisfaction else ""
        newest = state.newest
        self.newest_label = newest.label if newest else ""
        self.newest_window = texts.window_zh(newest.window) if newest else ""
        self.newest_zh, self.newest_en = texts.newest_caption(newest)
        self.highlight = state.live and state.highlighted(now)
        u = self.u
        sync_keyed(self.ids.recent, state.recent(), lambda c: (c.label, c.window), CallRow,
                   lambda r, c: _fill_call(r, c, u))
        shown = state.shown_windows()
        windows = [w for w in shown if w.status != "closed"]
        self.closed_text = texts.closed_summary([w.number for w in shown if w.status == "closed"])
        self.window_cols = _grid_cols(len(windows), self.portrait)
        sync_children(self.ids.windows, windows, WindowTile,
                      lambda t, w: _fill_tile(t, w, state.window_highlighted(w.number, now), u))
        queues = state.shown_queues()
        sync_children(self.ids.queues, queues, QueueRow, lambda r, q: _fill_queue(r, q, u))

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


def _grid_cols(n: int, portrait: bool) -> int:
    """Columns for ``n`` window tiles: about as wide as the panel's shape allows."""
    if n <= 0:
        return 1
    aspect = 2.4 if portrait else 1.1  # panel width over height
    return max(1, min(n, math.ceil(math.sqrt(n * aspect))))


def _fill_call(row: CallRow, call: Call, u: float) -> None:
    row.u = u
    row.label = call.label
    row.window_zh = texts.window_zh(call.window)
    row.window_en = texts.window_en(call.window)


def _fill_tile(tile: WindowTile, w: WindowView, highlight: bool, u: float) -> None:
    tile.u = u
    tile.number = texts.window_zh(w.number)
    tile.line, tile.line_en = texts.window_tile(w)
    tile.status = w.status
    tile.highlight = highlight


def _fill_queue(row: QueueRow, q: QueueView, u: float) -> None:
    row.u = u
    row.prefix = q.prefix
    row.name_zh = q.name.get("zh", q.prefix)
    row.name_en = q.name.get("en", "")
    row.wait_zh, row.wait_en = texts.wait_text(q)


load_kv(__file__)
