"""Label inventories and the BIO scheme shared by training and the runtime decoder."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LabelSet:
    intents: tuple[str, ...]
    slot_types: tuple[str, ...]

    @property
    def bio(self) -> tuple[str, ...]:
        """"O", then B-/I- for each slot type: index 2k+1 is B-type_k, 2k+2 is I-type_k."""
        out = ["O"]
        for t in self.slot_types:
            out += [f"B-{t}", f"I-{t}"]
        return tuple(out)

    def scenario(self, intent: str) -> str:
        # MASSIVE intents are "<scenario>_<action>"; the scenario never contains "_".
        return intent.split("_", 1)[0]

    def save(self, folder: Path) -> None:
        (folder / "intents.txt").write_text("\n".join(self.intents) + "\n", encoding="utf-8")
        (folder / "slot_types.txt").write_text("\n".join(self.slot_types) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LabelSet:
        def read(name: str) -> tuple[str, ...]:
            return tuple(x for x in (folder / name).read_text(encoding="utf-8").splitlines() if x)

        return cls(read("intents.txt"), read("slot_types.txt"))


def token_bio(offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[str, int, int]],
              slot_index: dict[str, int]) -> list[int]:
    """BIO label per token from character spans; -100 for tokens covering no character.

    A token belongs to the span its first character falls in, so a subword that straddles a
    slot boundary (common in scripts without spaces) is labelled once, never twice.
    """
    labels: list[int] = []
    seen: set[int] = set()
    for start, end in offsets:
        if end <= start:
            labels.append(-100)
            continue
        label = 0
        for n, (typ, s, e) in enumerate(spans):
            if s <= start < e or (start < s < end and n not in seen):
                k = slot_index[typ]
                label = 2 * k + 2 if n in seen else 2 * k + 1
                seen.add(n)
                break
        labels.append(label)
    return labels


def decode_bio(labels: Sequence[int], offsets: Sequence[tuple[int, int]], text: str,
               slot_types: Sequence[str]) -> list[tuple[str, int, int]]:
    """Token BIO labels -> (type, start, end) character spans over `text`, whitespace-trimmed."""
    spans: list[list[Any]] = []
    prev_type: str | None = None
    for lab, (start, end) in zip(labels, offsets):
        if end <= start or lab < 0:
            continue
        if lab == 0:
            prev_type = None
            continue
        typ = slot_types[(lab - 1) // 2]
        inside = lab % 2 == 0
        if inside and prev_type == typ and spans:
            spans[-1][2] = end
        else:
            spans.append([typ, start, end])
        prev_type = typ
    out = []
    for typ, s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((typ, s, e))
    return out


def _allowed_transitions(n_labels: int) -> np.ndarray:
    """allowed[prev, cur]: I-x (index 2k+2) may only follow B-x or I-x; everything else may follow anything."""
    allowed = np.ones((n_labels, n_labels), dtype=bool)
    for cur in range(2, n_labels, 2):
        allowed[:, cur] = False
        allowed[cur - 1, cur] = True
        allowed[cur, cur] = True
    return allowed


_ALLOWED: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def viterbi_bio(scores: np.ndarray) -> list[int]:
    """The best BIO sequence under the constraint that every I-x continues an x, from per-unit log-probabilities.

    Taking each unit's argmax lets an I-x start a span of its own, which is how fragments such as
    "event_name=ing" came out; this never does.
    """
    n, k = scores.shape
    if n == 0:
        return []
    if k not in _ALLOWED:
        allowed = _allowed_transitions(k)
        start = np.zeros(k)
        start[2::2] = -np.inf
        _ALLOWED[k] = (np.where(allowed, 0.0, -np.inf), start)
    trans, start = _ALLOWED[k]
    dp = scores[0] + start
    back = np.zeros((n, k), dtype=np.int64)
    for t in range(1, n):
        cand = dp[:, None] + trans
        back[t] = cand.argmax(0)
        dp = cand.max(0) + scores[t]
    path = [int(dp.argmax())]
    for t in range(n - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    """Drop spaces and punctuation at either end of a span ("lights?" -> "lights")."""
    while s < e and (text[s].isspace() or unicodedata.category(text[s]).startswith("P")):
        s += 1
    while e > s and (text[e - 1].isspace() or unicodedata.category(text[e - 1]).startswith("P")):
        e -= 1
    return s, e


def unit_spans(labels: Sequence[int], units: Sequence[tuple[int, int, int]], text: str,
               slot_types: Sequence[str]) -> list[tuple[str, int, int]]:
    """Unit BIO labels -> (type, start, end) character spans over `text`."""
    spans: list[list[Any]] = []
    prev: str | None = None
    for lab, (_, s, e) in zip(labels, units):
        if lab <= 0:
            prev = None
            continue
        typ = slot_types[(lab - 1) // 2]
        if lab % 2 == 0 and prev == typ and spans:
            spans[-1][2] = e
        else:
            spans.append([typ, s, e])
        prev = typ
    out = []
    for typ, s, e in spans:
        s, e = _trim(text, s, e)
        if e > s:
            out.append((typ, s, e))
    return out
