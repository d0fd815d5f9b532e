"""Run the layout checks by hand against a throwaway demo hall and print their figures.

    .venv/bin/python scripts/layoutcheck.py [kiosk|display|both]

The checks themselves (``kiosk.accessibility.audit``, ``display.layoutcheck``) only
measure widgets; the queue server they are fed from is started here, by
``scripts.demo_hall``, so the kiosk and display apps carry no tools that start one. The
same checks run in CI as tests/kiosk/test_kiosk_accessibility.py and
tests/display/test_display_layout.py. Exit status 1 when a check finds a problem.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


async def kiosk_check() -> int:
    from kiosk.accessibility import audit
    from scripts.demo_hall import demo_kiosk

    async with demo_kiosk(Path(tempfile.mkdtemp(prefix="hallq-layout-"))) as k:
        report = await audit(k.app, k.settle, k.tap)
    print(report.text())
    return 1 if report.problems else 0


async def display_check() -> int:
    from display.fonts import find_cjk_font, register_default_font
    from display.layoutcheck import audit_displays
    from scripts.demo_hall import busy_demo_hall

    register_default_font(find_cjk_font())
    async with busy_demo_hall() as (info, snap):
        report = await audit_displays(info, snap)
    print(report.text())
    return 1 if report.problems else 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("which", nargs="?", choices=["kiosk", "display", "both"], default="both")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    sys.path.insert(0, str(ROOT))
    import tests.kivy_env  # noqa: F401  (a private Xvfb, Kivy's environment)

    code = 0
    if args.which in ("kiosk", "both"):
        code |= asyncio.run(kiosk_check())
    if args.which in ("display", "both"):
        code |= asyncio.run(display_check())
    return code


if __name__ == "__main__":
    raise SystemExit(main())
