"""Cutting a sentence's phonemes into pieces Piper synthesises one at a time, to bound its memory.

A Piper (VITS) voice's activations grow with the audio it makes in one inference: with the en_US joe voice,
~55 MB above the loaded voice for 25 phoneme symbols (~1.5 s of audio), ~115 MB for 100 and ~200 MB for 200
(x86, onnxruntime 1.32); a 260-character reply peaked 182-196 MB above the loaded voice unbounded, 108-130 MB
in pieces. A 400-character sentence (the longest :mod:`edge.tts.sentences` makes) is ~350 symbols. A sentence
longer than :data:`MAX_PHONEMES` is therefore cut: after its last pause mark (, ; :) within the limit, else (a
clause longer than the limit) at the word boundary nearest to cutting the clause in equal pieces that does not
follow a short word ("with a | high" sounds like two sentences), else at the limit. Shorter sentences are one
piece, as before. Each piece ends where a clause or word does; Whisper still heard the long sentence right.
"""

from __future__ import annotations

__all__ = ["MAX_PHONEMES", "split_phonemes"]

MAX_PHONEMES = 100  # phoneme symbols (stress marks count): ~5 s of speech, ~115 MB of activations at most (x86)
_PAUSES = frozenset(",;:")
_SHORT_WORD = 2  # phoneme symbols: a word this short (an article, a preposition) stays with the word after it


def _cut(phonemes: list[str], limit: int) -> int:
    """Where to cut ``phonemes`` (longer than ``limit``): after the last pause mark within the limit, else at the
    word boundary nearest to an even split of the clause (no word left on its own), else at the limit."""
    floor = max(1, limit // 4)  # a piece keeps at least a quarter of the limit
    for i in range(limit - 1, floor - 1, -1):
        if phonemes[i] in _PAUSES:
            return i + 1
    end = next((i + 1 for i in range(limit, len(phonemes)) if phonemes[i] in _PAUSES), len(phonemes))
    target = end / -(-end // limit)  # the clause in equal pieces of at most the limit
    spaces = [i for i in range(floor, limit + 1) if phonemes[i] == " "]
    if not spaces:
        return limit

    def cost(i: int) -> float:  # far from an even split, or after a short word ("a", "the", "of"): worse
        start = max((j for j in range(i) if phonemes[j] == " "), default=-1) + 1
        return abs(i - target) + (limit if i - start <= _SHORT_WORD else 0)

    return min(spaces, key=cost)


def split_phonemes(phonemes: list[str], limit: int = MAX_PHONEMES) -> list[list[str]]:
    """``phonemes`` (one sentence, as Piper's ``phonemize`` gives it) in pieces of at most ``limit``, without
    leading or trailing spaces; empty pieces are dropped."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    pieces: list[list[str]] = []
    rest = phonemes
    while rest:
        if len(rest) <= limit:
            piece, rest = rest, []
        else:
            at = _cut(rest, limit)
            piece, rest = rest[:at], rest[at:]
        while piece and piece[0] == " ":
            piece = piece[1:]
        while piece and piece[-1] == " ":
            piece = piece[:-1]
        if piece:
            pieces.append(piece)
        while rest and rest[0] == " ":
            rest = rest[1:]
    return pieces
