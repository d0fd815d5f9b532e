"""Render every kiosk screen and state to docs/screenshots/ at several window sizes.

    .venv/bin/python scripts/screenshots_kiosk.py [OUTPUT_DIR] [--only PREFIX]

Runs the real app against a throwaway demo hall (a queue server on a temporary SQLite
file: that is why this lives in scripts/, not in the kiosk). The states are the layout
check's (``kiosk.accessibility.states``), so what is shown is what is checked. Files are
named ``kiosk-<W>x<H>-<lang>[-large]-<state>.png``, taken by ``scripts.capture``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (window, language, large text): every size a hall's kiosk has (kiosk.accessibility.SIZES)
# in both languages, large text on one language of each (both languages get some), and
# the demo's half-screen window — 11 runs of every state, not the check's 24.
RUNS = (
    ((1920, 1080), "zh", False),
    ((1920, 1080), "en", False),
    ((1366, 768), "zh", False),
    ((1366, 768), "en", True),
    ((1280, 720), "zh", True),
    ((1280, 720), "en", False),
    ((1080, 1920), "zh", False),
    ((1080, 1920), "en", True),
    ((1280, 1024), "zh", True),
    ((1280, 1024), "en", False),
    ((960, 540), "zh", False),  # the demo's half-screen window
)


async def shoot(out: Path, only: str = "") -> list[Path]:
    from kiosk.accessibility import requests_done, resize, states
    from scripts.capture import capture
    from scripts.demo_hall import demo_kiosk

    written: list[Path] = []
    async with demo_kiosk(Path(tempfile.mkdtemp())) as k:
        m = k.app.model
        for size, lang, large in RUNS:
            await resize(size, k.settle)
            for state, _langs in states(k.app, (lang,)):
                if not state:
                    await requests_done(k.app)
                    continue
                if not state.startswith(only):
                    continue
                if m.language != lang:
                    m.set_language(lang)
                m.large_text = large
                await k.settle()
                await k.settle()
                await asyncio.sleep(0.15)
                tag = f"{size[0]}x{size[1]}-{lang}{'-large' if large else ''}"
                path = out / f"kiosk-{tag}-{state.replace('/', '-')}.png"
                await capture(path)
                written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "screenshots")
    p.add_argument(
        "--only",
        default="",
        metavar="PREFIX",
        help="only the states whose name starts with PREFIX (e.g. case/); "
        "the other pictures are kept",
    )
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    import tests.kivy_env  # noqa: F401  (private Xvfb and Kivy environment)

    if not args.only:
        for old in out.glob("kiosk-*.png"):
            old.unlink()
    for path in asyncio.run(shoot(out, args.only)):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
