"""MASSIVE-style NLU scores: intent accuracy, span-level micro slot P/R/F1, exact match.

Each utterance is given as `(intent, spans)` with spans `(type, start, end)` in character
offsets of the utterance text. Conventions:

* Slot scores are micro-averaged over all utterances, like seqeval's micro F1 that the MASSIVE
  paper uses: a predicted span is a true positive only if its type, start and end all equal a
  gold span of the same utterance (partial overlap or a wrong type scores nothing).
* Spans are compared as sets: a span listed twice in one utterance counts once.
* If there are no gold and no predicted spans at all, precision = recall = F1 = 1.0 (nothing
  to find and nothing wrongly found). Otherwise a ratio with a zero denominator is 0.0, as
  seqeval's default (e.g. predictions but no gold spans: precision 0, recall 0, F1 0).
* Exact match: intent correct and the span sets equal.
* `average` is the unweighted mean over locales (the MASSIVE paper's 51-locale average); ca-ES,
  which the paper reports apart, is excluded by default.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

Span = tuple[str, int, int]
Item = tuple[str, Collection[Span]]


@dataclass(frozen=True)
class Scores:
    """All rates are fractions in [0, 1]; `n` is the number of utterances."""

    n: int
    intent_acc: float
    slot_precision: float
    slot_recall: float
    slot_f1: float
    exact_match: float


def score(gold: Sequence[Item], pred: Sequence[Item]) -> Scores:
    """Score predictions against gold, utterance by utterance (same order, same length)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold items but {len(pred)} predictions")
    if not gold:
        raise ValueError("nothing to score")
    intent_ok = exact = tp = n_gold = n_pred = 0
    for (g_intent, g_spans), (p_intent, p_spans) in zip(gold, pred, strict=True):
        g, p = {tuple(s) for s in g_spans}, {tuple(s) for s in p_spans}
        hits = len(g & p)
        tp += hits
        n_gold += len(g)
        n_pred += len(p)
        ok = g_intent == p_intent
        intent_ok += ok
        exact += ok and g == p
    if n_gold == 0 and n_pred == 0:
        precision = recall = f1 = 1.0
    else:
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n = len(gold)
    return Scores(n, intent_ok / n, precision, recall, f1, exact / n)


def per_locale(locales: Sequence[str], gold: Sequence[Item], pred: Sequence[Item]) -> dict[str, Scores]:
    """`score` per locale, keyed by locale in sorted order."""
    if not len(locales) == len(gold) == len(pred):
        raise ValueError(f"lengths differ: {len(locales)} locales, {len(gold)} gold, {len(pred)} predictions")
    groups: dict[str, list[int]] = {}
    for i, loc in enumerate(locales):
        groups.setdefault(loc, []).append(i)
    return {
        loc: score([gold[i] for i in idx], [pred[i] for i in idx])
        for loc, idx in sorted(groups.items())
    }


def average(scores: dict[str, Scores], exclude: Collection[str] = ("ca-ES",)) -> Scores:
    """Unweighted mean of each rate over the locales not excluded; `n` is their total."""
    kept = [s for loc, s in scores.items() if loc not in exclude]
    if not kept:
        raise ValueError("no locales left to average")
    rates = {
        f.name: float(np.mean([getattr(s, f.name) for s in kept])) for f in fields(Scores) if f.name != "n"
    }
    return Scores(n=sum(s.n for s in kept), **rates)


_CHARACTER_LOCALES = ("ja-JP", "zh-CN", "zh-TW")


def massive_convention(text: str, spans: Collection[Span], locale: str) -> set[Span]:
    """Spans as MASSIVE's published figures score them: per word (per character for ja and zh).

    Each word takes the type of the span its first character falls in (the first-piece label), and
    adjacent words of the same type are merged. Spans come back as (type, first word, last word), so
    a slot that is right up to a piece inside a word counts here and not in the exact-span metric.
    """
    if locale in _CHARACTER_LOCALES:
        units = [(i, i + 1) for i, c in enumerate(text) if not c.isspace()]
    else:
        units, start = [], None
        for i, c in enumerate(text + " "):
            if c.isspace():
                if start is not None:
                    units.append((start, i))
                start = None
            elif start is None:
                start = i
    out: set[Span] = set()
    cur: list[Any] | None = None
    for k, (s, e) in enumerate(units):
        typ = next((t for t, a, b in spans if a <= s < b or s < a < e), None)
        if cur is not None and typ == cur[0]:
            cur[2] = k
            continue
        if cur is not None:
            out.add((cur[0], cur[1], cur[2]))
        cur = [typ, k, k] if typ is not None else None
    if cur is not None:
        out.add((cur[0], cur[1], cur[2]))
    return out
