"""`edge bench tts --roundtrip`: can the assistant's own speech recogniser understand each of its voices?

For every voice the project speaks with (each installed Piper or Kokoro voice of the manifest, in its locale,
and espeak-ng for every MASSIVE locale that falls back to it), a fixed, seeded sample of MASSIVE test
utterances of that locale (``--per-voice``, stratified over scenario as in ``edge bench nlu --sample``) is
synthesised with the voice, resampled to 16 kHz and transcribed by the ASR model the profile uses for that
locale (``edge.pipeline.loader.load_asr``: Whisper tiny.en for English, multilingual Whisper base for the
rest). Scoring is the ASR benchmark's (:func:`edge.bench.asr.score`: ``spoken_form`` on both sides, corpus
rates). The headline figure is WER, or CER for scripts written without spaces between words (ja, zh, th, km,
my, lo), where a "word" error rate means nothing.

A voice that reads a locale with the closest voice it has (espeak-ng's Indonesian for Javanese and Tagalog,
Russian for Mongolian) is measured as it is used, and marked. Locales whose script no voice can read (Khmer
with espeak-ng) have no row: replies there are printed, not spoken.

Resumable: each utterance's row goes to ``<out>/tts_roundtrip.partial.jsonl``; a rerun with the same settings
skips them. Results: ``tts_roundtrip.json`` and ``tts_roundtrip.md``; ``--report FILE`` puts the table in
FILE as a section between markers (:func:`splice_section`), leaving the rest of FILE as it was (``edge bench
tts`` and ``edge bench report`` keep that section when they rewrite the page).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.bench.results import write_atomic
from edge.cli_errors import CliError

__all__ = ["BEGIN", "END", "UNSPACED", "VoiceSpec", "headline", "keep_section", "markdown", "plan_voices",
           "run_roundtrip", "sample_sentences", "splice_section"]

DEFAULT_PER_VOICE = 20
DEFAULT_SEED = 14
# Languages written without spaces between words: CER is the headline figure.
UNSPACED = frozenset({"ja", "zh", "th", "km", "my", "lo"})
BEGIN = "<!-- edge bench tts --roundtrip: begin -->"
END = "<!-- edge bench tts --roundtrip: end -->"
_VERSION = 1


@dataclass(frozen=True)
class VoiceSpec:
    """A voice as the assistant uses it: ``voice`` is a manifest model id, or "espeak-ng"."""

    voice: str
    engine: str  # piper | kokoro-ja | espeak-ng
    locale: str
    note: str = ""  # e.g. "closest voice: id"

    @property
    def key(self) -> str:
        return f"{self.voice}|{self.locale}"


def headline(locale: str) -> str:
    """"cer" for languages written without spaces, else "wer"."""
    return "cer" if locale.split("-")[0].lower() in UNSPACED else "wer"


def plan_voices(profile: Any, locales: list[str] | None = None, voices: list[str] | None = None
                ) -> tuple[list[VoiceSpec], list[dict[str, str]]]:
    """Every voice the assistant can speak with (installed manifest voices, espeak-ng where a locale falls back to
    it), restricted to ``locales`` and ``voices`` (ids or "espeak-ng"); and the locales left out, with why."""
    from edge.models import load_manifest, verify
    from edge.nlu.locales import MASSIVE_LOCALES
    from edge.tts import piper_voice_for
    from edge.tts.base import TtsError
    from edge.tts.espeak_engine import espeak_cannot_read, espeak_voice_for, espeak_voices

    manifest = load_manifest()
    wanted = set(locales or MASSIVE_LOCALES)
    specs: list[VoiceSpec] = []
    skipped: list[dict[str, str]] = []
    for entry in manifest.entries.values():
        if entry.kind != "tts" or (voices and entry.id not in voices):
            continue
        for loc in entry.locales:
            if loc not in wanted:
                continue
            if not verify(entry.id, manifest).installed:
                skipped.append({"voice": entry.id, "locale": loc, "reason": f"not installed: {entry.install_hint()}"})
                continue
            specs.append(VoiceSpec(entry.id, entry.engine or "piper", loc))
    if voices and "espeak-ng" not in voices:
        return specs, skipped
    try:
        available = espeak_voices()
    except TtsError as exc:
        return specs, [*skipped, {"voice": "espeak-ng", "locale": "*", "reason": str(exc)}]
    for loc in MASSIVE_LOCALES:
        if loc not in wanted:
            continue
        if profile.tts.engine != "espeak-ng" and piper_voice_for(loc, manifest) is not None:
            continue  # a Piper voice speaks it: espeak-ng is not this locale's voice
        why = espeak_cannot_read(loc)
        if why:
            skipped.append({"voice": "espeak-ng", "locale": loc, "reason": why})
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            name = espeak_voice_for(loc, available)
        specs.append(VoiceSpec("espeak-ng", "espeak-ng", loc, f"closest voice: {name}" if caught else ""))
    return specs, skipped


def sample_sentences(massive: Path, locales: list[str], per_voice: int, seed: int) -> dict[str, list[Any]]:
    """``per_voice`` MASSIVE test utterances per locale: a seeded random sample, each scenario in proportion."""
    from edge.bench.nlu import stratified_sample
    from edge.nlu.massive import MassiveFormatError, load_massive

    try:
        examples = load_massive(massive, sorted(set(locales)), ["test"])
    except (FileNotFoundError, MassiveFormatError) as exc:
        raise CliError(f"MASSIVE: {exc}") from None
    out: dict[str, list[Any]] = {}
    for e in stratified_sample(examples, per_voice, seed):
        out.setdefault(e.locale, []).append(e)
    for picked in out.values():
        picked.sort(key=lambda e: int(e.id) if e.id.isdigit() else e.id)
    return out


def _load_voice(spec: VoiceSpec, profile: Any) -> Any:
    from edge.tts import create_tts

    if spec.engine == "espeak-ng":
        return create_tts(spec.locale, engine="espeak-ng", speed=profile.tts.speed)
    return create_tts(spec.locale, voice=spec.voice, threads=profile.tts.threads, speed=profile.tts.speed,
                      piper_weights=profile.tts.piper_weights)


def _aggregate(spec: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    words, chars = sum(r["words"] for r in rows), sum(r["chars"] for r in rows)
    we, ce = sum(r["word_errors"] for r in rows), sum(r["char_errors"] for r in rows)
    audio, synth = sum(r["audio_s"] for r in rows), sum(r["synth_s"] for r in rows)
    return {**spec, "n": len(rows), "words": words, "chars": chars, "word_errors": we, "char_errors": ce,
            "wer": we / words if words else None, "cer": ce / chars if chars else None,
            "metric": headline(spec["locale"]), "empty": sum(not r["hyp"].strip() for r in rows),
            "exact": sum(r["word_errors"] == 0 for r in rows), "audio_s": round(audio, 2),
            "synth_rtf": synth / audio if audio else None}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The round trip's options on `edge bench tts` (``--locales``, ``--profile``, ``--out``, ``--report`` are
    shared with the speed benchmark)."""
    from edge.bench.common import data_argument

    p.add_argument("--roundtrip", action="store_true",
                   help="instead: synthesise MASSIVE test utterances with every voice, transcribe them back with the "
                        "locale's ASR, report WER (CER for ja/zh/th...) per voice (tts_roundtrip.json/.md)")
    data_argument(p)
    p.add_argument("--per-voice", type=int, default=DEFAULT_PER_VOICE,
                   help="--roundtrip: MASSIVE test utterances per voice (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="--roundtrip: sample seed (default %(default)s)")
    p.add_argument("--voices", help="comma-separated voices: manifest ids and/or espeak-ng (speed: also piper; "
                                    "default: piper and espeak-ng, --roundtrip: every voice)")


def run_roundtrip(args: argparse.Namespace) -> int:
    from edge.audio.resample import resample
    from edge.bench.asr import score
    from edge.bench.common import MemoryGuard, PartialResults, Progress, machine, massive_path, results_dir
    from edge.commands.common import profile_or_exit
    from edge.models import ModelError
    from edge.nlu.textform import NORMALISER_VERSION
    from edge.pipeline.loader import PipelineError, asr_model_for, load_asr
    from edge.tts.base import TtsError

    profile = profile_or_exit(args.profile)
    if args.per_voice < 1:
        raise CliError(f"--per-voice must be 1 or more, got {args.per_voice}")
    locales = list(args.locales) if args.locales else None
    voices = [v.strip() for v in args.voices.split(",") if v.strip()] if args.voices else None
    specs, skipped = plan_voices(profile, locales, voices)
    if not specs:
        raise CliError("no voice to measure: check --voices and --locales (`edge models` lists the voices)")
    massive = massive_path(args.data)
    out = results_dir(args.out)
    started = time.monotonic()
    sentences = sample_sentences(massive, [s.locale for s in specs], args.per_voice, args.seed)
    settings = {"version": _VERSION, "normaliser": NORMALISER_VERSION, "profile": str(profile.path),
                "massive": str(massive.resolve()), "per_voice": args.per_voice, "seed": args.seed}
    partial = PartialResults(out, "tts_roundtrip", settings)
    if partial.resumed:
        print(f"resuming: {partial.resumed} utterances already done in {partial.path}", file=sys.stderr)
    total = sum(len(sentences.get(s.locale, [])) for s in specs)
    rows: list[dict[str, Any]] = []
    asr_models: dict[str, str] = {}
    count = 0
    with MemoryGuard(profile.budget.memory_mb) as guard, Progress("tts roundtrip") as bar:
        for spec in specs:
            todo = [e for e in sentences.get(spec.locale, []) if f"{spec.key}|{e.id}" not in partial]
            done = [partial.rows[f"{spec.key}|{e.id}"] for e in sentences.get(spec.locale, [])
                    if f"{spec.key}|{e.id}" in partial]
            rows.extend(done)
            count += len(done)
            try:
                asr_models[spec.locale] = asr_model_for(profile, spec.locale)
            except (PipelineError, ModelError) as exc:
                skipped.append({"voice": spec.voice, "locale": spec.locale, "reason": f"no ASR: {exc}"})
                count += len(todo)
                continue
            if not todo:
                continue
            bar.update(count, total, f"{spec.voice} {spec.locale}")
            with guard.stage(f"roundtrip: {spec.voice} {spec.locale}"):
                try:
                    tts = _load_voice(spec, profile)
                    asr = load_asr(profile, spec.locale)
                except (TtsError, PipelineError, ModelError) as exc:
                    skipped.append({"voice": spec.voice, "locale": spec.locale, "reason": str(exc).splitlines()[0]})
                    count += len(todo)
                    continue
                for e in todo:
                    guard.check()
                    t0 = time.perf_counter()
                    speech = tts.synthesize(e.utt)
                    synth_s = time.perf_counter() - t0
                    audio = resample(speech.samples, speech.rate) if speech.rate != 16000 else speech.samples
                    hyp = asr.transcribe(audio).text if audio.size else ""
                    row = {"voice": spec.voice, "engine": spec.engine, "locale": spec.locale, "id": e.id,
                           "scenario": e.scenario, "ref": e.utt, "hyp": hyp, **score(e.utt, hyp, spec.locale),
                           "audio_s": round(audio.size / 16000, 3), "synth_s": round(synth_s, 4)}
                    partial.add(f"{spec.key}|{e.id}", row)
                    rows.append(row)
                    count += 1
                    bar.update(count, total, f"{spec.voice} {spec.locale}")
                del tts, asr
                gc.collect()
        bar.update(total, total)
    voices_out = []
    for spec in specs:
        mine = [r for r in rows if r["voice"] == spec.voice and r["locale"] == spec.locale]
        if mine:
            voices_out.append(_aggregate({"voice": spec.voice, "engine": spec.engine, "locale": spec.locale,
                                          "note": spec.note, "asr": asr_models.get(spec.locale, "")}, mine))
    command = "edge bench tts --roundtrip" + "".join(
        f" {flag} {value}" for flag, value, default in (
            ("--per-voice", args.per_voice, DEFAULT_PER_VOICE), ("--seed", args.seed, DEFAULT_SEED),
            ("--data", args.data, _default_data()), ("--profile", args.profile, None), ("--voices", args.voices, None),
            ("--locales", " ".join(args.locales or []) or None, None)) if value is not None and value != default)
    report = {"suite": "tts_roundtrip", "version": _VERSION, "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "profile": profile.name, "command": command, "settings": settings,
              "wall_s": round(time.monotonic() - started, 1),
              "memory": {"budget_mb": profile.budget.memory_mb, "peak_mb": round(guard.peak_mb, 1),
                         "peak_stage": guard.peak_stage},
              "voices": voices_out, "skipped": skipped, "rows": rows}
    write_atomic(out / "tts_roundtrip.json", json.dumps(report, indent=1, ensure_ascii=False))
    md = markdown(report)
    write_atomic(out / "tts_roundtrip.md", md)
    if args.report:
        existing = args.report.read_text(encoding="utf-8") if args.report.is_file() else ""
        try:
            write_atomic(args.report, splice_section(existing, md))
        except OSError as exc:
            raise CliError(f"--report {args.report}: cannot write ({exc.strerror or exc})") from None
    partial.finish()
    print(md)
    print(f"results: {out / 'tts_roundtrip.json'}", file=sys.stderr)
    return 0


def _default_data() -> Path:
    import os

    from edge.bench.common import DEFAULT_DATA

    return Path(os.environ.get("EDGE_DATA", DEFAULT_DATA))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}"


def markdown(report: dict[str, Any]) -> str:
    """The round trip's section (a level-2 heading and its table), between :data:`BEGIN` and :data:`END`."""
    s = report["settings"]
    lines = [
        BEGIN,
        "## Round trip: each voice heard by the assistant's own speech recognition",
        "",
        f"`{report['command']}` on {report['date']} ({report['machine']}, profile `{report['profile']}`; "
        f"{len(report['rows'])} utterances in {report['wall_s']:.0f} s). Per voice, {s['per_voice']} MASSIVE test "
        f"utterances of its locale (seed {s['seed']}, stratified over scenario) are synthesised, resampled to "
        "16 kHz and transcribed by the profile's ASR model for the locale. Rates are corpus rates after "
        "`spoken_form` normalisation; the **bold** figure is the one that counts (CER where the language is "
        "written without spaces). Synthetic speech is easier than people, and a wrong transcript can be the "
        "recogniser's fault as much as the voice's: a high rate says the pair fails, not which half.",
        "",
        "| voice | locale | ASR model | n | WER % | CER % | exact | empty | synthesis RTF |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in report["voices"]:
        wer, cer = _pct(v["wer"]), _pct(v["cer"])
        wer, cer = (f"**{wer}**", cer) if v["metric"] == "wer" else (wer, f"**{cer}**")
        voice = v["voice"] + (f" ({v['note']})" if v["note"] else "")
        rtf = "-" if v["synth_rtf"] is None else f"{v['synth_rtf']:.3f}"
        lines.append(f"| {voice} | {v['locale']} | {v['asr']} | {v['n']} | {wer} | {cer} | {v['exact']} | "
                     f"{v['empty']} | {rtf} |")
    if report["skipped"]:
        lines += ["", "Not measured:", ""]
        lines += [f"- {k['voice']} {k['locale']}: {k['reason']}" for k in report["skipped"]]
    lines += [END]
    return "\n".join(lines) + "\n"


def splice_section(existing: str, section: str) -> str:
    """``existing`` with its round-trip section (between the markers) replaced by ``section``, or ``section``
    appended after a blank line when it has none."""
    start, end = existing.find(BEGIN), existing.find(END)
    if start >= 0 and end > start:
        text = existing[:start] + section.rstrip("\n") + existing[end + len(END):]
        return text if text.endswith("\n") else text + "\n"
    if not existing.strip():
        return section
    return existing.rstrip("\n") + "\n\n" + section


def keep_section(path: Path, new: str) -> str:
    """``new`` (a page about to replace ``path``) with the round-trip section ``path`` holds now, if any."""
    try:
        old = path.read_text(encoding="utf-8")
    except OSError:
        return new
    start, end = old.find(BEGIN), old.find(END)
    if start < 0 or end < start:
        return new
    return splice_section(new, old[start:end + len(END)] + "\n")
