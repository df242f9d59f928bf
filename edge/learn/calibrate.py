"""The similarity thresholds of the learned layer, calibrated per model from labelled utterances.

The embeddings are first centred (the sample's mean removed, then L2-normalised again): a student's
pooled embeddings share a large common direction, which makes every pair look alike.

Rule (the same for every model, so it holds for a new one without hand tuning): embed a stratified sample
of MASSIVE dev utterances (every intent, several locales) and look only at pairs of DIFFERENT intents,
i.e. at how close unrelated requests come:

- ``exemplar``: the 99.9th percentile of cross-intent pair similarity. A learned phrasing captures a new
  utterance only above it, so one learned item takes at most ~0.1% of unrelated requests.
- ``fewshot``: a new intent of k = 10 English examples is scored by :func:`custom_score` (the mean of its
  nearest example's similarity and its prototype's, the examples' normalised mean); the threshold is the
  99th percentile of that score over the other intents' utterances (all sampled locales), so each custom
  intent takes at most ~1% of unrelated requests.
- ``paraphrase``: the 90th percentile of cross-intent pair similarity; a failed turn and a later successful
  one are taken for the same request only above it (slot-value overlap adds up to 0.1). Mining needs two
  sightings of the same (phrasing, intent) before it learns, so an unrelated pair is learned at about
  0.1 x 0.1 = 1% per pair of failures that meet it twice.
- ``repeat``: the 95th percentile; an unsure successful turn followed within seconds by a request of another
  intent at least this close is taken as rejected (one sighting decides, hence the stricter rule).

The sample's embeddings are kept too (the *background*, ~2 MB): the known requests that keep learned items
and custom intents off the model's own intents (:class:`edge.learn.layer.LearnedLayer`).

Thresholds are kept under the model's key (:func:`edge.learn.memory.model_key`) in ``learn.db`` and in
``$XDG_CACHE_HOME/edge/learn/`` (once per model and machine: ``edge learn calibrate``, or automatically
by ``edge learn intents`` when MASSIVE is at hand), or shipped beside the model
(``learn-calibration.npz``, written by ``edge learn calibrate --ship``); a model that has none uses
:data:`DEFAULT`.
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.learn.db import LearnStore
from edge.learn.memory import Embedder

__all__ = ["BUNDLE_NAME", "CALIBRATION_LOCALES", "DEFAULT", "RULE", "Thresholds", "calibrate", "calibration_sample",
           "custom_score",
           "embed_sample", "load_background", "load_bundle", "load_thresholds", "massive_path", "save_background",
           "save_bundle", "save_thresholds"]

RULE = 2  # the calibration rule's version: thresholds made by another rule are calibrated again
CALIBRATION_LOCALES = ("en-US", "de-DE", "fr-FR", "es-ES", "hi-IN", "ja-JP", "zh-CN", "ar-SA")


@dataclass(frozen=True)
class Thresholds:
    exemplar: float
    fewshot: float
    paraphrase: float
    source: str = "default"
    center: tuple[float, ...] | None = None  # mean embedding of the sample, removed before comparing
    repeat: float = 0.8  # a quick repeat in other words at least this close rejects an unsure turn
    rule: int = RULE

    def center_array(self) -> np.ndarray | None:
        return None if self.center is None else np.asarray(self.center, dtype=np.float32)


# Uncalibrated (no MASSIVE at hand): strict on purpose, so a learned item captures almost nothing but its own
# words; recall comes with calibration.
DEFAULT = Thresholds(exemplar=0.98, fewshot=0.95, paraphrase=0.8, source="default (uncalibrated)", repeat=0.8)


def custom_score(queries: np.ndarray, examples: np.ndarray) -> np.ndarray:
    """How well each query (rows, prepared: centred, normalised) fits a custom intent given by its examples
    (rows, prepared): the mean of the nearest example's cosine and the prototype's (the examples' mean,
    normalised). The nearest example keeps a phrasing family the others lack; the prototype averages out
    one example's quirks, which carries better across languages."""
    examples = np.atleast_2d(examples)
    proto = examples.mean(axis=0)
    proto = proto / max(float(np.linalg.norm(proto)), 1e-9)
    nearest = (np.atleast_2d(queries) @ examples.T).max(axis=1)
    return np.asarray(0.5 * nearest + 0.5 * (np.atleast_2d(queries) @ proto), dtype=np.float32)


def massive_path() -> Path:
    from edge.paths import SHARED_ROOT

    return SHARED_ROOT / "data" / "massive-1.1" / "massive_1.1_jsonl.tar.gz"


def calibration_sample(path: Path | None = None, per_intent: int = 6, locales: Sequence[str] = CALIBRATION_LOCALES,
                       split: str = "dev", seed: int = 0) -> list[tuple[str, str, str]]:
    """(text, intent, locale): ``per_intent`` utterances of every intent in every locale, seeded."""
    from edge.nlu.massive import load_massive

    examples = load_massive(path or massive_path(), locales=list(locales), splits=[split])
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for ex in examples:
        groups[(ex.locale, ex.intent)].append(ex)
    rng = random.Random(seed)
    out: list[tuple[str, str, str]] = []
    for key in sorted(groups):
        group = groups[key]
        for ex in rng.sample(group, min(per_intent, len(group))):
            out.append((ex.utt, ex.intent, ex.locale))
    return out


def embed_sample(embed: Embedder, sample: Sequence[tuple[str, str, str]]) -> np.ndarray:
    """The raw embeddings of the sample's texts ([n, d] float32), in batches of 64."""
    texts = [t for t, _, _ in sample]
    return np.concatenate([embed(texts[i: i + 64]) for i in range(0, len(texts), 64)]).astype(np.float32)


def calibrate(embed: Embedder, sample: Sequence[tuple[str, str, str]], k: int = 10, seed: int = 0,
              vecs: np.ndarray | None = None) -> Thresholds:
    """Thresholds for ``embed`` from a labelled sample (see the module's rule); ``vecs``: its embeddings
    if already made (:func:`embed_sample`)."""
    intents = np.array([i for _, i, _ in sample])
    locales = np.array([loc for _, _, loc in sample])
    vecs = embed_sample(embed, sample) if vecs is None else np.asarray(vecs, dtype=np.float32)
    center = vecs.mean(axis=0)
    vecs = vecs - center
    vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
    sims = vecs @ vecs.T
    cross = intents[:, None] != intents[None, :]
    upper = np.triu(np.ones_like(cross), 1).astype(bool)
    cross_sims = sims[cross & upper]
    exemplar = float(np.quantile(cross_sims, 0.999))
    paraphrase = float(np.quantile(cross_sims, 0.90))
    repeat = float(np.quantile(cross_sims, 0.95))
    rng = np.random.default_rng(seed)
    scores: list[np.ndarray] = []
    english = locales == "en-US"
    for intent in np.unique(intents):
        pool = np.flatnonzero((intents == intent) & english)
        if len(pool) == 0:
            pool = np.flatnonzero(intents == intent)
        shots = rng.choice(pool, size=min(k, len(pool)), replace=False)
        others = np.flatnonzero(intents != intent)
        scores.append(custom_score(vecs[others], vecs[shots]))
    fewshot = float(np.quantile(np.concatenate(scores), 0.99))

    def clip(x: float) -> float:
        return round(min(max(x, 0.1), 0.99), 4)

    return Thresholds(clip(exemplar), clip(fewshot), clip(paraphrase),
                      f"calibrated on {len(sample)} MASSIVE utterances, {len(set(locales.tolist()))} locales",
                      tuple(round(float(x), 5) for x in center), clip(repeat))


def _cache_file(key: str, kind: str = "thresholds", suffix: str = ".json") -> Path:
    from edge.paths import cache_dir

    return cache_dir() / "learn" / f"{kind}-{key}{suffix}"


def save_background(key: str, vecs: np.ndarray, intents: Sequence[str]) -> None:
    """Keep the calibration sample's embeddings and intents in the cache: the known requests a custom
    intent must beat (:class:`edge.learn.layer.LearnedLayer`)."""
    path = _cache_file(key, "background", ".npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".tmp"), "wb") as f:
            np.savez_compressed(f, vecs=np.asarray(vecs, dtype=np.float16), intents=np.array(list(intents)))
        os.replace(path.with_name(path.name + ".tmp"), path)
    except OSError:
        pass


def load_background(key: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(embeddings [n, d] float32, intents [n]) kept by :func:`save_background`, or None."""
    try:
        with np.load(_cache_file(key, "background", ".npz")) as data:
            return data["vecs"].astype(np.float32), data["intents"]
    except (OSError, KeyError, ValueError):
        return None


BUNDLE_NAME = "learn-calibration.npz"


def save_bundle(folder: Path, key: str, thresholds: Thresholds, vecs: np.ndarray, intents: Sequence[str]) -> Path:
    """Write the calibration beside a model (``<folder>/learn-calibration.npz``), for shipping it with the
    model to devices that have no MASSIVE: thresholds, background embeddings (float16) and intents."""
    path = Path(folder) / BUNDLE_NAME
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, key=np.array(key), thresholds=np.array(json.dumps(asdict(thresholds))),
                            vecs=np.asarray(vecs, dtype=np.float16), intents=np.array(list(intents)))
    os.replace(tmp, path)
    return path


def load_bundle(folder: Path | None, key: str) -> tuple[Thresholds, np.ndarray, np.ndarray] | None:
    """The calibration shipped beside the model in ``folder``, if it was made for model ``key``."""
    if folder is None:
        return None
    try:
        with np.load(Path(folder) / BUNDLE_NAME) as data:
            if str(data["key"]) != key:
                return None
            found = _decode(str(data["thresholds"]))
            return (found, data["vecs"].astype(np.float32), data["intents"]) if found else None
    except (OSError, KeyError, ValueError):
        return None


def _decode(raw: str) -> Thresholds | None:
    try:
        data = json.loads(raw)
        if data.get("rule") != RULE:  # made by an earlier rule: calibrate again
            return None
        data["center"] = tuple(data["center"]) if data.get("center") is not None else None
        return Thresholds(**data)
    except (TypeError, ValueError, KeyError):
        return None


def load_thresholds(store: LearnStore, key: str) -> Thresholds:
    """The thresholds for model ``key``: from ``learn.db``, else from the cache
    (``$XDG_CACHE_HOME/edge/learn/thresholds-<key>.json``, shared by every data folder), else :data:`DEFAULT`."""
    raw = store.get_meta(f"thresholds:{key}")
    found = _decode(raw) if raw is not None else None
    if found is None:
        try:
            found = _decode(_cache_file(key).read_text(encoding="utf-8"))
        except OSError:
            found = None
    return found or DEFAULT


def save_thresholds(store: LearnStore | None, key: str, thresholds: Thresholds) -> None:
    """Keep ``thresholds`` for model ``key`` in ``store`` (if given) and in the cache (best effort)."""
    text = json.dumps(asdict(thresholds))
    if store is not None:
        store.set_meta(f"thresholds:{key}", text)
    path = _cache_file(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
