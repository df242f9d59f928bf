"""Timers and reminders. MASSIVE has no timer intent: they arrive as ``alarm_set`` ("set a timer for ten
minutes") or ``calendar_set`` ("remind me to call mom at five"), and as ``alarm_query``/``alarm_remove`` for
"how long is left on my timer" / "cancel the timer" (and as whatever the model guesses: ``QUERY_INTENTS``,
``CANCEL_INTENTS``). The router asks :meth:`TimerSkill.handles` first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from edge.nlu.runtime import Parse
from edge.skills.alarms import has_phrase, spoken_when
from edge.skills.base import Outcome, SkillContext
from edge.skills.helpers import carry_out, outcome, slot, words_of
from edge.skills.resolve import Invalid, Resolved, resolve_datetime, resolve_duration, time_of_day
from edge.skills.store import store_for, utc_iso
from edge.skills.timefmt import duration as duration_words
from edge.skills.timefmt import join, when_phrase

__all__ = ["CANCEL_INTENTS", "MAX_TIMER", "QUERY_INTENTS", "TimerSkill"]

NAME = "timers"
MAX_TIMER = dt.timedelta(hours=24)
# With "timer" in the words, what the model makes of a request MASSIVE has no intent for, by what it asks:
# "how much time is left on my timer" -> datetime_query, "cancel my timer" -> calendar_remove, "stop the timer"
# -> audio_volume_mute (which muted the assistant and left the timer running).
QUERY_INTENTS = ("alarm_query", "datetime_query", "calendar_query", "weather_query")  # Spanish "tiempo": weather
CANCEL_INTENTS = ("alarm_remove", "calendar_remove", "audio_volume_mute", "audio_volume_other")


class TimerSkill:
    """Timers (``alarm_set`` + "timer"), reminders (``calendar_set``/``alarm_set`` + "remind me")."""

    name = NAME
    intents = ("alarm_set", "alarm_query", "alarm_remove", "calendar_set")
    # "timer" or "remind me" in the words settles it even when the model is unsure which of these intents it is
    # (MASSIVE has no timer intent, so its confidence on "set a timer for 5 minutes" hovers around 0.5).
    certain_by_text = True

    def handles(self, parse: Parse, locale: str | None = None) -> bool:
        """True when this parse is about a timer or a reminder rather than an alarm or calendar event."""
        locale = locale or parse.locale or "en"
        if parse.intent not in (*self.intents, *QUERY_INTENTS, *CANCEL_INTENTS):
            return False
        if has_phrase(parse.text, locale, "timers.timer_words"):
            return True
        return parse.intent in ("alarm_set", "calendar_set", *QUERY_INTENTS) and self._is_reminder(parse, locale)

    @staticmethod
    def _is_reminder(parse: Parse, locale: str) -> bool:
        return has_phrase(parse.text, locale, "timers.remind_words")

    # --- the skill interface ------------------------------------------------------------------------------
    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome:
        return carry_out(self._plan(parse, ctx), ctx, NAME, "timers.save_failed")

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None:
        return self._plan(parse, ctx)[0]

    def _plan(self, parse: Parse, ctx: SkillContext) -> tuple[Outcome, Callable[[], dict] | None]:
        if parse.intent in QUERY_INTENTS:
            if self._is_reminder(parse, ctx.locale) and not has_phrase(parse.text, ctx.locale, "timers.timer_words"):
                return self._query_reminders(ctx), None
            return self._query(ctx), None
        if parse.intent in CANCEL_INTENTS:
            return self._cancel(ctx)
        if self._is_reminder(parse, ctx.locale) and not has_phrase(parse.text, ctx.locale, "timers.timer_words"):
            resolved = resolve_datetime(spoken_when(parse), ctx.locale, ctx.clock())
            return self._plan_reminder(resolved, _reminder_text(parse, ctx), ctx)
        said = slot(parse, "time") or parse.text
        length = resolve_duration(said, ctx.locale) or resolve_duration(parse.text, ctx.locale)
        return self._plan_timer(length, ctx)

    # --- timers -------------------------------------------------------------------------------------------
    def set_timer(self, length: dt.timedelta | None, ctx: SkillContext) -> Outcome:
        """Start a timer of ``length``; asks "For how long?" when it is None."""
        return carry_out(self._plan_timer(length, ctx), ctx, NAME, "timers.save_failed")

    def _plan_timer(self, length: dt.timedelta | None, ctx: SkillContext) -> tuple[Outcome, Callable[[], dict] | None]:
        if length is None or length.total_seconds() <= 0:
            result = outcome(ctx, NAME, "timers.ask_duration", expects_answer=True)
            result.need_slot = "time"
            return result, None
        if length > MAX_TIMER:
            return outcome(ctx, NAME, "timers.too_long"), None
        spoken = duration_words(length, ctx.say)
        now = ctx.clock()

        def write() -> dict:
            store = store_for(ctx.services, ctx.data_dir)
            with store.transaction() as db:
                cur = db.execute("INSERT INTO timers (kind, due, text, created, state) VALUES ('timer', ?, ?, ?, "
                                 "'pending')", (utc_iso(now + length), spoken, utc_iso(now)))
                return {"timer_id": int(cur.lastrowid or 0), "due": (now + length).isoformat()}

        return outcome(ctx, NAME, "timers.set", duration=spoken), write

    # --- reminders ----------------------------------------------------------------------------------------
    def set_reminder(self, when: dt.datetime | None, text: str | None, ctx: SkillContext) -> Outcome:
        """Remind at ``when`` (aware) with ``text``; asks "When should I remind you?" when it is None."""
        resolved = Resolved(when, True, True) if when is not None else None
        return carry_out(self._plan_reminder(resolved, text, ctx), ctx, NAME, "timers.save_failed")

    def _plan_reminder(self, resolved: Resolved | Invalid | None, text: str | None,
                       ctx: SkillContext) -> tuple[Outcome, Callable[[], dict] | None]:
        now = ctx.clock()
        if isinstance(resolved, Invalid) and resolved.reason == "past" or (
                isinstance(resolved, Resolved) and resolved.when <= now):
            return outcome(ctx, NAME, "timers.past"), None
        if not isinstance(resolved, Resolved) or not resolved.has_time:
            result = outcome(ctx, NAME, "timers.ask_when", expects_answer=True)
            result.need_slot = "time"
            return result, None
        when = resolved.when
        phrase = when_phrase(when, now, ctx.say, ctx.locale)
        result = outcome(ctx, NAME, "timers.reminder_set", when=phrase, text=text) if text else \
            outcome(ctx, NAME, "timers.reminder_set_plain", when=phrase)

        def write() -> dict:
            store = store_for(ctx.services, ctx.data_dir)
            with store.transaction() as db:
                cur = db.execute("INSERT INTO timers (kind, due, text, created, state) VALUES ('reminder', ?, ?, ?, "
                                 "'pending')", (utc_iso(when), text, utc_iso(now)))
                return {"reminder_id": int(cur.lastrowid or 0), "due": when.isoformat(),
                        "ambiguous": resolved.ambiguous}

        return result, write

    # --- query and cancel ---------------------------------------------------------------------------------
    @staticmethod
    def _pending(ctx: SkillContext) -> list[tuple[int, dt.datetime]]:
        store = store_for(ctx.services, ctx.data_dir)
        tz = ctx.clock().tzinfo
        rows = store.query("SELECT id, due FROM timers WHERE kind = 'timer' AND state = 'pending' ORDER BY due")
        return [(r["id"], dt.datetime.fromisoformat(r["due"]).astimezone(tz)) for r in rows]

    def _query(self, ctx: SkillContext) -> Outcome:
        timers = self._pending(ctx)
        now = ctx.clock()
        left = [duration_words(max(due - now, dt.timedelta(0)), ctx.say) for _, due in timers]
        if not timers:
            return outcome(ctx, NAME, "timers.none")
        if len(timers) == 1:
            return outcome(ctx, NAME, "timers.left", duration=left[0], state={"timers": [timers[0][0]]})
        items = [ctx.say("timers.item", duration=d) for d in left]
        return outcome(ctx, NAME, "timers.left_many", count=len(timers), items=join(items, ctx.say),
                       state={"timers": [t[0] for t in timers]})

    @staticmethod
    def _query_reminders(ctx: SkillContext) -> Outcome:
        """"what are my reminders": they were stored here, and the calendar answered "Nothing is coming up"."""
        store = store_for(ctx.services, ctx.data_dir)
        now = ctx.clock()
        rows = store.query("SELECT id, due, text FROM timers WHERE kind = 'reminder' AND state = 'pending' "
                           "ORDER BY due")
        if not rows:
            return outcome(ctx, NAME, "timers.reminders_none")
        items = [ctx.say("timers.reminder_item", text=r["text"] or ctx.say("timers.reminder_default"),
                         when=when_phrase(dt.datetime.fromisoformat(r["due"]).astimezone(now.tzinfo), now, ctx.say,
                                          ctx.locale)) for r in rows]
        return outcome(ctx, NAME, "timers.reminders", items=join(items, ctx.say),
                       state={"reminders": [r["id"] for r in rows]})

    def _cancel(self, ctx: SkillContext) -> tuple[Outcome, Callable[[], dict] | None]:
        timers = self._pending(ctx)
        if not timers:
            return outcome(ctx, NAME, "timers.none"), None
        ids = [t[0] for t in timers]

        def write() -> dict:
            store = store_for(ctx.services, ctx.data_dir)
            with store.transaction() as db:
                db.executemany("UPDATE timers SET state = 'cancelled' WHERE id = ?", [(i,) for i in ids])
            return {"cancelled": ids}

        if len(ids) == 1:
            return outcome(ctx, NAME, "timers.cancelled"), write
        return outcome(ctx, NAME, "timers.cancelled_many", count=len(ids)), write


def _reminder_text(parse: Parse, ctx: SkillContext) -> str | None:
    """What to remind of: the ``event_name`` slot, else the words after "remind me to", without the time."""
    found = slot(parse, "event_name", "todo", "description")
    if found:
        return found
    text = parse.text
    for s in parse.slots:
        if s.type in ("date", "time", "timeofday"):
            text = text.replace(s.value, " ")
    low = text.lower()
    for phrase in sorted(words_of(ctx.locale, "timers.remind_words") | {"remind me"}, key=len, reverse=True):
        at = low.find(phrase)
        if at >= 0:
            text = text[at + len(phrase):]
            break
    tod = time_of_day(text, ctx.locale)
    if tod is not None and not isinstance(tod, Invalid):
        text = re.sub(r"\s+", " ", tod.text)
    after = sorted(words_of(ctx.locale, "timers.reminder_text_after"), key=len, reverse=True)
    text = re.sub(rf"^\s*(?:{'|'.join(re.escape(a) for a in after)})\s+", "", text.strip(), flags=re.I) if after \
        else text.strip()
    text = re.sub(r"\s+(?:at|um|à|a las|alle|às|tomorrow|today)\s*$", "", text, flags=re.I).strip(" .,!?")
    return text or None
