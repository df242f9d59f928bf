"""The ASR engine protocol: an engine is loaded once, then opens one :class:`RecognizerStream` per utterance.

A stream takes float32 mono chunks (16 kHz unless another rate was given to ``stream()``, in which case
it resamples), returns partial results as they arrive and one final result on :meth:`finish`.
Engines that cannot stream (Whisper) buffer the audio and decode on finish; ``streaming`` says which.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from edge.audio.resample import TARGET_RATE, Resampler
from edge.models import ModelError

__all__ = ["AsrEngine", "AsrModelError", "AsrResult", "Hypothesis", "RecognizerStream", "SpeechEvidence", "Word",
           "as_mono_float32"]


class AsrModelError(ModelError):
    """An ASR model folder is missing or corrupt; the message names the model and how to get it."""


@dataclass(frozen=True)
class Word:
    """One recognised word; times in seconds from the start of the stream."""

    text: str
    start_s: float
    end_s: float
    confidence: float


@dataclass(frozen=True)
class SpeechEvidence:
    """How sure the decoder was that the audio held the words it wrote (Whisper's own decoding signals):
    ``no_speech_prob`` the probability of its no-speech token at the start, ``avg_logprob`` the mean log
    probability of the text tokens, ``compression_ratio`` of the text (zlib; a decoding loop compresses well)."""

    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float


@dataclass(frozen=True)
class Hypothesis:
    """One of the decoder's best transcripts (a beam search keeps several): ``score`` is its mean token log
    probability, higher is likelier."""

    text: str
    score: float


@dataclass(frozen=True)
class AsrResult:
    """A partial (``is_final`` False) or final transcript; ``words`` is empty where the engine has no timings."""

    text: str
    is_final: bool
    words: list[Word] = field(default_factory=list)
    engine: str = ""
    locale: str = ""
    # With language identification: the language heard (Whisper code) and its probability; the locale above is
    # the one chosen from it (or the last one, when the probability was below the threshold).
    language: str = ""
    language_probability: float | None = None
    evidence: SpeechEvidence | None = None  # None where the engine gives no such signals
    # A beam search's best transcripts, most likely first (``text`` is the first); empty where there is one only.
    hypotheses: tuple[Hypothesis, ...] = ()


def as_mono_float32(chunk: np.ndarray) -> np.ndarray:
    """A 1-D float32 copy-free view where possible; NaN/inf become 0. Shape (n,) or (n, 1) only."""
    x = np.asarray(chunk)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(f"ASR input must be mono 1-D samples, got shape {x.shape}")
    if x.dtype.kind not in "fiu":
        raise ValueError(f"ASR input must be float32 samples in [-1, 1], got dtype {x.dtype}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return x


class RecognizerStream(ABC):
    """One utterance (or one continuous stream) of audio through an engine. Not thread-safe."""

    def __init__(self, engine: str, locale: str, sample_rate: int = TARGET_RATE) -> None:
        self.engine = engine
        self.locale = locale
        self.sample_rate = sample_rate
        self._resampler = Resampler(sample_rate, TARGET_RATE) if sample_rate != TARGET_RATE else None
        self._samples_in = 0
        self._finished = False

    @property
    def audio_s(self) -> float:
        """Seconds of 16 kHz audio accepted so far."""
        return self._samples_in / TARGET_RATE

    def accept(self, chunk: np.ndarray) -> list[AsrResult]:
        """Feed the next chunk; returns the partial results it produced (often none)."""
        if self._finished:
            raise RuntimeError("accept() after finish(): open a new stream for the next utterance")
        samples = as_mono_float32(chunk)
        if self._resampler is not None:
            samples = self._resampler.process(samples)
        if samples.size == 0:
            return []
        self._samples_in += samples.size
        return self._accept(samples)

    def finish(self) -> AsrResult:
        """End of audio: the final result. The stream cannot be used afterwards."""
        if self._finished:
            raise RuntimeError("finish() called twice")
        if self._resampler is not None:
            tail = self._resampler.flush()
            if tail.size:
                self._samples_in += tail.size
                self._accept(tail)
        self._finished = True
        return self._finish()

    def _result(self, text: str, is_final: bool, words: list[Word] | None = None) -> AsrResult:
        return AsrResult(text=text, is_final=is_final, words=words or [], engine=self.engine, locale=self.locale)

    @abstractmethod
    def _accept(self, samples: np.ndarray) -> list[AsrResult]:
        """Consume 16 kHz float32 samples (non-empty)."""

    @abstractmethod
    def _finish(self) -> AsrResult:
        """Produce the final result."""


class AsrEngine(ABC):
    """A loaded ASR model. ``streaming`` is True when partial results come from the engine itself."""

    name: ClassVar[str]
    streaming: ClassVar[bool]
    locale: str

    @abstractmethod
    def stream(self, sample_rate: int = TARGET_RATE) -> RecognizerStream:
        """Open a stream for one utterance."""

    def transcribe(self, samples: np.ndarray, sample_rate: int = TARGET_RATE) -> AsrResult:
        """Recognise a whole recording (fed in 0.5 s chunks, so streaming engines see it as a live stream)."""
        stream = self.stream(sample_rate)
        step = max(1, math.ceil(sample_rate / 2))
        x = as_mono_float32(samples)
        for i in range(0, x.size, step):
            stream.accept(x[i : i + step])
        return stream.finish()
