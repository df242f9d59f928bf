"""Slot values moved between phrasings: found again in another text, as character spans."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from edge.nlu.runtime import Slot

__all__ = ["carry_slots", "find_value", "overlap", "slot_dicts"]


def find_value(value: str, text: str) -> tuple[int, int] | None:
    """Where ``value`` occurs in ``text`` (case-insensitive, on word boundaries where the text has spaces)."""
    value = value.strip()
    if not value:
        return None
    m = re.search(r"(?<!\w)" + re.escape(value) + r"(?!\w)", text, flags=re.IGNORECASE)
    if m is None and " " not in text.strip():  # scripts without spaces: a plain substring
        i = text.lower().find(value.lower())
        return (i, i + len(value)) if i >= 0 else None
    return (m.start(), m.end()) if m else None


def carry_slots(slots: Iterable[dict[str, Any] | Slot], text: str) -> list[Slot]:
    """The ``slots`` whose value appears in ``text``, with their spans there (the others are dropped)."""
    out: list[Slot] = []
    for s in slots:
        kind, value = (s["type"], s["value"]) if isinstance(s, dict) else (s.type, s.value)
        span = find_value(value, text)
        if span is not None:
            out.append(Slot(kind, text[span[0]: span[1]], *span))
    return out


def overlap(slots: Iterable[dict[str, Any] | Slot], text: str) -> float:
    """The share of ``slots`` whose value appears in ``text`` (0 without slots)."""
    values = [s["value"] if isinstance(s, dict) else s.value for s in slots]
    if not values:
        return 0.0
    return sum(find_value(v, text) is not None for v in values) / len(values)


def slot_dicts(slots: Iterable[Slot]) -> list[dict[str, Any]]:
    return [{"type": s.type, "value": s.value} for s in slots]
