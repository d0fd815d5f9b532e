"""Command line for the voice, for hall set-up and for trying announcements by ear.

    python -m display.voice clips               generate the demo clip set (espeak-ng)
    python -m display.voice clips --list        print the file names a clip set holds
    python -m display.voice clips --check DIR   list what a hall's recordings still lack
    python -m display.voice say A012 3 --lang en [--kind recall] [--out call.wav]

``hallq display`` may wrap this later; it lives here so the voice can be set up and heard
on a machine without Kivy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .clips import demo_dir, expected_files, generate_demo_clips
from .engines import ClipEngine, render
from .exceptions import VoiceError
from .player import VoiceConfig, build_engine
from .sinks import DeviceSink
from .text import SPOKEN_LANGUAGES, CallKind, CallRequest, TextOptions, build_script


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m display.voice", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("clips", help="generate, list or check clip sets")
    c.add_argument("--dir", type=Path, help="target directory (default: the demo cache)")
    c.add_argument("--force", action="store_true", help="regenerate existing clips")
    c.add_argument("--list", action="store_true", help="print expected file names and exit")
    c.add_argument("--check", type=Path, metavar="DIR", help="list clips missing from DIR")

    s = sub.add_parser("say", help="speak one call")
    s.add_argument("ticket")
    s.add_argument("window", type=int)
    s.add_argument("--lang", default="zh", help="the ticket's language (zh, en, mn ...)")
    s.add_argument("--kind", default="call", choices=[k.value for k in CallKind])
    s.add_argument("--engine", default="clips", choices=["clips", "espeak"])
    s.add_argument("--clips-dir", type=Path, help="the hall's own recordings")
    s.add_argument("--window-reading", default="number", choices=["number", "digits"])
    s.add_argument("--once", action="store_true", help="speak once instead of twice")
    s.add_argument("--out", type=Path, help="write a WAV here instead of playing it")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "clips":
            return _clips(args)
        return _say(args)
    except VoiceError as exc:
        print(f"voice: {exc}", file=sys.stderr)
        return 1


def _clips(args: argparse.Namespace) -> int:
    if args.list:
        print("chime.wav (optional)")
        print("\n".join(expected_files()))
        return 0
    if args.check:
        missing = ClipEngine([args.check]).missing(SPOKEN_LANGUAGES)
        print("\n".join(f"{m}.wav" for m in missing) or "complete")
        return 1 if missing else 0
    target = args.dir or demo_dir()
    written = generate_demo_clips(target, force=args.force)
    print(f"{len(written)} clip(s) written to {target}")
    return 0


def _say(args: argparse.Namespace) -> int:
    config = VoiceConfig(speaks=True, engine=args.engine, clips_dir=args.clips_dir)
    call = CallRequest(args.ticket, args.window, args.lang, CallKind(args.kind))
    script = build_script(
        [call], 1 if args.once else 2, TextOptions(window_reading=args.window_reading)
    )
    print(script.text)
    audio = render(script, build_engine(config))
    if args.out:
        audio.write_wav(args.out)
        print(f"{audio.seconds:.1f} s written to {args.out}")
    else:
        DeviceSink().play(audio, call.ticket)
    return 0


if __name__ == "__main__":
    sys.exit(main())
