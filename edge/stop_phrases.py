"""Whole utterances that mean "stop": "stop", "never mind", "be quiet", in the user's language or English.

Said over a reply they end it (``edge.pipeline.listening.is_stop_phrase``); said at any other time the skill
router stops what a skill plays and drops its pending question, and never reads them as a command (MASSIVE
labels a bare "stop" as ``audio_volume_mute``: obeyed, it muted the assistant's own voice until "unmute").
"""

from __future__ import annotations

import re

from edge.locale_tags import language

__all__ = ["is_stop", "tokens"]

STOP_PHRASES: dict[str, tuple[str, ...]] = {
    "en": ("stop", "stop it", "stop talking", "cancel", "be quiet", "quiet", "shut up", "silence", "enough",
           "that's enough", "never mind", "nevermind", "hush", "pause", "abort"),
    "de": ("stopp", "stop", "halt", "hör auf", "aufhören", "sei still", "ruhe", "still", "abbrechen", "genug",
           "schon gut", "sei ruhig", "halt die klappe"),
    "fr": ("stop", "arrête", "arrête toi", "arrêtez", "tais toi", "taisez vous", "silence", "chut", "annule",
           "annuler", "ça suffit", "assez"),
    "es": ("para", "pare", "stop", "detente", "cállate", "silencio", "basta", "ya basta", "cancela", "cancelar",
           "calla"),
    "it": ("basta", "stop", "fermati", "zitto", "silenzio", "annulla"),
    "pt": ("para", "pare", "parar", "stop", "cala te", "cala a boca", "silêncio", "chega", "cancela", "cancelar"),
}
FILLERS = frozenset("please ok okay just now oh um uh alright hey bitte jetzt mal stp svp por favor favor "
                    "vale bueno ya per piacere".split())


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def is_stop(text: str, locale: str | None) -> bool:
    """True when ``text`` is only a stop phrase, possibly with "please" or repeated ("stop, stop")."""
    words = [w for w in tokens(text) if w not in FILLERS]
    deduped = [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]
    if not deduped:
        return False
    said = " ".join(deduped)
    phrases = STOP_PHRASES.get(language(locale), ()) + STOP_PHRASES["en"]
    return any(said == " ".join(tokens(p)) for p in phrases)
