"""The screenshot scripts' capture at a width whose RGB row is not a multiple of 4 bytes.

Measured on main: every 1366×768 picture in docs/screenshots/ came out sheared and
wrapped (each row read two bytes further along than the last). A real window is resized
to 1366×768, a one-colour stripe is drawn down its full height, and the saved PNG must
have the stripe in the same columns at the top and at the bottom."""

from __future__ import annotations

import asyncio

from PIL import Image

from display.layoutcheck import _Host, _resize
from scripts.capture import capture

SIZE = (1366, 768)
STRIPE = (400, 40)  # x, width


def _red_columns(img: Image.Image, y: int) -> list[int]:
    return [x for x in range(img.width) if img.getpixel((x, y))[:3] == (255, 0, 0)]


def test_a_1366_wide_window_is_saved_unsheared(tmp_path):
    from kivy.core.window import Window
    from kivy.graphics import Color, Rectangle
    from kivy.uix.widget import Widget

    async def main() -> Image.Image:
        host = _Host()
        await host.start()
        first = tuple(Window.size)
        try:
            await _resize(SIZE, host)
            stripe = Widget()
            with stripe.canvas:
                Color(1, 1, 1, 1)
                Rectangle(pos=(0, 0), size=SIZE)
                Color(1, 0, 0, 1)
                Rectangle(pos=(STRIPE[0], 0), size=(STRIPE[1], SIZE[1]))
            host.app.root.add_widget(stripe)
            await host.frames(2)
            path = await capture(tmp_path / "shot.png")
            host.app.root.remove_widget(stripe)
            await _resize(first, host)  # type: ignore[arg-type]
        finally:
            await host.stop()
        return Image.open(path).convert("RGB")

    img = asyncio.run(asyncio.wait_for(main(), 60))
    assert img.size == SIZE
    want = list(range(STRIPE[0], STRIPE[0] + STRIPE[1]))
    assert _red_columns(img, 0) == want
    assert _red_columns(img, SIZE[1] // 2) == want
    assert _red_columns(img, SIZE[1] - 1) == want
