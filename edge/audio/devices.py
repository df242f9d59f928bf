"""Microphones and speakers through PortAudio (``sounddevice``): listing, choosing, and recording.

``sounddevice`` is imported on first use, so the rest of ``edge.audio`` works on machines without
PortAudio; every device problem surfaces as a one-line :class:`AudioDeviceError` saying what to do.
PortAudio scans the devices once per process (when ``sounddevice`` is first imported).
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np

from edge.audio.errors import AudioDeviceError
from edge.audio.pcm import to_mono
from edge.audio.resample import TARGET_RATE, Resampler

__all__ = ["INPUT_HINT", "OUTPUT_HINT", "DeviceInfo", "MicrophoneSource", "list_devices", "resolve_device"]

INPUT_HINT = "plug in a microphone or pass --input FILE; `edge devices` lists devices"
OUTPUT_HINT = "connect a speaker or pass --output FILE; `edge devices` lists devices"
SILENCE_DB = -120.0  # the level reported for digital silence (and before the first block)
Kind = Literal["input", "output"]


def portaudio() -> ModuleType:
    """The ``sounddevice`` module, or an AudioDeviceError saying what to install."""
    try:
        import sounddevice
    except OSError as exc:  # cffi could not find or load libportaudio.so
        raise AudioDeviceError(
            "PortAudio library not found: install Debian's libportaudio2 (`sudo apt-get install libportaudio2`)"
        ) from exc
    except ImportError as exc:
        raise AudioDeviceError("the sounddevice package is missing: reinstall edge (`pip install -e .`)") from exc
    except Exception as exc:  # PortAudioError from Pa_Initialize
        raise AudioDeviceError(f"PortAudio failed to start ({portaudio_reason(exc)}): check the sound system") from exc
    module: ModuleType = sounddevice
    return module


def portaudio_reason(exc: BaseException) -> str:
    """A PortAudio error as a short phrase (its message, without the error code and on one line)."""
    text = str(exc.args[0]) if exc.args else str(exc)
    text = text.split(" [PaErrorCode", 1)[0]
    return " ".join(text.split()) or type(exc).__name__


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device, as ``edge devices`` shows it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_rate: float
    is_default_input: bool
    is_default_output: bool

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels


def list_devices() -> list[DeviceInfo]:
    """Every device PortAudio knows; an empty list when there are none."""
    sd = portaudio()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"cannot list audio devices ({portaudio_reason(exc)}): check the sound system") from exc
    default_in, default_out = _default_devices(sd, apis)
    return [
        DeviceInfo(
            index=int(d["index"]),
            name=str(d["name"]),
            hostapi=str(apis[d["hostapi"]]["name"]),
            max_input_channels=int(d["max_input_channels"]),
            max_output_channels=int(d["max_output_channels"]),
            default_rate=float(d["default_samplerate"]),
            is_default_input=d["index"] == default_in,
            is_default_output=d["index"] == default_out,
        )
        for d in devices
    ]


def _default_devices(sd: ModuleType, apis: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """PortAudio's default input and output device indices (-1 where there is none)."""
    try:
        api = apis[sd.default.hostapi]
    except (sd.PortAudioError, IndexError):
        return -1, -1
    return int(api["default_input_device"]), int(api["default_output_device"])


def resolve_device(spec: str | int | None, kind: Kind) -> int | None:
    """The index of the device ``spec`` names (index, exact name, or unique case-insensitive part of a name).

    None means the system default and stays None. The device must have channels of ``kind``.
    """
    if spec is None:
        return None
    devices = list_devices()
    usable = [d for d in devices if d.channels(kind) > 0]
    hint = INPUT_HINT if kind == "input" else OUTPUT_HINT
    if not usable:
        raise AudioDeviceError(f"no {kind} device found: {hint}")
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        if any(d.index == index for d in usable):
            return index
        what = f"device {index} has no {kind} channels" if any(d.index == index for d in devices) else (
            f"no {kind} device has index {index}")
        raise AudioDeviceError(f"{what}; {kind} devices: {_brief(usable)}; {hint}")
    name = spec.strip()
    for match in (
        [d for d in usable if d.name == name],
        [d for d in usable if d.name.lower() == name.lower()],
        [d for d in usable if name.lower() in d.name.lower()],
    ):
        if len(match) == 1:
            return match[0].index
        if len(match) > 1:
            raise AudioDeviceError(f"{kind} device {spec!r} is ambiguous, it matches {_brief(match)}: "
                                   f"pass the index or the full name")
    raise AudioDeviceError(f"no {kind} device matches {spec!r}; {kind} devices: {_brief(usable)}; {hint}")


def _brief(devices: Sequence[DeviceInfo], limit: int = 6) -> str:
    shown = ", ".join(f"{d.index} {d.name!r}" for d in devices[:limit])
    return shown + (f", ... ({len(devices) - limit} more)" if len(devices) > limit else "")


def device_info(sd: ModuleType, index: int | None, kind: Kind) -> dict[str, Any]:
    """PortAudio's description of a device (the default one for None); AudioDeviceError when there is none."""
    try:
        return dict(sd.query_devices(index, kind))
    except (sd.PortAudioError, ValueError) as exc:
        what = "no default" if index is None else f"device {index} is not an"
        hint = INPUT_HINT if kind == "input" else OUTPUT_HINT
        raise AudioDeviceError(f"{what} {kind} device ({portaudio_reason(exc)}): {hint}") from exc


def db_level(block: np.ndarray) -> float:
    """RMS level of a block in dBFS (a full-scale square wave is 0 dB; silence is SILENCE_DB)."""
    if block.size == 0:
        return SILENCE_DB
    rms = math.sqrt(float(np.mean(np.square(block, dtype=np.float64))))
    return max(SILENCE_DB, 20.0 * math.log10(rms)) if rms > 0 else SILENCE_DB


class StreamErrors:
    """The failure reporting a PortAudio stream owner shares (microphone, speaker): errors raised in PortAudio's
    thread are stored under ``_cond`` as one line and re-raised by the consumer as :class:`AudioDeviceError`.

    The owner has ``_cond``, ``_error``, ``_closing``, ``device_name``, ``_sd`` and sets ``_role``.
    """

    _role = "device"
    _cond: threading.Condition
    _error: str | None
    _closing: bool
    device_name: str
    _sd: Any

    def _fail(self, exc: BaseException) -> None:
        """Called from a stream callback's ``except``: record the failure and abort the stream."""
        with self._cond:
            self._error = (f"{self._role} {self.device_name!r} failed ({portaudio_reason(exc)}): reconnect it; "
                           f"`edge devices` lists devices")
            self._cond.notify_all()
        raise self._sd.CallbackAbort from None

    def _finished(self) -> None:
        with self._cond:
            if not self._closing and self._error is None:
                self._error = (f"{self._role} {self.device_name!r} stopped unexpectedly (unplugged?): reconnect it; "
                               f"`edge devices` lists devices")
            self._cond.notify_all()


class MicrophoneSource(StreamErrors):
    """Live audio from a microphone as 1-D float32 mono chunks at ``rate`` Hz (16 kHz by default).

    The device records at its native rate into a bounded queue from PortAudio's callback thread (when
    the consumer falls ``max_queue_s`` behind, the oldest blocks are dropped and counted in
    :attr:`dropped_blocks`); iterating downmixes and resamples them. Iteration ends after
    :meth:`stop` (from any thread) and raises :class:`AudioDeviceError` when the device fails or
    delivers nothing for ``stall_s`` seconds; the caller may then close it and open a new one.
    """

    _role = "microphone"

    def __init__(
        self,
        device: str | int | None = None,
        rate: int = TARGET_RATE,
        block_ms: int = 32,
        max_queue_s: float = 10.0,
        stall_s: float = 3.0,
    ) -> None:
        if rate <= 0 or block_ms <= 0 or max_queue_s <= 0 or stall_s <= 0:
            raise ValueError(f"rate, block_ms, max_queue_s and stall_s must be positive, got {rate}, {block_ms}, "
                             f"{max_queue_s}, {stall_s}")
        self._sd = portaudio()
        self.device = resolve_device(device, "input")
        info = device_info(self._sd, self.device, "input")
        self.device_name = str(info["name"])
        self.native_rate = int(round(info["default_samplerate"]))
        self._max_channels = max(1, int(info["max_input_channels"]))
        self.rate = rate
        self.block_frames = max(1, round(self.native_rate * block_ms / 1000))
        self.stall_s = stall_s
        self.level = SILENCE_DB
        self.dropped_blocks = 0
        self.overflows = 0  # callbacks where PortAudio reported an input overflow (audio lost before us)
        self._queue: collections.deque[np.ndarray] = collections.deque(maxlen=max(1, math.ceil(
            max_queue_s * 1000 / block_ms)))
        self._cond = threading.Condition()
        self._stream: Any = None
        self._closing = False
        self._stopped = False
        self._error: str | None = None
        self._last_block = 0.0
        self._resampler = Resampler(self.native_rate, rate)

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the device and start recording (done by ``with`` and by iterating); no-op when recording."""
        if self._stream is not None:
            return
        with self._cond:
            self._queue.clear()
            self._stopped = False
            self._error = None
            self._closing = False
            self._last_block = time.monotonic()
        self._resampler = Resampler(self.native_rate, self.rate)
        self._stream = self._open()
        try:
            self._stream.start()
        except self._sd.PortAudioError as exc:
            self.close()
            raise AudioDeviceError(f"cannot start microphone {self.device_name!r} ({portaudio_reason(exc)}): "
                                   f"{INPUT_HINT}") from exc
        with self._cond:
            self._last_block = time.monotonic()

    def _open(self) -> Any:
        sd = self._sd
        failure: Exception | None = None
        for channels in dict.fromkeys((1, min(2, self._max_channels), self._max_channels)):
            try:
                return sd.InputStream(device=self.device, samplerate=self.native_rate, channels=channels,
                                      dtype="float32", blocksize=self.block_frames, callback=self._callback,
                                      finished_callback=self._finished)
            except (sd.PortAudioError, ValueError) as exc:
                failure = exc
        assert failure is not None
        raise AudioDeviceError(f"cannot open microphone {self.device_name!r} ({portaudio_reason(failure)}): "
                               f"{INPUT_HINT}") from failure

    def stop(self) -> None:
        """End iteration (callable from any thread); the device stays open until :meth:`close`."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def close(self) -> None:
        """Stop recording and release the device; idempotent."""
        self.stop()
        stream, self._stream = self._stream, None
        if stream is None:
            return
        self._closing = True
        try:
            stream.abort()
        except Exception:  # the device may already be gone
            pass
        try:
            stream.close()
        except Exception:
            pass

    def __enter__(self) -> MicrophoneSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- PortAudio's thread ---------------------------------------------------------------------

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        try:
            if status.input_overflow:
                self.overflows += 1
            block = np.array(to_mono(indata), dtype=np.float32)  # a copy: PortAudio reuses indata
            level = db_level(block)
            with self._cond:
                if len(self._queue) == self._queue.maxlen:
                    self.dropped_blocks += 1
                self._queue.append(block)
                self.level = level
                self._last_block = time.monotonic()
                self._cond.notify_all()
        except Exception as exc:
            self._fail(exc)

    # --- consumer side --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[np.ndarray]:
        owned = self._stream is None
        self.start()
        try:
            while (block := self._next_block()) is not None:
                out = self._resampler.process(block)
                if out.size:
                    yield out
            tail = self._resampler.flush()
            self._resampler = Resampler(self.native_rate, self.rate)
            if tail.size:
                yield tail
        finally:
            if owned:
                self.close()

    def _next_block(self) -> np.ndarray | None:
        """The oldest recorded block; None after stop(); raises when the device failed or stalled."""
        with self._cond:
            while True:
                if self._stopped:
                    return None
                if self._queue:
                    return self._queue.popleft()
                if self._error is not None:
                    raise AudioDeviceError(self._error)
                idle = time.monotonic() - self._last_block
                if idle >= self.stall_s:
                    raise AudioDeviceError(f"microphone stopped delivering audio ({idle:.1f} s without a block from "
                                           f"{self.device_name!r}): reconnect it; `edge devices` lists devices")
                self._cond.wait(min(0.1, self.stall_s - idle))
