"""`edge bench pipeline`: the whole voice pipeline, from audio: accuracy, latency, memory, CPU.

Two parts, both under the chosen device profile (threads, and its memory budget as a hard limit):

* **accuracy** (:mod:`edge.bench.accuracy`): the spoken MASSIVE test set (`edge bench spoken-set`) through
  VAD, ASR and NLU as fast as the CPU allows: intent accuracy, slot F1, exact match and WER per voice and
  noise condition, next to the same NLU on the gold text; CPU seconds per utterance. Resumable.
* **latency**: the real LibriSpeech utterances, Whisper's JFK clip and Picovoice's English command from
  ``<data>/audio``, plus ``--latency-clips N`` spoken MASSIVE commands, each fed in real time (32 ms blocks,
  like a microphone) and followed by a second of silence, replies into a null sink. Per turn:

  * ``latency_ms``: from the arrival of the end of speech (the start of the first silent VAD window) to
    the first reply sample handed to the sink, as the pipeline measures it;
  * ``true_latency_ms``: the same from the last sample above -35 dB of the clip's peak (energy, with
    hindsight): the user's true end of speech, never later than the VAD's;
  * each stage's share: the silence wait, the ASR result's wait after the end, NLU, reply, first TTS chunk.

Peak RSS is measured in a fresh process that loads the profile's English pipeline and runs it once
(``edge.pipeline.memprobe``), so the benchmark's own bookkeeping does not count.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.bench.results import write_atomic

__all__ = ["add_arguments", "real_clips", "run_pipeline_bench"]

_LIBRISPEECH = "arm_mlek_asr"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from edge.bench.common import data_argument
    from edge.bench.spoken import default_spoken_dir

    data_argument(p)
    p.add_argument("--profile", help="device profile (default: desktop)")
    p.add_argument("--spoken-set", type=Path, default=default_spoken_dir(),
                   help="spoken MASSIVE set from `edge bench spoken-set` (default: %(default)s)")
    p.add_argument("--limit", type=int, default=0,
                   help="accuracy: at most this many clips per (locale, voice, condition); 0 = all")
    p.add_argument("--locales", default="en-US", help="accuracy: comma-separated locales (default en-US)")
    p.add_argument("--conditions", default="clean,10 dB", help="accuracy: 'clean' and/or noisy rows ('10 dB')")
    p.add_argument("--latency-clips", type=int, default=30,
                   help="spoken MASSIVE commands fed in real time for latency, besides the real clips (0 = none)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-RSS probe")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="results folder")
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


def real_clips(data: Path) -> list[dict[str, Any]]:
    """The real English recordings under ``data/audio`` with their transcripts (None where unknown)."""
    from edge.audio import read_audio

    audio = data / "audio"
    clips = []
    libri = audio / _LIBRISPEECH
    if libri.is_dir():
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


def _latency_clips(root: Path, clips: list[Any], n: int) -> list[dict[str, Any]]:
    from edge.bench.spoken import load_clip, select

    picked = select(clips, ["en-US"], ["piper", "espeak-ng"], ["clean"], limit=max(1, n // 2)) if n > 0 else []
    return [{"set": f"massive-{c.engine}", "name": c.id, "ref": c.text, "intent": c.intent,
             "audio": load_clip(root, c)} for c in picked[:n]]


def _run_latency(pipeline: Any, recorder: Any, clips: list[dict[str, Any]], block_ms: int, guard: Any,
                 bar: Any) -> list[dict[str, Any]]:
    from edge.audio.pace import paced, with_trailing_silence

    rows = []
    for i, clip in enumerate(clips):
        bar.update(i, len(clips), clip["name"])
        pipeline.turns = []
        chunks = paced(with_trailing_silence([clip["audio"]], 1.0), block_ms=block_ms)
        cpu0 = time.process_time()
        with guard.stage("pipeline en-US: real-time turn (VAD, ASR, NLU, reply, TTS)"):
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
    bar.update(len(clips), len(clips))
    return rows


def run_pipeline_bench(args: argparse.Namespace) -> int:
    from edge.assembly import FrontEnd, assemble
    from edge.audio.sink import NullSink
    from edge.bench.accuracy import run_accuracy, summarise_accuracy
    from edge.bench.common import MemoryGuard, PartialResults, Progress, results_dir, scratch_data_dir
    from edge.bench.spoken import read_manifest, select
    from edge.cli_errors import CliError
    from edge.commands.common import profile_or_exit
    from edge.pipeline.events import EventBus, EventRecorder
    from edge.pipeline.loader import PipelineError
    from edge.pipeline.memprobe import measure

    profile = profile_or_exit(args.profile)
    if not (args.data / "audio").is_dir():
        raise CliError(f"--data {args.data}: no audio/ folder there (the shared data folder, or set EDGE_DATA)")
    out = results_dir(args.out)
    manifest = read_manifest(args.spoken_set)
    locales = [s.strip() for s in args.locales.split(",") if s.strip()]
    conditions = [s.strip() for s in args.conditions.split(",") if s.strip()]
    t_start = time.perf_counter()
    with MemoryGuard(profile.budget.memory_mb) as guard:
        picked = select(manifest, locales, None, conditions, limit=args.limit or None)
        settings = {"profile": profile.name, "spoken_set": str(args.spoken_set.resolve()), "clips": len(picked),
                    "first": picked[0].id if picked else None}
        partial = PartialResults(out, f"pipeline-accuracy-{profile.name}", settings)
        with Progress("pipeline accuracy") as bar:
            if partial.resumed:
                print(f"resuming: {partial.resumed} clips already scored", file=sys.stderr)
            try:
                acc_rows = run_accuracy(profile, args.spoken_set, picked, partial, progress=bar.update,
                                        guard=guard)
            except PipelineError as exc:
                raise CliError(str(exc)) from None
            finally:
                partial.close()
        accuracy = {"clips": len(acc_rows), "groups": summarise_accuracy(acc_rows),
                    "cpu_s": round(sum(r["cpu_s"] for r in acc_rows), 1)}
        clips = real_clips(args.data) + _latency_clips(args.spoken_set, manifest, args.latency_clips)
        bus = EventBus()
        recorder = EventRecorder()
        bus.subscribe(recorder)
        try:
            with guard.stage("pipeline en-US: loading VAD, ASR, NLU, TTS"):
                pipeline = assemble(profile, "en-US", FrontEnd(sink=NullSink(), bus=bus,
                                                               data_dir=scratch_data_dir())).pipeline
        except PipelineError as exc:
            raise CliError(str(exc)) from None
        with Progress("pipeline latency (real time)") as bar:
            rows = _run_latency(pipeline, recorder, clips, profile.audio.block_ms, guard, bar)
        pipeline.close()
        guard.check()
    memory = None if args.no_memory else measure("pipeline", str(profile.path), "en-US")
    result = _summarise(rows, memory, profile, time.perf_counter() - t_start)
    result["accuracy"] = accuracy
    result["bench_peak_rss_mb"] = round(guard.peak_mb, 1)
    result["command"] = " ".join(["edge", *sys.argv[1:]]) if sys.argv[1:3] == ["bench", "pipeline"] else None
    path = out / f"pipeline-{profile.name}.json"
    write_atomic(path, json.dumps(result, indent=2, default=str))
    partial.finish()
    md = markdown(result)
    write_atomic(out / f"pipeline-{profile.name}.md", md)
    print(md)
    if args.report:
        write_atomic(args.report, md)
    print(f"results: {path}", file=sys.stderr)
    return 0


def _pct(xs: list[float], q: float) -> float | None:
    return float(np.percentile(xs, q)) if xs else None


def _summarise(rows: list[dict], memory: dict | None, profile: Any, wall_s: float) -> dict:
    from edge.asr.wer import corpus_wer
    from edge.bench.common import machine

    timed = [r for r in rows if "latency_ms" in r]
    lat = [r["latency_ms"]["total"] for r in timed]
    true_lat = [r["true_latency_ms"] for r in timed]
    stages = {}
    for key in ("endpoint_wait", "asr", "nlu", "route", "tts_first"):
        vals = [r["latency_ms"].get(key, 0.0) for r in timed]
        stages[key] = {"p50": _pct(vals, 50), "mean": statistics.fmean(vals) if vals else None}
    synthesised = [r["latency_ms"]["total"] for r in timed if not r.get("first_chunk_cached")]
    libri = [(r["ref"], r["hyp"]) for r in rows if r["set"] == "librispeech"]
    spoken = [r for r in rows if r["set"].startswith("massive-")]
    return {
        "profile": profile.name,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "clips": len(rows),
        "spoken": sum(r["set"].startswith("massive-") for r in rows),
        "wall_s": round(wall_s, 1),
        "latency_ms": {"p50": _pct(lat, 50), "p95": _pct(lat, 95), "n": len(lat)},
        "true_latency_ms": {"p50": _pct(true_lat, 50), "p95": _pct(true_lat, 95)},
        "first_chunk_cached": sum(bool(r.get("first_chunk_cached")) for r in timed),
        "latency_synthesised_first_ms": {"p50": _pct(synthesised, 50), "p95": _pct(synthesised, 95),
                                         "n": len(synthesised)},
        "speculative_turns": sum(bool(r.get("speculative")) for r in timed),
        "stages_ms": stages,
        "wer_librispeech": corpus_wer(libri) if libri else None,
        "wer_all_real": corpus_wer([(r["ref"], r["hyp"]) for r in rows
                                    if r["ref"] and not r["set"].startswith("massive-")]),
        "intent_acc_spoken": sum(r["intent"] == r["expected_intent"] for r in spoken) / len(spoken) if spoken else None,
        "cpu_s_per_utterance": statistics.fmean(r["cpu_s"] for r in rows) if rows else None,
        "memory": memory,
        "budget": {"memory_mb": profile.budget.memory_mb, "latency_ms": profile.budget.latency_ms},
        "rows": rows,
    }


def _f(x: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if x is None else fmt.format(x)


def _accuracy_lines(acc: dict[str, Any]) -> list[str]:
    if not acc:
        return []
    groups = acc["groups"]
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    lines = ["## Accuracy from audio (spoken MASSIVE test set)", ""]
    for cond, floor in (("clean", 0.85), ("10 dB", 0.80)):
        g = groups.get(f"en-US | all voices | {cond}")
        if g:
            lines.append(f"- en-US {cond}: intent accuracy {g['intent_acc'] * 100:.1f}% over {g['n']} clips "
                         f"(target >= {floor * 100:.0f}%: {met(g['intent_acc'] >= floor)}).")
    lines += [
        "",
        f"{acc['clips']} clips through VAD, ASR and NLU ({acc['cpu_s']:.0f} CPU s). Slots score when type and "
        "spoken form of the value match a gold slot. \"Text\" columns: the same NLU on MASSIVE's gold text, "
        "so the gap is what hearing costs.",
        "",
        "| locale | voice | condition | n | intent acc | slot F1 | exact match | WER | text intent acc | "
        "text slot F1 | CPU s/utt |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, g in groups.items():
        locale, voice, cond = key.split(" | ")
        lines.append(f"| {locale} | {voice} | {cond} | {g['n']} | {g['intent_acc'] * 100:.1f}% | "
                     f"{g['slot_f1'] * 100:.1f} | {g['exact_match'] * 100:.1f}% | {g['wer'] * 100:.1f}% | "
                     f"{g['text_intent_acc'] * 100:.1f}% | {g['text_slot_f1'] * 100:.1f} | "
                     f"{g['cpu_s_per_utt']:.2f} |")
    return lines + [""]


def markdown(r: dict) -> str:
    lat, st, syn = r["latency_ms"], r["stages_ms"], r["latency_synthesised_first_ms"]
    total = sum((v["mean"] or 0) for v in st.values()) or 1
    names = {"endpoint_wait": "endpointing silence wait", "asr": "ASR result (wait after the end)",
             "nlu": "NLU", "route": "reply (router)", "tts_first": "first TTS chunk"}
    mem = r["memory"]
    peak = mem["peak_mb"] if mem else None
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    command = r.get("command") or f"edge bench pipeline --profile {r['profile']}"
    lines = [
        f"# Pipeline benchmark: profile `{r['profile']}`",
        "",
        f"Generated by `{command}` on {r['date']} ({r['machine']}) in {r['wall_s']:.0f} s. "
        "Timings on this shared 2-core machine are noisy.",
        "",
        *_accuracy_lines(r.get("accuracy") or {}),
        "## Latency, memory and real speech",
        "",
        f"{r['clips']} clips, each fed in real time in 32 ms blocks like a microphone, replies to a null sink.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| end of speech (VAD) to first reply audio, p50 / p95 | {_f(lat['p50'])} / {_f(lat['p95'])} ms "
        f"| p50 <= 500 ms: {met(lat['p50'] is not None and lat['p50'] <= 500)}; p95 <= 800 ms: "
        f"{met(lat['p95'] is not None and lat['p95'] <= 800)} |",
        f"| true end of speech (energy, hindsight) to first reply audio, p50 / p95 | "
        f"{_f(r['true_latency_ms']['p50'])} / {_f(r['true_latency_ms']['p95'])} ms | |",
        "| end of speech (VAD) to first audio, turns whose first audio was not from the phrase cache, "
        f"p50 / p95 (n) | "
        f"{_f(syn['p50'])} / {_f(syn['p95'])} ms ({syn['n']}) | |",
        f"| peak RSS, English ASR + NLU + TTS loaded and run (fresh process) | {_f(peak)} MiB | <= 600 MiB: "
        f"{met(peak <= 600) if peak is not None else 'not measured'}; profile budget {r['budget']['memory_mb']} MiB |",
        f"| WER, real LibriSpeech utterances | {_f(r['wer_librispeech'] and r['wer_librispeech'] * 100, '{:.1f}')}% "
        f"| <= 10%: {met(r['wer_librispeech'] is not None and r['wer_librispeech'] <= 0.10)} |",
        f"| WER, all real clips with a transcript (LibriSpeech, JFK) | "
        f"{_f(r['wer_all_real'] * 100, '{:.1f}')}% | |",
        f"| intent accuracy, the spoken MASSIVE commands of the real-time run | "
        f"{_f(r['intent_acc_spoken'] and r['intent_acc_spoken'] * 100, '{:.1f}')}% | |",
        f"| CPU seconds per clip in real time (all threads) | {_f(r['cpu_s_per_utterance'], '{:.2f}')} | |",
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
