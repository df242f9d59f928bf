"""Audio out: where synthesized speech goes (a speaker, a WAV file, or nowhere).

Every sink takes float32 mono samples at any rate, repairs them (NaN/inf become 0, samples are clipped
to [-1, 1]), applies :attr:`AudioSink.volume` and :attr:`AudioSink.muted`, and resamples to its own
rate with a streaming resampler, so consecutive writes join without clicks.
"""

from __future__ import annotations

import collections
import errno
import os
import struct
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from edge.audio.devices import OUTPUT_HINT, StreamErrors, device_info, portaudio, portaudio_reason, resolve_device
from edge.audio.errors import AudioDeviceError, AudioWriteError
from edge.audio.pcm import to_mono
from edge.audio.resample import TARGET_RATE, Resampler

__all__ = ["AudioSink", "ClockSink", "NullSink", "SoundDeviceSink", "WavSink"]

_EMPTY = np.zeros(0, dtype=np.float32)


class AudioSink(ABC):
    """Somewhere to send audio. Use as a context manager, or call :meth:`close` when done."""

    def __init__(self) -> None:
        self._volume = 1.0
        self.muted = False
        self._resampler: Resampler | None = None

    @property
    def volume(self) -> float:
        """Gain in [0, 1] applied to every write (values outside are clamped)."""
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        value = float(value)
        if value != value:
            raise ValueError("volume must be a number in [0, 1], got NaN")
        self._volume = min(1.0, max(0.0, value))

    @abstractmethod
    def write(self, samples: np.ndarray, rate: int) -> None:
        """Queue or write float32 mono samples in [-1, 1] at ``rate`` Hz."""

    @abstractmethod
    def drain(self) -> None:
        """Block until everything written has been played or written out."""

    @abstractmethod
    def stop(self) -> None:
        """Drop whatever is queued and go silent at once (barge-in)."""

    @abstractmethod
    def close(self) -> None:
        """Release the sink without waiting for queued audio; idempotent."""

    @property
    def playing(self) -> bool:
        """True while written audio has not finished playing."""
        return False

    def __enter__(self) -> AudioSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- helpers for subclasses -----------------------------------------------------------------

    def _prepare(self, samples: np.ndarray, rate: int, out_rate: int) -> np.ndarray:
        """Samples repaired, scaled by the volume and resampled to ``out_rate``."""
        if rate <= 0:
            raise ValueError(f"sample rate must be positive, got {rate}")
        x = np.asarray(samples)
        if x.ndim == 2:
            x = to_mono(x.astype(np.float32, copy=False))
        elif x.ndim != 1:
            raise ValueError(f"samples must be 1-D mono (or (frames, channels)), got shape {x.shape}")
        x = np.nan_to_num(x.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        gain = 0.0 if self.muted else self._volume
        if gain != 1.0:
            x *= np.float32(gain)
        resampler = self._resampler  # a local: stop() may drop it from another thread
        if rate != out_rate:
            if resampler is None or resampler.in_rate != rate or resampler.out_rate != out_rate:
                head = self._flush_resampler()
                resampler = self._resampler = Resampler(rate, out_rate)
                x = np.concatenate([head, resampler.process(x)])
            else:
                x = resampler.process(x)
        elif resampler is not None:
            x = np.concatenate([self._flush_resampler(), x])
        return np.clip(x, -1.0, 1.0, out=x)

    def _flush_resampler(self) -> np.ndarray:
        """The samples still inside the resampler's filter (the resampler is then discarded)."""
        resampler, self._resampler = self._resampler, None
        if resampler is None:
            return _EMPTY
        flushed: np.ndarray = np.clip(resampler.flush(), -1.0, 1.0)
        return flushed


class NullSink(AudioSink):
    """Discards audio, counting what was written (for tests, benchmarks and ``--quiet``)."""

    def __init__(self) -> None:
        super().__init__()
        self.samples = 0
        self.seconds = 0.0
        self.closed = False

    def write(self, samples: np.ndarray, rate: int) -> None:
        if rate <= 0:
            raise ValueError(f"sample rate must be positive, got {rate}")
        n = len(np.asarray(samples))
        self.samples += n
        self.seconds += n / rate

    def drain(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class ClockSink(NullSink):
    """A null sink that keeps a speaker's timeline: :attr:`playing` is True until what was written would have
    finished playing in real time, and :meth:`stop` ends it at once, recording when (``stops``, monotonic
    seconds). For tests and the barge-in benchmark; write from one thread, stop from any."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.play_end = 0.0  # time.monotonic() when the audio written so far has played
        self.stops: list[float] = []  # when stop() was called while audio was playing
        self.cut_s = 0.0  # seconds of written audio that stop() kept from playing

    def write(self, samples: np.ndarray, rate: int) -> None:
        super().write(samples, rate)
        with self._lock:
            self.play_end = max(self.play_end, time.monotonic()) + len(np.asarray(samples)) / rate

    def stop(self) -> None:
        with self._lock:
            now = time.monotonic()
            if now < self.play_end:
                self.stops.append(now)
                self.cut_s += self.play_end - now
            self.play_end = 0.0

    @property
    def playing(self) -> bool:
        return time.monotonic() < self.play_end


class WavSink(AudioSink):
    """Streams 16-bit PCM mono WAV to ``<path>.part``, renamed to ``path`` by :meth:`close`.

    The rate is ``rate`` or that of the first write; later writes at other rates are resampled. A crash
    leaves only the ``.part`` file (readable: its sizes say "unknown"); leaving a ``with`` block through
    an exception discards it. Any write failure (full disk, unwritable directory) raises
    :class:`AudioWriteError` naming the path, and removes the partial file. Closed without any write, it
    leaves a valid WAV file with no samples (at ``rate``, or 16 kHz).
    """

    _UNKNOWN = 0xFFFFFFFF

    def __init__(self, path: str | os.PathLike[str], rate: int | None = None) -> None:
        super().__init__()
        if rate is not None and not 1 <= rate <= 0xFFFFFFFF // 8:
            raise ValueError(f"invalid sample rate {rate}")
        self.path = Path(path)
        self.part = self.path.with_name(self.path.name + ".part")
        self.rate = rate
        self.frames = 0
        self._header_written = False
        self._error: AudioWriteError | None = None
        self._file: Any = None
        try:
            self._file = open(self.part, "wb")  # closed by close()/discard()
        except OSError as exc:
            raise self._fail(exc) from exc

    def write(self, samples: np.ndarray, rate: int) -> None:
        self._check()
        if self.rate is None:
            if not 1 <= rate <= 0xFFFFFFFF // 8:
                raise ValueError(f"invalid sample rate {rate}")
            self.rate = rate
        self._append(self._prepare(samples, rate, self.rate))

    def drain(self) -> None:
        self._check()
        self._append(self._flush_resampler())
        try:
            self._file.flush()
        except OSError as exc:
            raise self._fail(exc) from exc

    def stop(self) -> None:
        """Nothing is queued: what was written stays in the file."""

    def close(self) -> None:
        """Finish the file and rename it to :attr:`path`; idempotent (a no-op after a write error)."""
        if self._file is None:
            return
        try:
            self._append(self._flush_resampler())
            if not self._header_written:
                self._write_header(self._UNKNOWN)
            data_bytes = self.frames * 2
            size = data_bytes if data_bytes + 36 <= 0xFFFFFFFF else self._UNKNOWN  # too big: say "unknown"
            self._file.seek(4)
            self._file.write(struct.pack("<I", size + 36 if size != self._UNKNOWN else size))
            self._file.seek(40)
            self._file.write(struct.pack("<I", size))
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            os.replace(self.part, self.path)
        except AudioWriteError:
            raise
        except OSError as exc:
            raise self._fail(exc) from exc

    def discard(self) -> None:
        """Close and delete the partial file; :attr:`path` is left as it was."""
        file, self._file = self._file, None
        if file is not None:
            try:
                file.close()
            except OSError:
                pass
            try:
                os.unlink(self.part)
            except OSError:
                pass

    def __exit__(self, *exc: object) -> None:
        if not exc or exc[0] is None:
            self.close()
        else:
            self.discard()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._file is None:
            raise ValueError(f"{self.path}: write to a closed WavSink")

    def _append(self, x: np.ndarray) -> None:
        if not x.size:
            return
        try:
            if not self._header_written:
                self._write_header(self._UNKNOWN)
            self._file.write(np.round(x * 32767.0).astype("<i2").tobytes())
        except OSError as exc:
            raise self._fail(exc) from exc
        self.frames += len(x)

    def _write_header(self, data_bytes: int) -> None:
        rate = self.rate or TARGET_RATE
        fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
        riff = data_bytes if data_bytes == self._UNKNOWN else data_bytes + 36
        self._file.write(b"RIFF" + struct.pack("<I", riff) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
                         + b"data" + struct.pack("<I", data_bytes))
        self._header_written = True

    def _fail(self, exc: OSError) -> AudioWriteError:
        """Remove the partial file and make the one-line error for ``exc``."""
        self.discard()
        code = exc.errno
        if code in (errno.ENOSPC, errno.EDQUOT):
            why = "no space left on the device; free some space or write the file elsewhere"
        elif code == errno.EROFS:
            why = f"{self.path.parent} is on a read-only file system; choose a writable directory"
        elif code in (errno.EACCES, errno.EPERM):
            why = "permission denied; choose a writable directory"
        elif code == errno.ENOENT and self.path.parent.is_dir():  # /proc: the folder is there, files cannot be made
            why = f"{self.path.parent} does not take new files; choose a writable directory"
        elif code == errno.ENOENT:
            why = f"directory {self.path.parent} does not exist; create it or choose another path"
        elif code == errno.EISDIR:
            why = "it is a directory; give a file name"
        else:
            why = f"{exc.strerror or exc}"
        err = AudioWriteError(f"cannot write {self.path}: {why}")
        err.errno = code
        self._error = err
        return err


class SoundDeviceSink(StreamErrors, AudioSink):
    """Plays audio on a speaker through a PortAudio output stream fed from a queue.

    :meth:`write` only queues (so it returns at once); PortAudio's callback thread pulls the queue and
    plays silence when it is empty. The stream runs at ``rate`` or the device's default rate. Write and
    drain from one thread; :meth:`stop` and :meth:`close` may come from any thread.
    """

    _role = "speaker"

    STALL_S = 5.0  # drain() gives up when the device has not asked for audio for this long

    def __init__(self, device: str | int | None = None, rate: int | None = None,
                 latency: str | float = "low") -> None:
        super().__init__()
        self._sd = portaudio()
        self.device = resolve_device(device, "output")
        info = device_info(self._sd, self.device, "output")
        self.device_name = str(info["name"])
        self.rate = int(rate or round(info["default_samplerate"]))
        self._cond = threading.Condition()
        self._blocks: collections.deque[np.ndarray] = collections.deque()
        self._offset = 0  # frames of _blocks[0] already played
        # A wall-clock estimate of the output timeline (time.monotonic()): audio handed to PortAudio plays
        # no faster than real time, so the last real sample is not heard before _real_end + latency.
        self._clock_end = 0.0  # when everything handed to PortAudio so far (silence included) has played
        self._real_end = 0.0  # when the last real (written) sample handed over has played
        self._generation = 0  # bumped by stop(), so that a write racing with it is dropped
        self.underruns = 0  # callbacks where PortAudio reported an output underflow (audible gaps)
        self._error: str | None = None
        self._closing = False
        self._last_callback = time.monotonic()
        self._stream = self._open(int(info["max_output_channels"]), latency)
        self._latency = float(self._stream.latency)
        try:
            self._stream.start()
        except self._sd.PortAudioError as exc:
            self.close()
            raise AudioDeviceError(f"cannot start speaker {self.device_name!r} ({portaudio_reason(exc)}): "
                                   f"{OUTPUT_HINT}") from exc

    def _open(self, max_channels: int, latency: str | float) -> Any:
        sd = self._sd
        failure: Exception | None = None
        for channels in dict.fromkeys((1, min(2, max(1, max_channels)))):
            try:
                return sd.OutputStream(device=self.device, samplerate=self.rate, channels=channels, dtype="float32",
                                       latency=latency, callback=self._callback, finished_callback=self._finished)
            except (sd.PortAudioError, ValueError) as exc:
                failure = exc
        assert failure is not None
        raise AudioDeviceError(f"cannot open speaker {self.device_name!r} at {self.rate} Hz "
                               f"({portaudio_reason(failure)}): {OUTPUT_HINT}") from failure

    @property
    def latency(self) -> float:
        """The output latency PortAudio reports, in seconds."""
        return self._latency

    def write(self, samples: np.ndarray, rate: int) -> None:
        self._check()
        generation = self._generation
        x = self._prepare(samples, rate, self.rate)
        self._enqueue(x, generation)

    def _enqueue(self, x: np.ndarray, generation: int) -> None:
        with self._cond:
            if x.size and generation == self._generation:  # else stop() came while this write was resampling
                self._blocks.append(x)

    def drain(self) -> None:
        self._check()
        generation = self._generation
        self._enqueue(self._flush_resampler(), generation)
        with self._cond:
            while self._error is None and not self._closing:
                now = time.monotonic()
                if self._blocks:
                    if now - self._last_callback > self.STALL_S:
                        self._error = (f"speaker {self.device_name!r} stopped playing (unplugged?): reconnect it; "
                                       f"`edge devices` lists devices")
                        break
                    self._cond.wait(0.05)
                elif now < self._real_end + self._latency:
                    self._cond.wait(min(0.05, self._real_end + self._latency - now))
                else:
                    break
        if self._error is not None and not self._closing:
            raise AudioDeviceError(self._error)

    def stop(self) -> None:
        with self._cond:
            self._generation += 1
            self._blocks.clear()
            self._offset = 0
            self._real_end = 0.0
            self._resampler = None
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._blocks.clear()
            self._real_end = 0.0
            self._cond.notify_all()
        stream = getattr(self, "_stream", None)
        if stream is None:
            return
        for method in (stream.abort, stream.close):
            try:
                method()
            except Exception:  # the device may already be gone
                pass

    @property
    def playing(self) -> bool:
        with self._cond:
            return bool(self._blocks) or time.monotonic() < self._real_end + self._latency

    def _check(self) -> None:
        if self._closing:
            raise ValueError(f"speaker {self.device_name!r}: write to a closed SoundDeviceSink")
        if self._error is not None:
            raise AudioDeviceError(self._error)

    # --- PortAudio's thread ---------------------------------------------------------------------

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        try:
            if status.output_underflow:
                self.underruns += 1
            mono = np.zeros(frames, dtype=np.float32)
            with self._cond:
                now = self._last_callback = time.monotonic()
                filled = 0
                while filled < frames and self._blocks:
                    block = self._blocks[0]
                    n = min(frames - filled, len(block) - self._offset)
                    mono[filled:filled + n] = block[self._offset:self._offset + n]
                    filled += n
                    self._offset += n
                    if self._offset == len(block):
                        self._blocks.popleft()
                        self._offset = 0
                start = max(self._clock_end, now)
                self._clock_end = start + frames / self.rate
                if filled:
                    self._real_end = start + filled / self.rate
                    if not self._blocks:
                        self._cond.notify_all()  # drain() now waits for the clock only
            outdata[:] = mono[:, None]
        except Exception as exc:
            self._fail(exc)
