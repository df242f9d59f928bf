"""PCM as Wyoming carries it (interleaved little-endian integers) to and from edge's float32 mono samples."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from edge.audio.pcm import SampleFormat, decode_frames, to_mono
from edge.serve.limits import ProtocolError

__all__ = ["AudioFormat", "check_format", "from_pcm", "pcm_chunks", "to_pcm16"]

MAX_RATE = 192_000
MAX_CHANNELS = 8


@dataclass(frozen=True)
class AudioFormat:
    """Rate (Hz), sample width (bytes) and channels of a client's audio."""

    rate: int
    width: int
    channels: int

    @property
    def bytes_per_second(self) -> int:
        return self.rate * self.width * self.channels


def _int(data: dict, key: str, lo: int, hi: int) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ProtocolError(f"audio {key} must be an integer from {lo} to {hi}, got {value!r}", "bad_audio")
    return value


def check_format(data: dict) -> AudioFormat:
    """The audio format of an ``audio-start`` / ``audio-chunk`` event's data; raises ProtocolError if unusable."""
    return AudioFormat(_int(data, "rate", 4000, MAX_RATE), _int(data, "width", 1, 4), _int(data, "channels", 1,
                                                                                          MAX_CHANNELS))


def from_pcm(data: bytes, fmt: AudioFormat) -> np.ndarray:
    """Interleaved PCM bytes -> 1-D float32 mono at ``fmt.rate`` (a partial trailing frame is dropped)."""
    frames, _ = decode_frames(data, SampleFormat("int", fmt.width), fmt.channels)
    return to_mono(frames)


def to_pcm16(samples: np.ndarray) -> bytes:
    """float32 [-1, 1] -> 16-bit little-endian PCM bytes."""
    x = np.clip(np.asarray(samples, dtype=np.float32).reshape(-1), -1.0, 1.0)
    return (x * 32767.0).round().astype("<i2").tobytes()


def pcm_chunks(samples: np.ndarray, rate: int, chunk_ms: int = 100) -> Iterator[bytes]:
    """16-bit mono PCM in pieces of ``chunk_ms`` (the last may be shorter)."""
    data = to_pcm16(samples)
    step = max(2, rate * chunk_ms // 1000 * 2)
    for i in range(0, len(data), step):
        yield data[i : i + step]
