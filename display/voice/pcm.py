"""PCM audio as one fixed format: 16-bit signed mono at 22,050 Hz.

Every engine and sink speaks this one format so that clips from different sources can be
joined by plain concatenation. 22,050 Hz is what espeak-ng produces, so its output needs no
conversion; a hall's own recordings (usually 44.1 or 48 kHz, sometimes stereo) are
converted once when loaded. Pure Python (``array``), no numpy: announcements are a few
seconds long and the display machine should not need a numeric stack to speak.
"""

from __future__ import annotations

import math
import os
import struct
import sys
import threading
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .exceptions import AudioFormatError

RATE = 22_050
"""Samples per second of every :class:`Pcm` in HallQ."""

_FULL_SCALE = 32767
_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_FLOAT = 0x0003
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


def _little_endian(samples: array[int]) -> bytes:
    if sys.byteorder == "big":
        samples = array(samples.typecode, samples)
        samples.byteswap()
    return samples.tobytes()


def _from_little_endian(typecode: str, data: bytes) -> array[Any]:
    samples = array(typecode)
    samples.frombytes(data)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


@dataclass(frozen=True)
class Pcm:
    """A stretch of mono 16-bit audio at :data:`RATE`, as little-endian bytes.

    Immutable so that a rendered clip can be cached and shared by many announcements.
    """

    data: bytes = b""

    def __post_init__(self) -> None:
        if len(self.data) % 2:
            raise AudioFormatError("16-bit PCM needs an even number of bytes")

    # -- building -----------------------------------------------------------------------

    @classmethod
    def silence(cls, milliseconds: float) -> Pcm:
        return cls(bytes(2 * round(RATE * milliseconds / 1000)))

    @classmethod
    def from_samples(cls, samples: Iterable[int]) -> Pcm:
        return cls(_little_endian(array("h", samples)))

    @classmethod
    def concat(cls, parts: Iterable[Pcm]) -> Pcm:
        return cls(b"".join(p.data for p in parts))

    def __add__(self, other: Pcm) -> Pcm:
        return Pcm(self.data + other.data)

    # -- measuring ----------------------------------------------------------------------

    def samples(self) -> array[int]:
        return _from_little_endian("h", self.data)

    @property
    def frames(self) -> int:
        return len(self.data) // 2

    @property
    def seconds(self) -> float:
        return self.frames / RATE

    def rms(self) -> float:
        """Root mean square level, 0.0 (silence) to 1.0 (full-scale square wave)."""
        s = self.samples()
        if not s:
            return 0.0
        return math.sqrt(sum(x * x for x in s) / len(s)) / _FULL_SCALE

    def trimmed(self, threshold: float = 0.01, keep_ms: float = 10) -> Pcm:
        """Cut leading and trailing near-silence.

        espeak-ng and most recordings carry a few hundred milliseconds of silence at each
        end; joined as they are, "A" "0" "1" "2" would sound like separate sentences. We
        trim and then put back pauses we choose.
        """
        s = self.samples()
        limit = threshold * _FULL_SCALE
        first = next((i for i, x in enumerate(s) if abs(x) > limit), None)
        if first is None:
            return Pcm()
        last = len(s) - 1 - next(i for i, x in enumerate(reversed(s)) if abs(x) > limit)
        keep = round(RATE * keep_ms / 1000)
        start, end = max(0, first - keep), min(len(s), last + 1 + keep)
        return Pcm(self.data[2 * start : 2 * end])

    def faded(self, milliseconds: float = 6) -> Pcm:
        """Ramp both ends to zero: a clip cut mid-wave clicks when joined to the next."""
        s = self.samples()
        n = min(len(s) // 2, round(RATE * milliseconds / 1000))
        for i in range(n):
            g = i / n
            s[i] = round(s[i] * g)
            s[-1 - i] = round(s[-1 - i] * g)
        return Pcm.from_samples(s)

    # -- WAV ----------------------------------------------------------------------------

    def to_wav_bytes(self) -> bytes:
        fmt = struct.pack("<HHIIHH", _WAVE_FORMAT_PCM, 1, RATE, RATE * 2, 2, 16)
        body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        body += b"data" + struct.pack("<I", len(self.data)) + self.data
        return b"RIFF" + struct.pack("<I", len(body)) + body

    def write_wav(self, path: Path) -> None:
        """Write atomically, so a reader never sees half a file (a clip cache shared by two
        display processes, or a test reading the sink's output)."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
        tmp.write_bytes(self.to_wav_bytes())
        tmp.replace(path)

    @classmethod
    def from_wav_bytes(cls, blob: bytes) -> Pcm:
        """Read a RIFF/WAVE blob of linear PCM or float, any rate, any channel count.

        Tolerates the streaming header espeak-ng writes to ``--stdout`` (data size
        0xFFFFFFFF or 0) by taking whatever data follows. Channels are averaged to mono
        and the rate converted to :data:`RATE`.
        """
        if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
            raise AudioFormatError("not a RIFF/WAVE file")
        pos, fmt, data = 12, None, None
        while pos + 8 <= len(blob):
            cid, size = blob[pos : pos + 4], struct.unpack_from("<I", blob, pos + 4)[0]
            body_start = pos + 8
            if cid == b"data":
                end = len(blob) if size in (0, 0xFFFFFFFF) else body_start + size
                data = blob[body_start : min(end, len(blob))]
                break
            if cid == b"fmt ":
                fmt = blob[body_start : body_start + size]
            pos = body_start + size + (size & 1)
        if fmt is None or len(fmt) < 16:
            raise AudioFormatError("WAV has no fmt chunk")
        if data is None:
            raise AudioFormatError("WAV has no data chunk")
        tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
        if tag == _WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
            tag = struct.unpack_from("<H", fmt, 24)[0]
        if channels < 1 or rate < 1000:
            raise AudioFormatError(f"implausible WAV: {channels} channels at {rate} Hz")
        mono = _decode(tag, bits, data)
        if channels > 1:
            mono = [
                sum(mono[i : i + channels]) / channels
                for i in range(0, len(mono) - channels + 1, channels)
            ]
        if rate != RATE:
            mono = _resample(mono, rate, RATE)
        return cls.from_samples(_clip16(x) for x in mono)

    @classmethod
    def read_wav(cls, path: Path) -> Pcm:
        try:
            return cls.from_wav_bytes(path.read_bytes())
        except AudioFormatError as exc:
            raise AudioFormatError(f"{path}: {exc}") from None


def _clip16(x: float) -> int:
    return max(-32768, min(32767, round(x)))


def _decode(tag: int, bits: int, data: bytes) -> Sequence[float]:
    """Samples of any common WAV encoding, scaled to the 16-bit range."""
    width = bits // 8
    data = data[: len(data) - len(data) % max(width, 1)]
    if tag == _WAVE_FORMAT_PCM and bits == 16:
        return _from_little_endian("h", data)
    if tag == _WAVE_FORMAT_PCM and bits == 8:
        return [(b - 128) * 256 for b in data]
    if tag == _WAVE_FORMAT_PCM and bits in (24, 32):
        # Keep the two most significant bytes of each little-endian sample.
        return [
            int.from_bytes(data[i + width - 2 : i + width], "little", signed=True)
            for i in range(0, len(data), width)
        ]
    if tag == _WAVE_FORMAT_FLOAT and bits == 32:
        return [x * _FULL_SCALE for x in _from_little_endian("f", data)]
    raise AudioFormatError(
        f"unsupported WAV encoding (format tag {tag:#06x}, {bits} bits); "
        "save as plain PCM, e.g. `sox in.wav -b 16 out.wav`"
    )


def _resample(samples: Sequence[float], src: int, dst: int) -> list[float]:
    """Linear interpolation: plenty for speech clips replayed on hall loudspeakers."""
    n = len(samples)
    if n == 0:
        return []
    out_len = max(1, round(n * dst / src))
    step = src / dst
    out: list[float] = []
    for i in range(out_len):
        pos = i * step
        j = int(pos)
        if j >= n - 1:
            out.append(float(samples[n - 1]))
            continue
        frac = pos - j
        out.append(samples[j] * (1 - frac) + samples[j + 1] * frac)
    return out


def chime(level: float = 0.45) -> Pcm:
    """A two-tone "ding-dong" (E5 then C5) made in code, so no file has to ship.

    Each tone carries two soft overtones and a bell-like exponential decay; a short attack
    avoids a click and a fade at the end avoids a pop on amplifiers that are switched on
    by the signal.
    """
    tones = ((659.25, 0.0, 0.55), (523.25, 0.42, 0.75))  # (Hz, start s, length s)
    total = max(round(RATE * start) + round(RATE * length) for _, start, length in tones)
    mix = [0.0] * total
    for freq, start_s, length_s in tones:
        start, length = round(RATE * start_s), round(RATE * length_s)
        attack, fade = round(RATE * 0.008), round(RATE * 0.03)
        for i in range(length):
            t = i / RATE
            env = math.exp(-t / 0.28)
            if i < attack:
                env *= i / attack
            if i > length - fade:
                env *= (length - i) / fade
            w = 2 * math.pi * freq * t
            s = math.sin(w) + 0.3 * math.sin(2 * w) + 0.08 * math.sin(3 * w)
            mix[start + i] += env * s / 1.38
    return Pcm.from_samples(_clip16(level * _FULL_SCALE * x) for x in mix)
