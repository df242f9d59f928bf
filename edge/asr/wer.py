"""Word error rate, after normalising case, punctuation and Unicode forms (so "Isn't it?" == "isnt it")."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

__all__ = ["corpus_wer", "edit_distance", "normalize", "wer", "word_errors"]

_APOSTROPHES = "'\u2019\u02bc"


def normalize(text: str) -> list[str]:
    """Lower-cased NFKC words; apostrophes are removed, other punctuation and symbols split words."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out = []
    for ch in text:
        if ch in _APOSTROPHES:
            continue
        out.append(" " if unicodedata.category(ch)[0] in "PSZC" else ch)
    return "".join(out).split()


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance between two sequences (words, or the characters of a string)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, number of reference words)."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    return edit_distance(ref, hyp), len(ref)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate; an empty reference gives 0.0 for an empty hypothesis and 1.0 otherwise."""
    errors, n = word_errors(reference, hypothesis)
    if n == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / n


def corpus_wer(pairs: Iterable[tuple[str, str]]) -> float:
    """Total errors over total reference words, for (reference, hypothesis) pairs."""
    errors = words = 0
    for ref, hyp in pairs:
        e, n = word_errors(ref, hyp)
        errors, words = errors + e, words + n
    return errors / words if words else 0.0
