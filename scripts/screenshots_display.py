"""Render the hall and window displays to PNG files, so reviewers can see them.

    .venv/bin/python scripts/screenshots_display.py [--out docs/screenshots]

In scripts/, not in the display app, because it runs the demo hall's queue server (in
this process, on a temporary SQLite file). It makes the hall
busy (tickets, open windows, calls, a paused window, ratings), then starts the real
display app against it in each layout and saves what the window shows (``scripts.capture``).
With no DISPLAY it renders offscreen through Mesa (see shared/KIVY.md).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.capture import capture  # noqa: E402
from scripts.demo_hall import DEMO_TOKENS, DemoServer, demo_server, populate  # noqa: E402

LAYOUTS: dict[str, tuple[int, int]] = {
    "landscape": (1920, 1080),
    "portrait": (1080, 1920),
    "1366x768": (1366, 768),
    "1280x720": (1280, 720),
    "960x540": (960, 540),
}
"""Each window size the displays' layout check covers (display.layoutcheck.SIZES): all
states at 1920×1080, the hall in portrait, and at the smaller panels (and the demo's
half-screen window) the zone's hall display in both languages and a called window."""


def _kivy_env(width: int, height: int) -> None:
    home = tempfile.mkdtemp(prefix="hallq-shots-")
    os.environ.update(
        {
            "KIVY_NO_ARGS": "1",
            "KIVY_HOME": home,
            "KIVY_NO_FILELOG": "1",
            "KCFG_KIVY_LOG_LEVEL": "warning",
            "KIVY_WINDOW": "sdl2",
            "KCFG_GRAPHICS_WIDTH": str(width),
            "KCFG_GRAPHICS_HEIGHT": str(height),
        }
    )
    os.environ.setdefault("SDL_VIDEODRIVER", "x11" if os.environ.get("DISPLAY") else "offscreen")


async def render(out: Path, layout: str, only: tuple[str, ...] = ()) -> list[Path]:
    """Every picture of ``layout``, against a busy demo hall started for them."""
    async with demo_server() as hall:
        return await _render(hall, out, layout, only)


async def _render(hall: DemoServer, out: Path, layout: str, only: tuple[str, ...]) -> list[Path]:
    from kivy.core.window import Window

    from display.app import DisplayApp
    from display.devtools import running_display, until, until_drawn
    from display.options import DisplayOptions

    config, server = hall.config, hall.url
    area = "social"
    windows = [w.number for w in config.windows if w.area == area]
    queues = {q for w in config.windows if w.area == area for q in w.queues}
    services = [hall.service_of(q) for q in sorted(queues)]
    notice = (
        "温馨提示：请持号等候，听到叫号后前往对应窗口办理；办理完毕请对本次服务进行评价。"
        "  Please wait for your number to be called, then go to the window shown."
    )
    written: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)
    await populate(
        server,
        services,
        windows,
        tickets=60,
        paused=(windows[-2],),
        serving=tuple(windows[1:3]),
        ratings=(5, 5, 4, 5, 3, 5, 2, 5),
    )
    # a window outside the zone worked by a clerk of the hall file, who has a photo
    from queue_server.client import HallClient

    photo_at = next(w.number for w in config.windows if w.number not in windows and w.number != 1)
    queue = next(w.queues[0] for w in config.windows if w.number == photo_at)
    async with (
        HallClient(server, DEMO_TOKENS["gateway"], name="shots") as g,
        HallClient(server, DEMO_TOKENS["kiosk"], name="shots-kiosk") as kc,
    ):
        await kc.request(
            "ticket.issue", {"service": next(s.id for s in config.services if s.queue == queue)}
        )
        await g.request("window.open", {"window": photo_at, "clerk": "c001"})
        await g.request("call.next", {"window": photo_at})
    zone = DisplayOptions(
        server=server, token=DEMO_TOKENS["display"], areas=frozenset({area}), notice=notice
    )
    whole = DisplayOptions(server=server, token=DEMO_TOKENS["display"], notice=notice)
    # (name, size, options, page time): page time 0 is the first page in Chinese, 8 s
    # later the same page in English (display/layout.py turns them)
    landscape = [
        ("display-hall-landscape.png", (1920, 1080), zone, 0.0),
        ("display-hall-landscape-en.png", (1920, 1080), zone, 8.0),
        ("display-hall-whole-page2.png", (1920, 1080), whole, 16.0),
        (
            "display-window-called.png",
            (1920, 1080),
            DisplayOptions(server=server, token=DEMO_TOKENS["display"], window=windows[0]),
            0.0,
        ),
        (
            "display-window-serving.png",
            (1920, 1080),
            DisplayOptions(server=server, token=DEMO_TOKENS["display"], window=windows[1]),
            0.0,
        ),
        (
            "display-window-paused.png",
            (1920, 1080),
            DisplayOptions(server=server, token=DEMO_TOKENS["display"], window=windows[-2]),
            0.0,
        ),
        (
            "display-window-closed.png",
            (1920, 1080),
            DisplayOptions(server=server, token=DEMO_TOKENS["display"], window=1),
            0.0,
        ),
        # 王芳 (c001) signed in: her placeholder photo (queue_server/demo/staff-photos)
        (
            "display-window-photo.png",
            (1920, 1080),
            DisplayOptions(server=server, token=DEMO_TOKENS["display"], window=photo_at),
            0.0,
        ),
    ]
    portrait_opts = DisplayOptions(
        server=server, token=DEMO_TOKENS["display"], portrait=True, notice=notice, recent=10
    )
    portrait = [
        ("display-hall-portrait.png", (1080, 1920), portrait_opts, 0.0),
        ("display-hall-portrait-en.png", (1080, 1920), portrait_opts, 8.0),
    ]
    size = LAYOUTS[layout]
    tag = f"{size[0]}x{size[1]}"
    smaller = [
        (f"display-hall-{tag}.png", size, zone, 0.0),
        (f"display-hall-{tag}-en.png", size, zone, 8.0),
        (
            f"display-window-called-{tag}.png",
            size,
            DisplayOptions(server=server, token=DEMO_TOKENS["display"], window=windows[0]),
            0.0,
        ),
    ]
    shots = {"portrait": portrait, "landscape": landscape}.get(layout, smaller)
    for name, size, options, page_time in shots:
        if only and name not in only:
            continue
        assert tuple(Window.size) == size, f"window is {Window.size}, not {size}"
        # a long highlight: on a loaded machine the shot may come seconds after the call
        app = DisplayApp(dataclasses.replace(options, highlight_seconds=120))
        app.page_clock = lambda t=page_time: t  # type: ignore[misc]
        async with running_display(app):
            if options.window == windows[0] or options.window is None:
                # call one more number so the highlight shows as a citizen sees it
                from queue_server.client import HallClient

                async with HallClient(server, DEMO_TOKENS["gateway"], name="shots") as g:
                    n = windows[0]
                    await g.request("case.start", {"window": n})
                    await g.request("case.finish", {"window": n})
                    await g.request("call.next", {"window": n})
                st = app.state
                await until(
                    lambda st=st: (
                        st.highlighted()  # type: ignore[misc]
                        or st.window_highlighted(windows[0])
                    ),
                    10,
                    "a highlight",
                )
            if name == "display-window-photo.png":
                await until(lambda app=app: app.root.photo is not None, 10, "the photo")
                app._refresh()
            await until_drawn(app)
            await asyncio.sleep(0.3)
            written.append(await capture(out / name))
            print(f"wrote {out / name} ({size[0]}x{size[1]})")
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/screenshots_display.py", description=__doc__)
    p.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    p.add_argument("--layout", choices=["all", *LAYOUTS], default="all")
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="FILE",
        help="only this picture (e.g. display-window-photo.png); may repeat",
    )
    args = p.parse_args(argv)
    if args.layout == "all":
        # The window's size is fixed when it opens (an offscreen surface does not grow),
        # so each size renders in its own process.
        for layout in LAYOUTS:
            only = [a for name in args.only for a in ("--only", name)]
            code = subprocess.call(
                [sys.executable, __file__, "--out", str(args.out), "--layout", layout, *only]
            )
            if code:
                return code
        return 0
    _kivy_env(*LAYOUTS[args.layout])
    from display.fonts import FontNotFound, find_cjk_font, register_default_font

    try:
        register_default_font(find_cjk_font())
    except FontNotFound as exc:
        print(exc, file=sys.stderr)
        return 2
    asyncio.run(render(args.out, args.layout, tuple(args.only)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
