"""`edge bench pipeline`: the whole voice pipeline on real and synthesised speech, fed in real time.

Sets: the real LibriSpeech utterances, Whisper's JFK clip and Picovoice's English command from
``<data>/audio``, plus ``--spoken N`` MASSIVE en-US test commands spoken by the Piper voice (the same
voice the pipeline answers with; the spoken-MASSIVE suite of the benchmark issue varies voices and noise).

Every clip goes through the real pipeline of the chosen profile, paced like a microphone (32 ms
blocks in real time) and followed by a second of silence, replies into a null sink. Per turn:

* ``latency_ms``: from the arrival of the end of speech (the start of the first silent VAD window) to
  the first reply sample handed to the sink, as the pipeline measures it;
* ``true_latency_ms``: the same from the last sample above -35 dB of the clip's peak (energy, with
  hindsight): the user's true end of speech, never later than the VAD's;
* each stage's share: the silence wait, the ASR result's wait after the end, NLU, reply, first TTS chunk.

Peak RSS is measured in a fresh process that loads the profile's English pipeline and runs it once
(``edge.pipeline.memprobe``), so the benchmark's own test-set synthesis does not count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.bench.results import write_atomic

__all__ = ["add_arguments", "run_pipeline_bench"]

_LIBRISPEECH = "arm_mlek_asr"
_DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=Path(os.environ.get("EDGE_DATA", _DEFAULT_DATA)),
                   help="data folder with audio/ and massive-1.1/ (default ../shared/data or $EDGE_DATA)")
    p.add_argument("--profile", help="device profile (default: desktop)")
    p.add_argument("--spoken", type=int, default=20, help="MASSIVE en-US test commands spoken by Piper (0 = none)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-RSS probe")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="results folder (JSON)")
    p.add_argument("--report", type=Path, help="also write the Markdown summary here (docs/benchmarks/pipeline.md)")


def _energy_end(x: np.ndarray, rate: int = 16000) -> int:
    """The end of the last 10 ms frame within 35 dB of the loudest frame."""
    frame = rate // 100
    n = x.size // frame
    if n == 0:
        return x.size
    rms = np.sqrt((x[: n * frame].reshape(n, frame) ** 2).mean(axis=1) + 1e-12)
    loud = np.nonzero(rms >= rms.max() * 10 ** (-35 / 20))[0]
    return int((loud[-1] + 1) * frame) if loud.size else x.size


def _librispeech_refs(folder: Path) -> dict[str, str]:
    text = (folder / "files.md").read_text(encoding="utf-8")
    refs = {}
    for m in re.finditer(r"- (\S+\.wav) \(orig[^)]*\)\s*\n\s*- \"([^\"]+)\"", text):
        refs[m.group(1)] = m.group(2)
    return refs


def _real_clips(data: Path) -> list[dict[str, Any]]:
    from edge.audio import read_audio

    audio = data / "audio"
    clips = []
    libri = audio / _LIBRISPEECH
    for name, ref in sorted(_librispeech_refs(libri).items()):
        clips.append({"set": "librispeech", "name": name, "ref": ref, "audio": read_audio(libri / name)})
    jfk = audio / "whisper_jfk" / "jfk.flac"
    if jfk.exists():
        ref = "And so my fellow Americans ask not what your country can do for you ask what you can do for your country"
        clips.append({"set": "jfk", "name": jfk.name, "ref": ref, "audio": read_audio(jfk)})
    rhino = audio / "picovoice_rhino" / "test_within_context.wav"
    if rhino.exists():
        clips.append({"set": "picovoice", "name": rhino.name, "ref": None, "audio": read_audio(rhino)})
    return clips


def _spoken_massive(data: Path, n: int) -> list[dict[str, Any]]:
    if n <= 0:
        return []
    from edge.audio.resample import resample
    from edge.nlu.massive import load_massive
    from edge.tts import create_tts

    examples = load_massive(data / "massive-1.1" / "massive_1.1_jsonl.tar.gz", ["en-US"], ["test"])
    step = max(1, len(examples) // n)
    picked = examples[::step][:n]
    voice = create_tts("en-US", threads=2)
    clips = []
    for e in picked:
        spoken = voice.synthesize(e.utt)
        lead = np.zeros(8000, dtype=np.float32)  # half a second of silence before the command
        clips.append({"set": "massive-piper", "name": e.id, "ref": e.utt, "intent": e.intent,
                      "audio": np.concatenate([lead, resample(spoken.samples, spoken.rate)])})
    return clips


def _pct(xs: list[float], q: float) -> float | None:
    return float(np.percentile(xs, q)) if xs else None


def run_pipeline_bench(args: argparse.Namespace) -> int:
    from edge.audio.pace import paced, with_trailing_silence
    from edge.audio.sink import NullSink
    from edge.cli_errors import CliError
    from edge.pipeline.assistant import Pipeline
    from edge.pipeline.events import EventBus, EventRecorder
    from edge.pipeline.loader import PipelineError
    from edge.pipeline.memprobe import measure
    from edge.profiles import ProfileError, load_profile

    try:
        profile = load_profile(args.profile)
    except ProfileError as exc:
        raise CliError(str(exc)) from None
    if not (args.data / "audio").is_dir():
        raise CliError(f"--data {args.data}: no audio/ folder there (the shared data folder, or set EDGE_DATA)")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"--out {args.out}: cannot create: {exc.strerror or exc}") from None
    clips = _real_clips(args.data) + _spoken_massive(args.data, args.spoken)
    bus = EventBus()
    recorder = EventRecorder()
    bus.subscribe(recorder)
    try:
        pipeline = Pipeline.from_profile(profile, "en-US", sink=NullSink(), bus=bus)
    except PipelineError as exc:
        raise CliError(str(exc)) from None
    rows = []
    t_start = time.perf_counter()
    for i, clip in enumerate(clips, 1):
        print(f"\r[{i}/{len(clips)}] {clip['set']} {clip['name'][:40]:<40}", end="", file=sys.stderr, flush=True)
        pipeline.turns = []
        chunks = paced(with_trailing_silence([clip["audio"]], 1.0), block_ms=profile.audio.block_ms)
        cpu0 = time.process_time()
        turns = pipeline.run(chunks, live=True, source=clip["name"])
        cpu = time.process_time() - cpu0
        energy_end = _energy_end(clip["audio"])
        hyp = " ".join(t.transcript for t in turns)
        row = {"set": clip["set"], "name": clip["name"], "ref": clip["ref"], "hyp": hyp, "turns": len(turns),
               "cpu_s": round(cpu, 3), "expected_intent": clip.get("intent"),
               "intent": turns[-1].parse.intent if turns and turns[-1].parse else None}
        if turns and "total" in turns[-1].latency:
            last = turns[-1]
            voice_end_s = next(e.data["voice_end_s"] for e in reversed(recorder.events) if e.kind == "speech_end")
            row["latency_ms"] = last.latency
            row["true_latency_ms"] = last.latency["total"] + (voice_end_s * 16000 - energy_end) / 16
            first = next(e.data for e in reversed(recorder.events) if e.kind == "first_audio")
            # compute_ms ~0: the first chunk came from the TTS phrase cache ("Sorry," synthesised at start-up)
            row["first_chunk_cached"] = first["compute_ms"] < 1.0
            row["speculative"] = first["speculative"]
        rows.append(row)
    print(file=sys.stderr)
    pipeline.close()
    memory = None if args.no_memory else measure("pipeline", str(profile.path), "en-US")
    result = _summarise(rows, memory, profile, time.perf_counter() - t_start)
    path = args.out / f"pipeline-{profile.name}.json"
    write_atomic(path, json.dumps(result, indent=2, default=str))
    md = _markdown(result)
    print(md)
    if args.report:
        write_atomic(args.report, md)
    print(f"results: {path}", file=sys.stderr)
    return 0


def _summarise(rows: list[dict], memory: dict | None, profile: Any, wall_s: float) -> dict:
    from edge.asr.wer import corpus_wer

    timed = [r for r in rows if "latency_ms" in r]
    lat = [r["latency_ms"]["total"] for r in timed]
    true_lat = [r["true_latency_ms"] for r in timed]
    stages = {}
    for key in ("endpoint_wait", "asr", "nlu", "route", "tts_first"):
        vals = [r["latency_ms"].get(key, 0.0) for r in timed]
        stages[key] = {"p50": _pct(vals, 50), "mean": statistics.fmean(vals) if vals else None}
    synthesised = [r["latency_ms"]["total"] for r in timed if not r.get("first_chunk_cached")]
    libri = [(r["ref"], r["hyp"]) for r in rows if r["set"] == "librispeech"]
    spoken = [r for r in rows if r["set"] == "massive-piper"]
    return {
        "profile": profile.name,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
                   f"{platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "clips": len(rows),
        "spoken": sum(r["set"] == "massive-piper" for r in rows),
        "wall_s": round(wall_s, 1),
        "latency_ms": {"p50": _pct(lat, 50), "p95": _pct(lat, 95), "n": len(lat)},
        "true_latency_ms": {"p50": _pct(true_lat, 50), "p95": _pct(true_lat, 95)},
        "first_chunk_cached": sum(bool(r.get("first_chunk_cached")) for r in timed),
        "latency_synthesised_first_ms": {"p50": _pct(synthesised, 50), "p95": _pct(synthesised, 95),
                                         "n": len(synthesised)},
        "speculative_turns": sum(bool(r.get("speculative")) for r in timed),
        "stages_ms": stages,
        "wer_librispeech": corpus_wer(libri) if libri else None,
        "wer_all_real": corpus_wer([(r["ref"], r["hyp"]) for r in rows if r["ref"] and r["set"] != "massive-piper"]),
        "intent_acc_spoken": sum(r["intent"] == r["expected_intent"] for r in spoken) / len(spoken) if spoken else None,
        "cpu_s_per_utterance": statistics.fmean(r["cpu_s"] for r in rows) if rows else None,
        "memory": memory,
        "budget": {"memory_mb": profile.budget.memory_mb, "latency_ms": profile.budget.latency_ms},
        "rows": rows,
    }


def _f(x: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if x is None else fmt.format(x)


def _markdown(r: dict) -> str:
    lat, st, syn = r["latency_ms"], r["stages_ms"], r["latency_synthesised_first_ms"]
    total = sum((v["mean"] or 0) for v in st.values()) or 1
    names = {"endpoint_wait": "endpointing silence wait", "asr": "ASR result (wait after the end)",
             "nlu": "NLU", "route": "reply (router)", "tts_first": "first TTS chunk"}
    mem = r["memory"]
    peak = mem["peak_mb"] if mem else None
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    lines = [
        f"# Pipeline benchmark: profile `{r['profile']}`",
        "",
        f"Generated by `edge bench pipeline --profile {r['profile']} --spoken {r.get('spoken', 20)} "
        f"--report docs/benchmarks/pipeline.md` on "
        f"{r['date']} ({r['machine']}); {r['clips']} clips in {r['wall_s']:.0f} s, each fed in real time in "
        "32 ms blocks like a microphone, replies to a null sink. Timings on this shared 2-core machine are noisy.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| end of speech (VAD) to first reply audio, p50 / p95 | {_f(lat['p50'])} / {_f(lat['p95'])} ms "
        f"| p50 <= 500 ms: {met(lat['p50'] is not None and lat['p50'] <= 500)} |",
        f"| true end of speech (energy, hindsight) to first reply audio, p50 / p95 | "
        f"{_f(r['true_latency_ms']['p50'])} / {_f(r['true_latency_ms']['p95'])} ms | |",
        "| end of speech (VAD) to first audio, turns whose first audio was not from the phrase cache, "
        f"p50 / p95 (n) | "
        f"{_f(syn['p50'])} / {_f(syn['p95'])} ms ({syn['n']}) | |",
        f"| peak RSS, English ASR + NLU + TTS loaded and run | {_f(peak)} MiB | <= 600 MiB: "
        f"{met(peak is not None and peak <= 600)} |",
        f"| WER, real LibriSpeech utterances | {_f(r['wer_librispeech'] and r['wer_librispeech'] * 100, '{:.1f}')}% "
        f"| <= 10%: {met(r['wer_librispeech'] is not None and r['wer_librispeech'] <= 0.10)} |",
        f"| WER, all real clips with a transcript (LibriSpeech, JFK) | "
        f"{_f(r['wer_all_real'] * 100, '{:.1f}')}% | |",
        f"| intent accuracy, MASSIVE en-US test commands spoken by Piper | "
        f"{_f(r['intent_acc_spoken'] and r['intent_acc_spoken'] * 100, '{:.1f}')}% | |",
        f"| CPU seconds per clip (all threads) | {_f(r['cpu_s_per_utterance'], '{:.2f}')} | |",
        "",
        f"Turns: {lat['n']} timed; the decode started during the silence wait (speculation) and was used in "
        f"{r['speculative_turns']}; the first reply audio came from the TTS phrase cache in "
        f"{r['first_chunk_cached']} (replies opening with a short clause such as \"Sorry,\", synthesised once at "
        "start-up; the rest of the reply is synthesised while that plays).",
        "",
        "Each stage's share of the latency (means over the turns; ASR, NLU and the first TTS chunk run during the "
        "silence wait when speculation works, so only the part left after the end is counted):",
        "",
        "| stage | p50 ms | mean ms | share |",
        "|---|---|---|---|",
    ]
    for key, v in st.items():
        lines.append(f"| {names[key]} | {_f(v['p50'])} | {_f(v['mean'])} | {_f((v['mean'] or 0) / total * 100)}% |")
    lines += ["", "Per clip:", "", "| set | clip | heard | latency ms | true latency ms |", "|---|---|---|---|---|"]
    for row in r["rows"]:
        latency = row.get("latency_ms", {}).get("total")
        lines.append(f"| {row['set']} | {row['name']} | {row['hyp'][:70]} | {_f(latency)} | "
                     f"{_f(row.get('true_latency_ms'))} |")
    return "\n".join(lines) + "\n"
