"""What a user's turn says about the turn before it: a correction ("no", "that's not what I asked", cancel).

Yes/no/cancel come from the dialogue's own word lists (``dialogue.*_words`` in the skills' templates, in
the user's language and English); the explicit complaints from ``edge.skills.complaints`` (the router answers
them too, asking the user to say it another way).
"""

from __future__ import annotations

from edge.asr.wer import normalize
from edge.skills.complaints import COMPLAINTS, is_complaint
from edge.skills.dialogue import answer_kind

__all__ = ["COMPLAINTS", "correction_kind", "norm"]


def norm(text: str) -> str:
    """The key two phrasings share when they are the same words: NFKC, case folded, apostrophes dropped,
    punctuation and symbols between words, as the voice pipeline hands a transcript to the NLU
    (``edge.nlu.textform.spoken_form``): typed "it's too dark" and heard "It's too dark." are one phrasing."""
    return " ".join(normalize(text))


def correction_kind(text: str, locale: str) -> str | None:
    """"no", "cancel" or "complaint" when ``text`` rejects the previous reply; None otherwise."""
    kind = answer_kind(text, locale)
    if kind in ("no", "cancel"):
        return kind
    return "complaint" if is_complaint(text, locale) else None
