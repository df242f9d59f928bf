"""The turn log: every turn's text, locale, parse, reply and outcome, with the signals that decided it.

Local only (``learn.db``), bounded (the oldest turns beyond ``max_turns`` or ``retention_days`` are
deleted as new ones come in), and erased by ``edge learn forget``. An outcome starts ``pending`` and
becomes ``failed`` or ``success`` as the next turns show; signals are kept as a JSON list of names:

- failure: ``interrupted`` (the user stopped the reply), ``no`` / ``cancel`` / ``complaint`` (the next turn
  rejected it), ``clarify_no`` (answered no to "Did you mean ...?"), ``repeated`` (the same request again,
  in other words, within ``repeat_s``), ``out_of_domain`` (the NLU was unsure), ``unsure`` (the router asked);
- success: ``acted`` (a skill answered and nothing rejected it), ``confirmed`` (a "yes" to a question).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.learn.db import LearnStore

__all__ = ["FAILURE_SIGNALS", "SUCCESS_SIGNALS", "LoggedTurn", "TurnLog"]

FAILURE_SIGNALS = ("interrupted", "no", "cancel", "complaint", "clarify_no", "repeated", "out_of_domain", "unsure")
SUCCESS_SIGNALS = ("acted", "confirmed")


@dataclass
class LoggedTurn:
    id: int
    at: float
    text: str
    locale: str | None
    intent: str | None
    slots: list[dict[str, Any]]
    confidence: float
    source: str = "model"
    skill: str | None = None
    reply: str | None = None
    outcome: str = "pending"
    signals: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


def _row(r: Any) -> LoggedTurn:
    return LoggedTurn(r["id"], r["at"], r["text"], r["locale"], r["intent"], json.loads(r["slots"]), r["confidence"],
                      r["source"], r["skill"], r["reply"], r["outcome"], json.loads(r["signals"]))


class TurnLog:
    """Appends turns and marks their outcome. ``clock``: unix seconds (tests pass their own)."""

    def __init__(self, store: LearnStore, *, max_turns: int = 5000, retention_days: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.max_turns = max_turns
        self.retention_s = retention_days * 86400.0
        self.clock = clock

    def record(self, text: str, locale: str | None, intent: str | None, slots: list[dict[str, Any]],
               confidence: float, *, source: str = "model", skill: str | None = None, reply: str | None = None,
               outcome: str = "pending", signals: list[str] | None = None) -> LoggedTurn:
        now = self.clock()
        turn = LoggedTurn(0, now, text, locale, intent, slots, float(confidence), source, skill, reply, outcome,
                          list(signals or []))
        with self.store.transaction() as db:
            turn.id = int(db.execute(
                "INSERT INTO turns (at, text, locale, intent, slots, confidence, source, skill, reply, outcome, "
                "signals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now, text, locale, intent, json.dumps(slots, ensure_ascii=False), turn.confidence, source, skill,
                 reply, outcome, json.dumps(turn.signals))).lastrowid or 0)
            db.execute("DELETE FROM turns WHERE at < ?", (now - self.retention_s,))
            db.execute("DELETE FROM turns WHERE id <= (SELECT id FROM turns ORDER BY id DESC LIMIT 1 OFFSET ?)",
                       (self.max_turns,))
        return turn

    def mark(self, turn: LoggedTurn, outcome: str, signal: str) -> None:
        """Set ``turn``'s outcome and add ``signal`` (in the object and the log)."""
        turn.outcome = outcome
        if signal not in turn.signals:
            turn.signals.append(signal)
        self.store.execute("UPDATE turns SET outcome = ?, signals = ? WHERE id = ?",
                           (outcome, json.dumps(turn.signals), turn.id))

    def recent(self, limit: int = 20) -> list[LoggedTurn]:
        rows = self.store.query("SELECT * FROM turns ORDER BY id DESC LIMIT ?", (limit,))
        return [_row(r) for r in rows]

    def count(self) -> int:
        return int(self.store.query("SELECT count(*) FROM turns")[0][0])

    def forget(self) -> int:
        """Erase every logged turn and every mined candidate; returns how many turns there were."""
        n = self.count()
        with self.store.transaction() as db:
            db.execute("DELETE FROM turns")
            db.execute("DELETE FROM candidates")
        self.store.vacuum()
        return n
