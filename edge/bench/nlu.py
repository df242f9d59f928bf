"""`edge bench nlu`: MASSIVE accuracy, latency, size and memory of every NLU system, side by side.

All systems are measured in the same run on the same utterances: the student int8 with the char n-gram model
beside it (what ships) and alone,
the student fp32, the teacher (when its ONNX export is given) and the classic baseline (trained in
the run unless a saved one is given). Published figures are added as labelled reference rows.

The whole test split by default. `--sample N` takes a seeded random sample of N utterances per
locale, stratified over MASSIVE's 18 scenarios, and the report says so: never the first N lines of
a file, which in en-US cover 11 of the 18 scenarios. Models run one utterance at a time, as the
device runs them (dynamic int8 quantises activations per padded batch, so batches would measure
another model). Slot F1 is given both ways: exact character spans (what a device needs) and MASSIVE's
published convention (per word, per character in ja and zh), for a like-for-like comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from edge.bench.results import write_atomic
from edge.nlu.massive import Example, load_massive
from edge.nlu.metrics import Scores, average, massive_convention, per_locale

REFERENCE_ROWS = [  # MASSIVE paper (FitzGerald et al. 2022), test set, trained on all locales
    ("XLM-R base (270M), published", 85.1, 73.6, 63.7, 88.3, 78.7),
    ("mT5 base encoder, published", 86.1, 75.4, 65.9, 89.0, 80.4),
]
_RSS_PROBE = """
import sys, json
from edge.nlu.runtime import NluModel
from edge.pipeline.memprobe import peak_rss_mb
m = NluModel(sys.argv[1], threads=1, charngrams=sys.argv[3] == "1")
for t in json.loads(sys.argv[2]):
    m.parse(t)
print(peak_rss_mb())
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from edge.nlu.runtime import DEFAULT_MODEL_DIR

    p.add_argument("--data", type=Path, required=True, help="MASSIVE folder of <locale>.jsonl or tar.gz")
    p.add_argument("--locales", nargs="*", help="default: every locale in the data")
    p.add_argument("--split", default="test", choices=["train", "dev", "test"])
    p.add_argument("--sample", type=int, default=0,
                   help="a seeded random sample of this many utterances per locale, stratified by scenario "
                        "(default 0: the whole split)")
    p.add_argument("--seed", type=int, default=7, help="seed of --sample")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR / "student-int8.onnx")
    p.add_argument("--fp32", type=Path, default=DEFAULT_MODEL_DIR / "student-fp32.onnx",
                   help="the student before quantisation (skipped if the file does not exist)")
    p.add_argument("--teacher", type=Path, help="the teacher's ONNX export (tools.export_nlu --no-int8)")
    p.add_argument("--baseline", default="train",
                   help="'train' (train it now on the data's train split), a saved .pkl, or 'none'")
    p.add_argument("--save-baseline", type=Path, help="keep the baseline trained in this run here (.pkl)")
    p.add_argument("--profile", help="device profile: its NLU threads and memory budget (default: desktop)")
    p.add_argument("--latency-samples", type=int, default=400, help="utterances timed at batch 1 (0: no latency)")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="results folder")
    p.add_argument("--report", type=Path, help="also write the Markdown table here (docs/benchmarks/nlu.md)")


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def _model_bytes(path: Path) -> int:
    """The ONNX file and its external weights beside it (``<name>.data``, tools.export_nlu), if any."""
    weights = path.with_name(path.name + ".data")
    return path.stat().st_size + (weights.stat().st_size if weights.is_file() else 0)


def _latency(model_path: Path, threads: int, texts: list[str], charngrams: bool) -> dict:
    from edge.nlu.runtime import NluModel

    m = NluModel(model_path, threads=threads, charngrams=charngrams)
    for t in texts[:20]:
        m.parse(t)
    times = []
    for t in texts:
        t0 = time.perf_counter()
        m.parse(t)
        times.append((time.perf_counter() - t0) * 1000)
    return {"threads": threads, "p50_ms": round(_percentile(times, 0.5), 3),
            "p95_ms": round(_percentile(times, 0.95), 3), "mean_ms": round(statistics.fmean(times), 3)}


def _peak_rss_mb(model_path: Path, texts: list[str], charngrams: bool) -> float:
    out = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(model_path), json.dumps(texts[:50]),
                          "1" if charngrams else "0"],
                         capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip().splitlines()[-1]), 1)


def _evaluate_model(model_path: Path, examples: list[Example], threads: int, name: str,
                    charngrams: bool) -> list[tuple[str, set]]:
    from edge.bench.common import Progress
    from edge.nlu.runtime import NluModel

    m = NluModel(model_path, threads=threads, max_tokens=128, charngrams=charngrams)
    preds: list[tuple[str, set]] = []
    with Progress(f"nlu {name}") as bar:
        for i, e in enumerate(examples):
            if i % 500 == 0:
                bar.update(i, len(examples))
            p = m.parse(e.utt, e.locale)
            preds.append((p.intent or "", {(s.type, s.start, s.end) for s in p.slots}))
        bar.update(len(examples), len(examples))
    return preds


def stratified_sample(examples: list[Example], per_locale: int, seed: int) -> list[Example]:
    """``per_locale`` utterances of each locale drawn at random, each scenario in proportion to its share."""
    rng = random.Random(seed)
    by_loc: dict[str, dict[str, list[Example]]] = {}
    for e in examples:
        by_loc.setdefault(e.locale, {}).setdefault(e.scenario, []).append(e)
    out: list[Example] = []
    for loc in sorted(by_loc):
        groups = by_loc[loc]
        total = sum(len(g) for g in groups.values())
        want = min(per_locale, total)
        quota = {sc: max(1, round(want * len(g) / total)) for sc, g in groups.items()}
        picked = [e for sc in sorted(groups) for e in rng.sample(groups[sc], min(quota[sc], len(groups[sc])))]
        rng.shuffle(picked)
        out += picked[:want]
    return out


def _wins(system: dict, baseline: dict, locales: list[str]) -> dict:
    """Per-locale intent accuracy against the baseline of the same run: wins, losses and the worst gaps."""
    diffs = {loc: system["per_locale"][loc]["intent_acc"] - baseline["per_locale"][loc]["intent_acc"]
             for loc in locales}
    worst = sorted(diffs.items(), key=lambda kv: kv[1])[:3]
    return {"wins": sum(d > 0 for d in diffs.values()), "ties": sum(d == 0 for d in diffs.values()),
            "losses": sum(d < 0 for d in diffs.values()),
            "worst": [(loc, round(100 * d, 1)) for loc, d in worst]}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _markdown(res: dict) -> str:
    lines = [
        "# NLU benchmark (MASSIVE)", "",
        f"Generated by `{res['command']}` on {res['date']} ({res['machine']}).", "",
        f"Split: {res['split']}, {res['utterances']} utterances ({res['selection']}), {len(res['locales'])} locales. "
        "Every model parses one utterance at a time, as on the device. "
        "Averages are unweighted over locales, ca-ES excluded (reported in its own column), as in the MASSIVE paper. "
        "Slot F1 (exact) is span-level micro F1 where type and exact character span must match; slot F1 (MASSIVE) "
        "scores words by their first piece (characters in ja and zh) with adjacent same-type words merged, the "
        "convention of the published rows. Exact match needs the intent and every exact slot right. Latency is one "
        "utterance at a time, tokenisation included.", "",
        "| system | intent acc | slot F1 (exact) | slot F1 (MASSIVE) | exact match | en-US intent | en-US slot F1 "
        "(exact / MASSIVE) | ca-ES intent | size MB | p50 / p95 ms (1 thread) | p50 / p95 ms (profile threads) "
        "| peak RSS MB | locales won / lost vs baseline |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in res["systems"]:
        avg, loc = s["average"], s["per_locale"]
        en = loc.get("en-US", {})
        ca = loc.get("ca-ES", {})
        slot = "—" if s.get("intent_only") else _pct(avg["slot_f1"])
        slot_m = "—" if s.get("intent_only") else _pct(s["massive_slot_f1"]["average"])
        em = "—" if s.get("intent_only") else _pct(avg["exact_match"])
        en_slot = "—" if s.get("intent_only") or not en else (
            f"{_pct(en['slot_f1'])} / {_pct(s['massive_slot_f1']['per_locale']['en-US'])}")
        w = s.get("vs_baseline")
        wins = f"{w['wins']} / {w['losses']} (worst: " + ", ".join(f"{lc} {d:+.1f}" for lc, d in w["worst"]) + ")" \
            if w else "—"
        lat1, latn = s.get("latency_1"), s.get("latency_n")
        lat1_txt = f"{lat1['p50_ms']} / {lat1['p95_ms']}" if lat1 else "—"
        latn_txt = f"{latn['p50_ms']} / {latn['p95_ms']} ({latn['threads']})" if latn else "—"
        lines.append(
            f"| {s['name']} | {_pct(avg['intent_acc'])} | {slot} | {slot_m} | {em} | "
            f"{_pct(en['intent_acc']) if en else '—'} | {en_slot} | {_pct(ca['intent_acc']) if ca else '—'} | "
            f"{s.get('size_mb', '—')} | {lat1_txt} | {latn_txt} | "
            f"{s.get('peak_rss_mb', '—')} | {wins} |")
    for name, ia, sf, em, en_i, en_s in REFERENCE_ROWS:
        lines.append(f"| {name} | {ia} | — | {sf} | {em} | {en_i} | — / {en_s} | — | — | — | — | — | — |")
    names = [s["name"] for s in res["systems"]]
    lines += ["", "## Per locale: intent accuracy / slot F1 (exact) / slot F1 (MASSIVE) / exact match", "",
              "| locale | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for loc in res["locales"]:
        cells = []
        for s in res["systems"]:
            sc = s["per_locale"][loc]
            cells.append(_pct(sc["intent_acc"]) if s.get("intent_only") else
                         f"{_pct(sc['intent_acc'])} / {_pct(sc['slot_f1'])} / "
                         f"{_pct(s['massive_slot_f1']['per_locale'][loc])} / {_pct(sc['exact_match'])}")
        lines.append(f"| {loc} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run_nlu_bench(args: argparse.Namespace) -> int:
    from edge.bench.common import results_dir
    from edge.commands.common import profile_or_exit

    profile = profile_or_exit(args.profile)
    results_dir(args.out)
    return _run(args, profile)


def _run(args: argparse.Namespace, profile: Any) -> int:
    from edge.cli_errors import CliError

    try:
        examples = load_massive(args.data, args.locales, [args.split])
        train = load_massive(args.data, args.locales, ["train"]) if args.baseline == "train" else []
    except (FileNotFoundError, ValueError) as e:
        raise CliError(str(e)) from None
    selection = f"the whole {args.split} split"
    if args.sample:
        examples = stratified_sample(examples, args.sample, args.seed)
        selection = (f"a random sample of {args.sample} per locale stratified by scenario, seed {args.seed}; "
                     f"not the whole {args.split} split")
    locales = sorted({e.locale for e in examples})
    gold = [(e.intent, {(s.type, s.start, s.end) for s in e.spans}) for e in examples]
    locs = [e.locale for e in examples]
    rng = random.Random(7)
    lat_texts = [e.utt for e in rng.sample(examples, min(args.latency_samples, len(examples)))]

    systems = []
    from edge.nlu.runtime import CHARNGRAMS_FILE

    # (name, model, with the char n-gram model beside it): the fp32 row measures quantisation, against int8 alone
    models = [("student int8 (ships)", args.model, False)]
    charngrams = args.model.parent / CHARNGRAMS_FILE
    if charngrams.is_file():
        size = charngrams.stat().st_size / 1e6
        models = [(f"student int8 + char n-grams {size:.1f} MB (ships)", args.model, True),
                  ("student int8 alone", args.model, False)]
    models.append(("student fp32 alone" if charngrams.is_file() else "student fp32", args.fp32, False))
    if args.teacher:
        models.append(("teacher fp32 (e5-small, 12 layers)", args.teacher, False))
    for name, path, with_ngrams in models:
        if not path.is_file():
            if path == args.model or name.startswith("teacher"):
                raise CliError(f"model {path} not found")
            print(f"skipping {name}: {path} not found", file=sys.stderr)
            continue
        # The device's footprint: the model alone in a fresh process (this one holds MASSIVE), held to the budget.
        peak = _peak_rss_mb(path, lat_texts, with_ngrams)
        if peak > profile.budget.memory_mb:
            raise CliError(f"memory budget exceeded in stage 'nlu: {name}': {peak:.0f} MiB resident > budget "
                           f"{profile.budget.memory_mb} MiB of profile {profile.name}; raise [budget] memory_mb or "
                           "pick a lighter NLU model")
        t0 = time.time()
        preds = _evaluate_model(path, examples, profile.nlu.threads, name, with_ngrams)
        scores = per_locale(locs, gold, preds)
        massive = per_locale(locs, [(g[0], massive_convention(e.utt, g[1], e.locale)) for e, g in zip(examples, gold)],
                             [(p[0], massive_convention(e.utt, p[1], e.locale)) for e, p in zip(examples, preds)])
        systems.append({
            "name": name, "model": str(path), "eval_seconds": round(time.time() - t0, 1),
            "massive_slot_f1": {"average": average(massive).slot_f1,
                                "per_locale": {k: v.slot_f1 for k, v in massive.items()}},
            "size_mb": round((_model_bytes(path) + (charngrams.stat().st_size if with_ngrams else 0)) / 1e6, 1),
            "latency_1": _latency(path, 1, lat_texts, with_ngrams) if lat_texts else None,
            "latency_n": _latency(path, profile.nlu.threads, lat_texts, with_ngrams) if lat_texts else None,
            "peak_rss_mb": peak,
            "average": asdict(average(scores)), "per_locale": {k: asdict(v) for k, v in scores.items()},
        })
    if args.baseline != "none":
        from edge.bench.baseline import Baseline, train_baseline

        if args.baseline == "train":
            print(f"baseline: training on {len(train)} utterances", file=sys.stderr)
            base = train_baseline(train)
            if args.save_baseline:
                base.save(args.save_baseline)
        else:
            base = Baseline.load(Path(args.baseline))
        pred_intents = base.predict([e.utt for e in examples])
        preds = [(i, set()) for i in pred_intents]
        scores = per_locale(locs, gold, preds)
        systems.append({
            "name": f"TF-IDF char n-grams + logistic regression (intent only; trained in {base.train_seconds:.0f} s)",
            "intent_only": True, "average": asdict(average(scores)),
            "per_locale": {k: asdict(v) for k, v in scores.items()},
        })
        for s in systems[:-1]:
            s["vs_baseline"] = _wins(s, systems[-1], [lc for lc in locales if lc != "ca-ES"])
    res = {
        "command": " ".join(["edge", *sys.argv[1:]]) if sys.argv[1:3] == ["bench", "nlu"] else "edge bench nlu",
        "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "profile": profile.name, "split": args.split, "utterances": len(examples), "selection": selection,
        "locales": locales,
        "systems": systems,
    }
    write_atomic(args.out / "nlu.json", json.dumps(res, indent=2) + "\n")
    md = _markdown(res)
    write_atomic(args.out / "nlu.md", md)
    if args.report:
        write_atomic(args.report, md)
    print(md)
    return 0


__all__ = ["Scores", "add_arguments", "run_nlu_bench"]
