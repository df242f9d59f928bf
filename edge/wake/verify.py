"""Stage 2: confirm a stage-1 hit by transcribing its audio with Whisper tiny.en and matching the phrase.

Stage 1 (the tiny network) runs on every 20 ms step and is trained on synthetic speech only, so real
speech sometimes scores high on it; Whisper, trained on real speech, almost never hears "hey edge" in
"ask not what your country". It only runs when stage 1 fires (~0.3 s of CPU each time), and the
pipeline's English ASR model is the same one, so it costs no extra model on the device.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import numpy as np

__all__ = ["WhisperVerifier", "phrase_similarity"]


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def phrase_similarity(text: str, phrase: str) -> float:
    """How well a run of words in ``text`` matches the phrase, 0-1: the worst word's letter similarity in the
    best aligned run ("hey urge" 0.5, "hey edgar" 0.67, "okay edge" 0.57), or 1 when the run's letters
    joined match the phrase's almost exactly ("heyedge" for "hey edge")."""
    target = [w for w in (_letters(w) for w in phrase.split()) if w]
    words = [w for w in (_letters(w) for w in text.split()) if w]
    if not target or not words:
        return 0.0
    n, joined = len(target), "".join(target)
    best = 0.0
    for i in range(len(words)):
        if i + n <= len(words):
            best = max(best, min(_ratio(w, t) for w, t in zip(words[i : i + n], target)))
        for size in (n - 1, n + 1):
            if size >= 1 and i + size <= len(words) and _ratio("".join(words[i : i + size]), joined) >= 0.85:
                best = 1.0
    return best


class WhisperVerifier:
    """Accepts audio whose transcript contains the phrase (similarity >= ``min_similarity``).

    ``engine``: an already loaded :class:`edge.asr.whisper.FasterWhisperEngine` to share (else tiny.en is
    loaded from the manifest; raises :class:`edge.models.ModelError` if it is not installed).
    """

    def __init__(self, phrase: str, engine: Any | None = None, min_similarity: float = 0.7) -> None:
        if engine is None:
            from edge.asr.whisper import FasterWhisperEngine

            engine = FasterWhisperEngine(threads=2)
        self.engine = engine
        self.phrase = phrase
        self.min_similarity = min_similarity
        self.last_text = ""

    def __call__(self, audio: np.ndarray) -> bool:
        self.last_text = self.engine.transcribe(np.asarray(audio, dtype=np.float32)).text
        return phrase_similarity(self.last_text, self.phrase) >= self.min_similarity
