"""The window display: the monitor above one window.

Its number and name, the ticket it serves, a flashing highlight while a number has just
been called to it, and plain "paused" / "closed" states. A view of
:class:`~display.state.DisplayState` restricted to one window (``--window N``).
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from . import texts
from .photos import initials
from .state import DisplayState
from .widgets import Scaled, load_kv


class WindowScreen(Scaled):
    number_text = StringProperty("")
    number_en = StringProperty("")
    name_zh = StringProperty("")
    name_en = StringProperty("")
    mode = StringProperty("unknown")
    ticket = StringProperty("")
    line_zh = StringProperty("")
    line_en = StringProperty("")
    connection_text = StringProperty("")
    time_text = StringProperty("")
    date_text = StringProperty("")
    date_en = StringProperty("")
    live = BooleanProperty(False)
    highlight = BooleanProperty(False)
    blink = BooleanProperty(False)
    portrait = BooleanProperty(False)
    notice = StringProperty("")
    clerk = StringProperty("")
    clerk_id = StringProperty("")
    """The clerk signed in here (from the hall's [[clerks]]), "" when nobody is."""
    initials = StringProperty("")
    photo = ObjectProperty(None, allownone=True)
    """The clerk's photo (a texture), or None: initials are shown instead."""
    top_rows = NumericProperty(2)
    """Lines in the top block: number, English name, the clerk, the time in portrait."""

    def on_size(self, *args: object) -> None:
        super().on_size(*args)
        self.portrait = self.height > self.width
        self._rows()

    def on_clerk(self, *_: object) -> None:
        self._rows()

    def _rows(self) -> None:
        self.top_rows = 2 + bool(self.clerk) + self.portrait

    def show(self, state: DisplayState, now: float, number: int) -> None:
        window = state.window(number)
        self.number_text = texts.window_zh(number)
        self.number_en = texts.window_en(number)
        name = state.window_names.get(number, {})
        self.name_zh = name.get("zh", "")
        self.name_en = name.get("en", "")
        self.mode, self.ticket, self.line_zh, self.line_en = texts.window_screen(window)
        open_ = window is not None and window.status != "closed"
        self.clerk = texts.clerk_line(window.clerk if open_ else None, state.clerks)
        known = window.clerk if open_ and window.clerk in state.clerks else ""
        if known != self.clerk_id:
            self.photo = None  # never the previous clerk's face
        self.clerk_id = known or ""
        self.initials = initials(state.clerks[known].get("name", "")) if known else ""
        self.live = state.live
        self.connection_text = texts.connection_text(state.connection, state.live)
        self.highlight = state.live and state.window_highlighted(number, now)

    def tick(self, dt_s: float, speed: float) -> None:
        """No moving parts besides the clock and the blink."""


load_kv(__file__)
