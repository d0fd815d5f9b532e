"""The display's font search is the kiosk's (:mod:`kiosk.fonts`): one search, one list of
known files, one error with what to install. Re-exported here for the display's callers."""

from kiosk.fonts import (
    INSTALL_HINT,
    KNOWN_FONTS,
    FontChoice,
    FontNotFound,
    find_cjk_font,
    register_default_font,
)

__all__ = [
    "INSTALL_HINT",
    "KNOWN_FONTS",
    "FontChoice",
    "FontNotFound",
    "find_cjk_font",
    "register_default_font",
]
