"""The learned layer: consulted with the model on every parse, it can only take over where it is sure.

``LearnedLayer.apply(parse, embedding) -> parse``:

1. the same words as a learned phrasing (case and punctuation aside): its intent, its slots found again;
2. else the nearest learned rephrasing, if its similarity is at least the calibrated ``exemplar``
   threshold (the 99.9th percentile of unrelated pairs) and inside the item's own *radius* (closer than
   the item itself comes to any known request of another intent: the calibration sample, the
   *background*), no known request of another intent is as close to the utterance, and the model has no
   answer of its own (confidence below :attr:`LearnedLayer.sure`, 0.5, the NLU's out-of-domain line):
   its intent, the model's slots plus learned values. A model that is sure of an intent is only overridden
   by the very words learned: on MASSIVE dev, letting an item also correct "the same mistake" of a
   sure model, or any parse under 0.8, broke more right parses than it fixed;
3. else a custom intent, chosen by a small linear head (:class:`~edge.learn.head.CustomHead`: ridge
   regression from the centred embedding to one-hot intents, refit in closed form whenever the custom
   intents change, over the background's known requests and the custom examples): the custom intent must
   score above every known intent by more than :data:`HEAD_MARGIN` for an utterance in its examples'
   language, :data:`HEAD_MARGIN_OTHER` in another (or an unknown) language (chosen on MASSIVE dev), and its
   :func:`~edge.learn.calibrate.custom_score` (nearest example and prototype) must reach the calibrated
   ``fewshot`` threshold, so an utterance unlike any request is never taken. Without a labelled
   background, the former rule: ``custom_score`` at least ``fewshot`` and above every known intent's score
   (the mean similarity of its :data:`KNOWN_K` nearest known requests). Then: that intent, slots from its
   examples' values, and the model's own slot spans renamed to the custom slot they tagged in the examples
   (``type_map``, made when the intents were loaded);
4. else the model's parse, untouched.

A learned item therefore never reaches an utterance that is not closer to it than unrelated requests
come to each other and than it comes to the known requests of other intents, nor one that a known request
of another intent is closer to, which is what keeps one learned phrasing (or a thousand) from breaking
the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from edge.learn.calibrate import DEFAULT, Thresholds, custom_score
from edge.learn.head import HEAD_MARGIN, HEAD_MARGIN_OTHER, CustomHead, margin_line
from edge.learn.memory import ExemplarMemory, Item
from edge.learn.signals import norm
from edge.learn.slots import carry_slots
from edge.nlu.runtime import Parse, Slot

__all__ = ["CUSTOM_SCENARIO", "CustomHead", "HEAD_MARGIN", "HEAD_MARGIN_OTHER", "KNOWN_K", "LearnedLayer", "Match"]

CUSTOM_SCENARIO = "custom"
KNOWN_K = 3  # a known intent's score against a custom one: the mean of its this many nearest known requests


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
    sure: float = 0.5  # a model parse at least this confident is overridden only by the very words learned
    _radius: dict[tuple[int, str], float] = field(default_factory=dict)  # (item id, text) -> its radius
    _groups: list[np.ndarray] = field(default_factory=list)  # background row indices of each known intent
    _head: CustomHead | None = None  # fit for the custom items in _head_key
    _head_key: tuple[int, ...] = ()

    def set_background(self, vecs: np.ndarray | None, intents: np.ndarray | None = None) -> None:
        """Known requests (raw embeddings) and their intents; None: the thresholds alone decide."""
        self._radius = {}
        self._groups = []
        self._head, self._head_key = None, ()
        if vecs is None or len(vecs) == 0:
            self.background = self.background_intents = None
            return
        self.background = self.memory.prepare(vecs)
        self.background_intents = None if intents is None else np.asarray(intents)
        if self.background_intents is not None:
            self._groups = [np.flatnonzero(self.background_intents == i) for i in np.unique(self.background_intents)]

    def radius(self, j: int) -> float:
        """How close learned rephrasing ``memory.items[j]`` itself comes to a known request of another intent
        (-1 without a labelled background): it only takes utterances closer to it than that."""
        item = self.memory.items[j]
        if self.background is None or self.background_intents is None:
            return -1.0
        key = (item.id, item.text)
        if key not in self._radius:
            sims = self.background[self.background_intents != item.intent] @ self.memory.matrix[j]
            self._radius[key] = float(sims.max()) if sims.size else -1.0
        return self._radius[key]

    def known_score(self, query: np.ndarray) -> float:
        """The best known intent's score for ``query`` (prepared): the mean similarity of its
        :data:`KNOWN_K` nearest known requests (the nearest known request when their intents are unknown)."""
        if self.background is None:
            return -1.0
        sims = self.background @ query
        if not self._groups:
            return float(sims.max()) if sims.size else -1.0
        best = -1.0
        for rows in self._groups:
            group = sims[rows]
            k = min(KNOWN_K, group.size)
            best = max(best, float(np.partition(group, group.size - k)[group.size - k:].mean()))
        return best

    def head(self, by_intent: dict[str, list[int]]) -> CustomHead | None:
        """The custom-intent head for the custom items ``by_intent`` ({intent: memory rows}), refit when they
        changed; None without a labelled background."""
        if self.background is None or not self._groups:
            return None
        key = tuple(self.memory.items[i].id for rows in by_intent.values() for i in rows)
        if self._head is None or key != self._head_key:
            head = self._head or CustomHead(self.background, self._groups)
            head.fit({name: self.memory.matrix[rows] for name, rows in by_intent.items()})
            self._head, self._head_key = head, key
        return self._head

    def _custom(self, query: np.ndarray, by_intent: dict[str, list[int]],
                locale: str | None = None) -> tuple[str, float] | None:
        """The custom intent that takes ``query`` (prepared; said in ``locale``) and its :func:`custom_score`,
        or None."""
        scored = {name: float(custom_score(query, self.memory.matrix[rows])[0]) for name, rows in by_intent.items()}
        head = self.head(by_intent)
        if head is None:  # no labelled background: the nearest-requests rule
            name = max(scored, key=lambda n: scored[n])
            ok = scored[name] >= self.thresholds.fewshot and scored[name] > self.known_score(query)
            return (name, scored[name]) if ok else None
        margins = head.margins(query)
        j = int(np.argmax(margins))
        name = head.names[j]
        line = margin_line(locale, self.memory.items[by_intent[name][0]].locale)
        if float(margins[j]) > line and scored[name] >= self.thresholds.fewshot:
            return name, scored[name]
        return None

    def _corrects(self, item: Item, model: Parse | None) -> bool:
        """Whether learned rephrasing ``item`` may replace the model's parse of a similar utterance: the model
        has no answer of its own (out of domain, or below :attr:`sure`), or already agrees."""
        if model is None or model.intent is None or model.out_of_domain or model.confidence < self.sure:
            return True
        return model.intent == item.intent

    def _beaten(self, query: np.ndarray, item: Item, similarity: float) -> bool:
        """Whether a known request of another intent than learned rephrasing ``item``'s is at least as close
        to the query (then the model keeps it); without their intents, it is not checked."""
        if self.background is None or self.background_intents is None:
            return False
        sims = (self.background @ query)[self.background_intents != item.intent]
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
        rephrase = [i for i, it in enumerate(self.memory.items) if it.kind == "rephrase"]
        if rephrase:
            j = max(rephrase, key=lambda i: float(sims[i]))
            item, sim = self.memory.items[j], float(sims[j])
            if sim >= self.thresholds.exemplar and sim > self.radius(j) and not self._beaten(query, item, sim) \
                    and self._corrects(item, model):
                best = Match(item, sim, "rephrase")
        by_intent: dict[str, list[int]] = {}
        for i, it in enumerate(self.memory.items):
            if it.kind == "custom":
                by_intent.setdefault(it.intent, []).append(i)
        custom = self._custom(query, by_intent, model.locale if model is not None else None) if by_intent else None
        if custom is not None and (best is None or custom[1] > best.similarity):
            name, score = custom
            j = max(by_intent[name], key=lambda i: float(sims[i]))  # its nearest example: slots, origin
            best = Match(self.memory.items[j], score, "custom")
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
