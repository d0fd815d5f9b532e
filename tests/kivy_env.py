"""Kivy under test: one real window per test process, set up before Kivy is imported.

Kiosk and display tests share the process (the Kivy Window is a singleton), so both
import this module first from their conftest. With a DISPLAY (Xvfb started by the test
run, or a real one) SDL talks X11; without one it renders offscreen through Mesa's
llvmpipe, which still gives real pixels and real touch handling (see shared/KIVY.md).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time


def _start_xvfb() -> None:
    """Start a private Xvfb when none is given, so SDL gets a real X server."""
    if os.environ.get("DISPLAY") or not shutil.which("Xvfb"):
        return
    for n in range(90, 140):
        if os.path.exists(f"/tmp/.X11-unix/X{n}") or os.path.exists(f"/tmp/.X{n}-lock"):
            continue
        proc = subprocess.Popen(
            ["Xvfb", f":{n}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            if os.path.exists(f"/tmp/.X11-unix/X{n}"):
                os.environ["DISPLAY"] = f":{n}"
                atexit.register(proc.terminate)
                return
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        proc.terminate()


def setup() -> None:
    if os.environ.get("HALLQ_KIVY_ENV_READY"):
        return
    if os.environ.get("HALLQ_TEST_XVFB", "1") == "1":
        _start_xvfb()
    home = tempfile.mkdtemp(prefix="hallq-kivy-")
    os.environ.update(
        {
            "KIVY_NO_ARGS": "1",
            "KIVY_HOME": home,
            "KIVY_NO_FILELOG": "1",
            "KIVY_LOG_MODE": "MIXED",
            "KCFG_KIVY_LOG_LEVEL": "warning",
            "KIVY_WINDOW": "sdl2",
            "SDL_VIDEODRIVER": "x11" if os.environ.get("DISPLAY") else "offscreen",
            "KCFG_GRAPHICS_WIDTH": "1920",
            "KCFG_GRAPHICS_HEIGHT": "1080",
            "HALLQ_KIVY_ENV_READY": "1",
        }
    )


setup()
