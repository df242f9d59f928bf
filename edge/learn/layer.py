"""The learned layer: consulted with the model on every parse, it can only take over where it is sure.

``LearnedLayer.apply(parse, embedding) -> parse``:

1. the same words as a learned phrasing (case and punctuation aside): its intent, its slots found again;
2. else the nearest learned rephrasing, if its similarity is at least the calibrated ``exemplar``
   threshold (the 99.9th percentile of unrelated pairs), no known request of another intent (the
   calibration sample, the *background*) is as close, and the model is unsure (< 0.8) or makes the very
   mistake the item was learned from: its intent, the model's slots plus learned values;
3. else the best custom intent (nearest of its examples), if at least the ``fewshot`` threshold and
   closer than every known request of the calibration sample (the background, when calibrated): that
   intent, slots from its examples' values, and the model's own slot spans renamed to the custom slot
   they tagged in the examples (``type_map``, made when the intents were loaded);
4. else the model's parse, untouched.

A learned item therefore never reaches an utterance that is not closer to it than unrelated requests
come to each other, nor one that a known request of another intent is closer to, which is what keeps
one learned phrasing (or a thousand) from breaking the others.
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
    background: np.ndarray | None = None  # known requests, prepared as the memory compares (calibration sample)
    background_intents: np.ndarray | None = None  # their intents
    sure: float = 0.8  # a model parse at least this confident is only overridden to correct the same mistake

    def set_background(self, vecs: np.ndarray | None, intents: np.ndarray | None = None) -> None:
        """Known requests (raw embeddings) and their intents; None: the thresholds alone decide."""
        if vecs is None or len(vecs) == 0:
            self.background = self.background_intents = None
            return
        self.background = self.memory.prepare(vecs)
        self.background_intents = None if intents is None else np.asarray(intents)

    def _corrects(self, item: Item, model: Parse | None) -> bool:
        """Whether learned rephrasing ``item`` may replace the model's parse of a similar utterance: the model
        is unsure, or makes the mistake the item was learned from (or already agrees)."""
        if model is None or model.intent is None or model.out_of_domain or model.confidence < self.sure:
            return True
        return model.intent in (item.confused, item.intent)

    def _beaten(self, query: np.ndarray, item: Item, similarity: float) -> bool:
        """Whether a known request the item's intent does not cover is at least as close to the query (then
        the model keeps it). A custom intent must beat every known request; a learned rephrasing those of
        other intents (without their intents, it is not checked)."""
        if self.background is None:
            return False
        sims = self.background @ query
        if item.kind == "rephrase":
            if self.background_intents is None:
                return False
            sims = sims[self.background_intents != item.intent]
        return bool(sims.size) and float(sims.max()) >= similarity

    def match(self, text: str, embedding: np.ndarray | None, model: Parse | None = None) -> Match | None:
        """The learned item that takes ``text``, or None (the model's parse stands). ``model``: the model's
        parse of it; a learned rephrasing that is not the same words then only corrects the same mistake
        (:meth:`_corrects`)."""
        exact = self.memory.by_norm.get(norm(text))
        if exact is not None:
            return Match(exact, 1.0, "exact" if exact.kind == "rephrase" else "custom")
        if embedding is None or not self.memory.items:
            return None
        sims = self.memory.similarities(embedding)
        query = self.memory.prepare(embedding)
        best: Match | None = None
        for kind, floor in (("rephrase", self.thresholds.exemplar), ("custom", self.thresholds.fewshot)):
            idx = [i for i, it in enumerate(self.memory.items) if it.kind == kind]
            if not idx:
                continue
            j = max(idx, key=lambda i: float(sims[i]))
            if sims[j] < floor or (best is not None and sims[j] <= best.similarity):
                continue
            if self._beaten(query, self.memory.items[j], float(sims[j])):
                continue  # a known request is closer: the model's intents keep it
            if kind == "rephrase" and not self._corrects(self.memory.items[j], model):
                continue
            best = Match(self.memory.items[j], float(sims[j]), kind)
        return best

    def apply(self, parse: Parse, embedding: np.ndarray | None) -> Parse:
        """``parse`` as the learned layer has it (unchanged where no learned item takes it)."""
        found = self.match(parse.text, embedding, parse)
        return parse if found is None else self.take(parse, found)

    def take(self, parse: Parse, found: Match) -> Parse:
        """``parse`` with the intent and slots of the learned item ``found`` (from :meth:`match`)."""
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
