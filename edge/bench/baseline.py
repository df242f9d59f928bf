"""The classic intent baseline: char n-gram TF-IDF + logistic regression (no slots).

One model for all locales, trained on every locale's train split. scikit-learn is imported
inside the functions that need it, so importing this module (e.g. by the benchmark report)
does not require it.

    python -m edge.bench.baseline --data /path/to/massive_1.1_jsonl.tar.gz --out runs/baseline.pkl
"""

from __future__ import annotations

import argparse
import pickle
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.nlu.massive import Example

# Sized so the full 52-locale train split (~600k utterances) trains in minutes on one core.
DEFAULT_CONFIG: dict[str, Any] = {
    "analyzer": "char_wb",
    "ngram_range": (1, 4),
    "max_features": 300_000,
    "min_df": 2,
    "C": 10.0,
    "max_iter": 15,
    "tol": 1e-3,
}


class _Unpickler(pickle.Unpickler):
    """Also reads a Baseline pickled by `python -m edge.bench.baseline` (class recorded in __main__)."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "__main__" and name == "Baseline":
            return Baseline
        return super().find_class(module, name)


@dataclass
class Baseline:
    vectorizer: Any  # fitted sklearn TfidfVectorizer
    classifier: Any  # fitted sklearn LogisticRegression
    train_seconds: float
    config: dict[str, Any] = field(default_factory=dict)

    def predict(self, texts: Sequence[str]) -> list[str]:
        if not texts:
            return []
        return [str(x) for x in self.classifier.predict(self.vectorizer.transform(list(texts)))]

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def load(path: str | Path) -> Baseline:
        with Path(path).open("rb") as f:
            obj = _Unpickler(f).load()
        if not isinstance(obj, Baseline):
            raise TypeError(f"{path} holds a {type(obj).__name__}, not a Baseline")
        return obj


def train_baseline(examples: Sequence[Example], **overrides: Any) -> Baseline:
    """Fit on the given examples (pass only the train split); `overrides` change DEFAULT_CONFIG."""
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    config = {**DEFAULT_CONFIG, **overrides}
    unknown = set(config) - set(DEFAULT_CONFIG)
    if unknown:
        raise TypeError(f"unknown baseline settings: {sorted(unknown)}")
    if len({e.intent for e in examples}) < 2:
        raise ValueError("need examples of at least two intents")
    t0 = time.perf_counter()
    vectorizer = TfidfVectorizer(
        analyzer=config["analyzer"],
        ngram_range=tuple(config["ngram_range"]),
        max_features=config["max_features"],
        min_df=config["min_df"],
        sublinear_tf=True,
        lowercase=True,
        dtype=np.float32,
    )
    x = vectorizer.fit_transform([e.utt for e in examples])
    # saga: a pass costs O(nonzeros), so it scales to ~600k sparse rows on one core.
    classifier = LogisticRegression(
        solver="saga", C=config["C"], max_iter=config["max_iter"], tol=config["tol"], random_state=0
    )
    with warnings.catch_warnings():
        # a capped number of passes is the speed/accuracy trade-off we choose deliberately
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(x, [e.intent for e in examples])
    return Baseline(vectorizer, classifier, time.perf_counter() - t0, config)


def _load(data: Path, examples_pickle: Path | None) -> list[Example]:
    if examples_pickle is not None:
        with examples_pickle.open("rb") as f:
            return pickle.load(f)
    from edge.nlu.massive import load_massive

    return load_massive(data)


def main(argv: Sequence[str] | None = None) -> None:
    from edge.nlu.metrics import average, per_locale

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/massive-1.1/massive_1.1_jsonl.tar.gz"))
    ap.add_argument("--examples-pickle", type=Path, help="a pickled list[Example] to use instead of --data")
    ap.add_argument("--out", type=Path, default=Path("runs/baseline.pkl"))
    ap.add_argument("--split", default="test")
    args = ap.parse_args(argv)

    examples = _load(args.data, args.examples_pickle)
    train = [e for e in examples if e.partition == "train"]
    evaluate = [e for e in examples if e.partition == args.split]
    print(f"train {len(train)} utterances, {args.split} {len(evaluate)}", flush=True)
    model = train_baseline(train)
    print(f"trained in {model.train_seconds:.1f} s; passes={int(max(model.classifier.n_iter_))}", flush=True)
    model.save(args.out)

    t0 = time.perf_counter()
    predicted = model.predict([e.utt for e in evaluate])
    predict_s = time.perf_counter() - t0
    gold = [(e.intent, ()) for e in evaluate]
    pred = [(p, ()) for p in predicted]
    scores = per_locale([e.locale for e in evaluate], gold, pred)
    for loc, s in scores.items():
        print(f"{loc}\t{100 * s.intent_acc:.1f}")
    avg = average(scores)
    print(f"average over {len(scores) - ('ca-ES' in scores)} locales (ca-ES apart): intent acc "
          f"{100 * avg.intent_acc:.1f}; en-US {100 * scores['en-US'].intent_acc:.1f}"
          + (f"; ca-ES {100 * scores['ca-ES'].intent_acc:.1f}" if "ca-ES" in scores else ""))
    print(f"train {model.train_seconds:.0f} s, predict {predict_s:.1f} s; saved {args.out}")


if __name__ == "__main__":
    main()
