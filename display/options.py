"""Settings of one display process, as the command line (or a test) gives them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_SERVER = "ws://127.0.0.1:8765/"


@dataclass(frozen=True)
class DisplayOptions:
    server: str = DEFAULT_SERVER
    token: str = ""
    name: str = "hallq-display"
    window: int | None = None
    """Show one window (the monitor above it) instead of the hall."""
    areas: frozenset[str] | None = None
    """Zone filter: show only these areas (None: the whole hall)."""
    portrait: bool = False
    recent: int = 8
    highlight_seconds: float = 8.0
    notice: str = ""
    notice_speed: float = 120.0
    """Pixels a second the notice line scrolls (at 1080 px screen height)."""
    show_satisfaction: bool = True
    ranking_minutes: float = 0.0
    """Show the last week's window ranking (周公示) in the notice line, asked again this
    often (0: off). Hall displays only."""
    fullscreen: bool = False
    size: tuple[int, int] | None = None
    font: Path | None = None
    speak: bool = False
    voice_engine: str = "clips"
    voice_output: str = "device"
    wav_dir: Path | None = None
    clips_dir: Path | None = None
    voice_repeat: int = 1  # times each call is said (normal mode; a backlog says it once)
    audio_command: tuple[str, ...] | None = None
    backoff_max: float = 5.0
