"""Colours and sizes, chosen for the accessibility targets at 1920×1080.

Every text colour is paired with the background it is drawn on, and every pair is at
least 7:1 (WCAG AAA) — :mod:`kiosk.accessibility` measures the live screens. Sizes are in
pixels of a 1920×1080 panel: touch targets 120 px and up, body text 40 px (52 px in
large-text mode).
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
NUMBER = 300  # the ticket number
CODE = 96  # booking codes, ticket numbers being typed, the offline notice
SIZES = {"body": BODY, "title": TITLE, "code": CODE, "number": NUMBER}
TARGET = 130  # px; the target is >= 120
TOPBAR = 140
LARGE_SCALE = 1.3
