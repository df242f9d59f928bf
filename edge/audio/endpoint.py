"""Endpointing: turns a stream of 16 kHz audio chunks into speech-start and speech-end events.

Rules (those of Silero's own ``get_speech_timestamps``, made streaming): a window with probability at
least ``threshold`` starts speech; speech ends once ``min_silence_ms`` have passed since the first
window below ``neg_threshold`` (windows in between keep the current state); an utterance is reported
only once it has lasted ``min_speech_ms``, so coughs and clicks never emit events; an utterance
longer than ``max_utterance_s`` is cut there. A start moves back over the windows just before it that were at
least ``neg_threshold`` (up to ``onset_lead_ms``): the soft beginning of the first word. Starts are widened by
``start_pad_ms`` (or ``speech_pad_ms`` if larger) and ends by ``speech_pad_ms``, never overlapping the previous
utterance, never past the audio seen so far. The end is decided on the very
window where the silence reaches ``min_silence_ms``, so a smaller value answers sooner.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np

from edge.audio.rate import RATE
from edge.audio.vad import SileroVad, VoiceActivityModel

__all__ = ["RATE", "Endpointer", "EndpointEvent", "Segment", "SpeechEnd", "SpeechStart", "split_utterances"]

_MAX_BATCH_WINDOWS = 256  # bounds the model input when a caller passes one huge chunk
_Reason = Literal["silence", "max_length", "end_of_stream"]


@dataclass(frozen=True)
class SpeechStart:
    """Speech began at ``sample`` (padded start, 16 kHz samples from the start of the stream)."""

    sample: int
    detected_at: int  # stream position (samples) when the start was confirmed

    @property
    def time(self) -> float:
        return self.sample / RATE


@dataclass(frozen=True)
class SpeechEnd:
    """An utterance ended: samples ``[start, end)``; ``audio`` holds them when the endpointer keeps audio."""

    start: int
    end: int
    detected_at: int  # stream position (samples) when the end was decided
    reason: _Reason
    audio: np.ndarray | None = field(default=None, repr=False, compare=False)
    # Unpadded end: the start of the first silent window (None when cut mid-speech). Not compared, so
    # events from scripts that predate it still compare equal.
    voice_end: int | None = field(default=None, compare=False)

    @property
    def start_time(self) -> float:
        return self.start / RATE

    @property
    def end_time(self) -> float:
        return self.end / RATE


EndpointEvent = SpeechStart | SpeechEnd


class Segment(NamedTuple):
    """One utterance as ``(start, end)`` sample indices at 16 kHz."""

    start: int
    end: int


class _History:
    """The most recent audio, kept only as far back as an utterance may still need it."""

    def __init__(self) -> None:
        self._blocks: deque[tuple[int, np.ndarray]] = deque()
        self.end = 0

    def append(self, block: np.ndarray) -> None:
        if block.size:
            self._blocks.append((self.end, block))
            self.end += block.size

    def trim(self, keep_from: int) -> None:
        while self._blocks and self._blocks[0][0] + self._blocks[0][1].size <= keep_from:
            self._blocks.popleft()

    def slice(self, start: int, end: int) -> np.ndarray:
        parts = [b[max(0, start - off) : end - off] for off, b in self._blocks if off < end and off + b.size > start]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


class Endpointer:
    """Streaming endpointer: :meth:`process` chunks of any size, then :meth:`finish` at the end of the stream."""

    def __init__(
        self,
        vad: VoiceActivityModel | None = None,
        *,
        threshold: float = 0.5,
        neg_threshold: float | None = None,
        min_silence_ms: int = 500,
        speech_pad_ms: int = 150,
        min_speech_ms: int = 250,
        max_utterance_s: float = 30.0,
        keep_audio: bool = False,
        threads: int = 1,
        onset_lead_ms: int = 300,
        start_pad_ms: int = 200,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        if min_silence_ms < 0 or speech_pad_ms < 0 or min_speech_ms < 0 or max_utterance_s <= 0:
            raise ValueError("durations must be non-negative and max_utterance_s positive")
        self.vad = vad if vad is not None else SileroVad(threads=threads)
        self.window = self.vad.window
        self.threshold = threshold
        self.neg_threshold = max(threshold - 0.15, 0.01) if neg_threshold is None else neg_threshold
        self.min_silence = min_silence_ms * RATE // 1000
        self.pad = speech_pad_ms * RATE // 1000
        self.min_speech = min_speech_ms * RATE // 1000
        self.max_utterance = max(int(max_utterance_s * RATE), 2 * self.window)
        # Windows just under the threshold right before the onset belong to the utterance (up to this much):
        # a raised threshold (barge-in over a reply) triggers late in the first word and must not lose it.
        self.onset_lead = max(0, onset_lead_ms) * RATE // 1000
        # A start is widened by at least this much (the end by speech_pad_ms): the VAD rises late on a soft
        # first sound ("s", "f", "wh"), and a missing first word costs more than some silence in the ASR.
        self.start_pad = max(self.pad, max(0, start_pad_ms) * RATE // 1000)
        self.keep_audio = keep_audio
        self.reset()

    def reset(self) -> None:
        """Start a new stream (sample positions restart at 0)."""
        self.vad.reset()
        self._pending = np.zeros(0, dtype=np.float32)
        self._pos = 0  # samples consumed by the VAD (whole windows)
        self._received = 0  # samples given to process()
        self._history = _History()
        self._prev_end = 0
        self._triggered = False
        self._confirmed = False
        self._start = 0  # unpadded start of the current utterance
        self._padded_start = 0
        self._lead_start: int | None = None  # first of the windows at or above neg_threshold before an onset
        self._voiced_end = 0
        self._silence_start: int | None = None

    @property
    def in_speech(self) -> bool:
        """True between a SpeechStart and its SpeechEnd."""
        return self._confirmed

    def audio(self, start: int, end: int | None = None) -> np.ndarray:
        """Kept samples ``start..end`` (``keep_audio`` only; older audio than the current utterance is gone)."""
        return self._history.slice(start, self._history.end if end is None else end)

    @property
    def silence_ms(self) -> float:
        """How long the trailing silence of the current utterance has lasted (0 when none or not in speech)."""
        if not self._confirmed or self._silence_start is None:
            return 0.0
        return (min(self._pos, self._received) - self._silence_start) * 1000 / RATE

    def tentative_end(self, with_audio: bool = True) -> SpeechEnd | None:
        """The utterance as it would end if the current silence lasts: for speculative decoding.

        Returns the :class:`SpeechEnd` (reason "silence", audio attached when ``keep_audio``) that will be
        reported if no speech resumes, once its padded end has been received; else None. A later
        SpeechEnd with the same ``start`` and ``end`` is the same utterance. ``with_audio`` False skips
        copying the samples (for a caller that only needs to know whether the end moved).
        """
        if not self._confirmed or self._silence_start is None:
            return None
        end = self._silence_start + self.pad
        if end > self._received:
            return None
        audio = self._history.slice(self._padded_start, end) if self.keep_audio and with_audio else None
        return SpeechEnd(self._padded_start, end, min(self._pos, self._received), "silence", audio,
                         self._silence_start)

    def process(self, chunk: np.ndarray) -> list[EndpointEvent]:
        """Consume the next 16 kHz mono float32 chunk; returns the events it completed (often none)."""
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        self._received += chunk.size
        if self.keep_audio:
            self._history.append(chunk.copy())
        events: list[EndpointEvent] = []
        data = np.concatenate([self._pending, chunk]) if self._pending.size else chunk
        whole = data.size - data.size % self.window
        step = _MAX_BATCH_WINDOWS * self.window
        for off in range(0, whole, step):
            windows = data[off : min(off + step, whole)].reshape(-1, self.window)
            for prob in self.vad.probabilities(windows):
                self._step(float(prob), events)
        self._pending = data[whole:].copy()
        if self.keep_audio:
            self._history.trim(self._keep_from())
        return events

    def finish(self) -> list[EndpointEvent]:
        """End of the stream: close an open utterance. The endpointer is then reset for a new stream."""
        events: list[EndpointEvent] = []
        if self._pending.size:
            tail = np.zeros(self.window, dtype=np.float32)
            tail[: self._pending.size] = self._pending
            self._step(float(self.vad.probabilities(tail[None])[0]), events)
        if self._triggered and self._confirmed:
            end = self._voiced_end if self._silence_start is None else self._silence_start
            self._close(min(end + self.pad, self._received), "end_of_stream", events, end)
        self.reset()
        return events

    # --- the state machine, one window at a time ----------------------------------------------------

    def _step(self, prob: float, events: list[EndpointEvent]) -> None:
        start, self._pos = self._pos, self._pos + self.window
        end = min(self._pos, self._received)
        if not self._triggered:
            if prob >= self.threshold:
                lead = start if self._lead_start is None else max(self._lead_start, start - self.onset_lead)
                self._triggered, self._confirmed, self._lead_start = True, False, None
                self._start, self._voiced_end, self._silence_start = start, end, None
                self._padded_start = max(lead - self.start_pad, self._prev_end)
            else:
                if prob < self.neg_threshold:
                    self._lead_start = None
                elif self._lead_start is None:
                    self._lead_start = start
                return
        elif prob >= self.threshold or (prob >= self.neg_threshold and self._silence_start is None):
            self._silence_start = None
            self._voiced_end = end
        elif prob < self.neg_threshold and self._silence_start is None:
            self._silence_start = start

        if not self._confirmed and self._voiced_end - self._start >= self.min_speech:
            self._confirmed = True
            events.append(SpeechStart(self._padded_start, end))
        if self._silence_start is not None and end - self._silence_start >= self.min_silence:
            if self._confirmed:
                self._close(min(self._silence_start + self.pad, end), "silence", events, self._silence_start)
            self._triggered = self._confirmed = False
        elif self._confirmed and end + self.window - self._padded_start > self.max_utterance:
            # Cut now: the next window would make the utterance longer than max_utterance_s.
            still_speaking = self._silence_start is None
            self._close(end, "max_length", events)
            self._triggered = self._confirmed = False
            if still_speaking:  # carry on as a new utterance, reported at once
                self._triggered = self._confirmed = True
                self._start = self._padded_start = self._voiced_end = end
                events.append(SpeechStart(end, end))

    def _close(
        self, end: int, reason: _Reason, events: list[EndpointEvent], voice_end: int | None = None
    ) -> None:
        audio = self._history.slice(self._padded_start, end) if self.keep_audio else None
        detected_at = min(self._pos, self._received)
        events.append(SpeechEnd(self._padded_start, end, detected_at, reason, audio, voice_end))
        self._prev_end = end
        self._triggered = self._confirmed = False

    def _keep_from(self) -> int:
        """The earliest sample an utterance may still need: its padded start, or the pre-roll pad."""
        if self._triggered:
            return self._padded_start
        return max(self._prev_end, self._pos - self.start_pad - self.onset_lead)


def split_utterances(
    audio: np.ndarray | Iterable[np.ndarray], vad: VoiceActivityModel | None = None, **settings: object
) -> list[Segment]:
    """Cut a recording (one 16 kHz array, or an iterable of chunks for long ones) into its utterances.

    Chunks are processed as they come, so memory stays bounded for a recording of any length given
    as a generator (e.g. ``split_utterances(stream_audio("long.wav"))``). ``settings`` are
    :class:`Endpointer` keyword arguments.
    """
    endpointer = Endpointer(vad, **settings)  # type: ignore[arg-type]
    chunks = [audio] if isinstance(audio, np.ndarray) else audio
    segments = []
    for chunk in chunks:
        segments += [Segment(e.start, e.end) for e in endpointer.process(chunk) if isinstance(e, SpeechEnd)]
    segments += [Segment(e.start, e.end) for e in endpointer.finish() if isinstance(e, SpeechEnd)]
    return segments
