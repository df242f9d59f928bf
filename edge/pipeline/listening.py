"""When the assistant takes an utterance: the wake-word / follow-up / push-to-talk gate, and barge-in words.

Without a wake detector the gate is always open (the assistant takes every utterance). With one, an
utterance is taken only while the gate is open: for ``window_s`` after a wake hit or push-to-talk, and for
``follow_up_s`` after a reply that asked a question has finished playing. One opening takes one utterance.
Times are stream positions in samples (:data:`edge.audio.rate.RATE`), so a file read faster than real
time behaves like the microphone it was recorded from.
"""

from __future__ import annotations

import re
from typing import Protocol

import numpy as np

from edge.audio.rate import RATE
from edge.profiles import BARGE_IN_MODES
from edge.stop_phrases import is_stop
from edge.stop_phrases import tokens as _tokens

__all__ = ["BARGE_IN_MODES", "ListenGate", "WakeDetector", "WakeHit", "is_stop_phrase", "strip_wake_phrase"]


class WakeHit(Protocol):
    """What a wake detector reports."""

    @property
    def phrase(self) -> str: ...

    @property
    def score(self) -> float: ...


class WakeDetector(Protocol):
    """A streaming wake-word detector (edge.wake): 16 kHz float32 chunks in, a hit or None out."""

    def process(self, chunk: np.ndarray) -> WakeHit | None: ...

    def reset(self) -> None: ...


class ListenGate:
    """Whether an utterance starting now is taken. States: "always" (no wake detector), "closed", "open"
    (until a stream position) and "taken" (an opening was used; closed again once the turn is over)."""

    def __init__(self, gated: bool, window_s: float = 5.0, follow_up_s: float = 6.0) -> None:
        self.gated = gated
        self.window = int(window_s * RATE)
        self.follow_up = int(follow_up_s * RATE)
        self.state = "closed" if gated else "always"
        self.until = 0
        self.reason = ""

    def reset(self) -> None:
        self.state = "closed" if self.gated else "always"
        self.until = 0

    def open(self, reason: str, pos: int, samples: int | None = None) -> int:
        """Open from ``pos`` for ``samples`` (default: the wake window); returns the closing position."""
        if self.gated:
            self.state, self.reason = "open", reason
            self.until = pos + (self.window if samples is None else samples)
        return self.until

    def accepts(self, pos: int) -> bool:
        return self.state == "always" or (self.state == "open" and pos <= self.until)

    def take(self) -> None:
        if self.gated:
            self.state = "taken"

    def close_if_due(self, pos: int) -> bool:
        """Between utterances: close an expired or used opening. True when it just closed."""
        if self.state == "taken" or (self.state == "open" and pos > self.until):
            self.state = "closed"
            return True
        return False


def is_stop_phrase(text: str, locale: str, wake_phrase: str | None = None) -> bool:
    """True when ``text`` is only "stop", "be quiet"... (in ``locale``'s language or English), possibly
    with "please", repeated ("stop, stop") or after the wake phrase (``edge.stop_phrases``)."""
    return is_stop(strip_wake_phrase(text, wake_phrase) if wake_phrase else text, locale)


def strip_wake_phrase(text: str, phrase: str | None) -> str:
    """``text`` without the wake phrase (or its tail: the utterance may start inside it) at its start."""
    if not phrase:
        return text
    wake = set(_tokens(phrase))
    if not wake:
        return text
    out = text
    for _ in range(len(wake) + 1):
        m = re.match(r"\W*(\w+)\W*", out)
        if m is None or m.group(1).lower() not in wake:
            break
        out = out[m.end():]
    near = _strip_near(text, phrase)
    return (near if len(near) < len(out) else out).strip()


_NEAR = 0.75  # difflib ratio: "Häuschrecke" for "heuschrecke" 0.91, "A bacachia" for "abacaxi" 0.75


def _strip_near(text: str, phrase: str) -> str:
    """``text`` without the words that open it if, run together, they are spelled close to the wake phrase:
    Whisper writes an unusual wake word its own way ("Häuschrecke. Mach alle Licht aus." for "heuschrecke"),
    and the NLU must not read it as part of the command. Phrases under four letters are never guessed at."""
    from difflib import SequenceMatcher

    target = "".join(_tokens(phrase))
    if len(target) < 4:
        return text
    joined, best, end = "", 0.0, 0
    for i, m in enumerate(re.finditer(r"\w+", text)):
        joined += m.group(0).lower()
        if i > len(_tokens(phrase)) or len(joined) > 2 * len(target):
            break
        ratio = SequenceMatcher(None, joined, target).ratio()
        if ratio > best:
            best, end = ratio, m.end()
    if best < _NEAR:
        return text
    return re.sub(r"^\W+", "", text[end:])
