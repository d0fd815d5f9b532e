"""The hall display's reading rules, as plain functions (no Kivy): the text size floor
and the turning of pages and languages.

**The floor.** No text on a display is smaller than 1/24 of the screen's shorter side
(45 px at 1080, 30 px at 720). A display is read from across the hall, up to about 10 m:
on a 55-inch screen (68.5 cm of height for 1080 px, 0.63 mm a pixel) 45 px is an em of
28.5 mm, which seen from 10 m subtends about 9.8 minutes of arc; that is twice the
5 arcmin at which a 20/20 eye just tells letters apart, the margin signage practice asks
for Chinese characters (about d/350, 29 mm at 10 m). The window display is read from
the seats in front of its window (at most about 5 m) on a smaller monitor (32 inches,
39.8 cm high): the same fraction gives 16.6 mm, again about 11 arcmin at 5 m, so one
rule serves both. The floor is a fraction of the shorter side because a display's
physical size, not its pixel count, sets how large a pixel looks: a 720p and a 1080p
panel of the same size show the same layout at the same physical size.

**Pages and languages.** What does not fit at the floor is not shrunk: it turns. Every
:data:`PAGE_SECONDS` the display's secondary texts switch between Chinese and English
(the tiles' status, the waiting table, the info line); after both languages have been
shown, tables longer than their panel move to their next page. The turn is computed from
the time the app passes in, so tests turn pages by passing times, not by waiting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

DESIGN_PX = 1080.0
"""The .kv files are written for a screen 1080 px on its shorter side (times ``u``)."""
FLOOR_DIVISOR = 24.0
"""Text at least (shorter side) / 24: see the module docstring for the why."""
PAGE_SECONDS = 8.0
LANGUAGES = ("zh", "en")

T = TypeVar("T")


def floor_px(u: float) -> float:
    """The text size floor at scale ``u`` (pixels of the screen per design pixel)."""
    return DESIGN_PX / FLOOR_DIVISOR * u


def turn_at(now: float, seconds: float = PAGE_SECONDS) -> int:
    """How many page turns have happened by ``now`` (any monotonic clock)."""
    return int(math.floor(now / seconds)) if seconds > 0 else 0


def language_at(turn: int) -> str:
    return LANGUAGES[turn % len(LANGUAGES)]


def page_at(turn: int, pages: int) -> int:
    """The page shown at ``turn``: each page stays for one turn per language."""
    return (turn // len(LANGUAGES)) % max(1, pages)


def pages_for(count: int, per_page: int) -> int:
    return max(1, math.ceil(count / max(1, per_page)))


def page_items(items: Sequence[T], per_page: int, page: int) -> list[T]:
    """The items on ``page`` when at most ``per_page`` fit, spread evenly over the pages
    (7 windows in room for 6: pages of 4 and 3, not 6 and a lonely 1)."""
    pages = pages_for(len(items), per_page)
    per = math.ceil(len(items) / pages) if items else 0
    return list(items[page * per : (page + 1) * per])


def fits(extent: float, item: float, spacing: float) -> int:
    """How many items of size ``item`` fit in ``extent`` with ``spacing`` between them."""
    if item <= 0:
        return 1
    return max(1, int((extent + spacing + 0.5) // (item + spacing)))


def board_shown(
    now: float, last_call: float | None, every_s: float, show_s: float, hold_s: float
) -> bool:
    """Whether the weekly ranking board (周公示) is on screen at ``now`` (the page clock):
    the first ``show_s`` seconds of every ``every_s``, in turn with the calls. Calls
    always win: a call during the board's turn takes the screen back at once for the
    rest of that turn, and a call just before it keeps the calls up for ``hold_s`` (its
    highlight) first."""
    if every_s <= 0 or show_s <= 0:
        return False
    phase = now % every_s
    if phase >= show_s:
        return False
    if last_call is None:
        return True
    return last_call < now - phase and now - last_call >= hold_s
