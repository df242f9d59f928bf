"""WAV (RIFF/WAVE) reading and writing with our own chunk parser.

The stdlib ``wave`` module refuses IEEE float and WAVE_FORMAT_EXTENSIBLE files, and trusts the header.
This reader takes integer PCM (8/16/24/32-bit) and float (32/64-bit), plain or extensible, any channel
count; it skips unknown chunks (LIST, fact, ...) with their pad byte, and reads what is really there
when the data size lies (0 or 0xFFFFFFFF from streaming writers, or larger than a truncated file).
Audio is read in blocks, so memory stays bounded for files of any length.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import struct
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

from edge.audio.errors import AudioFormatError, AudioWarning, AudioWriteError
from edge.audio.pcm import SampleFormat, decode_frames

__all__ = ["WavInfo", "WavReader", "convert_hint", "write_wav"]

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_ALAW = 0x0006
WAVE_FORMAT_MULAW = 0x0007
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# Every KSDATAFORMAT_SUBTYPE_* GUID ends like this; its first two bytes are the plain format tag.
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
_OTHER_TAGS = {0x0002: "MS ADPCM", 0x0011: "IMA ADPCM", 0x0031: "GSM 6.10", 0x0050: "MPEG", 0x0055: "MP3"}
_MIN_RATE, _MAX_RATE = 1000, 384000


def convert_hint(name: str) -> str:
    """The ffmpeg command that turns any audio file into the 16 kHz mono 16-bit WAV the runtime prefers."""
    stem = Path(name).stem or "audio"
    out = f"{stem}.wav" if not name.endswith(".wav") else f"{stem}_16k.wav"
    return f"`ffmpeg -i {shlex.quote(name)} -ar 16000 -ac 1 -c:a pcm_s16le {shlex.quote(out)}`"


@dataclass(frozen=True)
class WavInfo:
    """What the header says, after sanity checks. ``data_bytes`` is None when the size is unknown (read to EOF)."""

    name: str
    rate: int
    channels: int
    sample: SampleFormat
    bits: int
    data_offset: int
    data_bytes: int | None

    @property
    def frame_bytes(self) -> int:
        return self.sample.width * self.channels

    @property
    def frames(self) -> int | None:
        return None if self.data_bytes is None else self.data_bytes // self.frame_bytes

    @property
    def duration_s(self) -> float | None:
        frames = self.frames
        return None if frames is None else frames / self.rate


class WavReader:
    """Reads a WAV file (path or binary stream) block by block as ``(frames, channels)`` float32 at its own rate.

    The header is parsed on construction, so a bad file fails before any audio is consumed. NaN and
    infinite float samples become 0; their count is in :attr:`nonfinite` and reported as an
    :class:`AudioWarning` once the file has been read.
    """

    def __init__(self, source: str | os.PathLike[str] | BinaryIO, name: str | None = None, *,
                 owns: bool = False) -> None:
        """``owns``: close a stream given as ``source`` on :meth:`close` (a path opened here always is)."""
        if isinstance(source, (str, os.PathLike)):
            self.name = name or os.fspath(source)
            self._file: BinaryIO = open(source, "rb")  # closed by close()
            self._owns = True
        else:
            self.name = name or str(getattr(source, "name", "<stream>"))
            self._file = source
            self._owns = owns
        self.nonfinite = 0
        try:
            self.info = _parse_header(self._file, str(self.name))
        except BaseException:
            self.close()
            raise

    @property
    def rate(self) -> int:
        return self.info.rate

    @property
    def channels(self) -> int:
        return self.info.channels

    def frames(self, block_frames: int = 8192) -> Iterator[np.ndarray]:
        """Yield the audio in blocks of up to ``block_frames`` frames; raises if there is no audio at all."""
        info = self.info
        left = info.data_bytes
        block_bytes = max(1, block_frames) * info.frame_bytes
        total = 0
        while left is None or left >= info.frame_bytes:
            want = block_bytes if left is None else min(block_bytes, left)
            data = _read_exact(self._file, want)
            if left is not None:
                left -= len(data)
            block, bad = decode_frames(data, info.sample, info.channels)
            self.nonfinite += bad
            if len(block):
                total += len(block)
                yield block
            if len(data) < want:
                break  # end of file
        if total == 0:
            raise AudioFormatError(f"{self.name} has no audio samples (zero-length data): record or export it again")
        if self.nonfinite:
            warnings.warn(
                f"{self.name}: replaced {self.nonfinite} NaN/infinite samples with 0", AudioWarning, stacklevel=2
            )

    def close(self) -> None:
        if self._owns:
            self._file.close()

    def __enter__(self) -> WavReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- header parsing ---------------------------------------------------------------------------------


def _read_exact(f: BinaryIO, n: int) -> bytes:
    """Read ``n`` bytes, fewer only at end of file (a pipe may return short reads before that)."""
    parts = []
    while n > 0:
        chunk = f.read(n)
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _skip(f: BinaryIO, n: int) -> int:
    """Skip ``n`` bytes; returns how many were really skipped (fewer at end of file)."""
    if f.seekable():
        here = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(min(here + n, end))
        return min(n, end - here)
    skipped = 0
    while skipped < n:
        chunk = f.read(min(65536, n - skipped))
        if not chunk:
            break
        skipped += len(chunk)
    return skipped


def _remaining(f: BinaryIO) -> int | None:
    """Bytes left after the current position, or None for a stream whose length is unknown."""
    try:
        if not f.seekable():
            return None
        here = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(here)
        return end - here
    except OSError:
        return None


def _looks_like(head: bytes) -> str:
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "; it looks like MP3"
    if head.startswith(b"OggS"):
        return "; it looks like Ogg"
    if head[4:8] == b"ftyp":
        return "; it looks like MP4/M4A"
    if head.startswith(b"fLaC"):
        return "; it looks like FLAC"
    return ""


def _parse_header(f: BinaryIO, name: str) -> WavInfo:
    head = _read_exact(f, 12)
    if not head:
        raise AudioFormatError(f"{name} is empty (0 bytes): record or export the audio again")
    if head[:4] == b"RIFX":
        raise AudioFormatError(f"{name} is a big-endian (RIFX) WAV file, which is not supported: convert it with "
                               f"{convert_hint(name)}")
    if head[:4] not in (b"RIFF", b"RF64") or (len(head) == 12 and head[8:12] != b"WAVE"):
        raise AudioFormatError(f"{name} is not a WAV file (no RIFF/WAVE header{_looks_like(head)}): convert it with "
                               f"{convert_hint(name)}")
    if len(head) < 12:
        raise _truncated(name)
    sample: tuple[SampleFormat, int, int, int] | None = None
    pos = 12
    while True:
        chunk = _read_exact(f, 8)
        if len(chunk) < 8:
            raise _truncated(name)
        cid, size = chunk[:4], int.from_bytes(chunk[4:], "little")
        pos += 8
        if cid == b"data":
            if sample is None:
                raise AudioFormatError(f"{name} is corrupt: its audio data comes before the fmt chunk that describes "
                                       f"it; convert it with {convert_hint(name)}")
            fmt, bits, channels, rate = sample
            data_bytes = _data_size(f, name, size, fmt.width * channels)
            return WavInfo(name, rate, channels, fmt, bits, pos, data_bytes)
        padded = size + (size & 1)
        if cid == b"fmt ":
            if size < 16:
                raise AudioFormatError(f"{name} is corrupt: its fmt chunk is {size} bytes (at least 16 needed); "
                                       f"export it again")
            body = _read_exact(f, padded)
            if len(body) < size:
                raise _truncated(name)
            sample = _parse_fmt(body[:size], name)
        elif _skip(f, padded) < size:
            raise _truncated(name)
        pos += padded


def _truncated(name: str) -> AudioFormatError:
    return AudioFormatError(f"{name} is truncated: the file ends inside its WAV header, before any audio; "
                            f"the file is incomplete, copy or export it again")


def _parse_fmt(body: bytes, name: str) -> tuple[SampleFormat, int, int, int]:
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body)
    valid_bits = bits
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if len(body) < 40:
            raise AudioFormatError(f"{name} is corrupt: its WAVE_FORMAT_EXTENSIBLE fmt chunk is {len(body)} bytes "
                                   f"(40 needed); convert it with {convert_hint(name)}")
        valid_bits = struct.unpack_from("<H", body, 18)[0] or bits
        guid = body[24:40]
        if guid[2:] != _GUID_TAIL:
            raise AudioFormatError(f"{name} uses an unknown WAVE_FORMAT_EXTENSIBLE sub-format {guid.hex()}: "
                                   f"convert it with {convert_hint(name)}")
        tag = int.from_bytes(guid[:2], "little")
    if tag in (WAVE_FORMAT_ALAW, WAVE_FORMAT_MULAW):
        law = "A-law" if tag == WAVE_FORMAT_ALAW else "mu-law"
        raise AudioFormatError(f"{name} is {law} encoded, which is not supported (only PCM and float WAV): "
                               f"convert it to PCM with {convert_hint(name)}")
    if tag not in (WAVE_FORMAT_PCM, WAVE_FORMAT_IEEE_FLOAT):
        what = _OTHER_TAGS.get(tag, f"format tag 0x{tag:04x}")
        raise AudioFormatError(f"{name} is {what} encoded, which is not supported (only PCM and float WAV): "
                               f"convert it with {convert_hint(name)}")
    if channels == 0 or bits == 0:
        raise AudioFormatError(f"{name} is corrupt: its header says {channels} channels of {bits}-bit samples; "
                               f"export it again")
    if not _MIN_RATE <= rate <= _MAX_RATE:
        raise AudioFormatError(f"{name} has a sample rate of {rate} Hz (supported: {_MIN_RATE}-{_MAX_RATE}); "
                               f"convert it with {convert_hint(name)}")
    # The container width comes from block_align when it is consistent (24-bit audio may sit in 32-bit slots).
    width = (bits + 7) // 8
    if block_align and block_align % channels == 0 and (block_align // channels) * 8 >= bits:
        width = block_align // channels
    kind: Literal["int", "float"] = "float" if tag == WAVE_FORMAT_IEEE_FLOAT else "int"
    try:
        fmt = SampleFormat(kind, width)
    except ValueError:
        what = "float" if kind == "float" else "integer"
        raise AudioFormatError(f"{name} has {bits}-bit {what} samples in {width}-byte slots, which are not supported: "
                               f"convert it with {convert_hint(name)}") from None
    return fmt, valid_bits, channels, rate


def _data_size(f: BinaryIO, name: str, declared: int, frame_bytes: int) -> int | None:
    """How many data bytes to read: the declared size when the file really holds it, else what is there."""
    remaining = _remaining(f)
    if declared in _UNKNOWN_SIZES:
        if declared == 0 and remaining is not None and (remaining < frame_bytes or _chunk_follows(f, remaining)):
            raise AudioFormatError(f"{name} has no audio samples (zero-length data): record or export it again")
        return remaining  # a streaming writer never filled the size in: read to the end
    if remaining is not None and declared > remaining:
        warnings.warn(f"{name}: header declares {declared} bytes of audio but only {remaining} are there "
                      f"(file truncated?); reading what is there", AudioWarning, stacklevel=4)
        return remaining
    if declared < frame_bytes:
        raise AudioFormatError(f"{name} has no audio samples (zero-length data): record or export it again")
    return declared


def _chunk_follows(f: BinaryIO, remaining: int) -> bool:
    """True when the bytes after an empty data chunk are another RIFF chunk (so the audio really is empty)."""
    if remaining < 8:
        return False
    here = f.tell()
    peek = f.read(8)
    f.seek(here)
    size = int.from_bytes(peek[4:], "little")
    return all(32 <= b < 127 for b in peek[:4]) and 8 + size <= remaining


# --- writing ----------------------------------------------------------------------------------------


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, rate: int) -> None:
    """Write float samples (1-D mono or ``(frames, channels)``) in [-1, 1] as 16-bit PCM WAV, atomically.

    The audio goes to a temporary file beside ``path`` that is renamed over it only when complete, so a
    crash or a full disk never leaves a half-written file; a full disk raises :class:`AudioWriteError`.
    """
    path = Path(path)
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2 or audio.shape[1] < 1:
        raise ValueError(f"samples must be 1-D or (frames, channels), got shape {np.shape(samples)}")
    if not 1 <= rate <= 0xFFFFFFFF // 8:
        raise ValueError(f"invalid sample rate {rate}")
    pcm = np.round(np.clip(np.nan_to_num(audio), -1.0, 1.0) * 32767.0).astype("<i2")
    channels = audio.shape[1]
    data = pcm.tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    block_align = channels * 2
    fmt = struct.pack("<HHIIHH", WAVE_FORMAT_PCM, channels, rate, rate * block_align, block_align, 16)
    header += b"fmt " + struct.pack("<I", len(fmt)) + fmt
    header += b"data" + struct.pack("<I", len(data))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o644)
            f.write(header)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            err = AudioWriteError(f"cannot write {path}: no space left on the device ({len(header) + len(data)} "
                                  f"bytes needed); free some space or write the file elsewhere")
            err.errno = exc.errno
            raise err from exc
        raise
