"""Small widgets both screens use, and loading of the .kv files beside the modules.

``load_kv`` loads a file once per process: the display app may be started several times
in one process (tests, the screenshot script), and Kivy applies rules twice if a file is
loaded twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.widget import Widget

_loaded: set[Path] = set()


def load_kv(module_file: str, name: str | None = None) -> None:
    path = Path(module_file).with_suffix(".kv") if name is None else Path(module_file).parent / name
    path = path.resolve()
    if path not in _loaded:
        Builder.load_file(str(path))
        _loaded.add(path)


class Scaled(FloatLayout):
    """A screen root whose ``u`` is one pixel of a 1080-pixel-high design.

    Sizes in the .kv files are written for 1920×1080 and multiplied by ``u``, so the
    same layout fills a 1280×720 test window or a 4K wall screen.
    """

    u = NumericProperty(1.0)
    bg_color = ListProperty([0.04, 0.08, 0.16, 1.0])

    def on_size(self, *_: Any) -> None:
        self.u = max(0.2, min(self.width, self.height) / 1080.0)


class Panel(BoxLayout):
    """A box drawn on a coloured background; ``bg_color`` is also what the layout check
    measures text contrast against (``kiosk.accessibility.background``)."""

    bg_color = ListProperty([0.04, 0.08, 0.16, 1.0])
    radius = NumericProperty(0.0)


class CallRow(Panel):
    label = StringProperty("")
    window_text = StringProperty("")
    u = NumericProperty(1.0)


class WindowTile(Panel):
    number = StringProperty("")
    line = StringProperty("")
    status = StringProperty("open")
    highlight = BooleanProperty(False)
    u = NumericProperty(1.0)


class QueueRow(Panel):
    prefix = StringProperty("")
    name = StringProperty("")
    waiting = StringProperty("")
    estimate = StringProperty("")
    portrait = BooleanProperty(False)
    u = NumericProperty(1.0)


class BoardRow(Panel):
    """One window of the weekly ranking board (周公示)."""

    rank = StringProperty("")
    window_text = StringProperty("")
    satisfaction = StringProperty("")
    on_time = StringProperty("")
    u = NumericProperty(1.0)


W = TypeVar("W", bound=Widget)


def sync_children(
    container: Widget,
    items: Sequence[Any],
    factory: Callable[[], W],
    fill: Callable[[W, Any], None],
) -> list[W]:
    """Make ``container`` hold one child per item, reusing children already there.

    Reuse matters: a label re-renders its texture only when its text changes, so an
    event that changes one window's number redraws one tile, not forty.
    """
    kids: list[W] = list(reversed(container.children))  # type: ignore[arg-type]
    while len(kids) < len(items):
        child = factory()
        container.add_widget(child)
        kids.append(child)
    while len(kids) > len(items):
        container.remove_widget(kids.pop())
    for child, item in zip(kids, items, strict=True):
        fill(child, item)
    return kids


def sync_keyed(
    container: Widget,
    items: Sequence[Any],
    key: Callable[[Any], Any],
    factory: Callable[[], W],
    fill: Callable[[W, Any], None],
) -> list[W]:
    """Like :func:`sync_children`, but a child follows its item when the list shifts.

    The recent-calls list shifts by one on every call; refilling rows in place would
    re-render every row's text (about 20 ms a label in software OpenGL), while moving the
    rows re-renders only the new one.
    """
    by_key: dict[Any, W] = {
        getattr(c, "_sync_key", None): c  # type: ignore[misc]
        for c in container.children
    }
    wanted: list[W] = []
    for item in items:
        k = key(item)
        child = by_key.pop(k, None)
        if child is None:
            child = factory()
            child._sync_key = k  # type: ignore[attr-defined]
        fill(child, item)
        wanted.append(child)
    if list(reversed(container.children)) != wanted:
        container.clear_widgets()
        for child in wanted:
            container.add_widget(child)
    return wanted


load_kv(__file__)
