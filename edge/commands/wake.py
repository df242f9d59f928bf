"""`edge wake train | test | bench`: make, try and measure a wake-word model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.cli_errors import CliError
from edge.paths import SHARED_ROOT

__all__ = ["add_parsers", "cmd_wake_bench", "cmd_wake_test", "cmd_wake_train"]

DEFAULT_NEGATIVES = SHARED_ROOT / "data" / "audio"


def _progress(msg: str) -> None:
    print(f"edge wake: {msg}", file=sys.stderr, flush=True)


def _model(args: argparse.Namespace):  # noqa: ANN202 - a WakeModel
    from edge.wake import WakeModelError, default_model_path, load_model

    try:
        path = Path(args.model) if args.model else default_model_path(args.phrase)
        return load_model(path, args.phrase)
    except WakeModelError as exc:
        raise CliError(str(exc)) from None


def cmd_wake_train(args: argparse.Namespace) -> int:
    from edge.wake import default_model_path, train_wake_model

    if args.negatives and not Path(args.negatives).is_dir():
        raise CliError(f"--negatives {args.negatives}: not a folder; give a folder of speech WAV/FLAC files")
    try:
        out = Path(args.out) if args.out else default_model_path(args.phrase)
        model = train_wake_model(args.phrase, out, fast=args.fast, negatives=args.negatives, seed=args.seed,
                                 progress=_progress)
    except (ValueError, RuntimeError) as exc:
        raise CliError(str(exc).splitlines()[0]) from None
    except OSError as exc:
        raise CliError(f"cannot write the model ({exc.strerror or exc}): pass --out to a writable path") from None
    print(f"{out}  phrase={model.phrase!r} threshold={model.threshold:.3f} "
          f"validation_frr={model.info.get('val_frr', 0):.1%} train_s={model.info.get('train_s')}")
    return 0


def cmd_wake_test(args: argparse.Namespace) -> int:
    from edge.audio import read_audio
    from edge.audio.errors import AudioFormatError
    from edge.models import ModelError
    from edge.wake import WakeDetector, WhisperVerifier

    model = _model(args)
    try:
        verifier = None if args.no_verify else WhisperVerifier(model.phrase)
    except ModelError as exc:
        raise CliError(f"the Whisper check needs Whisper tiny.en ({exc}); or pass --no-verify") from None
    det = WakeDetector(model, args.threshold, verifier=verifier)
    failed = 0
    for name in args.files:
        try:
            audio = read_audio(name)
        except (AudioFormatError, OSError) as exc:
            print(f"edge wake: {name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        hits = det.detect(audio)
        for hit in hits:
            print(f"{name}\t{hit.time:.2f}s\t{hit.phrase}\t{hit.score:.3f}")
        if not hits:
            print(f"{name}\t-\tno wake phrase ({len(audio) / 16000:.1f} s)")
    return 1 if failed else 0


def cmd_wake_bench(args: argparse.Namespace) -> int:
    from edge.wake.bench import run_bench, write_report

    model = _model(args)
    negatives = Path(args.negatives) if args.negatives else DEFAULT_NEGATIVES
    if args.negatives and not negatives.is_dir():
        raise CliError(f"--negatives {negatives}: not a folder; give a folder of speech WAV/FLAC files")
    if not negatives.is_dir():
        _progress(f"note: no real-speech folder at {negatives}; only generated audio is measured")
    res = run_bench(model, negatives if negatives.is_dir() else None, args.hours_noise, args.hours_speech,
                    progress=_progress)
    command = " ".join(["edge", "wake", "bench", *sys.argv[3:]]) if len(sys.argv) > 2 else "edge wake bench"
    md = write_report(res, args.report, command)
    print(f"wrote {md} and {md.with_suffix('.json')}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("wake", help="wake word: train a model for a phrase, test it on files, benchmark it")
    wsub = p.add_subparsers(dest="wake_command", required=True)
    t = wsub.add_parser("train", help="train a wake-word model on this machine (about a minute)")
    t.add_argument("phrase", help='the wake phrase, e.g. "hey edge"')
    t.add_argument("--out", help="model file (default: $XDG_DATA_HOME/edge/wake/<phrase>.npz)")
    t.add_argument("--fast", action="store_true", help="a smaller, quicker model (for tests)")
    t.add_argument("--negatives", help="folder of speech WAV/FLAC files without the phrase, used as negatives")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.set_defaults(func=cmd_wake_train)
    for name, helptext in (("test", "print the wake-phrase hits in audio files, with their times"),
                           ("bench", "false accepts per hour and false rejects; writes Markdown and JSON")):
        q = wsub.add_parser(name, help=helptext)
        q.add_argument("--model", help="model file (default: the phrase's model under $XDG_DATA_HOME/edge/wake)")
        q.add_argument("--phrase", default="hey edge", help="phrase whose default model to use (default: hey edge)")
        if name == "test":
            q.add_argument("--threshold", type=float, help="override the model's stage-1 threshold (0-1)")
            q.add_argument("--no-verify", action="store_true",
                           help="stage 1 alone: skip the Whisper tiny.en check of each candidate")
            q.add_argument("files", nargs="+", metavar="FILE", help="WAV or FLAC files")
            q.set_defaults(func=cmd_wake_test)
        else:
            q.add_argument("--negatives", help=f"folder of real non-wake speech (default: {DEFAULT_NEGATIVES})")
            q.add_argument("--hours-noise", type=float, default=10.0, help="hours of noise and music (default 10)")
            q.add_argument("--hours-speech", type=float, default=10.0,
                           help="hours of synthetic non-wake speech (default 10)")
            q.add_argument("--report", default="docs/benchmarks/wake.md", help="Markdown output (JSON beside it)")
            q.set_defaults(func=cmd_wake_bench)
