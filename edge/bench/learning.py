"""`edge bench learning`: on-device learning on MASSIVE. Protocol (also written into the report):

1. **Calibration.** The learned layer's thresholds are calibrated for the model under test from MASSIVE
   *dev* (``edge.learn.calibrate``: percentiles of unrelated-pair similarity), never on the test split
   scored here; the layer's rules were likewise chosen on dev (docs/learning.md).
2. **Rephrase simulation** (test split, stratified seeded sample: ``--per-intent`` utterances per intent
   and locale). For each utterance the shipped model gets wrong (wrong intent, or out of domain), a
   simulated user, through the real dialogue code (``LearningNlu`` + ``LearningRouter`` over the real
   ``SkillRouter``, a temporary data folder), says it, answers "no, that's not what I asked", and says
   another test utterance of the same intent and locale that the model gets right (the closest to it in
   the model's embedding among up to 40 drawn at random: MASSIVE has no paraphrases); this is done
   ``sightings`` times (the profile default, 2). Afterwards the originally failed phrasings are asked
   again: **recovered** = share now parsed to the right intent.
3. **Regression.** The same stratified sample, minus the learned phrasings, before and after learning
   (intent accuracy, percentage points).
4. **Few-shot new intents ("held-out style").** The student was trained on all 60 MASSIVE intents, so no
   MASSIVE intent is truly new to it: six intents (:data:`FEWSHOT_INTENTS`) are re-declared as custom
   intents under new names from k = 5/10/20 English *train* examples (``--draws`` seeded draws, figures
   averaged) and must win over the model's own head. Accuracy on *every* test utterance of the six in
   en-US (in-language, 228) and in the other locales tested (cross-language), and the share of a stratified
   seeded sample of the other intents' test utterances (``--fewshot-others`` per intent and locale) that
   they wrongly capture (overall, and in en-US alone: the examples' language). The calibration background
   (known requests a custom intent must beat) leaves these six intents out. The figures are therefore an
   upper bound for intents the encoder never saw; a student trained without them (or another data set's
   intents) would give the true figure.
5. **Cost.** Time to add one learned item (embedding + SQLite insert + matrix rebuild), and the memory
   and database size of 1,000 learned items.

Before the final model exists, run it only briefly (``--per-intent 1 --locales en-US,de-DE``) and call the
result a stratified sample.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from edge.bench.results import write_atomic

__all__ = ["FEWSHOT_INTENTS", "add_arguments", "run_learning_bench"]

FEWSHOT_INTENTS = ("iot_coffee", "cooking_recipe", "transport_taxi", "music_likeness", "qa_currency",
                   "takeaway_order")
COMPLAINT = "no, that's not what I asked"
POOL = 40  # the simulated user's rephrasing: the closest of this many same-intent test utterances


def add_arguments(p: argparse.ArgumentParser) -> None:
    from edge.bench.common import data_argument

    data_argument(p)
    p.add_argument("--profile", help="device profile (default: desktop)")
    p.add_argument("--model", type=Path, help="ONNX NLU model (default: the profile's)")
    p.add_argument("--locales", default="en-US,de-DE,es-ES,fr-FR,ja-JP", help="comma-separated MASSIVE locales")
    p.add_argument("--per-intent", type=int, default=3,
                   help="test utterances per intent and locale (stratified; 0: the whole test split)")
    p.add_argument("--shots", default="5,10,20", help="few-shot example counts")
    p.add_argument("--draws", type=int, default=3, help="few-shot: seeded draws of the examples (figures averaged)")
    p.add_argument("--fewshot-others", type=int, default=10,
                   help="few-shot false capture: other intents' test utterances per intent and locale")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="results folder")


def _sample(examples: list[Any], per_intent: int, seed: int) -> list[Any]:
    """``per_intent`` examples of every (locale, intent), seeded; all of them when ``per_intent`` <= 0."""
    if per_intent <= 0:
        return list(examples)
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for ex in examples:
        groups[(ex.locale, ex.intent)].append(ex)
    rng = random.Random(seed)
    out: list[Any] = []
    for key in sorted(groups):
        out += rng.sample(groups[key], min(per_intent, len(groups[key])))
    return out


def run_learning_bench(args: argparse.Namespace) -> int:
    from edge.bench.common import massive_path, results_dir
    from edge.commands.common import profile_or_exit
    from edge.nlu.massive import load_massive

    out = results_dir(args.out)
    profile = profile_or_exit(args.profile)
    locales = [loc.strip() for loc in args.locales.split(",") if loc.strip()]
    massive = massive_path(args.data)
    from edge.cli_errors import CliError
    from edge.nlu.runtime import NluModel, NluModelError

    try:
        model = NluModel(args.model or profile.nlu.model, threads=profile.nlu.threads,
                         max_tokens=profile.nlu.max_tokens, ood_threshold=profile.nlu.ood_threshold)
        model.embed(["probe"])
    except NluModelError as e:
        raise CliError(f"{e} (learning needs the sentence embedding)") from None
    t0 = time.perf_counter()
    result: dict[str, Any] = {"model": str(model.model_path), "locales": locales, "per_intent": args.per_intent,
                              "seed": args.seed, "sample": "the whole test split" if args.per_intent <= 0
                              else "stratified seeded sample of the test split"}
    with tempfile.TemporaryDirectory(prefix="edge-bench-learning-") as tmp:
        work = Path(tmp)
        thresholds, bg_vecs, bg_intents = _calibrate(model, massive, work, args.seed)
        unknown = ~np.isin(bg_intents, FEWSHOT_INTENTS)  # the held-out intents are not known requests
        result["thresholds"] = {k: v for k, v in vars(thresholds).items() if k != "center"}
        test = load_massive(massive, locales, ["test"])
        sample = _sample(test, args.per_intent, args.seed)
        result["rephrase"], learned_texts, learner_dir = _rephrase(model, sample, test, work, args.seed)
        result["regression"] = _regression(model, sample, learned_texts, learner_dir)
        train = [ex for ex in load_massive(massive, ["en-US"], ["train"]) if ex.intent in FEWSHOT_INTENTS]
        shots = [int(k) for k in args.shots.split(",") if k.strip()]
        result["fewshot"] = _fewshot(model, train, test, shots, work, args.seed, bg_vecs[unknown],
                                     bg_intents[unknown], args.draws, args.fewshot_others)
        result["cost"] = _cost(model, sample, work)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    write_atomic(out / "learning.json", json.dumps(result, indent=2, ensure_ascii=False))
    write_atomic(out / "learning.md", _report(result))
    print(_report(result))
    return 0


def _learner(model: Any, folder: Path, sightings: int = 2) -> Any:
    """A learner in ``folder`` with the calibrated thresholds (saved in the cache by :func:`_calibrate`);
    ``model``: the NLU model, or an embedding function."""
    from edge.learn.hooks import learner_for
    from edge.learn.learner import LearnSettings

    return learner_for(folder, getattr(model, "embed", model),
                       LearnSettings(sightings=sightings, mine_window_s=1e9, repeat_s=0))


def _calibrate(model: Any, massive: Path, work: Path, seed: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """Thresholds and the background (embeddings, intents) for the model, also kept in the cache."""
    from edge.learn import calibrate as cal
    from edge.learn.db import open_learn_store
    from edge.learn.memory import model_key

    sample = cal.calibration_sample(massive, seed=seed)
    vecs = cal.embed_sample(model.embed, sample)
    thresholds = cal.calibrate(model.embed, sample, seed=seed, vecs=vecs)
    key = model_key(model.embed)
    cal.save_thresholds(open_learn_store(work / "calibration"), key, thresholds)  # and the cache
    intents = np.array([i for _, i, _ in sample])
    cal.save_background(key, vecs, intents.tolist())
    return thresholds, vecs, intents


def _rephrase(model: Any, sample: list[Any], test: list[Any], work: Path,
              seed: int) -> tuple[dict[str, Any], set[str], Path]:
    from edge.assembly import load_router
    from edge.audio.sink import NullSink
    from edge.learn.hooks import LearningNlu, LearningRouter

    folder = work / "rephrase"
    learner = _learner(model, folder)
    nlu = LearningNlu(model, learner)
    parses = model.parse_batch([ex.utt for ex in sample]) if sample else []
    failed = [ex for ex, p in zip(sample, parses, strict=True) if p.intent != ex.intent or p.out_of_domain]
    pool: dict[tuple[str, str], list[Any]] = defaultdict(list)
    sampled = {ex.id for ex in sample}
    for ex in test:
        if ex.id not in sampled:
            pool[(ex.locale, ex.intent)].append(ex)
    rng = random.Random(seed)
    tried = learned = 0
    per_locale: dict[str, list[bool]] = defaultdict(list)
    learned_texts: set[str] = set()
    routers: dict[str, Any] = {}
    missed: list[dict[str, Any]] = []
    for ex in failed:
        candidates = pool[(ex.locale, ex.intent)]
        rng.shuffle(candidates)
        good = [c for c in candidates[:POOL] if (p := model.parse(c.utt, c.locale)).intent == ex.intent
                and not p.out_of_domain]
        if not good:
            continue
        sims = model.embed([ex.utt, *(g.utt for g in good)])
        other = good[int(np.argmax(sims[1:] @ sims[0]))]
        if ex.locale not in routers:
            routers[ex.locale] = LearningRouter(load_router(NullSink(), folder / "skills", None, ex.locale,
                                                            restore_volume=False), learner)
        router = routers[ex.locale]
        tried += 1
        for _ in range(learner.settings.sightings):
            for text in (ex.utt, COMPLAINT, other.utt):
                router.inner.session.reset()
                router.handle(nlu.parse(text, ex.locale), ex.locale)
        if any(it.text == ex.utt for it in learner.memory.items):
            learned += 1
            learned_texts.add(ex.utt)
        elif len(missed) < 20:  # why not: the rephrasing failed in the dialogue, or the two were too far apart
            last = learner.log.recent(1)[0]
            missed.append({"text": ex.utt, "rephrasing": other.utt, "locale": ex.locale,
                           "closeness": round(learner.similarity(ex.utt, other.utt), 4),
                           "rephrasing_outcome": f"{last.outcome} {','.join(last.signals)} ({last.skill})"})
        per_locale[ex.locale].append(nlu.parse(ex.utt, ex.locale).intent == ex.intent)
    recovered = [ok for oks in per_locale.values() for ok in oks]
    return ({"sampled": len(sample), "model_wrong": len(failed), "simulated": tried, "learned": learned,
             "recovered": round(sum(recovered) / max(1, len(recovered)), 4),
             "recovered_by_locale": {k: round(sum(v) / len(v), 4) for k, v in sorted(per_locale.items())},
             "not_learned": missed},
            learned_texts, folder)


def _regression(model: Any, sample: list[Any], learned: set[str], folder: Path) -> dict[str, Any]:
    from edge.learn.hooks import LearningNlu

    rest = [ex for ex in sample if ex.utt not in learned]
    learner = _learner(model, folder)
    nlu = LearningNlu(model, learner)
    before = [model.parse(ex.utt, ex.locale).intent for ex in rest]
    after = [nlu.parse(ex.utt, ex.locale).intent for ex in rest]
    acc_before = sum(b == ex.intent for b, ex in zip(before, rest, strict=True)) / max(1, len(rest))
    acc_after = sum(a == ex.intent for a, ex in zip(after, rest, strict=True)) / max(1, len(rest))
    flips: list[dict[str, Any]] = []
    for ex, b, a in zip(rest, before, after, strict=True):
        if a != b and len(flips) < 30:
            found = learner.layer.match(ex.utt, learner.embedding(ex.utt), model.parse(ex.utt, ex.locale))
            by = None if found is None else {"text": found.item.text, "intent": found.item.intent,
                                             "similarity": round(found.similarity, 4), "how": found.how}
            flips.append({"text": ex.utt, "locale": ex.locale, "intent": ex.intent, "before": b, "after": a,
                          "by": by})
    return {"utterances": len(rest), "before": round(acc_before, 4), "after": round(acc_after, 4),
            "delta_points": round(100 * (acc_after - acc_before), 2), "changed": flips}


class _Embeddings:
    """The model's embedding function with the texts embedded beforehand (the few-shot test is embedded once
    in batches, then every draw of examples looks its utterances up): the same vectors, far fewer model runs."""

    def __init__(self, embed: Any, texts: list[str]) -> None:
        self.inner = embed
        unique = list(dict.fromkeys(texts))
        vecs = [np.asarray(embed(unique[i: i + 64]), dtype=np.float32) for i in range(0, len(unique), 64)]
        self.known = dict(zip(unique, np.concatenate(vecs) if vecs else [], strict=True))

    def __call__(self, texts: Any) -> np.ndarray:
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        if missing:
            self.known.update(zip(missing, np.asarray(self.inner(missing), dtype=np.float32), strict=True))
        return np.stack([self.known[t] for t in texts])


def _fewshot(model: Any, train: list[Any], test: list[Any], shots: list[int], work: Path, seed: int,
             background: np.ndarray, background_intents: np.ndarray, draws: int = 3,
             others_per_intent: int = 10) -> dict[str, Any]:
    """Every test utterance of :data:`FEWSHOT_INTENTS` in the bench's locales; false capture on a stratified
    seeded sample of the other intents' test utterances (``others_per_intent`` per intent and locale);
    ``draws`` seeded draws of the k train examples, figures averaged over them."""
    from edge.learn.custom import install_intents
    from edge.learn.intents_file import CustomIntent

    by_intent: dict[str, list[Any]] = defaultdict(list)
    for ex in train:
        by_intent[ex.intent].append(ex)
    target = [ex for ex in test if ex.intent in FEWSHOT_INTENTS]
    others = _sample([ex for ex in test if ex.intent not in FEWSHOT_INTENTS], others_per_intent, seed)
    cases = target + others
    parses: list[Any] = []
    for i in range(0, len(cases), 64):  # the model's own parses, once (the learned layer sees one each time)
        chunk = cases[i: i + 64]
        for locale in dict.fromkeys(ex.locale for ex in chunk):
            idx = [j for j, ex in enumerate(chunk) if ex.locale == locale]
            found = model.parse_batch([chunk[j].utt for j in idx], locale)
            parses += list(zip([i + j for j in idx], found, strict=True))
    parse_of = [p for _, p in sorted(parses, key=lambda t: t[0])]
    embed = _Embeddings(model.embed, [ex.utt for ex in cases])
    en = np.array([ex.locale == "en-US" for ex in target], dtype=bool)
    others_en = np.array([ex.locale == "en-US" for ex in others], dtype=bool)
    out: dict[str, Any] = {"intents": list(FEWSHOT_INTENTS), "note": "held-out style: the student saw these "
                           "intents in training; figures are an upper bound for truly new intents",
                           "tested_in_language": int(en.sum()), "tested_cross_language": int((~en).sum()),
                           "tested_other_intents": len(others), "draws": draws}
    for k in shots:
        runs: list[dict[str, Any]] = []
        for d in range(draws):
            rng = random.Random(seed * 1_000_003 + 1000 * d + k)
            learner = _learner(embed, work / f"fewshot-{k}-{d}")
            learner.layer.set_background(background, background_intents)  # the known intents, less the six
            intents = []
            for name in FEWSHOT_INTENTS:
                chosen = rng.sample(by_intent[name], min(k, len(by_intent[name])))
                examples = [(ex.utt, [{"type": s.type, "value": s.value, "start": s.start, "end": s.end}
                                      for s in ex.spans]) for ex in chosen]
                intents.append(CustomIntent(f"new_{name}", "en-US", examples, reply="ok"))
            t0 = time.perf_counter()
            install_intents(learner, intents, f"MASSIVE train k={k}", parse_batch=model.parse_batch)
            learner.apply(parse_of[0])  # the first parse after a change refits the custom-intent head
            update = time.perf_counter() - t0
            got = [learner.apply(p).intent or "" for p in parse_of]
            hit = np.array([g == f"new_{ex.intent}" for g, ex in zip(got, target, strict=False)], dtype=bool)
            taken = np.array([g.startswith("new_") for g in got[len(target):]], dtype=bool)
            runs.append({"in_language": float(hit[en].mean()) if en.any() else None,
                         "cross_language": float(hit[~en].mean()) if (~en).any() else None,
                         "by_locale": {loc: float(np.mean([h for h, ex in zip(hit, target, strict=True)
                                                           if ex.locale == loc]))
                                       for loc in sorted({ex.locale for ex in target})},
                         "false_capture": float(taken.mean()) if taken.size else 0.0,
                         "false_capture_in_language": float(taken[others_en].mean()) if others_en.any() else None,
                         "install_s": update})

        def mean(key: str, rs: list[dict[str, Any]] = runs) -> float | None:
            vals = [r[key] for r in rs if r[key] is not None]
            return round(float(np.mean(vals)), 4) if vals else None

        out[f"k={k}"] = {"in_language": mean("in_language"), "cross_language": mean("cross_language"),
                         "false_capture": mean("false_capture"),
                         "false_capture_in_language": mean("false_capture_in_language"),
                         "by_locale": {loc: round(float(np.mean([r["by_locale"][loc] for r in runs])), 4)
                                       for loc in runs[0]["by_locale"]} if runs else {},
                         "draws": [{key: round(v, 4) for key, v in r.items() if isinstance(v, float)} for r in runs],
                         "install_s_max": round(max(r["install_s"] for r in runs), 3) if runs else None,
                         "tested": len(target)}
    return out


def _cost(model: Any, sample: list[Any], work: Path) -> dict[str, Any]:
    learner = _learner(model, work / "cost")
    texts = [ex.utt for ex in sample][:1000]
    while len(texts) < 1000:
        texts += [t + f" {len(texts)}" for t in texts[: 1000 - len(texts)]]
    times = []
    for t in texts[:50]:
        t0 = time.perf_counter()
        learner.memory.add("rephrase", t, "en-US", "general_quirky", [], "bench")
        times.append(time.perf_counter() - t0)
    learner.memory.add_many("rephrase", [(t, "en-US", "general_quirky", []) for t in texts[50:]], "bench")
    db = learner.store.path
    size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob(db.name + "-wal"))
    return {"update_s_median": round(float(np.median(times)), 4), "update_s_max": round(float(np.max(times)), 4),
            "items": len(learner.memory.items), "state_mb_in_memory": round(learner.memory.size_bytes() / 1e6, 3),
            "background_mb_in_memory": round(getattr(learner.layer.background, "nbytes", 0) / 1e6, 3),
            "db_mb": round(size / 1e6, 3)}


def _report(r: dict[str, Any]) -> str:
    rp, rg, c = r["rephrase"], r["regression"], r["cost"]
    lines = ["# On-device learning (edge bench learning)", "", (__doc__ or "").split("\n\n", 1)[1].strip(), "",
             f"Model: `{r['model']}`; {r['sample']}: {r['per_intent']} per intent and locale, locales "
             f"{', '.join(r['locales'])}, seed {r['seed']}; {r['seconds']} s.", "",
             f"Thresholds: {r['thresholds']}", "",
             "| figure | value | target |", "|---|---|---|",
             f"| originally failed phrasings right after learning | {rp['recovered']:.1%} "
             f"({rp['simulated']} simulated, {rp['learned']} learned, of {rp['model_wrong']} wrong) | >= 90% |",
             f"| sample accuracy before -> after | {rg['before']:.2%} -> {rg['after']:.2%} "
             f"({rg['delta_points']:+.2f} points) | >= -0.3 points |", ""]
    fs = r["fewshot"]
    lines += [f"Few-shot: {fs.get('draws', 1)} draws of examples; tested {fs.get('tested_in_language', '?')} "
              f"in-language and {fs.get('tested_cross_language', '?')} cross-language utterances of the six "
              f"intents, false capture on {fs.get('tested_other_intents', '?')} of the others.", "",
              "| figure | value | target |", "|---|---|---|"]
    for key, v in r["fewshot"].items():
        if key.startswith("k="):
            inl = "n/a" if v["in_language"] is None else f"{v['in_language']:.1%}"
            crl = "n/a" if v["cross_language"] is None else f"{v['cross_language']:.1%}"
            target = " | >= 90% / >= 75%" if key == "k=10" else " | "
            fc_en = v.get("false_capture_in_language")
            fc_in = "" if fc_en is None else f"; {fc_en:.2%}"
            lines.append(f"| few-shot {key}: in-language / cross-language (false capture; en-US alone) | {inl} / "
                         f"{crl} ({v['false_capture']:.2%}{fc_in}){target} |")
    lines += ["", "| figure | value | target |", "|---|---|---|"]
    lines += [f"| one update (median / max) | {c['update_s_median'] * 1000:.1f} ms / {c['update_s_max'] * 1000:.1f} ms"
              " | < 1 s |",
              f"| learned state of {c['items']} items: memory / database | {c['state_mb_in_memory']} MB / "
              f"{c['db_mb']} MB | < 10 MB |",
              f"| calibration background (fixed, any number of items) | {c['background_mb_in_memory']} MB | |"]
    installs = [v["install_s_max"] for key, v in fs.items() if key.startswith("k=") and v.get("install_s_max")]
    if installs:
        lines.append(f"| six custom intents loaded, head refit incl. (max) | {max(installs) * 1000:.0f} ms | < 1 s |")
    lines.append("")
    return "\n".join(lines)
