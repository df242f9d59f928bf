"""`edge bench guard`: the benchmark's small, fast subset that CI runs; fails below a recorded accuracy floor.

The fixture (``tests/fixtures/bench_guard``, made by ``tools/make_guard_fixture.py``) is a fixed excerpt of
MASSIVE's test split in its official format. The en-US part is spoken by the real spoken-set builder
(Piper and espeak-ng voices, clean and at 10 dB) and scored from audio through the real pipeline; every
locale is also scored as text. Piper speaks without its sampling noise here, so the audio is the same on
every run and the figures move only with CPU-dependent rounding; the floor (``floor.json``) is the measured
value less a small margin; latency is not guarded (it is only reported).
``--record`` rewrites the floor from this run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from edge.bench.results import write_atomic
from edge.paths import REPO_ROOT

__all__ = ["FIXTURE", "add_arguments", "check_floor", "run_guard", "run_guard_bench"]

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "bench_guard"
MARGIN = 0.05  # floor = measured - margin: room for Piper's sampling noise and CPU-dependent rounding


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fixture", type=Path, default=FIXTURE, help="folder of <locale>.jsonl (MASSIVE format)")
    p.add_argument("--floor", type=Path, help="floor file (default: <fixture>/floor.json)")
    p.add_argument("--profile", help="device profile (default: desktop)")
    p.add_argument("--record", action="store_true", help="write this run's figures less a margin as the floor")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="results folder")


def run_guard(fixture: Path, profile: Any, work: Path) -> dict[str, float]:
    """Accuracy figures of this build on the fixture: {name: value}, higher is better for every one."""
    from edge.bench.accuracy import run_accuracy, summarise_accuracy
    from edge.bench.common import PartialResults
    from edge.bench.spoken import build_spoken_set, read_manifest, select
    from edge.nlu.massive import load_massive
    from edge.pipeline.loader import load_nlu

    build_spoken_set(fixture, work / "spoken", locales=["en-US"], snrs=[10.0], threads=profile.tts.threads,
                     steady_piper=True)
    clips = select(read_manifest(work / "spoken"), ["en-US"])
    partial = PartialResults(work, "guard", {"profile": profile.name})
    rows = run_accuracy(profile, work / "spoken", clips, partial)
    partial.finish()
    groups = summarise_accuracy(rows)
    figures = {}
    for cond in ("clean", "10 dB"):
        g = groups[f"en-US | all voices | {cond}"]
        figures[f"audio en-US {cond}: intent accuracy"] = round(g["intent_acc"], 4)
        figures[f"audio en-US {cond}: 1 - WER"] = round(1 - g["wer"], 4)
    nlu = load_nlu(profile)
    examples = load_massive(fixture, None, ["test"])
    by_locale: dict[str, list[bool]] = {}
    for e in examples:
        by_locale.setdefault(e.locale, []).append(nlu.parse(e.utt, e.locale).intent == e.intent)
    for locale, ok in sorted(by_locale.items()):
        figures[f"text {locale}: intent accuracy"] = round(sum(ok) / len(ok), 4)
    return figures


def check_floor(figures: dict[str, float], floor: dict[str, float]) -> list[str]:
    """One line per figure below its floor (or missing)."""
    failures = []
    for name, minimum in floor.items():
        value = figures.get(name)
        if value is None:
            failures.append(f"{name}: not measured (floor {minimum:.3f})")
        elif value < minimum:
            failures.append(f"{name}: {value:.3f} < floor {minimum:.3f}")
    return failures


def run_guard_bench(args: argparse.Namespace) -> int:
    from edge.bench.common import results_dir
    from edge.cli_errors import CliError
    from edge.commands.common import profile_or_exit
    from edge.pipeline.loader import PipelineError

    profile = profile_or_exit(args.profile)
    if not any(args.fixture.glob("*.jsonl")):
        raise CliError(f"no guard fixture at {args.fixture}: run tools/make_guard_fixture.py or pass --fixture")
    floor_path = args.floor or args.fixture / "floor.json"
    out = results_dir(args.out)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edge-guard-") as tmp:
        try:
            figures = run_guard(args.fixture, profile, Path(tmp))
        except PipelineError as exc:
            raise CliError(str(exc)) from None
    result = {"date": time.strftime("%Y-%m-%d"), "profile": profile.name, "seconds": round(time.perf_counter() - t0),
              "figures": figures}
    if args.record:
        floor = {k: round(max(0.0, v - MARGIN), 3) for k, v in figures.items()}
        write_atomic(floor_path, json.dumps(floor, indent=2) + "\n")
        print(f"recorded the floor in {floor_path}", file=sys.stderr)
    if not floor_path.is_file():
        raise CliError(f"no floor file {floor_path}: record one with `edge bench guard --record`")
    try:
        floor = json.loads(floor_path.read_text(encoding="utf-8"))
    except ValueError:
        raise CliError(f"{floor_path} is not valid JSON: record it again with `edge bench guard --record`") from None
    failures = check_floor(figures, floor)
    result["floor"], result["failures"] = floor, failures
    write_atomic(out / "guard.json", json.dumps(result, indent=2) + "\n")
    for name, value in figures.items():
        print(f"{name:<40} {value:.3f}  (floor {floor.get(name, float('nan')):.3f})")
    if failures:
        for line in failures:
            print(f"edge bench guard: below the floor: {line}", file=sys.stderr)
        return 1
    return 0
