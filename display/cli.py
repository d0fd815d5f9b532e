"""``hallq display``: run a hall display, or with ``--window N`` the display over a window.

Examples::

    hallq display --server ws://127.0.0.1:8765/ --token demo-display-1-token --speak
    hallq display --token demo-display-2-token --areas party,social --portrait
    hallq display --token demo-display-3-token --window 3 --windowed --size 1280x720

Kivy reads its settings when it is first imported, so this module parses the command
line and sets the window's size and mode *before* importing anything of Kivy; a font or
option problem is reported before a window ever opens.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from .options import DEFAULT_SERVER, DisplayOptions
from .state import parse_areas

TOKEN_ENV = "HALLQ_DISPLAY_TOKEN"
SERVER_ENV = "HALLQ_SERVER"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hallq display",
        description="Hall display (recent calls, windows, waiting) or window display, "
        "with optional voice announcements.",
    )
    p.add_argument(
        "--server",
        default=os.environ.get(SERVER_ENV, DEFAULT_SERVER),
        help=f"queue server WebSocket URL (default ${SERVER_ENV} or {DEFAULT_SERVER})",
    )
    p.add_argument(
        "--token",
        default=None,
        help=f"display token (default ${TOKEN_ENV}); prefer the variable: "
        "command lines are visible to other users",
    )
    p.add_argument("--name", default="hallq-display", help="client name in the server's logs")
    p.add_argument(
        "--window", type=int, metavar="N", help="show window N only (the monitor above that window)"
    )
    p.add_argument("--areas", metavar="A,B", help="zone filter: only these area ids")
    p.add_argument("--portrait", action="store_true", help="portrait layout (hall display)")
    p.add_argument(
        "--recent",
        type=int,
        default=8,
        metavar="N",
        help="how many earlier calls to list (default 8)",
    )
    p.add_argument(
        "--highlight-seconds",
        type=float,
        default=8.0,
        help="how long a new call flashes (default 8)",
    )
    p.add_argument("--notice", default="", help="scrolling notice line text")
    p.add_argument("--notice-file", type=Path, help="read the notice line from this file")
    p.add_argument(
        "--notice-speed",
        type=float,
        default=120.0,
        help="notice scroll speed, pixels a second at 1080 px height",
    )
    p.add_argument(
        "--no-satisfaction", action="store_true", help="do not show today's satisfaction rate"
    )
    p.add_argument(
        "--ranking",
        type=float,
        default=0.0,
        metavar="MINUTES",
        help="weekly publication: scroll last week's window ranking in the notice "
        "line, asked again every MINUTES (hall display; default off)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--fullscreen",
        dest="fullscreen",
        action="store_true",
        default=True,
        help="fill the screen, borderless, no cursor (default)",
    )
    mode.add_argument(
        "--windowed",
        dest="fullscreen",
        action="store_false",
        help="an ordinary window (for trying it out)",
    )
    p.add_argument(
        "--size",
        default=None,
        metavar="WxH",
        help="window size when windowed (default 1920x1080, 1080x1920 portrait)",
    )
    p.add_argument(
        "--font",
        type=Path,
        default=None,
        help="font file with Chinese glyphs (default: $HALLQ_FONT, then the system)",
    )
    v = p.add_argument_group("voice")
    v.add_argument(
        "--speak",
        dest="speak",
        action="store_true",
        default=False,
        help="announce calls through this display's loudspeaker",
    )
    v.add_argument(
        "--no-speak",
        dest="speak",
        action="store_false",
        help="stay quiet (default: a hall has one speaking display)",
    )
    v.add_argument("--voice-engine", choices=["clips", "espeak"], default="clips")
    v.add_argument("--clips-dir", type=Path, help="the hall's own recorded clips")
    v.add_argument(
        "--voice-repeat",
        type=int,
        default=1,
        metavar="N",
        help="say each call N times (default 1: about 6 s per language)",
    )
    v.add_argument("--voice-output", choices=["device", "wav"], default="device")
    v.add_argument("--wav-dir", type=Path, help="with --voice-output wav: where WAVs go")
    v.add_argument(
        "--audio-command",
        default=None,
        help='player command, e.g. "aplay -q -D plughw:1" (the file is appended)',
    )
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def options_from_args(args: argparse.Namespace) -> DisplayOptions:
    """Check the arguments and build the options; ValueError says what is wrong."""
    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token:
        raise ValueError(f"a display token is needed: --token or ${TOKEN_ENV}")
    if args.recent < 0 or args.recent > 30:
        raise ValueError("--recent must be between 0 and 30")
    if args.window is not None and args.areas:
        raise ValueError("--window and --areas do not go together")
    notice = args.notice
    if args.notice_file is not None:
        try:
            notice = args.notice_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read --notice-file: {exc}") from None
    notice = " ".join(notice.split())  # one line
    size = None
    if args.size:
        try:
            w, h = (int(x) for x in args.size.lower().split("x"))
        except ValueError:
            raise ValueError("--size must look like 1920x1080") from None
        size = (w, h)
    if args.ranking and (args.ranking < 1 or args.window is not None):
        raise ValueError("--ranking is minutes (at least 1), for a hall display only")
    if args.voice_output == "wav" and args.wav_dir is None:
        raise ValueError("--voice-output wav needs --wav-dir")
    if not 1 <= args.voice_repeat <= 3:
        raise ValueError("--voice-repeat must be 1, 2 or 3")
    return DisplayOptions(
        server=args.server,
        token=token,
        name=args.name,
        window=args.window,
        areas=parse_areas(args.areas),
        portrait=args.portrait,
        recent=args.recent,
        highlight_seconds=args.highlight_seconds,
        notice=notice,
        notice_speed=args.notice_speed,
        show_satisfaction=not args.no_satisfaction,
        ranking_minutes=args.ranking,
        fullscreen=args.fullscreen,
        size=size,
        font=args.font,
        speak=args.speak,
        voice_engine=args.voice_engine,
        voice_output=args.voice_output,
        wav_dir=args.wav_dir,
        clips_dir=args.clips_dir,
        voice_repeat=args.voice_repeat,
        audio_command=tuple(args.audio_command.split()) if args.audio_command else None,
    )


def configure_kivy(options: DisplayOptions) -> None:
    """Window settings Kivy reads at import: must run before ``kivy.core.window``."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # one log, through ``logging``
    from kivy.config import Config

    w, h = options.size or ((1080, 1920) if options.portrait else (1920, 1080))
    Config.set("graphics", "width", str(w))
    Config.set("graphics", "height", str(h))
    Config.set("kivy", "exit_on_escape", "0" if options.fullscreen else "1")
    if options.fullscreen:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "borderless", "1")
        Config.set("graphics", "show_cursor", "0")
        Config.set("graphics", "allow_screensaver", "0")
    Config.set("input", "mouse", "mouse,multitouch_on_demand")


def build_voice(options: DisplayOptions) -> object | None:
    """The voice player when this display speaks; None keeps the voice code unloaded."""
    if not options.speak:
        return None
    from .voice import VoiceConfig, VoicePlayer
    from .voice.queue import BacklogPolicy

    return VoicePlayer.from_config(
        VoiceConfig(
            speaks=True,
            engine=options.voice_engine,  # type: ignore[arg-type]
            clips_dir=options.clips_dir,
            output=options.voice_output,  # type: ignore[arg-type]
            wav_dir=options.wav_dir,
            device_command=options.audio_command,
            backlog=BacklogPolicy(repeats=options.voice_repeat),
        )
    )


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        options = options_from_args(args)
    except ValueError as exc:
        print(f"hallq display: {exc}", file=sys.stderr)
        return 2
    from .fonts import FontNotFound, find_cjk_font

    try:
        font = find_cjk_font(options.font)
    except FontNotFound as exc:
        print(f"hallq display: {exc}", file=sys.stderr)
        return 2
    try:
        voice = build_voice(options)
    except Exception as exc:  # the voice's own errors say what to install
        # A screen without sound still calls numbers; no screen at all calls none.
        logging.getLogger("hallq.display").error(
            "voice unavailable, the display runs silent: %s", exc
        )
        voice = None
    configure_kivy(options)
    from .app import DisplayApp
    from .fonts import register_default_font

    register_default_font(font)
    logging.getLogger("hallq.display").info("font: %s (%s)", font.path, font.source)
    app = DisplayApp(options, voice=voice)
    try:
        asyncio.run(app.run_async())
    except KeyboardInterrupt:
        pass
    return 1 if app.error and app.state.connection == "refused" else 0
