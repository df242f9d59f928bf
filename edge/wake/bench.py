"""`edge wake bench`: false accepts per hour and false rejects of a wake model, written as JSON and Markdown.

False accepts: real speech from a folder (every WAV/FLAC under it), hours of generated noise and music-like
audio, hours of synthetic non-wake speech (held-out espeak-ng voices and Piper, concatenated with pauses,
gains, speeds and backgrounds), and near-miss phrases ("hey edgar"). False rejects: the phrase by voices and
settings the trainer never uses, clean and at 10 dB and 0 dB SNR. Each figure states the hours it rests on.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edge.audio.rate import RATE
from edge.wake import synth
from edge.wake.detector import WakeDetector
from edge.wake.model import WakeModel

__all__ = ["cpu_cost", "run_bench", "write_report"]

Progress = Callable[[str], None]
_TAIL = np.zeros(RATE, np.float32)


class _Timed:
    """A verifier that counts its calls and their CPU time."""

    def __init__(self, verifier: Any) -> None:
        self.verifier, self.calls, self.cpu_s = verifier, 0, 0.0

    @property
    def last_text(self) -> str:
        return str(getattr(self.verifier, "last_text", ""))

    def __call__(self, audio: np.ndarray, stage1_score: float) -> bool:
        t0 = time.process_time()
        try:
            return bool(self.verifier(audio, stage1_score))
        finally:
            self.calls += 1
            self.cpu_s += time.process_time() - t0


def _hits(det: WakeDetector, audio: np.ndarray, block_s: float = 600.0) -> list[float]:
    """Hit times over a whole signal, fed in big blocks (the streaming path is vectorised per block)."""
    det.reset()
    n = int(block_s * RATE)
    return [h.time for i in range(0, len(audio), n) for h in det.process_all(audio[i : i + n])]


def real_speech(det: WakeDetector, folder: Path, phrase: str) -> dict[str, Any]:
    from edge.audio import read_audio

    slug = "-".join(phrase.lower().split())
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".wav", ".flac")
                   and slug not in p.stem.lower().replace("_", "-"))
    seconds, fires, unreadable, cands, heard = 0.0, [], 0, 0, []
    for f in files:
        try:
            x = read_audio(f)
        except Exception:  # noqa: BLE001 - a file the reader refuses is skipped and counted
            unreadable += 1
            continue
        seconds += len(x) / RATE
        # 1 s of silence after each file, as a stream would go on: a candidate at a file's very end is checked
        fires += [f"{f.relative_to(folder)}@{t:.2f}s" for t in _hits(det, np.concatenate([x, _TAIL]))]
        heard += [f"{f.relative_to(folder)}: {text}" for _, text in det.accepted]
        cands += det.candidates
    return {"files": len(files) - unreadable, "unreadable": unreadable, "hours": seconds / 3600,
            "false_accepts": len(fires), "stage1_false_accepts": cands, "fires": fires[:20],
            "accepted_transcripts": heard[:20]}


def noise_and_music(det: WakeDetector, hours: float, rng: np.random.Generator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    per_kind = hours / 4
    for kind in ("white", "pink", "brown", "music"):
        det.reset()
        fires = 0
        minutes = max(1, int(per_kind * 60))
        seg = 60 * RATE
        for _ in range(minutes):
            x = synth.music_like(60.0, rng)[:seg] if kind == "music" else synth.noise(kind, seg, rng)
            fires += len(det.process_all(x * np.float32(10 ** (rng.uniform(-50, -3) / 20))))
        out[kind] = {"hours": minutes / 60, "false_accepts": fires, "stage1_false_accepts": det.candidates}
    return out


def _render_sentences(n: int, rng: np.random.Generator, piper: Any, n_piper: int, phrase: str) -> list[np.ndarray]:
    texts = synth.random_sentences(n + n_piper, np.random.default_rng(int(rng.integers(1 << 30)) + 7919), phrase)
    jobs = [(t, synth.ESPEAK_HELD_OUT[i % len(synth.ESPEAK_HELD_OUT)], int(rng.integers(130, 201)),
             int(rng.integers(25, 80))) for i, t in enumerate(texts[:n])]
    out = synth.espeak_render_many(jobs)
    if piper is not None:
        out += [piper(t, float(rng.uniform(0.85, 1.2)), 0.5, 0.7) for t in texts[n:]]
    return [synth.trim_silence(x) for x in out if x.size > RATE // 10]


def synthetic_speech(det: WakeDetector, hours: float, rng: np.random.Generator, piper: Any,
                     progress: Progress) -> dict[str, Any]:
    from edge.audio.resample import resample

    clips = _render_sentences(400, rng, piper, 40 if piper is not None else 0, det.phrase)
    distinct_s = sum(len(c) for c in clips) / RATE
    progress(f"synthetic speech: {len(clips)} distinct renderings ({distinct_s / 60:.1f} min), "
             f"assembling {hours:g} h")
    det.reset()
    total, fires, t0 = 0, 0, time.perf_counter()
    bank = {k: synth.noise(k, 120 * RATE, rng) for k in ("pink", "brown")}
    bank["music"] = synth.music_like(120.0, rng)
    while total < hours * 3600 * RATE:
        parts = []
        for _ in range(60):  # ~3 minutes per block
            c = clips[int(rng.integers(len(clips)))]
            f = rng.uniform(0.9, 1.1)
            c = resample(c, int(RATE * f), RATE) if abs(f - 1) > 0.01 else c
            parts += [c * np.float32(10 ** (rng.uniform(-20, 0) / 20)),
                      np.zeros(int(rng.uniform(0.1, 2.0) * RATE), np.float32)]
        x = np.concatenate(parts)
        if rng.random() < 0.5:
            kind = str(rng.choice(list(bank)))
            bg = np.resize(bank[kind], len(x))
            x = synth.mix_at_snr(x, bg, float(rng.uniform(5, 30)))
        fires += len(det.process_all(x))
        total += len(x)
    return {"hours": total / RATE / 3600, "distinct_renderings": len(clips), "distinct_minutes": distinct_s / 60,
            "false_accepts": fires, "stage1_false_accepts": det.candidates, "scan_s": time.perf_counter() - t0,
            "rejected_examples": det.rejected[:10], "accepted_transcripts": det.accepted[:20]}


def near_misses(det: WakeDetector, phrase: str) -> dict[str, Any]:
    voices = synth.ESPEAK_HELD_OUT[::3]
    per: dict[str, int] = {}
    stage1 = 0
    texts = synth.confusables(phrase)
    renders = synth.espeak_render_many([(t, v, 160, 50) for t in texts for v in voices])
    pad = np.zeros(RATE // 2, np.float32)
    for i, x in enumerate(renders):
        if _hits(det, np.concatenate([pad, x, pad])):
            per[texts[i // len(voices)]] = per.get(texts[i // len(voices)], 0) + 1
        stage1 += det.candidates > 0
    return {"renderings": len(renders), "accepted": sum(per.values()), "stage1_accepted": stage1, "by_phrase": per,
            "voices": len(voices)}


def held_out_positives(phrase: str, rng: np.random.Generator, piper: Any) -> list[tuple[str, np.ndarray]]:
    """The phrase by voices the trainer never uses (espeak) and Piper settings outside its random draws."""
    jobs = [(phrase, v, s, p) for v in synth.ESPEAK_HELD_OUT for s, p in ((140, 40), (185, 65))]
    out = [(f"espeak {v} {s}wpm p{p}", x) for (_, v, s, p), x in zip(jobs, synth.espeak_render_many(jobs))]
    if piper is not None:
        for ls in (0.7, 0.9, 1.0, 1.15, 1.4):
            for ns in (0.2, 0.8):
                out.append((f"piper ls{ls} ns{ns}", piper(phrase, ls, ns, 0.9)))
    return [(k, synth.trim_silence(x)) for k, x in out if x.size > RATE // 10]


def false_rejects(det: WakeDetector, positives: list[tuple[str, np.ndarray]], rng: np.random.Generator,
                  speech: list[np.ndarray]) -> dict[str, Any]:
    bank = {"pink": synth.noise("pink", 60 * RATE, rng), "music": synth.music_like(60.0, rng)}
    if speech:
        babble = np.zeros(60 * RATE, np.float32)
        for _ in range(4):
            babble += np.resize(speech[int(rng.integers(len(speech)))], 60 * RATE)
        bank["babble"] = babble
    out: dict[str, Any] = {}
    for cond in ("clean", "10 dB", "0 dB"):
        missed, missed1 = [], 0
        for name, x in positives:
            pre, post = int(rng.uniform(0.5, 1.5) * RATE), RATE
            a = np.concatenate([np.zeros(pre, np.float32), x * np.float32(rng.uniform(0.2, 0.9)),
                                np.zeros(post, np.float32)])
            if cond == "clean":
                a = a + np.float32(1e-4) * rng.standard_normal(len(a)).astype(np.float32)
            else:
                kind = str(rng.choice(list(bank)))
                off = int(rng.integers(0, len(bank[kind]) - len(a)))
                a = synth.mix_at_snr(a, bank[kind][off : off + len(a)], float(cond.split()[0]))
            end = (pre + len(x)) / RATE
            if not any(pre / RATE <= t <= end + 0.6 for t in _hits(det, a)):
                missed.append(name)
            missed1 += not any(pre / RATE <= t <= end + 0.6 for t in det.candidate_times)
        n = max(1, len(positives))
        out[cond] = {"clips": len(positives), "missed": len(missed), "frr": len(missed) / n,
                     "stage1_missed": missed1, "stage1_frr": missed1 / n, "missed_examples": missed[:8]}
    return out


def cpu_cost(det: WakeDetector, seconds: float = 60.0, block_s: float = 0.032) -> dict[str, float]:
    """Time :meth:`WakeDetector.process` on ``seconds`` of pink noise in 32 ms blocks: % of one core."""
    rng = np.random.default_rng(1)
    x = synth.noise("pink", int(seconds * RATE), rng) * np.float32(0.05)
    n = int(block_s * RATE)
    det.reset()
    t0 = time.process_time()
    w0 = time.perf_counter()
    for i in range(0, len(x), n):
        det.process(x[i : i + n])
    cpu = time.process_time() - t0
    wall = time.perf_counter() - w0
    return {"audio_s": seconds, "block_ms": block_s * 1000, "cpu_s": cpu, "wall_s": wall,
            "core_percent": 100 * cpu / seconds, "per_block_us": 1e6 * wall / (len(x) / n)}


def run_bench(model: WakeModel, negatives: str | os.PathLike[str] | None, hours_noise: float = 10.0,
              hours_speech: float = 10.0, seed: int = 1, progress: Progress | None = None,
              verify: bool = True) -> dict[str, Any]:
    """Every figure for stage 1 alone and, with ``verify``, for stage 1 + the Whisper check."""
    say = progress or (lambda _: None)
    rng = np.random.default_rng(seed)
    verifier = None
    if verify:
        from edge.wake.verify import WhisperVerifier

        verifier = _Timed(WhisperVerifier(model.phrase))
    det = WakeDetector(model, verifier=verifier)
    try:
        piper: Any = synth.PiperRenderer(threads=2)
    except Exception:  # noqa: BLE001 - no Piper voice: espeak-ng only, said in the report
        piper = None
    res: dict[str, Any] = {"phrase": model.phrase, "threshold": model.threshold, "model_info": model.info,
                           "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, "
                           f"{os.cpu_count()} cores", "piper": piper is not None}
    say("CPU cost of process()")
    res["cpu"] = cpu_cost(WakeDetector(model))
    res["verify"] = verifier is not None
    if negatives is not None and Path(negatives).is_dir():
        say(f"real speech under {negatives}")
        res["real_speech"] = real_speech(det, Path(negatives), model.phrase)
        res["real_speech"]["folder"] = str(negatives)
    say("held-out renderings of the phrase (false rejects)")
    positives = held_out_positives(model.phrase, rng, piper)
    babble_src = _render_sentences(24, rng, None, 0, model.phrase)
    res["false_rejects"] = false_rejects(det, positives, rng, babble_src)
    say("near-miss phrases")
    res["near_misses"] = near_misses(det, model.phrase)
    say(f"{hours_noise:g} h of generated noise and music-like audio")
    res["noise"] = noise_and_music(det, hours_noise, rng)
    res["synthetic_speech"] = synthetic_speech(det, hours_speech, rng, piper, say)
    if verifier is not None:
        res["verifier"] = {"min_score": verifier.verifier.min_score, "stage1_weight": verifier.verifier.stage1_weight,
                           "at_099": round(verifier.verifier.required(0.99), 4), "calls": verifier.calls,
                           "cpu_s_per_call": verifier.cpu_s / max(1, verifier.calls)}
    return res


def _rate(fa: int, hours: float) -> str:
    return f"{fa / hours:.2f}" if hours > 0 else "-"


def _row(label: str, r: dict[str, Any], verified: bool) -> str:
    h = r["hours"]
    s1 = f"{r['stage1_false_accepts']} ({_rate(r['stage1_false_accepts'], h)}/h)"
    s2 = f"{r['false_accepts']} ({_rate(r['false_accepts'], h)}/h)" if verified else "-"
    return f"| {label} | {h:.3f} | {s1} | {s2} |"


def write_report(res: dict[str, Any], md_path: str | os.PathLike[str], command: str) -> Path:
    """Markdown at ``md_path`` and the raw figures beside it (same name, .json)."""
    md = Path(md_path)
    md.parent.mkdir(parents=True, exist_ok=True)
    md.with_suffix(".json").write_text(json.dumps(res, indent=2, default=str) + "\n", "utf-8")
    info = res.get("model_info", {})
    v = bool(res.get("verify"))
    lines = [f"# Wake-word benchmark: \"{res['phrase']}\"", "",
             f"Generated by `{command}` on {res['date']} ({res['machine']}). Model trained on this machine by "
             f"`edge wake train` in {info.get('train_s', '?')} s wall, {info.get('train_cpu_s', '?')} s CPU in "
             f"Python (seed {info.get('seed', '?')}, fast={info.get('fast', '?')}); stage-1 threshold "
             f"{res['threshold']:.3f}, window {info.get('window_s', '?')} s. Stage 2 = Whisper tiny.en keyword score "
             f"of each stage-1 candidate ({'on' if v else 'off'}"
             + (f", accept at >= {res['verifier']['min_score']} at a stage-1 score of 0.5, down to "
                f"{res['verifier']['at_099']} at 0.99" if v and res.get("verifier") else "") + ").",
             "", "## False accepts", "",
             "| audio | hours | stage 1 alone | stage 1 + Whisper check |", "|---|---|---|---|"]
    rs = res.get("real_speech")
    if rs:
        lines.append(_row(f"real speech: {rs['files']} files under `{rs['folder']}`", rs, v))
    ss = res["synthetic_speech"]
    lines.append(_row(f"synthetic non-wake speech ({ss['distinct_renderings']} distinct renderings, "
                      f"{ss['distinct_minutes']:.0f} min, reassembled with pauses, gains, speeds, backgrounds)", ss, v))
    for kind, r in res["noise"].items():
        lines.append(_row("music-like audio" if kind == "music" else f"{kind} noise", r, v))
    rows = [r for r in (rs, ss, *res["noise"].values()) if r]
    hours = sum(r["hours"] for r in rows)
    fas = sum(r["false_accepts"] if v else r["stage1_false_accepts"] for r in rows)
    clean = res["false_rejects"]["clean"]
    frr = clean["frr"] if v else clean["stage1_frr"]
    per10 = 10 * fas / hours if hours else float("nan")
    lines += ["", f"All non-wake audio together: {hours:.1f} h, {fas} false accepts = {per10:.2f} per 10 h "
              f"(target at most 1: {'met' if per10 <= 1 else 'NOT met'}), at a clean false-reject rate of "
              f"{frr:.1%} (target at most 5 %: {'met' if frr <= 0.05 else 'NOT met'})."]
    heard = [*(rs or {}).get("accepted_transcripts", []), *(f"{t:.1f} s: {text}" for t, text in
                                                             ss.get("accepted_transcripts", []))]
    if v and heard:
        lines += ["", "What Whisper heard in the false accepts: " + "; ".join(f"`{h}`" for h in heard[:20]) + "."]
    nm = res["near_misses"]
    by = ", ".join(f"{k} ({n})" for k, n in sorted(nm["by_phrase"].items()))
    lines += ["", f"Near-miss phrases ({nm['renderings']} renderings by {nm['voices']} held-out espeak-ng voices): "
              f"stage 1 accepted {nm['stage1_accepted']}, with the check {nm['accepted']}" + (f": {by}" if by else "")
              + ".", "", "## False rejects (held-out renderings)", "",
              "| condition | clips | stage 1 alone | stage 1 + Whisper check |", "|---|---|---|---|"]
    for cond, r in res["false_rejects"].items():
        both = f"{r['missed']} ({r['frr']:.1%})" if v else "-"
        lines.append(f"| {cond} | {r['clips']} | {r['stage1_missed']} ({r['stage1_frr']:.1%}) | {both} |")
    cpu = res["cpu"]
    lines += ["", "## Cost", "", f"Stage 1, `WakeDetector.process()` on {cpu['audio_s']:.0f} s of audio in "
              f"{cpu['block_ms']:.0f} ms blocks: {cpu['cpu_s']:.2f} s CPU = {cpu['core_percent']:.2f} % of one core "
              f"({cpu['per_block_us']:.0f} us per block). Stage 2 runs only on stage-1 candidates: "
              + (f"{res['verifier']['calls']} checks in this run, {res['verifier']['cpu_s_per_call']:.2f} s of CPU "
                 f"each on average (Whisper tiny.en on ~2 s of audio: a free decode and the forced phrase)."
                 if res.get("verifier") else "none in this run."), "",
              "## What these figures rest on", "",
              "- Real speech is only what the folder holds (hours in the table): a handful of minutes cannot "
              "show a rate of 1 per 10 hours; it shows the stage-1 candidate rate on real recordings.",
              "- Synthetic speech hours are reassembled from the distinct renderings above (held-out espeak-ng "
              "voices and Piper), so they repeat content; noise and music-like audio are generated.",
              "- False rejects are measured on synthetic voices only (espeak-ng voices the trainer never uses, "
              "Piper settings outside its draws; Piper has one speaker, so its rows are not speaker-independent). "
              "No recordings of people saying the phrase exist here: the rate on real voices is unmeasured.",
              "- Near-miss phrases (\"say edge\", \"hey edgar\") are outside the false-accept target (ordinary "
              "speech, noise, music): the keyword score, which accepts what Whisper nearly hears as the phrase, "
              "lets more of them through than a transcript match would.",
              "- Real-speech files get 1 s of silence appended (a stream goes on), so a candidate at a file's end "
              "is checked too.",
              ""]
    md.write_text("\n".join(lines) + "\n", "utf-8")
    return md
