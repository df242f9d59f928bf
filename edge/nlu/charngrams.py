"""A second opinion on the intent: character n-grams, hashed, into a linear classifier (numpy only).

The student reads sub-word pieces; a char n-gram model reads spelling, and the two err differently: averaging
their intent probabilities with a weight fixed on MASSIVE dev beats both (issue 13). Features: every 1- to
4-character n-gram of each lower-cased word padded with a space on both sides (as scikit-learn's ``char_wb``),
hashed with CRC-32 into ``n_features`` buckets; term frequency ``1 + log(count)`` times the bucket's idf, the row
scaled to unit length. The weights are int8 with one scale per intent. ``tools/train_charngrams.py`` trains it
with the same :func:`features`, so training and the device compute the same numbers.
"""

from __future__ import annotations

import math
import unicodedata
import zlib
from pathlib import Path

import numpy as np

__all__ = ["CharNgramIntents", "features"]

MAX_N = 4


def _words(text: str) -> list[str]:
    """Lower-cased words with punctuation stripped from their ends ("on." is "on"; "what's" stays): MASSIVE's
    text has next to none, a transcript or a typed line often ends with some."""
    out = []
    for word in text.lower().split():
        start, end = 0, len(word)
        while start < end and unicodedata.category(word[start])[0] == "P":
            start += 1
        while end > start and unicodedata.category(word[end - 1])[0] == "P":
            end -= 1
        if start < end:
            out.append(word[start:end])
    return out


def features(text: str, n_features: int) -> dict[int, float]:
    """Bucket -> sublinear term frequency (idf not applied yet) of ``text``'s hashed char n-grams."""
    counts: dict[int, int] = {}
    for word in _words(text):
        padded = f" {word} "
        size = len(padded)
        for n in range(1, MAX_N + 1):
            for i in range(size - n + 1):
                b = zlib.crc32(padded[i:i + n].encode("utf-8")) % n_features
                counts[b] = counts.get(b, 0) + 1
    return {b: 1.0 + math.log(c) for b, c in counts.items()}


class CharNgramIntents:
    """Intent probabilities from the char n-gram model in ``path`` (``charngrams.npz`` beside the student)."""

    def __init__(self, path: Path, intents: list[str]) -> None:
        with np.load(path, allow_pickle=False) as z:
            self.weights = z["weights"]  # int8 [n_features, n_intents]
            self.scale = z["scale"].astype(np.float32)  # per intent
            self.bias = z["bias"].astype(np.float32)
            self.idf = z["idf"].astype(np.float32)
            names = [str(x) for x in z["intents"]]
            self.weight = float(z["ensemble_weight"])
        if names != intents:
            raise ValueError(f"{path.name} was trained for other intents than intents.txt lists")
        if self.weights.shape != (len(self.idf), len(names)) or self.weights.dtype != np.int8:
            raise ValueError(f"{path.name}: weights of shape {self.weights.shape} ({self.weights.dtype})")
        self.n_features = len(self.idf)

    def logits(self, text: str) -> np.ndarray:
        tf = features(text, self.n_features)
        if not tf:
            return np.array(self.bias, dtype=np.float32)
        idx = np.fromiter(tf.keys(), dtype=np.int64, count=len(tf))
        val = np.fromiter(tf.values(), dtype=np.float32, count=len(tf)) * self.idf[idx]
        val /= max(float(np.linalg.norm(val)), 1e-12)
        out: np.ndarray = (val @ self.weights[idx].astype(np.float32)) * self.scale + self.bias
        return out

    def probs(self, text: str) -> np.ndarray:
        z = self.logits(text)
        e: np.ndarray = np.exp(z - z.max())
        return e / float(e.sum())
