"""Lexical evidence for custom intents, as tried on MASSIVE dev (``tools/dev_fewshot.py``) and not kept.

How many character n-grams an utterance shares with each custom intent's examples: the NLU's char n-gram
featurizer (:func:`edge.nlu.charngrams.features`: 1- to 4-grams of padded words, hashed) weighted by the idf
shipped in ``charngrams.npz`` beside the student, L2-normalised; an intent's score is the cosine of the utterance
with its nearest example. Added to the custom-intent head's margin it bought in-language recall only at the
price of in-language false capture, exactly as a lower margin does (docs/learning.md), so the device does not
use it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.nlu.charngrams import features

__all__ = ["LexicalIndex", "load_idf"]

SparseVec = tuple[np.ndarray, np.ndarray]  # (bucket indices int64, values float32), L2-normalised


def load_idf(folder: Path | None) -> np.ndarray | None:
    """The idf of the char n-gram model in ``folder`` (``charngrams.npz``), or None if there is none (or it
    cannot be read): then there is no lexical evidence and the embedding decides alone."""
    if folder is None:
        return None
    from edge.nlu.runtime import CHARNGRAMS_FILE

    try:
        with np.load(Path(folder) / CHARNGRAMS_FILE, allow_pickle=False) as z:
            low, step = (float(x) for x in z["idf_range"])
            return np.asarray(low + z["idf8"].astype(np.float32) * step, dtype=np.float32)
    except (OSError, KeyError, ValueError, EOFError):
        return None


class LexicalIndex:
    """The custom intents' examples as char n-gram tf-idf vectors, for :meth:`scores` (numpy only)."""

    def __init__(self, idf: np.ndarray) -> None:
        self.idf = np.asarray(idf, dtype=np.float32)
        self.names: list[str] = []
        self.buckets = np.zeros(0, dtype=np.int64)  # the examples' buckets, sorted
        self.matrix = np.zeros((0, 0), dtype=np.float32)  # [examples, buckets]
        self.owner = np.zeros(0, dtype=np.int64)  # each example's intent (index into names)

    def vector(self, text: str) -> SparseVec:
        """``text``'s tf-idf vector, sparse and L2-normalised (empty for a text without letters)."""
        tf = features(text, len(self.idf))
        idx = np.fromiter(tf.keys(), dtype=np.int64, count=len(tf))
        val = np.fromiter(tf.values(), dtype=np.float32, count=len(tf)) * self.idf[idx]
        order = np.argsort(idx)
        idx, val = idx[order], val[order]
        norm = float(np.linalg.norm(val))
        return idx, (val / norm if norm > 0 else val)

    def fit(self, examples: dict[str, list[str]]) -> None:
        """Index custom intents {name: their examples' texts}."""
        self.names = list(examples)
        vecs = [(n, self.vector(t)) for n, name in enumerate(self.names) for t in examples[name]]
        self.owner = np.array([n for n, _ in vecs], dtype=np.int64)
        self.buckets = np.unique(np.concatenate([v[0] for _, v in vecs])) if vecs else np.zeros(0, np.int64)
        self.matrix = np.zeros((len(vecs), len(self.buckets)), dtype=np.float32)
        for row, (_, (idx, val)) in enumerate(vecs):
            self.matrix[row, np.searchsorted(self.buckets, idx)] = val

    def example_sims(self, query: str | SparseVec) -> np.ndarray:
        """Cosine of ``query`` (text, or its :meth:`vector`) with every example ([examples])."""
        idx, val = self.vector(query) if isinstance(query, str) else query
        if not len(self.buckets) or not len(idx):
            return np.zeros(len(self.owner), dtype=np.float32)
        pos = np.minimum(np.searchsorted(self.buckets, idx), len(self.buckets) - 1)
        hit = self.buckets[pos] == idx
        return np.asarray(self.matrix[:, pos[hit]] @ val[hit], dtype=np.float32)

    def scores(self, query: str | SparseVec) -> np.ndarray:
        """Each custom intent's lexical score for ``query``: the cosine with its nearest example
        ([len(names)], 0 where nothing is shared)."""
        out = np.zeros(len(self.names), dtype=np.float32)
        if self.names:
            np.maximum.at(out, self.owner, self.example_sims(query))
        return out
