"""The exemplar memory: learned phrasings and their intents, their embeddings in one numpy matrix.

Rows live in ``learn.db`` (table ``memory``) with the embedding as float16 bytes and the key of the model
that made it; rows made by another model are embedded again when loaded (the text is kept), so a new NLU
model does not lose what was learned. Adding an item is one embedding and one insert (milliseconds); undo
sets ``active = 0``, so nothing is lost until ``edge learn forget --all``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge.learn.db import LearnStore
from edge.learn.signals import norm

__all__ = ["Embedder", "ExemplarMemory", "Item", "model_key"]

Embedder = Callable[[Sequence[str]], np.ndarray]
_PROBE = ("set an alarm for seven tomorrow morning", "wie wird das wetter morgen")


def model_key(embed: Embedder) -> str:
    """Names the embedding function itself (not a file): a hash of two probe embeddings, rounded."""
    vecs = np.round(np.asarray(embed(list(_PROBE)), dtype=np.float32), 3)
    return hashlib.sha256(vecs.tobytes()).hexdigest()[:16]


@dataclass
class Item:
    id: int
    kind: str  # "rephrase" | "custom"
    text: str
    locale: str | None
    intent: str
    slots: list[dict[str, Any]] = field(default_factory=list)
    created: float = 0.0
    active: bool = True
    origin: str = ""
    confused: str | None = None  # what the model said for this phrasing when it was learned

    @property
    def norm(self) -> str:
        return norm(self.text)


def _item(r: Any) -> Item:
    return Item(r["id"], r["kind"], r["text"], r["locale"], r["intent"], json.loads(r["slots"]), r["created"],
                bool(r["active"]), r["origin"] or "", r["confused"])


class ExemplarMemory:
    """Active items and their embeddings ([n, d] float32, rows L2-normalised) for nearest-neighbour look-ups."""

    def __init__(self, store: LearnStore, embed: Embedder | None, key: str = "none") -> None:
        self.store = store
        self.embed = embed
        self.key = key
        self.items: list[Item] = []
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        self.center: np.ndarray | None = None  # the calibration's mean embedding, removed before comparing
        self.by_norm: dict[str, Item] = {}
        self.load()

    def set_center(self, center: np.ndarray | None) -> None:
        self.center = None if center is None else np.asarray(center, dtype=np.float32)
        self.load()

    def prepare(self, vecs: np.ndarray) -> np.ndarray:
        """Embeddings as compared here: the calibration mean removed, L2-normalised (rows or one vector)."""
        out = np.asarray(vecs, dtype=np.float32)
        if self.center is not None and self.center.shape[-1] == out.shape[-1]:
            out = out - self.center
        return np.asarray(out / np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-9), dtype=np.float32)

    # --- loading ------------------------------------------------------------------------------------
    def load(self) -> None:
        rows = self.store.query("SELECT * FROM memory WHERE active = 1 ORDER BY id")
        self.items = [_item(r) for r in rows]
        self.by_norm = {}
        for it in self.items:  # later items win an exact match
            self.by_norm[it.norm] = it
        if self.embed is None or not rows:
            self.matrix = np.zeros((0, 0), dtype=np.float32)
            return
        stale = [i for i, r in enumerate(rows) if r["model"] != self.key or r["embedding"] is None]
        skip = set(stale)
        vecs: list[np.ndarray | None] = [None if i in skip else np.frombuffer(r["embedding"], dtype=np.float16)
                                         for i, r in enumerate(rows)]
        if stale:
            fresh = self.embed([rows[i]["text"] for i in stale])
            with self.store.transaction() as db:
                for j, i in enumerate(stale):
                    vecs[i] = fresh[j].astype(np.float16)
                    db.execute("UPDATE memory SET model = ?, embedding = ? WHERE id = ?",
                               (self.key, fresh[j].astype(np.float16).tobytes(), rows[i]["id"]))
        self.matrix = self.prepare(np.stack([np.asarray(v, dtype=np.float32) for v in vecs]))

    # --- changes ------------------------------------------------------------------------------------
    def add(self, kind: str, text: str, locale: str | None, intent: str, slots: list[dict[str, Any]],
            origin: str = "", embedding: np.ndarray | None = None, confused: str | None = None) -> Item:
        """Learn ``text`` -> ``intent``; an active rephrase item with the same words and another intent is
        retired (the newest teaching wins). ``confused``: the model's intent for ``text`` (the mistake
        corrected). Returns the new item."""
        vec = None
        if self.embed is not None:
            vec = embedding if embedding is not None else self.embed([text])[0]
            vec = np.asarray(vec, dtype=np.float32)
        key = norm(text)
        with self.store.transaction() as db:
            if kind == "rephrase":
                db.execute("UPDATE memory SET active = 0 WHERE kind = 'rephrase' AND norm = ? AND active = 1",
                           (key,))
            new_id = int(db.execute(
                "INSERT INTO memory (kind, text, norm, locale, intent, slots, created, active, origin, model, "
                "embedding, confused) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (kind, text, key, locale, intent, json.dumps(slots, ensure_ascii=False), time.time(), origin,
                 self.key if vec is not None else None,
                 vec.astype(np.float16).tobytes() if vec is not None else None, confused)).lastrowid or 0)
        self.load()
        return next(it for it in self.items if it.id == new_id)

    def add_many(self, kind: str, rows: Sequence[tuple[str, str | None, str, list[dict[str, Any]]]],
                 origin: str = "") -> list[int]:
        """Add (text, locale, intent, slots) rows in one transaction with one batched embedding; their ids."""
        vecs = self.embed([r[0] for r in rows]) if self.embed is not None and rows else None
        ids: list[int] = []
        now = time.time()
        with self.store.transaction() as db:
            for n, (text, locale, intent, slots) in enumerate(rows):
                blob = None if vecs is None else np.asarray(vecs[n], dtype=np.float16).tobytes()
                ids.append(int(db.execute(
                    "INSERT INTO memory (kind, text, norm, locale, intent, slots, created, active, origin, model, "
                    "embedding) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                    (kind, text, norm(text), locale, intent, json.dumps(slots, ensure_ascii=False), now, origin,
                     self.key if blob is not None else None, blob)).lastrowid or 0))
        self.load()
        return ids

    def undo(self, item_id: int) -> Item | None:
        """Retire item ``item_id``; None if there is no active item with that id."""
        found = next((it for it in self.items if it.id == item_id), None)
        if found is None:
            return None
        self.store.execute("UPDATE memory SET active = 0 WHERE id = ?", (item_id,))
        self.load()
        found.active = False
        return found

    def retire_kind(self, kind: str, intents: Sequence[str]) -> None:
        """Retire the items of ``kind`` for ``intents`` (a custom intent loaded again)."""
        with self.store.transaction() as db:
            for intent in intents:
                db.execute("UPDATE memory SET active = 0 WHERE kind = ? AND intent = ?", (kind, intent))
        self.load()

    def all_items(self) -> list[Item]:
        return [_item(r) for r in self.store.query("SELECT * FROM memory ORDER BY id")]

    # --- look-ups -----------------------------------------------------------------------------------
    def similarities(self, embedding: np.ndarray) -> np.ndarray:
        """Cosine similarity of ``embedding`` (raw, as the model gives it) to every active item (same order as
        :attr:`items`), both centred by :meth:`prepare`."""
        if self.matrix.size == 0:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self.matrix @ self.prepare(embedding), dtype=np.float32)

    def size_bytes(self) -> int:
        """Bytes of the learned state in memory (matrix and item texts)."""
        return int(self.matrix.nbytes + sum(len(it.text.encode()) + 64 for it in self.items))
