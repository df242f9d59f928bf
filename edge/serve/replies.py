"""What a satellite receives, event by event: a turn's answer (:class:`TurnResult`), and announcements the
server sends between turns (:class:`AnnouncementReceiver`: ``announce``, then the speech)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled

from edge.serve.audio import AudioFormat, from_pcm
from edge.serve.protocol import ANNOUNCE_TYPE

__all__ = ["Announced", "AnnouncementReceiver", "TurnResult"]

AudioOut = Callable[[np.ndarray, int], None]


def _samples(event: Event) -> tuple[np.ndarray, int]:
    chunk = AudioChunk.from_event(event)
    return from_pcm(chunk.audio, AudioFormat(chunk.rate, chunk.width, chunk.channels)), chunk.rate


@dataclass
class TurnResult:
    """What a turn brought back, and when (ms after ``audio-stop`` was sent: the end of speech)."""

    transcript: str = ""
    language: str | None = None
    reply: str | None = None
    handled: bool | None = None
    context: dict[str, Any] = field(default_factory=dict)
    rate: int = 22050
    audio_s: float = 0.0
    transcript_ms: float | None = None
    reply_ms: float | None = None
    first_audio_ms: float | None = None
    total_ms: float = 0.0
    _t0: float = field(default_factory=time.perf_counter, repr=False)
    _samples_out: int = field(default=0, repr=False)

    @property
    def expects_answer(self) -> bool:
        return bool(self.context.get("expects_answer"))

    def _ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000

    def take(self, event: Event, on_audio: AudioOut | None) -> bool:
        """Record one event of the answer; True once the answer is complete (its audio ended)."""
        if Transcript.is_type(event.type):
            t = Transcript.from_event(event)
            self.transcript, self.language, self.transcript_ms = t.text, t.language, self._ms()
        elif Handled.is_type(event.type) or NotHandled.is_type(event.type):
            self.handled = Handled.is_type(event.type)
            self.reply = event.data.get("text")
            self.context = dict(event.data.get("context") or {})
            self.reply_ms = self._ms()
        elif AudioStart.is_type(event.type):
            self.rate = int(event.data.get("rate", self.rate))
        elif AudioChunk.is_type(event.type):
            if self.first_audio_ms is None:
                self.first_audio_ms = self._ms()
            samples, rate = _samples(event)
            self._samples_out += samples.size
            if on_audio is not None and samples.size:
                on_audio(samples, rate)
        elif AudioStop.is_type(event.type) and self.transcript_ms is not None:
            self.audio_s = self._samples_out / self.rate if self.rate else 0.0
            self.total_ms = self._ms()
            return True
        return False


@dataclass(frozen=True)
class Announced:
    """An announcement the server spoke to this satellite (an alarm, a timer, a reminder that came due)."""

    text: str
    language: str | None
    audio_s: float


class AnnouncementReceiver:
    """Takes the events of announcements out of the stream: ``announce``, then its ``audio-start`` /
    ``audio-chunk``... / ``audio-stop``. The speech goes to ``on_audio``; each whole one to ``on_announced``."""

    def __init__(self) -> None:
        self.on_audio: AudioOut | None = None
        self.on_announced: Callable[[Announced], None] | None = None
        self._text: str | None = None
        self._language: str | None = None
        self._samples = 0
        self._rate = 22050

    def take(self, event: Event) -> bool:
        """True if ``event`` belongs to an announcement (it is then handled here)."""
        if event.type == ANNOUNCE_TYPE:
            text = event.data.get("text")
            language = event.data.get("language")
            self._text = text if isinstance(text, str) else ""
            self._language = language if isinstance(language, str) else None
            self._samples = 0
            return True
        if self._text is None:
            return False
        if AudioStart.is_type(event.type):
            self._rate = int(event.data.get("rate", self._rate))
        elif AudioChunk.is_type(event.type):
            samples, rate = _samples(event)
            self._samples += samples.size
            if self.on_audio is not None and samples.size:
                self.on_audio(samples, rate)
        elif AudioStop.is_type(event.type):
            done = Announced(self._text, self._language, self._samples / self._rate if self._rate else 0.0)
            self._text = None
            if self.on_announced is not None:
                self.on_announced(done)
        else:
            return False
        return True
