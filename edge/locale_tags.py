"""Locale tags: the language of a tag, and a tag as MASSIVE spells it.

Tags arrive as users type them ("de_de", "DE-de", "ko") and as the datasets spell them ("de-DE"); every
module that needs the language of a tag or its canonical form asks here.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["canonical", "language"]


def language(tag: str | None, default: str = "en") -> str:
    """The lower-case language subtag: "de-DE" -> "de", "pt_BR" -> "pt"; ``default`` for an empty tag."""
    return (tag or default).strip().replace("_", "-").split("-")[0].lower()


def canonical(tag: str, known: Iterable[str]) -> str | None:
    """``tag`` as ``known`` spells it ("de-de" -> "de-DE"); a tag of a language ``known`` has in another
    region is kept as written; None if no language of ``known`` matches."""
    known = list(known)
    exact = {loc.lower(): loc for loc in known}
    cleaned = tag.strip().replace("_", "-")
    locale = exact.get(cleaned.lower(), cleaned)
    return locale if locale and language(locale) in {language(k) for k in known} else None
