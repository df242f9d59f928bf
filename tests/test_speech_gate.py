"""Noise, music and wordless voices are not answered (trust item 10).

The gate reads Whisper's own decoding signals (no-speech probability, mean token log probability,
compression ratio) and the NLU's confidence; no word list. End to end: ``edge run`` on a real recording
played backwards (a voice with no words: the VAD takes it for speech and Whisper writes a sentence) answers
nothing and says why; the same recording forwards is answered. The benchmark counts false turns.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edge.asr.base import SpeechEvidence
from edge.audio import read_audio
from edge.nlu.runtime import Parse
from edge.pipeline.speech_gate import SpeechGate

EDGE = Path(sys.executable).with_name("edge")
DOOR = Path(__file__).parent / "fixtures" / "audio" / "another_door.wav"


def _parse(text: str, confidence: float, ood: bool = False, intent: str = "qa_factoid") -> Parse:
    return Parse(text=text, intent=intent, confidence=confidence, scenario=intent.split("_")[0], out_of_domain=ood)


# (text, no_speech_prob, avg_logprob, compression_ratio, NLU confidence, out of domain): measured on the
# fixtures (clean, backwards, and under white noise at -5 and -10 dB SNR) with Whisper tiny.en and the NLU
HEARD = [
    ("This isn't part of your testing routine, is it?", 0.084, -0.105, 0.92, 0.954, False),
    ("Ask not!", 0.255, -1.373, 0.5, 0.635, False),
    ("Yes.", 0.266, -0.798, 0.33, 0.315, True),
    ("and he walked immediately out of the apartment by another door.", 0.025, -0.073, 0.98, 0.359, True),
]
NOISE = [
    ("her order than now to make sure we don't write a lady mix always next", 0.232, -1.398, 1.05, 0.295, True),
    ("Is this part of your place in the community of it?", 0.819, -1.12, 0.93, 0.492, True),
    ("H-", 0.896, -4.095, 0.2, 0.239, True),
    ("Fate. Fate. Fate. Fate. Fate. Fate. Fate. Fate.", 0.07, -0.547, 2.9, 0.499, True),
]


@pytest.mark.parametrize(("text", "nsp", "logprob", "ratio", "conf", "ood"), HEARD)
def test_speech_is_answered(text: str, nsp: float, logprob: float, ratio: float, conf: float, ood: bool) -> None:
    assert SpeechGate().reason_to_drop(text, SpeechEvidence(nsp, logprob, ratio), _parse(text, conf, ood)) is None


@pytest.mark.parametrize(("text", "nsp", "logprob", "ratio", "conf", "ood"), NOISE)
def test_noise_is_dropped(text: str, nsp: float, logprob: float, ratio: float, conf: float, ood: bool) -> None:
    assert SpeechGate().reason_to_drop(text, SpeechEvidence(nsp, logprob, ratio), _parse(text, conf, ood))


def test_fluent_words_from_noise_that_ask_for_nothing_are_dropped() -> None:
    # reversed speech through tiny.en's beam of 5: fluent enough for MASSIVE's catch-all intent
    text = "I wonder the naps and I'm sure we'll try to let you miss always now."
    evidence = SpeechEvidence(0.152, -1.135, 0.99)
    assert SpeechGate().reason_to_drop(text, evidence, _parse(text, 0.66, intent="general_quirky"))
    assert SpeechGate().reason_to_drop(text, evidence, _parse(text, 0.66)) is None  # a request it is sure of
    sure = SpeechEvidence(0.02, -0.2, 1.1)  # the catch-all is answered when the recogniser was sure
    assert SpeechGate().reason_to_drop("tell me a joke", sure, _parse("tell me a joke", 0.9, intent="general_quirky")) \
        is None


def test_an_open_question_lowers_the_bar_but_does_not_remove_it() -> None:
    gate = SpeechGate()
    unsure = SpeechEvidence(0.2, -1.2, 0.6)
    assert gate.reason_to_drop("seven", unsure, _parse("seven", 0.3), answering=False)
    assert gate.reason_to_drop("seven", unsure, _parse("seven", 0.3), answering=True) is None
    assert gate.reason_to_drop("is the mask", SpeechEvidence(0.1, -1.8, 0.6), _parse("x", 0.2), answering=True)


def test_unsure_words_in_a_language_not_followed_are_dropped_whatever_the_nlu_says() -> None:
    gate = SpeechGate()
    welsh = SpeechEvidence(0.01, -1.39, 1.0)  # reversed English heard as Welsh; the NLU: qa_factoid at 0.84
    sure_parse = _parse("Rhywodr ydy'n yw'n amsr", 0.84)
    assert gate.reason_to_drop("Rhywodr ydy'n yw'n amsr", welsh, sure_parse) is None  # the current language: kept
    assert gate.reason_to_drop("Rhywodr ydy'n yw'n amsr", welsh, sure_parse, other_language=True) == (
        "the recogniser was unsure and heard another language")
    german = SpeechEvidence(0.2, -0.41, 1.0)  # a real German command (Picovoice), before German was in use
    assert gate.reason_to_drop("Mach alle Licht aus", german, _parse("x", 0.9), other_language=True) is None


def test_the_auto_gate_draws_the_improbable_line_higher_for_whisper_base() -> None:
    from edge.pipeline.speech_gate import AUTO_GATE

    # reversed speech as Whisper base wrote it in auto mode: fluent, improbable, and asking for nothing sure
    quirky = _parse("You know, and then the best are from all in it.", 0.24, intent="general_quirky")
    evidence = SpeechEvidence(0.05, -0.93, 1.1)
    assert SpeechGate().reason_to_drop(quirky.text, evidence, quirky) is None
    assert AUTO_GATE.reason_to_drop(quirky.text, evidence, quirky) == (
        "the recogniser was unsure and the words ask for nothing")
    command = _parse("turn the lights off please", 0.97, intent="iot_hue_lightoff")  # a sure intent is answered
    assert AUTO_GATE.reason_to_drop(command.text, evidence, command) is None
    # the other-language rule keeps its own line (-1): a sure short turn kept in the locale in use is answered
    licht = _parse("Licht aus", 0.9, intent="iot_hue_lightoff")
    assert AUTO_GATE.reason_to_drop("Licht aus", SpeechEvidence(0.05, -0.9, 1.0), licht, other_language=True) is None
    assert AUTO_GATE.reason_to_drop("Licht aus", SpeechEvidence(0.05, -1.1, 1.0), licht, other_language=True) == (
        "the recogniser was unsure and heard another language")


def test_no_signals_no_judgement() -> None:
    assert SpeechGate().reason_to_drop("hmm", None, _parse("hmm", 0.1, True)) is None  # typed text, Vosk


def _run_json(wav: Path, data: Path) -> list[dict[str, object]]:
    if not EDGE.exists():
        pytest.skip(f"{EDGE} not installed (pip install -e .)")
    proc = subprocess.run([str(EDGE), "run", "--input", str(wav), "--output", "none", "--json", "--data-dir",
                           str(data)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_a_voice_with_no_words_is_not_answered(tmp_path: Path) -> None:
    backwards = tmp_path / "backwards.wav"
    audio = read_audio(DOOR)
    sf.write(backwards, np.concatenate([audio[::-1], np.zeros(8000, np.float32)]), 16000, subtype="PCM_16")
    events = _run_json(backwards, tmp_path)
    kinds = [e["event"] for e in events]
    assert "transcript" in kinds  # the VAD took it for speech and Whisper wrote something
    assert "dropped" in kinds and "reply" not in kinds and "turn" not in kinds
    dropped = next(e for e in events if e["event"] == "dropped")
    assert dropped["text"] and float(dropped["avg_logprob"]) < -1.0  # type: ignore[arg-type]

    forwards = _run_json(DOOR, tmp_path)
    assert [e["event"] for e in forwards].count("turn") == 1 and "dropped" not in [e["event"] for e in forwards]


def test_the_benchmark_counts_false_turns_on_noise_and_music() -> None:
    from edge.bench.false_turns import markdown, measure_false_turns

    r = measure_false_turns("desktop", minutes=1.0, kinds=("noise", "music"))
    for kind in ("noise", "music"):
        row = r["kinds"][kind]
        assert row["answered"] == 0, row["answered_turns"]
        assert row["false_turns_per_10_min"] == 0.0
    assert "| noise | 1 |" in markdown(r)
