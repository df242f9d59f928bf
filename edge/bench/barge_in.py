"""Barge-in latency: how soon the assistant's audio stops once the user starts talking over it.

Each trial: the pipeline speaks a long announcement (Piper, into a :class:`~edge.audio.sink.ClockSink`,
which plays it on a real-time clock); after a random 0.3-1.5 s the user's command (Piper's rendering of
one of a few short commands, without sampling noise so that runs compare) is fed in real time, 32 ms
blocks through :func:`edge.audio.pace.paced`, like a microphone; the pipeline (``barge_in = "speech"``)
stops the audio and answers. Per trial:

* ``detected_ms``: from the VAD's confirmed speech start (the pipeline's detection) to ``sink.stop()``
  returning: the pipeline's own reaction, the issue's 200 ms target;
* ``vad_onset_ms``: from the arrival of the block holding the VAD's onset (the first of the windows at or
  above its lower threshold that lead to the trigger) to the stop: adds the confirmation
  (``[dialogue] barge_in_min_speech_ms``) and block buffering;
* ``true_onset_ms``: from the arrival of the clip's first block within 35 dB of its peak (energy, with
  hindsight) to the stop;
* ``spoken_onset_ms``: from the moment that onset was "spoken" (the real-time timeline of the paced
  input) to the stop: what the user experiences, less the speaker's own output latency. It differs from
  ``true_onset_ms`` when blocks queued while the loop was busy. The user starts talking 0.3-1.5 s after
  the input has caught up with real time, i.e. over audio already playing; speech that starts while the
  loop is still synthesising a reply's later sentences waits for that synthesis (not measured here).

The microphone carries no echo of the reply (a headset, or echo cancellation): ``barge_in = "speech"``
is the setting for that case. Run: ``edge bench barge-in --profile desktop -n 20``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edge.audio.rate import RATE

__all__ = ["add_arguments", "markdown", "measure_barge_in", "run_barge_in_bench"]

_ANNOUNCEMENT = ("Here is a long announcement, so that there is time to interrupt it. It goes on for a while, "
                 "sentence after sentence, with nothing much to say, until somebody talks over it.")
_COMMANDS = ("What time is it?", "Stop.", "Tell me a joke.", "What's the date today?", "Be quiet.",
             "Set a timer for five minutes.")


def _steady_rendering(tts: Any, text: str) -> np.ndarray:
    """The command by Piper without its sampling noise: the same clip every run, so runs compare (a sampled
    rendering can start so softly that one run's figures differ from the next's by 300 ms)."""
    from edge.audio import resample
    from edge.wake.synth import PiperRenderer

    if getattr(tts, "voice", None) is None:  # not Piper: whatever the engine gives
        audio = tts.synthesize(text)
        return resample(audio.samples, audio.rate).astype(np.float32)
    return PiperRenderer(tts=tts)(text, tts.syn_config.length_scale, noise_scale=0.0, noise_w=0.0)


def _energy_start(x: np.ndarray, rate: int = RATE) -> int:
    """The start of the first 10 ms frame within 35 dB of the loudest frame."""
    frame = rate // 100
    n = x.size // frame
    if n == 0:
        return 0
    rms = np.sqrt((x[: n * frame].reshape(n, frame) ** 2).mean(axis=1) + 1e-12)
    loud = np.nonzero(rms >= rms.max() * 10 ** (-35 / 20))[0]
    return int(loud[0] * frame) if loud.size else 0


def _pct(xs: list[float], q: float) -> float | None:
    return round(float(np.percentile(xs, q)), 1) if xs else None


def measure_barge_in(profile: Any = "desktop", n: int = 10, *, seed: int = 0, block_ms: int = 32,
                     warmup: int = 2) -> dict[str, Any]:
    """Run ``n`` barge-in trials on ``profile`` (a name, path or Profile); returns p50/p95 of each measure
    (ms), the trials, and the number of trials where the audio was not stopped (``missed``)."""
    from edge.asr.wer import corpus_wer, normalize
    from edge.assembly import FrontEnd, assemble
    from edge.audio.pace import paced
    from edge.audio.sink import ClockSink
    from edge.pipeline.events import EventRecorder
    from edge.profiles import load_profile
    from edge.skills.basic import BasicRouter

    prof = profile if hasattr(profile, "vad") else load_profile(profile)
    sink = ClockSink()
    pipeline = assemble(prof, "en-US", FrontEnd(sink=sink, router=BasicRouter(), barge_in="speech")).pipeline
    recorder = EventRecorder()
    pipeline.bus.subscribe(recorder)
    assert pipeline.tts is not None
    clips = {text: _steady_rendering(pipeline.tts, text) for text in _COMMANDS}
    rng = random.Random(seed)
    block = RATE * block_ms // 1000
    onsets: list[tuple[int, str]] = []  # (stream sample of the true onset, command)
    arrivals: list[tuple[int, float]] = []  # (stream position after a block, when it reached the pipeline)
    fed = 0

    def silence_until(condition: Any, limit: float = 30.0) -> Iterator[np.ndarray]:
        nonlocal fed
        end = time.monotonic() + limit
        while not condition() and time.monotonic() < end:
            fed += block
            yield np.zeros(block, np.float32)

    def caught_up() -> bool:
        """The input is no longer behind real time (blocks queued while the loop was synthesising are read)."""
        if not arrivals:
            return False
        start = arrivals[0][1] - arrivals[0][0] / RATE
        return start + arrivals[-1][0] / RATE >= time.monotonic() - 2 * block / RATE

    def script() -> Iterator[np.ndarray]:
        nonlocal fed
        for i in range(-warmup, n):  # warm-up trials are not counted: the first turns warm the models' caches
            turns_before = len(recorder.of("turn"))
            pipeline.announce(_ANNOUNCEMENT)
            yield from silence_until(lambda: sink.playing)
            yield from silence_until(caught_up)  # the user talks over audio they hear: no backlog
            pause = np.zeros(int(rng.uniform(0.3, 1.5) * RATE), np.float32)
            text = _COMMANDS[i % len(_COMMANDS)]
            clip = clips[text]
            if i >= 0:
                onsets.append((fed + pause.size + _energy_start(clip), text))
            fed += pause.size + clip.size
            yield np.concatenate([pause, clip])
            yield from silence_until(lambda b=turns_before: len(recorder.of("turn")) > b)  # type: ignore[misc]
            yield from silence_until(lambda: sink.playing, limit=0.5)  # a reply, if any, starts
            pipeline.stop_speaking()  # the next trial starts from silence

    def stamped(chunks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        pos = 0
        for chunk in chunks:
            pos += chunk.size
            arrivals.append((pos, time.monotonic()))
            yield chunk

    try:
        pipeline.run(stamped(paced(script(), block_ms=block_ms)), live=True, source="barge-in bench")
    finally:
        pipeline.close()
    barges = [e for e in recorder.events if e.kind == "barge_in" and e.data["trigger"] == "speech"]
    recording_start = arrivals[0][1] - arrivals[0][0] / RATE if arrivals else 0.0
    trials = []
    for i, (onset, text) in enumerate(onsets):
        arrived = next((t for pos, t in arrivals if pos > onset), None)
        limit = onsets[i + 1][0] if i + 1 < len(onsets) else fed
        barge = next((e for e in barges if onset <= e.data["audio_s"] * RATE <= limit), None)
        turn = next((t for t in pipeline.turns if onset - RATE <= t.start_s * RATE <= limit), None)
        heard = turn.transcript if turn is not None else ""
        taken = next((e.data["audio_s"] for e in recorder.of("speech_start")
                      if onset - RATE <= e.data["audio_s"] * RATE <= limit), None)
        lead_ms = None if taken is None else round((onset - taken * RATE) / RATE * 1000, 1)
        if barge is None or arrived is None:
            trials.append({"command": text, "stopped": False, "heard": heard, "taken_before_onset_ms": lead_ms})
            continue
        stopped_at = pipeline.bus.t0 + barge.t  # the event is emitted as sink.stop() returns
        spoken = recording_start + onset / RATE  # paced() never hands a block over before it was "recorded"
        trials.append({"command": text, "stopped": True, "detected_ms": barge.data["latency_ms"],
                       "vad_onset_ms": barge.data.get("since_onset_ms"),
                       "true_onset_ms": round((stopped_at - arrived) * 1000, 1),
                       "spoken_onset_ms": round((stopped_at - spoken) * 1000, 1), "heard": heard,
                       "taken_before_onset_ms": lead_ms,
                       "first_word_kept": bool(normalize(heard)) and normalize(heard)[0] == normalize(text)[0]})
    ok = [t for t in trials if t["stopped"]]
    result: dict[str, Any] = {"profile": prof.name, "trials": len(trials), "missed": len(trials) - len(ok),
                              "block_ms": block_ms, "barge_in_threshold": pipeline.barge_in_threshold,
                              "barge_in_min_speech_ms": pipeline.barge_in_min_speech * 1000 // RATE, "warmup": warmup}
    for key in ("detected_ms", "vad_onset_ms", "true_onset_ms", "spoken_onset_ms"):
        values = [t[key] for t in ok if t.get(key) is not None]
        result[key] = {"p50": _pct(values, 50), "p95": _pct(values, 95), "max": _pct(values, 100)}
    result["wer"] = round(corpus_wer((t["command"], t["heard"]) for t in trials), 4)
    result["first_word_kept"] = sum(bool(t.get("first_word_kept")) for t in trials)
    result["per_trial"] = trials
    return result


def false_barge_ins(profile: Any = "desktop", minutes: float = 10.0, seed: int = 0) -> dict[str, Any]:
    """How often non-speech would stop a reply: the profile's VAD at the barge-in threshold, over ``minutes``
    of each of white, pink and brown noise and music-like audio (edge.wake.synth, random levels -50 to -3 dBFS
    per 20 s), counting speech starts per hour at the barge-in confirmation and at the [vad] one."""
    from edge.pipeline.loader import load_endpointer
    from edge.profiles import load_profile
    from edge.wake import synth

    prof = profile if hasattr(profile, "vad") else load_profile(profile)
    rng = np.random.default_rng(seed)
    segment = 20 * RATE
    dialogue = prof.dialogue
    confirmations = sorted({int(dialogue.barge_in_min_speech_ms), int(prof.vad.min_speech_ms)})
    out: dict[str, Any] = {"minutes_each": minutes, "threshold": dialogue.barge_in_threshold, "kinds": {}}
    endpointers = {ms: load_endpointer(prof) for ms in confirmations}
    for ep in endpointers.values():
        ep.threshold, ep.keep_audio = max(ep.threshold, dialogue.barge_in_threshold), False
    for ms, ep in endpointers.items():
        ep.min_speech = ms * RATE // 1000
    for kind in ("white", "pink", "brown", "music"):
        counts = dict.fromkeys(confirmations, 0)
        for ep in endpointers.values():
            ep.reset()
        for _ in range(max(1, int(minutes * 3))):
            x = synth.music_like(20.0, rng)[:segment] if kind == "music" else synth.noise(kind, segment, rng)
            x = (x * np.float32(10 ** (rng.uniform(-50, -3) / 20))).astype(np.float32)
            for ms, ep in endpointers.items():
                counts[ms] += sum(type(e).__name__ == "SpeechStart" for e in ep.process(x))
        out["kinds"][kind] = {str(ms): round(n * 60 / minutes, 1) for ms, n in counts.items()}
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="desktop", help="device profile (default: desktop)")
    p.add_argument("-n", "--trials", dest="n", type=int, default=12, help="trials (default 12)")
    p.add_argument("--warmup", type=int, default=2, help="uncounted trials first (default 2)")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="results folder")
    p.add_argument("--report", type=Path, help="also write the Markdown summary here")


_LABELS = (("detected_ms", "VAD speech start detected -> audio stopped (target <= 200 ms)"),
           ("vad_onset_ms", "block holding the VAD onset arrived -> audio stopped"),
           ("true_onset_ms", "true onset (energy) arrived -> audio stopped"),
           ("spoken_onset_ms", "true onset spoken -> audio stopped (with any backlog)"))


def markdown(r: dict[str, Any]) -> str:
    lines = ["# Barge-in", "", f"Generated by `edge bench barge-in --profile {r['profile']} -n {r['trials']}` on "
             f"{r.get('date', '')} ({r.get('machine', '')}). A Piper command spoken over a long announcement, fed "
             "in real time; `barge_in = \"speech\"`, no echo on the input (headset or echo cancellation); the "
             f"reply stops after {r.get('barge_in_min_speech_ms', '?')} ms of speech at a VAD threshold of "
             f"{r['barge_in_threshold']}. {r.get('warmup', 0)} warm-up trials before these are not counted. "
             f"{r['trials']} trials, {r['missed']} not stopped.", "",
             "| measure | p50 ms | p95 ms | max ms |", "|---|---|---|---|"]
    for key, label in _LABELS:
        v = r[key]
        lines.append(f"| {label} | {v['p50']} | {v['p95']} | {v['max']} |")
    fb = r.get("false_barge_ins")
    if fb:
        ms = sorted(next(iter(fb["kinds"].values())), key=int)
        lines += ["", f"Non-speech that would stop a reply (speech starts per hour at the barge-in threshold "
                  f"{fb['threshold']}, {fb['minutes_each']:g} min of each, random levels):", "",
                  "| audio | " + " | ".join(f"confirmed after {m} ms" for m in ms) + " |",
                  "|---|" + "---|" * len(ms)]
        for kind, row in fb["kinds"].items():
            label = "music-like audio" if kind == "music" else f"{kind} noise"
            lines.append(f"| {label} | " + " | ".join(str(row[m]) for m in ms) + " |")
    if "wer" in r:
        lines += ["", f"What the interrupting command became (the onset is found late over a reply, at the "
                  f"stricter barge-in threshold {r['barge_in_threshold']}): the first word kept in "
                  f"{r['first_word_kept']} of {r['trials']} trials; WER {r['wer']:.1%} against the commands."]
    return "\n".join(lines) + "\n"


def run_barge_in_bench(args: argparse.Namespace) -> int:
    from edge.bench.common import machine, results_dir
    from edge.bench.results import write_atomic
    from edge.cli_errors import CliError

    if args.n < 1:
        raise CliError("-n must be at least 1")
    out = results_dir(args.out)
    r = measure_barge_in(args.profile, args.n, warmup=max(0, args.warmup))
    r["false_barge_ins"] = false_barge_ins(args.profile)
    r["date"], r["machine"] = time.strftime("%Y-%m-%d"), machine()
    write_atomic(out / "barge_in.json", json.dumps(r, indent=2) + "\n")
    md = markdown(r)
    write_atomic(out / "barge_in.md", md)
    if args.report:
        write_atomic(args.report, md)
    print(md)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m edge.bench.barge_in", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run_barge_in_bench(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
