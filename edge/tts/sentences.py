"""Sentence splitting for synthesis, meant to run after :func:`edge.tts.normalize.normalize_for_speech`.

Splits after ``. ! ? …`` followed by whitespace or the end, after CJK ``。！？`` anywhere, after the
Devanagari, Arabic, Urdu, Armenian, Ethiopic and Burmese terminators followed by whitespace or the end,
and at every line break. A ``.`` does not end a sentence after a known abbreviation or a single-letter
initial, or when the next word starts in lower case. Pieces longer than :data:`MAX_CHARS` are cut again
at the last comma-like mark, else the last space, before the limit. Pieces with no letter or digit
(only punctuation, emoji, symbols) are dropped.
"""

from __future__ import annotations

import re

__all__ = ["MAX_CHARS", "split_sentences"]

MAX_CHARS = 400

# Lower-case, without the final dot: the word before a "." that does not end a sentence.
_ABBREVIATIONS = frozenset(
    """
    dr mr mrs ms prof st jr sr mt ave rd blvd vs etc e.g i.e approx inc ltd corp dept fig vol jan feb apr jun
    jul aug oct nov cf al ca
    z.b bzw usw nr str hr fr d.h u.a evtl ggf inkl vgl bspw
    m mme mlle av bd env p.ex c.-à-d
    sra srta dra ud uds p.ej núm aprox sto sta
    sig sig.ra dott dott.ssa ecc p.es
    """.split()
)
_CLOSERS = "\"'”’»)]}」』"
_CLOSE = f"[{re.escape(_CLOSERS)}]*"
_LATIN_END = re.compile(rf"[.!?…]+{_CLOSE}(?=\s|$)")
_ANY_END = re.compile(rf"[。！？]+{_CLOSE}|[।॥؟۔։።፧။]+{_CLOSE}(?=\s|$)")
_SOFT_BREAKS = ",;:、，；：،"
_WORD_BEFORE = re.compile(r"(\S+)$")


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """False for a "." after an abbreviation or initial, or followed by a lower-case word."""
    mark = match.group(0).rstrip(_CLOSERS)
    if mark != ".":
        return True
    rest = text[match.end():].lstrip()
    if rest[:1].islower():
        return False
    before = _WORD_BEFORE.search(text[: match.start()])
    if before is None:
        return True
    word = before.group(1).lstrip("(\"'“‘«")
    if word.lower() in _ABBREVIATIONS:
        return False
    return not (len(word) == 1 and word.isupper() and word != "I")  # an initial: "J. Smith"


def _split_line(line: str) -> list[str]:
    ends = sorted(
        [m for m in _LATIN_END.finditer(line) if _ends_sentence(line, m)] + list(_ANY_END.finditer(line)),
        key=lambda m: m.end(),
    )
    pieces, start = [], 0
    for m in ends:
        if m.end() > start:
            pieces.append(line[start:m.end()])
            start = m.end()
    pieces.append(line[start:])
    return pieces


def _split_long(sentence: str, limit: int) -> list[str]:
    """Cut a sentence longer than ``limit`` at the last comma-like mark, else space, in each window."""
    out = []
    while len(sentence) > limit:
        window = sentence[:limit]
        floor = limit // 4
        cut = max(window.rfind(c) for c in _SOFT_BREAKS) + 1
        if cut <= floor:
            cut = window.rfind(" ")
        if cut <= floor:
            cut = limit
        out.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    out.append(sentence)
    return out


def _speakable(piece: str) -> bool:
    return any(ch.isalnum() for ch in piece)


def split_sentences(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Sentences of ``text`` in order, each at most ``max_chars`` long, without empty or unspeakable pieces."""
    if not isinstance(text, str) or not text.strip():
        return []
    out: list[str] = []
    for line in text.splitlines():
        for piece in _split_line(line):
            piece = " ".join(piece.split())
            if _speakable(piece):
                out.extend(p for p in _split_long(piece, max(1, max_chars)) if _speakable(p))
    return out
