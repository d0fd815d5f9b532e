"""Finding a font that draws Chinese, before any screen is built: the one search for
the kiosk and both displays (``display.fonts`` re-exports it).

Kivy's bundled Roboto has no CJK glyphs: a kiosk or display without a CJK font shows
boxes where "3号窗口" should be, which in a hall is worse than no screen at all. So both
refuse to start without one, and say where they looked and what to install.

Order: the path given by the operator (``--font``, ``HALLQ_KIOSK_FONT`` through the
kiosk's settings, or ``$HALLQ_FONT``); then well-known files of Debian packages
(``fonts-wqy-microhei``, ``fonts-noto-cjk``, ``fonts-wqy-zenhei``...); then ``fc-match``
for a font covering Simplified Chinese. No Kivy import at module level, so the search is
tested without a window.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kiosk.exceptions import FontError

FONT_NAME = "HallQCJK"
"""The name the kiosk's ``.kv`` rules ask for (``#:import FONT kiosk.fonts.FONT_NAME``)."""

KNOWN_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    # Noto CJK's face 0 is the Japanese variant; face 2 is Simplified Chinese.
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansSC-Regular.otf", 0),
    ("/usr/share/fonts/truetype/noto/NotoSansSC-Regular.ttf", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)

INSTALL_HINT = (
    "install a Chinese font (Debian: apt-get install fonts-wqy-microhei, or fonts-noto-cjk) "
    "or pass --font /path/to/font.ttf|.otf|.ttc (or set HALLQ_FONT)"
)

FontNotFound = FontError
"""The display's name for the same error (it predates the shared module)."""


@dataclass(frozen=True, slots=True)
class FontChoice:
    path: Path
    face: int = 0
    source: str = "system"


def find_cjk_font(
    configured: str | os.PathLike[str] | None = None,
    known: tuple[tuple[str, int], ...] = KNOWN_FONTS,
    use_fontconfig: bool = True,
) -> FontChoice:
    """The font to use; raises :class:`FontError` with what to install, never falls
    back silently to a font that would show boxes."""
    configured = configured or os.environ.get("HALLQ_FONT") or None
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise FontError(f"font file {path} does not exist; {INSTALL_HINT}")
        if path.suffix.lower() not in (".ttf", ".otf", ".ttc"):
            raise FontError(f"font file {path} is not a .ttf, .otf or .ttc font")
        return FontChoice(path, 0, "configured")
    for name, face in known:
        if Path(name).is_file():
            return FontChoice(Path(name), face, "known")
    if use_fontconfig:
        found = _fontconfig()
        if found is not None:
            return found
    looked = ", ".join(name for name, _ in known)
    raise FontError(
        f"no font for Chinese text found (looked at {looked} and fc-match); {INSTALL_HINT}"
    )


def _fontconfig() -> FontChoice | None:
    """Ask fontconfig for a font covering Simplified Chinese, if fc-match is there."""
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "-f", "%{file}\n%{index}\n%{lang}", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.split("\n")
    if len(parts) < 3 or "zh-cn" not in parts[2].split("|"):
        return None  # fc-match always answers something; only a font covering zh-cn counts
    path = Path(parts[0])
    if not path.is_file():
        return None
    return FontChoice(path, int(parts[1] or 0), "fontconfig")


def register(choice: FontChoice, as_default: bool = False) -> str:
    """Register the font under :data:`FONT_NAME`, and as Kivy's default when asked (the
    kiosk and display processes do; the kiosk's tests do not, since the display's tests
    share the process).

    Kivy's text provider takes a face index only through the file name for .ttc
    collections with SDL2 (``path`` picks face 0); the known fonts whose Chinese face is
    not 0 are therefore listed after wqy-microhei, whose face 0 is Chinese."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    path = str(choice.path)
    try:
        LabelBase.register(FONT_NAME, path, path, path, path)
        if as_default:
            LabelBase.register(DEFAULT_FONT, path, path, path, path)
    except Exception as exc:  # Kivy raises IOError or its own errors for bad files
        raise FontError(f"the font {path} cannot be used: {exc}") from None
    return FONT_NAME


def register_default_font(choice: FontChoice) -> None:
    """Make the CJK font Kivy's default, so every label on every screen uses it."""
    register(choice, as_default=True)
