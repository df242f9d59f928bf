"""The benchmark's regression guard, as CI runs it: the fixed MASSIVE excerpt spoken by Piper and espeak-ng,
scored from audio through the real pipeline and as text, against the recorded floor (`edge bench guard`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.bench.guard import FIXTURE, check_floor
from edge.cli import main


@pytest.fixture(scope="module")
def guard_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict]:
    out = tmp_path_factory.mktemp("guard")
    rc = main(["bench", "guard", "--out", str(out)])
    return rc, json.loads((out / "guard.json").read_text(encoding="utf-8"))


def test_accuracy_holds_the_recorded_floor(guard_run: tuple[int, dict]) -> None:
    rc, result = guard_run
    assert result["failures"] == [], "\n".join(result["failures"])
    assert rc == 0
    floor = json.loads((FIXTURE / "floor.json").read_text(encoding="utf-8"))
    assert set(floor) <= set(result["figures"])  # every guarded figure was measured
    assert any(k.startswith("audio en-US 10 dB") for k in floor) and any(k.startswith("text ja-JP") for k in floor)


def test_a_figure_below_its_floor_fails(guard_run: tuple[int, dict]) -> None:
    figures = guard_run[1]["figures"]
    name = "audio en-US clean: intent accuracy"
    assert check_floor(figures, {name: figures[name]}) == []
    failures = check_floor(figures, {name: figures[name] + 0.01, "text xx-XX: intent accuracy": 0.5})
    assert len(failures) == 2 and failures[0].startswith(name) and "not measured" in failures[1]


def test_missing_fixture_and_floor_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "guard", "--fixture", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no guard fixture" in err and len(err.splitlines()) == 1
