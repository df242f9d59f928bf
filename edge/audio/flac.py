"""FLAC reading through the optional ``soundfile`` package (libsndfile), imported only when a FLAC file is opened."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from edge.audio.errors import AudioFormatError
from edge.audio.wav import convert_hint

__all__ = ["FlacReader"]


class FlacReader:
    """Reads a FLAC file block by block as ``(frames, channels)`` float32 at its own rate (same API as WavReader)."""

    def __init__(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        self.name = name or os.fspath(path)
        self.nonfinite = 0
        try:
            import soundfile
        except (ImportError, OSError):  # OSError: the package is there but libsndfile is not
            raise AudioFormatError(f"{self.name} is FLAC, which needs the optional soundfile package: "
                                   f"`pip install soundfile`, or convert it with {convert_hint(self.name)}") from None
        try:
            self._file = soundfile.SoundFile(path)
        except (RuntimeError, soundfile.SoundFileError) as exc:
            raise AudioFormatError(f"{self.name} cannot be decoded as FLAC ({str(exc).strip()}): "
                                   f"convert it with {convert_hint(self.name)}") from None

    @property
    def rate(self) -> int:
        return int(self._file.samplerate)

    @property
    def channels(self) -> int:
        return int(self._file.channels)

    def frames(self, block_frames: int = 8192) -> Iterator[np.ndarray]:
        total = 0
        for block in self._file.blocks(blocksize=max(1, block_frames), dtype="float32", always_2d=True):
            if len(block):
                total += len(block)
                yield block
        if total == 0:
            raise AudioFormatError(f"{self.name} has no audio samples (zero-length FLAC): record or export it again")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FlacReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
