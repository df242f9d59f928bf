"""Explicit complaints about the last reply ("that's not what I asked"), per language, matched as whole word
sequences anywhere in a short turn. The skill router answers one by asking the user to say it another way;
edge.learn takes it as the user rejecting that reply (and learns from the rephrasing that follows)."""

from __future__ import annotations

from edge.asr.wer import normalize
from edge.locale_tags import language

__all__ = ["COMPLAINTS", "complaint_rest", "is_complaint"]

# "that's not what I asked" and its kin, by language (lower case; both sides compared as normalize() words).
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


def is_complaint(text: str, locale: str | None) -> bool:
    """Whether ``text`` (at most 10 words) says one of ``locale``'s language's complaints or an English one."""
    return complaint_rest(text, locale) is not None


def complaint_rest(text: str, locale: str | None) -> str | None:
    """The words of ``text`` around its complaint ("not that, turn the lights on" -> "turn the lights on"; "" for
    the complaint alone); None when it says none (or has more than 10 words)."""
    said = " ".join(normalize(text))
    if not said or len(said.split()) > 10:
        return None
    padded = f" {said} "
    compact = said.replace(" ", "")
    for phrase in sorted({*COMPLAINTS.get(language(locale), ()), *COMPLAINTS["en"]}, key=len, reverse=True):
        p = " ".join(normalize(phrase))
        if p and f" {p} " in padded:
            return " ".join(padded.replace(f" {p} ", " ", 1).split())
        if p and " " not in said and p.replace(" ", "") in compact:  # scripts written without spaces
            return compact.replace(p.replace(" ", ""), "", 1)
    return None
