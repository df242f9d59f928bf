"""Spoken language identification: which MASSIVE locale an utterance is in, and how sure Whisper is.

Whisper ranks its 99 languages from the encoder output of the utterance (``detect_language``). The
:class:`LocaleChooser` turns that ranking into the locale of the turn. Only languages a MASSIVE locale speaks
(:mod:`edge.asr.languages`) can be answered, so the ranking is restricted to them and their probabilities
renormalised (Breton, Latin or Nynorsk taking a share of a short Persian or English clip say nothing about
which of the assistant's languages it is). The top one is taken when its probability reaches the threshold;
otherwise the last locale the chooser was sure of (at first the configured one), so one mumbled or very
short turn does not switch the conversation into another language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edge.asr.languages import language_of, locale_for_language

__all__ = ["DEFAULT_THRESHOLD", "LanguageGuess", "LocaleChooser"]

# A probability below this keeps the last locale. On 35 real command recordings (edge bench asr --multilingual)
# the right language scored 0.56-1.0 and the one wrong top language 0.27.
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class LanguageGuess:
    """What was heard: Whisper's top language that a MASSIVE locale speaks and its probability among those
    languages, and the locale the turn uses (that language's locale when ``confident``, else the fallback)."""

    language: str
    probability: float
    locale: str
    confident: bool
    ranked: tuple[tuple[str, float], ...] = ()

    def describe(self) -> str:
        """``de-DE (de 0.95)`` or ``en-US (heard ja 0.31: below the threshold, kept en-US)``."""
        if self.confident:
            return f"{self.locale} ({self.language} {self.probability:.2f})"
        return f"{self.locale} (heard {self.language} {self.probability:.2f}: not sure, kept {self.locale})"


class LocaleChooser:
    """Chooses each utterance's locale from Whisper's language ranking, remembering the last confident one."""

    def __init__(self, configured: str, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"language threshold must be from 0 to 1, got {threshold}")
        self.configured = configured
        self.last = configured
        self.threshold = threshold

    def choose(self, ranked: Sequence[tuple[str, float]]) -> LanguageGuess:
        """``ranked``: (Whisper language code, probability), most probable first."""
        ours = [(lang, p) for lang, p in ranked if locale_for_language(lang) is not None]
        total = sum(p for _, p in ours)
        top = [(lang, p / total) for lang, p in ours[:5]] if total > 0 else []
        if not top:
            return LanguageGuess("", 0.0, self.last, False, ())
        language, probability = top[0]
        if probability >= self.threshold:
            locale = locale_for_language(language, (self.last, self.configured))
            assert locale is not None
            self.last = locale
            return LanguageGuess(language, probability, locale, True, tuple(top))
        return LanguageGuess(language, probability, self.last, False, tuple(top))

    @property
    def fallback_language(self) -> str:
        """The Whisper language of the locale used when unsure."""
        return language_of(self.last)
