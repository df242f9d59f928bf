"""Audio sources as the rest of the runtime wants them: float32 mono blocks at 16 kHz.

Files are recognised by their first bytes, not their name (WAV, or FLAC when ``soundfile`` is
installed); a raw s16le stream (stdin) needs its rate and channel count to be given.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Protocol

import numpy as np

from edge.audio.flac import FlacReader
from edge.audio.pcm import S16LE, SampleFormat, iter_raw_pcm, to_mono
from edge.audio.resample import TARGET_RATE, resample_blocks
from edge.audio.wav import WavReader

__all__ = ["AudioReader", "open_audio", "read_audio", "stream_audio", "stream_raw_pcm"]


class AudioReader(Protocol):
    """A decoded audio file at its own rate and channel count (WavReader, FlacReader)."""

    name: str
    nonfinite: int

    @property
    def rate(self) -> int: ...

    @property
    def channels(self) -> int: ...

    def frames(self, block_frames: int = 8192) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...


def open_audio(source: str | os.PathLike[str] | BinaryIO, name: str | None = None) -> AudioReader:
    """Open a WAV or FLAC file (or a WAV binary stream); raises AudioFormatError with a fix for anything else."""
    if not isinstance(source, (str, os.PathLike)):
        return WavReader(source, name)
    with open(source, "rb") as f:
        magic = f.read(4)
    if magic == b"fLaC":
        return FlacReader(source, name)
    return WavReader(source, name)


def stream_audio(
    source: str | os.PathLike[str] | BinaryIO, rate: int = TARGET_RATE, block_frames: int = 8192
) -> Iterator[np.ndarray]:
    """A file's audio as 1-D float32 mono blocks at ``rate`` Hz, read in bounded memory.

    The header is checked now (a bad file raises here); the audio is read as the blocks are consumed.
    """
    reader = open_audio(source)
    return _stream_reader(reader, rate, block_frames)


def _stream_reader(reader: AudioReader, rate: int, block_frames: int) -> Iterator[np.ndarray]:
    try:
        yield from _mono_at(reader.frames(block_frames), reader.rate, rate)
    finally:
        reader.close()


def read_audio(source: str | os.PathLike[str] | BinaryIO, rate: int = TARGET_RATE) -> np.ndarray:
    """A whole file as one 1-D float32 mono array at ``rate`` Hz (for short clips; stream long ones)."""
    blocks = list(stream_audio(source, rate))
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


def stream_raw_pcm(
    stream: BinaryIO,
    in_rate: int,
    channels: int = 1,
    rate: int = TARGET_RATE,
    fmt: SampleFormat = S16LE,
    block_frames: int = 1024,
) -> Iterator[np.ndarray]:
    """Yield headerless PCM (s16le by default, e.g. stdin) as 1-D float32 mono blocks at ``rate`` Hz."""
    yield from _mono_at(iter_raw_pcm(stream, channels, fmt, block_frames), in_rate, rate)


def _mono_at(frames: Iterable[np.ndarray], in_rate: int, out_rate: int) -> Iterator[np.ndarray]:
    # Downmix first: resampling one channel instead of several is cheaper and gives the same result.
    return resample_blocks((to_mono(block) for block in frames), in_rate, out_rate)
