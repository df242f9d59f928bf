"""The `edge` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from edge.cli_errors import CliError, one_line_warnings
from edge.errors import EdgeError

__all__ = ["CliError", "build_parser", "main"]


def _nlu_model(args: argparse.Namespace):
    from edge.nlu.runtime import NluModel, NluModelError
    from edge.profiles import ProfileError, load_profile

    try:
        profile = load_profile(args.profile)
    except ProfileError as e:
        raise CliError(str(e)) from None
    try:
        return NluModel(args.model or profile.nlu.model, threads=args.threads or profile.nlu.threads,
                        max_tokens=profile.nlu.max_tokens, ood_threshold=profile.nlu.ood_threshold)
    except NluModelError as e:
        raise CliError(str(e)) from None


def _stdin_lines() -> Iterator[tuple[int, str | None]]:
    """(line number, text) per stdin line; text is None where the bytes are not UTF-8."""
    for n, raw in enumerate(sys.stdin.buffer, 1):
        try:
            yield n, raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield n, None


def cmd_nlu(args: argparse.Namespace) -> int:
    model = _nlu_model(args)
    indent = 2 if args.pretty else None
    failed = 0
    if args.text:
        sources: Iterator[tuple[int, str | None]] = iter([(0, " ".join(args.text))])
    else:
        if sys.stdin.isatty():
            print("type an utterance per line, Ctrl-D to end", file=sys.stderr)
        sources = _stdin_lines()
    for n, text in sources:
        if text is None:
            failed += 1
            msg = f"stdin line {n}: not valid UTF-8, skipped (save the text as UTF-8)"
            print(f"edge nlu: {msg}", file=sys.stderr)
            print(json.dumps({"line": n, "error": msg}), flush=True)
            continue
        p = model.parse(text, args.locale)
        for w in p.warnings:
            print(f"edge nlu: warning: {w}", file=sys.stderr)
        print(json.dumps(p.to_dict(), ensure_ascii=False, indent=indent), flush=True)
    return 1 if failed else 0


def cmd_models(args: argparse.Namespace) -> int:
    from edge.models import ModelError, load_manifest, verify_all

    if args.locales:
        from edge.commands.common import profile_or_exit
        from edge.pipeline.support import support_markdown

        print(support_markdown(profile_or_exit(args.profile)), end="")
        return 0
    try:
        manifest = load_manifest(args.manifest)
    except ModelError as e:
        raise CliError(str(e)) from None
    statuses = verify_all(manifest)
    if args.json:
        print(json.dumps([{"id": s.model_id, "kind": manifest.get(s.model_id).kind, "installed": s.installed,
                           "verified": s.verified, "path": str(s.path) if s.path else None, "message": s.message}
                          for s in statuses], indent=2))
    else:
        for s in statuses:
            e = manifest.get(s.model_id)
            mark = "ok" if s.verified else ("??" if s.installed else "--")
            print(f"[{mark}] {e.id:<22} {e.kind:<4} {e.size_mb:>7.1f} MB  {','.join(e.locales)[:40]:<40} {s.message}")
    return 0 if all(s.installed and not s.corrupt for s in statuses) else 1  # corrupt or missing: 1


# `edge bench <suite>`: module, its run function, help. Each module has add_arguments(parser).
_BENCH_SUITES = {
    "all": ("edge.bench.all", "run_all", "every suite under one profile, then the report (resumable)"),
    "nlu": ("edge.bench.nlu", "run_nlu_bench", "MASSIVE accuracy, latency, size and memory of the NLU models"),
    "asr": ("edge.bench.asr", "run_asr_bench", "WER/CER and real-time factor: Whisper, Vosk and pocketsphinx"),
    "tts": ("edge.bench.tts", "run_tts_bench", "Piper against espeak-ng: time to first audio, real-time factor"),
    "pipeline": ("edge.bench.pipeline", "run_pipeline_bench",
                 "the whole pipeline from audio: intent accuracy, slot F1, latency per stage, memory, CPU"),
    "profiles": ("edge.bench.profiles_cost", "run_profiles_bench",
                 "each device profile's memory and latency here, with Raspberry Pi estimates"),
    "spoken-set": ("edge.bench.spoken", "run_spoken_set",
                   "render MASSIVE test utterances with Piper and espeak-ng voices (the spoken test set)"),
    "barge-in": ("edge.bench.barge_in", "run_barge_in_bench",
                 "how soon the reply audio stops when the user talks over it"),
    "false-turns": ("edge.bench.false_turns", "run_false_turns_bench",
                    "answers given to noise, music and reversed speech (false turns per 10 minutes)"),
    "serve": ("edge.bench.serve", "run_serve_bench",
              "satellites 1, 2, 4, 8 at once against `edge serve`: end of speech to first reply audio"),
    "learning": ("edge.bench.learning", "run_learning_bench",  # edge.learn (issue 15)
                 "on-device learning: rephrase simulation, regression, few-shot new intents, cost"),
    "report": ("edge.bench.report", "run_report", "render results into Markdown pages and PNG plots"),
    "guard": ("edge.bench.guard", "run_guard_bench",
              "the small subset CI runs: fails if accuracy falls below the recorded floor"),
}


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    module, func, _ = _BENCH_SUITES[args.suite]
    return getattr(importlib.import_module(module), func)(args)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="edge", description="Offline, on-device multilingual voice assistant.")
    sub = ap.add_subparsers(dest="command")

    p = sub.add_parser("nlu", help="intent and slots of a text (or of each stdin line), as JSON")
    p.add_argument("text", nargs="*", help="the utterance; omitted: read one per line from stdin")
    p.add_argument("--locale", help="language tag, e.g. en-US (the model is multilingual; this is a hint)")
    p.add_argument("--profile", help="device profile name or path (default: desktop)")
    p.add_argument("--model", type=Path, help="ONNX model; tokenizer.json and label files beside it")
    p.add_argument("--threads", type=int, help="override the profile's NLU threads")
    p.add_argument("--pretty", action="store_true", help="indented JSON")
    p.set_defaults(func=cmd_nlu)

    m = sub.add_parser("models", help="list the models in the manifest, installed and verified (sha256)")
    m.add_argument("--manifest", type=Path, help="default: models/manifest.toml")
    m.add_argument("--json", action="store_true")
    m.add_argument("--locales", action="store_true", help="what each stage supports per MASSIVE locale (Markdown)")
    m.add_argument("--profile", help="device profile for --locales (default: desktop)")
    m.set_defaults(func=cmd_models)

    from edge.commands import chat as chat_cmd
    from edge.commands import learn as learn_cmd  # edge.learn (issue 15)
    from edge.commands import profile as profile_cmd
    from edge.commands import run as run_cmd
    from edge.commands import serve as serve_cmd
    from edge.commands import service as service_cmd
    from edge.commands import speech as speech_cmd
    from edge.commands import tui as tui_cmd
    from edge.commands import wake as wake_cmd

    run_cmd.add_parsers(sub)
    speech_cmd.add_parsers(sub)
    profile_cmd.add_parsers(sub)
    chat_cmd.add_parsers(sub)
    learn_cmd.add_parsers(sub)  # edge.learn (issue 15)
    tui_cmd.add_parsers(sub)
    wake_cmd.add_parsers(sub)
    serve_cmd.add_parsers(sub)
    service_cmd.add_parsers(sub)

    b = sub.add_parser("bench", help="offline benchmarks")
    bsub = b.add_subparsers(dest="suite", required=True)
    import importlib

    for suite, (module, _, text) in _BENCH_SUITES.items():
        importlib.import_module(module).add_arguments(bsub.add_parser(suite, help=text))
    b.set_defaults(func=cmd_bench)
    return ap


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        if args.command is None and sys.stdout.isatty() and sys.stdin.isatty():
            from edge.commands.tui import cmd_tui

            args.command, args.func = "tui", cmd_tui  # `edge` alone on a terminal: the app
        else:
            parser.print_help()
            return 0
    one_line_warnings(args.command)  # a library's warning is one line too, never a Python source line
    try:
        return args.func(args)
    except EdgeError as e:  # every user-facing failure, caught once: one line, exit status 2
        print(f"edge {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
