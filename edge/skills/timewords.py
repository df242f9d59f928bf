"""Language data for time expressions: number words, times of day, AM/PM words, duration units.

Data only (plus the number-word normaliser): :mod:`edge.skills.resolve` rewrites "tomorrow at five" into
"tomorrow" + 05:00 with these tables and leaves the dates to ``dateparser``. Number words come from
``num2words`` read backwards (0-100, every language it writes), plus the few forms it does not produce
("eine", "una") and a table for Hindi. A language without an entry here still gets digits, "7:30",
"7 pm" and everything ``dateparser`` understands.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["AM_WORDS", "AT_WORDS", "HALF_AFTER", "HALF_BEFORE", "NEXT_WORDS", "NO_SPACES", "PM_WORDS", "TIME_PATTERNS",
           "UNITS", "digits"]

# Number words num2words does not write (articles that mean "one", gendered forms, Hindi).
EXTRA_NUMBERS: dict[str, dict[str, int]] = {
    "en": {"a couple of": 2},
    "de": {"ein": 1, "eine": 1, "einer": 1, "einem": 1, "einen": 1, "zwo": 2},
    "fr": {"une": 1},
    "es": {"una": 1, "un": 1},
    "it": {"una": 1, "un": 1},
    "pt": {"uma": 1, "duas": 2},
    "hi": {"एक": 1, "दो": 2, "तीन": 3, "चार": 4, "पांच": 5, "पाँच": 5, "छह": 6, "छः": 6, "सात": 7, "आठ": 8,
           "नौ": 9, "दस": 10, "ग्यारह": 11, "बारह": 12, "तेरह": 13, "चौदह": 14, "पंद्रह": 15, "सोलह": 16,
           "सत्रह": 17, "अठारह": 18, "उन्नीस": 19, "बीस": 20, "पच्चीस": 25, "तीस": 30, "पैंतीस": 35,
           "चालीस": 40, "पैंतालीस": 45, "पचास": 50, "पचपन": 55, "साठ": 60, "नब्बे": 90},
}
# Multiples of one and a half etc. that are single words.
FRACTION_WORDS: dict[str, dict[str, str]] = {
    "de": {"anderthalb": "1.5", "eineinhalb": "1.5", "zweieinhalb": "2.5", "dreieinhalb": "3.5"},
    "hi": {"डेढ़": "1.5", "ढाई": "2.5"},
}
NO_SPACES = {"ja", "zh", "th"}  # scripts written without spaces: numbers are replaced inside words

# "in the evening": hours 1-11 become 13-23. Longest phrases first is handled by the code.
PM_WORDS: dict[str, list[str]] = {
    "en": ["pm", "p.m.", "p m", "in the evening", "in the afternoon", "at night", "tonight", "this evening",
           "this afternoon", "evening", "afternoon"],
    "de": ["abends", "am abend", "heute abend", "nachmittags", "am nachmittag", "nachts", "in der nacht"],
    "fr": ["du soir", "de l'après-midi", "de l'apres-midi", "ce soir", "cet après-midi", "pm"],
    "es": ["de la tarde", "de la noche", "esta noche", "esta tarde", "pm", "p.m."],
    "it": ["di sera", "della sera", "del pomeriggio", "di pomeriggio", "stasera", "stanotte", "pm"],
    "pt": ["da tarde", "da noite", "hoje à noite", "esta noite", "à tarde", "à noite", "pm"],
    "ja": ["午後", "夜", "夕方", "今夜", "今晩"],
    "hi": ["शाम को", "शाम", "रात को", "रात", "दोपहर को", "दोपहर"],
}
AM_WORDS: dict[str, list[str]] = {
    "en": ["am", "a.m.", "a m", "in the morning", "this morning", "morning"],
    "de": ["morgens", "früh", "am morgen", "vormittags", "am vormittag", "in der früh"],
    "fr": ["du matin", "ce matin", "am"],
    "es": ["de la mañana", "de la madrugada", "am", "a.m."],
    "it": ["di mattina", "del mattino", "della mattina", "stamattina", "am"],
    "pt": ["da manhã", "da madrugada", "de manhã", "am"],
    "ja": ["午前", "朝"],
    "hi": ["सुबह", "सवेरे"],
}
# Words that only introduce a time ("at five"): dropped before dateparser reads the date.
AT_WORDS: dict[str, list[str]] = {
    "en": ["at", "for", "by"], "de": ["um", "für", "gegen"], "fr": ["à", "a", "pour", "vers"],
    "es": ["a las", "a la", "para las", "para la", "las", "la", "a", "para"],
    "it": ["alle", "all'", "per le", "verso le", "le", "per"], "pt": ["às", "as", "à", "para as", "para"],
    "ja": ["に"], "hi": ["को", "पर"],
}
# "next" in "next Friday": dateparser reads the bare weekday as the next one.
NEXT_WORDS: dict[str, list[str]] = {
    "de": ["nächsten", "nächster", "nächste", "kommenden", "kommender"], "fr": ["prochain", "prochaine"],
    "es": ["próximo", "proximo", "que viene"], "it": ["prossimo", "prossima"],
    "pt": ["próxima", "próximo", "proxima", "que vem"], "hi": ["अगले", "अगला"],
}

# Times of day, tried in order on number-normalised, lower-case text. Groups: h (hour), m (minutes added),
# mneg (minutes subtracted), and the constant minutes added by the pattern. Shared patterns come last.
_H = r"(?P<h>\d{1,2})"
TIME_PATTERNS: dict[str, list[tuple[str, int]]] = {
    "en": [(r"half past " + _H, 30), (r"quarter past " + _H, 15), (r"quarter to " + _H, -15),
           (r"(?P<m>\d{1,2}) (?:minutes? )?(?:past|after) " + _H, 0),
           (r"(?P<mneg>\d{1,2}) (?:minutes? )?(?:to|before) " + _H, 0),
           (_H + r" o ?'? ?clock", 0), (_H + r" oh (?P<m>\d)\b", 0), (r"\b(?:noon|midday)\b(?P<h>)", 12 * 60),
           (r"\bmidnight\b(?P<h>)", 0)],
    "de": [(r"halb " + _H, -30), (r"viertel nach " + _H, 15), (r"viertel vor " + _H, -15),
           (r"dreiviertel " + _H, -15), (_H + r" uhr (?P<m>\d{1,2})\b", 0), (_H + r" uhr", 0),
           (r"(?P<m>\d{1,2}) nach " + _H, 0), (r"(?P<mneg>\d{1,2}) vor " + _H, 0), (r"\bum " + _H, 0),
           (r"\bmittag\b(?P<h>)", 12 * 60), (r"\bmitternacht\b(?P<h>)", 0)],
    "fr": [(_H + r" ?h(?:eures?)? et demie?", 30), (_H + r" ?h(?:eures?)? et quart", 15),
           (_H + r" ?h(?:eures?)? moins le quart", -15), (_H + r" ?h(?:eures?)? moins (?P<mneg>\d{1,2})", 0),
           (_H + r" ?h(?:eures?)? ?(?P<m>\d{1,2})\b", 0), (_H + r" ?h(?:eures?)?\b", 0), (r"\bà " + _H, 0),
           (r"\bmidi\b(?P<h>)", 12 * 60), (r"\bminuit\b(?P<h>)", 0)],
    "es": [(r"\blas? " + _H + r" y media", 30), (r"\blas? " + _H + r" y cuarto", 15),
           (r"\blas? " + _H + r" menos cuarto", -15), (r"\blas? " + _H + r" y (?P<m>\d{1,2})\b", 0),
           (r"\blas? " + _H + r" menos (?P<mneg>\d{1,2})\b", 0), (r"\blas? " + _H + r"\b", 0),
           (_H + r" en punto", 0), (r"\bmediodía\b(?P<h>)", 12 * 60), (r"\bmedianoche\b(?P<h>)", 0)],
    "it": [(r"\ball[e']? ?" + _H + r" e mezz[ao]", 30), (r"\ball[e']? ?" + _H + r" e un quarto", 15),
           (r"\ball[e']? ?" + _H + r" meno un quarto", -15), (r"\ball[e']? ?" + _H + r" e (?P<m>\d{1,2})\b", 0),
           (r"\ball[e']? ?" + _H + r"\b", 0), (r"\bmezzogiorno\b(?P<h>)", 12 * 60),
           (r"\bmezzanotte\b(?P<h>)", 0)],
    "pt": [(_H + r" (?:horas? )?e meia", 30), (_H + r" (?:horas? )?e um quarto", 15),
           (_H + r" horas? e (?P<m>\d{1,2})\b", 0), (_H + r" horas?\b", 0), (r"\bàs " + _H + r" e (?P<m>\d{1,2})", 0),
           (r"\b[àa]s? " + _H + r"\b", 0), (r"\bmeio-dia\b(?P<h>)", 12 * 60), (r"\bmeia-noite\b(?P<h>)", 0)],
    "ja": [(_H + r"時(?P<m>\d{1,2})分", 0), (_H + r"時半", 30), (_H + r"時", 0), (r"正午(?P<h>)", 12 * 60)],
    "hi": [(r"साढ़े " + _H, 30), (r"सवा " + _H, 15), (r"पौने " + _H, -15),
           (_H + r" बज ?कर (?P<m>\d{1,2}) मिनट", 0), (_H + r" बजे", 0)],
    "*": [(r"(?P<h>\d{1,2})[:.h](?P<m>\d{2})\b", 0), (r"^\s*(?P<h>\d{1,2})\s*$", 0),
          (r"(?P<h>\d{1,2})(?= ?(?:a\.?m\.?|p\.?m\.?)(?:\W|$))", 0),
          (r"\bat " + _H + r"(?: (?P<m>\d{2}))?\b", 0),
          (_H + r" (?P<m>[1-5]\d)\b(?! ?(?:min|sec|hour|stunde|heure|minut|ora|hora|分|秒|मिनट))", 0)],
}

# Duration units in seconds, per language; the code tries longer words first.
UNITS: dict[str, dict[str, int]] = {
    "en": {"second": 1, "seconds": 1, "sec": 1, "secs": 1, "minute": 60, "minutes": 60, "min": 60, "mins": 60,
           "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600, "day": 86400, "days": 86400},
    "de": {"sekunde": 1, "sekunden": 1, "minute": 60, "minuten": 60, "stunde": 3600, "stunden": 3600,
           "tag": 86400, "tage": 86400, "tagen": 86400},
    "fr": {"seconde": 1, "secondes": 1, "minute": 60, "minutes": 60, "heure": 3600, "heures": 3600,
           "jour": 86400, "jours": 86400},
    "es": {"segundo": 1, "segundos": 1, "minuto": 60, "minutos": 60, "hora": 3600, "horas": 3600,
           "día": 86400, "días": 86400},
    "it": {"secondo": 1, "secondi": 1, "minuto": 60, "minuti": 60, "ora": 3600, "ore": 3600,
           "giorno": 86400, "giorni": 86400},
    "pt": {"segundo": 1, "segundos": 1, "minuto": 60, "minutos": 60, "hora": 3600, "horas": 3600,
           "dia": 86400, "dias": 86400},
    "ja": {"秒": 1, "秒間": 1, "分": 60, "分間": 60, "時間": 3600, "日": 86400, "日間": 86400},
    "hi": {"सेकंड": 1, "मिनट": 60, "घंटा": 3600, "घंटे": 3600, "घंटों": 3600, "दिन": 86400},
}
# "half an hour" (0.5 of the next unit) and "an hour and a half" (+0.5 of the previous unit).
HALF_BEFORE: dict[str, list[str]] = {
    "en": ["half an", "half a", "half"], "de": ["1 halbe", "1 halben", "halbe", "halben"],
    "fr": ["1 demi-", "1 demi ", "demi-", "demi "], "es": ["media", "medio"],
    "it": ["mezz'", "mezza ", "mezzo "], "pt": ["meia", "meio"], "hi": ["आधा", "आधे"],
}
HALF_AFTER: dict[str, list[str]] = {
    "en": ["and a half", "and 1 half"], "de": ["und 1 halb", "und 1 halbe"], "fr": ["et demie", "et demi"],
    "es": ["y media", "y medio"], "it": ["e mezza", "e mezzo"], "pt": ["e meia", "e meio"], "ja": ["半"],
}
ARTICLE_ONE: dict[str, list[str]] = {"en": ["an", "a"]}


@lru_cache(maxsize=32)
def _number_words(lang: str) -> dict[str, int]:
    """Spelled-out numbers 0-100 of ``lang`` (hyphens as spaces) -> value."""
    table: dict[str, int] = {}
    try:
        from num2words import num2words

        for n in range(101):
            table[num2words(n, lang=lang).lower().replace("-", " ")] = n
    except (NotImplementedError, ImportError, KeyError, ValueError):
        pass
    table.update(EXTRA_NUMBERS.get(lang, {}))
    return table


@lru_cache(maxsize=32)
def _number_regex(lang: str) -> re.Pattern[str] | None:
    table = _number_words(lang)
    if not table:
        return None
    alternatives = "|".join(re.escape(w).replace(r"\ ", r"[\s-]+") for w in sorted(table, key=len, reverse=True))
    if lang in NO_SPACES:
        return re.compile(f"(?:{alternatives})")
    return re.compile(rf"(?<![\w'])(?:{alternatives})(?![\w])")


def digits(text: str, lang: str) -> str:
    """``text`` lower-cased with spelled-out numbers as digits: "tomorrow at five thirty" -> "tomorrow at 5 30"."""
    text = text.lower().replace("’", "'")
    for word, value in FRACTION_WORDS.get(lang, {}).items():
        text = re.sub(rf"\b{re.escape(word)}\b", value, text)
    pattern = _number_regex(lang)
    if pattern is None:
        return text
    table = _number_words(lang)

    def value(match: re.Match[str]) -> str:
        key = re.sub(r"[\s-]+", " ", match.group(0))
        return str(table.get(key, match.group(0)))

    return pattern.sub(value, text)
