"""Alarms: set (once or recurring), list, remove one or all. Persisted in the store's ``alarms`` table.

Slots read: ``time``, ``date``, ``timeofday``, ``general_frequency`` (falling back to the utterance).
"At five" asks "5 AM or 5 PM?" (``need_slot="time"``; the answer "PM" or "five pm" comes back as the
``time`` slot); removing all alarms asks for confirmation first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from edge.nlu.runtime import Parse
from edge.skills.base import Outcome, SkillContext
from edge.skills.helpers import carry_out, outcome, slot, words_of
from edge.skills.resolve import Invalid, Resolved, find_date, lang_of, resolve_datetime
from edge.skills.scheduler import WEEKDAYS, next_occurrence
from edge.skills.store import StoreError, store_for, utc_iso
from edge.skills.timefmt import clock, join, weekday_name, when_phrase

__all__ = ["AlarmSkill", "has_phrase", "spoken_when"]

NAME = "alarms"
PENDING = "alarms.options"  # session key: the two times an ambiguous "at five" may mean


def has_phrase(text: str, locale: str, key: str) -> bool:
    """Whether ``text`` contains one of the ``|``-separated phrases of template ``key`` (or English)."""
    low = f" {text.lower()} "
    phrases = words_of(locale, key) | words_of("en", key)
    return any(re.search(rf"(?<![\w]){re.escape(p)}(?![\w])", low) for p in phrases)


def spoken_when(parse: Parse) -> str:
    """The words that say when: the date/time slots joined, or the whole utterance. With a date and a time, the
    words from the first to the last as said, with the word or two before a time that comes first: the
    connector makes a bare number a time ("tomorrow at seven", "um sieben morgen", "mañana a las siete"), where
    the slots alone ("tomorrow seven") read as a date."""
    parts = [slot(parse, t) for t in ("date", "time", "timeofday")]
    said = " ".join(p for p in parts if p)
    text = parse.text
    found = [s for s in parse.slots if s.type in ("date", "time", "timeofday") and s.value.strip()]
    if len({s.type for s in found}) > 1 and all(0 <= s.start < s.end <= len(text) and text[s.start:s.end] == s.value
                                                for s in found):
        first = min(found, key=lambda s: s.start)
        start, end = first.start, max(s.end for s in found)
        if first.type == "time":
            before = re.search(r"(?:[^\W\d]+\s+){0,2}$", text[:start])
            start = before.start() if before else start
        span = text[start:end].strip()
        if len(span.split()) <= len(said.split()) + 4:
            return span
    return said or text


def _meridiem_only(text: str, locale: str) -> str | None:
    """"PM", "in the evening" (an answer to "5 AM or 5 PM?") -> "pm"; None if the text says more."""
    from edge.skills.resolve import split_meridiem
    from edge.skills.timewords import digits

    lang = lang_of(locale)
    kind, rest = split_meridiem(digits(text, lang), lang)
    if kind is None and lang != "en":
        kind, rest = split_meridiem(text.lower(), "en")
    return kind if kind and not re.search(r"\d", rest) else None


def _recurrence(text: str, ctx: SkillContext, now: dt.datetime) -> str | None:
    if has_phrase(text, ctx.locale, "alarms.weekdays_words"):
        return "weekdays"
    if has_phrase(text, ctx.locale, "alarms.weekends_words"):
        return "weekends"
    if has_phrase(text, ctx.locale, "alarms.daily_words"):
        return "daily"
    every = sorted(words_of(ctx.locale, "alarms.every_words") | {"every"}, key=len, reverse=True)
    for word in every:
        m = re.search(rf"(?<![\w]){re.escape(word)}\s+(\w+)", text.lower())
        if m:
            found = find_date(m.group(1), lang_of(ctx.locale), now)
            if found is not None:
                return WEEKDAYS[found.weekday()]
    return None


class AlarmSkill:
    """alarm_set, alarm_query, alarm_remove."""

    name = NAME
    intents = ("alarm_set", "alarm_query", "alarm_remove")

    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome:
        return carry_out(self._plan(parse, ctx), ctx, NAME, "alarms.save_failed")

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None:
        result, _ = self._plan(parse, ctx)
        return result

    # --- planning: the reply, and the write that makes it true ---------------------------------------------
    def _plan(self, parse: Parse, ctx: SkillContext) -> tuple[Outcome, Callable[[], dict] | None]:
        if parse.intent == "alarm_query":
            return self._query(ctx), None
        if parse.intent == "alarm_remove":
            return self._remove(parse, ctx)
        return self._set(parse, ctx)

    def _set(self, parse: Parse, ctx: SkillContext) -> tuple[Outcome, Callable[[], dict] | None]:
        now = ctx.clock()
        said = spoken_when(parse)
        options = ctx.session.get(PENDING)
        meridiem = _meridiem_only(slot(parse, "time") or parse.text, ctx.locale) if options else None
        if options and meridiem:
            chosen = [o for o in options if (o.hour < 12) == (meridiem == "am")]
            resolved: Resolved | Invalid | None = Resolved(chosen[0] if chosen else options[0], True, True)
        else:
            resolved = resolve_datetime(said, ctx.locale, now)
        if isinstance(resolved, Invalid):
            key = "alarms.past" if resolved.reason == "past" else "alarms.out_of_range"
            return outcome(ctx, NAME, key, value=resolved.value), None
        if resolved is None or not resolved.has_time:
            return self._ask(ctx, "alarms.ask_time"), None
        if resolved.ambiguous:
            first, second = sorted(resolved.options[:2], key=lambda d: d.hour)
            ask = self._ask(ctx, "alarms.ask_which", first=clock(first, ctx.locale), second=clock(second, ctx.locale))
            choices = resolved.options

            def remember() -> dict:
                ctx.session[PENDING] = choices
                return {}

            return ask, remember
        when = resolved.when
        recurrence = _recurrence(parse.text + " " + (slot(parse, "general_frequency") or ""), ctx, now)
        if recurrence:
            when = next_occurrence(when, recurrence, now) if not _matches_day(when, recurrence) else when
            text_key, values = "alarms.set_recurring", {"time": clock(when, ctx.locale),
                                                         "recurrence": _recurrence_words(recurrence, ctx)}
        else:
            text_key, values = "alarms.set", {"when": when_phrase(when, now, ctx.say, ctx.locale)}
        if any(at == when and rec == recurrence for _, at, rec in self._alarms(ctx)):  # said twice: not two alarms
            def forget() -> dict:
                ctx.session.pop(PENDING, None)
                return {}

            described = self._describe([(0, when, recurrence)], ctx)[0]
            return outcome(ctx, NAME, "alarms.exists", when=described, state={"exists": when.isoformat()}), forget
        result = outcome(ctx, NAME, text_key, **values)

        def write() -> dict:
            ctx.session.pop(PENDING, None)
            store = store_for(ctx.services, ctx.data_dir)
            with store.transaction() as db:
                cur = db.execute("INSERT INTO alarms (at, label, recurrence, created, active) VALUES (?, ?, ?, ?, 1)",
                                 (utc_iso(when), slot(parse, "alarm_type"), recurrence, utc_iso(now)))
                alarm_id = int(cur.lastrowid or 0)
            return {"alarm_id": alarm_id, "at": when.isoformat(), "recurrence": recurrence}

        return result, write

    @staticmethod
    def _ask(ctx: SkillContext, key: str, **values: object) -> Outcome:
        result = outcome(ctx, NAME, key, expects_answer=True, **values)
        result.need_slot = "time"
        return result

    # --- listing and removing ----------------------------------------------------------------------------
    @staticmethod
    def _alarms(ctx: SkillContext) -> list[tuple[int, dt.datetime, str | None]]:
        store = store_for(ctx.services, ctx.data_dir)
        tz = ctx.clock().tzinfo
        rows = store.query("SELECT id, at, recurrence FROM alarms WHERE active = 1 ORDER BY at")
        return [(r["id"], dt.datetime.fromisoformat(r["at"]).astimezone(tz), r["recurrence"]) for r in rows]

    def _describe(self, alarms: list[tuple[int, dt.datetime, str | None]], ctx: SkillContext) -> list[str]:
        now = ctx.clock()
        return [f"{clock(at, ctx.locale)} {_recurrence_words(rec, ctx)}" if rec else when_phrase(at, now, ctx.say,
                                                                                                  ctx.locale)
                for _, at, rec in alarms]

    def _query(self, ctx: SkillContext) -> Outcome:
        alarms = self._alarms(ctx)
        described = self._describe(alarms, ctx)
        if not alarms:
            return outcome(ctx, NAME, "alarms.none")
        if len(alarms) == 1:
            return outcome(ctx, NAME, "alarms.one", alarm=described[0], state={"alarms": [a[0] for a in alarms]})
        return outcome(ctx, NAME, "alarms.many", count=len(alarms), alarms=join(described, ctx.say),
                       state={"alarms": [a[0] for a in alarms]})

    def _remove(self, parse: Parse, ctx: SkillContext) -> tuple[Outcome, Callable[[], dict] | None]:
        alarms = self._alarms(ctx)
        if not alarms:
            return outcome(ctx, NAME, "alarms.none"), None
        store = store_for(ctx.services, ctx.data_dir)

        def delete(ids: list[int]) -> dict:
            with store.transaction() as db:
                db.executemany("UPDATE alarms SET active = 0 WHERE id = ?", [(i,) for i in ids])
            return {"removed": ids}

        if has_phrase(parse.text, ctx.locale, "alarms.all_words") and len(alarms) == 1:  # not "Remove all 1 alarms?"
            text = join(self._describe(alarms, ctx), ctx.say)
            return outcome(ctx, NAME, "alarms.removed", when=text), lambda: delete([alarms[0][0]])
        if has_phrase(parse.text, ctx.locale, "alarms.all_words"):
            ids = [a[0] for a in alarms]

            def confirmed() -> Outcome:
                done = outcome(ctx, NAME, "alarms.removed_all", count=len(ids))
                try:
                    done.state.update(delete(ids))
                except StoreError:
                    return outcome(ctx, NAME, "alarms.save_failed")
                return done

            ask = outcome(ctx, NAME, "alarms.confirm_remove_all", expects_answer=True, count=len(ids))
            ask.confirm = confirmed
            return ask, None
        resolved = resolve_datetime(spoken_when(parse), ctx.locale, ctx.clock())
        if isinstance(resolved, Resolved) and resolved.has_time:
            targets = resolved.options or (resolved.when,)
            hits = [a for a in alarms if any((a[1].hour, a[1].minute) == (t.hour, t.minute) and
                                             (not resolved.has_date or a[1].date() == t.date()) for t in targets)]
            if not hits:
                return outcome(ctx, NAME, "alarms.not_found", time=clock(resolved.when, ctx.locale)), None
            ids = [a[0] for a in hits]
            text = join(self._describe(hits, ctx), ctx.say)
            return outcome(ctx, NAME, "alarms.removed", when=text), lambda: delete(ids)
        if len(alarms) == 1:
            return outcome(ctx, NAME, "alarms.removed_one"), lambda: delete([alarms[0][0]])
        ask = self._ask(ctx, "alarms.which", count=len(alarms), alarms=join(self._describe(alarms, ctx), ctx.say))
        return ask, None


def _matches_day(when: dt.datetime, recurrence: str) -> bool:
    day = when.weekday()
    return (recurrence == "daily" or (recurrence == "weekdays" and day < 5) or (recurrence == "weekends" and day >= 5)
            or (recurrence in WEEKDAYS and WEEKDAYS.index(recurrence) == day))


def _recurrence_words(recurrence: str, ctx: SkillContext) -> str:
    if recurrence in WEEKDAYS:
        monday = dt.date(2026, 1, 5)
        day = monday + dt.timedelta(days=WEEKDAYS.index(recurrence))
        return ctx.say("alarms.recurrence_weekday", weekday=weekday_name(day, ctx.say))
    return ctx.say(f"alarms.recurrence_{recurrence}")
