"""The language of each turn with ``--locale auto``: understood, answered and spoken in the language heard.

The ASR (multilingual Whisper, :mod:`edge.asr.auto`) identifies each utterance's language and chooses its MASSIVE
locale, keeping the last one when it is not sure (:class:`~edge.asr.langid.LocaleChooser`). :class:`TurnLanguage`
takes that locale for the turn: it reports it (:class:`~edge.pipeline.events.LanguageHeard`), hands the NLU, the
router and the responder the locale, and gives the responder the voice for it, loaded once per locale (Piper where
the profile has a voice for the language, else espeak-ng). Where espeak-ng cannot read the language's script
(:func:`~edge.tts.espeak_engine.espeak_cannot_read`) it says so once and the reply is printed, not spoken.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from edge.pipeline.events import EventBus, LanguageHeard, WarningRaised

if TYPE_CHECKING:
    from edge.asr.base import AsrResult
    from edge.pipeline.answer import Answerer
    from edge.pipeline.responder import Responder
    from edge.tts.base import TtsEngine

__all__ = ["TurnLanguage"]

_UNSET = object()


class TurnLanguage:
    """Follows the locale the ASR chose turn by turn. ``load_voice(locale)``: the voice for a locale (None: not
    spoken; it may raise, which is said once and leaves replies in that locale unspoken). ``threshold``: the
    probability the ASR needs to switch (for the event's ``confident``)."""

    def __init__(self, configured: str, load_voice: Callable[[str], TtsEngine | None] | None,
                 first_voice: TtsEngine | None = None, threshold: float = 0.5) -> None:
        self.configured = configured
        self.current = configured
        self.threshold = threshold
        self._load = load_voice
        self._voices: dict[str, TtsEngine | None] = {configured: first_voice}
        self._notes: dict[str, str] = {}  # locale -> why it is not spoken, said once
        self._lock = threading.Lock()

    def locale_of(self, result: AsrResult) -> str:
        """The locale a result is understood in: the one the ASR chose, or the current one without identification."""
        return result.locale if result.language and result.locale else self.current

    def voice(self, locale: str) -> TtsEngine | None:
        """The voice for ``locale``, loaded the first time (thread-safe: a speculation may ask first)."""
        with self._lock:
            found = self._voices.get(locale, _UNSET)
            if found is not _UNSET:
                return found  # type: ignore[return-value]
            voice: TtsEngine | None = None
            if self._load is not None:
                try:
                    voice = self._load(locale)
                except Exception as exc:  # a voice that cannot load: replies in that locale are printed
                    first = (str(exc).splitlines() or [""])[0][:160]
                    self._notes[locale] = f"replies in {locale} are printed, not spoken: {first}"
            self._voices[locale] = voice
            return voice

    def follow(self, result: AsrResult, answerer: Answerer, responder: Responder, bus: EventBus) -> str:
        """Take the turn's locale from ``result``: report it, and point the answerer and the responder (its voice)
        at it. Returns the locale (the current one when the ASR identified no language)."""
        if not result.language:
            return self.current
        locale = self.locale_of(result)
        probability = float(result.language_probability or 0.0)
        bus.emit(LanguageHeard(language=result.language, probability=round(probability, 3), locale=locale,
                               confident=probability >= self.threshold, switched=locale != self.current))
        self.current = locale
        answerer.locale = responder.locale = locale
        responder.tts = self.voice(locale)
        with self._lock:
            why = self._notes.pop(locale, None)
        if why is not None:
            bus.emit(WarningRaised(message=why))
        return locale
