"""The clip set: which recordings exist, where they live, and the demo set made by espeak-ng.

A clip set is a directory::

    <dir>/chime.wav          optional: replaces the chime made in code
    <dir>/zh/please.wav      请
    <dir>/zh/digit_0.wav     零   ... digit_9, letter_a ... letter_z, ten, hundred
    <dir>/en/number.wav      "Number" ...

:func:`expected_files` lists every name. The demo set is generated with espeak-ng into a
cache directory, never committed: either all at once (``python -m display.voice clips``)
or word by word at first use (:func:`demo_generator`). A hall's own directory is searched
before the demo set, so recording only some words is possible (the rest keep the demo
voice, which sounds mixed, so ``--check`` lists what is still missing).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .engines import ClipEngine, EspeakEngine
from .text import CLIP_NAMES, SPOKEN_LANGUAGES

DEMO_SET = "espeak-demo"


def default_cache_dir() -> Path:
    """``$HALLQ_CACHE_DIR/voice-clips``, else ``$XDG_CACHE_HOME/hallq/voice-clips``."""
    base = os.environ.get("HALLQ_CACHE_DIR")
    if base:
        return Path(base) / "voice-clips"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "hallq" / "voice-clips"


def demo_dir(cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / DEMO_SET


def expected_files(languages: Sequence[str] = SPOKEN_LANGUAGES) -> list[str]:
    """Relative paths of every clip a complete set holds (``chime.wav`` is optional)."""
    return [f"{lang}/{name}.wav" for lang in languages for name in CLIP_NAMES[lang]]


def demo_generator(
    directory: Path, espeak: EspeakEngine | None = None
) -> Callable[[str, str], Path]:
    """A function that writes one demo clip with espeak-ng and returns its path."""
    engine = espeak or EspeakEngine()

    def generate(language: str, name: str) -> Path:
        path = directory / language / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        engine.word(language, name).write_wav(path)
        return path

    return generate


def generate_demo_clips(
    directory: Path | None = None,
    *,
    languages: Sequence[str] = SPOKEN_LANGUAGES,
    names: Iterable[tuple[str, str]] | None = None,
    force: bool = False,
    espeak: EspeakEngine | None = None,
    workers: int = 2,
) -> list[Path]:
    """Write the demo clip set (or just ``names``) and return the files written.

    Existing files are kept unless ``force``, so running it again is cheap.
    """
    target = directory or demo_dir()
    wanted = (
        list(names)
        if names is not None
        else [(lang, name) for lang in languages for name in CLIP_NAMES[lang]]
    )
    todo = [
        (lang, name)
        for lang, name in wanted
        if force or not (target / lang / f"{name}.wav").is_file()
    ]
    generate = demo_generator(target, espeak)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda item: generate(*item), todo))


def clip_engine(
    hall_dir: Path | None = None,
    cache_dir: Path | None = None,
    *,
    generate_missing: bool = True,
    espeak: EspeakEngine | None = None,
) -> ClipEngine:
    """The clip engine a display uses: the hall's recordings first, then the demo set.

    With ``generate_missing`` a clip found in neither is made with espeak-ng into the demo
    set on first use, so a fresh machine speaks without a separate set-up step.
    """
    demo = demo_dir(cache_dir)
    dirs = [d for d in (hall_dir, demo) if d is not None]
    generate = demo_generator(demo, espeak) if generate_missing else None
    return ClipEngine(dirs, generate=generate)
