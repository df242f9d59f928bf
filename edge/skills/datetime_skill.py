"""The time, the date and the day of the week, here or in a named city or time zone; time conversion.

Places: a table of about 60 big cities (English and a few local names) -> IANA zone, then any name in
``zoneinfo.available_timezones()`` ("Tokyo" -> Asia/Tokyo, "UTC", "Europe/Berlin"). Slots read:
``place_name``, ``time_zone``, ``date``, ``time``.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import replace
from functools import lru_cache

from edge.nlu.runtime import Parse
from edge.skills.alarms import has_phrase
from edge.skills.base import Outcome, SkillContext
from edge.skills.helpers import outcome, slot
from edge.skills.resolve import Invalid, Resolved, resolve_datetime, time_of_day
from edge.skills.timefmt import clock, date_words, weekday_name

__all__ = ["CITY_ZONES", "DateTimeSkill", "zone_for"]

NAME = "datetime"
CITY_ZONES: dict[str, str] = {
    "london": "Europe/London", "londres": "Europe/London", "londra": "Europe/London", "dublin": "Europe/Dublin",
    "paris": "Europe/Paris", "berlin": "Europe/Berlin", "munich": "Europe/Berlin", "münchen": "Europe/Berlin",
    "hamburg": "Europe/Berlin", "frankfurt": "Europe/Berlin", "vienna": "Europe/Vienna", "wien": "Europe/Vienna",
    "zurich": "Europe/Zurich", "zürich": "Europe/Zurich", "madrid": "Europe/Madrid", "barcelona": "Europe/Madrid",
    "lisbon": "Europe/Lisbon", "lisboa": "Europe/Lisbon", "rome": "Europe/Rome", "roma": "Europe/Rome",
    "rom": "Europe/Rome", "milan": "Europe/Rome", "milano": "Europe/Rome", "amsterdam": "Europe/Amsterdam",
    "brussels": "Europe/Brussels", "bruxelles": "Europe/Brussels", "stockholm": "Europe/Stockholm",
    "oslo": "Europe/Oslo", "copenhagen": "Europe/Copenhagen", "helsinki": "Europe/Helsinki",
    "warsaw": "Europe/Warsaw", "prague": "Europe/Prague", "athens": "Europe/Athens", "istanbul": "Europe/Istanbul",
    "moscow": "Europe/Moscow", "kyiv": "Europe/Kyiv", "kiev": "Europe/Kyiv", "cairo": "Africa/Cairo",
    "lagos": "Africa/Lagos", "nairobi": "Africa/Nairobi", "johannesburg": "Africa/Johannesburg",
    "dubai": "Asia/Dubai", "tehran": "Asia/Tehran", "karachi": "Asia/Karachi", "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata", "mumbai": "Asia/Kolkata", "bangalore": "Asia/Kolkata", "kolkata": "Asia/Kolkata",
    "india": "Asia/Kolkata", "दिल्ली": "Asia/Kolkata", "मुंबई": "Asia/Kolkata", "dhaka": "Asia/Dhaka",
    "bangkok": "Asia/Bangkok", "jakarta": "Asia/Jakarta", "singapore": "Asia/Singapore",
    "kuala lumpur": "Asia/Kuala_Lumpur", "hong kong": "Asia/Hong_Kong", "beijing": "Asia/Shanghai",
    "shanghai": "Asia/Shanghai", "taipei": "Asia/Taipei", "seoul": "Asia/Seoul", "tokyo": "Asia/Tokyo",
    "tokio": "Asia/Tokyo", "tóquio": "Asia/Tokyo", "東京": "Asia/Tokyo", "osaka": "Asia/Tokyo", "大阪": "Asia/Tokyo",
    "manila": "Asia/Manila", "sydney": "Australia/Sydney", "melbourne": "Australia/Melbourne",
    "perth": "Australia/Perth", "auckland": "Pacific/Auckland", "honolulu": "Pacific/Honolulu",
    "anchorage": "America/Anchorage", "los angeles": "America/Los_Angeles", "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles", "vancouver": "America/Vancouver", "denver": "America/Denver",
    "phoenix": "America/Phoenix", "chicago": "America/Chicago", "houston": "America/Chicago",
    "dallas": "America/Chicago", "mexico city": "America/Mexico_City", "ciudad de méxico": "America/Mexico_City",
    "new york": "America/New_York", "nueva york": "America/New_York", "nova iorque": "America/New_York",
    "boston": "America/New_York", "washington": "America/New_York", "miami": "America/New_York",
    "atlanta": "America/New_York", "toronto": "America/Toronto", "montreal": "America/Toronto",
    "bogota": "America/Bogota", "bogotá": "America/Bogota", "lima": "America/Lima", "santiago": "America/Santiago",
    "buenos aires": "America/Argentina/Buenos_Aires", "são paulo": "America/Sao_Paulo",
    "sao paulo": "America/Sao_Paulo", "rio de janeiro": "America/Sao_Paulo", "rio": "America/Sao_Paulo",
    "utc": "UTC", "gmt": "Etc/GMT", "cet": "Europe/Berlin", "est": "America/New_York", "pst": "America/Los_Angeles",
    "ist": "Asia/Kolkata", "jst": "Asia/Tokyo",
}


@lru_cache(maxsize=1)
def _zone_index() -> dict[str, str]:
    """"tokyo" -> "Asia/Tokyo", "europe/berlin" -> "Europe/Berlin", for every zone the system knows."""
    index: dict[str, str] = {}
    for name in sorted(zoneinfo.available_timezones()):
        index.setdefault(name.lower(), name)
        index.setdefault(name.rsplit("/", 1)[-1].replace("_", " ").lower(), name)
    return index


def zone_for(place: str) -> zoneinfo.ZoneInfo | None:
    """The time zone of a city or zone name, or None."""
    key = re.sub(r"\s+", " ", place.strip().lower().strip(" ?.!,"))
    key = re.sub(r"^(?:the|in|à|a|en|in der|im) ", "", key)
    key = re.sub(r" (?:time|zeit|heure|hora|ora|時間|समय)$", "", key)
    name = CITY_ZONES.get(key) or _zone_index().get(key)
    if name is None:
        for city, zone in CITY_ZONES.items():  # "new york city", "tokyo japan"
            if re.search(rf"(?<![\w]){re.escape(city)}(?![\w])", key):
                name = zone
                break
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _places(parse: Parse) -> list[str]:
    """Place and zone slot values in the order they were said."""
    found = sorted((s for s in parse.slots if s.type in ("place_name", "time_zone") and s.value.strip()),
                   key=lambda s: s.start)
    return [s.value.strip() for s in found]


class DateTimeSkill:
    """datetime_query and datetime_convert. Reads the clock only: ``preview`` equals ``handle``."""

    name = NAME
    intents = ("datetime_query", "datetime_convert")

    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome:
        if parse.intent == "datetime_convert":
            return self._convert(parse, ctx)
        return self._query(parse, ctx)

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None:
        return self.handle(parse, ctx)

    def _query(self, parse: Parse, ctx: SkillContext) -> Outcome:
        now = ctx.clock()
        places = _places(parse)
        place = places[0] if places else None
        if place is not None:
            zone = zone_for(place)
            if zone is None:
                return outcome(ctx, NAME, "datetime.unknown_place", place=place)
            now = now.astimezone(zone)
        state = {"zone": str(now.tzinfo), "now": now.isoformat()}
        suffix = "_in" if place else ""
        other = self._other_day(parse, ctx, now) if place is None else None
        if other is not None:
            return other
        if has_phrase(parse.text, ctx.locale, "datetime.weekday_words") and not slot(parse, "date"):
            return outcome(ctx, NAME, f"datetime.weekday{suffix}", weekday=weekday_name(now.date(), ctx.say),
                           place=place, state=state)
        if slot(parse, "date") or has_phrase(parse.text, ctx.locale, "datetime.date_words"):
            return outcome(ctx, NAME, f"datetime.date{suffix}", date=date_words(now.date(), ctx.say), place=place,
                           state=state)
        return outcome(ctx, NAME, f"datetime.time{suffix}", time=clock(now, ctx.locale), place=place, state=state)

    @staticmethod
    def _other_day(parse: Parse, ctx: SkillContext, now: dt.datetime) -> Outcome | None:
        """"what day is tomorrow" -> "Tomorrow is Tuesday, December 8, 2026." (it answered with today's date);
        a day it cannot place ("what day is christmas") says so. None for today or no day asked about."""
        said = slot(parse, "date")
        if said is None:
            event = slot(parse, "event_name")
            return outcome(ctx, NAME, "datetime.unknown_day", event=event) if event else None
        resolved = resolve_datetime(said, ctx.locale, now)
        if not isinstance(resolved, Resolved) or not resolved.has_date or resolved.when.date() == now.date():
            return None
        day = resolved.when.date()
        weekday = weekday_name(day, ctx.say)
        named = weekday.lower() in said.lower()  # "next friday": its date, not "Friday is Friday, ..."
        if has_phrase(parse.text, ctx.locale, "datetime.weekday_words") and not named:
            out = outcome(ctx, NAME, "datetime.weekday_other", when=said, weekday=weekday,
                          state={"date": day.isoformat()})
        else:
            out = outcome(ctx, NAME, "datetime.date_other", when=said, date=date_words(day, ctx.say, not named),
                          state={"date": day.isoformat()})
        out.reply = replace(out.reply, text=out.reply.text[:1].upper() + out.reply.text[1:])
        return out

    def _convert(self, parse: Parse, ctx: SkillContext) -> Outcome:
        now = ctx.clock()
        places = _places(parse)
        if not places:
            result = outcome(ctx, NAME, "datetime.need_place", expects_answer=True)
            result.need_slot = "place_name"
            return result
        zones = []
        for place in places[:2]:
            zone = zone_for(place)
            if zone is None:
                return outcome(ctx, NAME, "datetime.unknown_place", place=place)
            zones.append(zone)
        if len(zones) == 1:  # "what's 5 pm here in Tokyo": from here to there
            source_zone, target_zone = now.tzinfo, zones[0]
            source, target = ctx.say("datetime.here"), places[0]
        else:
            source_zone, target_zone = zones
            source, target = places[0], places[1]
        said = slot(parse, "time") or parse.text
        tod = time_of_day(said, ctx.locale)
        if isinstance(tod, Invalid):
            return outcome(ctx, "alarms", "alarms.out_of_range", value=tod.value)
        base = now.astimezone(source_zone)
        if tod is None:
            moment = base
        else:
            hours = tod.hours()  # "at five" without AM/PM: the daytime reading (7-11 AM, else PM)
            hour = hours[0] if len(hours) == 1 or 7 <= hours[0] <= 11 else hours[1]
            moment = base.replace(hour=hour, minute=tod.minute, second=0, microsecond=0)
        converted = moment.astimezone(target_zone)
        days = (converted.date() - moment.date()).days
        key = "datetime.convert" if days == 0 else ("datetime.convert_next_day" if days > 0
                                                     else "datetime.convert_prev_day")
        return outcome(ctx, NAME, key, time=clock(moment, ctx.locale), source=source,
                       target_time=clock(converted, ctx.locale), target=target,
                       state={"from": moment.isoformat(), "to": converted.isoformat()})
