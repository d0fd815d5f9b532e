"""The accessibility targets, measured on the live screens of the demo hall (64 services)."""

from __future__ import annotations

from kiosk.accessibility import CONTRAST, MAX_TAPS, TARGET_PX, TEXT_PX, audit
from kiosk.tools import demo_kiosk

from .harness import run


def test_accessibility_targets_on_every_screen(tmp_path, capsys):
    async def main():
        async with demo_kiosk(tmp_path) as k:
            return await audit(k.app, k.settle, k.tap)

    report = run(main(), 120)
    with capsys.disabled():
        print("\n" + report.text())
    assert report.window == (1920, 1080)
    assert report.services >= 60
    names = {s.name for s in report.screens}
    assert {"home", "services", "detail", "priority", "appointment", "ticket/failed",
            "offline", "rating/level/large"} <= names
    targets = [s.min_target_px for s in report.screens if s.targets]
    assert len(targets) >= 16 and min(targets) >= TARGET_PX
    assert min(s.min_text_px for s in report.screens) >= TEXT_PX
    assert min(s.min_contrast for s in report.screens) >= CONTRAST
    assert report.max_taps <= MAX_TAPS
    assert report.problems == []
