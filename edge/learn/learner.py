"""The learner: one object per running assistant that logs turns, reads their signals, mines rephrasings
and keeps the learned layer. The NLU caller asks it :meth:`Learner.apply`; the router tells it
:meth:`Learner.observe` after each turn and :meth:`Learner.interrupted` when the user stopped a reply
(see :mod:`edge.learn.hooks` for the two wrappers that do this).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.learn.calibrate import DEFAULT, Thresholds, load_background, load_bundle, load_thresholds
from edge.learn.db import LearnStore
from edge.learn.layer import LearnedLayer
from edge.learn.memory import Embedder, ExemplarMemory, Item, model_key
from edge.learn.mining import Candidate, RephraseMiner, closeness
from edge.learn.signals import correction_kind, norm
from edge.learn.slots import slot_dicts
from edge.learn.turnlog import LoggedTurn, TurnLog
from edge.nlu.runtime import Parse
from edge.skills.dialogue import answer_kind, courtesy
from edge.stop_phrases import is_stop

__all__ = ["LearnSettings", "Learner"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LearnSettings:
    log_turns: bool = True  # the profile's switch: False keeps no turn log and mines nothing
    sightings: int = 2  # a mined rephrasing is applied after this many sightings (at once when confirmed)
    retention_days: float = 30.0
    max_turns: int = 5000
    mine_window_s: float = 120.0  # a failed turn and its rephrasing must be this close in time
    repeat_s: float = 30.0  # "repeated a request within a short time"
    sure_confidence: float = 0.8  # a turn at or above it is not taken as failed only because it was repeated


@dataclass
class _Recent:
    turn: LoggedTurn
    mined: list[Candidate] = field(default_factory=list)
    item_id: int | None = None  # the learned item that made this turn's parse
    claimed: bool = False  # a skill acted on it though the model was unsure (by its words, or carried over)


class Learner:
    def __init__(self, store: LearnStore, embed: Embedder | None, settings: LearnSettings | None = None,
                 clock: Callable[[], float] = time.time, model_dir: Path | None = None) -> None:
        """``model_dir``: the NLU model's folder, where a shipped calibration (``learn-calibration.npz``) is
        looked for when neither ``learn.db`` nor the cache has one for this model."""
        self.store = store
        self.settings = settings or LearnSettings()
        self.clock = clock
        self.embed_fn = embed
        key = "none"
        if embed is not None:
            try:
                key = model_key(embed)
            except Exception as exc:  # a model without the pooled output: exact phrasings only
                log.info("learn: no sentence embedding (%s); exact phrasings only", exc)
                self.embed_fn = None
        self.key = key
        self.thresholds = load_thresholds(store, key)
        background = load_background(key) if self.embed_fn is not None else None
        shipped = load_bundle(model_dir, key) if self.embed_fn is not None else None
        if shipped is not None and (self.thresholds is DEFAULT or background is None):
            self.thresholds = self.thresholds if self.thresholds is not DEFAULT else shipped[0]
            background = background or (shipped[1], shipped[2])
        self.memory = ExemplarMemory(store, self.embed_fn, key)
        self.memory.set_center(self.thresholds.center_array())
        self.layer = LearnedLayer(self.memory, self.thresholds, self.load_custom())
        self.layer.set_background(*(background if background is not None else (None, None)))
        self.log = TurnLog(store, max_turns=self.settings.max_turns, retention_days=self.settings.retention_days,
                           clock=clock)
        self.miner = RephraseMiner(store, self.memory, self.settings.sightings)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._applied: dict[str, int] = {}  # text -> learned item id that parsed it (this turn)
        self.recent: list[_Recent] = []  # turns since the last success, newest last
        self._lock = threading.RLock()

    def set_thresholds(self, thresholds: Thresholds, background: np.ndarray | None = None,
                       intents: np.ndarray | None = None) -> None:
        """New thresholds (and the background: raw embeddings, their intents) after a calibration."""
        self.thresholds = thresholds
        self.layer.thresholds = thresholds
        self.memory.set_center(thresholds.center_array())
        self.layer.set_background(background, intents)

    # --- custom intents -----------------------------------------------------------------------------
    def load_custom(self) -> dict[str, dict[str, Any]]:
        import json

        return {r["name"]: json.loads(r["spec"]) for r in self.store.query("SELECT name, spec FROM custom_intents")}

    @property
    def custom(self) -> dict[str, dict[str, Any]]:
        return self.layer.custom

    # --- the NLU side -------------------------------------------------------------------------------
    def embedding(self, text: str) -> np.ndarray | None:
        if self.embed_fn is None or not text.strip():
            return None
        found = self._cache.get(text)
        if found is None:
            found = np.asarray(self.embed_fn([text])[0], dtype=np.float32)
            self._cache[text] = found
            if len(self._cache) > 64:
                self._cache.popitem(last=False)
        return found

    def apply(self, parse: Parse) -> Parse:
        """The model's parse, or the learned layer's where a learned item takes it."""
        if not parse.text.strip() or not (self.memory.items or self.memory.by_norm):
            return parse
        with self._lock:  # the pipeline may parse a speculative transcript on another thread
            return self._apply(parse)

    def _apply(self, parse: Parse) -> Parse:
        emb = self.embedding(parse.text)
        found = self.layer.match(parse.text, emb, parse)
        if found is None:
            return parse
        self._applied[parse.text] = found.item.id
        while len(self._applied) > 64:  # speculative parses of partial transcripts are never handled
            self._applied.pop(next(iter(self._applied)))
        return self.layer.take(parse, found)

    def learned_for(self, text: str) -> Item | None:
        """The learned item that took the last parse of ``text`` (:meth:`apply`), if one did: shown to the user,
        since a learned correction changes what they hear."""
        with self._lock:
            item_id = self._applied.get(text)
            return next((it for it in self.memory.items if it.id == item_id), None) if item_id is not None else None

    # --- the dialogue side --------------------------------------------------------------------------
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two texts' embeddings, centred as the layer compares them (0 without)."""
        ea, eb = self.embedding(a), self.embedding(b)
        if ea is None or eb is None:
            return 0.0
        return float(self.memory.prepare(ea) @ self.memory.prepare(eb))

    def observe(self, parse: Parse, locale: str | None, reply: Any, pending: Any = None) -> LoggedTurn | None:
        """Log one turn (``reply``: the router's Reply; ``pending``: the question open before it) and learn
        what its signals say. None when the turn log is off. Embeds only when there is something to compare."""
        with self._lock:
            return self._observe(parse, locale, reply, pending)

    def _observe(self, parse: Parse, locale: str | None, reply: Any, pending: Any) -> LoggedTurn | None:
        item_id = self._applied.pop(parse.text, None)
        if not self.settings.log_turns:
            return None
        now = self.clock()
        self.recent = [r for r in self.recent if now - r.turn.at <= self.settings.mine_window_s]
        prev = self.recent[-1] if self.recent else None
        text = parse.text.strip()
        answer = answer_kind(text, locale or "en") if text else None
        pending_kind = getattr(pending, "kind", None)
        common = dict(skill=getattr(reply, "skill", None), reply=getattr(reply, "text", None))
        slots = slot_dicts(parse.slots)
        if pending_kind == "clarify" and answer in ("yes", "no"):
            if prev is not None and answer == "yes":
                self.log.mark(prev.turn, "success", "confirmed")
                asked = pending.parse
                if asked.intent and prev.item_id is None:  # a "no" to what it then did takes it back
                    prev.mined.append(self.miner.sight(asked.text, locale, asked.intent, slot_dicts(asked.slots), now,
                                                       confirmed=True, origin="confirmed (Did you mean ...? yes)",
                                                       confused=asked.intent))
                self.recent = [prev]
            elif prev is not None:
                self._reject(prev, "clarify_no")
            return self.log.record(text, locale, parse.intent, slots, parse.confidence, source="answer",
                                   outcome="success", signals=["answer"], **common)
        stop = bool(text) and is_stop(text, locale)  # "stop", "be quiet" alone: the router stops, never a command
        thanks = bool(text) and courtesy(text, locale or "en") is not None  # "thanks", "bye": nothing to learn
        correction = "cancel" if stop else correction_kind(text, locale or "en") if text else None
        if correction in ("no", "cancel") and not stop and parse.intent and not parse.out_of_domain \
                and parse.confidence >= self.settings.sure_confidence:
            correction = None  # "do not disturb me", "stop the music": a command, not an answer
        # "no"/"cancel" to a slot question or a confirmation only declines it; a complaint always rejects
        if correction is not None and (pending_kind in (None, "clarify") or correction == "complaint"):
            if prev is not None:
                self._reject(prev, correction)
            return self.log.record(text, locale, parse.intent, slots, parse.confidence, source="answer",
                                   outcome="success", signals=["answer"], **common)
        if stop or thanks:  # it declined a slot question or a confirmation, or thanked: nothing to learn
            return self.log.record(text, locale, parse.intent, slots, parse.confidence, source="answer",
                                   outcome="success", signals=["answer"], **common)
        answered = pending is not None and (answer is not None or (
            pending_kind == "slot" and (getattr(reply, "data", None) or {}).get("intent") == pending.parse.intent))
        if answered:  # yes/no to a confirmation, or the value a slot question asked for
            return self.log.record(text, locale, parse.intent, slots, parse.confidence, source="answer",
                                   outcome="success", signals=["answer"], **common)
        # the router asked ("Sorry, what?" / "Did you mean ...?"); an honest "I can't do that" is not an NLU failure.
        # A skill that acted on an unsure parse (a timer claims "set a timer for five minutes" by its words, a
        # follow-up carries the last request over) answered the user: no failure, but no teacher either, since
        # the intent that acted is not the model's.
        skill, asks = getattr(reply, "skill", None), bool(getattr(reply, "expects_answer", False))
        acted = skill not in (None, "dialogue") and not asks
        failed = (parse.out_of_domain and not acted) or (skill == "dialogue" and asks)
        signal = ("out_of_domain" if parse.out_of_domain else "unsure") if failed else "acted"
        turn = self.log.record(text, locale, parse.intent, slots, parse.confidence,
                               source="learned" if item_id is not None else "model",
                               outcome="failed" if failed else "success", signals=[signal], **common)
        current = _Recent(turn, item_id=item_id, claimed=acted and parse.out_of_domain)
        if prev is not None and not prev.turn.failed and prev.turn.source != "answer" and not prev.claimed \
                and now - prev.turn.at <= self.settings.repeat_s and prev.turn.intent != parse.intent \
                and prev.turn.confidence < self.settings.sure_confidence \
                and self.similarity(prev.turn.text, text) >= self.thresholds.repeat:
            self._reject(prev, "repeated")
        if not failed and parse.intent:
            for r in self.recent if not parse.out_of_domain else []:
                if r.turn.failed and r.turn.source != "answer" and norm(r.turn.text) != norm(text):
                    score = closeness(self.similarity(r.turn.text, text), slots, r.turn.text)
                    if score >= self.thresholds.paraphrase:
                        current.mined.append(self.miner.sight(r.turn.text, r.turn.locale, parse.intent, slots, now,
                                                              confused=r.turn.intent))
            self.recent = []
        self.recent.append(current)
        return turn

    def _reject(self, prev: _Recent, signal: str) -> None:
        """``prev``'s reply was rejected: it failed; what it taught is taken back; a learned item that made
        its parse is retired (the user says it is wrong)."""
        self.log.mark(prev.turn, "failed", signal)
        for cand in prev.mined:
            self.miner.unsight(cand)
        prev.mined = []
        if prev.item_id is not None:
            self.memory.undo(prev.item_id)
            prev.item_id = None

    def interrupted(self) -> None:
        """The user stopped the last reply: that turn failed."""
        with self._lock:
            if self.settings.log_turns and self.recent and self.clock() - self.recent[-1].turn.at <= 60.0:
                last = self.recent[-1]
                if last.turn.source != "answer":
                    self._reject(last, "interrupted")
