"""`edge bench asr`: word and character error rates and real-time factor of every ASR engine, side by side.

Engines, per locale of the spoken MASSIVE set (``edge bench spoken-set``): the profile's model (Whisper
tiny.en for en-*, Vosk for ko-KR with the shipped profiles), every other installed manifest ASR model for
the locale, and PocketSphinx (en-US, the baseline). English engines also transcribe the real speech in
``--data``: LibriSpeech utterances, Whisper's JFK clip and a noisy VCTK utterance. Engines are loaded one
at a time, under the profile's memory budget as a hard limit, and decode with its ASR threads (Vosk and
PocketSphinx decode on one thread).

Scoring: reference and hypothesis both go through :func:`spoken_form` (``edge.asr.wer.normalize`` plus
digits as number words in the locale's language, "%" and "&" as words, "a.m." as "am", ...). WER is the
word edit distance over the reference words; CER the character edit distance over the normalised text
without spaces (the figure for ja, zh, ko and th). Both are corpus rates: errors summed over a group,
divided by its reference words or characters. RTF = decode seconds / audio seconds, summed over a group.

Resumable: every clip's row is appended to ``<out>/asr.partial.jsonl`` as it is decoded; a rerun with the
same settings skips the clips there (other settings start over). The file is removed once ``asr.json``
is written.

``asr.json``::

    {"suite": "asr", "version": 1, "date": "YYYY-MM-DD", "machine": str, "profile": str, "threads": int,
     "settings": {...}, "spoken": str, "wall_s": float,
     "memory": {"budget_mb": int, "peak_mb": float, "peak_stage": str},
     "engines": [{"engine": label, "kind": "faster-whisper"|"vosk"|"pocketsphinx", "model": str|None,
                  "locales": [str], "load_s": float, "threads": int}],
     "skipped": [{"locale": str, "engine": str, "reason": str}],
     "groups": [summarise_asr(rows)["groups"] row: {"engine", "locale", "set", "voice", "condition", "n",
                "words", "chars", "word_errors", "char_errors", "wer", "cer", "audio_s", "decode_s", "rtf",
                "decode_ms_p50", "decode_ms_p95"}],
     "totals": [summarise_asr(rows)["totals"] row: the same keys per (engine, locale, set), voice/condition "all"],
     "rows": [{"engine", "kind", "key", "locale", "set": "spoken-massive"|"librispeech"|"jfk"|"vctk-noisy",
               "voice": "piper"|"espeak-ng"|"human", "condition": "clean"|"10 dB"|"noisy", "id", "ref", "hyp",
               "ref_norm", "hyp_norm", "words", "word_errors", "chars", "char_errors", "audio_s", "decode_s"}]}
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge.asr.wer import edit_distance
from edge.bench.results import write_atomic
from edge.cli_errors import CliError
from edge.nlu.textform import NORMALISER_VERSION, spoken_form

__all__ = ["DEFAULT_LIMIT", "add_arguments", "char_errors", "run_asr_bench", "summarise_asr"]

DEFAULT_LIMIT = 300
_VERSION = 1
_KINDS = {"whisper": "faster-whisper", "faster-whisper": "faster-whisper", "vosk": "vosk",
          "pocketsphinx": "pocketsphinx"}
_PARTIAL = "asr.partial.jsonl"


def char_errors(ref_norm: str, hyp_norm: str) -> tuple[int, int]:
    """(character edits, reference characters) of two :func:`spoken_form` strings, spaces removed."""
    r, h = ref_norm.replace(" ", ""), hyp_norm.replace(" ", "")
    return edit_distance(r, h), len(r)


def score(ref: str, hyp: str, locale: str) -> dict[str, Any]:
    """Normalised texts and their word and character error counts."""
    rn, hn = spoken_form(ref, locale), spoken_form(hyp, locale)
    ce, nc = char_errors(rn, hn)
    return {"ref_norm": rn, "hyp_norm": hn, "words": len(rn.split()),
            "word_errors": edit_distance(rn.split(), hn.split()), "chars": nc, "char_errors": ce}


# --- summary -----------------------------------------------------------------------------------------


def _aggregate(key: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    words, chars = sum(r["words"] for r in rows), sum(r["chars"] for r in rows)
    we, ce = sum(r["word_errors"] for r in rows), sum(r["char_errors"] for r in rows)
    audio, decode = sum(r["audio_s"] for r in rows), sum(r["decode_s"] for r in rows)
    ms = [r["decode_s"] * 1000 for r in rows]
    return {**key, "n": len(rows), "words": words, "chars": chars, "word_errors": we, "char_errors": ce,
            "wer": we / words if words else None, "cer": ce / chars if chars else None,
            "audio_s": round(audio, 3), "decode_s": round(decode, 3), "rtf": decode / audio if audio else None,
            "decode_ms_p50": float(np.percentile(ms, 50)), "decode_ms_p95": float(np.percentile(ms, 95))}


def summarise_asr(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Corpus WER/CER, RTF and decode-time percentiles of per-clip rows (``asr.json``'s ``rows``).

    ``groups``: one per (engine, locale, set, voice, condition); ``totals``: one per (engine, locale, set)
    over every voice and condition. Rows without a reference are left out.
    """
    fine: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    coarse: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("ref") is None:
            continue
        fine.setdefault((r["engine"], r["locale"], r["set"], r["voice"], r["condition"]), []).append(r)
        coarse.setdefault((r["engine"], r["locale"], r["set"]), []).append(r)
    names = ("engine", "locale", "set", "voice", "condition")
    groups = [_aggregate(dict(zip(names, k)), v) for k, v in sorted(fine.items())]
    totals = [_aggregate({**dict(zip(names, k)), "voice": "all", "condition": "all"}, v)
              for k, v in sorted(coarse.items())]
    return {"groups": groups, "totals": totals}


# --- engines -----------------------------------------------------------------------------------------


@dataclasses.dataclass
class EngineSpec:
    """One engine to benchmark: a manifest model (``model``) or PocketSphinx, and the locales it serves."""

    label: str
    kind: str
    model: str | None
    locales: list[str] = dataclasses.field(default_factory=list)


def plan_engines(profile: Any, locales: Sequence[str], kinds: Sequence[str]) -> tuple[list[EngineSpec],
                                                                                      list[dict[str, str]]]:
    """The engines serving each locale (the profile's model first), and the locales left without one."""
    from edge.bench.pocketsphinx_engine import POCKETSPHINX_LOCALES
    from edge.models import ModelError, load_manifest, resolve
    from edge.pipeline.loader import PipelineError, asr_model_for

    manifest = load_manifest()
    specs: dict[str, EngineSpec] = {}
    skipped: list[dict[str, str]] = []

    def add(label: str, kind: str, model: str | None, locale: str) -> None:
        if kind in kinds:
            specs.setdefault(label, EngineSpec(label, kind, model)).locales.append(locale)

    for locale in locales:
        try:
            chosen = asr_model_for(profile, locale, manifest)
            add(chosen, manifest.get(chosen).engine, chosen, locale)
        except PipelineError as exc:
            skipped.append({"locale": locale, "engine": "profile", "reason": str(exc)})
        for entry in manifest.for_locale("asr", locale):
            try:
                resolve(entry.id, manifest)
            except ModelError:
                continue
            add(entry.id, entry.engine, entry.id, locale)
        if locale in POCKETSPHINX_LOCALES:
            add("pocketsphinx-en-us", "pocketsphinx", None, locale)
    return list(specs.values()), skipped


def load_engine(spec: EngineSpec, profile: Any, locale: str) -> Any:
    """Load ``spec`` for ``locale`` with the profile's settings (manifest models via ``load_asr``)."""
    from edge.asr.base import AsrModelError
    from edge.pipeline.loader import PipelineError, load_asr

    try:
        if spec.kind == "pocketsphinx":
            from edge.bench.pocketsphinx_engine import PocketsphinxEngine

            return PocketsphinxEngine(locale=locale)
        asr = dataclasses.replace(profile.asr, models={locale: spec.model})
        return load_asr(dataclasses.replace(profile, asr=asr), locale)
    except (PipelineError, AsrModelError) as exc:
        raise CliError(f"cannot load ASR engine {spec.label}: {exc}") from None


# --- clips -------------------------------------------------------------------------------------------

_VCTK_DIR = "arm_mlek_noise_reduction"
# The Valentini noisy VCTK test files in <data>/audio ship without transcripts; VCTK's own text for the
# one found (VCTK txt/p232/p232_113.txt). p232_208 and p257_031 are left out: no reference was found.
_VCTK_REFS = {"p232_113.wav": "It's not fair."}


@dataclasses.dataclass
class _Item:
    """One clip to transcribe: a spoken MASSIVE clip (loaded lazily) or real speech (loaded already)."""

    key: str
    locale: str
    set: str
    voice: str
    condition: str
    ref: str
    clip: Any = None
    audio: np.ndarray | None = None


def real_items(data: Path) -> list[_Item]:
    """LibriSpeech, JFK and noisy VCTK utterances with a transcript under ``data/audio``."""
    from edge.audio import read_audio
    from edge.bench.pipeline import real_clips

    items = [_Item(f"{c['set']}/{c['name']}", "en-US", c["set"], "human", "clean", c["ref"], audio=c["audio"])
             for c in real_clips(data) if c["ref"]]
    vctk = data / "audio" / _VCTK_DIR
    for name, ref in sorted(_VCTK_REFS.items()):
        if (vctk / name).is_file():
            items.append(_Item(f"vctk-noisy/{name}", "en-US", "vctk-noisy", "human", "noisy", ref,
                               audio=read_audio(vctk / name)))
    return items


def _spoken_items(clips: Sequence[Any]) -> list[_Item]:
    return [_Item(f"spoken/{c.id}", c.locale, "spoken-massive", c.engine, c.condition, c.text, clip=c) for c in clips]


# --- the resumable log ---------------------------------------------------------------------------------


def _settings_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _resume(path: Path, digest: str) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, dict[str, Any]]]:
    """Clip rows and engine load records of a previous run with the same settings (a torn last line is cut);
    a log of other settings is removed."""
    if not path.is_file():
        return {}, {}
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        path.write_bytes(data)
    lines = data.decode("utf-8", errors="replace").splitlines()
    try:
        header = json.loads(lines[0]) if lines else {}
    except ValueError:
        header = {}
    if header.get("settings_hash") != digest:
        if lines:
            print(f"{path}: left by a run with other settings; starting over", file=sys.stderr)
        path.unlink()
        return {}, {}
    done, loaded = {}, {}
    for line in lines[1:]:
        try:
            row = json.loads(line)
            if "engine_meta" in row:
                loaded[row["engine_meta"]["engine"]] = row["engine_meta"]
            else:
                done[(row["engine"], row["key"])] = row
        except (ValueError, KeyError, TypeError):
            continue
    return done, loaded


# --- the suite ---------------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `edge bench asr`."""
    from edge.bench.common import data_argument
    from edge.bench.spoken import default_spoken_dir

    data_argument(p)
    p.add_argument("--spoken-set", dest="spoken", type=Path, default=default_spoken_dir(),
                   help="spoken MASSIVE set (edge bench spoken-set; default: %(default)s)")
    p.add_argument("--profile", help="device profile: its ASR models, threads and memory budget (default: desktop)")
    p.add_argument("--locales", help="comma-separated locales (default: every locale in the spoken set)")
    p.add_argument("--engines", default="whisper,vosk,pocketsphinx",
                   help="comma-separated engine kinds: whisper, vosk, pocketsphinx (default: all)")
    p.add_argument("--voices", help="comma-separated TTS engines of the spoken set: piper, espeak-ng (default: both)")
    p.add_argument("--conditions", help="comma-separated conditions: clean, 10dB, ... (default: all)")
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                   help="clips per (locale, voice, condition), spread over the set (default %(default)s; 0 = all)")
    p.add_argument("--no-real", action="store_true", help="skip the real speech (LibriSpeech, JFK, VCTK) in --data")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="results folder: asr.json, asr.md")
    p.add_argument("--report", type=Path, help="also write the Markdown summary here")
    p.add_argument("--multilingual", action="store_true", help="instead: language identification and transcripts "
                   "of the real multilingual Picovoice commands in --data (asr-multilingual.json/.md)")
    p.add_argument("--live", action="store_true", help="with --multilingual: also feed each clip in real time "
                   "through the whole pipeline with --locale auto (language identified per turn, NLU, reply, voice) "
                   "and measure end of speech to first audio")


def _csv(value: str | None) -> list[str]:
    return [s.strip() for s in value.split(",") if s.strip()] if value else []


def _condition(value: str) -> str:
    if value.lower() == "clean":
        return "clean"
    try:
        return f"{float(value.lower().replace('db', '').strip()):g} dB"
    except ValueError:
        raise CliError(f"--conditions: {value!r} is not 'clean' or an SNR such as 10dB") from None


def _select(args: argparse.Namespace) -> tuple[list[Any], list[Any], list[str]]:
    """(every clip of the set, the selected clips, the locales)."""
    from edge.bench.spoken import read_manifest, select

    everything = read_manifest(args.spoken)
    voices = _csv(args.voices)
    bad = [v for v in voices if v not in ("piper", "espeak-ng")]
    if bad:
        raise CliError(f"--voices: unknown TTS engine {', '.join(bad)}; use piper, espeak-ng")
    if args.limit < 0:
        raise CliError(f"--limit must be 0 (all) or more, got {args.limit}")
    conditions = [_condition(c) for c in _csv(args.conditions)]
    locales = _csv(args.locales) or sorted({c.locale for c in everything})
    missing = [loc for loc in locales if not any(c.locale == loc for c in everything)]
    if missing:
        raise CliError(f"no clips for {', '.join(missing)} in {args.spoken}: render them with "
                       f"`edge bench spoken-set --locales {','.join(missing)} --out {args.spoken}`")
    chosen = select(everything, locales, voices or None, conditions or None, args.limit or None)
    if not chosen:
        raise CliError(f"no clips in {args.spoken} match --voices/--conditions")
    return everything, chosen, locales


def _transcribe(engine: Any, audio: np.ndarray) -> tuple[str, float]:
    t0 = time.perf_counter()
    text = engine.transcribe(audio).text
    return text, time.perf_counter() - t0


def _work(specs: Sequence[EngineSpec], items: Sequence[_Item]) -> Iterator[tuple[EngineSpec, str, list[_Item]]]:
    """(engine, language, its items) in load order: one engine per (model, language)."""
    for spec in specs:
        by_lang: dict[str, list[_Item]] = {}
        for it in items:
            if it.locale in spec.locales:
                by_lang.setdefault(it.locale.split("-")[0], []).append(it)
        for lang, its in by_lang.items():
            yield spec, lang, its


def run_asr_bench(args: argparse.Namespace) -> int:
    """Run the suite; print the Markdown summary; write asr.json and asr.md to ``--out``."""
    if getattr(args, "multilingual", False):
        from edge.bench.multilingual import run_multilingual_bench

        return run_multilingual_bench(args)
    from edge.bench.common import MemoryGuard, Progress, machine, results_dir
    from edge.bench.spoken import load_clip
    from edge.commands.common import profile_or_exit

    profile = profile_or_exit(args.profile)
    kinds = []
    for k in _csv(args.engines):
        if k not in _KINDS:
            raise CliError(f"--engines: unknown engine {k!r}; use whisper, vosk, pocketsphinx")
        kinds.append(_KINDS[k])
    out = results_dir(args.out)
    everything, chosen, locales = _select(args)
    specs, skipped = plan_engines(profile, locales, kinds)
    if not specs:
        raise CliError(f"no ASR engine among --engines {args.engines} serves {', '.join(locales)}")
    items = _spoken_items(chosen)
    real = not args.no_real and any("en-US" in s.locales for s in specs)
    if real:
        if not (args.data / "audio").is_dir():
            raise CliError(f"--data {args.data}: no audio/ folder with the real speech; pass --data or --no-real")
        items += real_items(args.data)
    settings = {"version": _VERSION, "normaliser": NORMALISER_VERSION, "profile": str(profile.path),
                "profile_sha": hashlib.sha256(profile.path.read_bytes()).hexdigest()[:16],
                "spoken": str(args.spoken.resolve()), "locales": locales, "engines": sorted(kinds),
                "voices": sorted(_csv(args.voices)), "conditions": sorted(_csv(args.conditions)),
                "limit": args.limit, "real": str(args.data.resolve()) if real else None}
    digest = _settings_hash(settings)
    partial = out / _PARTIAL
    done, loaded = _resume(partial, digest)
    if done:
        print(f"resuming: {len(done)} clips already decoded in {partial}", file=sys.stderr)
    babble = {loc: [c for c in everything if c.locale == loc and c.snr_db is None] for loc in locales}
    work = list(_work(specs, items))
    total = sum(len(its) for _, _, its in work)
    rows: list[dict[str, Any]] = []
    engines_meta: dict[str, dict[str, Any]] = dict(loaded)
    started = time.monotonic()
    with partial.open("a", encoding="utf-8") as log, MemoryGuard(profile.budget.memory_mb) as guard, \
            Progress("asr") as bar:
        if partial.stat().st_size == 0:
            log.write(json.dumps({"settings_hash": digest, "settings": settings}) + "\n")
            log.flush()
        count = 0
        for spec, _lang, its in work:
            todo = [it for it in its if (spec.label, it.key) not in done]
            rows.extend(done[(spec.label, it.key)] for it in its if (spec.label, it.key) in done)
            count += len(its) - len(todo)
            bar.update(count, total, spec.label)
            if not todo:
                continue
            with guard.stage(f"asr: {spec.label}"):
                t0 = time.perf_counter()
                engine = load_engine(spec, profile, its[0].locale)
                load_s = time.perf_counter() - t0
                threads = profile.asr.threads if spec.kind == "faster-whisper" else 1
                meta = {"engine": spec.label, "kind": spec.kind, "model": spec.model,
                        "locales": sorted(set(spec.locales) & {it.locale for it in items}),
                        "load_s": round(load_s, 3), "threads": threads}
                engines_meta[spec.label] = meta
                log.write(json.dumps({"engine_meta": meta}) + "\n")
                for it in todo:
                    guard.check()
                    audio = it.audio if it.audio is not None else load_clip(args.spoken, it.clip, babble[it.locale])
                    hyp, decode_s = _transcribe(engine, audio)
                    row = {"engine": spec.label, "kind": spec.kind, "key": it.key, "locale": it.locale, "set": it.set,
                           "voice": it.voice, "condition": it.condition, "id": it.key.split("/", 1)[1],
                           "ref": it.ref, "hyp": hyp, **score(it.ref, hyp, it.locale),
                           "audio_s": round(audio.size / 16000, 3), "decode_s": round(decode_s, 4)}
                    log.write(json.dumps(row, ensure_ascii=False) + "\n")
                    log.flush()
                    rows.append(row)
                    count += 1
                    bar.update(count, total, f"{spec.label} {it.locale}")
                del engine
                gc.collect()
    summary = summarise_asr(rows)
    report = {"suite": "asr", "version": _VERSION, "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "profile": profile.name, "threads": profile.asr.threads, "settings": settings,
              "spoken": str(args.spoken), "wall_s": round(time.monotonic() - started, 1),
              "memory": {"budget_mb": profile.budget.memory_mb, "peak_mb": round(guard.peak_mb, 1),
                         "peak_stage": guard.peak_stage},
              "engines": list(engines_meta.values()), "skipped": skipped, **summary, "rows": rows}
    write_atomic(out / "asr.json", json.dumps(report, indent=1, ensure_ascii=False))
    md = markdown(report)
    write_atomic(out / "asr.md", md)
    if args.report:
        try:
            write_atomic(args.report, md)
        except OSError as exc:
            raise CliError(f"--report {args.report}: cannot write ({exc.strerror or exc})") from None
    partial.unlink(missing_ok=True)
    print(md)
    print(f"results: {out / 'asr.json'}", file=sys.stderr)
    return 0


# --- Markdown ----------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}"


def markdown(report: dict[str, Any]) -> str:
    """The Markdown summary of an ``asr.json`` report."""
    mem = report["memory"]
    s = report["settings"]
    lines = [
        f"# ASR benchmark: profile `{report['profile']}`",
        "",
        f"Generated by `edge bench asr` on {report['date']} ({report['machine']}); {len(report['rows'])} "
        f"transcriptions in {report['wall_s']:.0f} s, at most {s['limit'] or 'all'} clips per (locale, voice, "
        f"condition). Whisper on {report['threads']} threads (the profile's), Vosk and PocketSphinx on one. "
        f"Peak RSS {mem['peak_mb']:.0f} MiB ({mem['peak_stage']}), budget {mem['budget_mb']} MiB.",
        "",
        "WER and CER are corpus rates after `spoken_form` normalisation (number words, no punctuation); CER "
        "ignores spaces. RTF is decode time over audio time (below 1 is faster than real time).",
        "",
        "| engine | locale | set | voice | condition | n | WER % | CER % | RTF | decode p50 ms | decode p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for g in report["groups"]:
        lines.append(f"| {g['engine']} | {g['locale']} | {g['set']} | {g['voice']} | {g['condition']} | {g['n']} | "
                     f"{_pct(g['wer'])} | {_pct(g['cer'])} | {g['rtf']:.3f} | {g['decode_ms_p50']:.0f} | "
                     f"{g['decode_ms_p95']:.0f} |")
    lines += ["", "Per engine, locale and set (every voice and condition):", "",
              "| engine | locale | set | n | WER % | CER % | RTF |", "|---|---|---|---|---|---|---|"]
    for g in report["totals"]:
        lines.append(f"| {g['engine']} | {g['locale']} | {g['set']} | {g['n']} | {_pct(g['wer'])} | "
                     f"{_pct(g['cer'])} | {g['rtf']:.3f} |")
    if report["engines"]:
        lines += ["", "| engine | kind | model | locales | load s | threads |", "|---|---|---|---|---|---|"]
        for e in report["engines"]:
            lines.append(f"| {e['engine']} | {e['kind']} | {e['model'] or '(wheel)'} | {', '.join(e['locales'])} | "
                         f"{e['load_s']:.2f} | {e['threads']} |")
    if report["skipped"]:
        lines += ["", "Locales without an engine:", ""]
        lines += [f"- {s['locale']}: {s['reason']}" for s in report["skipped"]]
    worst = sorted((r for r in report["rows"] if r.get("ref")), key=lambda r: -r["word_errors"])[:8]
    if worst:
        lines += ["", "Most word errors:", "", "| engine | clip | reference | heard |", "|---|---|---|---|"]
        for r in worst:
            lines.append(f"| {r['engine']} | {r['id']} | {r['ref_norm'][:60]} | {r['hyp_norm'][:60]} |")
    return "\n".join(lines) + "\n"
