"""The real player: asyncio task, real engines, WAV sink paced like a loudspeaker."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from pathlib import Path

import pytest

from display.voice.clips import clip_engine
from display.voice.engines import EspeakEngine
from display.voice.exceptions import AudioOutputError
from display.voice.pcm import Pcm
from display.voice.player import PlayRecord, VoiceConfig, VoicePlayer
from display.voice.queue import AnnouncementQueue, BacklogPolicy, Mode
from display.voice.sinks import WavFileSink
from display.voice.text import CallKind, CallRequest

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng not installed (Debian: espeak-ng)"
)

PACE = 0.1  # the WAV sink blocks for a tenth of the audio's length, like a fast loudspeaker


class WatchedSink(WavFileSink):
    """A WAV sink that notes how many plays run at once and can fail on demand."""

    def __init__(
        self, directory: Path, *, pace: float = PACE, failures: list[Exception] | None = None
    ) -> None:
        super().__init__(directory, pace=pace)
        self.active = 0
        self.most_active = 0
        self.failures = list(failures or [])
        self._count_lock = threading.Lock()

    def play(self, audio: Pcm, label: str) -> None:
        with self._count_lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            failing = bool(self.failures)
        try:
            if failing:
                raise self.failures.pop(0)
            super().play(audio, label)
        finally:
            with self._count_lock:
                self.active -= 1


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("voice-cache")


def assert_sequential(records: list[PlayRecord]) -> None:
    for a, b in zip(records, records[1:], strict=False):
        assert a.started is not None and b.started is not None
        assert a.started < a.ended <= b.started, (a, b)


def test_two_calls_close_together_are_spoken_one_after_the_other(
    cache: Path, tmp_path: Path
) -> None:
    sink = WatchedSink(tmp_path)
    player = VoicePlayer(clip_engine(None, cache), sink)

    async def scenario() -> None:
        player.start()
        player.announce(CallRequest("A012", 3))
        await asyncio.sleep(0.05)  # the first is being rendered or played
        player.announce(CallRequest("B001", 12, "en"))
        await player.close()

    asyncio.run(scenario())
    records = player.records
    assert [r.announcement.tickets for r in records] == [("A012",), ("B001",)]
    assert [r.error for r in records] == [None, None]
    assert_sequential(records)
    assert sink.most_active == 1
    for record, path in zip(records, sink.files, strict=True):
        audio = Pcm.read_wav(path)
        assert audio.rms() > 0.02
        assert 2.0 < audio.seconds < 35.0
        assert audio.seconds == pytest.approx(record.audio_seconds)
        # the sink held the loudspeaker for the announcement's (paced) length
        assert record.ended - record.started >= PACE * audio.seconds * 0.95  # type: ignore[operator]
    assert records[0].text.startswith("请 A012 号 到 3 号窗口办理")
    assert "Number B 0 0 1, please go to window 12" in records[1].text


def test_espeak_player_writes_an_audible_call(tmp_path: Path) -> None:
    sink = WatchedSink(tmp_path, pace=0)
    player = VoicePlayer(EspeakEngine(), sink)

    async def scenario() -> None:
        player.start()
        player.announce(CallRequest("A012", 3, "zh", CallKind.RECALL))
        await player.close()

    asyncio.run(scenario())
    audio = Pcm.read_wav(sink.files[0])
    assert audio.rms() > 0.02 and 2.0 < audio.seconds < 20.0
    assert player.records[0].text.startswith("再次呼叫 请 A012 号")


def test_burst_of_calls_is_summarised_without_dropping_any(cache: Path, tmp_path: Path) -> None:
    sink = WatchedSink(tmp_path, pace=0.02)
    queue = AnnouncementQueue(BacklogPolicy(brisk_from=3, batch_from=6, batch_size=4))
    player = VoicePlayer(clip_engine(None, cache), sink, queue=queue)
    tickets = [f"C{n:03d}" for n in range(1, 10)]

    async def scenario() -> None:
        player.start()
        for n, ticket in enumerate(tickets, start=1):
            player.announce(CallRequest(ticket, n))
        await player.close()

    asyncio.run(scenario())
    records = player.records
    spoken = [t for r in records for t in r.announcement.tickets]
    assert spoken == tickets
    assert [r.announcement.mode for r in records][:2] == [Mode.BATCH, Mode.BRISK]
    assert records[-1].announcement.mode is Mode.NORMAL
    assert len(sink.files) == len(records) < len(tickets)
    assert_sequential(records)
    assert sink.most_active == 1


def test_a_failed_announcement_is_recorded_and_the_next_is_spoken(
    cache: Path, tmp_path: Path
) -> None:
    failures: list[Exception] = [AudioOutputError("loudspeaker unplugged"), ZeroDivisionError()]
    sink = WatchedSink(tmp_path, pace=0, failures=failures)
    player = VoicePlayer(clip_engine(None, cache), sink)

    async def scenario() -> None:
        player.start()
        for n in (1, 2, 3):
            player.announce(CallRequest(f"A00{n}", n))
        await player.close()

    asyncio.run(scenario())
    assert [r.error for r in player.records] == [
        "loudspeaker unplugged",
        "ZeroDivisionError: ",
        None,
    ]
    assert len(sink.files) == 1


def test_close_never_cuts_an_announcement_off(cache: Path, tmp_path: Path) -> None:
    sink = WatchedSink(tmp_path, pace=0.15)
    player = VoicePlayer(clip_engine(None, cache), sink)

    async def scenario() -> float:
        player.start()
        player.announce(CallRequest("A001", 1))
        player.announce(CallRequest("A002", 2))
        await asyncio.sleep(0.1)
        asked = time.monotonic()
        await player.close(drain=False)
        return asked

    asked = asyncio.run(scenario())
    (record,) = player.records
    assert record.error is None and record.ended > asked
    assert player.queue.waiting == (CallRequest("A002", 2),)  # kept, not spoken half-way


def test_recall_pressed_before_the_call_was_spoken_is_merged(cache: Path, tmp_path: Path) -> None:
    player = VoicePlayer(clip_engine(None, cache), WatchedSink(tmp_path, pace=0))

    async def scenario() -> None:
        player.announce(CallRequest("A001", 1))
        player.announce(CallRequest("A002", 2))
        result = player.announce(CallRequest("A002", 2, "zh", CallKind.RECALL))
        assert result is not None and result.action == "merged"
        player.start()
        await player.close()

    asyncio.run(scenario())
    assert [r.announcement.tickets for r in player.records] == [("A001",), ("A002",)]


def test_a_display_that_does_not_speak_ignores_calls() -> None:
    player = VoicePlayer.from_config(VoiceConfig(speaks=False))
    assert player.announce(CallRequest("A001", 1)) is None
    assert player.queue.idle


def test_player_from_config_speaks_into_wav_files(cache: Path, tmp_path: Path) -> None:
    config = VoiceConfig(speaks=True, output="wav", wav_dir=tmp_path / "out", cache_dir=cache)
    player = VoicePlayer.from_config(config)

    async def scenario() -> None:
        player.start()
        player.announce(CallRequest("A7", 140, "en", CallKind.TRANSFER))
        await player.close()

    asyncio.run(scenario())
    (path,) = sorted((tmp_path / "out").glob("*.wav"))
    assert path.name == "0001-00001-A7.wav"
    assert Pcm.read_wav(path).rms() > 0.02
    assert "Number A 7, please move to window 140" in player.records[0].text


@pytest.mark.parametrize(
    "call, languages",
    [
        (CallRequest("A012", 3), 1),
        (CallRequest("B001", 12, "en"), 2),  # an English ticket: Chinese, then English
        (CallRequest("B001", 12, "en", CallKind.RECALL), 2),
    ],
)
def test_a_call_takes_at_most_about_six_seconds_per_language(
    cache: Path, tmp_path: Path, call: CallRequest, languages: int
) -> None:
    """Measured on main: 12 s for one call, 26 s to recall an English ticket (the whole
    block said twice). The number and window once each and one chime; a hall that wants
    the repeat configures it."""
    sink = WatchedSink(tmp_path, pace=0)
    player = VoicePlayer(clip_engine(None, cache), sink)

    async def scenario() -> None:
        player.start()
        player.announce(call)
        await player.close()

    asyncio.run(scenario())
    seconds = Pcm.read_wav(sink.files[0]).seconds
    print(f"{call.ticket} {call.kind.name} {languages} language(s): {seconds:.1f} s")
    # A recall starts with "calling again" in each language: one phrase more.
    per_language = 7.5 if call.kind is CallKind.RECALL else 6.5
    assert seconds <= per_language * languages, seconds
    assert len(player.records[0].text.split(" / ")) == languages  # each language once
