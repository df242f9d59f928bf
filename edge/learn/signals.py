"""What a user's turn says about the turn before it: a correction ("no", "that's not what I asked", cancel).

Yes/no/cancel come from the dialogue's own word lists (``dialogue.*_words`` in the skills' templates, in
the user's language and English); the explicit complaints below are this module's, per language, matched
as whole word sequences anywhere in a short turn.
"""

from __future__ import annotations

import unicodedata

from edge.skills.dialogue import answer_kind
from edge.skills.helpers import words

__all__ = ["COMPLAINTS", "correction_kind", "norm"]

# "that's not what I asked" and its kin, by language (lower case, words as edge.skills.helpers.words splits).
COMPLAINTS: dict[str, tuple[str, ...]] = {
    "en": ("not what i asked", "not what i said", "not what i meant", "not what i wanted", "that's wrong",
           "that is wrong", "wrong answer", "you misunderstood", "i didn't say that", "i did not say that",
           "that's not right", "not that"),
    "de": ("nicht was ich wollte", "nicht was ich gesagt habe", "nicht was ich gefragt habe", "das ist falsch",
           "falsch verstanden", "nicht das"),
    "fr": ("pas ce que j'ai demandé", "pas ce que j'ai dit", "ce n'est pas ça", "c'est faux", "tu as mal compris"),
    "es": ("no es lo que pedí", "no es lo que dije", "eso no", "está mal", "me has entendido mal"),
    "it": ("non è quello che ho chiesto", "non ho detto questo", "è sbagliato", "hai capito male"),
    "pt": ("não foi isso que eu pedi", "não é isso", "está errado", "entendeu mal"),
    "hi": ("मैंने यह नहीं पूछा", "यह गलत है", "ऐसा नहीं"),
    "ja": ("そうじゃない", "違う", "ちがう", "間違い"),
}


def norm(text: str) -> str:
    """The key two phrasings share when they are the same words: NFKC, lower case, punctuation dropped."""
    return " ".join(words(unicodedata.normalize("NFKC", text)))


def correction_kind(text: str, locale: str) -> str | None:
    """"no", "cancel" or "complaint" when ``text`` rejects the previous reply; None otherwise."""
    kind = answer_kind(text, locale)
    if kind in ("no", "cancel"):
        return kind
    said = norm(text)
    if not said or len(said.split()) > 10:
        return None
    lang = (locale or "en").split("-")[0].lower()
    padded = f" {said} "
    compact = said.replace(" ", "")
    for phrase in {*COMPLAINTS.get(lang, ()), *COMPLAINTS["en"]}:
        p = norm(phrase)
        if p and (f" {p} " in padded or (" " not in said and p.replace(" ", "") in compact)):
            return "complaint"
    return None
