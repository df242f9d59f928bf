"""PNG plots of benchmark results (matplotlib, from the ``bench`` extra; imported only by the report)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["make_plots"]


def _save(fig: Any, path: Path) -> Path:
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, path)
    return path


def _accuracy(plt: Any, pipe: dict[str, Any], out: Path) -> Path | None:
    groups = (pipe.get("accuracy") or {}).get("groups", {})
    keys = [k for k in groups if " | all voices | " not in k]
    if not keys:
        return None
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = range(len(keys))
    ax.bar([i - 0.2 for i in x], [groups[k]["intent_acc"] * 100 for k in keys], 0.4, label="from audio")
    ax.bar([i + 0.2 for i in x], [groups[k]["text_intent_acc"] * 100 for k in keys], 0.4, label="from gold text")
    ax.axhline(85, color="green", linestyle="--", linewidth=1, label="target clean (85%)")
    ax.axhline(80, color="orange", linestyle="--", linewidth=1, label="target 10 dB (80%)")
    ax.set_xticks(list(x), [k.replace(" | ", "\n") for k in keys], fontsize=8)
    ax.set_ylabel("intent accuracy %")
    ax.set_ylim(0, 100)
    ax.set_title("Intent accuracy from audio: spoken MASSIVE test")
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, out / "pipeline_accuracy.png")


def _latency(plt: Any, pipe: dict[str, Any], out: Path) -> Path | None:
    lat = [r["latency_ms"]["total"] for r in pipe.get("rows", []) if "latency_ms" in r]
    if not lat:
        return None
    stages = pipe["stages_ms"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    a.hist(lat, bins=20, color="#4477aa")
    a.axvline(500, color="green", linestyle="--", linewidth=1, label="p50 target 500 ms")
    a.axvline(800, color="orange", linestyle="--", linewidth=1, label="p95 target 800 ms")
    a.set_xlabel("end of speech to first reply audio, ms")
    a.set_ylabel("turns")
    a.legend(fontsize=7)
    names = list(stages)
    b.barh(names, [stages[k]["mean"] or 0 for k in names], color="#aa7744")
    b.set_xlabel("mean ms after the end of speech")
    b.set_title("where the time goes", fontsize=9)
    fig.suptitle(f"Latency, profile {pipe['profile']}")
    return _save(fig, out / "pipeline_latency.png")


def _nlu(plt: Any, nlu: dict[str, Any], out: Path) -> Path | None:
    systems = nlu.get("systems", [])
    if not systems:
        return None
    locales = nlu["locales"]
    fig, ax = plt.subplots(figsize=(14, 3.8))
    width = 0.8 / len(systems)
    for j, s in enumerate(systems):
        ax.bar([i + j * width for i in range(len(locales))],
               [s["per_locale"][loc]["intent_acc"] * 100 for loc in locales], width, label=s["name"][:40])
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(locales))], locales, rotation=90, fontsize=7)
    ax.set_ylabel("intent accuracy %")
    ax.set_ylim(40, 100)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("NLU intent accuracy per MASSIVE locale (text)")
    return _save(fig, out / "nlu_locales.png")


def _profiles(plt: Any, prof: dict[str, Any], out: Path) -> Path | None:
    rows = prof.get("profiles", [])
    if not rows:
        return None
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    names = [r["profile"] for r in rows]
    a.bar(names, [r["memory_mb"]["pipeline"] for r in rows], color="#4477aa", label="whole pipeline peak RSS")
    a.scatter(names, [r["budget_mb"] for r in rows], color="red", marker="_", s=600, label="budget", zorder=3)
    a.set_ylabel("MiB")
    a.legend(fontsize=7)
    a.set_title("memory", fontsize=9)
    here = [r["latency"]["p50_ms"] or 0 for r in rows]
    pi5 = [r["estimates_ms"]["rpi5"] for r in rows]
    pi4 = [r["estimates_ms"]["rpi4"] for r in rows]
    x = range(len(names))
    b.bar([i - 0.27 for i in x], here, 0.27, label="measured here (p50)")
    b.bar(list(x), pi5, 0.27, label="Pi 5 (estimate)")
    b.bar([i + 0.27 for i in x], pi4, 0.27, label="Pi 4 (estimate)")
    b.set_xticks(list(x), names)
    b.set_ylabel("end of speech to first audio, ms")
    b.legend(fontsize=7)
    b.set_title("latency", fontsize=9)
    return _save(fig, out / "profiles.png")


def _tts(plt: Any, tts: dict[str, Any], out: Path) -> Path | None:
    rows = [r for r in tts.get("rows", []) if "skipped" not in r]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(8, 3.2))
    labels = [f"{r['locale']}\n{r['engine']}" for r in rows]
    ax.bar(labels, [r["first_ms_p50"] for r in rows], color=["#4477aa" if r["engine"] == "piper" else "#aa7744"
                                                             for r in rows])
    ax.set_ylabel("time to first audio, ms (p50)")
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title("TTS: Piper against espeak-ng")
    return _save(fig, out / "tts_first_audio.png")


def _asr(plt: Any, asr: dict[str, Any], out: Path) -> Path | None:
    groups = [g for g in asr.get("groups", []) if isinstance(g, dict) and g.get("n")]
    if not groups:
        return None
    fig, ax = plt.subplots(figsize=(11, 3.8))
    labels = [f"{g['engine'].split('-')[0]} {g['locale']} {g['voice']} {g['condition']}" for g in groups]
    colors = ["#4477aa" if "whisper" in g["engine"] else "#aa7744" if "sphinx" in g["engine"] else "#44aa77"
              for g in groups]
    ax.bar(labels, [min(g["wer"], 1.5) * 100 for g in groups], color=colors)
    ax.set_ylabel("WER % (capped at 150)")
    ax.tick_params(axis="x", labelsize=7, labelrotation=60)
    ax.set_title("ASR word error rate per engine, locale, voice and condition")
    return _save(fig, out / "asr_wer.png")


def make_plots(loaded: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    """Every plot the loaded results allow; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[Path | None] = []
    if "pipeline-desktop.json" in loaded:
        made += [_accuracy(plt, loaded["pipeline-desktop.json"], out), _latency(plt, loaded["pipeline-desktop.json"],
                                                                                  out)]
    if "nlu.json" in loaded:
        made.append(_nlu(plt, loaded["nlu.json"], out))
    if "profiles.json" in loaded:
        made.append(_profiles(plt, loaded["profiles.json"], out))
    if "tts.json" in loaded:
        made.append(_tts(plt, loaded["tts.json"], out))
    if "asr.json" in loaded:
        made.append(_asr(plt, loaded["asr.json"], out))
    plt.close("all")
    return [p for p in made if p is not None]
