"""Speech engines: a phrase in, PCM out, all behind one small interface.

Two engines, both offline:

* :class:`ClipEngine` joins recorded clips, one per word name (``zh/please.wav``,
  ``en/digit_3.wav`` ...). This is how hall callers have always worked: a human voice
  recorded once sounds better than any synthesiser, and a hall can swap in its own
  recordings without touching code. Directories are searched in order, so a hall's
  directory placed first overrides the demo set word by word.
* :class:`EspeakEngine` runs espeak-ng. Mandarin goes through the ``cmn-latn-pinyin``
  voice fed tone-numbered pinyin, since its ``cmn`` voice misreads characters.

:class:`FallbackEngine` tries engines in order so that a missing clip costs a
synthetic-sounding word rather than a silent call.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from .exceptions import AudioFormatError, EngineError, EspeakError, MissingClipError
from .pcm import Pcm, chime
from .text import (
    CLIP_NAMES,
    ESPEAK_WORDS,
    PAUSE,
    SPOKEN_LANGUAGES,
    Chime,
    Pause,
    Phrase,
    Script,
    espeak_text,
    espeak_voice,
)

log = logging.getLogger("hallq.display.voice")


@runtime_checkable
class SpeechEngine(Protocol):
    """Turns phrases into PCM. Implementations must be safe to call from a worker thread."""

    name: str

    def speak(self, phrase: Phrase) -> Pcm: ...

    def chime(self) -> Pcm: ...


# -- espeak-ng -------------------------------------------------------------------------


class EspeakEngine:
    """espeak-ng as a subprocess, one call per phrase, results cached.

    The cache matters: every announcement says its sentence twice, and the same window
    sentences recur all day.
    """

    name = "espeak"

    def __init__(
        self,
        executable: str = "espeak-ng",
        *,
        speed: dict[str, int] | None = None,
        timeout: float = 15.0,
        cache_size: int = 256,
    ) -> None:
        self.executable = executable
        # Slower than espeak's 175 words/minute: hall loudspeakers echo.
        self.speed = {"zh": 160, "en": 160, **(speed or {})}
        self.timeout = timeout
        self._cache: dict[tuple[str, str], Pcm] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @staticmethod
    def available(executable: str = "espeak-ng") -> bool:
        return shutil.which(executable) is not None

    def check(self, languages: Sequence[str] = SPOKEN_LANGUAGES) -> None:
        """Raise :class:`EspeakError` unless espeak-ng runs and has the voices we use.

        Worth calling at start-up: espeak-ng given an unknown voice falls back to its
        default without a word of warning, and espeak-ng before 1.50 lacks
        ``cmn-latn-pinyin``, so a wrong installation would read pinyin as English.
        """
        cmd = [self.executable, "--voices"]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except FileNotFoundError:
            raise EspeakError(
                f"{self.executable} not found: install the Debian package espeak-ng"
            ) from None
        except subprocess.TimeoutExpired:
            raise EspeakError(f"{self.executable} --voices took too long") from None
        names: set[str] = set()
        for line in done.stdout.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 1:  # the language column, and "(en 2)" other languages
                names.add(fields[1].lower())
                names.update(m.lower() for m in re.findall(r"\((\S+) \d+\)", line))
        absent = [espeak_voice(lang) for lang in languages if espeak_voice(lang) not in names]
        if absent:
            raise EspeakError(f"{self.executable} lacks voice(s) {', '.join(absent)}")

    def synth(self, text: str, voice: str, speed: int = 150) -> Pcm:
        """Raw espeak-ng output for ``text``, trimmed of its leading and trailing silence."""
        cmd = [self.executable, "-v", voice, "-s", str(speed), "--stdout", text]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=self.timeout, check=False)
        except FileNotFoundError:
            raise EspeakError(
                f"{self.executable} not found: install the Debian package espeak-ng"
            ) from None
        except subprocess.TimeoutExpired:
            raise EspeakError(f"{self.executable} took over {self.timeout:.0f} s") from None
        if done.returncode != 0 or not done.stdout:
            err = done.stderr.decode(errors="replace").strip().splitlines()
            reason = err[-1] if err else f"exit status {done.returncode}"
            raise EspeakError(f"{self.executable} -v {voice} failed: {reason}")
        try:
            return Pcm.from_wav_bytes(done.stdout).trimmed().faded()
        except AudioFormatError as exc:
            raise EspeakError(f"{self.executable} wrote unreadable audio: {exc}") from None

    def speak(self, phrase: Phrase) -> Pcm:
        key = (phrase.language, espeak_text(phrase))
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        pcm = self.synth(key[1], espeak_voice(phrase.language), self.speed[phrase.language])
        with self._lock:
            if len(self._cache) >= self._cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = pcm
        return pcm

    def word(self, language: str, name: str) -> Pcm:
        """One word on its own: how the demo clip set is made."""
        text = ESPEAK_WORDS[language][name]
        return self.synth(text, espeak_voice(language), self.speed[language])

    def chime(self) -> Pcm:
        return _default_chime()


_CHIME: Pcm | None = None


def _default_chime() -> Pcm:
    global _CHIME
    if _CHIME is None:
        _CHIME = chime()
    return _CHIME


# -- recorded clips --------------------------------------------------------------------


class ClipEngine:
    """Concatenation of recorded clips looked up by name.

    A clip for word ``name`` in language ``lang`` is ``<dir>/<lang>/<name>.wav`` in the
    first directory that has it; an optional ``<dir>/chime.wav`` replaces the built-in
    chime. Clips are trimmed of silence at both ends and joined with ``word_gap_ms``
    between words and ``pause_ms`` at a comma, so recordings made with sloppy margins
    still flow.

    ``generate`` (optional) is called as ``generate(lang, name)`` for a clip found
    nowhere; it returns the path it wrote. The demo uses it to create espeak-ng clips at
    first use (see :mod:`display.voice.clips`).
    """

    name = "clips"

    def __init__(
        self,
        directories: Sequence[Path],
        *,
        word_gap_ms: int = 40,
        pause_ms: int = 200,
        generate: Callable[[str, str], Path] | None = None,
    ) -> None:
        self.directories = [Path(d) for d in directories]
        self.word_gap = Pcm.silence(word_gap_ms)
        self.pause = Pcm.silence(pause_ms)
        self.generate = generate
        self._clips: dict[tuple[str, str], Pcm] = {}
        self._lock = threading.Lock()

    def find(self, language: str, name: str) -> Path | None:
        for d in self.directories:
            path = d / language / f"{name}.wav"
            if path.is_file():
                return path
        return None

    def missing(self, languages: Sequence[str] = SPOKEN_LANGUAGES) -> list[str]:
        """Every clip a full set needs that no directory holds, as ``lang/name``."""
        return [
            f"{lang}/{name}"
            for lang in languages
            for name in CLIP_NAMES[lang]
            if self.find(lang, name) is None
        ]

    def clip(self, language: str, name: str) -> Pcm:
        key = (language, name)
        with self._lock:
            hit = self._clips.get(key)
            if hit is not None:
                return hit
            path = self.find(language, name)
            if path is None and self.generate is not None:
                path = self.generate(language, name)
            if path is None:
                raise MissingClipError([f"{language}/{name}"], self.directories)
            try:
                pcm = Pcm.read_wav(path).trimmed().faded()
            except OSError as exc:
                raise EngineError(f"cannot read clip {path}: {exc}") from None
            except AudioFormatError as exc:
                raise EngineError(f"bad clip: {exc}") from None
            self._clips[key] = pcm
            return pcm

    def speak(self, phrase: Phrase) -> Pcm:
        names = [w for w in phrase.words if w != PAUSE]
        if self.generate is None:
            absent = sorted(
                {f"{phrase.language}/{n}" for n in names if self.find(phrase.language, n) is None}
            )
            if absent:
                raise MissingClipError(absent, self.directories)
        parts: list[Pcm] = []
        for word in phrase.words:
            if word == PAUSE:
                if parts:
                    parts[-1] = self.pause
                continue
            parts.append(self.clip(phrase.language, word))
            parts.append(self.word_gap)
        if parts:
            parts.pop()  # no gap after the last word
        return Pcm.concat(parts)

    def chime(self) -> Pcm:
        for d in self.directories:
            path = d / "chime.wav"
            if path.is_file():
                try:
                    return Pcm.read_wav(path)
                except (OSError, AudioFormatError) as exc:
                    log.warning("ignoring unreadable chime %s: %s", path, exc)
        return _default_chime()


# -- fallback --------------------------------------------------------------------------


class FallbackEngine:
    """The first engine that can speak a phrase speaks it.

    The chime comes from the first engine, so a hall's own chime survives a fallback.
    """

    def __init__(self, engines: Sequence[SpeechEngine]) -> None:
        if not engines:
            raise ValueError("FallbackEngine needs at least one engine")
        self.engines = list(engines)
        self.name = "+".join(e.name for e in self.engines)

    def speak(self, phrase: Phrase) -> Pcm:
        errors: list[str] = []
        for engine in self.engines:
            try:
                pcm = engine.speak(phrase)
            except EngineError as exc:
                errors.append(f"{engine.name}: {exc}")
                continue
            if errors:
                log.warning("voice fell back to %s: %s", engine.name, "; ".join(errors))
            return pcm
        raise EngineError("no engine could speak: " + "; ".join(errors))

    def chime(self) -> Pcm:
        return self.engines[0].chime()


# -- whole announcements ---------------------------------------------------------------


def render(script: Script, engine: SpeechEngine) -> Pcm:
    """The script as one stretch of audio, ready for a sink."""
    parts: list[Pcm] = []
    for item in script.items:
        if isinstance(item, Chime):
            parts.append(engine.chime())
        elif isinstance(item, Pause):
            parts.append(Pcm.silence(item.milliseconds))
        else:
            parts.append(engine.speak(item))
    return Pcm.concat(parts)
