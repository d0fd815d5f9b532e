"""Measure the accessibility targets on the live widget tree, screen by screen.

Targets (issue 4): touch targets at least 120 px high at 1920×1080, text at least 36 px,
text contrast at least 7:1 against what it is drawn on, every service reachable from home
in at most 3 taps. The figures come from the widgets on screen, not from the theme, so a
``.kv`` change that shrinks a button shows up here.

Run against the demo hall (starts a server on a temporary database)::

    python -m kiosk.accessibility
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk import theme

TARGET_PX = 120
TEXT_PX = 36
CONTRAST = 7.0
MAX_TAPS = 3


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(rgba: Any) -> float:  # noqa: ANN401 - Kivy colour lists
    r, g, b = (_linear(float(x)) for x in list(rgba)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: Any, bg: Any) -> float:  # noqa: ANN401
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def background(widget: Widget) -> Any:  # noqa: ANN401
    w: Any = widget
    while w is not None:
        bg = getattr(w, "bg_color", None)
        if bg is not None:
            return bg
        w = w.parent if w.parent is not w else None
    return theme.BG


def visible(widget: Widget) -> Iterator[Widget]:
    """Widgets drawn now: skips hidden subtrees (opacity 0) and zero-size ones."""
    if widget.opacity == 0 or widget.width <= 0 or widget.height <= 0:
        return
    yield widget
    for child in widget.children:
        yield from visible(child)


@dataclass
class ScreenFigures:
    name: str
    targets: int = 0
    min_target_px: float = 1e9
    texts: int = 0
    min_text_px: float = 1e9
    min_contrast: float = 1e9
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.name:<22} targets {self.targets:>3}, "
                f"min height {self.min_target_px:5.0f} px | texts {self.texts:>3}, "
                f"min size {self.min_text_px:4.0f} px, "
                f"min contrast {self.min_contrast:5.2f}:1")


def measure(name: str, root: Widget) -> ScreenFigures:
    fig = ScreenFigures(name)
    for w in visible(root):
        if isinstance(w, ButtonBehavior) and not w.disabled:
            fig.targets += 1
            fig.min_target_px = min(fig.min_target_px, w.height)
            if w.height < TARGET_PX:
                fig.problems.append(f"{name}: target {w.text!r} is {w.height:.0f} px high")
        if isinstance(w, Label) and w.text.strip():
            fig.texts += 1
            fig.min_text_px = min(fig.min_text_px, float(w.font_size))
            ratio = contrast(w.color, background(w))
            fig.min_contrast = min(fig.min_contrast, ratio)
            if float(w.font_size) < TEXT_PX:
                fig.problems.append(f"{name}: text {w.text[:20]!r} is {w.font_size:.0f} px")
            if ratio < CONTRAST:
                fig.problems.append(f"{name}: text {w.text[:20]!r} contrast {ratio:.2f}:1")
    return fig


@dataclass
class Report:
    screens: list[ScreenFigures]
    max_taps: int
    services: int
    window: tuple[int, int]
    problems: list[str]

    def text(self) -> str:
        lines = [f"window {self.window[0]}x{self.window[1]}"]
        lines += [s.line() for s in self.screens]
        lines.append(
            f"min target {min(s.min_target_px for s in self.screens if s.targets):.0f} px "
            f"(>= {TARGET_PX}), min text {min(s.min_text_px for s in self.screens):.0f} px "
            f"(>= {TEXT_PX}), min contrast {min(s.min_contrast for s in self.screens):.2f}:1 "
            f"(>= {CONTRAST:.0f}), taps home -> any of {self.services} services "
            f"<= {self.max_taps} (<= {MAX_TAPS}, the last tap takes the number)"
        )
        lines += [f"PROBLEM {p}" for p in self.problems] or ["no problems"]
        return "\n".join(lines)


async def audit(app: Any, settle: Callable[[], Awaitable[None]],  # noqa: ANN401
                tap: Callable[[Widget], Awaitable[None]]) -> Report:
    """Drive the running app through every screen (normal and large text) and measure.

    ``tap`` sends a real touch; the tap count is measured by tapping area buttons on the
    home screen and checking each service is a row of the list it opens."""
    from kivy.core.window import Window

    m = app.model
    root = app.root
    screens: list[ScreenFigures] = []
    fake = {"id": -1, "label": "A123", "service": m.most_used(1)[0], "people_ahead": 12,
            "est_wait_minutes": 25, "url": "http://127.0.0.1:8765/t/audit", "priority": None}

    async def shot(name: str) -> None:
        await settle()
        screens.append(measure(name, root))

    for large in (False, True):
        suffix = "/large" if large else ""
        m.reset()
        m.large_text = large
        await shot("home" + suffix)
        m.open_area(m.areas()[0]["id"])
        await shot("services" + suffix)
        m.open_service(m.results[0])
        await shot("detail" + suffix)
        m.open_priority()
        m.priority = "elderly"
        await shot("priority" + suffix)
        m.open_appointment()
        await shot("appointment" + suffix)
        m.open_rating()
        await shot("rating/number" + suffix)
        m.label_entry = "A1"
        m.label_entered()
        await shot("rating/level" + suffix)
        m.ticket_issued(fake, printing=True)
        m.printed(False, "paper_out")
        await shot("ticket/failed" + suffix)
        m.connection_changed("offline")
        await shot("offline" + suffix)
        m.connection_changed("online")
    m.reset()
    await settle()

    # Taps: home -> area (1) -> service row (2) opens its detail -> take a number (3).
    reached: dict[str, int] = {}
    home_buttons = {b.key: b for b in visible(root) if getattr(b, "key", "")}
    for area in m.areas():
        button = home_buttons.get(area["id"])
        if button is None:
            continue
        await tap(button)
        await settle()
        rows = {row["key"] for row in root.ids.sm.current_screen.ids.rv.data}
        for sid in rows:
            reached.setdefault(sid, 3)
        m.reset()
        await settle()
    for sid in m.most_used(6):
        reached[sid] = 2
    services = [sv["id"] for sv in m.services_in("")]
    missing = [s for s in services if s not in reached]
    problems = [p for s in screens for p in s.problems]
    problems += [f"service {s} cannot be reached from home" for s in missing]
    max_taps = max(reached.values(), default=99) if not missing else 99
    return Report(screens, max_taps, len(services), tuple(Window.size), problems)


def main() -> int:  # pragma: no cover - a developer's script
    import os
    import sys
    import tempfile
    from pathlib import Path

    root_dir = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root_dir))
    import tests.kivy_env  # noqa: F401  (a private Xvfb, Kivy's environment)

    os.environ.setdefault("HALLQ_KIOSK_ACCESSIBILITY", "1")
    from kiosk.tools import demo_kiosk

    async def run() -> int:
        async with demo_kiosk(Path(tempfile.mkdtemp())) as k:
            report = await audit(k.app, k.settle, k.tap)
        print(report.text())
        return 1 if report.problems else 0

    return asyncio.run(run())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
