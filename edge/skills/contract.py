"""The contract between the pipeline and whatever answers: a :class:`Reply`, and the :class:`Router` that gives it.

The pipeline depends on this module only (never on a concrete router); the skill router
(:class:`edge.skills.router.SkillRouter`) and the small :class:`edge.skills.basic.BasicRouter` implement it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from edge.nlu.runtime import Parse

__all__ = ["Reply", "Router"]


@dataclass(frozen=True)
class Reply:
    text: str
    locale: str
    skill: str
    expects_answer: bool = False  # the reply asks a question: listen again without the wake word
    data: dict[str, Any] = field(default_factory=dict)


class Router(Protocol):
    """Turns a parse into a reply, acting on it (setting the alarm...) before the reply confirms it.

    Only :meth:`handle` must be written; a router that subclasses this protocol inherits the defaults of
    the rest (no preview, no phrases, nothing playing, no pending question).
    """

    def handle(self, parse: Parse, locale: str) -> Reply: ...

    def preview(self, parse: Parse, locale: str) -> Reply | None:
        """The reply :meth:`handle` would give, computed WITHOUT side effects, or None where it cannot know
        without acting. The pipeline calls it during the endpointing silence wait to synthesise the first
        audio early; it uses that audio only if ``handle``'s reply text is the same."""
        return None

    def common_phrases(self, locale: str) -> list[str]:
        """Short openings of this router's replies, for the TTS to synthesise ahead of time."""
        return []

    def stop_playback(self) -> bool:
        """Stop what the router's skills play (music); True if something was playing."""
        return False

    def drop_pending(self) -> None:
        """Forget a question the last reply asked (the user said "stop" over it)."""
        return None
