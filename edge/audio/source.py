"""Audio sources as the rest of the runtime wants them: float32 mono blocks at 16 kHz.

Files are recognised by their first bytes, not their name (WAV, or FLAC when ``soundfile`` is
installed); a raw s16le stream (stdin) needs its rate and channel count to be given.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, Protocol

import numpy as np

from edge.audio.errors import AudioFormatError
from edge.audio.flac import FlacReader
from edge.audio.pcm import S16LE, SampleFormat, iter_raw_pcm, to_mono
from edge.audio.resample import TARGET_RATE, resample_blocks
from edge.audio.wav import WavReader, convert_hint

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
    """Open a WAV or FLAC file (or a WAV binary stream); raises AudioFormatError with a fix for anything else.

    A path is opened once: a FIFO, ``<(...)`` or ``/dev/stdin`` cannot be read twice, so the bytes read to
    tell WAV from FLAC are put back in front of the stream (:class:`_Replay`) instead of reopening it."""
    if not isinstance(source, (str, os.PathLike)):
        return WavReader(source, name)
    name = name or os.fspath(source)
    raw = open(source, "rb", buffering=0)  # handed to the reader, closed by its close()
    try:
        magic = _read_head(raw, 4)
        if raw.seekable():
            raw.seek(0)
            if magic == b"fLaC":
                raw.close()
                return FlacReader(source, name)
            return WavReader(io.BufferedReader(raw), name, owns=True)
        stream = io.BufferedReader(_Replay(magic, raw))
    except BaseException:
        raw.close()
        raise
    if magic == b"fLaC":
        stream.close()
        raise AudioFormatError(f"{name} is a FLAC stream that cannot be read from a pipe: save it to a file first, "
                               f"or convert it with {convert_hint(name)}")
    return WavReader(stream, name, owns=True)


def _read_head(raw: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes from the start of ``raw``, fewer only at the end of the stream (pipes give them in parts)."""
    head = b""
    while len(head) < n:
        chunk = raw.read(n - len(head))
        if not chunk:
            break
        head += chunk
    return head


class _Replay(io.RawIOBase):
    """A stream that cannot seek, with the bytes already read from it put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._rest.close()
        super().close()


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
