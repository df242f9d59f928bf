"""Intent accuracy and slot F1 measured from audio: spoken MASSIVE clips through the real pipeline.

Each clip of the spoken set (:mod:`edge.bench.spoken`) runs through the profile's pipeline as a file
(VAD -> ASR -> NLU, no reply audio), as fast as the CPU allows; the transcript's parse is scored against
MASSIVE's gold intent and slots. The same NLU on the gold text is scored too, so the loss that comes
from hearing (ASR) is told apart from the loss of the NLU itself.

Slots from audio cannot be compared by character offsets (the transcript is not the gold text), so a
predicted slot counts when its type and its value's spoken form (:func:`edge.nlu.textform.spoken_form`)
equal a gold slot's: SLURP's "span F1" without partial credit.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge.bench.spoken import Clip, load_clip
from edge.nlu.textform import spoken_form

__all__ = ["run_accuracy", "slot_pairs", "summarise_accuracy"]


def slot_pairs(slots: Sequence[tuple[str, str]], locale: str) -> Counter[tuple[str, str]]:
    return Counter((t, spoken_form(v, locale)) for t, v in slots)


def _blocks(audio: np.ndarray, block: int) -> list[np.ndarray]:
    return [audio[i : i + block] for i in range(0, audio.size, block)]


def run_accuracy(
    profile: Any,
    root: Path,
    clips: Sequence[Clip],
    partial: Any,
    *,
    progress: Callable[[int, int, str], None] | None = None,
    guard: Any = None,
) -> list[dict[str, Any]]:
    """Score every clip (skipping those already in ``partial``, an :class:`edge.bench.common.PartialResults`)."""
    from edge.assembly import FrontEnd, assemble
    from edge.pipeline.assistant import Pipeline
    from edge.skills.basic import BasicRouter

    clean_by_locale: dict[str, list[Clip]] = {}
    for c in clips:
        if c.snr_db is None:
            clean_by_locale.setdefault(c.locale, []).append(c)
    pipelines: dict[str, Pipeline] = {}
    block = profile.audio.block_ms * 16
    for i, clip in enumerate(clips):
        if progress is not None:
            progress(i, len(clips), f"{clip.locale} {clip.engine} {clip.condition}")
        if clip.id in partial:
            continue
        if clip.locale not in pipelines:
            for old in pipelines.values():
                old.close()
            pipelines.clear()
            stage = f"pipeline {clip.locale}: loading VAD, ASR and NLU"
            with guard.stage(stage) if guard is not None else _nothing():
                front = FrontEnd(speak=False, router=BasicRouter(seed=0))
                pipelines[clip.locale] = assemble(profile, clip.locale, front).pipeline
        pipeline = pipelines[clip.locale]
        audio = load_clip(root, clip, clean_by_locale.get(clip.locale, ()))
        pipeline.turns = []
        cpu0, t0 = time.process_time(), time.perf_counter()
        with guard.stage(f"pipeline {clip.locale}: VAD + ASR + NLU") if guard is not None else _nothing():
            turns = pipeline.run(_blocks(audio, block), live=False, source=clip.id)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        transcript = " ".join(t.transcript for t in turns).strip()
        if len(turns) == 1 and turns[0].parse is not None:
            parse = turns[0].parse
        else:  # no speech found (parse of "") or the VAD split the command: parse the whole transcript
            parse = pipeline.nlu.parse(spoken_form(transcript, clip.locale), clip.locale)
        text_parse = pipeline.nlu.parse(clip.text, clip.locale)
        partial.add(clip.id, {
            "locale": clip.locale, "engine": clip.engine, "condition": clip.condition, "voice": clip.voice,
            "text": clip.text, "transcript": transcript, "turns": len(turns),
            "gold_intent": clip.intent, "intent": parse.intent, "text_intent": text_parse.intent,
            "gold_slots": [list(s) for s in clip.slots],
            "slots": [[s.type, s.value] for s in parse.slots],
            "text_slots": [[s.type, s.value] for s in text_parse.slots],
            "audio_s": round(audio.size / 16000, 3), "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
        })
    for p in pipelines.values():
        p.close()
    if progress is not None:
        progress(len(clips), len(clips), "")
    wanted = {c.id for c in clips}
    return [r for k, r in partial.rows.items() if k in wanted]


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _prf(gold: list[Counter], pred: list[Counter]) -> tuple[float, float, float]:
    tp = sum(sum((g & p).values()) for g, p in zip(gold, pred))
    n_gold = sum(sum(g.values()) for g in gold)
    n_pred = sum(sum(p.values()) for p in pred)
    if n_gold == 0 and n_pred == 0:
        return 1.0, 1.0, 1.0
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _group(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    from edge.asr.wer import word_errors

    gold = [slot_pairs([tuple(s) for s in r["gold_slots"]], r["locale"]) for r in rows]
    pred = [slot_pairs([tuple(s) for s in r["slots"]], r["locale"]) for r in rows]
    text_pred = [slot_pairs([tuple(s) for s in r["text_slots"]], r["locale"]) for r in rows]
    errors = words = 0
    for r in rows:
        e, n = word_errors(spoken_form(r["text"], r["locale"]), spoken_form(r["transcript"], r["locale"]))
        errors, words = errors + e, words + n
    intent_ok = [r["intent"] == r["gold_intent"] for r in rows]
    _, _, f1 = _prf(gold, pred)
    exact = [ok and g == p for ok, g, p in zip(intent_ok, gold, pred)]
    audio = sum(r["audio_s"] for r in rows)
    return {
        "n": len(rows),
        "intent_acc": sum(intent_ok) / len(rows),
        "slot_f1": f1,
        "exact_match": sum(exact) / len(rows),
        "text_intent_acc": sum(r["text_intent"] == r["gold_intent"] for r in rows) / len(rows),
        "text_slot_f1": _prf(gold, text_pred)[2],
        "wer": errors / words if words else 0.0,
        "no_speech": sum(r["turns"] == 0 for r in rows),
        "cpu_s_per_utt": statistics.fmean(r["cpu_s"] for r in rows),
        "rtf": sum(r["wall_s"] for r in rows) / audio if audio else None,
    }


def summarise_accuracy(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Scores per (locale, TTS engine, condition), per (locale, condition) over both voices, and overall."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(f"{r['locale']} | {r['engine']} | {r['condition']}", []).append(r)
        groups.setdefault(f"{r['locale']} | all voices | {r['condition']}", []).append(r)
    return {key: _group(g) for key, g in sorted(groups.items())}
