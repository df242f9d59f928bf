"""`edge bench tts --roundtrip`: each voice synthesises MASSIVE test utterances, the locale's ASR hears them back.

The fast end-to-end check uses the Piper voice CI installs (joe, en-US) and Whisper tiny.en on a few utterances of
the in-repo MASSIVE excerpt (tests/fixtures/bench_guard): it fails when synthesis, resampling, recognition or
scoring breaks (silence, a wrong rate, a wrong language all send the error rate far past the bar).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from edge.bench.roundtrip import BEGIN, END, headline, keep_section, plan_voices, sample_sentences, splice_section
from edge.cli import main
from edge.profiles import load_profile

MASSIVE_EXCERPT = Path(__file__).parent / "fixtures" / "bench_guard"


def test_the_headline_rate_is_cer_for_scripts_without_spaces() -> None:
    assert [headline(loc) for loc in ("en-US", "de-DE", "ko-KR", "ja-JP", "zh-TW", "th-TH", "km-KH", "my-MM")] == [
        "wer", "wer", "wer", "cer", "cer", "cer", "cer", "cer"]


def test_the_section_is_spliced_into_a_page_and_kept_when_the_page_is_rewritten(tmp_path: Path) -> None:
    section = f"{BEGIN}\n## Round trip\n\n| a |\n{END}\n"
    page = "# TTS benchmark\n\n| speed |\n"
    spliced = splice_section(page, section)
    assert spliced == page + "\n" + section
    newer = f"{BEGIN}\n## Round trip\n\n| b |\n{END}\n"
    assert splice_section(spliced, newer) == page + "\n" + newer  # replaced in place, nothing else touched
    assert splice_section("", section) == section
    target = tmp_path / "tts.md"
    target.write_text(spliced, encoding="utf-8")
    assert keep_section(target, "# TTS benchmark\n\n| faster |\n") == "# TTS benchmark\n\n| faster |\n\n" + section
    assert keep_section(tmp_path / "missing.md", page) == page


def test_every_voice_the_assistant_speaks_with_is_planned() -> None:
    specs, skipped = plan_voices(load_profile("desktop"), ["en-US", "de-DE", "ja-JP", "jv-ID", "km-KH"])
    voices = {(s.voice, s.locale): s for s in specs}
    assert ("piper-en-us-joe-medium", "en-US") in voices and ("espeak-ng", "en-US") not in voices  # Piper speaks it
    assert ("espeak-ng", "de-DE") in voices
    assert voices[("espeak-ng", "jv-ID")].note == "closest voice: id"
    assert ("espeak-ng", "ja-JP") not in voices and ("espeak-ng", "km-KH") not in voices  # scripts it cannot read
    assert {(k["voice"], k["locale"]) for k in skipped} >= {("espeak-ng", "ja-JP"), ("espeak-ng", "km-KH")}
    only = plan_voices(SimpleNamespace(tts=SimpleNamespace(engine="auto")), ["de-DE"], ["espeak-ng"])[0]
    assert [(s.voice, s.locale) for s in only] == [("espeak-ng", "de-DE")]


def test_the_sample_is_seeded_and_fixed() -> None:
    a = sample_sentences(MASSIVE_EXCERPT, ["de-DE", "en-US"], 5, 14)
    b = sample_sentences(MASSIVE_EXCERPT, ["en-US", "de-DE"], 5, 14)
    assert {k: [e.id for e in v] for k, v in a.items()} == {k: [e.id for e in v] for k, v in b.items()}
    assert sorted(a) == ["de-DE", "en-US"] and all(len(v) == 5 for v in a.values())
    assert [e.id for e in sample_sentences(MASSIVE_EXCERPT, ["en-US"], 5, 15)["en-US"]] != [e.id for e in a["en-US"]]


def test_piper_is_heard_back_by_whisper_tiny_en(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "tts.md"
    report.write_text("# TTS benchmark\n\n| speed table |\n", encoding="utf-8")
    code = main(["bench", "tts", "--roundtrip", "--data", str(MASSIVE_EXCERPT), "--locales", "en-US",
                 "--voices", "piper-en-us-joe-medium", "--per-voice", "4", "--out", str(tmp_path), "--report",
                 str(report)])
    assert code == 0
    result = json.loads((tmp_path / "tts_roundtrip.json").read_text(encoding="utf-8"))
    (voice,) = result["voices"]
    assert (voice["voice"], voice["locale"], voice["asr"], voice["n"]) == (
        "piper-en-us-joe-medium", "en-US", "whisper-tiny-en", 4)
    assert voice["empty"] == 0 and voice["wer"] is not None and voice["wer"] <= 0.3, result["rows"]
    assert all(r["audio_s"] > 0.5 for r in result["rows"])
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# TTS benchmark\n\n| speed table |\n\n" + BEGIN)
    assert "| piper-en-us-joe-medium | en-US | whisper-tiny-en | 4 |" in text and text.rstrip().endswith(END)
    assert not (tmp_path / "tts_roundtrip.partial.jsonl").exists()
