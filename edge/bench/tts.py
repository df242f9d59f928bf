"""`edge bench tts`: Piper against espeak-ng in the same run, on the same replies.

Per engine and language: time to the first audio chunk (the reply's first sentence or clause, as the
pipeline plays it), total synthesis time, real-time factor (synthesis seconds per second of audio), and the
load time. Replies are typical assistant answers (times, numbers, questions) in each language. The phrase
cache is bypassed, so every figure is real synthesis. Results: JSON plus a Markdown table.

``--voices piper,hibari-en-us-heart`` measures those engines and manifest voices instead (each in the listed
locales it speaks). ``--roundtrip`` measures instead whether each voice is understood by the assistant's own
speech recognition (:mod:`edge.bench.roundtrip`); a ``--report`` page keeps the round trip's section when it is
rewritten.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from edge.bench.results import write_atomic

__all__ = ["REPLIES", "add_arguments", "bench_engine", "run_tts_bench"]

REPLIES: dict[str, list[str]] = {
    "en-US": ["It's 7:30 AM.", "Alarm set for 6:45 tomorrow morning.", "Sorry, I can't check the weather without "
              "an internet connection.", "The answer is 1,234.5.", "Your shopping list has 3 items: milk, eggs "
              "and bread. Do you want to add something?"],
    "de-DE": ["Es ist 7:30 Uhr.", "Der Wecker ist auf 6:45 Uhr morgen gestellt.", "Das Ergebnis ist 42."],
    "fr-FR": ["Il est 7h30.", "Le réveil est réglé pour demain à 6h45.", "Le résultat est 42."],
    "es-ES": ["Son las 7:30.", "La alarma está puesta para mañana a las 6:45.", "El resultado es 42."],
    "ja-JP": ["今は七時半です。", "明日の六時四十五分にアラームを設定しました。"],
    "hi-IN": ["अभी साढ़े सात बजे हैं।", "परिणाम बयालीस है।"],
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--locales", nargs="*",
                   help=f"default: {' '.join(REPLIES)} (--roundtrip: every locale with a voice)")
    p.add_argument("--repeat", type=int, default=3, help="synthesise each reply this many times (median kept)")
    p.add_argument("--profile", help="device profile: Piper's threads and the memory budget (default: desktop)")
    p.add_argument("--threads", type=int, help="Piper's onnxruntime threads (default: the profile's)")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="results folder (JSON)")
    p.add_argument("--report", type=Path, help="also write the Markdown table here")
    from edge.bench.roundtrip import add_arguments as roundtrip_arguments

    roundtrip_arguments(p)


def bench_engine(engine: Any, replies: list[str], repeat: int) -> dict[str, float]:
    """Median first-chunk time, total time, audio seconds and real-time factor over the replies."""
    first, total, audio, rtf = [], [], [], []
    for text in replies:
        runs = []
        for _ in range(max(1, repeat)):
            engine.__dict__.pop("_phrase_cache", None)  # measure synthesis, not the cache
            t0 = time.perf_counter()
            t_first = None
            seconds = 0.0
            for chunk in engine.stream(text):
                if t_first is None:
                    t_first = time.perf_counter() - t0
                seconds += chunk.samples.size / chunk.rate
            runs.append((t_first or 0.0, time.perf_counter() - t0, seconds))
        f, t, a = (statistics.median(x) for x in zip(*runs))
        first.append(f * 1000)
        total.append(t * 1000)
        audio.append(a)
        rtf.append(t / a if a else float("nan"))
    return {"first_ms_p50": statistics.median(first), "total_ms_p50": statistics.median(total),
            "audio_s_mean": statistics.fmean(audio), "rtf_p50": statistics.median(rtf), "replies": len(replies)}


def run_tts_bench(args: argparse.Namespace) -> int:
    if getattr(args, "roundtrip", False):
        from edge.bench.roundtrip import run_roundtrip

        return run_roundtrip(args)
    from edge.bench.common import MemoryGuard, Progress, machine, results_dir
    from edge.cli_errors import CliError
    from edge.commands.common import profile_or_exit
    from edge.tts import create_tts
    from edge.tts.base import TtsError

    profile = profile_or_exit(args.profile)
    threads = args.threads or profile.tts.threads
    locales = args.locales or list(REPLIES)
    unknown = [loc for loc in locales if loc not in REPLIES]
    if unknown:
        raise CliError(f"no benchmark replies for {', '.join(unknown)}; known: {', '.join(REPLIES)}")
    out = results_dir(args.out)
    rows = []
    jobs = _jobs(locales, getattr(args, "voices", None))
    with MemoryGuard(profile.budget.memory_mb) as guard, Progress("tts") as bar:
        for i, (locale, engine_name) in enumerate(jobs):
            bar.update(i, len(jobs), f"{locale} {engine_name}")
            t0 = time.perf_counter()
            with guard.stage(f"tts: {engine_name} {locale}"):
                try:
                    weights = profile.tts.piper_weights
                    if engine_name in ("piper", "espeak-ng"):
                        engine = create_tts(locale, engine=engine_name, threads=threads, piper_weights=weights)
                    else:  # a manifest voice by id (--voices)
                        engine = create_tts(locale, voice=engine_name, threads=threads, piper_weights=weights)
                except TtsError as exc:
                    rows.append({"locale": locale, "engine": engine_name, "skipped": str(exc)})
                    continue
                load_ms = (time.perf_counter() - t0) * 1000
                result = bench_engine(engine, REPLIES[locale], args.repeat)
            rows.append({"locale": locale, "engine": engine_name, "voice": repr(engine), "load_ms": load_ms,
                         **result})
            del engine
        bar.update(len(jobs), len(jobs))
    report = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "profile": profile.name, "threads": threads,
              "repeat": args.repeat, "rows": rows}
    write_atomic(out / "tts.json", json.dumps(report, indent=2))
    md = markdown(report)
    write_atomic(out / "tts.md", md)
    print(md)
    if args.report:
        from edge.bench.roundtrip import keep_section

        write_atomic(args.report, keep_section(args.report, md))
    return 0


def _jobs(locales: list[str], voices: str | None) -> list[tuple[str, str]]:
    """(locale, engine or manifest voice id) to measure: Piper and espeak-ng per locale, or with ``--voices``
    (comma-separated: piper, espeak-ng and/or manifest voice ids) those, each in the listed locales it speaks."""
    from edge.cli_errors import CliError
    from edge.models import load_manifest

    if not voices:
        return [(locale, engine) for locale in locales for engine in ("piper", "espeak-ng")]
    manifest = load_manifest()
    jobs = []
    for voice in (v.strip() for v in voices.split(",") if v.strip()):
        if voice in ("piper", "espeak-ng"):
            jobs += [(locale, voice) for locale in locales]
            continue
        entry = manifest.entries.get(voice)
        if entry is None or entry.kind != "tts":
            known = ", ".join(e.id for e in manifest.entries.values() if e.kind == "tts")
            raise CliError(f"--voices {voice}: not a voice; give piper, espeak-ng or a manifest voice ({known})")
        jobs += [(locale, voice) for locale in locales if locale in entry.locales]
    return jobs


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# TTS benchmark: Piper against espeak-ng (and other voices)",
        "",
        f"Generated by `edge bench tts` on {report['date']} (Piper on {report['threads']} threads, median of "
        f"{report['repeat']} runs per reply, phrase cache bypassed). No Piper voice is installed for a "
        "language without a row for it.",
        "",
        "| locale | engine or voice | first audio p50 ms | whole reply p50 ms | real-time factor p50 | load ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        if "skipped" in r:
            continue
        lines.append(f"| {r['locale']} | {r['engine']} | {r['first_ms_p50']:.0f} | {r['total_ms_p50']:.0f} | "
                     f"{r['rtf_p50']:.3f} | {r['load_ms']:.0f} |")
    return "\n".join(lines) + "\n"
