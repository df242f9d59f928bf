"""A small router that answers the time, the date, greetings and jokes without the skills package.

Used where replies must not depend on stored state (the benchmarks) and as the fallback when the skills
cannot be loaded.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from edge.locale_tags import language
from edge.nlu.runtime import Parse
from edge.skills.contract import Reply, Router

__all__ = ["BasicRouter"]


# Reply templates by language; a missing language falls back to English. Replies open with a short
# clause ("Sorry, ...") where it is natural: the first clause is synthesised and played on its own.
_TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "time": "It's {time}.",
        "date": "Today is {date}.",
        "greet": "Hello! How can I help?",
        "unsure": "Sorry, I didn't understand that. Could you say it another way?",
        "silence": "Sorry, I didn't hear anything.",
        "not_yet": "Sorry, I can't help with {intent} yet.",
        "offline": "Sorry, I can't do that without an internet connection.",
    },
    "de": {
        "time": "Es ist {time}.",
        "date": "Heute ist der {date}.",
        "greet": "Hallo! Wie kann ich helfen?",
        "unsure": "Entschuldigung, das habe ich nicht verstanden. Kannst du es anders sagen?",
        "silence": "Entschuldigung, ich habe nichts gehört.",
        "not_yet": "Tut mir leid, bei {intent} kann ich noch nicht helfen.",
        "offline": "Tut mir leid, das geht nicht ohne Internetverbindung.",
    },
    "fr": {
        "time": "Il est {time}.",
        "date": "Nous sommes le {date}.",
        "greet": "Bonjour ! Comment puis-je vous aider ?",
        "unsure": "Désolé, je n'ai pas compris. Pouvez-vous reformuler ?",
        "silence": "Désolé, je n'ai rien entendu.",
        "not_yet": "Désolé, je ne sais pas encore faire {intent}.",
        "offline": "Désolé, je ne peux pas faire cela sans connexion internet.",
    },
    "es": {
        "time": "Son las {time}.",
        "date": "Hoy es {date}.",
        "greet": "¡Hola! ¿En qué puedo ayudarte?",
        "unsure": "Perdona, no lo he entendido. ¿Puedes decirlo de otra forma?",
        "silence": "Perdona, no he oído nada.",
        "not_yet": "Lo siento, todavía no sé hacer {intent}.",
        "offline": "Lo siento, no puedo hacer eso sin conexión a internet.",
    },
    "ko": {
        "time": "지금은 {time}입니다.",
        "date": "오늘은 {date}입니다.",
        "greet": "안녕하세요! 무엇을 도와드릴까요?",
        "unsure": "죄송해요, 이해하지 못했어요. 다르게 말씀해 주시겠어요?",
        "silence": "죄송해요, 아무것도 들리지 않았어요.",
        "not_yet": "{intent}(으)로 이해했지만 아직 할 수 없어요.",
        "offline": "인터넷 연결 없이는 할 수 없어요.",
    },
}

_ONLINE_SCENARIOS = {"weather", "news", "email", "social", "takeaway", "transport"}
_ONLINE_INTENTS = {"qa_stock", "qa_factoid", "qa_currency", "recommendation_events", "recommendation_locations",
                   "recommendation_movies", "general_quirky"}
_JOKES = [
    "I would tell you a UDP joke, but you might not get it.",
    "Why did the scarecrow win an award? Because he was outstanding in his field.",
    "I'm reading a book about anti-gravity. It's impossible to put down.",
]


def _template(locale: str, key: str) -> str:
    return _TEMPLATES.get(language(locale), _TEMPLATES["en"]).get(key, _TEMPLATES["en"][key])


class BasicRouter(Router):
    """Answers the time, the date, greetings and jokes; says honestly what it cannot do yet."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None, seed: int | None = None) -> None:
        self._clock = clock or (lambda: dt.datetime.now().astimezone())
        self._jokes_told = random.Random(seed).randrange(len(_JOKES))

    def common_phrases(self, locale: str) -> list[str]:
        """Short openings of this router's replies, for the TTS to synthesise ahead of time."""
        templates = _TEMPLATES.get(language(locale), _TEMPLATES["en"]).values()
        return sorted({t.split(",")[0] + "," for t in templates if "," in t and len(t.split(",")[0].split()) <= 3})

    def preview(self, parse: Parse, locale: str) -> Reply | None:
        """The answer without telling it (the only state here is which joke comes next)."""
        return self._answer(parse, locale)

    def handle(self, parse: Parse, locale: str) -> Reply:
        reply = self._answer(parse, locale)
        if reply.skill == "jokes":
            self._jokes_told += 1
        return reply

    def _answer(self, parse: Parse, locale: str) -> Reply:
        def reply(key: str, skill: str, **kw: str) -> Reply:
            return Reply(_template(locale, key).format(**kw), locale, skill)

        if not parse.text.strip():
            return reply("silence", "none")
        if parse.intent is None or parse.out_of_domain:
            return Reply(_template(locale, "unsure"), locale, "clarify", expects_answer=True)
        now = self._clock()
        scenario = parse.scenario or parse.intent.split("_")[0]
        if parse.intent == "datetime_query":
            asks_date = any(s.type == "date" for s in parse.slots) or any(
                w in parse.text.lower() for w in ("date", "day", "datum", "fecha", "jour", "날짜", "요일")
            )
            if asks_date:
                return reply("date", "datetime", date=now.strftime("%A, %B %d, %Y").replace(" 0", " "))
            return reply("time", "datetime", time=now.strftime("%I:%M %p").lstrip("0"))
        if parse.intent == "general_greet":
            return reply("greet", "smalltalk")
        if parse.intent == "general_joke" and locale.startswith("en"):
            return Reply(_JOKES[self._jokes_told % len(_JOKES)], locale, "jokes")
        if scenario in _ONLINE_SCENARIOS or parse.intent in _ONLINE_INTENTS:
            return reply("offline", "offline")
        return reply("not_yet", "fallback", intent=parse.intent.replace("_", " "))
