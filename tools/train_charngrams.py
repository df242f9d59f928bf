"""Train the char n-gram intent model that the runtime averages with the student (edge.nlu.charngrams).

    python -m tools.train_charngrams --data PATH/massive_1.1_jsonl.tar.gz --model models/nlu/student-int8.onnx \
        --out models/nlu/charngrams.npz

Trains a logistic regression (scikit-learn, saga) on every locale's train split, stores its weights as int8,
then chooses the ensemble weight on MASSIVE **dev** (a seeded sample stratified by locale and intent): the
weight in 0.0, 0.1, ..., 1.0 with the best mean of per-locale intent accuracy; the runtime's confidence is the
probability in that arithmetic mean. Then the choice rule, on the whole dev split as it comes (the natural intent
mix, as in test), cut in two halves by utterance id (a translation stays with its source): the log-linear weight
(edge.nlu.charngrams.choose) in 0.0, 0.1, ..., 1.0 best on half A, kept (``choice_weight``) only if it beats the
arithmetic mean's choice by --min-gain points on half A and again on half B. Needs the ``train`` extra.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from edge.nlu.charngrams import CharNgramIntents, choose, features, pack4


def _matrix(texts: list[str], n_features: int, idf: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    from scipy.sparse import csr_matrix

    indptr, indices, data = [0], [], []
    for t in texts:
        tf = features(t, n_features)
        indices.extend(tf.keys())
        data.extend(tf.values())
        indptr.append(len(indices))
    x = csr_matrix((np.asarray(data, np.float32), np.asarray(indices, np.int64), np.asarray(indptr, np.int64)),
                   shape=(len(texts), n_features))
    if idf is None:
        df = np.bincount(x.indices, minlength=n_features)
        idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)
    x = x.multiply(idf[None, :]).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    x = csr_matrix(x.multiply(1 / np.maximum(norms, 1e-12)[:, None]), dtype=np.float32)
    return x, idf


def _dev_sample(dev: list, per: int, seed: int) -> list:  # type: ignore[type-arg]
    groups: dict[tuple[str, str], list] = defaultdict(list)  # type: ignore[type-arg]
    for e in dev:
        groups[(e.locale, e.intent)].append(e)
    rng = random.Random(seed)
    out = []
    for key in sorted(groups):
        g = groups[key]
        out += rng.sample(g, min(per, len(g)))
    return out


def _train(train: list, intents: list[str], args: argparse.Namespace) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    t0 = time.time()
    x, idf = _matrix([e.utt for e in train], args.features)
    print(f"features in {time.time() - t0:.0f} s: {x.nnz / x.shape[0]:.0f} per utterance", flush=True)
    clf = LogisticRegression(solver="saga", C=args.C, max_iter=args.max_iter, tol=1e-3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, [e.intent for e in train])
    print(f"trained in {time.time() - t0:.0f} s", flush=True)
    order = [list(clf.classes_).index(name) for name in intents]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    return {**quantize(clf.coef_[order].T.astype(np.float32), idf), "bias": clf.intercept_[order].astype(np.float32),
            "intents": np.array(intents)}


def quantize(coef: np.ndarray, idf: np.ndarray) -> dict[str, np.ndarray]:
    """4-bit weights (scale per intent: the 99.99th percentile of |w| / 7, larger ones clipped) and 8-bit idf.
    Chosen on dev against int8 (4.5 MB file): ensemble intent 82.92 against 82.97, 1.46 MB; the 99.9th
    percentile gave 82.65, the maximum 82.43."""
    scale = np.maximum(np.percentile(np.abs(coef), 99.99, axis=0), 1e-12) / 7
    q = np.clip(np.rint(coef / scale), -7, 7).astype(np.int8)
    low, step = float(idf.min()), max(float(idf.max() - idf.min()), 1e-6) / 255
    return {"weights4": pack4(q), "scale": scale.astype(np.float32),
            "idf8": np.rint((idf - low) / step).astype(np.uint8), "idf_range": np.array([low, step], np.float32)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", type=Path, default=Path("models/nlu/student-int8.onnx"))
    ap.add_argument("--out", type=Path, default=Path("models/nlu/charngrams.npz"))
    ap.add_argument("--features", type=int, default=1 << 17)
    ap.add_argument("--C", type=float, default=10.0)
    ap.add_argument("--max-iter", type=int, default=15)
    ap.add_argument("--dev-per-intent", type=int, default=3, help="dev utterances per locale and intent")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-gain", type=float, default=0.3,
                    help="points of dev intent accuracy the log-linear choice must win by, on both halves")
    ap.add_argument("--weight-only", action="store_true",
                    help="keep the trained weights in --out; choose the ensemble weight again (a new student)")
    args = ap.parse_args()

    from edge.nlu.massive import load_massive
    from edge.nlu.runtime import NluModel

    t0 = time.time()
    examples = load_massive(args.data, splits=["train", "dev"])
    train = [e for e in examples if e.partition == "train"]
    dev = _dev_sample([e for e in examples if e.partition == "dev"], args.dev_per_intent, args.seed)
    student = NluModel(args.model, threads=2, charngrams=False)
    intents = list(student.labels.intents)
    print(f"{len(train)} train, {len(dev)} dev utterances; {len(intents)} intents", flush=True)
    if args.weight_only:
        with np.load(args.out) as z:
            save = {k: z[k] for k in ("weights4", "scale", "bias", "idf8", "idf_range", "intents")}
    else:
        save = _train(train, intents, args)
    np.savez_compressed(args.out, ensemble_weight=np.float32(0.5), **save)
    ngram = CharNgramIntents(args.out, intents)  # as the device reads it (int8, float16 idf)
    p_ngram = np.stack([ngram.probs(e.utt) for e in dev])
    p_student = []
    for i in range(0, len(dev), 64):
        batch = [e.utt for e in dev[i:i + 64]]
        rows = [student.segmenter.encode(student_text(t)).ids[: student.max_tokens - 2] for t in batch]
        logits = student._run(rows)[0]
        e_ = np.exp(logits - logits.max(-1, keepdims=True))
        p_student.append(e_ / e_.sum(-1, keepdims=True))
    p_s = np.concatenate(p_student)
    gold = np.array([intents.index(e.intent) for e in dev])
    locales = sorted({e.locale for e in dev})
    loc = np.array([locales.index(e.locale) for e in dev])
    table = {}
    for w in [round(0.1 * k, 1) for k in range(11)]:
        right = ((1 - w) * p_s + w * p_ngram).argmax(1) == gold
        table[w] = float(np.mean([right[loc == i].mean() for i in range(len(locales))]))
        print(f"dev weight {w:.1f}: intent {100 * table[w]:.2f}", flush=True)
    best = max(table, key=lambda w: (table[w], -abs(w - 0.5)))
    choice = _choice_weight([e for e in examples if e.partition == "dev"], student, ngram, intents, best, args)
    extra = {} if choice["chosen"] is None else {"choice_weight": np.float32(choice["chosen"])}
    np.savez_compressed(args.out, ensemble_weight=np.float32(best), **extra, **save)
    summary = {"features": args.features, "train": len(train), "dev": len(dev), "dev_by_weight": table,
               "chosen_weight": best, "choice": choice, "size_bytes": args.out.stat().st_size,
               "seconds": round(time.time() - t0)}
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary), flush=True)


def _per_locale(right: np.ndarray, loc: np.ndarray) -> float:
    return float(100 * np.mean([right[loc == k].mean() for k in np.unique(loc)]))


def _choice_weight(dev: list, student, ngram: CharNgramIntents, intents: list[str], mean_weight: float,  # type: ignore[no-untyped-def,type-arg]
                   args: argparse.Namespace) -> dict:  # type: ignore[type-arg]
    """The log-linear choice weight on the whole dev split (batch 1, as on the device), halves A and B by id."""
    import zlib

    from edge.nlu.runtime import _clean

    p_s = np.empty((len(dev), len(intents)), np.float32)
    p_n = np.empty_like(p_s)
    for r, e in enumerate(dev):
        logits = student._run([student.segmenter.encode(student_text(e.utt)).ids[: student.max_tokens - 2]])[0][0]
        z = np.exp(logits - logits.max())
        p_s[r] = z / z.sum()
        p_n[r] = ngram.probs(_clean(e.utt))
    gold = np.array([intents.index(e.intent) for e in dev])
    loc = np.array([e.locale for e in dev])
    half = np.array([zlib.crc32(e.id.encode()) % 2 for e in dev])
    mean_right = ((1 - mean_weight) * p_s + mean_weight * p_n).argmax(1) == gold
    arith = [_per_locale(mean_right[half == h], loc[half == h]) for h in (0, 1)]
    by_weight = {}
    for w in [round(0.1 * k, 1) for k in range(11)]:
        right = choose(p_s, p_n, w) == gold
        by_weight[w] = [_per_locale(right[half == h], loc[half == h]) for h in (0, 1)]
        print(f"dev (whole, halves A / B) log-linear {w:.1f}: {by_weight[w][0]:.2f} / {by_weight[w][1]:.2f} "
              f"(arithmetic mean {mean_weight:.1f}: {arith[0]:.2f} / {arith[1]:.2f})", flush=True)
    w = max(by_weight, key=lambda k: (by_weight[k][0], -abs(k - 0.5)))
    gains = [by_weight[w][h] - arith[h] for h in (0, 1)]
    keep = all(g >= args.min_gain for g in gains)
    print(f"log-linear {w:.1f}: {gains[0]:+.2f} / {gains[1]:+.2f} points; {'kept' if keep else 'not kept'}", flush=True)
    return {"dev_utterances": len(dev), "halves": [int((half == h).sum()) for h in (0, 1)], "arithmetic": arith,
            "log_linear_by_weight": by_weight, "best": w, "gains": gains, "chosen": w if keep else None}


def student_text(text: str) -> str:
    from edge.nlu.pieces import normalise
    from edge.nlu.runtime import _clean

    return normalise(_clean(text))


if __name__ == "__main__":
    main()
