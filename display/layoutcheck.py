"""The layout check for the hall display and the window display.

The same checks as the kiosk's (``kiosk.accessibility.layout_problems``): every widget
inside the window, no two texts overlapping, no text cut, contrast at least 7:1 against
what it is drawn on, and text no smaller than the display's floor
(:func:`display.layout.floor_px`: 1/24 of the screen's shorter side, the size read from
10 m). Displays have no touch targets, so there is no target size.

The screens are the real widgets, fed with what a real queue server (the demo hall,
made busy by ``scripts/demo_hall.py``) sends in ``hall.info`` and a snapshot; every page of
every table is checked in both languages by passing the pager the times at which they
turn. Nothing here starts a server. Run it by hand::

    .venv/bin/python scripts/layoutcheck.py display
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .layout import LANGUAGES, PAGE_SECONDS, floor_px

SIZES: tuple[tuple[int, int], ...] = (
    (1920, 1080),
    (1080, 1920),
    (1366, 768),
    (1280, 720),
    (960, 540),
)
"""What halls hang on their walls (1080p landscape and portrait, the 1366×768 and 720p
panels still common), and the demo's half-screen window."""


def limits(size: tuple[int, int]) -> Any:  # noqa: ANN401 - kiosk.accessibility.Limits
    from kiosk.accessibility import Limits

    u = max(0.2, min(size) / 1080.0)
    return Limits((int(size[0]), int(size[1])), 0.0, 0.0, floor_px(u) - 0.5, 0.0)


@dataclass
class DisplayReport:
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    min_text_px: float = 1e9
    texts: int = 0

    def text(self) -> str:
        lines = [
            f"{len(self.checked)} display states checked, {self.texts} texts, "
            f"smallest {self.min_text_px:.0f} px"
        ]
        lines += [f"PROBLEM {p}" for p in self.problems] or ["no problems"]
        return "\n".join(lines)


class _Host:
    """A bare Kivy app whose root holds the screen under test, running on the loop."""

    def __init__(self) -> None:
        from kivy.app import App
        from kivy.uix.floatlayout import FloatLayout

        class Host(App):
            def build(self) -> Any:  # noqa: ANN401
                return FloatLayout()

        self.app = Host()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.app.async_run(async_lib="asyncio"))
        for _ in range(500):
            if self.app.root is not None:
                return
            await asyncio.sleep(0.01)
        raise TimeoutError("the host app did not start")

    async def frames(self, n: int = 3) -> None:
        """Let ``n`` frames be drawn (layout and label textures settle on the clock)."""
        from kivy.core.window import Window

        for _ in range(n):
            flipped = asyncio.Event()

            def on_flip(*_: Any, ev: asyncio.Event = flipped) -> None:
                ev.set()

            Window.bind(on_flip=on_flip)
            Window.canvas.ask_update()
            try:
                await asyncio.wait_for(flipped.wait(), 5)
            finally:
                Window.unbind(on_flip=on_flip)

    async def settled(self, widget: Any, limit: int = 30) -> None:  # noqa: ANN401
        """Run frames until one changes nothing the check reads on ``widget`` (at least
        two: the screen's texts are set, then laid out and their textures made)."""
        from kiosk.accessibility import signature, ticks

        await ticks(2)
        before = signature(widget)
        for _ in range(limit):
            await ticks(1)
            now = signature(widget)
            if now == before:
                return
            before = now

    async def stop(self) -> None:
        self.app.stop()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self.task, 10)


def _state(info: dict[str, Any], snap: dict[str, Any], **kw: Any) -> Any:  # noqa: ANN401
    from .state import DisplayFilter, DisplayState

    st = DisplayState(filter=DisplayFilter(**kw))
    st.apply_hall_info(info)
    st.apply_snapshot(snap, now=1.0)
    st.set_connection("online")
    return st


async def audit_displays(
    info: dict[str, Any],
    snap: dict[str, Any],
    sizes: tuple[tuple[int, int], ...] = SIZES,
    resize: Callable[[tuple[int, int]], Awaitable[None]] | None = None,
) -> DisplayReport:
    """Check both displays at every size, in every state, page and language, fed with a
    hall's ``hall.info`` and ``snapshot`` replies (``scripts.demo_hall.busy_demo_hall``
    gives a busy demo hall's: the server is started there, not in the display)."""
    from kivy.core.window import Window

    from kiosk.accessibility import laid_out_not_painted, layout_problems, measure

    from .hall_screen import HallScreen
    from .window_screen import WindowScreen

    report = DisplayReport()
    notice = (
        "温馨提示：请持号等候，听到叫号后前往对应窗口办理。  Please wait for your number "
        "to be called, then go to the window shown."
    )
    host = _Host()
    await host.start()
    first = tuple(Window.size)
    try:
        with laid_out_not_painted():
            whole = _state(info, snap)
            zone = _state(info, snap, areas=frozenset({"social"}))
            quiet = _state(info, snap, areas=frozenset({"party"}))
            lost = _state(info, snap)
            lost.set_connection("reconnecting")
            # a clerk the hall file knows, signed in at a busy window
            busy = next(n for n, w in whole.windows.items() if w.ticket_status == "called")
            whole.windows[busy] = replace(whole.windows[busy], clerk="c003")
            whole.windows[1] = replace(whole.windows[1], clerk="c001")
            hall_states = [
                ("whole", whole),
                ("zone", zone),
                ("quiet", quiet),
                ("reconnecting", lost),
                ("ranking board", whole),
                ("ranking board, reconnecting", lost),
            ]
            # the weekly ranking board (周公示, [display] ranking_board): every window of
            # the demo hall ranked, the widest figures, every page in both languages
            board = ranking_board_sample([w.number for w in info_windows(info)])
            boards = {"ranking board": board, "ranking board, reconnecting": board}
            modes: dict[str, int] = {}
            for n, w in sorted(whole.windows.items()):
                mode = w.status if w.status != "open" else (w.ticket_status or "idle")
                modes.setdefault(mode, n)
            modes.setdefault("unknown", 999)
            for size in sizes:
                if resize is not None:
                    await resize(size)
                else:
                    await _resize(size, host)
                lim = limits(size)
                tag = f"{size[0]}x{size[1]}"
                for kind, screen in (
                    ("hall", HallScreen(notice=notice)),
                    ("window", WindowScreen()),
                ):
                    host.app.root.add_widget(screen)
                    try:
                        if kind == "hall":
                            for name, st in hall_states:
                                turn = 0
                                while True:
                                    now = turn * PAGE_SECONDS + 0.1
                                    screen.show(st, now, True, board=boards.get(name))
                                    await host.settled(screen)
                                    _check(
                                        report,
                                        f"{tag}/hall/{name}/turn{turn}",
                                        screen,
                                        lim,
                                        measure,
                                        layout_problems,
                                    )
                                    turn += 1
                                    # every page of the busy hall, in both languages; the
                                    # other states in both languages
                                    pages = (
                                        screen.page_count
                                        if name in boards or (name == "whole")
                                        else 1
                                    )
                                    if turn >= len(LANGUAGES) * pages:
                                        break
                        else:
                            for mode, n in sorted(modes.items()):
                                screen.show(whole, 5.0, n)
                                await host.settled(screen)
                                _check(
                                    report,
                                    f"{tag}/window/{mode}",
                                    screen,
                                    lim,
                                    measure,
                                    layout_problems,
                                )
                            # the clerk's photo beside the name (a texture, as fetched)
                            from kivy.graphics.texture import Texture

                            screen.show(whole, 5.0, busy)
                            screen.photo = Texture.create(size=(64, 64))
                            await host.settled(screen)
                            _check(
                                report, f"{tag}/window/photo", screen, lim, measure, layout_problems
                            )
                            screen.photo = None
                    finally:
                        host.app.root.remove_widget(screen)
            if resize is not None:
                await resize(first)  # type: ignore[arg-type]
            else:
                await _resize(first, host)  # type: ignore[arg-type]
    finally:
        await host.stop()
    return report


def info_windows(info: dict[str, Any]) -> list[Any]:
    from types import SimpleNamespace

    return [SimpleNamespace(number=w["number"]) for w in info.get("windows", [])]


def ranking_board_sample(windows: list[int]) -> dict[str, Any]:
    """A ``ranking.get`` reply ranking every window, with the widest figures a board
    shows (100.0 %, a missing on-time rate)."""
    return {
        "period": "2026-W47",
        "from": "2026-11-16",
        "to": "2026-11-22",
        "min_ratings": 20,
        "windows": [
            {
                "rank": i + 1,
                "key": n,
                "name": f"{n}号窗口",
                "served": 100,
                "rated": 90,
                "satisfaction": 1.0 - i / 1000,
                "on_time_rate": None if i % 3 == 2 else 1.0,
            }
            for i, n in enumerate(sorted(windows, reverse=True))
        ],
    }


async def _resize(size: tuple[int, int], host: _Host) -> None:
    from kivy.core.window import Window

    from kiosk.accessibility import ticks

    if tuple(Window.size) != size:
        Window.size = size
        for _ in range(200):
            await asyncio.sleep(0.02)
            if tuple(Window.size) == size:
                break
    await ticks(3)


def _check(
    report: DisplayReport,
    name: str,
    screen: Any,
    lim: Any,  # noqa: ANN401
    measure: Any,
    layout_problems: Any,
) -> None:  # noqa: ANN401
    report.checked.append(name)
    fig = measure(name, screen, lim)
    report.texts += fig.texts
    report.min_text_px = min(report.min_text_px, fig.min_text_px)
    report.problems += fig.problems
