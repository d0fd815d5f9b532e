"""Colours of the screens, as functions the .kv files import (no Kivy here).

They live apart from the widget modules because a .kv file's ``#:import`` runs while
that module is still being imported.
"""

from __future__ import annotations

RGBA = tuple[float, float, float, float]

TILE_COLORS: dict[str, RGBA] = {
    "open": (0.07, 0.35, 0.22, 1.0),
    "paused": (0.42, 0.30, 0.02, 1.0),
    "closed": (0.22, 0.24, 0.28, 1.0),
}
# Every background keeps white text at 7:1 or more (the layout check measures it), so
# the flash of a fresh call goes between two dark reds rather than to a bright one.
CALLED: RGBA = (0.62, 0.05, 0.05, 1.0)
CALLED_FLASH: RGBA = (0.42, 0.0, 0.0, 1.0)
ALERT: RGBA = (0.62, 0.05, 0.05, 1.0)
"""The connection mark's and the notice line's background."""
SCREEN: RGBA = (0.04, 0.08, 0.16, 1.0)
CALM: RGBA = (0.08, 0.16, 0.30, 1.0)

MODE_COLORS: dict[str, RGBA] = {
    "called": CALLED,
    "serving": (0.05, 0.30, 0.20, 1.0),
    "idle": (0.06, 0.14, 0.28, 1.0),
    "paused": (0.40, 0.28, 0.02, 1.0),
    "closed": (0.20, 0.21, 0.24, 1.0),
    "unknown": (0.10, 0.10, 0.12, 1.0),
}


def tile_color(status: str, highlight: bool) -> RGBA:
    """A window's tile: red while its number has just been called; else green/amber/grey."""
    return CALLED if highlight else TILE_COLORS.get(status, TILE_COLORS["closed"])


def newest_color(highlight: bool, blink: bool) -> RGBA:
    """The newest call's panel: flashing red while highlighted, calm blue after."""
    if highlight:
        return CALLED_FLASH if blink else CALLED
    return CALM


def mode_color(mode: str, highlight: bool, blink: bool) -> RGBA:
    """The window display's background by mode; a fresh call flashes between two reds."""
    if mode == "called" and highlight and blink:
        return CALLED_FLASH
    return MODE_COLORS.get(mode, MODE_COLORS["unknown"])
