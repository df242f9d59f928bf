"""Decoding of interleaved PCM sample bytes into float32 frames, and a raw PCM stream reader.

Integers are scaled by their full container range (16-bit by 32768, 24-bit by 2**23, ...), so a
full-scale clipped signal comes out at about +/-1.0. Floats pass through unchanged, except that NaN and
infinite samples become 0 (they would poison every later stage) and are counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np

__all__ = ["S16LE", "SampleFormat", "decode_frames", "iter_raw_pcm", "to_mono"]


@dataclass(frozen=True)
class SampleFormat:
    """How one sample is stored: signed/unsigned integer or IEEE float, little-endian, ``width`` bytes."""

    kind: Literal["int", "float"]
    width: int

    def __post_init__(self) -> None:
        allowed = (1, 2, 3, 4) if self.kind == "int" else (4, 8)
        if self.width not in allowed:
            raise ValueError(f"unsupported {self.kind} sample width {self.width} bytes (allowed: {allowed})")

    @property
    def name(self) -> str:
        if self.kind == "float":
            return f"f{self.width * 8}le"
        return "u8" if self.width == 1 else f"s{self.width * 8}le"


S16LE = SampleFormat("int", 2)


def decode_frames(data: bytes | bytearray | memoryview, fmt: SampleFormat, channels: int) -> tuple[np.ndarray, int]:
    """Decode whole frames from ``data`` into a ``(frames, channels)`` float32 array.

    Trailing bytes that do not make a whole frame are ignored. Returns the array and the number of
    non-finite samples that were replaced by 0.
    """
    frame_bytes = fmt.width * channels
    usable = len(data) - len(data) % frame_bytes
    raw = np.frombuffer(data, dtype=np.uint8, count=usable)
    if fmt.kind == "float":
        values = raw.view("<f4" if fmt.width == 4 else "<f8")
        out = values.astype(np.float32)
        bad = ~np.isfinite(out)
        nonfinite = int(bad.sum())
        if nonfinite:
            out[bad] = 0.0
        return out.reshape(-1, channels), nonfinite
    if fmt.width == 1:  # 8-bit WAV is unsigned, centred on 128
        out = (raw.astype(np.float32) - 128.0) / 128.0
    elif fmt.width == 2:
        out = raw.view("<i2").astype(np.float32) / 32768.0
    elif fmt.width == 3:
        # Place the 3 bytes in the top of a little-endian int32, so the sign comes for free.
        wide = np.zeros((usable // 3, 4), dtype=np.uint8)
        wide[:, 1:] = raw.reshape(-1, 3)
        out = wide.reshape(-1).view("<i4").astype(np.float32) / 2147483648.0
    else:
        out = raw.view("<i4").astype(np.float32) / 2147483648.0
    return out.reshape(-1, channels), 0


def to_mono(frames: np.ndarray) -> np.ndarray:
    """Average the channels of a ``(frames, channels)`` array into a 1-D float32 array."""
    if frames.ndim == 1:
        return frames.astype(np.float32, copy=False)
    if frames.shape[1] == 1:
        return frames[:, 0].astype(np.float32, copy=False)
    mono: np.ndarray = frames.mean(axis=1, dtype=np.float32)
    return mono


def iter_raw_pcm(
    stream: BinaryIO, channels: int = 1, fmt: SampleFormat = S16LE, block_frames: int = 1024
) -> Iterator[np.ndarray]:
    """Yield ``(frames, channels)`` float32 blocks from a headerless PCM stream (s16le by default) until EOF.

    Reads what is available (``read1``) rather than waiting for full blocks, so a live pipe such as
    ``arecord -f S16_LE -r 16000 | edge run -`` is not delayed; a frame split across reads is kept.
    """
    if channels < 1:
        raise ValueError(f"channels must be at least 1, got {channels}")
    frame_bytes = fmt.width * channels
    want = max(1, block_frames) * frame_bytes
    read = getattr(stream, "read1", stream.read)
    pending = b""
    while True:
        chunk = read(want)
        if not chunk:
            break
        pending += chunk
        whole = len(pending) - len(pending) % frame_bytes
        if whole:
            frames, _ = decode_frames(pending[:whole], fmt, channels)
            pending = pending[whole:]
            yield frames
