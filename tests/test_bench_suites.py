"""The benchmark's shared parts and the suites around them: the spoken test set builder, resumable results,
the memory budget as a hard limit, progress, `edge bench pipeline`, `all` and `report`."""

from __future__ import annotations

import json
import mmap
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.bench.common import MemoryGuard, PartialResults, Progress, results_dir
from edge.bench.spoken import build_spoken_set, load_clip, mix_noise, read_manifest, select
from edge.cli import main
from edge.cli_errors import CliError

FIXTURE = Path(__file__).parent / "fixtures" / "bench_guard"
AUDIO = Path(__file__).parent / "fixtures" / "audio"


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 en-US test utterances by Piper and espeak-ng, 2 de-DE by espeak-ng, with 10 dB rows."""
    root = tmp_path_factory.mktemp("spoken")
    massive = root / "massive"
    massive.mkdir()
    for locale in ("en-US", "de-DE"):
        shutil.copy(FIXTURE / f"{locale}.jsonl", massive / f"{locale}.jsonl")
    meta = build_spoken_set(massive, root / "set", locales=["en-US", "de-DE"], per_locale=2, en_us=3, snrs=[10.0])
    assert meta["failed_count"] == 0
    return root / "set"


def test_the_set_has_both_voices_noise_rows_and_a_manifest(spoken: Path) -> None:
    clips = read_manifest(spoken)
    en = [c for c in clips if c.locale == "en-US"]
    assert {c.engine for c in en} == {"piper", "espeak-ng"} and len(en) == 12  # 3 x 2 voices x (clean, 10 dB)
    assert {c.engine for c in clips if c.locale == "de-DE"} == {"espeak-ng"}
    noisy = [c for c in en if c.snr_db == 10.0]
    assert len(noisy) == 6 and all(c.noise in ("pink", "brown", "babble") for c in noisy)
    first = en[0]
    assert first.text and first.intent and first.voice.startswith(("piper:", "espeak-ng:"))
    audio = load_clip(spoken, first)
    assert audio.dtype == np.float32 and 0.5 < audio.size / 16000 < 15
    meta = json.loads((spoken / "meta.json").read_text())
    assert meta["clean_clips"] == 8 and meta["snr_db"] == [10.0]
    assert len(select(clips, ["en-US"], ["piper"], ["10 dB"])) == 3
    assert len(select(clips, ["en-US"], None, None, limit=1)) == 4  # one per (voice, condition)


def test_noise_is_mixed_at_the_asked_snr_and_the_same_every_time() -> None:
    rng = np.random.default_rng(0)
    clean = (np.sin(np.arange(32000) * 0.05) * 0.3).astype(np.float32) * (rng.random(32000) > 0.0)
    for kind in ("pink", "brown", "white"):
        mixed = mix_noise(clean, 10.0, kind, seed=3)
        noise = mixed - clean
        snr = 10 * np.log10(np.mean(clean**2) / np.mean(noise**2))
        assert abs(snr - 10.0) < 0.5, (kind, snr)
        assert np.array_equal(mixed, mix_noise(clean, 10.0, kind, seed=3))


def test_an_interrupted_build_resumes_and_a_torn_manifest_line_is_cut(spoken: Path, tmp_path: Path) -> None:
    copy = tmp_path / "set"
    shutil.copytree(spoken, copy)
    lines = (copy / "manifest.jsonl").read_text().splitlines(keepends=True)
    # the build was killed while writing the last en-US row: half a line, no meta.json
    (copy / "manifest.jsonl").write_text("".join(lines[:-2]) + lines[-2][:30])
    (copy / "meta.json").unlink()
    assert len(read_manifest(copy)) == len(lines) - 2  # the torn line is not a row
    massive = tmp_path / "massive"
    massive.mkdir()
    for locale in ("en-US", "de-DE"):
        shutil.copy(FIXTURE / f"{locale}.jsonl", massive / f"{locale}.jsonl")
    build_spoken_set(massive, copy, locales=["en-US", "de-DE"], per_locale=2, en_us=3, snrs=[10.0])
    rows = [json.loads(x) for x in (copy / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == len(lines) and len({r["id"] for r in rows}) == len(rows)
    assert (copy / "meta.json").is_file()


def test_partial_results_resume_drop_a_torn_line_and_restart_on_other_settings(tmp_path: Path) -> None:
    p = PartialResults(tmp_path, "suite", {"limit": 3})
    p.add("a", {"v": 1})
    p.add("b", {"v": 2})
    p.close()
    with (tmp_path / "suite.partial.jsonl").open("a") as f:
        f.write('{"key": "c", "v"')  # killed mid-write
    again = PartialResults(tmp_path, "suite", {"limit": 3})
    assert again.resumed == 2 and "b" in again and "c" not in again
    again.close()
    other = PartialResults(tmp_path, "suite", {"limit": 4})
    assert other.resumed == 0 and "a" not in other
    other.finish()
    assert not (tmp_path / "suite.partial.jsonl").exists()


def test_a_memory_budget_too_small_names_the_stage_that_did_not_fit() -> None:
    with MemoryGuard(budget_mb=1.0) as guard:
        with pytest.raises(CliError, match=r"memory budget exceeded in stage 'asr: load'.*raise \[budget\]"):
            with guard.stage("asr: load"):
                # 64 MB of anonymous mmap, touched: always fresh resident pages, even where a library earlier in
                # the test process raised malloc's mmap threshold and left freed heap to reuse; alive until the
                # stage ends, where the guard samples again
                block = mmap.mmap(-1, 64_000_000)
                np.frombuffer(block, dtype=np.uint8)[:] = 1
    block.close()
    with MemoryGuard(budget_mb=1.0) as guard:  # work a device never does is not held to the budget
        with guard.stage("baseline training", limit=False):
            np.ones(1000)
        guard.check()


def test_progress_prints_lines_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    with Progress("demo", stream=sys.stdout) as bar:
        for i in range(5):
            bar.update(i, 5, "x")
        bar.update(5, 5)
    out = capsys.readouterr().out
    assert "demo [" in out and "5/5 100.0%" in out


def test_an_unwritable_results_folder_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CliError, match="not writable.*pass --out"):
        results_dir(blocker / "results")


def _data_dir(tmp_path: Path) -> Path:
    """A data folder shaped like ../shared/data with one real LibriSpeech clip and its transcript."""
    data = tmp_path / "data"
    libri = data / "audio" / "arm_mlek_asr"
    libri.mkdir(parents=True)
    shutil.copy(AUDIO / "testing_routine.wav", libri / "testing_routine.wav")
    (libri / "files.md").write_text('- testing_routine.wav (orig x)\n  - "This isn\'t part of your testing routine, '
                                    'is it?"\n')
    return data


def test_pipeline_suite_scores_from_audio_and_resumes(spoken: Path, tmp_path: Path) -> None:
    data, out = _data_dir(tmp_path), tmp_path / "out"
    args = ["bench", "pipeline", "--data", str(data), "--spoken-set", str(spoken), "--latency-clips", "2",
            "--no-memory", "--out", str(out)]
    assert main(args) == 0
    result = json.loads((out / "pipeline-desktop.json").read_text())
    groups = result["accuracy"]["groups"]
    clean = groups["en-US | all voices | clean"]
    assert clean["n"] == 6 and clean["text_intent_acc"] > 0.6 and 0 <= clean["intent_acc"] <= 1
    assert clean["wer"] < 0.6 and clean["cpu_s_per_utt"] > 0
    assert "en-US | piper | 10 dB" in groups
    # fed in real time: on a loaded machine a turn may be split, so no exact counts here
    assert result["wer_librispeech"] <= 0.2 and result["latency_ms"]["n"] >= 2
    assert not list(out.glob("*.partial.jsonl"))  # finished: the resume file is gone
    md = (out / "pipeline-desktop.md").read_text()
    assert "intent accuracy" in md and "target >= 85%" in md
    assert "<= 600 MiB: not measured" in md  # --no-memory: no verdict on a figure that was not taken


def test_all_runs_suites_skips_finished_ones_and_renders_the_report(spoken: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out, docs = tmp_path / "out", tmp_path / "docs"
    args = ["bench", "all", "--data", str(_data_dir(tmp_path)), "--spoken-set", str(spoken), "--suites", "tts",
            "--out", str(out), "--report-dir", str(docs)]
    env = os.environ.copy()
    assert main(args) == 0
    state = json.loads((out / "all.json").read_text())
    assert state["suites"]["tts"]["status"] == "ok"
    assert (docs / "tts.md").is_file() and (docs / "tts_first_audio.png").read_bytes()[:4] == b"\x89PNG"
    summary = (docs / "README.md").read_text()
    assert "Picovoice Rhino" in summary and "[tts.md](tts.md)" in summary
    capsys.readouterr()
    assert main(args) == 0  # again: done, skipped
    assert "done in an earlier run" in capsys.readouterr().err
    assert os.environ == env


def test_report_and_all_refuse_missing_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "report", "--results", str(tmp_path / "none")]) == 2
    assert "no results folder" in capsys.readouterr().err
    assert main(["bench", "all", "--spoken-set", str(tmp_path / "none"), "--data", str(tmp_path),
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ("no MASSIVE data" in err or "no spoken test set" in err)
