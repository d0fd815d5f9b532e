"""Offline voice announcements for the hall display.

Layers, each usable and tested on its own:

* :mod:`.text`: a call event becomes words (pure);
* :mod:`.queue`: which announcement is spoken next, with the backlog rule (pure, time
  passed in);
* :mod:`.engines`: words become PCM, by recorded clips or espeak-ng; :mod:`.clips`
  manages clip sets and generates the demo set;
* :mod:`.sinks`: PCM goes to a loudspeaker or a WAV file;
* :mod:`.player`: an asyncio task joining them, one announcement at a time.

Importing this package starts no process and touches no file. See ``docs/voice.md``.
"""

from .exceptions import VoiceError
from .player import PlayRecord, VoiceConfig, VoicePlayer
from .queue import AnnouncementQueue, BacklogPolicy
from .text import CallKind, CallRequest, TextOptions, build_script

__all__ = [
    "AnnouncementQueue",
    "BacklogPolicy",
    "CallKind",
    "CallRequest",
    "PlayRecord",
    "TextOptions",
    "VoiceConfig",
    "VoiceError",
    "VoicePlayer",
    "build_script",
]
