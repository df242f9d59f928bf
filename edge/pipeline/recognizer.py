"""Runs the ASR engine for one utterance at a time, the way the engine likes it.

A streaming engine (Vosk) gets the audio as it arrives from the speech start, so its partials are live
and the final result is ready as soon as the utterance ends. A buffering engine (Whisper) decodes the
utterance once it is cut; with ``speculate`` the pipeline may start that decode during the silence wait
on the utterance as it will be if the silence lasts (:meth:`Endpointer.tentative_end`), in a worker
thread, and the result is used if the utterance does end there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.asr.base import AsrEngine, AsrResult, RecognizerStream
from edge.audio.rate import RATE

__all__ = ["Recognition", "UtteranceRecognizer"]


@dataclass(frozen=True)
class Recognition:
    result: AsrResult
    asr_ms: float  # time spent waiting for the result after the utterance ended
    compute_ms: float  # time the decode itself took
    speculative: bool  # the decode was started before the end of speech was certain
    follow_up: Any = None  # what the speculation's follow-up returned (see :meth:`UtteranceRecognizer.speculate`)
    decoded_at: float = 0.0  # time.monotonic() when the decode finished


class UtteranceRecognizer:
    """One engine, one utterance at a time; partials go to ``on_partial``."""

    def __init__(
        self,
        engine: AsrEngine,
        on_partial: Callable[[str], None] | None = None,
        partial_interval_ms: int = 0,
        choose: Callable[[AsrResult], AsrResult] | None = None,
    ) -> None:
        """``choose``: picks among a result's hypotheses (:class:`edge.pipeline.hypotheses.TranscriptChooser`)."""
        self.engine = engine
        self.choose = choose
        self.on_partial = on_partial
        self.partial_interval = int(partial_interval_ms * RATE // 1000)  # samples
        self._stream: RecognizerStream | None = None
        self._stream_start = 0
        self._fed_to = 0
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-asr")
        self._speculation: tuple[int, int, Future[tuple[AsrResult, float, float, Any]]] | None = None
        self._current_key: tuple[int, int] | None = None  # the utterance end the latest speculation assumes
        self._partial_job: Future[tuple[AsrResult, float]] | None = None
        self._next_partial = 0

    # --- streaming engines -------------------------------------------------------------------------

    def start(self, start: int, audio_so_far: np.ndarray) -> None:
        """Speech started at sample ``start``; ``audio_so_far`` runs from there to the newest sample."""
        self.cancel()
        self._stream_start = start
        self._fed_to = start
        self._next_partial = start + self.partial_interval
        if self.engine.streaming:
            self._stream = self.engine.stream()
        self.feed(audio_so_far)

    def feed(self, chunk: np.ndarray) -> None:
        """The next samples of the current utterance (after :meth:`start`)."""
        self._fed_to += chunk.size
        if self._stream is not None and chunk.size:
            for partial in self._stream.accept(chunk):
                if self.on_partial and partial.text:
                    self.on_partial(partial.text)

    def maybe_partial(self, audio: Callable[[], np.ndarray]) -> None:
        """For a buffering engine: decode the utterance so far in the background every partial interval."""
        if self.engine.streaming or not self.partial_interval or self._fed_to < self._next_partial:
            return
        if self._partial_job is not None and not self._partial_job.done():
            return  # the previous partial is still decoding: skip rather than queue
        if self._partial_job is not None and self.on_partial:
            text = self._partial_job.result()[0].text
            if text:
                self.on_partial(text)
        self._next_partial = self._fed_to + self.partial_interval
        self._partial_job = self._worker.submit(self._decode, audio())

    # --- speculation and the final result --------------------------------------------------------------

    def wants_speculation(self, start: int, end: int) -> bool:
        """False for a streaming engine (its result is ready at the end anyway) or an end already speculated."""
        return not self.engine.streaming and self._current_key != (start, end)

    def speculate(
        self, start: int, end: int, audio: np.ndarray, follow_up: Callable[[AsrResult], Any] | None = None
    ) -> None:
        """Start decoding ``audio`` (samples start..end) now, in case the utterance ends exactly there.

        ``follow_up(result)`` then runs in the same worker (e.g. NLU and the first reply audio); it must
        have no side effects, since the speculation is thrown away if speech resumes.
        """
        if not self.wants_speculation(start, end):
            return

        key = (start, end)
        self._current_key = key

        def job() -> tuple[AsrResult, float, float, Any]:
            result, compute_ms = self._decode(audio)
            decoded_at = time.monotonic()
            current = self._current_key == key
            extra = follow_up(result) if follow_up is not None and current else None  # stale: skip the rest
            return result, compute_ms, decoded_at, extra

        self._speculation = (start, end, self._worker.submit(job))

    def finish(self, start: int, end: int, audio: np.ndarray) -> Recognition:
        """The utterance ended: samples ``start..end`` (``audio``). Returns the final result."""
        t0 = time.perf_counter()
        if self._stream is not None:
            stream, self._stream = self._stream, None
            result = stream.finish()
            wait = (time.perf_counter() - t0) * 1000
            return Recognition(result, wait, wait, False, None, time.monotonic())
        spec, self._speculation = self._speculation, None
        if spec is not None and spec[:2] == (start, end):
            result, compute_ms, decoded_at, extra = spec[2].result()
            return Recognition(result, (time.perf_counter() - t0) * 1000, compute_ms, True, extra, decoded_at)
        result, compute_ms = self._worker.submit(self._decode, audio).result()
        return Recognition(result, (time.perf_counter() - t0) * 1000, compute_ms, False, None, time.monotonic())

    def cancel(self) -> None:
        """Forget the current utterance (speculative work still running is simply ignored)."""
        self._current_key = None
        self._stream = None
        self._speculation = None
        self._partial_job = None

    def close(self) -> None:
        self.cancel()
        self._worker.shutdown(wait=True, cancel_futures=True)

    def _decode(self, audio: np.ndarray) -> tuple[AsrResult, float]:
        t0 = time.perf_counter()
        result = self.engine.transcribe(audio)
        if self.choose is not None and result.hypotheses:
            result = self.choose(result)
        return result, (time.perf_counter() - t0) * 1000
