"""Errors raised by the voice package.

The tree, so a caller can catch as broadly or as narrowly as it needs::

    VoiceError
    ├── CallRequestError      a call event the voice cannot speak (bad ticket, window)
    ├── AudioFormatError      a WAV we cannot read (compressed, truncated, odd sample size)
    ├── EngineError           speech could not be produced
    │   ├── EspeakError       espeak-ng missing, or it failed
    │   └── MissingClipError  a clip set lacks a recording an announcement needs
    └── AudioOutputError      the audio could not be played or written
        └── NoSoundDeviceError  no player program, or no sound card on this machine

The player catches ``VoiceError`` around each announcement so that one failure is logged
and the next call is still spoken. It also catches anything else there (logged with its
traceback, as a bug), because a voice task that died would leave the hall silent.
"""

from __future__ import annotations

from pathlib import Path


class VoiceError(Exception):
    """Base class of every error the voice package raises on purpose."""


class CallRequestError(VoiceError, ValueError):
    """The call event cannot be turned into speech (its ticket or window is malformed)."""


class AudioFormatError(VoiceError):
    """A WAV file or stream is not linear PCM we can read."""


class EngineError(VoiceError):
    """A speech engine could not produce audio."""


class EspeakError(EngineError):
    """espeak-ng is not installed or exited with an error."""


class MissingClipError(EngineError):
    """A clip set lacks one or more recordings.

    Carries every missing name, so a hall replacing the clips learns the full list at once
    instead of one file per attempt.
    """

    def __init__(self, missing: list[str], searched: list[Path]) -> None:
        self.missing = list(missing)
        self.searched = list(searched)
        where = ", ".join(str(p) for p in searched) or "(no clip directory)"
        super().__init__(f"missing voice clips {', '.join(self.missing)}; looked in {where}")


class AudioOutputError(VoiceError):
    """Audio could not be played or written."""


class NoSoundDeviceError(AudioOutputError):
    """No way to reach a loudspeaker on this machine."""
