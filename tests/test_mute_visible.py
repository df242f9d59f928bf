"""A stored mute is never silent about itself, and a spoken "unmute" undoes it (trust item 5).

Real processes: ``edge chat`` mutes and unmutes in a private data folder, ``edge run`` answers a real
recording (LibriSpeech, tests/fixtures/audio) into a WAV file; the real models throughout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.audio.source import read_audio
from edge.skills.audio_control import asks_unmute

EDGE = Path(sys.executable).with_name("edge")
CLIP = Path(__file__).parent / "fixtures" / "audio" / "testing_routine.wav"
TIMEOUT = 300


def _edge(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    if not EDGE.exists():
        pytest.skip(f"{EDGE} not installed (pip install -e .)")
    return subprocess.run([str(EDGE), *args], input=stdin, capture_output=True, text=True, timeout=TIMEOUT)


def _run(data: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    proc = _edge("run", "--data-dir", str(data), "--input", str(CLIP), "--output", str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_a_stored_mute_shows_on_every_reply_and_unmute_undoes_it(tmp_path: Path) -> None:
    assert "muted" in _edge("chat", "--data-dir", str(tmp_path), stdin="mute\n").stdout.lower()

    muted = _run(tmp_path, tmp_path / "muted.wav")
    assert '(output: muted: replies are silent until you say "unmute")' in muted.stdout
    reply_line = next(line for line in muted.stdout.splitlines() if line.strip().startswith("reply:"))
    assert reply_line.endswith('[muted: replies are silent until you say "unmute"]')
    samples = read_audio(tmp_path / "muted.wav")
    assert not np.any(samples)  # what the note says: the reply was written as silence

    events = [json.loads(line) for line in _run(tmp_path, tmp_path / "j.wav", "--json").stdout.splitlines()]
    states = [e for e in events if e["event"] == "output_state"]
    assert len(states) == 1 and states[0]["muted"] is True

    # "unmute" is a word the NLU barely knows (its parse is unsure); it must still unmute
    assert "back on" in _edge("chat", "--data-dir", str(tmp_path), stdin="unmute\n").stdout
    heard = _run(tmp_path, tmp_path / "heard.wav")
    assert "muted" not in heard.stdout
    samples = read_audio(tmp_path / "heard.wav")
    assert np.abs(samples).max() > 0.05


@pytest.mark.parametrize(("text", "locale", "expected"), [
    ("unmute", "en-US", True), ("please unmute the sound", "en-US", True), ("mute", "en-US", False),
    ("mute the sound on the tv", "en-US", False), ("Ton wieder an", "de-DE", True),
    ("ミュート解除して", "ja-JP", True), ("ミュートして", "ja-JP", False),
])
def test_unmute_phrases(text: str, locale: str, expected: bool) -> None:
    assert asks_unmute(text, locale) is expected


def test_a_learned_correction_is_said_each_time_it_changes_the_intent(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A learned phrasing (edge.learn) persists and changes what the user hears: an event each time it acts,
    a line in edge run's output with the command that undoes it."""
    import hashlib

    from edge.commands.run import TurnPrinter
    from edge.learn.calibrate import Thresholds, save_thresholds
    from edge.learn.db import LearnStore
    from edge.learn.hooks import LearningNlu
    from edge.learn.learner import Learner, LearnSettings
    from edge.learn.memory import model_key
    from edge.nlu.runtime import Parse
    from edge.pipeline.answer import Answerer
    from edge.pipeline.events import EventBus, EventRecorder
    from edge.pipeline.responder import Responder
    from edge.skills.contract import Reply

    def embed(texts: list[str]) -> np.ndarray:  # hashed bag of words: sentences sharing words are close
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % 64] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    class Unsure:
        def parse(self, text: str, locale: str | None = None) -> Parse:
            return Parse(text, "general_quirky", 0.1, "general", [], True, locale)

        def embed(self, texts: list[str]) -> np.ndarray:
            return embed(texts)

    class Echo:
        def handle(self, parse: Parse, locale: str) -> Reply:
            return Reply(f"doing {parse.intent}", locale, "iot")

    store = LearnStore(tmp_path / "learn.db")
    save_thresholds(store, model_key(embed), Thresholds(0.9, 0.6, 0.3, "test"))
    learner = Learner(store, embed, LearnSettings(log_turns=False))
    item = learner.memory.add("rephrase", "lights kitchen bright", "en-US", "iot_hue_lighton", [])
    bus = EventBus()
    recorder = EventRecorder()
    bus.subscribe(recorder)
    bus.subscribe(TurnPrinter(show_partials=False))
    answerer = Answerer(LearningNlu(Unsure(), learner), Echo(), Responder(None, None, bus, "en-US"), bus, "en-US")  # type: ignore[arg-type]

    turn, _ = answerer.respond("lights kitchen bright")
    assert turn.reply is not None and turn.reply.text == "doing iot_hue_lighton"
    learned = recorder.of("learned")
    assert len(learned) == 1 and learned[0].data == {"item": item.id, "phrase": "lights kitchen bright",
                                                     "intent": "iot_hue_lighton"}
    assert f'learned here: "lights kitchen bright" means iot_hue_lighton (undo: edge learn undo {item.id})' \
        in capsys.readouterr().out
    answerer.respond("what is the weather")  # the model's own parse: nothing learned to say
    assert len(recorder.of("learned")) == 1
