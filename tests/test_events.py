"""Typed events keep the JSON lines of `edge run --json` exactly as they were.

``tests/fixtures/events/*.jsonl`` are streams recorded from ``edge run --json`` before the events became
typed (commit 07e1baa): ``run_testing_routine`` (``--output none``), ``run_jfk_no_speak`` (``--no-speak``)
and ``run_testing_routine_realtime`` (``--realtime``, so speculation and measured latency). Every line must
come back byte for byte from its typed event, and a fresh run must produce the same stream up to the
numbers (times, latencies) and what the models chose (transcripts, intents, replies).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge.pipeline.events import (
    EVENT_KINDS,
    EVENT_TYPES,
    BargeIn,
    EventBus,
    EventRecorder,
    JsonlWriter,
    ReplyDone,
    TurnSummary,
    make_event,
)

REPO = Path(__file__).resolve().parent.parent
RECORDED = Path(__file__).parent / "fixtures" / "events"
AUDIO = Path(__file__).parent / "fixtures" / "audio"
# Values the models choose: the test pins their presence and type, not their text.
MODEL_CHOSEN = {"text", "transcript", "intent", "scenario", "slots", "reply", "skill", "out_of_domain",
                "speculative"}


def recorded(name: str) -> list[str]:
    return (RECORDED / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("name", ["run_testing_routine", "run_jfk_no_speak", "run_testing_routine_realtime"])
def test_recorded_lines_come_back_byte_for_byte(name: str) -> None:
    for line in recorded(name):
        d = json.loads(line)
        kind, t, turn = d.pop("event"), d.pop("t"), d.pop("turn")
        event = EVENT_TYPES[kind](t=t, turn=turn, **d)
        assert kind in EVENT_KINDS
        assert json.dumps(event.to_dict(), ensure_ascii=False, default=str) == line


def test_the_bus_stamps_time_and_turn_and_the_writer_writes_one_line_each() -> None:
    import io

    clock = iter([10.0, 10.5, 11.25, 12.0])
    bus = EventBus(clock=lambda: next(clock))
    out = io.StringIO()
    recorder = EventRecorder()
    bus.subscribe(JsonlWriter(out))
    bus.subscribe(recorder)
    bus.turn = 3
    bus.emit(BargeIn(trigger="speech", latency_ms=1.25, audio_s=2.0))
    bus.emit(ReplyDone(audio_s=1.5, tts_ms=20.0, interrupted=True))
    bus.emit("warning", message="odd")
    assert out.getvalue().splitlines() == [
        '{"event": "barge_in", "t": 0.5, "turn": 3, "trigger": "speech", "latency_ms": 1.25, "audio_s": 2.0}',
        '{"event": "reply_done", "t": 1.25, "turn": 3, "audio_s": 1.5, "tts_ms": 20.0, "interrupted": true}',
        '{"event": "warning", "t": 2.0, "turn": 3, "message": "odd"}',
    ]
    assert [e.kind for e in recorder.events] == ["barge_in", "reply_done", "warning"]
    assert recorder.of("barge_in")[0].data == {"trigger": "speech", "latency_ms": 1.25, "audio_s": 2.0}
    assert TurnSummary(transcript="x").data["latency_ms"] == {} and "stopped" not in TurnSummary().data


def test_unknown_kinds_and_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        make_event("shouting")
    with pytest.raises(TypeError):
        make_event("partial", txt="typo")


def test_a_failing_subscriber_is_dropped_not_the_bus() -> None:
    bus = EventBus()
    seen: list[str] = []

    def broken(event: Any) -> None:
        raise RuntimeError("display gone")

    bus.subscribe(broken)
    bus.subscribe(lambda e: seen.append(e.kind))
    bus.emit("partial", text="a")
    bus.emit("partial", text="b")
    assert seen == ["partial", "partial"]


def _shape(value: Any) -> Any:
    """Numbers as their type; strings and lists the models chose as their type; the rest as they are."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return "<number>"
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return value


def normalised(line: str) -> list[tuple[str, Any]]:
    d = json.loads(line)
    return [(k, type(v).__name__ if k in MODEL_CHOSEN and v is not None else _shape(v)) for k, v in d.items()]


def test_edge_run_json_stream_matches_the_recording(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "edge.cli", "run", "--input", "tests/fixtures/audio/testing_routine.wav", "--json",
         "--output", "none", "--data-dir", str(tmp_path), "--locale", "en-US"],  # as recorded
        capture_output=True, timeout=180, cwd=REPO, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert [normalised(line) for line in lines] == [normalised(line) for line in recorded("run_testing_routine")]
