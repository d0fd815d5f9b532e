"""Kiosk lock-down: what a citizen must not be able to do with the touchscreen (or a
keyboard someone plugs in): leave fullscreen, close the window, quit with Esc or Alt+F4,
open Kivy's settings panel with F1, see a mouse cursor.

The graphics settings only take effect before the window exists, so the CLI applies them
before it imports the app; the window-level vetoes are bound by the app when it starts.
"""

from __future__ import annotations

from typing import Any

LOCKED: dict[tuple[str, str], str] = {
    ("kivy", "exit_on_escape"): "0",
    ("kivy", "pause_on_minimize"): "0",
    ("graphics", "fullscreen"): "auto",
    ("graphics", "borderless"): "1",
    ("graphics", "show_cursor"): "0",
    ("graphics", "resizable"): "0",
    ("graphics", "allow_screensaver"): "0",
    ("input", "mouse"): "mouse,multitouch_on_demand",
}


def config_values(locked: bool, width: int, height: int) -> dict[tuple[str, str], str]:
    """The Kivy Config values to set; windowed development mode keeps a normal window."""
    values: dict[tuple[str, str], str] = {
        ("graphics", "width"): str(width),
        ("graphics", "height"): str(height),
    }
    if locked:
        values.update(LOCKED)
    else:
        values.update(
            {
                ("kivy", "exit_on_escape"): "1",
                ("graphics", "fullscreen"): "0",
                ("graphics", "borderless"): "0",
                ("graphics", "show_cursor"): "1",
                ("input", "mouse"): "mouse,multitouch_on_demand",
            }
        )
    return values


def apply_config(config: Any, locked: bool, width: int, height: int) -> None:  # noqa: ANN401
    """Set the values on Kivy's ``Config`` (call before the window is created)."""
    for (section, key), value in config_values(locked, width, height).items():
        if not config.has_section(section):
            config.add_section(section)
        config.set(section, key, value)
