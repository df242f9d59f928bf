"""Greetings, jokes, quirky questions, and honest answers for everything that needs the internet.

The honest answers say what cannot be done offline (``common.offline`` with the intent's description
from ``dialogue.intent_<intent>``) and, where something close IS possible, a hint (``smalltalk.hint_<intent>``).
"""

from __future__ import annotations

from edge.nlu.runtime import Parse
from edge.skills.base import Outcome, SkillContext
from edge.skills.contract import Reply
from edge.skills.i18n import Templates

__all__ = ["HONEST_INTENTS", "JOKES", "SmallTalkSkill"]

HONEST_INTENTS: tuple[str, ...] = (
    "email_addcontact", "email_query", "email_querycontact", "email_sendemail", "social_post", "social_query",
    "news_query", "weather_query", "takeaway_order", "takeaway_query", "transport_query", "transport_taxi",
    "transport_ticket", "transport_traffic", "qa_stock", "qa_currency", "qa_factoid", "qa_definition",
    "recommendation_events", "recommendation_locations", "recommendation_movies", "cooking_query",
    "cooking_recipe",
)
JOKES = 5  # smalltalk.joke_1 ... joke_5 in every language


class SmallTalkSkill:
    name = "smalltalk"
    intents = ("general_greet", "general_joke", "general_quirky", "play_game", *HONEST_INTENTS)
    honest = ("general_quirky", "play_game", *HONEST_INTENTS)

    def __init__(self) -> None:
        self.jokes_told = 0

    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome:
        out = self._answer(parse, ctx)
        if parse.intent == "general_joke":
            self.jokes_told += 1
        return out

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None:
        return self._answer(parse, ctx)

    def _answer(self, parse: Parse, ctx: SkillContext) -> Outcome:
        intent = parse.intent or ""
        if intent == "general_greet":
            return Outcome(Reply(ctx.say("smalltalk.greet"), ctx.locale, self.name, expects_answer=True))
        if intent == "general_joke":
            n = self.jokes_told % JOKES + 1
            return Outcome(Reply(ctx.say(f"smalltalk.joke_{n}"), ctx.locale, self.name), state={"joke": n})
        if intent == "general_quirky":
            return Outcome(Reply(ctx.say("smalltalk.quirky"), ctx.locale, self.name))
        if intent == "play_game":
            return Outcome(Reply(ctx.say("smalltalk.no_games"), ctx.locale, self.name))
        text = ctx.say("common.offline", what=ctx.say(f"dialogue.intent_{intent}"))
        hint = f"smalltalk.hint_{intent}"
        if Templates(ctx.locale).has(hint):
            text = f"{text} {ctx.say(hint)}"
        return Outcome(Reply(text, ctx.locale, self.name), state={"honest": intent})
