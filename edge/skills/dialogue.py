"""Per-session dialogue state: the question waiting for an answer, the last action, the follow-up window.

The router (``edge.skills.router``) reads and updates a :class:`Session` on every turn:

- a skill's ``Outcome(need_slot=...)`` leaves a :class:`Pending` of kind ``slot``: the next turn's text
  fills that slot (unless it is clearly a new command);
- ``Outcome(confirm=...)`` leaves kind ``confirm``: "yes" runs it, "no" cancels it;
- a low-confidence parse leaves kind ``clarify``: "yes" goes on with that parse;
- "cancel" / "stop" / "never mind" (in the user's language) drops whatever is pending;
- after an action, :attr:`Session.last` lets a follow-up ("and another one at six") re-run its intent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.nlu.runtime import Parse, Slot
from edge.profiles import DialogueSettings
from edge.skills.base import Outcome
from edge.skills.helpers import words, words_of

__all__ = ["FOLLOW_UP_S", "Pending", "Session", "answer_kind", "courtesy", "merge_slots"]

FOLLOW_UP_S = DialogueSettings().follow_up_s  # the profile's [dialogue] follow_up_s default; assembly sets it


@dataclass
class Pending:
    """A question the assistant asked and is waiting on."""

    kind: str  # "slot" | "confirm" | "clarify"
    skill: str
    parse: Parse
    slot: str | None = None
    confirm: Callable[[], Outcome] | None = None


@dataclass
class Session:
    """One conversation's state. ``follow_up_until`` (``time.monotonic()`` seconds): listen without the
    wake word until then, because the last reply asked something."""

    follow_up_s: float = FOLLOW_UP_S
    pending: Pending | None = None
    last: tuple[str, Parse] | None = None  # (skill, parse) of the last action, for carry-over
    follow_up_until: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)  # SkillContext.session
    clock: Callable[[], float] = time.monotonic

    def listening(self) -> bool:
        """True while a reply's question is still open (inside the follow-up window)."""
        return self.clock() < self.follow_up_until

    def asked(self, expects_answer: bool) -> None:
        self.follow_up_until = self.clock() + self.follow_up_s if expects_answer else 0.0

    def reset(self) -> None:
        self.pending = None
        self.last = None
        self.follow_up_until = 0.0


def answer_kind(text: str, locale: str) -> str | None:
    """"yes", "no" or "cancel" when ``text`` is such an answer in ``locale``'s language (or English)."""
    cleaned = " ".join(words(text)).strip(" .!?")
    compact = cleaned.replace(" ", "")
    for kind in ("cancel", "yes", "no"):
        phrases = words_of(locale, f"dialogue.{kind}_words") | words_of("en", f"dialogue.{kind}_words")
        for phrase in phrases:
            p = " ".join(words(phrase))
            if not p:
                continue
            if cleaned == p or compact == p.replace(" ", ""):
                return kind
            # "yes please", "no thanks", "oh never mind": the phrase as a whole word sequence at either end
            if len(cleaned.split()) <= 4 and (cleaned.startswith(p + " ") or cleaned.endswith(" " + p)):
                return kind
    return None


def courtesy(text: str, locale: str) -> str | None:
    """"thanks" or "bye" when ``text`` is only a thank-you or a goodbye (``dialogue.thanks_words`` /
    ``dialogue.bye_words``, in ``locale``'s language or English); MASSIVE has no intent for either."""
    cleaned = " ".join(words(text)).strip(" .!?")
    for kind in ("thanks", "bye"):
        phrases = words_of(locale, f"dialogue.{kind}_words") | words_of("en", f"dialogue.{kind}_words")
        if any(cleaned == " ".join(words(p)) or cleaned.replace(" ", "") == p.replace(" ", "") for p in phrases):
            return kind
    return None


def merge_slots(old: list[Slot], new: list[Slot]) -> list[Slot]:
    """``old`` with every slot type present in ``new`` replaced by the new values."""
    types = {s.type for s in new}
    return [s for s in old if s.type not in types] + list(new)
