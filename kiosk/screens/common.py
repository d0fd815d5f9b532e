"""Shared widgets: buttons and labels that know their background (for the contrast check),
keypads, the top bar and the offline notice."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk import i18n, theme

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


def discard_children(layout: Widget) -> None:
    """Remove the children for good, with their kv bindings: a rule that reads ``app.ui``
    stays bound to the app, and a resize would then call into a widget already freed."""
    for child in list(layout.children):
        for w in child.walk(restrict=True):
            Builder.unbind_widget(w.uid)
    layout.clear_widgets()


class TermWrap:
    """Lines of Chinese break between words, never inside one (残疾/人): the text Kivy
    lays out gets its line breaks from :func:`kiosk.i18n.wrap`; ``text`` itself is
    left as it was set."""

    def texture_update(self, *largs: Any) -> None:
        label: Any = self
        width = label.text_size[0]
        if label.text and width:
            core = label._label
            pad = float(label.padding[0]) + float(label.padding[2])  # left, right
            core.text = i18n.wrap(label.text, width - pad - 1, lambda s: core.get_extents(s)[0])
        super().texture_update(*largs)  # type: ignore[misc]


class KLabel(TermWrap, Label):
    """Text on the page background unless ``bg_color`` says otherwise.

    ``font_px``, when set, is the size in pixels instead of the role's. A rule that set
    ``font_size`` itself competed with the class rule: whichever was evaluated last won,
    so after large text was switched on and off the hall's name shrank to body size
    (the layout check measured different sizes depending on the order it went through
    the states)."""

    bg_color = ListProperty(theme.BG)
    size_role = StringProperty("body")
    font_px = NumericProperty(0)


class KButton(TermWrap, Button):
    """A flat button: its colour is exactly ``bg_color`` (no grey texture), so the drawn
    contrast is the contrast measured."""

    bg_color = ListProperty(theme.PRIMARY)
    fg_color = ListProperty(theme.ON_PRIMARY)
    size_role = StringProperty("body")
    key = StringProperty("")


class SecondaryButton(KButton):
    pass


class Page(Screen):
    """A screen with the page background; ``update(model)`` redraws its texts."""

    bg_color = ListProperty(theme.BG)

    def update(self, model: Any) -> None:  # noqa: ANN401 - overridden per screen
        pass


class Keypad(GridLayout):
    """Keys in a grid; ``on_key(key)`` gets each press (``"del"``, ``"ok"`` for the
    special keys), texts are set by ``set_keys``."""

    def set_keys(
        self,
        keys: Iterable[tuple[str, str]],
        on_key: Callable[[str], None],
        primary: Iterable[str] = ("ok",),
    ) -> None:
        discard_children(self)
        primary = set(primary)
        for key, text in keys:
            if not key:  # a blank slot keeps the grid's columns in place
                self.add_widget(Widget(size_hint_y=None, height=0))
                continue
            cls = KButton if key in primary else SecondaryButton
            button = cls(text=text, key=key, size_hint_y=None)
            button.bind(on_release=lambda b: on_key(b.key))
            self.add_widget(button)


class TopBar(BoxLayout):
    bg_color = ListProperty(theme.HEADER)


class ButtonRow(BoxLayout):
    """A row of buttons as tall as its tallest text needs (at least a touch target), all
    the same height: a long label on a narrow screen wraps instead of being cut."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.bind(children=self._watch)
        app = App.get_running_app()
        if app is not None:
            app.bind(target=self._fit, ui=self._fit)

    def _watch(self, *args: Any) -> None:
        for child in self.children:
            child.unbind(texture_size=self._fit)
            child.bind(texture_size=self._fit)
        self._fit()

    def _fit(self, *args: Any) -> None:
        app = App.get_running_app()
        target = getattr(app, "target", theme.TARGET)
        pad = 24 * getattr(app, "ui", 1.0)
        need = [c.texture_size[1] + pad for c in self.children if c.opacity]
        self.height = max([target, *need])


def fit_width(text: str, role: str = "body") -> float:
    """The width a one-line button needs for ``text`` in this window (and text size)."""
    from kivy.core.text import Label as CoreLabel

    from kiosk.fonts import FONT_NAME

    app = App.get_running_app()
    ui = getattr(app, "ui", 1.0)
    size = theme.font_size(role, getattr(app, "large", False), ui)
    width = CoreLabel(font_name=FONT_NAME, font_size=size).get_extents(text)[0]
    return max(width + 48 * ui, theme.TARGET * ui)


class OfflineNotice(FloatLayout):
    """Covers the whole kiosk while the server is away; swallows every touch."""

    bg_color = ListProperty(theme.OFFLINE_BG)
    title = StringProperty("")
    body = StringProperty("")

    def on_touch_down(self, touch: Any) -> bool:  # noqa: ANN401 - Kivy's MotionEvent
        return True

    def on_touch_up(self, touch: Any) -> bool:  # noqa: ANN401
        return True
