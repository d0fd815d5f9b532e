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

from kiosk import theme

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class KLabel(Label):
    """Text on the page background unless ``bg_color`` says otherwise."""

    bg_color = ListProperty(theme.BG)
    size_role = StringProperty("body")


class KButton(Button):
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

    key_height = NumericProperty(theme.TARGET)

    def set_keys(
        self, keys: Iterable[tuple[str, str]], on_key: Callable[[str], None],
        primary: Iterable[str] = ("ok",),
    ) -> None:
        self.clear_widgets()
        primary = set(primary)
        for key, text in keys:
            cls = KButton if key in primary else SecondaryButton
            button = cls(text=text, key=key, size_hint_y=None, height=self.key_height)
            button.bind(on_release=lambda b: on_key(b.key))
            self.add_widget(button)


class TopBar(BoxLayout):
    bg_color = ListProperty(theme.HEADER)


class OfflineNotice(FloatLayout):
    """Covers the whole kiosk while the server is away; swallows every touch."""

    bg_color = ListProperty(theme.OFFLINE_BG)
    title = StringProperty("")
    body = StringProperty("")

    def on_touch_down(self, touch: Any) -> bool:  # noqa: ANN401 - Kivy's MotionEvent
        return True

    def on_touch_up(self, touch: Any) -> bool:  # noqa: ANN401
        return True


def app_scale() -> float:
    app = App.get_running_app()
    return getattr(app, "font_scale", 1.0) if app else 1.0
