"""Pending alarms, timers and reminders, read from the skills store for the app's list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

__all__ = ["Pending", "describe", "pending_items"]


@dataclass(frozen=True)
class Pending:
    """One item still to come: ``kind`` is "alarm", "timer" or "reminder"; ``due`` is aware local time."""

    kind: str
    due: dt.datetime
    text: str | None = None
    recurrence: str | None = None


def pending_items(store: Any, now: dt.datetime | None = None, limit: int = 20) -> list[Pending]:
    """Active alarms and pending timers/reminders in ``store`` (an edge.skills.store.Store), soonest first."""
    now = now or dt.datetime.now().astimezone()
    items: list[Pending] = []
    for row in store.query("SELECT at, label, recurrence FROM alarms WHERE active = 1 ORDER BY at LIMIT ?", (limit,)):
        items.append(Pending("alarm", dt.datetime.fromisoformat(row["at"]).astimezone(now.tzinfo), row["label"],
                             row["recurrence"]))
    for row in store.query("SELECT kind, due, text FROM timers WHERE state = 'pending' ORDER BY due LIMIT ?",
                           (limit,)):
        items.append(Pending(row["kind"], dt.datetime.fromisoformat(row["due"]).astimezone(now.tzinfo), row["text"]))
    items.sort(key=lambda item: item.due)
    return items[:limit]


def _left(delta: dt.timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        return f"{hours // 24}d {hours % 24}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}:{secs:02d}"


def describe(item: Pending, now: dt.datetime) -> str:
    """One line: "alarm     07:00 tomorrow  (in 4h 39m)  wake up"."""
    due = item.due.astimezone(now.tzinfo)
    days = (due.date() - now.date()).days
    day = "today" if days == 0 else "tomorrow" if days == 1 else due.strftime("%a %d %b")
    extra = f"  {item.recurrence}" if item.recurrence else ""
    label = f"  {item.text}" if item.text else ""
    return f"{item.kind:<8} {due:%H:%M} {day}  (in {_left(due - now)}){extra}{label}"
