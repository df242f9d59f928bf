"""``--locale auto``: an utterance whose language cannot be trusted keeps the current locale.

The wake phrase heard alone (nothing left once it is taken off) and an utterance too short for Whisper's language
identification (a name, "yes") must not switch the conversation into whatever language Whisper guessed, however
sure it was, nor leave that guess behind as the ASR's fallback for the next unsure turn. Unit tests on
:class:`TurnLanguage`, then the real pipeline (Silero VAD, endpointing, turn taking) with a scripted recogniser
that always "hears" Indonesian with confidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from edge.asr.base import AsrResult
from edge.asr.langid import LocaleChooser
from edge.audio import read_audio
from edge.nlu.runtime import Parse
from edge.pipeline.assistant import Pipeline
from edge.pipeline.events import EventBus, EventRecorder, LanguageHeard
from edge.pipeline.language import MIN_SPEECH_S, TurnLanguage
from edge.pipeline.loader import load_endpointer
from edge.profiles import load_profile

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
YES = FIXTURES / "yes_563aa4e6_nohash_2.wav"  # Speech Commands: "yes", well under a second of speech
GERMAN = FIXTURES / "rhino_within_context_de.wav"  # Picovoice: a whole German command
RATE = 16000


@dataclass
class _Locale:
    locale: str = "en-US"
    tts: Any = None


def _follow(lang: TurnLanguage, result: AsrResult, **kw: Any) -> tuple[str, list[dict[str, Any]]]:
    bus, recorder = EventBus(), EventRecorder()
    bus.subscribe(recorder)
    locale = lang.follow(result, _Locale(), _Locale(), bus, **kw)  # type: ignore[arg-type]
    return locale, [e.data for e in recorder.of("language")]


def _indonesian(text: str = "porcupine") -> AsrResult:
    return AsrResult(text, True, [], "faster-whisper", "id-ID", "id", 0.93)


def test_the_wake_phrase_alone_keeps_the_locale_and_resets_the_asr_fallback() -> None:
    chooser = LocaleChooser("en-US")
    assert chooser.choose([("id", 0.93), ("ms", 0.05)]).locale == "id-ID"  # Whisper was "sure" of the wake word
    lang = TurnLanguage("en-US", lambda loc: f"voice:{loc}", "voice:en-US")
    asr = SimpleNamespace(chooser=chooser)
    locale, events = _follow(lang, _indonesian("Hey Edge."), text="", speech_s=1.4, asr=asr)
    assert locale == lang.current == "en-US"
    assert events == [{"language": "id", "probability": 0.93, "locale": "en-US", "confident": False,
                       "switched": False, "kept": "only the wake phrase"}]
    assert chooser.last == "en-US"  # the next unsure turn falls back to English, not to the guess
    assert chooser.choose([("ja", 0.3), ("id", 0.25), ("ko", 0.2), ("de", 0.2)]).locale == "en-US"


def test_a_turn_too_short_to_tell_keeps_the_locale_and_a_long_one_switches() -> None:
    lang = TurnLanguage("en-US", lambda loc: f"voice:{loc}", "voice:en-US")
    locale, events = _follow(lang, _indonesian(), text="porcupine", speech_s=MIN_SPEECH_S - 0.4)
    assert locale == "en-US" and events[0]["kept"] == "0.6 s of speech: too short to tell"
    assert not events[0]["confident"] and not events[0]["switched"]
    described = LanguageHeard(**{k: v for k, v in events[0].items()}).describe()
    assert described == "en-US (heard id, 0.93: 0.6 s of speech: too short to tell, kept en-US)"
    locale, events = _follow(lang, _indonesian("nyalakan lampu di dapur"), text="nyalakan lampu di dapur",
                             speech_s=2.1)
    assert locale == lang.current == "id-ID" and events[0]["switched"] and "kept" not in events[0]
    # once in Indonesian, a short Indonesian turn simply stays; a short turn heard as another language keeps it too
    assert _follow(lang, _indonesian("ya"), text="ya", speech_s=0.4)[0] == "id-ID"
    heard_de = AsrResult("ja", True, [], "faster-whisper", "de-DE", "de", 0.9)
    assert _follow(lang, heard_de, text="ja", speech_s=0.4)[0] == "id-ID"
    # without the turn's length and words (the old call), the identified locale is taken as before
    assert _follow(lang, heard_de)[0] == "de-DE"


def test_words_the_recogniser_was_unsure_of_keep_the_locale_and_tell_the_answerer() -> None:
    from edge.asr.base import SpeechEvidence

    lang = TurnLanguage("en-US", lambda loc: f"voice:{loc}", "voice:en-US")
    welsh = AsrResult("Rhywodr ydy'n yw'n amsr", True, [], "faster-whisper", "cy-GB", "cy", 0.89,
                      evidence=SpeechEvidence(0.01, -1.39, 1.0))  # reversed English speech, as Whisper base heard it
    bus, answerer = EventBus(), _Locale()
    locale = lang.follow(welsh, answerer, _Locale(), bus, text=welsh.text, speech_s=3.3)  # type: ignore[arg-type]
    assert locale == lang.current == "en-US" and answerer.heard_other is True  # type: ignore[attr-defined]
    sure = AsrResult("Mach alle Licht aus", True, [], "faster-whisper", "de-DE", "de", 0.92,
                     evidence=SpeechEvidence(0.2, -0.41, 1.0))
    assert lang.follow(sure, answerer, _Locale(), bus, text=sure.text, speech_s=2.0) == "de-DE"  # type: ignore[arg-type]
    assert answerer.heard_other is False  # type: ignore[attr-defined]


# --- the pipeline --------------------------------------------------------------------------------------------


class _IndonesianEar:
    """A recogniser double: every utterance is ``text``, in Indonesian at 0.93, from an engine with a chooser."""

    streaming = False
    name = "scripted"

    def __init__(self, text: str) -> None:
        self.text = text
        self.chooser = LocaleChooser("en-US")
        self.heard: list[float] = []

    def transcribe(self, audio: np.ndarray) -> AsrResult:
        self.heard.append(audio.size / RATE)
        guess = self.chooser.choose([("id", 0.93), ("ms", 0.04)])
        return AsrResult(self.text, True, [], self.name, guess.locale, guess.language, guess.probability)


@dataclass
class _Nlu:
    locales: list[str | None] = field(default_factory=list)

    def parse(self, text: str, locale: str | None = None) -> Parse:
        self.locales.append(locale)
        return Parse(text, "general_quirky", 0.9, "general", locale=locale)


class _Wake:
    """Fires once, when the stream passes ``at`` samples (the wake phrase just ended there)."""

    def __init__(self, at: int) -> None:
        self.at, self.pos = at, 0

    def process(self, chunk: np.ndarray) -> Any:
        before, self.pos = self.pos, self.pos + chunk.size
        return SimpleNamespace(phrase="hey edge", score=0.9) if before < self.at <= self.pos else None

    def reset(self) -> None:
        pass


def _pipeline(text: str, wake: _Wake | None = None) -> tuple[Pipeline, _IndonesianEar, _Nlu, EventRecorder]:
    asr, nlu, recorder = _IndonesianEar(text), _Nlu(), EventRecorder()
    p = Pipeline(endpointer=load_endpointer(load_profile("desktop")), asr=asr, nlu=nlu, tts=None,  # type: ignore[arg-type]
                 sink=None, locale="en-US", wake=wake, wake_phrase="hey edge" if wake else None, speculate_ms=0)
    p.language = TurnLanguage("en-US", None)
    p.bus.subscribe(recorder)
    return p, asr, nlu, recorder


def _blocks(*parts: np.ndarray) -> list[np.ndarray]:
    audio = np.concatenate([np.zeros(RATE // 2, np.float32), *parts, np.zeros(RATE * 2, np.float32)])
    return [audio[i:i + 512] for i in range(0, audio.size, 512)]


@pytest.fixture(scope="module")
def yes() -> np.ndarray:
    return read_audio(YES)


def test_a_short_utterance_in_the_pipeline_is_answered_in_the_current_locale(yes: np.ndarray) -> None:
    p, asr, nlu, recorder = _pipeline("Porcupine.")
    try:
        turns = p.run(_blocks(yes))
    finally:
        p.close()
    assert len(turns) == 1 and asr.heard and asr.heard[0] < MIN_SPEECH_S + 0.5
    heard = [e.data for e in recorder.of("language")]
    assert heard[0]["kept"].endswith("too short to tell") and heard[0]["locale"] == "en-US"
    assert p.language is not None and p.language.current == "en-US" and nlu.locales == ["en-US"]
    assert asr.chooser.last == "en-US"


def test_the_wake_phrase_alone_in_the_pipeline_switches_nothing() -> None:
    long = read_audio(GERMAN)  # well over a second: only the missing words keep the locale
    # the hit comes inside the utterance (the phrase and what follows in one breath), whose transcript turns out
    # to hold nothing but the phrase
    p, asr, nlu, recorder = _pipeline("Hey edge.", wake=_Wake(RATE * 13 // 10))
    try:
        turns = p.run(_blocks(long))
    finally:
        p.close()
    assert turns == [] and nlu.locales == []  # the wake phrase alone: no turn, nothing understood
    assert [e.data["kept"] for e in recorder.of("language")] == ["only the wake phrase"]
    assert p.language is not None and p.language.current == "en-US" and asr.chooser.last == "en-US"


def test_a_long_utterance_in_the_pipeline_still_switches() -> None:
    p, asr, nlu, recorder = _pipeline("Matikan semua lampu.")
    try:
        turns = p.run(_blocks(read_audio(GERMAN)))
    finally:
        p.close()
    assert turns and p.language is not None and p.language.current == "id-ID" and nlu.locales[-1] == "id-ID"
    assert recorder.of("language")[0].data["switched"] is True
