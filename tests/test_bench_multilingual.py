"""`edge bench asr --multilingual` on a two-clip copy of the Picovoice layout (real German and Korean commands)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from edge.bench.multilingual import PicovoiceClip, heard, massive_intent, picovoice_clips, summarise
from edge.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "audio"
RHINO_TESTS = {"tests": {
    "within_context": [
        {"language": "de", "context_name": "beleuchtung",
         "inference": {"intent": "changeState", "slots": {"state": "aus"}}},
        {"language": "ko", "context_name": "seumateu_jomyeong",
         "inference": {"intent": "changeColor", "slots": {"color": "파란색"}}},
        {"language": "fr", "context_name": "éclairage_intelligent",  # no clip: left out
         "inference": {"intent": "changeColor", "slots": {"color": "violet"}}},
    ],
    "out_of_context": [],
}}


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    rhino = tmp_path / "audio" / "picovoice_rhino"
    rhino.mkdir(parents=True)
    (rhino / "test_data.json").write_text(json.dumps(RHINO_TESTS, ensure_ascii=False), "utf-8")
    for lang in ("de", "ko"):
        shutil.copy(FIXTURES / f"rhino_within_context_{lang}.wav", rhino / f"test_within_context_{lang}.wav")
    return tmp_path


def test_slot_values_heard_and_intent_mapping() -> None:
    assert heard("香 蕉", "給我一個香蕉") and heard("habitación", "Las luces de la Habitación.")
    assert not heard("rosado", "se han cruzado") and not heard("", "anything")
    clip = PicovoiceClip("k", Path("x"), "de", "changeState", {"state": "aus"})
    assert massive_intent(clip) == "iot_hue_lightoff"
    assert massive_intent(PicovoiceClip("k", Path("x"), "pl", "shopping", {})) is None


def test_bench_identifies_and_transcribes(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    clips = picovoice_clips(data)
    assert [(c.key, c.language) for c in clips] == [("rhino/test_within_context_de.wav", "de"),
                                                   ("rhino/test_within_context_ko.wav", "ko")]
    out = tmp_path / "out"
    assert main(["bench", "asr", "--multilingual", "--data", str(data), "--out", str(out)]) == 0
    report = json.loads((out / "asr-multilingual.json").read_text("utf-8"))
    total = report["summary"]["all"]
    assert total["n"] == 2 and total["lid_right"] == 2 and total["locale_right"] == 2
    assert total["slots_heard_auto"] == 2 and total["slots"] == 2
    assert [r["locale"] for r in report["rows"]] == ["de-DE", "ko-KR"]
    assert summarise(report["rows"]) == report["summary"]
    assert "**2/2** clips" in capsys.readouterr().out and (out / "asr-multilingual.md").is_file()


def test_no_clips_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "asr", "--multilingual", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no Picovoice clips" in err and "\n" not in err


def test_bench_live_answers_each_clip_in_its_language(data: Path, tmp_path: Path) -> None:
    """--live: both clips through the whole pipeline with --locale auto, fed in real time, one assistant."""
    out = tmp_path / "out"
    assert main(["bench", "asr", "--multilingual", "--live", "--data", str(data), "--out", str(out)]) == 0
    report = json.loads((out / "asr-multilingual.json").read_text("utf-8"))
    live = report["live"]
    assert [(r["locale"], r["reply_locale"], r["intent"]) for r in report["live_rows"]] == [
        ("de-DE", "de-DE", "iot_hue_lightoff"), ("ko-KR", "ko-KR", "iot_hue_lightchange")]
    assert (live["lid_right"], live["reply_in_language"], live["intents_right"], live["intents"]) == (2, 2, 2, 2)
    assert live["latency_ms"]["n"] == 2 and live["latency_ms"]["p50"] is not None  # both replies spoken, measured
    md = (out / "asr-multilingual.md").read_text("utf-8")
    assert "## The live pipeline with `--locale auto` (`--live`)" in md and "--multilingual --live" in md
