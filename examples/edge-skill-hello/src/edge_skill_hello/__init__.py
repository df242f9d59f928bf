"""An example edge skill plugin: replies "Hello from a plugin!" to any text containing "hello plugin"."""

from __future__ import annotations

from edge.nlu.runtime import Parse
from edge.pipeline.replies import Reply
from edge.skills.base import Outcome, SkillContext

__all__ = ["HelloSkill"]


class HelloSkill:
    name = "hello"
    intents: tuple[str, ...] = ()  # no MASSIVE intent: it claims its turns with handles()

    def handles(self, parse: Parse) -> bool:
        return "hello plugin" in parse.text.lower()

    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome:
        return Outcome(Reply("Hello from a plugin!", ctx.locale, self.name), state={"greeted": True})

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None:
        return self.handle(parse, ctx)
