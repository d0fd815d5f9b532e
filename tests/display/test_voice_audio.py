"""PCM, the two engines (real espeak-ng) and the sinks."""

from __future__ import annotations

import math
import shutil
import struct
from pathlib import Path

import pytest

from display.voice.clips import (
    clip_engine,
    demo_dir,
    expected_files,
    generate_demo_clips,
)
from display.voice.engines import ClipEngine, EspeakEngine, FallbackEngine, render
from display.voice.exceptions import (
    AudioFormatError,
    EngineError,
    EspeakError,
    MissingClipError,
    NoSoundDeviceError,
)
from display.voice.pcm import RATE, Pcm, chime
from display.voice.sinks import DeviceSink, WavFileSink
from display.voice.text import CLIP_NAMES, CallKind, CallRequest, build_script, phrase

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng not installed (Debian: espeak-ng)"
)

SILENCE_FLOOR = 0.02  # RMS; speech from espeak-ng measures about 0.1


def tone(freq: float, seconds: float, rate: int = RATE, level: float = 0.5) -> list[float]:
    return [level * math.sin(2 * math.pi * freq * i / rate) for i in range(round(rate * seconds))]


def wav_bytes(samples: list[list[float]], rate: int, bits: int, tag: int = 1) -> bytes:
    """A WAV as another program would write it: interleaved channels, any sample size."""
    channels = len(samples)
    frames = []
    for frame in zip(*samples, strict=True):
        for x in frame:
            if tag == 3:
                frames.append(struct.pack("<f", x))
            elif bits == 8:
                frames.append(bytes([round(x * 127) + 128]))
            else:
                frames.append(
                    round(x * (2 ** (bits - 1) - 1)).to_bytes(bits // 8, "little", signed=True)
                )
    data = b"".join(frames)
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"LIST"
        + struct.pack("<I", 4)
        + b"INFO"
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


# -- PCM -------------------------------------------------------------------------------


def test_chime_is_a_short_audible_two_tone() -> None:
    c = chime()
    assert 0.8 < c.seconds < 1.5
    assert c.rms() > SILENCE_FLOOR
    first, second = c.samples()[: RATE // 4], c.samples()[RATE // 2 + RATE // 10 :]

    # zero crossings per second ~ 2 x frequency: E5 then C5
    def crossings(s: object) -> float:
        xs = list(s)  # type: ignore[call-overload]
        return sum(1 for a, b in zip(xs, xs[1:], strict=False) if a < 0 <= b) / (len(xs) / RATE)

    assert crossings(first) == pytest.approx(659, rel=0.08)
    assert crossings(second) == pytest.approx(523, rel=0.08)
    assert abs(c.samples()[0]) < 200 and abs(c.samples()[-1]) < 200  # no click


def test_wav_round_trip() -> None:
    p = Pcm.from_samples(round(x * 32767) for x in tone(440, 0.3))
    assert Pcm.from_wav_bytes(p.to_wav_bytes()) == p
    assert p.seconds == pytest.approx(0.3, abs=1e-3)


@pytest.mark.parametrize(("bits", "tag"), [(8, 1), (16, 1), (24, 1), (32, 1), (32, 3)])
def test_hall_recordings_in_other_formats_are_converted(bits: int, tag: int) -> None:
    left = tone(440, 0.5, rate=44_100)
    blob = wav_bytes([left, left], 44_100, bits, tag)
    p = Pcm.from_wav_bytes(blob)
    assert p.seconds == pytest.approx(0.5, abs=0.01)
    assert p.rms() == pytest.approx(0.5 / math.sqrt(2), rel=0.05)


def test_streamed_wav_header_is_tolerated() -> None:
    good = Pcm.from_samples(range(-500, 500)).to_wav_bytes()
    streamed = good[:40] + b"\xff\xff\xff\xff" + good[44:]
    assert Pcm.from_wav_bytes(streamed).frames == 1000


@pytest.mark.parametrize(
    "blob", [b"", b"RIFF\0\0\0\0WAVX", wav_bytes([[0.1] * 10], 8000, 16, tag=2)]
)
def test_unreadable_wav_is_a_clear_error(blob: bytes) -> None:
    with pytest.raises(AudioFormatError):
        Pcm.from_wav_bytes(blob)


def test_trimmed_cuts_silence_at_both_ends() -> None:
    speech = Pcm.from_samples(round(x * 32767) for x in tone(300, 0.2))
    padded = Pcm.silence(300) + speech + Pcm.silence(500)
    assert padded.trimmed(keep_ms=0).seconds == pytest.approx(0.2, abs=0.01)
    assert Pcm.silence(100).trimmed() == Pcm()


# -- espeak-ng -------------------------------------------------------------------------


@needs_espeak
@pytest.mark.parametrize(("language", "low", "high"), [("zh", 2.0, 20.0), ("en", 4.0, 30.0)])
def test_espeak_call_is_audible_and_plausibly_long(
    language: str, low: float, high: float, tmp_path: Path
) -> None:
    script = build_script([CallRequest("A012", 3, language)])
    audio = render(script, EspeakEngine())
    WavFileSink(tmp_path).play(audio, "A012")
    written = Pcm.read_wav(next(tmp_path.glob("*.wav")))
    assert written == audio
    assert low < written.seconds < high
    assert written.rms() > SILENCE_FLOOR


@needs_espeak
def test_espeak_reads_each_digit() -> None:
    """A012 read digit by digit is longer than A0 with one digit: each digit is sounded."""
    engine = EspeakEngine()
    one = engine.speak(phrase(CallRequest("A0", 3), "zh")).seconds
    three = engine.speak(phrase(CallRequest("A012", 3), "zh")).seconds
    assert three - one > 0.3


def test_espeak_missing_is_a_clear_error() -> None:
    engine = EspeakEngine("/nonexistent/espeak-ng")
    with pytest.raises(EspeakError, match="install the Debian package espeak-ng"):
        engine.speak(phrase(CallRequest("A1", 1), "zh"))


def test_espeak_failure_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "espeak-ng"
    fake.write_text("#!/bin/sh\necho 'espeak-ng: cannot open audio' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(EspeakError, match="failed: espeak-ng: cannot open audio"):
        EspeakEngine(str(fake)).speak(phrase(CallRequest("A1", 1), "en"))


@needs_espeak
def test_espeak_has_the_voices_we_use() -> None:
    EspeakEngine().check()  # raises when cmn-latn-pinyin is missing


def test_espeak_check_names_a_missing_voice(tmp_path: Path) -> None:
    fake = tmp_path / "espeak-ng"
    fake.write_text(
        "#!/bin/sh\necho 'Pty Language       Age/Gender VoiceName          File'\n"
        "echo ' 5  en              --/M      English            gmw/en'\n"
    )
    fake.chmod(0o755)
    with pytest.raises(EspeakError, match="lacks voice.s. cmn-latn-pinyin"):
        EspeakEngine(str(fake)).check()


# -- clips -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    target = tmp_path_factory.mktemp("cache") / "espeak-demo"
    written = generate_demo_clips(target)
    assert len(written) == len(expected_files())
    return target


def test_demo_set_is_complete_and_regeneration_is_cheap(demo_clips: Path) -> None:
    engine = ClipEngine([demo_clips])
    assert engine.missing() == []
    assert sorted(str(p.relative_to(demo_clips)) for p in demo_clips.rglob("*.wav")) == sorted(
        expected_files()
    )
    assert generate_demo_clips(demo_clips) == []  # nothing to do the second time
    for name in ("digit_0", "letter_a", "please", "window"):
        assert ClipEngine([demo_clips]).clip("zh", name).rms() > SILENCE_FLOOR


@pytest.mark.parametrize(
    ("language", "kind", "low", "high"),
    [("zh", CallKind.CALL, 2.0, 20.0), ("en", CallKind.RECALL, 4.0, 35.0)],
)
def test_clip_call_is_audible_and_plausibly_long(
    demo_clips: Path, language: str, kind: CallKind, low: float, high: float, tmp_path: Path
) -> None:
    audio = render(build_script([CallRequest("A012", 3, language, kind)]), ClipEngine([demo_clips]))
    sink = WavFileSink(tmp_path)
    sink.play(audio, "A012")
    written = Pcm.read_wav(sink.files[0])
    assert low < written.seconds < high
    assert written.rms() > SILENCE_FLOOR


def test_hall_recordings_override_the_demo_word_by_word(demo_clips: Path, tmp_path: Path) -> None:
    hall = tmp_path / "hall"
    (hall / "zh").mkdir(parents=True)
    # The hall's "please" is a 2-second tone at 44.1 kHz stereo: easy to recognise.
    long_please = tone(500, 2.0, rate=44_100)
    (hall / "zh" / "please.wav").write_bytes(wav_bytes([long_please, long_please], 44_100, 16))
    (hall / "chime.wav").write_bytes(wav_bytes([tone(880, 0.3, rate=16_000)], 16_000, 16))
    p = phrase(CallRequest("A012", 3), "zh")
    demo_only = ClipEngine([demo_clips])
    with_hall = ClipEngine([hall, demo_clips])
    assert with_hall.find("zh", "please") == hall / "zh" / "please.wav"
    assert with_hall.find("zh", "window") == demo_clips / "zh" / "window.wav"
    gained = with_hall.speak(p).seconds - demo_only.speak(p).seconds
    assert gained == pytest.approx(2.0 - demo_only.clip("zh", "please").seconds, abs=0.05)
    assert with_hall.chime().seconds == pytest.approx(0.3, abs=0.01)
    assert demo_only.chime() == chime()


def test_missing_clips_are_listed_together(tmp_path: Path) -> None:
    (tmp_path / "zh").mkdir()
    Pcm.silence(100).write_wav(tmp_path / "zh" / "please.wav")
    engine = ClipEngine([tmp_path])
    with pytest.raises(MissingClipError) as info:
        engine.speak(phrase(CallRequest("A12", 3), "zh"))
    assert info.value.missing == [
        "zh/digit_1", "zh/digit_2", "zh/digit_3", "zh/for_service", "zh/letter_a",
        "zh/number", "zh/to", "zh/window",
    ]  # fmt: skip
    assert str(tmp_path) in str(info.value)
    assert len(engine.missing()) == sum(len(v) for v in CLIP_NAMES.values()) - 1


@needs_espeak
def test_clips_generated_at_first_use(tmp_path: Path) -> None:
    engine = clip_engine(None, tmp_path)
    audio = engine.speak(phrase(CallRequest("B7", 12), "en"))
    assert audio.rms() > SILENCE_FLOOR
    made = sorted(p.name for p in (demo_dir(tmp_path) / "en").glob("*.wav"))
    assert made == [
        "digit_7.wav", "letter_b.wav", "number.wav", "please_go_to.wav", "twelve.wav",
        "window.wav",
    ]  # fmt: skip


@needs_espeak
def test_fallback_speaks_with_espeak_when_a_clip_is_missing(tmp_path: Path) -> None:
    engine = FallbackEngine([ClipEngine([tmp_path]), EspeakEngine()])
    assert engine.speak(phrase(CallRequest("A1", 1), "zh")).rms() > SILENCE_FLOOR
    with pytest.raises(EngineError, match="no engine could speak"):
        FallbackEngine([ClipEngine([tmp_path])]).speak(phrase(CallRequest("A1", 1), "zh"))


# -- sinks -----------------------------------------------------------------------------


def test_device_sink_without_a_player_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NoSoundDeviceError, match="alsa-utils"):
        DeviceSink()


def test_device_sink_reports_a_player_failure(tmp_path: Path) -> None:
    player = tmp_path / "fakeplay"
    player.write_text(
        "#!/bin/sh\necho 'aplay: main:831: audio open error: no soundcards found' >&2\nexit 1\n"
    )
    player.chmod(0o755)
    with pytest.raises(NoSoundDeviceError, match="no soundcards found"):
        DeviceSink([str(player)]).play(chime(), "chime")


def test_device_sink_plays_to_the_end(tmp_path: Path) -> None:
    """The sink hands the player a complete WAV and waits for it."""
    out = tmp_path / "played.wav"
    player = tmp_path / "fakeplay"
    player.write_text(f'#!/bin/sh\nsleep 0.2\ncp "$1" {out}\n')
    player.chmod(0o755)
    DeviceSink([str(player)]).play(chime(), "chime")
    assert Pcm.read_wav(out) == chime()


# -- command line ----------------------------------------------------------------------


@needs_espeak
def test_command_line_says_a_call_into_a_wav(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from display.voice.__main__ import main

    monkeypatch.setenv("HALLQ_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "call.wav"
    assert main(["say", "a012", "3", "--lang", "en", "--kind", "recall", "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("再次呼叫 请 A012 号 到 3 号窗口办理 / Calling again")
    assert Pcm.read_wav(out).rms() > SILENCE_FLOOR
    assert (
        tmp_path / "cache" / "voice-clips" / "espeak-demo" / "en" / "please_go_to.wav"
    ).is_file()


def test_command_line_checks_a_hall_clip_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from display.voice.__main__ import main

    (tmp_path / "zh").mkdir()
    Pcm.silence(100).write_wav(tmp_path / "zh" / "please.wav")
    assert main(["clips", "--check", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.split()
    assert "zh/please.wav" not in lines and "zh/window.wav" in lines
    assert len(lines) == len(expected_files()) - 1
