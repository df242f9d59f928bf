"""`edge bench learning`'s report: the few-shot rows give false capture overall and in the examples' language."""

from __future__ import annotations

from typing import Any

from edge.bench.learning import _report


def _result(fc_en: float | None) -> dict[str, Any]:
    row = {"in_language": 0.88, "cross_language": 0.777, "false_capture": 0.0055, "false_capture_in_language": fc_en,
           "install_s_max": 0.9}
    return {"model": "m.onnx", "sample": "stratified", "per_intent": 3, "locales": ["en-US", "de-DE"], "seed": 0,
            "seconds": 1.0, "thresholds": {},
            "rephrase": {"recovered": 0.944, "simulated": 160, "learned": 151, "model_wrong": 215},
            "regression": {"before": 0.9282, "after": 0.9282, "delta_points": 0.0},
            "fewshot": {"draws": 3, "tested_in_language": 228, "tested_cross_language": 912,
                        "tested_other_intents": 2500, "k=10": row},
            "cost": {"update_s_median": 0.006, "update_s_max": 0.02, "items": 1000, "state_mb_in_memory": 1.6,
                     "db_mb": 1.6, "background_mb_in_memory": 4.2}}


def test_the_few_shot_row_gives_false_capture_in_the_examples_language_too() -> None:
    text = _report(_result(0.0087))
    row = next(line for line in text.splitlines() if line.startswith("| few-shot k=10"))
    assert "88.0% / 77.7% (0.55%; 0.87%)" in row and ">= 90% / >= 75%" in row
    old = _report(_result(None))  # a result written before the split
    assert "88.0% / 77.7% (0.55%)" in old
