"""Rephrase mining: a failed turn, then a successful one close in meaning -> a candidate teaching.

The candidate says: the failed phrasing means the successful turn's intent, with the successful turn's
slot values carried over where their text appears in the failed phrasing. Candidates are counted per
(phrasing, intent); one becomes a learned item (:class:`~edge.learn.memory.ExemplarMemory`) once seen
``sightings`` times, or at once when the user confirmed it ("Did you mean ...? yes").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from edge.learn.db import LearnStore
from edge.learn.memory import ExemplarMemory, Item
from edge.learn.signals import norm
from edge.learn.slots import carry_slots, overlap, slot_dicts

__all__ = ["Candidate", "RephraseMiner", "closeness"]

SLOT_BONUS = 0.1  # added to the similarity when every slot value of the successful turn is in the failed one


def closeness(similarity: float, success_slots: list[dict[str, Any]], failed_text: str) -> float:
    """How sure the two turns are one request: embedding cosine plus the slot-value overlap bonus."""
    return similarity + SLOT_BONUS * overlap(success_slots, failed_text)


@dataclass
class Candidate:
    id: int
    text: str
    intent: str
    slots: list[dict[str, Any]]
    sightings: int
    confirmed: bool
    applied: Item | None = None


class RephraseMiner:
    def __init__(self, store: LearnStore, memory: ExemplarMemory, sightings: int = 2) -> None:
        self.store = store
        self.memory = memory
        self.sightings = max(1, sightings)

    def sight(self, failed_text: str, locale: str | None, intent: str, success_slots: list[dict[str, Any]],
              now: float, *, confirmed: bool = False, origin: str = "", confused: str | None = None) -> Candidate:
        """Count one sighting of ``failed_text`` -> ``intent``; applies it when due. ``confused``: the model's
        intent for ``failed_text``. Returns the candidate."""
        slots = slot_dicts(carry_slots(success_slots, failed_text))
        key = norm(failed_text)
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO candidates (text, norm, locale, intent, slots, sightings, confirmed, first_at, last_at) "
                "VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT (norm, intent) DO UPDATE SET "
                "sightings = sightings + 1, confirmed = max(confirmed, excluded.confirmed), "
                "last_at = excluded.last_at, text = excluded.text, slots = excluded.slots",
                (failed_text, key, locale, intent, json.dumps(slots, ensure_ascii=False), int(confirmed), now, now))
            row = db.execute("SELECT * FROM candidates WHERE norm = ? AND intent = ?", (key, intent)).fetchone()
        cand = Candidate(row["id"], row["text"], row["intent"], json.loads(row["slots"]), row["sightings"],
                         bool(row["confirmed"]))
        active = row["applied_id"] is not None and any(it.id == row["applied_id"] for it in self.memory.items)
        if not active and (cand.confirmed or cand.sightings >= self.sightings):
            why = "confirmed" if cand.confirmed else f"seen {cand.sightings} times"
            cand.applied = self.memory.add("rephrase", failed_text, locale, intent, slots, origin or why,
                                           confused=confused)
            self.store.execute("UPDATE candidates SET applied_id = ? WHERE id = ?", (cand.applied.id, cand.id))
        return cand

    def unsight(self, cand: Candidate) -> None:
        """The successful turn behind ``cand`` was rejected after all: take the sighting back (and the item)."""
        self.store.execute("UPDATE candidates SET sightings = max(0, sightings - 1) WHERE id = ?", (cand.id,))
        if cand.applied is not None:
            self.memory.undo(cand.applied.id)
            self.store.execute("UPDATE candidates SET applied_id = NULL WHERE id = ?", (cand.id,))

    def pending(self) -> list[Candidate]:
        rows = self.store.query("SELECT * FROM candidates WHERE applied_id IS NULL ORDER BY last_at DESC")
        return [Candidate(r["id"], r["text"], r["intent"], json.loads(r["slots"]), r["sightings"], bool(r["confirmed"]))
                for r in rows]
