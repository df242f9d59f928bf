"""A stream for :class:`~edge.asr.whisper.FasterWhisperEngine`: the utterance buffered (bounded) and decoded on
finish, with optional partials that re-decode the buffer."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from edge.asr.base import AsrResult, RecognizerStream
from edge.audio.resample import TARGET_RATE

if TYPE_CHECKING:
    from edge.asr.whisper import FasterWhisperEngine

__all__ = ["WhisperStream"]

log = logging.getLogger("edge.asr.whisper")  # the engine's logger: one place to look


class WhisperStream(RecognizerStream):
    """Buffers one utterance for :class:`FasterWhisperEngine`; audio past ``max_buffer_s`` is dropped (logged)."""

    def __init__(self, engine: FasterWhisperEngine, sample_rate: int) -> None:
        super().__init__(engine.name, engine.locale, sample_rate)
        self._engine = engine
        self._cap = int(engine.max_buffer_s * TARGET_RATE)
        self._chunks: list[np.ndarray] = []
        self._buffered = 0
        self._dropped = 0
        self._next_partial = self._samples_for(engine.partial_interval_s)
        self._last_partial = ""

    @staticmethod
    def _samples_for(seconds: float | None) -> int | None:
        return None if not seconds or seconds <= 0 else int(seconds * TARGET_RATE)

    @property
    def dropped_s(self) -> float:
        """Seconds of audio dropped because the buffer was full."""
        return self._dropped / TARGET_RATE

    def _buffer(self) -> np.ndarray:
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, dtype=np.float32)

    def _accept(self, samples: np.ndarray) -> list[AsrResult]:
        room = self._cap - self._buffered
        if samples.size > room:
            if self._dropped == 0:
                log.warning("Whisper stream buffer full (%.0f s): later audio is dropped; endpoint utterances "
                            "with the VAD first", self._engine.max_buffer_s)
            self._dropped += samples.size - max(room, 0)
            samples = samples[: max(room, 0)]
        if samples.size:
            self._chunks.append(samples.copy())
            self._buffered += samples.size
        if self._next_partial is None or self._buffered < self._next_partial:
            return []
        step = self._samples_for(self._engine.partial_interval_s) or 0
        self._next_partial = self._buffered + step
        text, _, guess = self._engine.decode_with_language(self._buffer(), word_timestamps=False)
        if not text or text == self._last_partial:
            return []
        self._last_partial = text
        return [self._engine.result(text, False, [], guess)]

    def _finish(self) -> AsrResult:
        d = self._engine.decode_full(self._buffer())
        self._chunks = []
        return self._engine.result(d.text, True, d.words, d.guess, d.evidence, d.hypotheses)
