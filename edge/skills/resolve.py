"""Slot values to times: "tomorrow at five" -> a datetime, "an hour and a half" -> a timedelta.

Dates ("tomorrow", "next Friday", "3 December", "in 20 minutes") are read by ``dateparser`` in the slot's
language. ``dateparser`` alone misreads spoken times ("tomorrow at five" gives the current time), so the
time of day is taken out first with the data in :mod:`edge.skills.timewords` (number words -> digits,
"half past seven", "halb acht", "sept heures et demie", "7 pm") and set on the date dateparser found.

Results: :class:`Resolved` (``ambiguous`` when "at five" could be 5 AM or 5 PM and both are within 24 h,
``options`` holding both), :class:`Invalid` (falsy, with a ``reason``: "37 o'clock", "25:99", a past time
on an explicit date) or None when the text names no time at all.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

from edge.skills.timewords import (
    AM_WORDS,
    ARTICLE_ONE,
    AT_WORDS,
    HALF_AFTER,
    HALF_BEFORE,
    NEXT_WORDS,
    NO_SPACES,
    PM_WORDS,
    TIME_PATTERNS,
    UNITS,
    digits,
)

__all__ = ["Ambiguous", "Invalid", "Resolved", "TimeOfDay", "find_date", "lang_of", "resolve_datetime",
           "resolve_duration", "split_meridiem", "time_of_day"]

log = logging.getLogger(__name__)
DAY = dt.timedelta(days=1)


def lang_of(locale: str) -> str:
    return (locale or "en").replace("_", "-").split("-")[0].lower()


@dataclass(frozen=True)
class Resolved:
    """A point in time. ``has_date``/``has_time``: what the text said (an alarm needs a time)."""

    when: dt.datetime
    has_date: bool = False
    has_time: bool = True
    ambiguous: bool = False
    options: tuple[dt.datetime, ...] = field(default=())

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True)
class Ambiguous(Resolved):
    """"At five": ``when`` is the next of ``options`` (5 AM, 5 PM); the skill should ask which."""

    ambiguous: bool = True


@dataclass(frozen=True)
class Invalid:
    """A time that cannot be: ``reason`` is "out_of_range" or "past"; ``value`` the words at fault. Falsy."""

    reason: str
    value: str = ""

    def __bool__(self) -> bool:
        return False


@dataclass(frozen=True)
class TimeOfDay:
    """A clock time as said: ``meridiem`` is "am", "pm" or None (not said)."""

    hour: int
    minute: int
    meridiem: str | None
    span: tuple[int, int]
    text: str

    def hours(self) -> list[int]:
        """The 24-hour values it may mean: one, or two for "five" without AM/PM."""
        h = self.hour
        if self.meridiem == "pm":
            return [h + 12 if h < 12 else h]
        if self.meridiem == "am":
            return [0 if h == 12 else h]
        if 1 <= h <= 12:
            return [h % 12, h % 12 + 12]
        return [h % 24]


def _phrase_regex(phrases: list[str], lang: str = "") -> re.Pattern[str] | None:
    if not phrases:
        return None
    alts = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    if lang in NO_SPACES:
        return re.compile(f"(?:{alts})")
    return re.compile(rf"(?<![\w])(?:{alts})(?![\w])")


def split_meridiem(text: str, lang: str) -> tuple[str | None, str]:
    """("am" | "pm" | None, text without the AM/PM words)."""
    found = None
    for kind, table in (("pm", PM_WORDS), ("am", AM_WORDS)):
        words = table.get(lang, []) + ([w for w in table["en"][:3] if "." in w] if lang != "en" else [])
        pattern = _phrase_regex(words, lang)
        if pattern and pattern.search(text):
            found = found or kind
            text = pattern.sub(" ", text)
    return found, text


def time_of_day(text: str, locale: str) -> TimeOfDay | Invalid | None:
    """The clock time said in ``text`` ("half past seven", "19:30", "7 pm"), on number-normalised text."""
    lang = lang_of(locale)
    norm = digits(text, lang)
    meridiem, stripped = split_meridiem(norm, lang)
    for pattern, delta in TIME_PATTERNS.get(lang, []) + TIME_PATTERNS["*"]:
        match = re.search(pattern, stripped)
        if not match:
            continue
        groups = match.groupdict()
        hour = int(groups["h"]) if groups.get("h") else 0
        plus = int(groups["m"]) if groups.get("m") else 0
        minus = int(groups["mneg"]) if groups.get("mneg") else 0
        if hour > 24 or plus > 59 or minus > 59 or (hour == 24 and (plus or delta > 0)):
            return Invalid("out_of_range", match.group(0).strip())
        total = (hour * 60 + plus - minus + delta) % (24 * 60)
        h, m = divmod(total, 60)
        if h == 0 and 0 < hour <= 12:
            h = 12  # "quarter to one", "halb eins": 12:45 / 12:30 on the 12-hour dial, AM or PM
        if h > 12:
            meridiem = None  # "15 pm": the 24-hour value wins
        if not groups.get("h") and delta == 12 * 60:
            meridiem = "pm"
        elif not groups.get("h"):
            meridiem = "am"
        return TimeOfDay(h, m, meridiem, match.span(), stripped[: match.start()] + " " + stripped[match.end():])
    bare = re.search(r"(?<![\d:.])(\d{1,2})(?![\d:.])", stripped)
    if meridiem and bare and not _counts_units(stripped, lang):
        hour = int(bare.group(1))
        if hour > 12:
            return Invalid("out_of_range", bare.group(0))
        return TimeOfDay(hour, 0, meridiem, bare.span(), stripped[: bare.start()] + " " + stripped[bare.end():])
    number = re.search(r"\b(\d{2,})\b", stripped)
    if number and meridiem is None and re.search(r"(o ?'? ?clock|uhr|heures?|時|बजे)", stripped):
        return Invalid("out_of_range", number.group(0))
    return None


def _counts_units(text: str, lang: str) -> bool:
    """True when the numbers in ``text`` count units ("in 5 minutes"), so none of them is a clock hour."""
    return resolve_duration(text, lang) is not None


@lru_cache(maxsize=64)
def _dateparser_lang(lang: str) -> tuple[str, ...] | None:
    from dateparser.data import languages_info

    return (lang,) if lang in languages_info.language_order else None


def find_date(text: str, lang: str, now: dt.datetime) -> dt.datetime | None:
    """The first date dateparser finds in ``text`` (naive, in ``now``'s zone), or None."""
    from dateparser.search import search_dates

    text = re.sub(r"\s+", " ", text).strip(" ,.!?")
    if not re.search(r"\w", text):
        return None
    settings = {"RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "future",
                "RETURN_AS_TIMEZONE_AWARE": False}
    languages = _dateparser_lang(lang)
    candidates = [text]
    nexts = _phrase_regex(NEXT_WORDS.get(lang, []))
    if nexts:
        candidates.append(nexts.sub(" ", text))
    for candidate in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = search_dates(candidate, languages=list(languages) if languages else None, settings=settings)
        except Exception as exc:  # dateparser raises assorted errors on odd input; none should stop a skill
            log.debug("dateparser failed on %r: %s", candidate, exc)
            found = None
        if found:
            return found[0][1]
    return None


def _next_at(now: dt.datetime, day: dt.date | None, hour: int, minute: int) -> dt.datetime:
    tz = now.tzinfo
    if day is not None:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)
    when = dt.datetime.combine(now.date(), dt.time(hour, minute), tzinfo=tz)
    return when if when > now else dt.datetime.combine(now.date() + DAY, dt.time(hour, minute), tzinfo=tz)


def resolve_datetime(text: str, locale: str, now: dt.datetime) -> Resolved | Invalid | None:
    """The moment ``text`` names, after ``now`` (aware). See the module docstring for the result kinds."""
    if not text or not text.strip():
        return None
    lang = lang_of(locale)
    tod = time_of_day(text, locale)
    if isinstance(tod, Invalid):
        return tod
    if tod is None:
        duration = resolve_duration(text, locale)
        if duration is not None:
            return Resolved(now + duration, has_date=False, has_time=True)
        found = find_date(split_meridiem(digits(text, lang), lang)[1], lang, now)
        if found is None:
            return None
        day = found.date()
        return Resolved(dt.datetime.combine(day, dt.time(0, 0), tzinfo=now.tzinfo), has_date=True, has_time=False)
    rest = tod.text
    at_words = _phrase_regex(AT_WORDS.get(lang, []) + (AT_WORDS["en"] if lang != "en" else []), lang)
    if at_words:
        rest = at_words.sub(" ", rest)
    found = find_date(rest, lang, now)
    day = found.date() if found else None
    options = sorted(_next_at(now, day, h, tod.minute) for h in tod.hours())
    future = [o for o in options if o > now]
    if not future:
        return Invalid("past", text.strip())
    when = future[0]
    if len(options) == 2 and len(future) == 2 and all(o - now <= DAY for o in future):
        return Ambiguous(when, has_date=day is not None, has_time=True, options=tuple(future))
    return Resolved(when, has_date=day is not None, has_time=True, options=tuple(options))


def _units_regex(lang: str) -> re.Pattern[str] | None:
    units = UNITS.get(lang)
    if not units:
        return None
    alts = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
    sep = "" if lang in ("ja", "zh") else r"(?![\w])"
    return re.compile(rf"(?P<n>\d+(?:[.,]\d+)?)\s*(?P<unit>{alts}){sep}(?P<half>\s*{_HALF_MARK})?")


_HALF_MARK = "½"


def resolve_duration(text: str, locale: str) -> dt.timedelta | None:
    """A length of time ("twenty minutes", "an hour and a half", "fünf Minuten"), or None."""
    if not text or not text.strip():
        return None
    lang = lang_of(locale)
    norm = digits(text, lang)
    for phrase in sorted(HALF_AFTER.get(lang, []), key=len, reverse=True):
        norm = re.sub(rf"\s*{re.escape(phrase)}(?![\w])", f" {_HALF_MARK}", norm)
    norm = re.sub(rf"(\d+)\s*{_HALF_MARK}\s*", lambda m: f"{m.group(1)}.5 ", norm)  # "two and a half hours"
    for phrase in sorted(HALF_BEFORE.get(lang, []), key=len, reverse=True):
        norm = re.sub(rf"(?<![\w]){re.escape(phrase)}\s*", " 0.5 ", norm)
    for article in ARTICLE_ONE.get(lang, []):
        norm = re.sub(rf"(?<![\w]){article}\s+(?=\w)", " 1 ", norm)
    pattern = _units_regex(lang)
    if pattern is None:
        return _duration_by_dateparser(text, lang)
    seconds = 0.0
    matched = False
    for m in pattern.finditer(norm):
        size = UNITS[lang][m.group("unit")]
        seconds += float(m.group("n").replace(",", ".")) * size + (size / 2 if m.group("half") else 0)
        matched = True
    if not matched:
        return None
    return dt.timedelta(seconds=round(seconds))


def _duration_by_dateparser(text: str, lang: str) -> dt.timedelta | None:
    """Languages without a unit table: "in <text>" read by dateparser, minus the base time."""
    import dateparser

    base = dt.datetime(2000, 1, 1)
    try:
        languages = _dateparser_lang(lang)
        found = dateparser.parse(text, languages=list(languages) if languages else None,
                                 settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future"})
    except Exception:  # see find_date
        return None
    if found is None or found <= base:
        return None
    return found - base
