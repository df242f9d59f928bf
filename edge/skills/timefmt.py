"""Times, days and durations written for a reply, in the reply's language.

Clock times are digits ("7:30 AM" in English, "07:30" elsewhere: the TTS normaliser speaks them); names
of days and months, "today"/"tomorrow" and unit words come from the ``datetime`` templates via ``say``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from edge.skills.resolve import lang_of

__all__ = ["clock", "date_words", "duration", "join", "when_phrase", "weekday_name"]

Say = Callable[..., str]
TWELVE_HOUR = {"en"}


def clock(when: dt.datetime | dt.time, locale: str) -> str:
    """"7:30 AM" / "5 PM" (English), "07:30" (24-hour languages)."""
    if lang_of(locale) in TWELVE_HOUR:
        hour = when.hour % 12 or 12
        suffix = "AM" if when.hour < 12 else "PM"
        return f"{hour} {suffix}" if when.minute == 0 else f"{hour}:{when.minute:02d} {suffix}"
    return f"{when.hour:02d}:{when.minute:02d}"


def _names(say: Say, key: str) -> list[str]:
    return [n.strip() for n in say(key).split("|")]


def weekday_name(day: dt.date, say: Say) -> str:
    return _names(say, "datetime.weekdays")[day.weekday()]


def date_words(day: dt.date, say: Say, with_weekday: bool = True) -> str:
    """"Wednesday, November 25, 2026" in the template's order."""
    month = _names(say, "datetime.months")[day.month - 1]
    key = "datetime.date_format" if with_weekday else "datetime.date_short"
    return say(key, weekday=weekday_name(day, say), month=month, day=day.day, year=day.year)


def when_phrase(when: dt.datetime, now: dt.datetime, say: Say, locale: str) -> str:
    """"7:30 AM tomorrow", "morgen um 07:30", "17:00 on Friday", "07:00 on December 3"."""
    when = when.astimezone(now.tzinfo)
    days = (when.date() - now.date()).days
    time = clock(when, locale)
    if days == 0:
        return say("datetime.at_today", time=time)
    if days == 1:
        return say("datetime.at_tomorrow", time=time)
    if 1 < days < 7:
        return say("datetime.at_weekday", time=time, weekday=weekday_name(when.date(), say))
    return say("datetime.at_date", time=time, date=date_words(when.date(), say, with_weekday=False))


def duration(length: dt.timedelta, say: Say) -> str:
    """"1 hour and 30 minutes", "20 Minuten", "90 seconds" is "1 minute and 30 seconds"."""
    total = max(0, round(length.total_seconds()))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = []
    for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second")):
        if n:
            parts.append(say(f"datetime.{unit}_one") if n == 1 else say(f"datetime.{unit}", n=n))
    if not parts:
        parts.append(say("datetime.second", n=0))
    return join(parts, say)


def join(items: Sequence[str], say: Say) -> str:
    """"a, b and c" with the language's separator and "and"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return say("datetime.sep").join(items[:-1]) + say("datetime.and") + items[-1]
