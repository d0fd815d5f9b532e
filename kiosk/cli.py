"""``hallq kiosk``: run the citizen kiosk against a queue server.

Kivy reads its configuration when the window is created, so this module sets the
environment and the lock-down before it imports the app. Secrets come from the
environment (``HALLQ_KIOSK_TOKEN``, ``HALLQ_KIOSK_STAFF_ID``) or the settings file.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from kiosk.exceptions import KioskError
from kiosk.settings import KioskSettings, from_env, from_file

log = logging.getLogger("hallq.kiosk")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hallq kiosk", description="Run the citizen kiosk.")
    p.add_argument("--config", help="kiosk settings TOML (or a hall file with [kiosk])")
    p.add_argument("--server", help="queue server URL, e.g. ws://127.0.0.1:8765/")
    p.add_argument("--token", help="kiosk device token (better: HALLQ_KIOSK_TOKEN)")
    p.add_argument("--name", help="this kiosk's device name, as in the hall file")
    p.add_argument(
        "--printer",
        help="tcp://HOST:9100, serial:/dev/ttyUSB0?baudrate=19200, "
        "/dev/ttyS0, usb:///dev/usb/lp0, a file path, or none",
    )
    p.add_argument("--printer-profile", help="e.g. 80mm-gb18030, 58mm-gbk, 80mm-latin")
    p.add_argument("--idle-seconds", type=float, help="go home after this long untouched")
    p.add_argument(
        "--no-priority-pin", action="store_true", help="issue priority tickets without a staff PIN"
    )
    p.add_argument("--font", help="a .ttf/.otf/.ttc font that has Chinese")
    p.add_argument("--size", help="window size WIDTHxHEIGHT (default 1920x1080)")
    p.add_argument(
        "--windowed",
        action="store_true",
        help="development: a normal window, Esc quits, cursor shown",
    )
    return p


def settings_from(argv: list[str], env: dict[str, str] | None = None) -> KioskSettings:
    args = parser().parse_args(argv)
    settings = from_file(args.config) if args.config else KioskSettings()
    from_env(settings, env)
    for attr in ("server", "token", "name", "printer", "printer_profile", "idle_seconds", "font"):
        value = getattr(args, attr)
        if value is not None:
            setattr(settings, attr, value)
    if args.no_priority_pin:
        settings.priority_needs_pin = False
    if args.windowed:
        settings.windowed = True
    if args.size:
        try:
            w, h = (int(x) for x in args.size.lower().split("x"))
        except ValueError:
            raise KioskError(f"--size {args.size!r}: give WIDTHxHEIGHT, e.g. 1920x1080") from None
        settings.width, settings.height = w, h
    if not settings.token:
        raise KioskError("no kiosk token: set HALLQ_KIOSK_TOKEN or give --token")
    if settings.priority_needs_pin and not settings.staff_id:
        log.warning("no hall guide set (HALLQ_KIOSK_STAFF_ID): priority tickets are off")
    return settings


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # One log through ``logging``: Kivy's own handler would print every line twice and
    # lower the root level to DEBUG, logging each WebSocket frame.
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    try:
        settings = settings_from(argv)
        from kiosk.fonts import find_cjk_font

        find_cjk_font(settings.font)  # fail before opening a window
        from kiosk.printing import PrinterService

        printer = PrinterService(settings.printer, settings.printer_profile)
    except KioskError as exc:
        print(f"hallq kiosk: {exc}", file=sys.stderr)
        return 2
    if (
        not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and not os.environ.get("SDL_VIDEODRIVER")
    ):
        print(
            "hallq kiosk: no screen (DISPLAY is not set); the kiosk window needs one",
            file=sys.stderr,
        )
        return 3
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    from kivy.config import Config

    from kiosk.lockdown import apply_config

    apply_config(Config, not settings.windowed, settings.width, settings.height)
    from kiosk.app import KioskApp

    app = KioskApp(settings, printer=printer, register_default_font=True)
    log.info(
        "kiosk %s: server %s, printer %s, lock-down %s",
        settings.name,
        settings.server,
        printer.url or "none",
        "off" if settings.windowed else "on",
    )
    try:
        asyncio.run(app.run_with_client())
    except KeyboardInterrupt:
        pass
    return 0
