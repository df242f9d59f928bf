"""`edge profile list|show|check`: device profiles validated, their models sized and their memory measured."""

from __future__ import annotations

import argparse
import json
from typing import Any

from edge.cli_errors import CliError
from edge.commands.common import profile_or_exit

__all__ = ["add_parsers", "check_profile"]


def _models_of(profile: Any, locales: list[str], manifest: Any) -> list[tuple[str, str, str]]:
    """(stage, locale, model id or path) for everything the profile would load for ``locales``."""
    from edge.asr.auto import auto_fallback
    from edge.models import ModelError
    from edge.pipeline.loader import PipelineError, asr_model_for

    rows = [("vad", "*", "silero-vad-v6"), ("nlu", "*", str(profile.nlu.model))]
    weights = profile.nlu.model.with_name(profile.nlu.model.name + ".data")  # its memory-mapped embedding table
    if weights.is_file():
        rows.append(("nlu", "*", str(weights)))
    for locale in locales:
        try:
            rows.append(("asr", locale, asr_model_for(profile, locale, manifest)))
        except (PipelineError, ModelError) as exc:
            rows.append(("asr", locale, f"! {exc}"))
        spoken = auto_fallback(locale) or locale  # auto: the first voice is the fallback locale's (en-US)
        voice = profile.tts_voice(spoken)
        if profile.tts.engine == "espeak-ng":
            voice = "espeak-ng"
        elif voice in (None, "auto"):
            found = manifest.for_locale("tts", spoken)
            voice = found[0].id if found and profile.tts.engine != "espeak-ng" else "espeak-ng"
        rows.append(("tts", locale, voice))
    return rows


def _size_and_status(model: str, manifest: Any) -> tuple[float | None, str]:
    from pathlib import Path

    from edge.models import verify

    if model.startswith("!"):
        return None, model[2:]
    if model == "espeak-ng":
        import shutil

        return None, "ok (system espeak-ng)" if shutil.which("espeak-ng") else "espeak-ng not installed"
    if model in manifest.entries:
        status = verify(model, manifest)
        return manifest.get(model).size_mb, "ok (sha256 verified)" if status.verified else status.message
    path = Path(model)
    for entry in manifest.entries.values():
        if entry.package is None and path.as_posix().endswith(entry.path):
            status = verify(entry.id, manifest)
            return entry.size_mb, f"ok ({entry.id}, sha256 verified)" if status.verified else status.message
    if path.is_file():
        return path.stat().st_size / 1e6, "ok (not in the manifest: unverified)"
    return None, f"missing: {path}"


def _piper_int8_status(voice: str, manifest: Any) -> tuple[float | None, str] | None:
    """For a Piper voice under ``piper_weights = "int8"``: make its int8 copy now (once; the first start would
    otherwise), and say where it is. None for a voice that is not Piper's."""
    from pathlib import Path

    from edge.models import ModelError, require
    from edge.tts.piper_int8 import int8_voice

    entry = manifest.entries.get(voice)
    if entry is not None and entry.kind == "tts" and entry.engine in (None, "piper"):
        try:
            path = Path(require(entry.id, manifest))
        except ModelError:
            return None  # its own row reports it
    elif voice.endswith(".onnx") and Path(voice).is_file():
        path = Path(voice)
    else:
        return None
    copy = int8_voice(path)
    if copy is None:
        return None, "float weights used (no int8 copy could be made: see the warning above)"
    return copy.stat().st_size / 1e6, f"ok (int8 copy: {copy})"


def check_profile(name: str, locales: list[str], measure: bool) -> dict[str, Any]:
    from edge.models import load_manifest
    from edge.pipeline.memprobe import measure as probe

    profile = profile_or_exit(name)
    report: dict[str, Any] = {"profile": profile.name, "path": str(profile.path), "budget": vars(profile.budget),
                              "models": [], "memory": {}, "ok": True}
    manifest = load_manifest()
    for stage, locale, model in _models_of(profile, locales, manifest):
        size, status = _size_and_status(model, manifest)
        ok = status.startswith("ok")
        report["ok"] &= ok
        report["models"].append({"stage": stage, "locale": locale, "model": model, "size_mb": size,
                                 "status": status, "ok": ok})
        if stage == "tts" and ok and profile.tts.piper_weights == "int8":
            made = _piper_int8_status(model, manifest)
            if made is not None:
                report["models"].append({"stage": stage, "locale": locale, "model": f"{model} (int8)",
                                         "size_mb": made[0], "status": made[1], "ok": True})
    if measure and report["ok"]:
        for locale in locales:
            mem: dict[str, Any] = {}
            for stage in ("vad", "asr", "nlu", "tts", "pipeline"):
                try:
                    r = probe(stage, str(profile.path), locale)
                    mem[stage] = {"peak_mb": r["peak_mb"], "own_mb": round(r["peak_mb"] - r["base_mb"], 1)}
                except Exception as exc:  # a stage that fails to load is reported, the rest still measured
                    mem[stage] = {"error": str(exc)}
                    report["ok"] = False
            peak = mem["pipeline"].get("peak_mb")
            mem["within_budget"] = peak is not None and peak <= profile.budget.memory_mb
            report["ok"] &= bool(mem["within_budget"])
            report["memory"][locale] = mem
    return report


def cmd_profile(args: argparse.Namespace) -> int:
    from edge.profiles import list_profiles

    if args.action == "list":
        for name in list_profiles():
            p = profile_or_exit(name)
            print(f"{name:<12} {p.description}")
        return 0
    if not args.name:
        raise CliError(f"edge profile {args.action} NAME: give a profile name or path (edge profile list)")
    if args.action == "show":
        p = profile_or_exit(args.name)
        print(p.path.read_text(encoding="utf-8"))
        return 0
    report = check_profile(args.name, args.locale or ["en-US"], measure=not args.no_measure)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0 if report["ok"] else 1
    print(f"profile {report['profile']} ({report['path']}): valid")
    b = report["budget"]
    print(f"budget: {b['memory_mb']} MiB peak memory, {b['latency_ms']} ms end of speech to first audio")
    for m in report["models"]:
        size = f"{m['size_mb']:7.1f} MB" if m["size_mb"] is not None else "      - MB"
        print(f"  [{'ok' if m['ok'] else '!!'}] {m['stage']:<4} {m['locale']:<6} {size}  {m['model']}: {m['status']}")
    for locale, mem in report["memory"].items():
        stages = ", ".join(f"{s} {v['own_mb']:.0f}" if "own_mb" in v else f"{s} failed ({v['error']})"
                           for s, v in mem.items() if isinstance(v, dict))
        peak = mem["pipeline"].get("peak_mb")
        verdict = "within" if mem["within_budget"] else "OVER"
        print(f"  memory {locale}: each stage loaded alone (MiB above the runtime's base): {stages}")
        if peak is not None:
            print(f"  memory {locale}: whole pipeline peak {peak:.0f} MiB: {verdict} the {b['memory_mb']} MiB budget")
    print("ok" if report["ok"] else "problems found (see [!!] and OVER above)")
    return 0 if report["ok"] else 1


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("profile", help="device profiles: list, show, check (models, sizes, measured memory)")
    p.add_argument("action", choices=("list", "show", "check"))
    p.add_argument("name", nargs="?", help="profile name or path")
    p.add_argument("--locale", action="append", help="locale(s) to check (repeatable; default en-US)")
    p.add_argument("--no-measure", action="store_true", help="skip loading the models to measure memory")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_profile)
