"""Speaks: replies and announcements, sentence by sentence into the sink, and stops when told to.

A stop (barge-in, push-to-talk, :meth:`Responder.interrupt`) bumps a generation counter, so a reply being
written stops writing; the stop itself is thread-safe. The responder fills the speech part of the turn's
:class:`~edge.pipeline.latency.TurnLatency`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge.pipeline.events import BargeIn, EventBus, FirstAudio, OutputState, ReplyChosen, ReplyDone
from edge.pipeline.latency import TurnLatency

if TYPE_CHECKING:
    from edge.audio.sink import AudioSink
    from edge.tts.base import SpeechChunk, TtsEngine

__all__ = ["FirstChunk", "Responder"]


@dataclass(frozen=True)
class FirstChunk:
    """A reply's first audio, synthesised ahead (by a speculation): the chunk, the rest, its compute ms."""

    chunk: SpeechChunk
    rest: Iterator[SpeechChunk] | None
    compute_ms: float


def _chain(first: SpeechChunk, rest: Iterator[SpeechChunk] | None) -> Iterator[SpeechChunk]:
    yield first
    if rest is not None:
        yield from rest


class Responder:
    """The TTS and the sink, for one locale; ``announcements`` are appended from any thread."""

    def __init__(self, tts: TtsEngine | None, sink: AudioSink | None, bus: EventBus, locale: str,
                 announcements: list[str] | None = None) -> None:
        self.tts = tts
        self.sink = sink
        self.bus = bus
        self.locale = locale
        # Things to say unprompted (an alarm, "while I was off..."), spoken between utterances.
        self.announcements: list[str] = announcements if announcements is not None else []
        self._lock = threading.Lock()
        self._generation = 0  # bumped by every stop: a reply being written stops writing
        self._speaking = False
        self._reported = (False, 1.0)  # (muted, volume) last told to the bus; the default is not reported

    def report_output(self) -> None:
        """Emit :class:`OutputState` when the sink's mute or volume differs from what was last reported, so a
        muted assistant never looks like a working one (call at start and after every reply is chosen)."""
        if self.sink is None:
            return
        now = (bool(self.sink.muted), round(float(self.sink.volume), 3))
        if now != self._reported:
            self._reported = now
            self.bus.emit(OutputState(muted=now[0], volume=now[1]))

    @property
    def busy(self) -> bool:
        """A reply is being written, or the sink still plays one."""
        return self._speaking or (self.sink is not None and self.sink.playing)

    def interrupt(self) -> None:
        """Stop the audio now (thread-safe)."""
        with self._lock:
            self._generation += 1
        if self.sink is not None:
            self.sink.stop()

    def barge(self, trigger: str, detected: float, audio_s: float, onset_t: float | None = None) -> None:
        """Stop the audio now and say so: ``latency_ms`` from the detection (time.perf_counter()) to the stop
        call returning, ``since_onset_ms`` from the arrival of the speech onset (speech only, live input)."""
        self.interrupt()
        latency = (time.perf_counter() - detected) * 1000
        since = round((time.monotonic() - onset_t) * 1000, 1) if onset_t is not None else None
        self.bus.emit(BargeIn(trigger=trigger, latency_ms=round(latency, 2), audio_s=audio_s, since_onset_ms=since))

    def announce_pending(self) -> None:
        """Say every queued announcement, each as a ``reply`` from the skill "announcement"."""
        queue = self.announcements
        while queue:
            text = queue.pop(0)
            self.bus.emit(ReplyChosen(text=text, locale=self.locale, skill="announcement", route_ms=0.0))
            self.speak(text, TurnLatency(), None)

    def speak(self, text: str, latency: TurnLatency, speech_end_t: float | None,
              ready: FirstChunk | None = None) -> bool:
        """Synthesise sentence by sentence into the sink (``ready``: its first chunk, synthesised ahead).
        ``speech_end_t``: when the end of speech arrived (live input), for the measured total. False when a
        stop cut it short."""
        if self.tts is None or self.sink is None:
            return True
        from edge.tts.base import TtsError

        sink = self.sink
        generation = self._generation
        self._speaking = True
        t0 = time.perf_counter()
        audio_s = 0.0
        chunks: Iterable[SpeechChunk]
        if ready is not None:
            chunks, compute_ms = _chain(ready.chunk, ready.rest), ready.compute_ms
        else:
            chunks, compute_ms = self.tts.stream(text), 0.0
        try:
            for chunk in chunks:
                if self._generation != generation:
                    break
                if audio_s == 0.0:
                    latency.tts_first = (time.perf_counter() - t0) * 1000 + (latency.tts_wait or 0.0)
                    latency.tts_wait = None
                    compute_ms = compute_ms or latency.tts_first
                    sink.write(chunk.samples, chunk.rate)
                    if speech_end_t is not None:
                        latency.total, latency.measured = (time.monotonic() - speech_end_t) * 1000, True
                    self.bus.emit(FirstAudio(tts_first_ms=round(latency.tts_first, 1), compute_ms=round(compute_ms, 1),
                                             speculative=ready is not None,
                                             latency_ms=round(latency.total, 1) if latency.total is not None
                                             else None))
                else:
                    sink.write(chunk.samples, chunk.rate)
                if self._generation != generation:  # stopped while this chunk was being written
                    sink.stop()
                audio_s += chunk.samples.size / chunk.rate
        except TtsError as exc:
            from edge.pipeline.events import ErrorRaised

            self.bus.emit(ErrorRaised(message=str(exc)))
        finally:
            self._speaking = False
        latency.tts_wait = None
        latency.tts = (time.perf_counter() - t0) * 1000
        finished = self._generation == generation
        self.bus.emit(ReplyDone(audio_s=round(audio_s, 3), tts_ms=round(latency.tts, 1), interrupted=not finished))
        return finished

