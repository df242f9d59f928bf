"""`edge bench nlu` end to end on a small MASSIVE folder written into tmp_path, with the shipped model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

UTTERANCES = [  # (intent, text, annotated text)
    ("alarm_set", "wake me up at five am", "wake me up at [time : five am]"),
    ("weather_query", "what's the weather today", "what's the weather [date : today]"),
    ("play_music", "play some jazz", "play some [music_genre : jazz]"),
    ("lists_createoradd", "add milk to my shopping list", "add milk to my [list_name : shopping] list"),
]


def _massive(folder: Path) -> Path:
    folder.mkdir()
    rows = [{"id": str(i), "locale": "en-US", "partition": "test", "scenario": intent.split("_")[0],
             "intent": intent, "utt": utt, "annot_utt": annot} for i, (intent, utt, annot) in enumerate(UTTERANCES)]
    (folder / "en-US.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


def test_bench_nlu_without_latency_counts_the_weights_file(tmp_path: Path) -> None:
    data = _massive(tmp_path / "massive")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "edge.cli", "bench", "nlu", "--data", str(data), "--baseline",
                           "none", "--latency-samples", "0", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(next(out.glob("nlu*.json")).read_text())
    ships = result["systems"][0]
    assert ships["latency_1"] is None and ships["latency_n"] is None  # --latency-samples 0: not timed
    assert ships["size_mb"] > 20  # the .onnx (7.5 MB) and its memory-mapped embedding table (14.4 MB)
    assert ships["average"]["intent_acc"] >= 0.75  # four plain requests the shipped model knows
    assert "| — | — |" in proc.stdout
