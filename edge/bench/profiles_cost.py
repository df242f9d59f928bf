"""`edge bench profiles`: what each device profile's choices cost in memory and latency, here and on a Pi.

Per profile: each stage's peak resident memory, loaded and run once in a fresh process
(:mod:`edge.pipeline.memprobe`), checked against the profile's budget; then the profile's pipeline fed
spoken MASSIVE commands in real time, giving end-of-speech to first-audio latency and the compute part of
each stage.

Raspberry Pi figures are **estimates**, not measurements: compute times scaled by published relative speeds
(:data:`PI_FACTORS`), the profile's fixed waits (its silence wait) unscaled. Replace them with measurements
from a Pi (`edge bench profiles` runs there unchanged).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.bench.results import write_atomic

__all__ = ["PI_FACTORS", "add_arguments", "estimate_pi", "markdown", "run_profiles_bench"]

# How many times slower a stage's compute is on the board than on this machine (x86-64, 2 cores).
# Pi 4: Piper medium voices run about 2x faster than real time on a Pi 4 (PEERS.md, Piper's own figures)
# against 28x here (ASSETS.md): ~14x. Pi 5: Raspberry Pi's published 2-3x CPU speed-up over the Pi 4: ~14/2.5.
PI_FACTORS = {"rpi4": 14.0, "rpi5": 5.6}
_STAGES = ("vad", "asr", "nlu", "tts", "pipeline")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from edge.bench.spoken import default_spoken_dir

    p.add_argument("--profiles", help="comma-separated profiles (default: all in device_profiles/)")
    p.add_argument("--spoken-set", type=Path, default=default_spoken_dir(), help="spoken MASSIVE set")
    p.add_argument("--clips", type=int, default=8, help="spoken commands fed in real time per profile")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="results folder")
    p.add_argument("--report", type=Path, help="also write the Markdown summary here")


def estimate_pi(stage_ms: dict[str, float], wait_ms: float, factor: float) -> float:
    """End-of-speech to first audio on a board ``factor`` times slower: the silence wait is a setting, the
    rest is compute. Speculation hides ASR inside the wait here; on a slow board it rarely finishes in time,
    so the estimate charges the full ASR compute."""
    compute = stage_ms.get("asr_compute", 0.0) + stage_ms.get("nlu", 0.0) + stage_ms.get("tts_first", 0.0)
    return wait_ms + compute * factor


def _latency(profile: Any, root: Path, n: int, guard: Any) -> dict[str, Any]:
    from edge.assembly import FrontEnd, assemble
    from edge.audio.pace import paced, with_trailing_silence
    from edge.audio.sink import NullSink
    from edge.bench.common import scratch_data_dir
    from edge.bench.spoken import load_clip, read_manifest, select
    from edge.pipeline.events import EventBus, EventRecorder

    clips = select(read_manifest(root), ["en-US"], ["piper"], ["clean"], limit=n)[:n]
    bus = EventBus()
    rec = EventRecorder()
    bus.subscribe(rec)
    with guard.stage(f"{profile.name}: loading the pipeline"):
        pipeline = assemble(profile, "en-US", FrontEnd(sink=NullSink(), bus=bus, data_dir=scratch_data_dir())).pipeline
    totals, asr_compute, tts_first, nlu = [], [], [], []
    try:
        for clip in clips:
            audio = load_clip(root, clip)
            with guard.stage(f"{profile.name}: real-time turn"):
                turns = pipeline.run(paced(with_trailing_silence([audio], 1.0), block_ms=profile.audio.block_ms),
                                     live=True, source=clip.id)
            if turns and "total" in turns[-1].latency:
                lat = turns[-1].latency
                totals.append(lat["total"])
                nlu.append(lat.get("nlu", 0.0))
                transcript = next(e.data for e in reversed(rec.events) if e.kind == "transcript")
                first = next(e.data for e in reversed(rec.events) if e.kind == "first_audio")
                asr_compute.append(transcript["compute_ms"])
                tts_first.append(first["compute_ms"])
    finally:
        pipeline.close()
    med = lambda xs: float(statistics.median(xs)) if xs else None  # noqa: E731
    return {"n": len(totals), "p50_ms": med(totals), "p95_ms": float(np.percentile(totals, 95)) if totals else None,
            "asr_compute_ms": med(asr_compute), "nlu_ms": med(nlu), "tts_first_ms": med(tts_first)}


def run_profiles_bench(args: argparse.Namespace) -> int:
    from edge.bench.common import MemoryGuard, Progress, machine, results_dir
    from edge.cli_errors import CliError
    from edge.commands.common import profile_or_exit
    from edge.pipeline.loader import PipelineError
    from edge.pipeline.memprobe import measure
    from edge.profiles import list_profiles

    out = results_dir(args.out)
    names = [s.strip() for s in args.profiles.split(",")] if args.profiles else list_profiles()
    rows = []
    t0 = time.perf_counter()
    with Progress("profiles") as bar:
        for i, name in enumerate(names):
            profile = profile_or_exit(name)
            memory = {}
            for stage in _STAGES:
                bar.update(i * (len(_STAGES) + 1) + _STAGES.index(stage), len(names) * (len(_STAGES) + 1),
                           f"{name} {stage}")
                try:
                    memory[stage] = measure(stage, str(profile.path), "en-US")["peak_mb"]
                except RuntimeError as exc:
                    raise CliError(f"profile {name}: stage {stage} failed to load: {exc}") from None
            over = [s for s in _STAGES if memory[s] > profile.budget.memory_mb]
            bar.update(i * (len(_STAGES) + 1) + len(_STAGES), len(names) * (len(_STAGES) + 1), f"{name} latency")
            try:
                with MemoryGuard(None) as guard:
                    latency = _latency(profile, args.spoken_set, args.clips, guard)
            except PipelineError as exc:
                raise CliError(f"profile {name}: {exc}") from None
            wait = float(profile.vad.min_silence_ms)
            stage_ms = {"asr_compute": latency["asr_compute_ms"] or 0.0, "nlu": latency["nlu_ms"] or 0.0,
                        "tts_first": latency["tts_first_ms"] or 0.0}
            rows.append({
                "profile": name, "description": profile.description, "budget_mb": profile.budget.memory_mb,
                "latency_budget_ms": profile.budget.latency_ms, "memory_mb": memory, "over_budget": over,
                "choices": {"asr_threads": profile.asr.threads, "beam_size": profile.asr.beam_size,
                            "speculate_ms": profile.asr.speculate_ms, "min_silence_ms": profile.vad.min_silence_ms,
                            "tts_engine": profile.tts.engine, "tts_threads": profile.tts.threads,
                            "nlu_threads": profile.nlu.threads},
                "latency": latency,
                "estimates_ms": {board: round(estimate_pi(stage_ms, wait, f)) for board, f in PI_FACTORS.items()},
            })
        bar.update(1, 1)
    result = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "wall_s": round(time.perf_counter() - t0, 1),
              "pi_factors": PI_FACTORS, "profiles": rows,
              "command": " ".join(["edge", *sys.argv[1:]]) if sys.argv[1:3] == ["bench", "profiles"] else None}
    write_atomic(out / "profiles.json", json.dumps(result, indent=2))
    md = markdown(result)
    write_atomic(out / "profiles.md", md)
    if args.report:
        write_atomic(args.report, md)
    print(md)
    over = [(r["profile"], r["over_budget"]) for r in rows if r["over_budget"]]
    if over:
        name, stages = over[0]
        print(f"edge bench profiles: profile {name}: stage {stages[0]!r} does not fit its memory budget",
              file=sys.stderr)
        return 1
    return 0


def _f(x: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if x is None else fmt.format(x)


def markdown(r: dict[str, Any]) -> str:
    lines = [
        "# Device profiles: what each costs",
        "",
        f"Generated by `{r.get('command') or 'edge bench profiles'}` on {r['date']} ({r['machine']}) in "
        f"{r['wall_s']:.0f} s. Memory: each stage's peak RSS loaded and run once in a fresh process (the "
        "`pipeline` column is all of them together). Latency: spoken MASSIVE commands fed in real time.",
        "",
        "| profile | budget MiB | VAD | ASR | NLU | TTS | whole pipeline | fits | silence wait ms | ASR compute ms "
        "| first TTS chunk ms | end of speech to first audio p50 / p95 ms (n) | Pi 5 estimate ms | Pi 4 estimate ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in r["profiles"]:
        m, lat = p["memory_mb"], p["latency"]
        fits = "yes" if not p["over_budget"] else "NO: " + ", ".join(p["over_budget"])
        lines.append(
            f"| {p['profile']} | {p['budget_mb']} | {_f(m['vad'])} | {_f(m['asr'])} | {_f(m['nlu'])} | "
            f"{_f(m['tts'])} | {_f(m['pipeline'])} | {fits} | {p['choices']['min_silence_ms']} | "
            f"{_f(lat['asr_compute_ms'])} | {_f(lat['tts_first_ms'])} | {_f(lat['p50_ms'])} / {_f(lat['p95_ms'])} "
            f"({lat['n']}) | ~{p['estimates_ms']['rpi5']} | ~{p['estimates_ms']['rpi4']} |")
    f4, f5 = r["pi_factors"]["rpi4"], r["pi_factors"]["rpi5"]
    lines += [
        "",
        f"**Pi columns are estimates, not measurements**: the profile's silence wait plus the compute measured here "
        f"(ASR decode, NLU, first TTS chunk) times {f5:g} for a Pi 5 and {f4:g} for a Pi 4. Pi 4: Piper medium "
        "voices run about 2x faster than real time there against 28x here; Pi 5: Raspberry Pi's published 2-3x "
        "CPU speed-up over the Pi 4. Speculative decoding hides ASR inside the silence wait here; the estimate "
        "assumes it no longer does. Run `edge bench profiles` on a board to replace them.",
        "",
        "Choices per profile:",
        "",
        "| profile | ASR threads | beam | speculate ms | TTS engine | TTS threads | NLU threads |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in r["profiles"]:
        c = p["choices"]
        lines.append(f"| {p['profile']} | {c['asr_threads']} | {c['beam_size']} | {c['speculate_ms']} | "
                     f"{c['tts_engine']} | {c['tts_threads']} | {c['nlu_threads']} |")
    return "\n".join(lines) + "\n"
