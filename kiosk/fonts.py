"""Find a font that draws Chinese: Kivy's own Roboto has no CJK glyphs at all, so a kiosk
without one would show empty boxes instead of service names.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from kiosk.exceptions import FontError

FONT_NAME = "HallQCJK"

CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansSC-Regular.otf",
    "/usr/share/fonts/truetype/noto/NotoSansSC-Regular.ttf",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
PATTERNS = ("/usr/share/fonts/**/*[Ss][Cc]*-Regular.[ot]tf", "/usr/share/fonts/**/*CJK*.tt[cf]")


def find_cjk_font(configured: str | None = None) -> str:
    """The configured font if given (it must exist), else the first CJK font installed.

    Raises :class:`FontError` with what to install, never falls back silently to a font
    that would show boxes.
    """
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise FontError(f"the font {configured} given in the settings does not exist")
        return str(path)
    for path in CANDIDATES:
        if os.path.isfile(path):
            return path
    for pattern in PATTERNS:
        for path in sorted(glob.glob(pattern, recursive=True)):
            return path
    raise FontError(
        "no font that can show Chinese was found: install one "
        "(Debian: apt-get install fonts-wqy-microhei, or fonts-noto-cjk) "
        "or give a .ttf/.otf/.ttc file with --font or HALLQ_KIOSK_FONT"
    )


def register(path: str, as_default: bool = False) -> str:
    """Register the font under :data:`FONT_NAME` (and as Kivy's default when asked: the
    kiosk process does, tests do not, since the display's tests share the process)."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    try:
        LabelBase.register(FONT_NAME, path)
        if as_default:
            LabelBase.register(DEFAULT_FONT, path)
    except Exception as exc:  # Kivy raises IOError or its own errors for bad files
        raise FontError(f"the font {path} cannot be used: {exc}") from None
    return FONT_NAME
