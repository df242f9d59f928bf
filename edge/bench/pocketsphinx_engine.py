"""PocketSphinx 5 (CMU Sphinx) as a benchmark baseline, behind the :class:`edge.asr.base.AsrEngine` interface.

Bench only: the runtime never loads it. The en-US acoustic model, its language model and the CMU
dictionary ship inside the ``pocketsphinx`` wheel (``pocketsphinx.get_model_path()``), so nothing is
downloaded. A stream buffers the utterance and decodes it whole on :meth:`finish` (``full_utt``: the
decoder sees the complete utterance, as Whisper does); decoding is single-threaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from edge.asr.base import AsrEngine, AsrModelError, AsrResult, RecognizerStream, as_mono_float32
from edge.audio.resample import TARGET_RATE

__all__ = ["POCKETSPHINX_LOCALES", "PocketsphinxEngine", "PocketsphinxStream"]

POCKETSPHINX_LOCALES = ("en-US",)  # the wheel's only model
_INSTALL = "pip install 'pocketsphinx==5.1.1' (or install edge with the `bench` extra)"


def _import() -> Any:
    try:
        import pocketsphinx
    except ImportError:
        raise AsrModelError(f"PocketSphinx is not installed: {_INSTALL}") from None
    return pocketsphinx


class PocketsphinxEngine(AsrEngine):
    """PocketSphinx with the wheel's en-US model (or the ``hmm``/``lm``/``dict`` files of ``model_dir``)."""

    name = "pocketsphinx"
    streaming = False

    def __init__(self, model_dir: str | os.PathLike[str] | None = None, *, locale: str = "en-US") -> None:
        """Load the decoder; raises :class:`AsrModelError` for a locale it has no model for or missing files."""
        if model_dir is None and locale not in POCKETSPHINX_LOCALES:
            raise AsrModelError(f"PocketSphinx has no model for {locale!r} here (the wheel ships en-US only)")
        ps = _import()
        root = Path(model_dir) if model_dir is not None else Path(ps.get_model_path()) / "en-us"
        hmm, lm, dic = root / "en-us", root / "en-us.lm.bin", root / "cmudict-en-us.dict"
        missing = [p.name for p in (hmm, lm, dic) if not p.exists()]
        if missing:
            raise AsrModelError(f"PocketSphinx model at {root} lacks {', '.join(missing)}; reinstall: {_INSTALL}")
        try:
            self.decoder = ps.Decoder(hmm=str(hmm), lm=str(lm), dict=str(dic), samprate=TARGET_RATE,
                                      loglevel="FATAL")
        except (RuntimeError, ValueError) as exc:
            raise AsrModelError(f"PocketSphinx model at {root} is unreadable ({exc}); reinstall: {_INSTALL}") from None
        self.model_dir = root
        self.locale = locale

    def stream(self, sample_rate: int = TARGET_RATE) -> PocketsphinxStream:
        return PocketsphinxStream(self, sample_rate)

    def decode(self, samples: np.ndarray) -> str:
        """Decode one whole 16 kHz float32 utterance; the best hypothesis ('' when nothing was recognised)."""
        if samples.size == 0:
            return ""
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        d = self.decoder
        d.start_utt()
        d.process_raw(pcm, no_search=False, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return hyp.hypstr.strip() if hyp is not None else ""

    def transcribe(self, samples: np.ndarray, sample_rate: int = TARGET_RATE) -> AsrResult:
        """A whole recording in one decode."""
        x = as_mono_float32(samples)
        if sample_rate != TARGET_RATE:
            from edge.audio.resample import resample

            x = resample(x, sample_rate)
        return AsrResult(self.decode(x), True, [], self.name, self.locale)


class PocketsphinxStream(RecognizerStream):
    """Buffers one utterance and decodes it on :meth:`finish`."""

    def __init__(self, engine: PocketsphinxEngine, sample_rate: int) -> None:
        super().__init__(engine.name, engine.locale, sample_rate)
        self._engine = engine
        self._chunks: list[np.ndarray] = []

    def _accept(self, samples: np.ndarray) -> list[AsrResult]:
        self._chunks.append(samples.copy())
        return []

    def _finish(self) -> AsrResult:
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.float32)
        self._chunks = []
        return self._result(self._engine.decode(audio), True)
