"""`edge bench all`: every suite under one profile, into one results folder, then the report.

Each suite runs in its own process (``python -m edge.cli bench <suite> ...``), so one suite's models and
memory do not weigh on the next and its memory budget applies to it alone. A suite's results file is
written whole or not at all; ``all.json`` in the results folder records each finished suite and the
arguments it ran with, so after an interruption the same command skips what is done, and the suites
that resume (asr, pipeline) pick up where they stopped. ``--fresh`` starts over.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from edge.bench.results import write_atomic

__all__ = ["SUITES", "add_arguments", "run_all", "suite_commands"]

SUITES = ("nlu", "asr", "tts", "pipeline", "profiles", "barge-in", "false-turns", "learning")  # learning: issue 15


def add_arguments(p: argparse.ArgumentParser) -> None:
    from edge.bench.common import data_argument
    from edge.bench.spoken import default_spoken_dir

    data_argument(p)
    p.add_argument("--profile", default="desktop", help="device profile for every suite (default: desktop)")
    p.add_argument("--spoken-set", type=Path, default=default_spoken_dir(), help="spoken MASSIVE set")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="results folder")
    p.add_argument("--report-dir", type=Path, help="also render the reports and plots here (docs/benchmarks)")
    p.add_argument("--suites", default=",".join(SUITES), help="comma-separated subset of %(default)s")
    p.add_argument("--accuracy-limit", type=int, default=1000,
                   help="pipeline accuracy clips per (voice, condition); 0 = the whole spoken set (default 1000)")
    p.add_argument("--asr-limit", type=int, default=100, help="ASR clips per (locale, voice, condition)")
    p.add_argument("--nlu-sample", type=int, default=0,
                   help="NLU: a random sample per locale, stratified by scenario (default 0: the whole test split)")
    p.add_argument("--fresh", action="store_true", help="forget finished suites and start over")


def suite_commands(args: argparse.Namespace, massive: Path | None) -> dict[str, list[str]]:
    """The command line of each suite (after ``edge bench``)."""
    out, prof, spoken = str(args.out), args.profile, str(args.spoken_set)
    baseline = args.out / "baseline.pkl"
    return {
        "nlu": ["nlu", "--data", str(massive), "--sample", str(args.nlu_sample), "--profile", prof,
                "--baseline", str(baseline) if baseline.is_file() else "train", "--save-baseline", str(baseline),
                "--out", out],
        "asr": ["asr", "--data", str(args.data), "--spoken-set", spoken, "--limit", str(args.asr_limit),
                "--profile", prof, "--out", out],
        "tts": ["tts", "--profile", prof, "--out", out],
        "pipeline": ["pipeline", "--data", str(args.data), "--spoken-set", spoken, "--limit",
                     str(args.accuracy_limit), "--profile", prof, "--out", out],
        "profiles": ["profiles", "--spoken-set", spoken, "--out", out],
        "barge-in": ["barge-in", "--profile", prof, "--out", out],
        "false-turns": ["false-turns", "--profile", prof, "--out", out],  # issue 18
        "learning": ["learning", "--data", str(args.data), "--profile", prof, "--out", out],  # issue 15
    }


def run_all(args: argparse.Namespace) -> int:
    from edge.bench.common import massive_path, results_dir
    from edge.bench.spoken import read_manifest
    from edge.cli_errors import CliError
    from edge.commands.common import profile_or_exit

    profile_or_exit(args.profile)
    out = results_dir(args.out)
    wanted = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SUITES]
    if unknown:
        raise CliError(f"unknown suite(s) {', '.join(unknown)}: choose from {', '.join(SUITES)}")
    # fail now, not after an hour of other suites, when an input is missing
    massive = massive_path(args.data) if "nlu" in wanted else None
    if {"asr", "pipeline", "profiles"} & set(wanted):
        read_manifest(args.spoken_set)
    commands = suite_commands(args, massive)
    state_path = out / "all.json"
    state: dict[str, Any] = {"suites": {}}
    if state_path.is_file() and not args.fresh:
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except ValueError:
            state = {"suites": {}}
    started = time.perf_counter()
    failed = []
    for i, suite in enumerate(wanted, 1):
        cmd = commands[suite]
        done = state["suites"].get(suite)
        if done and done.get("status") == "ok" and done.get("command") == _comparable(cmd):
            print(f"[{i}/{len(wanted)}] {suite}: done in an earlier run ({done['seconds']:.0f} s), skipped",
                  file=sys.stderr)
            continue
        print(f"[{i}/{len(wanted)}] edge bench {' '.join(cmd)}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-m", "edge.cli", "bench", *cmd], stdout=subprocess.DEVNULL)
        except KeyboardInterrupt:
            print(f"interrupted in {suite}: run the same command again to resume", file=sys.stderr)
            return 130
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        if proc.returncode != 0:
            failed.append(suite)
        state["suites"][suite] = {"status": status, "command": _comparable(cmd),
                                  "seconds": round(time.perf_counter() - t0, 1), "date": time.strftime("%Y-%m-%d")}
        write_atomic(state_path, json.dumps(state, indent=2) + "\n")
    state["total_seconds"] = round(sum(s["seconds"] for s in state["suites"].values()), 1)
    state["this_run_seconds"] = round(time.perf_counter() - started, 1)
    state["profile"] = args.profile
    write_atomic(state_path, json.dumps(state, indent=2) + "\n")
    from edge.bench.report import render

    for path in render(out, out):
        print(f"wrote {path}", file=sys.stderr)
    if args.report_dir:
        for path in render(out, args.report_dir):
            print(f"wrote {path}", file=sys.stderr)
    print(f"edge bench all: {len(wanted) - len(failed)} of {len(wanted)} suites ok in "
          f"{state['total_seconds'] / 60:.1f} min (all runs together)", file=sys.stderr)
    if failed:
        print(f"edge bench all: failed: {', '.join(failed)} (their errors are above)", file=sys.stderr)
        return 1
    return 0


def _comparable(cmd: list[str]) -> list[str]:
    """The command without the baseline choice, which changes from 'train' to the saved file after one run."""
    out = list(cmd)
    if "--baseline" in out:
        i = out.index("--baseline")
        del out[i : i + 2]
    return out
