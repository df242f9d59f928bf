"""What Whisper's decoder gives, as text: the decoded record, the repetition measure and the cut of a loop."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from edge.asr.base import Hypothesis, SpeechEvidence, Word
from edge.asr.langid import LanguageGuess

__all__ = ["Decoded", "compression_ratio", "cut_repetition"]


@dataclass(frozen=True)
class Decoded:
    text: str
    words: list[Word]
    guess: LanguageGuess | None
    evidence: SpeechEvidence | None
    hypotheses: tuple[Hypothesis, ...] = ()  # beam search > 1: the beam's transcripts, best first


def compression_ratio(text: str) -> float:
    """Whisper's repetition measure: the text's length over its zlib-compressed length (over 2.4: a loop)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def cut_repetition(text: str) -> str:
    """Cut a decoding loop: the transcript starting over ("go now. go now. go" -> "go now.") or any run of
    3+ words repeated right after itself."""
    words = text.split()
    n = len(words)
    norm = [w.strip(".,!?;:").lower() for w in words]
    for size in range(3, n - 2):
        m = min(size, n - size)
        if norm[size : size + m] == norm[:m]:
            return " ".join(words[:size])
    for size in range(3, n // 2 + 1):
        for start in range(0, n - 2 * size + 1):
            if norm[start : start + size] == norm[start + size : start + 2 * size]:
                return " ".join(words[: start + size])
    return text
