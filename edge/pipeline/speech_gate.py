"""Whether a heard utterance was speech worth answering, from the recogniser's and the NLU's own signals.

The VAD takes some noise and music for speech; Whisper then writes something anyway ("You", "Thank you.",
"I'm not gonna be a fan of"). Such a transcript is dropped, not answered, when the decoder itself says it
was unsure, using Whisper's decoding signals (:class:`edge.asr.base.SpeechEvidence`) with the thresholds
Whisper uses for the same purpose, and the NLU's confidence for the borderline cases:

- the no-speech token is likely and the text improbable (Whisper's own no-speech rule:
  ``no_speech_prob > 0.6`` and ``avg_logprob < -1``);
- the text is a decoding loop (``compression_ratio > 2.4``);
- the text is improbable (``avg_logprob`` under ``unsure_logprob``, Whisper's own log-probability threshold)
  and the NLU finds no intent it is sure of (confidence under ``nlu_sure``, out of domain, or MASSIVE's
  catch-all ``general_quirky``, which asks for nothing in particular): words made up from noise rarely make a
  command (a beam search makes them fluent enough for the catch-all: reversed speech heard as "I wonder the
  naps and I'm sure we'll try to let you miss always now." is general_quirky at 0.66). While the assistant
  waits for an answer to its question the bar is lower (``answer_logprob``): a short "yes" or "seven" is
  unsure by nature there, but a question asked in reply to noise must not let the next noise through;
- with ``--locale auto``, the text is improbable and was heard in a language other than the one in use
  (``other_language``: :mod:`edge.pipeline.language` kept the locale): reversed English speech came out as
  fluent-looking Welsh that the NLU took for a question at 0.84, where no real command of another language
  scored under -0.74.

With ``--locale auto`` the recogniser is Whisper base, which writes more fluent text from a voice with no words
than tiny.en does, at higher log-probabilities: :data:`AUTO_GATE` draws the "improbable" line at -0.8 instead of
-1. Chosen on dev data (`edge bench spoken-set --split dev`, 150 en-US dev utterances read by Piper and espeak-ng,
and 4 minutes of reversed Piper speech from seed 1, the test's being seed 0): -1 answered 30 of 70 reversed
stretches and dropped 6 of the 300 commands (1 of the 249 the NLU had right); -0.8 answered 9 and dropped 11 (2
of 249); -0.6 answered 6 for 18 (4). The language-identification probability as a signal did worse (under 0.8:
13 answered for 21 dropped, 6 right).

Typed text and engines without these signals (Vosk) are never dropped here. No word list is involved.
Measured by ``edge bench false-turns`` (docs/benchmarks/false_turns.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.asr.base import SpeechEvidence
    from edge.nlu.runtime import Parse

__all__ = ["AUTO_GATE", "SpeechGate"]

_ASKS_NOTHING = frozenset({"general_quirky"})


@dataclass(frozen=True)
class SpeechGate:
    """The thresholds (Whisper's defaults where Whisper has one)."""

    no_speech_prob: float = 0.6
    no_speech_logprob: float = -1.0
    compression_ratio: float = 2.4
    unsure_logprob: float = -1.0
    answer_logprob: float = -1.5
    nlu_sure: float = 0.6
    other_language_logprob: float = -1.0  # as edge.pipeline.language's UNSURE_LOGPROB

    def reason_to_drop(self, text: str, evidence: SpeechEvidence | None, parse: Parse | None,
                       answering: bool = False, other_language: bool = False) -> str | None:
        """Why ``text`` should not be answered (a short phrase), or None to answer it. ``answering``: a
        question of the assistant's is open (a lower bar for the recogniser's log probability);
        ``other_language``: the language heard was not the one in use and was not followed."""
        if evidence is None:
            return None
        if not text.strip():
            return "nothing recognisable was said"
        if evidence.no_speech_prob > self.no_speech_prob and evidence.avg_logprob < self.no_speech_logprob:
            return "the recogniser heard no speech"
        if evidence.compression_ratio > self.compression_ratio:
            return "the transcript repeats itself"
        if other_language and evidence.avg_logprob < self.other_language_logprob:
            return "the recogniser was unsure and heard another language"
        nlu_unsure = (parse is None or parse.out_of_domain or parse.confidence < self.nlu_sure
                      or parse.intent in _ASKS_NOTHING)
        if evidence.avg_logprob < (self.answer_logprob if answering else self.unsure_logprob) and nlu_unsure:
            return "the recogniser was unsure and the words ask for nothing"
        return None


AUTO_GATE = SpeechGate(unsure_logprob=-0.8)  # --locale auto (Whisper base): see the module docstring
