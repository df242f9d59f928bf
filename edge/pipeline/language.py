"""The language of each turn with ``--locale auto``: understood, answered and spoken in the language heard.

The ASR (multilingual Whisper, :mod:`edge.asr.auto`) identifies each utterance's language and chooses its MASSIVE
locale, keeping the last one when it is not sure (:class:`~edge.asr.langid.LocaleChooser`). :class:`TurnLanguage`
takes that locale for the turn: it reports it (:class:`~edge.pipeline.events.LanguageHeard`), hands the NLU, the
router and the responder the locale, and gives the responder the voice for it, loaded once per locale (Piper where
the profile has a voice for the language, else espeak-ng). Where espeak-ng cannot read the language's script
(:func:`~edge.tts.espeak_engine.espeak_cannot_read`) it says so once and the reply is printed, not spoken.

A turn switches the locale only when its language can be trusted: an utterance with no words left once the wake
phrase is taken off ("hey edge" alone), or with under :data:`MIN_SPEECH_S` of speech (a name, "Porcupine", a
cough), or whose words the recogniser itself was unsure of (average log-probability under :data:`UNSURE_LOGPROB`,
Whisper's own threshold: reversed English speech was heard as Welsh at 0.89 with -1.32, where every real command of
`edge bench asr --multilingual` scored -0.07 to -0.74), keeps the current locale, whatever Whisper guessed; the
event says it was kept and why, and the answerer is told (``heard_other``) so that its speech gate drops an unsure
turn heard in another language. The ASR's own
memory of the last locale (its :class:`~edge.asr.langid.LocaleChooser`, the fallback for an unsure turn) is set
back to the locale in use, so the guess does not come back through the next unsure turn either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from edge.pipeline.events import EventBus, LanguageHeard, WarningRaised

if TYPE_CHECKING:
    from edge.asr.base import AsrResult, SpeechEvidence
    from edge.pipeline.answer import Answerer
    from edge.pipeline.responder import Responder
    from edge.tts.base import TtsEngine

__all__ = ["MIN_SPEECH_S", "UNSURE_LOGPROB", "TurnLanguage"]

_UNSET = object()

# Less speech than this (seconds) is too short for Whisper's language identification to be trusted; such a turn is
# answered in the current locale. The Picovoice clips' wake words heard as an utterance of their own ("Abaxi",
# "Porcupine") were given languages at random, one with confidence (README, `--locale auto`). Measured with the
# desktop profile's endpointer on the 35 clips of `edge bench asr --multilingual` (voice end minus start): those
# wake words 0.65-1.16 s (11 of 13 under 1.0 s), the commands 1.0-3.5 s, but for one Chinese clip the endpointer
# cut into 0.65-0.81 s pieces.
MIN_SPEECH_S = 1.0
UNSURE_LOGPROB = -1.0  # Whisper's log-probability threshold (as edge.pipeline.speech_gate's unsure_logprob)


class TurnLanguage:
    """Follows the locale the ASR chose turn by turn. ``load_voice(locale)``: the voice for a locale (None: not
    spoken; it may raise, which is said once and leaves replies in that locale unspoken). ``threshold``: the
    probability the ASR needs to switch (for the event's ``confident``)."""

    def __init__(self, configured: str, load_voice: Callable[[str], TtsEngine | None] | None,
                 first_voice: TtsEngine | None = None, threshold: float = 0.5,
                 min_speech_s: float = MIN_SPEECH_S) -> None:
        self.configured = configured
        self.current = configured
        self.threshold = threshold
        self.min_speech_s = min_speech_s
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

    def untrusted(self, text: str | None, speech_s: float | None, evidence: SpeechEvidence | None = None) -> str:
        """Why a turn's language cannot be trusted to switch the locale ("" when it can): ``text`` is the
        transcript without the wake phrase, ``speech_s`` the seconds of speech it came from (None: unknown),
        ``evidence`` the recogniser's signals (None: none)."""
        if text is not None and not any(ch.isalnum() for ch in text):
            return "only the wake phrase" if text == "" else "no words"
        if speech_s is not None and speech_s < self.min_speech_s:
            return f"{speech_s:.1f} s of speech: too short to tell"
        if evidence is not None and evidence.avg_logprob < UNSURE_LOGPROB:
            return f"the recogniser was unsure of the words (log-probability {evidence.avg_logprob:.2f})"
        return ""

    def follow(self, result: AsrResult, answerer: Answerer, responder: Responder, bus: EventBus, *,
               text: str | None = None, speech_s: float | None = None, asr: object = None) -> str:
        """Take the turn's locale from ``result``: report it, and point the answerer and the responder (its voice)
        at it. Returns the locale (the current one when the ASR identified no language, or when :meth:`untrusted`
        says the turn cannot switch it). ``asr``: the engine whose ``chooser`` is set back to the locale in use."""
        answerer.heard_other = False
        if not result.language:
            return self.current
        locale = self.locale_of(result)
        probability = float(result.language_probability or 0.0)
        kept = self.untrusted(text, speech_s, result.evidence) if locale != self.current else ""
        if kept:
            locale = self.current
            answerer.heard_other = True
        bus.emit(LanguageHeard(language=result.language, probability=round(probability, 3), locale=locale,
                               confident=probability >= self.threshold and not kept,
                               switched=locale != self.current, kept=kept))
        chooser = getattr(asr, "chooser", None)
        if chooser is not None and hasattr(chooser, "last"):
            chooser.last = locale  # an unsure next turn falls back to the locale in use, not to a distrusted guess
        self.current = locale
        answerer.locale = responder.locale = locale
        responder.tts = self.voice(locale)
        with self._lock:
            why = self._notes.pop(locale, None)
        if why is not None:
            bus.emit(WarningRaised(message=why))
        return locale
