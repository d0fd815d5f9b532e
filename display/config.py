"""The ``[display]`` section of a hall file, checked by ``hallq check-config`` and the server.

Imports nothing heavy (no Kivy), since the server runs it while loading the hall file.
What it decides reaches the displays through ``hall.info`` (``ranking_board``), so every
hall display shows the weekly ranking the same way without a setting of its own::

    [display]
    # 周公示: the windows ranked by satisfaction and on-time rate, full screen, for
    # `seconds` out of every `every_minutes`, in turn with the calls (calls always win)
    ranking_board = { every_minutes = 5, seconds = 30 }
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

KEYS = {"ranking_board"}


def validate(section: dict[str, Any], raw: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Problems as (key, message)."""
    for key in section:
        if key not in KEYS:
            yield (key, f"unknown setting (known: {', '.join(sorted(KEYS))})")
    if "ranking_board" in section:
        board = section["ranking_board"]
        if not isinstance(board, dict) or set(board) - {"every_minutes", "seconds"}:
            yield ("ranking_board", "is { every_minutes = N, seconds = S }")
            return
        every, seconds = board.get("every_minutes"), board.get("seconds", 30)
        if not _number(every) or every < 1:
            yield ("ranking_board.every_minutes", "minutes between showings, at least 1")
        elif not _number(seconds) or not 5 <= seconds <= every * 60 / 2:
            yield (
                "ranking_board.seconds",
                "seconds shown, from 5 to half the time between showings (calls come first)",
            )


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def ranking_board(section: dict[str, Any] | None) -> dict[str, float] | None:
    """What ``hall.info`` publishes: ``{"every_s", "show_s"}``, or None (no board)."""
    board = (section or {}).get("ranking_board")
    if not isinstance(board, dict) or "every_minutes" not in board:
        return None
    return {
        "every_s": float(board["every_minutes"]) * 60,
        "show_s": float(board.get("seconds", 30)),
    }
