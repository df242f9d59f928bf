"""`edge bench asr`: Whisper and PocketSphinx on a tiny spoken set rendered here (Piper and espeak-ng voices)
and on a real LibriSpeech fixture; the spoken-form normaliser; resuming; one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.bench import asr as bench_asr
from edge.bench.asr import summarise_asr
from edge.cli import main
from edge.nlu.textform import spoken_form

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "audio"
COMMANDS = [
    ("1", "alarm", "alarm_set", "wake me up at seven am", "wake me up at [time : seven am]"),
    ("2", "iot", "iot_hue_lightoff", "turn off the lights in the kitchen",
     "turn off the lights in the [house_place : kitchen]"),
    ("3", "play", "play_music", "play some jazz music", "play some [music_genre : jazz] music"),
]
LIBRI_MD = """# Sample wav audio clip

- testing_routine.wav (orig - 251-137823-0002.flac)
  - "This isn't part of your testing routine is it"
"""


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A spoken set of three en-US commands (Piper and espeak-ng, clean) and a data folder with one real clip."""
    from edge.bench.spoken import build_spoken_set

    root = tmp_path_factory.mktemp("asr")
    massive = root / "massive"
    massive.mkdir()
    with (massive / "en-US.jsonl").open("w", encoding="utf-8") as f:
        for id_, scenario, intent, utt, annot in COMMANDS:
            f.write(json.dumps({"id": id_, "locale": "en-US", "partition": "test", "scenario": scenario,
                                "intent": intent, "utt": utt, "annot_utt": annot}) + "\n")
    spoken = root / "spoken"
    meta = build_spoken_set(massive, spoken, locales=["en-US"], en_us=len(COMMANDS), snrs=())
    assert meta["clean_clips"] == 2 * len(COMMANDS), meta
    data = root / "data"
    libri = data / "audio" / "arm_mlek_asr"
    libri.mkdir(parents=True)
    (libri / "files.md").write_text(LIBRI_MD, encoding="utf-8")
    shutil.copy(FIXTURES / "testing_routine.wav", libri / "testing_routine.wav")
    return {"spoken": spoken, "data": data, "root": root}


def _args(sets: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["bench", "asr", "--spoken-set", str(sets["spoken"]), "--data", str(sets["data"]), "--out", str(out), *extra]


def _group(report: dict[str, Any], engine: str, set_name: str) -> dict[str, Any]:
    return next(g for g in report["totals"] if g["engine"] == engine and g["set"] == set_name)


def test_whisper_and_pocketsphinx_side_by_side(sets: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "results"
    report_md = tmp_path / "docs" / "asr.md"
    assert main(_args(sets, out, "--engines", "whisper,pocketsphinx", "--report", str(report_md))) == 0
    report = json.loads((out / "asr.json").read_text(encoding="utf-8"))
    # the profile's tiny.en, multilingual base (it serves en-US too), PocketSphinx
    assert {e["engine"] for e in report["engines"]} == {"whisper-tiny-en", "whisper-base", "pocketsphinx-en-us"}
    assert len(report["rows"]) == 3 * (2 * len(COMMANDS) + 1)  # three engines x (6 spoken clips + 1 LibriSpeech)
    whisper = _group(report, "whisper-tiny-en", "spoken-massive")
    assert whisper["n"] == 2 * len(COMMANDS)
    assert whisper["wer"] < 0.3, [(r["ref_norm"], r["hyp_norm"]) for r in report["rows"]]
    assert 0 < whisper["rtf"] < 5
    assert _group(report, "whisper-tiny-en", "librispeech")["wer"] < 0.2
    assert _group(report, "whisper-base", "librispeech")["wer"] < 0.2
    sphinx = _group(report, "pocketsphinx-en-us", "spoken-massive")
    assert sphinx["rtf"] > 0 and sphinx["cer"] is not None
    voices = {(g["engine"], g["voice"]) for g in report["groups"]}
    assert ("pocketsphinx-en-us", "piper") in voices and ("whisper-tiny-en", "espeak-ng") in voices
    assert report["memory"]["peak_mb"] > 0 and report["memory"]["budget_mb"] > 0
    md = (out / "asr.md").read_text(encoding="utf-8")
    assert md == report_md.read_text(encoding="utf-8") and "| whisper-tiny-en | en-US | spoken-massive |" in md
    assert not (out / "asr.partial.jsonl").exists()
    assert summarise_asr(report["rows"])["totals"] == report["totals"]


def test_resume_skips_decoded_clips(sets: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "results"
    real = bench_asr._transcribe
    calls: list[int] = []

    def interrupted(engine: Any, audio: Any) -> tuple[str, float]:
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return real(engine, audio)

    monkeypatch.setattr(bench_asr, "_transcribe", interrupted)
    assert main(_args(sets, out, "--engines", "whisper")) == 130
    partial = out / "asr.partial.jsonl"
    assert len(partial.read_text(encoding="utf-8").splitlines()) == 1 + 1 + 2  # settings, engine, two clips

    counted: list[int] = []

    def counting(engine: Any, audio: Any) -> tuple[str, float]:
        counted.append(1)
        return real(engine, audio)

    monkeypatch.setattr(bench_asr, "_transcribe", counting)
    assert main(_args(sets, out, "--engines", "whisper")) == 0
    total = 2 * (2 * len(COMMANDS) + 1)  # tiny.en and base, each on 6 spoken clips + 1 LibriSpeech
    assert len(counted) == total - 2
    report = json.loads((out / "asr.json").read_text(encoding="utf-8"))
    assert len(report["rows"]) == total and len({(r["engine"], r["key"]) for r in report["rows"]}) == total
    assert [e["engine"] for e in report["engines"]] == ["whisper-tiny-en", "whisper-base"]
    assert not partial.exists()

    # a log left by other settings is not resumed
    monkeypatch.setattr(bench_asr, "_transcribe", interrupted)
    calls.clear()
    assert main(_args(sets, out, "--engines", "whisper")) == 130
    counted.clear()
    monkeypatch.setattr(bench_asr, "_transcribe", counting)
    assert main(_args(sets, out, "--engines", "whisper", "--voices", "piper", "--no-real")) == 0
    assert len(counted) == 2 * len(COMMANDS)


def test_unwritable_out_is_one_line(sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(_args(sets, blocker / "results", "--engines", "whisper")) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "not writable" in err and str(blocker) in err


@pytest.mark.parametrize("argv, words", [
    (["--engines", "whisper,kaldi"], "unknown engine 'kaldi'"),
    (["--locales", "fr-FR"], "no clips for fr-FR"),
    (["--conditions", "loud"], "not 'clean' or an SNR"),
])
def test_bad_options_are_one_line(sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture,
                                  argv: list[str], words: str) -> None:
    assert main(_args(sets, tmp_path / "out", *argv)) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and words in err


def test_missing_spoken_set_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "asr", "--spoken-set", str(tmp_path / "none"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "edge bench spoken-set" in err


@pytest.mark.parametrize("a, b, locale", [
    ("set an alarm for 7 am", "set an alarm for seven am", "en-US"),
    ("Set an alarm for 7 a.m.", "set an alarm for seven AM", "en-US"),
    ("wake me at 7:30am", "wake me at seven thirty am", "en-US"),
    ("turn it up 50%", "turn it up fifty percent", "en-US"),
    ("the 21st of May", "the twenty-first of may", "en-US"),
    ("it's 1,250 dollars", "its one thousand two hundred and fifty dollars", "en-US"),
    ("okay, alright", "OK all right", "en-US"),
    ("that's $1,250", "thats one thousand two hundred and fifty dollars", "en-US"),
    ("the 3rd of June 2019", "the third of june twenty nineteen", "en-US"),
    ("weck mich um 7 Uhr", "weck mich um sieben uhr", "de-DE"),
    ("7시에 깨워줘", "칠시에 깨워줘", "ko-KR"),
])
def test_spoken_form_equal(a: str, b: str, locale: str) -> None:
    assert spoken_form(a, locale) == spoken_form(b, locale)


def test_spoken_form_keeps_differences() -> None:
    assert spoken_form("set an alarm for 7 am", "en-US") == "set an alarm for seven am"
    assert spoken_form("set an alarm for 7 am", "en-US") != spoken_form("set an alarm for 8 am", "en-US")
    assert spoken_form("12", "xx-XX") == "12"  # no number words for the language: digits kept


def test_pocketsphinx_engine_real_speech() -> None:
    from edge.asr.base import AsrModelError
    from edge.audio import read_audio
    from edge.bench.pocketsphinx_engine import PocketsphinxEngine

    with pytest.raises(AsrModelError, match="no model for 'de-DE'"):
        PocketsphinxEngine(locale="de-DE")
    engine = PocketsphinxEngine()
    audio = read_audio(FIXTURES / "testing_routine.wav")
    text = engine.transcribe(audio).text
    assert "testing routine" in text, text
    stream = engine.stream(8000)  # buffers (resampled to 16 kHz) and decodes on finish
    assert stream.accept(np.zeros(4000, dtype=np.float32)) == []
    final = stream.finish()
    assert final.is_final and final.engine == "pocketsphinx" and stream.audio_s == pytest.approx(0.5, abs=0.01)
