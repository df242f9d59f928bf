"""`edge bench report`: render a results folder into Markdown pages and PNG plots (docs/benchmarks/).

Reads whatever suites' JSON results are in the folder (nlu.json, asr.json, tts.json,
pipeline-<profile>.json, profiles.json, wake.json, all.json), writes one page per suite with that suite's own
renderer, a README.md summary with the targets and the published reference rows, and plots with matplotlib
(the ``bench`` extra). Every file is replaced whole (write to a temporary name, then rename).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.bench.results import write_atomic

__all__ = ["REFERENCE_ROWS", "add_arguments", "render", "run_report"]

# Published figures, shown as labelled reference rows beside ours (not measured here).
REFERENCE_ROWS = [
    ("MASSIVE paper: XLM-R base, text, 51-locale average / en-US", "intent acc 85.1% / 88.3%",
     "FitzGerald et al. 2022, test set"),
    ("MASSIVE paper: mT5 base encoder, text, 51-locale average / en-US", "intent acc 86.1% / 89.0%",
     "FitzGerald et al. 2022, test set"),
    ("Picovoice Rhino speech-to-intent, cafe and kitchen noise 6-24 dB", "97.6% commands understood "
     "(Amazon Lex 84.5%, Dialogflow 77.6%)", "Picovoice's benchmark, 619 utterances, one closed context"),
    ("Home Assistant Assist: end-of-speech silence wait", "700 ms by default", "Home Assistant docs"),
    ("Whisper on a Raspberry Pi 4 (Home Assistant users)", "5 s or more per command", "PEERS.md"),
    ("Vosk small model on a Pi 4", "1-2 s per command, ~300 MB RAM", "PEERS.md"),
]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", type=Path, default=Path("runs/bench"), help="results folder of the suites")
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks"), help="where the pages and plots go")
    p.add_argument("--no-plots", action="store_true", help="Markdown only (no matplotlib needed)")


def _load(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        print(f"edge bench report: {path} is not valid JSON (an interrupted run?), skipped", file=sys.stderr)
        return None


def _pages() -> list[tuple[str, str, Callable[[dict[str, Any]], str]]]:
    """(results file, page name, renderer) for every suite."""
    from edge.bench import barge_in, nlu, pipeline, profiles_cost, tts

    pages: list[tuple[str, str, Callable[[dict[str, Any]], str]]] = [
        ("nlu.json", "nlu.md", nlu._markdown),
        ("tts.json", "tts.md", tts.markdown),
        ("profiles.json", "profiles.md", profiles_cost.markdown),
    ]
    try:
        from edge.bench import asr

        pages.append(("asr.json", "asr.md", asr.markdown))
    except (ImportError, AttributeError):
        pass
    pages.append(("pipeline-desktop.json", "pipeline.md", pipeline.markdown))
    pages.append(("barge_in.json", "barge_in.md", barge_in.markdown))
    return pages


def render(results: Path, out: Path, plots: bool = True) -> list[Path]:
    """Write the pages (and plots) for every results file in ``results``; returns the paths written."""
    from edge.bench.common import results_dir

    results_dir(out)
    written: list[Path] = []
    loaded: dict[str, dict[str, Any]] = {}
    for name, page, renderer in _pages():
        data = _load(results / name)
        if data is None:
            continue
        loaded[name] = data
        target = out / page
        text = renderer(data)
        if page == "tts.md":  # the round trip's section (edge bench tts --roundtrip) stays
            from edge.bench.roundtrip import keep_section

            text = keep_section(target, text)
        write_atomic(target, text)
        written.append(target)
    for extra in sorted(results.glob("pipeline-*.json")):
        if extra.name != "pipeline-desktop.json" and (data := _load(extra)) is not None:
            from edge.bench.pipeline import markdown

            loaded[extra.name] = data
            target = out / extra.with_suffix(".md").name
            write_atomic(target, markdown(data))
            written.append(target)
    for name in ("wake.json", "all.json"):
        data = _load(results / name)
        if data is not None:
            loaded[name] = data
    figures: list[Path] = []
    if plots and loaded:
        from edge.bench.plots import make_plots

        figures = make_plots(loaded, out)
        written.extend(figures)
    summary = out / "README.md"
    write_atomic(summary, summary_markdown(loaded, [f.name for f in figures]))
    written.append(summary)
    return written


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def summary_markdown(loaded: dict[str, dict[str, Any]], figures: list[str]) -> str:
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    lines = ["# Benchmarks", "",
             "Rendered by `edge bench report` from the results of `edge bench all` (see each page for the exact "
             "command, date and machine). Timings come from a shared 2-core x86-64 machine and are noisy; "
             "accuracy is deterministic for a given set of clips.", "",
             "## Targets", "", "| target | measured | status |", "|---|---|---|"]
    pipe = loaded.get("pipeline-desktop.json")
    if pipe:
        groups = (pipe.get("accuracy") or {}).get("groups", {})
        for cond, floor in (("clean", 0.85), ("10 dB", 0.80)):
            g = groups.get(f"en-US | all voices | {cond}")
            if g:
                lines.append(f"| intent accuracy from audio, spoken en-US MASSIVE test, {cond}: >= {floor:.0%} | "
                             f"{_pct(g['intent_acc'])} ({g['n']} clips) | {met(g['intent_acc'] >= floor)} |")
        lat = pipe["latency_ms"]
        if lat["p50"] is not None:
            lines.append(f"| end of speech to first reply audio, desktop: p50 <= 500 ms, p95 <= 800 ms | "
                         f"p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms ({lat['n']} turns) | "
                         f"{met(lat['p50'] <= 500 and lat['p95'] <= 800)} |")
    run = loaded.get("all.json")
    if run and run.get("total_seconds"):
        minutes = run["total_seconds"] / 60
        lines.append(f"| `edge bench all` on the {run.get('profile', 'desktop')} profile in under an hour | "
                     f"{minutes:.0f} min | {met(minutes < 60)} |")
    lines += ["", "## Published reference rows (not measured here)", "", "| system | figure | source |",
              "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in REFERENCE_ROWS]
    pages = {"nlu.json": "nlu.md", "asr.json": "asr.md", "tts.json": "tts.md", "pipeline-desktop.json": "pipeline.md",
             "profiles.json": "profiles.md", "barge_in.json": "barge_in.md", "wake.json": "wake.md"}
    lines += ["", "## Pages", ""]
    lines += [f"- [{page}]({page})" for name, page in pages.items() if name in loaded]
    if figures:
        lines += ["", "## Plots", ""]
        lines += [f"![{f}]({f})" for f in figures]
    return "\n".join(lines) + "\n"


def run_report(args: argparse.Namespace) -> int:
    from edge.cli_errors import CliError

    if not args.results.is_dir():
        raise CliError(f"no results folder at {args.results}: run `edge bench all --out {args.results}` first")
    if not any(args.results.glob("*.json")):
        raise CliError(f"{args.results} holds no benchmark results (*.json): run `edge bench all` first")
    if not args.no_plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CliError("plots need matplotlib: pip install -e '.[bench]' (or pass --no-plots)") from None
    os.environ.setdefault("MPLBACKEND", "Agg")
    for path in render(args.results, args.out, plots=not args.no_plots):
        print(path)
    return 0
