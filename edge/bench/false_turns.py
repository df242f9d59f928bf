"""False turns: how often noise or music gets an answer, as if someone had spoken.

The whole pipeline of a profile (VAD, Whisper, the NLU, the skills in a private data folder, no speech
out) is fed ``minutes`` of each kind of audio at file speed: noise (white, pink and brown in turn) and
music-like audio (:mod:`edge.wake.synth`), each 20 s segment at a random level from -50 to -3 dBFS, and
reversed speech (Piper's renderings of random sentences played backwards, with pauses): a voice with no
words in it, which the VAD does take for speech, so the recogniser's signals are what keeps it unanswered.
Counted per kind: the utterances the VAD found, those answered (a ``turn``: a false turn) and those
dropped as noise (a ``dropped`` event, :mod:`edge.pipeline.speech_gate`), with each one's transcript and the
recogniser's signals, and false turns per 10 minutes (target 0).

Run: ``edge bench false-turns --profile desktop --minutes 10 --report docs/benchmarks/false_turns.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edge.audio.rate import RATE

__all__ = ["KINDS", "add_arguments", "audio_of", "markdown", "measure_false_turns", "run_false_turns_bench"]

KINDS = ("noise", "music", "reversed")
_SEGMENT_S = 20.0
_NOISES = ("white", "pink", "brown")


def audio_of(kind: str, minutes: float, seed: int = 0) -> Iterator[np.ndarray]:
    """``minutes`` of ``kind`` ("noise" or "music") in 20 s segments, each at a random level (-50 to -3 dBFS)."""
    from edge.wake import synth

    rng = np.random.default_rng(seed)
    if kind == "reversed":
        yield from _reversed_speech(minutes, rng)
        return
    segment = int(_SEGMENT_S * RATE)
    for i in range(max(1, round(minutes * 60 / _SEGMENT_S))):
        if kind == "music":
            x = synth.music_like(_SEGMENT_S, rng)[:segment]
        else:
            x = synth.noise(_NOISES[i % len(_NOISES)], segment, rng)
        yield (x * np.float32(10 ** (rng.uniform(-50, -3) / 20))).clip(-1, 1).astype(np.float32)


def _reversed_speech(minutes: float, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Piper's renderings of random sentences, each backwards, with 0.5-2 s of silence after each."""
    from edge.wake import synth

    render = synth.PiperRenderer(threads=1)
    left = int(minutes * 60 * RATE)
    while left > 0:
        for text in synth.random_sentences(16, rng):
            clip = render(text)[::-1]
            pause = np.zeros(int(rng.uniform(0.5, 2.0) * RATE), dtype=np.float32)
            piece = np.concatenate([clip, pause])[:left].astype(np.float32)
            left -= piece.size
            yield piece
            if left <= 0:
                return


def measure_false_turns(profile: Any = "desktop", minutes: float = 10.0, seed: int = 0,
                        kinds: tuple[str, ...] = KINDS, locale: str | None = None) -> dict[str, Any]:
    """Utterances found, answered and dropped over ``minutes`` of each kind (see the module docstring), in
    ``locale`` (default: the profile's, as `edge run` takes it: ``auto`` on desktop)."""
    from edge.asr.auto import default_locale
    from edge.assembly import FrontEnd, assemble
    from edge.pipeline.events import EventRecorder
    from edge.profiles import load_profile

    prof = profile if hasattr(profile, "vad") else load_profile(profile)
    locale = locale or default_locale(prof)[0]
    out: dict[str, Any] = {"profile": prof.name, "locale": locale, "minutes_each": minutes, "seed": seed,
                           "kinds": {}}
    with tempfile.TemporaryDirectory(prefix="edge-false-turns-") as data:
        assistant = assemble(prof, locale, FrontEnd(sink=None, speak=False, wake="none", data_dir=Path(data)))
        try:
            pipeline = assistant.pipeline
            recorder = EventRecorder()
            pipeline.bus.subscribe(recorder)
            for k, kind in enumerate(kinds):
                first = len(recorder.events)
                t0 = time.perf_counter()
                turns = pipeline.run(audio_of(kind, minutes, seed + k), source=f"bench:{kind}")
                events = recorder.events[first:]
                dropped = [e.data for e in events if e.kind == "dropped"]
                answered = [{"transcript": t.transcript, "intent": t.parse.intent if t.parse else None,
                             "reply": t.reply.text if t.reply else None} for t in turns]
                out["kinds"][kind] = {
                    "utterances": sum(e.kind == "speech_end" for e in events), "answered": len(answered),
                    "dropped": len(dropped), "false_turns_per_10_min": round(len(answered) * 10 / minutes, 2),
                    "seconds": round(time.perf_counter() - t0, 1), "answered_turns": answered,
                    "dropped_utterances": dropped,
                }
        finally:
            assistant.close()
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="desktop", help="device profile (default: desktop)")
    p.add_argument("--locale", help="the assistant's locale (default: the profile's asr.locale, as edge run)")
    p.add_argument("--minutes", type=float, default=10.0, help="minutes of each kind of audio (default 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the generated audio (default 0)")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="results folder")
    p.add_argument("--report", type=Path, help="also write the Markdown summary here")


def markdown(r: dict[str, Any]) -> str:
    lines = ["# False turns on noise and music", "",
             f"Generated by `edge bench false-turns --profile {r['profile']} --locale {r.get('locale', 'en-US')} "
             f"--minutes {r['minutes_each']:g}` on "
             f"{r.get('date', '')} ({r.get('machine', '')}). The whole pipeline (VAD, Whisper, NLU, skills; no "
             "speech out) at file speed on generated audio: noise (white, pink, brown in turn) and music-like "
             "audio, each 20 s at a random level from -50 to -3 dBFS, and reversed speech (Piper, random "
             "sentences played backwards: a voice with no words). An utterance the recogniser's signals mark "
             "as noise is dropped (`dropped` event), not answered; an answered one is a false turn (target: 0 "
             "in 10 minutes of noise and of music).", "",
             "| audio | minutes | utterances found by the VAD | dropped | answered (false turns) | per 10 min |",
             "|---|---|---|---|---|---|"]
    for kind, row in r["kinds"].items():
        label = {"music": "music-like audio", "reversed": "reversed speech"}.get(kind, kind)
        lines.append(f"| {label} | {r['minutes_each']:g} | {row['utterances']} | {row['dropped']} | "
                     f"{row['answered']} | {row['false_turns_per_10_min']} |")
    for kind, row in r["kinds"].items():
        answered = row["answered_turns"]
        if answered:
            lines += ["", f"Answered on {kind} (what Whisper wrote -> the intent), the first {min(20, len(answered))}:",
                      ""]
            lines += [f"- {t['transcript']!r} -> {t['intent']}" for t in answered[:20]]
    return "\n".join(lines) + "\n"


def run_false_turns_bench(args: argparse.Namespace) -> int:
    from edge.bench.common import machine, results_dir
    from edge.bench.results import write_atomic
    from edge.cli_errors import CliError

    if args.minutes <= 0:
        raise CliError("--minutes must be more than 0")
    out = results_dir(args.out)
    r = measure_false_turns(args.profile, args.minutes, args.seed, locale=args.locale)
    r["date"], r["machine"] = time.strftime("%Y-%m-%d"), machine()
    write_atomic(out / "false_turns.json", json.dumps(r, indent=2, ensure_ascii=False) + "\n")
    md = markdown(r)
    write_atomic(out / "false_turns.md", md)
    if args.report:
        write_atomic(args.report, md)
    print(md)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m edge.bench.false_turns", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run_false_turns_bench(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
