"""Render every kiosk screen at 1920×1080 in Chinese and English to docs/screenshots/.

    .venv/bin/python -m kiosk.screenshots [OUTPUT_DIR]

Runs the real app against a throwaway demo hall and the printer emulator. Screenshots are
taken from a ``Window.on_flip`` handler (taken from a plain clock callback they came out
black, see shared/KIVY.md).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


async def capture(path: Path) -> None:
    from kivy.core.window import Window

    done = asyncio.get_running_loop().create_future()

    def on_flip(*args: object) -> None:
        Window.unbind(on_flip=on_flip)
        taken = Window.screenshot(name=str(path.with_suffix("")) + "-.png")  # Kivy adds 0001
        if not done.done():
            done.set_result(taken)

    Window.bind(on_flip=on_flip)
    Window.canvas.ask_update()
    taken = await asyncio.wait_for(done, 10)
    os.replace(taken, path)


async def shoot(out: Path) -> list[Path]:
    from kiosk.tools import demo_kiosk

    written: list[Path] = []
    async with demo_kiosk(Path(tempfile.mkdtemp()), printer=True) as k:
        m = k.app.model
        for lang in ("zh", "en"):

            async def snap(name: str, lang: str = lang) -> None:
                await k.settle()
                await asyncio.sleep(0.2)
                path = out / f"kiosk-{name}-{lang}.png"
                await capture(path)
                written.append(path)

            m.reset()
            m.set_language(lang)
            await snap("home")
            m.open_area(m.areas()[1]["id"])
            await snap("services")
            m.open_search()
            for letter in "hj":
                m.type_letter(letter)
            await snap("search")
            sid = m.results[0] if m.results else m.most_used(1)[0]
            m.open_service(sid)
            await snap("detail")
            m.open_priority()
            m.choose_priority("elderly")
            m.pin_digit("2")
            await snap("priority")
            m.open_appointment()
            for d in "2026":
                m.code_digit(d)
            await snap("appointment")
            m.open_service(sid)
            await k.app.controller.take_ticket()
            await asyncio.wait_for(k.app.controller.print_task, 10)
            await snap("ticket")
            k.emulator.set_state(paper=__import__(
                "hardware.printer.status", fromlist=["PaperLevel"]).PaperLevel.OUT)
            m.open_service(sid)
            await k.app.controller.take_ticket()
            await asyncio.wait_for(k.app.controller.print_task, 10)
            await snap("ticket-printer-failed")
            k.emulator.set_state(paper=__import__(
                "hardware.printer.status", fromlist=["PaperLevel"]).PaperLevel.OK)
            m.open_rating()
            for key in "A12":
                m.label_key(key)
            m.label_entered()
            await snap("rating")
            m.reset()
            m.set_language(lang)
            m.large_text = True
            await snap("home-large-text")
            m.large_text = False
            m.connection_changed("offline")
            await snap("offline")
            m.connection_changed("online")
    return written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    import tests.kivy_env  # noqa: F401  (private Xvfb and Kivy environment)

    for path in asyncio.run(shoot(out)):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
