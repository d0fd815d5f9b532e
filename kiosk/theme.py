"""Colours and sizes, chosen for the accessibility targets at 1920×1080.

Every text colour is paired with the background it is drawn on, and every pair is at
least 7:1 (WCAG AAA) — :mod:`kiosk.accessibility` measures the live screens. Sizes are in
design pixels: 1/1080 of the screen's shorter side (``KioskApp.ui`` converts), so the
same layout fits 1280×720 up to 3840×2160, landscape or portrait. Touch targets 130, body
text 40 (52 in large-text mode).
"""

from __future__ import annotations

Color = tuple[float, float, float, float]

BG: Color = (0.965, 0.973, 0.984, 1)  # #F6F8FB page
TEXT: Color = (0.067, 0.067, 0.067, 1)  # #111111
PRIMARY: Color = (0.039, 0.239, 0.451, 1)  # #0A3D73 buttons with white text
ON_PRIMARY: Color = (1, 1, 1, 1)
SECONDARY: Color = (0.851, 0.898, 0.957, 1)  # #D9E5F4 buttons with dark text
ON_SECONDARY: Color = TEXT
HEADER: Color = PRIMARY
OK_TEXT: Color = (0.0, 0.33, 0.1, 1)  # printed, on BG
ERROR_TEXT: Color = (0.6, 0.0, 0.0, 1)  # refusals and printer faults, on BG
OFFLINE_BG: Color = (0.1, 0.1, 0.1, 1)
OFFLINE_TEXT: Color = (1, 1, 1, 1)

BODY = 40  # px; the target is >= 36
TITLE = 56
NUMBER = 260  # the ticket number (made smaller still when the column is narrow)
CODE = 96  # booking codes, ticket numbers being typed, the offline notice
SIZES = {"body": BODY, "title": TITLE, "code": CODE, "number": NUMBER}
#: Large-text mode: body text grows most (it is what people read); titles and codes are
#: already large, and growing them too would push the page off a 720-px screen.
LARGE_SIZES = {"body": 52, "title": 62, "code": 104, "number": NUMBER}
TARGET = 130  # px; the target is >= 120
LARGE_SCALE = LARGE_SIZES["body"] / BODY


def font_size(role: str, large: bool, ui: float) -> float:
    """The pixel size of a text role in this window (``ui``: see ``KioskApp.ui``)."""
    return (LARGE_SIZES if large else SIZES)[role] * ui
