"""Where announcements go: a loudspeaker, or WAV files.

A sink's :meth:`AudioSink.play` returns only when the audio has finished playing. The
player relies on that to keep announcements from overlapping, so a sink must never
return early (a fire-and-forget ``aplay &`` would let the next call talk over this one).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from .exceptions import AudioOutputError, NoSoundDeviceError
from .pcm import Pcm

log = logging.getLogger("hallq.display.voice")


@runtime_checkable
class AudioSink(Protocol):
    def play(self, audio: Pcm, label: str) -> None:
        """Play ``audio`` to the end, blocking; ``label`` names it in files and logs."""
        ...


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class WavFileSink:
    """Writes each announcement to ``<directory>/<nnnn>-<label>.wav``.

    ``pace`` makes :meth:`play` also block for that fraction of the audio's length, so a
    test can stand in for a real loudspeaker (1.0 = real time) and see that the player
    waits for it, without the test lasting as long as the speech.
    """

    def __init__(self, directory: Path, *, pace: float = 0.0) -> None:
        self.directory = Path(directory)
        self.pace = pace
        self.files: list[Path] = []
        self._lock = threading.Lock()

    def play(self, audio: Pcm, label: str) -> None:
        with self._lock:
            n = len(self.files) + 1
            path = self.directory / f"{n:04d}-{_SAFE.sub('_', label)[:60]}.wav"
            self.files.append(path)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            audio.write_wav(path)
        except OSError as exc:
            raise AudioOutputError(f"cannot write {path}: {exc}") from None
        if self.pace > 0:
            time.sleep(audio.seconds * self.pace)


_PLAYERS: tuple[tuple[str, ...], ...] = (
    ("pw-play",),
    ("paplay",),
    ("aplay", "-q"),
)


class DeviceSink:
    """Plays through the machine's sound system with the first player program found.

    PipeWire (``pw-play``), PulseAudio (``paplay``) or bare ALSA (``aplay``), each given
    a temporary WAV and waited for. ``command`` picks one explicitly (the file name is
    appended). Every failure is an :class:`AudioOutputError` that says what to install or
    check, since a silent hall is the worst outcome and the least visible one.
    """

    def __init__(self, command: Sequence[str] | None = None, *, timeout_margin: float = 10.0):
        self.command = list(command) if command else self.detect()
        self.timeout_margin = timeout_margin

    @staticmethod
    def detect() -> list[str]:
        for cmd in _PLAYERS:
            if shutil.which(cmd[0]):
                return list(cmd)
        raise NoSoundDeviceError(
            "no audio player program found: install pipewire-bin (pw-play), "
            "pulseaudio-utils (paplay) or alsa-utils (aplay)"
        )

    def check(self) -> None:
        """Raise :class:`NoSoundDeviceError` if ALSA reports no sound card.

        Only meaningful for ``aplay``; PipeWire and PulseAudio servers may be remote.
        """
        if Path(self.command[0]).name != "aplay":
            return
        try:
            done = subprocess.run(
                ["aplay", "-l"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise NoSoundDeviceError(f"cannot list sound cards: {exc}") from None
        if "no soundcards found" in (done.stdout + done.stderr) or done.returncode != 0:
            raise NoSoundDeviceError("no sound card found (aplay -l lists none)")

    def play(self, audio: Pcm, label: str) -> None:
        with tempfile.TemporaryDirectory(prefix="hallq-voice-") as tmp:
            path = Path(tmp) / "announcement.wav"
            audio.write_wav(path)
            cmd = [*self.command, str(path)]
            try:
                done = subprocess.run(
                    cmd,
                    capture_output=True,
                    timeout=audio.seconds + self.timeout_margin,
                    check=False,
                )
            except FileNotFoundError:
                raise NoSoundDeviceError(f"{self.command[0]} is not installed") from None
            except subprocess.TimeoutExpired:
                raise AudioOutputError(f"{self.command[0]} hung playing {label}") from None
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace").strip().splitlines()
            reason = err[-1] if err else f"exit status {done.returncode}"
            if "no soundcards" in reason.lower() or "connection refused" in reason.lower():
                raise NoSoundDeviceError(f"{self.command[0]}: {reason}")
            raise AudioOutputError(f"{self.command[0]} failed: {reason}")
