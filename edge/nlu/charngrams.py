"""A second opinion on the intent: character n-grams, hashed, into a linear classifier (numpy only).

The student reads sub-word pieces; a char n-gram model reads spelling, and the two err differently: combining
their intent probabilities with weights fixed on MASSIVE dev beats both (issue 13). The intent is the one with the
best weighted sum of log-probabilities (:func:`choose`, weight ``choice_weight``); its confidence stays its
probability in the weighted arithmetic mean (weight ``ensemble_weight``), the number every threshold downstream
was set against. A file without ``choice_weight`` (older) takes the arithmetic mean's best intent. Features: every 1- to
4-character n-gram of each lower-cased word padded with a space on both sides (as scikit-learn's ``char_wb``),
hashed with CRC-32 into ``n_features`` buckets; term frequency ``1 + log(count)`` times the bucket's idf, the row
scaled to unit length. On disk the weights are 4-bit (-7..7, two to a byte, one scale per intent: the 99.99th
percentile of its weights' size / 7) and the idf 8-bit, so the file is about 1.5 MB; in memory too (a row is
unpacked when an n-gram uses it).
``tools/train_charngrams.py`` trains it with the same :func:`features`, so training and the device compute the
same numbers.
"""

from __future__ import annotations

import math
import unicodedata
import zlib
from pathlib import Path

import numpy as np

__all__ = ["CharNgramIntents", "choose", "features", "pack4", "unpack4"]

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


def pack4(q: np.ndarray) -> np.ndarray:
    """int8 values in -7..7 (an even count), two to a byte."""
    u = (q.reshape(-1) + 8).astype(np.uint8)
    return np.asarray(u[0::2] | (u[1::2] << 4), dtype=np.uint8)


def unpack4(packed: np.ndarray) -> np.ndarray:
    out = np.empty(packed.size * 2, dtype=np.int8)
    out[0::2] = (packed & 0x0F).astype(np.int8) - 8
    out[1::2] = (packed >> 4).astype(np.int8) - 8
    return out


class CharNgramIntents:
    """Intent probabilities from the char n-gram model in ``path`` (``charngrams.npz`` beside the student)."""

    def __init__(self, path: Path, intents: list[str]) -> None:
        with np.load(path, allow_pickle=False) as z:
            packed = z["weights4"]
            self.scale = z["scale"].astype(np.float32)  # per intent
            self.bias = z["bias"].astype(np.float32)
            low, step = (float(x) for x in z["idf_range"])
            self.idf = low + z["idf8"].astype(np.float32) * step
            names = [str(x) for x in z["intents"]]
            self.weight = float(z["ensemble_weight"])
            self.choice_weight = float(z["choice_weight"]) if "choice_weight" in z.files else None
        if self.choice_weight is not None and not 0.0 <= self.choice_weight <= 1.0:
            raise ValueError(f"{path.name}: choice_weight {self.choice_weight} is not in 0..1")
        if names != intents:
            raise ValueError(f"{path.name} was trained for other intents than intents.txt lists")
        self.n_features = len(self.idf)
        if packed.dtype != np.uint8 or packed.size * 2 != self.n_features * len(names):
            raise ValueError(f"{path.name}: {packed.size} packed weights for {self.n_features} x {len(names)}")
        self.n_intents = len(names)
        # kept 4-bit as stored (3.9 MB instead of 7.9 as int8): only the rows of an utterance's n-grams are unpacked
        self.packed = packed.reshape(self.n_features, -1) if self.n_intents % 2 == 0 else unpack4(packed).reshape(
            self.n_features, self.n_intents)

    def rows(self, idx: np.ndarray) -> np.ndarray:
        """The int8 weights of buckets ``idx`` ([len(idx), n_intents])."""
        if self.packed.dtype == np.int8:  # an odd intent count: stored unpacked
            return np.asarray(self.packed[idx])
        return unpack4(self.packed[idx].reshape(-1)).reshape(len(idx), self.n_intents)

    def logits(self, text: str) -> np.ndarray:
        tf = features(text, self.n_features)
        if not tf:
            return np.array(self.bias, dtype=np.float32)
        idx = np.fromiter(tf.keys(), dtype=np.int64, count=len(tf))
        val = np.fromiter(tf.values(), dtype=np.float32, count=len(tf)) * self.idf[idx]
        val /= max(float(np.linalg.norm(val)), 1e-12)
        out: np.ndarray = (val @ self.rows(idx).astype(np.float32)) * self.scale + self.bias
        return out

    def probs(self, text: str) -> np.ndarray:
        z = self.logits(text)
        e: np.ndarray = np.exp(z - z.max())
        return e / float(e.sum())

    def combine(self, student: np.ndarray, ngram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The intents (index per row) and their confidences from the student's and this model's probabilities
        ([n, n_intents] each): see the module docstring."""
        mean = (1 - self.weight) * student + self.weight * ngram
        if self.choice_weight is None:
            best = mean.argmax(-1)
        else:
            best = choose(student, ngram, self.choice_weight)
        conf: np.ndarray = np.take_along_axis(mean, best[:, None], axis=-1)[:, 0]
        return best, conf


def choose(student: np.ndarray, ngram: np.ndarray, weight: float) -> np.ndarray:
    """Per row, the intent with the best ``(1 - weight) * log p_student + weight * log p_ngram`` (a weighted
    geometric mean: an intent must be likely under both models). Chosen over the arithmetic mean on natural-
    distribution MASSIVE dev (tools/train_charngrams.py)."""
    tiny = np.float32(1e-30)
    score = (1 - weight) * np.log(np.maximum(student, tiny)) + weight * np.log(np.maximum(ngram, tiny))
    best: np.ndarray = score.argmax(-1)
    return best
