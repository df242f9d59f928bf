"""The learned layer: consulted with the model on every parse, it can only take over where it is sure.

``LearnedLayer.apply(parse, embedding) -> parse``:

1. the same words as a learned phrasing (case and punctuation aside): its intent, its slots found again;
2. else the nearest learned rephrasing, if its similarity is at least the calibrated ``exemplar``
   threshold (the 99.9th percentile of unrelated pairs): its intent, the model's slots plus learned values;
3. else the best custom intent (nearest of its examples), if at least the ``fewshot`` threshold: that
   intent, slots from its examples' values, and the model's own slot spans renamed to the custom slot
   they tagged in the examples (``type_map``, made when the intents were loaded);
4. else the model's parse, untouched.

A learned item therefore never reaches an utterance that is not closer to it than unrelated requests
come to each other, which is what keeps one learned phrasing from breaking the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from edge.learn.calibrate import DEFAULT, Thresholds
from edge.learn.memory import ExemplarMemory, Item
from edge.learn.signals import norm
from edge.learn.slots import carry_slots
from edge.nlu.runtime import Parse, Slot

__all__ = ["CUSTOM_SCENARIO", "LearnedLayer", "Match"]

CUSTOM_SCENARIO = "custom"


@dataclass
class Match:
    item: Item
    similarity: float
    how: str  # "exact" | "rephrase" | "custom"


@dataclass
class LearnedLayer:
    memory: ExemplarMemory
    thresholds: Thresholds = DEFAULT
    custom: dict[str, dict[str, Any]] = field(default_factory=dict)  # custom intent name -> its spec

    def match(self, text: str, embedding: np.ndarray | None) -> Match | None:
        """The learned item that takes ``text``, or None (the model's parse stands)."""
        exact = self.memory.by_norm.get(norm(text))
        if exact is not None:
            return Match(exact, 1.0, "exact" if exact.kind == "rephrase" else "custom")
        if embedding is None or not self.memory.items:
            return None
        sims = self.memory.similarities(embedding)
        best: Match | None = None
        for kind, floor in (("rephrase", self.thresholds.exemplar), ("custom", self.thresholds.fewshot)):
            idx = [i for i, it in enumerate(self.memory.items) if it.kind == kind]
            if not idx:
                continue
            j = max(idx, key=lambda i: float(sims[i]))
            if sims[j] >= floor and (best is None or sims[j] > best.similarity):
                best = Match(self.memory.items[j], float(sims[j]), kind)
        return best

    def apply(self, parse: Parse, embedding: np.ndarray | None) -> Parse:
        found = self.match(parse.text, embedding)
        if found is None:
            return parse
        item = found.item
        learned = carry_slots(item.slots, parse.text)
        if found.how == "custom":
            spec = self.custom.get(item.intent, {})
            types = set(spec.get("slot_types", ()))
            values = [{"type": t, "value": v} for t, vs in spec.get("values", {}).items() for v in vs]
            learned = carry_slots(values, parse.text) or learned
            renamed = spec.get("type_map", {})
            model = [s if s.type in types else replace(s, type=renamed[s.type]) for s in parse.slots
                     if s.type in types or s.type in renamed]
            scenario = CUSTOM_SCENARIO
        else:
            model = [] if found.how == "exact" else list(parse.slots)
            scenario = item.intent.split("_", 1)[0]
        slots = _merge(model, learned)
        return replace(parse, intent=item.intent, confidence=round(max(found.similarity, parse.confidence
                                                                       if parse.intent == item.intent else 0.0), 4),
                       scenario=scenario, slots=slots, out_of_domain=False)


def _merge(model: list[Slot], learned: list[Slot]) -> list[Slot]:
    """Learned slots, then the model's that do not overlap them, in text order."""
    out = list(learned)
    for s in model:
        if all(s.end <= o.start or s.start >= o.end for o in out):
            out.append(s)
    return sorted(out, key=lambda s: (s.start, s.end))
