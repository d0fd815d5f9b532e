"""The voice player: calls in, one announcement at a time out of one loudspeaker.

An asyncio task, because the display app runs Kivy and its WebSocket client on one
asyncio loop. The blocking parts (espeak-ng, reading clips, the sound device) run in a
worker thread through :func:`asyncio.to_thread`, so the screen keeps drawing while a call
is spoken. The task takes the next announcement only after the sink has returned from
playing the previous one: that, and nothing else, keeps announcements from overlapping.

A failure (espeak-ng missing, no sound card, even a bug) is logged and recorded against
that announcement, and the player goes on to the next one: a display must not stop
calling numbers for the rest of the day because one announcement went wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .engines import EspeakEngine, FallbackEngine, SpeechEngine, render
from .exceptions import VoiceError
from .pcm import Pcm
from .queue import Announcement, AnnouncementQueue, BacklogPolicy, Mode, PushResult
from .sinks import AudioSink, DeviceSink, WavFileSink
from .text import SPOKEN_LANGUAGES, CallRequest, Phrase, TextOptions, build_script

log = logging.getLogger("hallq.display.voice")


@dataclass(frozen=True)
class VoiceConfig:
    """Voice settings of one display process.

    ``speaks`` is off by default: a hall usually has one speaker system, driven by one
    display, and every other screen stays quiet.
    """

    speaks: bool = False
    engine: Literal["clips", "espeak"] = "clips"
    clips_dir: Path | None = None
    """The hall's own recordings, searched before the generated demo set."""
    cache_dir: Path | None = None
    """Where demo clips are generated; default ``~/.cache/hallq/voice-clips``."""
    espeak_fallback: bool = True
    """Speak a phrase with espeak-ng when a clip is missing, rather than not at all."""
    output: Literal["device", "wav"] = "device"
    wav_dir: Path | None = None
    device_command: tuple[str, ...] | None = None
    """e.g. ``("aplay", "-q", "-D", "plughw:1")``; default: first of pw-play/paplay/aplay."""
    text: TextOptions = field(default_factory=TextOptions)
    backlog: BacklogPolicy = field(default_factory=BacklogPolicy)


@dataclass(frozen=True)
class PlayRecord:
    """What happened to one announcement; ``started`` is None if no sound came out."""

    announcement: Announcement
    text: str
    started: float | None
    ended: float
    audio_seconds: float
    error: str | None = None


def build_engine(config: VoiceConfig) -> SpeechEngine:
    if config.engine == "espeak":
        return EspeakEngine()
    from .clips import clip_engine

    clips = clip_engine(config.clips_dir, config.cache_dir)
    return FallbackEngine([clips, EspeakEngine()]) if config.espeak_fallback else clips


def build_sink(config: VoiceConfig) -> AudioSink:
    if config.output == "wav":
        if config.wav_dir is None:
            raise VoiceError("voice output 'wav' needs wav_dir")
        return WavFileSink(config.wav_dir)
    return DeviceSink(config.device_command)


class VoicePlayer:
    """Feeds an :class:`AnnouncementQueue` from :meth:`announce` and plays it on a task.

    Call :meth:`announce` from the event loop's thread (the display's protocol handler).
    ``clock`` gives the timestamps of queueing and of the start and end of each
    announcement's sound.
    """

    def __init__(
        self,
        engine: SpeechEngine,
        sink: AudioSink,
        *,
        queue: AnnouncementQueue | None = None,
        text: TextOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        enabled: bool = True,
        history_size: int = 500,
    ) -> None:
        self.engine = engine
        self.sink = sink
        self.queue = queue or AnnouncementQueue()
        self.text = text or TextOptions()
        self.clock = clock
        self.enabled = enabled
        self.records: list[PlayRecord] = []
        self._history_size = history_size
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._warned_languages: set[str] = set()

    @classmethod
    def from_config(cls, config: VoiceConfig) -> VoicePlayer:
        """A player as the display app builds it; with ``speaks`` off it stays silent."""
        if not config.speaks:
            silent = _Silent()
            return cls(silent, silent, enabled=False, text=config.text)
        return cls(
            build_engine(config),
            build_sink(config),
            queue=AnnouncementQueue(config.backlog),
            text=config.text,
        )

    # -- input --------------------------------------------------------------------------

    def announce(self, call: CallRequest) -> PushResult | None:
        """Queue a call; returns at once. None when this display does not speak."""
        if not self.enabled:
            return None
        if call.language not in SPOKEN_LANGUAGES and call.language not in self._warned_languages:
            self._warned_languages.add(call.language)
            log.warning(
                "voice has no %r phrases; such tickets are called in Chinese only", call.language
            )
        result = self.queue.push(call, self.clock())
        if result.action == "merged":
            old = result.superseded
            assert old is not None
            log.info(
                "voice: %s %s for window %d merged into its waiting call (was %s, window %d)",
                call.kind,
                call.ticket,
                call.window,
                old.kind,
                old.window,
            )
        self._idle.clear()
        self._wake.set()
        return result

    # -- running ------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._closing = False
            self._task = asyncio.get_running_loop().create_task(self.run(), name="hallq-voice")
        return self._task

    async def run(self) -> None:
        while not self._closing:
            self._wake.clear()
            announcement = self.queue.take(self.clock())
            if announcement is None:
                self._idle.set()
                await self._wake.wait()
                continue
            await self._speak(announcement)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every queued call has been spoken (for tests and shutdown)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self, *, drain: bool = True, timeout: float | None = 60.0) -> None:
        """Stop the task, after the queue is empty if ``drain``; never mid-announcement."""
        if self._task is None:
            return
        if drain:
            with contextlib.suppress(TimeoutError):
                await self.drain(timeout)
        self._closing = True
        self._wake.set()
        await self._task
        self._task = None

    async def _speak(self, announcement: Announcement) -> None:
        script = build_script(announcement.calls, announcement.repeats, self.text)
        if announcement.mode is not Mode.NORMAL:
            log.info(
                "voice backlog: %s mode, %d call(s) in this announcement, %d waiting",
                announcement.mode,
                len(announcement.calls),
                len(self.queue.waiting),
            )
        label = f"{announcement.id:05d}-{'-'.join(announcement.tickets)}"
        started: float | None = None
        seconds = 0.0
        error: str | None = None
        try:
            audio = await asyncio.to_thread(render, script, self.engine)
            seconds = audio.seconds
            started = self.clock()
            await asyncio.to_thread(self.sink.play, audio, label)
        except VoiceError as exc:
            error = str(exc)
            log.error("voice: announcement %s not spoken: %s", label, exc)
        except Exception as exc:  # a bug must not silence the hall for the rest of the day
            error = f"{type(exc).__name__}: {exc}"
            log.exception("voice: announcement %s failed unexpectedly", label)
        finally:
            ended = self.clock()
            self.queue.finish(announcement.id, ended, started)
            self.records.append(
                PlayRecord(announcement, script.text, started, ended, seconds, error)
            )
            del self.records[: -self._history_size]


class _Silent:
    """Engine and sink of a display that does not speak; never called."""

    name = "silent"

    def speak(self, phrase: Phrase) -> Pcm:  # pragma: no cover - never called
        raise VoiceError("this display does not speak")

    def chime(self) -> Pcm:  # pragma: no cover - never called
        raise VoiceError("this display does not speak")

    def play(self, audio: Pcm, label: str) -> None:  # pragma: no cover - never called
        raise VoiceError("this display does not speak")
