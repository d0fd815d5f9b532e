"""Read the screen's main instruction aloud, offline, for citizens who read with difficulty.

Uses ``espeak-ng`` when it is installed (Debian package ``espeak-ng``), the same offline
engine family as the hall display's voice. Speaking never blocks the screen: the engine
runs as a child process, and a new request stops the one still talking.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from typing import Protocol

VOICES = {"zh": "cmn", "en": "en"}


class Speaker(Protocol):
    def say(self, text: str, language: str) -> None: ...


class EspeakSpeaker:
    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary or shutil.which("espeak-ng")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def available(self) -> bool:
        return self.binary is not None

    def say(self, text: str, language: str) -> None:
        if self.binary is None or not text:
            return
        self.stop()
        with contextlib.suppress(OSError):
            self._proc = subprocess.Popen(
                [self.binary, "-v", VOICES.get(language, "en"), text],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        self._proc = None


class RecordingSpeaker:
    """For tests and machines without sound: remembers what it was asked to say."""

    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []

    @property
    def available(self) -> bool:
        return True

    def say(self, text: str, language: str) -> None:
        self.said.append((language, text))
