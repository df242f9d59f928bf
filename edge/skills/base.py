"""The skill interface: what a skill gets (:class:`SkillContext`) and what it gives back (a Reply).

A skill handles one or more MASSIVE intents. The router (``edge.skills.router``) picks the skill for a
parse, runs the dialogue around it (missing slots, confirmations, cancel), and returns its
:class:`~edge.skills.contract.Reply`. Skills never speak or print: they return replies, and announce
later events (an alarm firing) through ``context.announce``.

Replies are written as template keys plus values (``context.say("alarm.set", time=...)``), looked up
per language in ``edge/skills/templates/<lang>.toml``, so adding a language is a data-only change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from edge.nlu.runtime import Parse
from edge.skills.contract import Reply

__all__ = ["Outcome", "Skill", "SkillContext"]


@dataclass
class Outcome:
    """What a skill did: the reply, and the dialogue's next step.

    ``need_slot``: the skill needs this slot to go on; the router asks ``reply`` and feeds the answer back
    as that slot. ``confirm``: a destructive action waits for yes/no; ``on_confirm`` performs it.
    ``state``: what changed (for ``edge chat --json`` and the TUI), e.g. {"alarm_id": 3}.
    """

    reply: Reply
    need_slot: str | None = None
    confirm: Callable[[], Outcome] | None = None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class SkillContext:
    """Everything a skill may use. Tests build one with a fixed clock and a temporary data folder."""

    locale: str
    clock: Callable[[], dt.datetime]  # aware local time
    data_dir: Path  # $XDG_DATA_HOME/edge, or a test's tmp_path
    say: Callable[..., str]  # say(key, **values) -> text in the context's language
    announce: Callable[[str], None] = lambda text: None  # speak something later (timers, alarms)
    services: dict[str, Any] = field(default_factory=dict)  # store, scheduler, sink, media, devices...
    session: dict[str, Any] = field(default_factory=dict)  # per-session dialogue state (last skill, slots)


class Skill(Protocol):
    """A skill: ``intents`` it handles; ``handle`` acts and replies; ``preview`` replies without acting."""

    name: str
    intents: tuple[str, ...]

    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome: ...

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None: ...
