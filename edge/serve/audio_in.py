"""Audio in on one connection: the audio of one request (``transcribe``, ``run-pipeline`` or ``detect``)
collected between ``audio-start`` and ``audio-stop``, its format and length checked against the limits."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from wyoming.event import Event

from edge.serve.audio import AudioFormat, check_format, from_pcm
from edge.serve.limits import Limits, ProtocolError

__all__ = ["AudioTurn"]


@dataclass
class AudioTurn:
    """Audio being received for one request."""

    kind: str  # "asr" | "pipeline" | "detect"
    data: dict[str, Any]  # the request's data (language, context, end_stage...)
    started: float = field(default_factory=time.monotonic)
    fmt: AudioFormat | None = None
    pieces: list[np.ndarray] = field(default_factory=list)
    bytes_in: int = 0
    detector: Any = None
    detected: bool = False

    def start(self, event: Event) -> None:
        self.fmt = check_format(event.data)
        self.started = time.monotonic()

    def chunk(self, event: Event, limits: Limits) -> np.ndarray:
        """The chunk's samples (float32 mono at :attr:`rate`), kept unless this is wake word detection."""
        fmt = check_format(event.data)
        if self.fmt is None:
            self.fmt = fmt
        elif fmt != self.fmt:
            raise ProtocolError("audio-chunk format differs from its audio-start", "bad_audio")
        payload = event.payload or b""
        self.bytes_in += len(payload)
        if self.kind != "detect" and self.bytes_in > limits.max_audio_s * fmt.bytes_per_second:
            raise ProtocolError(f"audio longer than {limits.max_audio_s:g} s in one request", "too_large")
        samples = from_pcm(payload, fmt)
        if self.kind != "detect":
            self.pieces.append(samples)
        return samples

    @property
    def rate(self) -> int:
        return self.fmt.rate if self.fmt else 16000

    def audio(self) -> np.ndarray:
        return np.concatenate(self.pieces) if self.pieces else np.zeros(0, dtype=np.float32)

    def deadline_left(self, turn_timeout_s: float) -> float:
        """Seconds left of the request's ``turn_timeout_s``; raises ProtocolError once it is spent."""
        left = self.started + turn_timeout_s - time.monotonic()
        if left <= 0:
            raise ProtocolError(f"audio turn longer than {turn_timeout_s:g} s", "timeout")
        return left
