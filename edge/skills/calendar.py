"""calendar_*: events in the SQLite store: add ("dentist tomorrow at five"), read out, remove (confirmed).

Times are read by ``edge.skills.resolve.resolve_datetime`` from the date/time slots. Without that module
only exact ISO times ("2025-05-01 17:00") are understood, and the reply asks for one.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from edge.nlu.runtime import Parse
from edge.skills.base import Outcome, SkillContext
from edge.skills.helpers import outcome, slot
from edge.skills.store import utc_iso

__all__ = ["CalendarSkill", "resolve_when"]

log = logging.getLogger(__name__)
_TIME_SLOTS = ("date", "time", "timeofday")


def resolve_when(text: str, locale: str, now: dt.datetime) -> tuple[dt.datetime | None, bool, bool]:
    """(moment, has a time of day, resolver available) for ``text``; the moment is None if not understood."""
    try:
        from edge.skills.resolve import resolve_datetime
    except Exception as exc:
        log.warning("calendar: edge.skills.resolve unavailable (%s); only ISO times understood", exc)
        try:
            moment = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            return None, False, False
        return (moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)), True, False
    found = resolve_datetime(text, locale, now)
    if not found:
        return None, False, True
    moment = getattr(found, "when", None) or getattr(found, "value", None)
    return moment, bool(getattr(found, "has_time", True)), True


class CalendarSkill:
    name = "calendar"
    intents = ("calendar_query", "calendar_remove", "calendar_set")
    honest: tuple[str, ...] = ()

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None:
        return None

    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome:
        store = ctx.services.get("store")
        if store is None:
            return outcome(ctx, self.name, "calendar.no_store")
        if parse.intent == "calendar_set":
            return self._set(store, parse, ctx)
        if parse.intent == "calendar_remove":
            return self._remove(store, parse, ctx)
        return self._query(store, parse, ctx)

    @staticmethod
    def _when_text(parse: Parse) -> str:
        return " ".join(s.value for s in parse.slots if s.type in _TIME_SLOTS and s.value.strip())

    @staticmethod
    def _fmt(ctx: SkillContext, moment: dt.datetime) -> str:
        return moment.strftime(ctx.say("calendar.when_format"))

    def _set(self, store: Any, parse: Parse, ctx: SkillContext) -> Outcome:
        title = slot(parse, "event_name") or ctx.say("calendar.default_title")
        when_text = self._when_text(parse)
        if not when_text:
            return self._ask(ctx, "calendar.ask_when", title=title)
        moment, has_time, resolver = resolve_when(when_text, ctx.locale, ctx.clock())
        if moment is None:
            return self._ask(ctx, "calendar.ask_exact" if not resolver else "calendar.ask_again", title=title)
        if not has_time:
            return self._ask(ctx, "calendar.ask_time", title=title)
        end = moment + dt.timedelta(hours=1)
        with store.transaction() as db:
            db.execute('INSERT INTO calendar_events (title, start, "end", created) VALUES (?, ?, ?, ?)',
                       (title, utc_iso(moment), utc_iso(end), utc_iso(ctx.clock())))
        return outcome(ctx, self.name, "calendar.added", title=title, when=self._fmt(ctx, moment),
                       state={"event": title, "start": utc_iso(moment)})

    def _ask(self, ctx: SkillContext, key: str, **values: object) -> Outcome:
        out = outcome(ctx, self.name, key, **values)
        out.need_slot = "time"
        return out

    def _events(self, store: Any, parse: Parse, ctx: SkillContext) -> tuple[list[Any], str | None]:
        """Matching events, and the day asked about (formatted) if the parse names one."""
        now = ctx.clock()
        title = slot(parse, "event_name")
        when_text = self._when_text(parse)
        if title:
            rows = store.query("SELECT id, title, start FROM calendar_events WHERE lower(title) LIKE ? "
                               "ORDER BY start", (f"%{title.lower()}%",))
            return list(rows), None
        if when_text:
            moment, _, _ = resolve_when(when_text, ctx.locale, now)
            if moment is not None:
                first = moment.replace(hour=0, minute=0, second=0, microsecond=0)
                last = first + dt.timedelta(days=1)
                rows = store.query("SELECT id, title, start FROM calendar_events WHERE start >= ? AND start < ? "
                                   "ORDER BY start", (utc_iso(first), utc_iso(last)))
                return list(rows), moment.strftime(ctx.say("calendar.day_format"))
        rows = store.query("SELECT id, title, start FROM calendar_events WHERE start >= ? ORDER BY start LIMIT 5",
                           (utc_iso(now),))
        return list(rows), None

    def _describe(self, ctx: SkillContext, row: Any) -> str:
        start = dt.datetime.fromisoformat(row[2]).astimezone(ctx.clock().tzinfo)
        return ctx.say("calendar.event", title=row[1], when=self._fmt(ctx, start))

    def _query(self, store: Any, parse: Parse, ctx: SkillContext) -> Outcome:
        rows, day = self._events(store, parse, ctx)
        if not rows:
            return outcome(ctx, self.name, "calendar.nothing_on" if day else "calendar.empty", day=day or "")
        events = ctx.say("calendar.separator").join(self._describe(ctx, r) for r in rows)
        return outcome(ctx, self.name, "calendar.events", count=len(rows), events=events,
                       state={"events": [r[1] for r in rows]})

    def _remove(self, store: Any, parse: Parse, ctx: SkillContext) -> Outcome:
        if not slot(parse, "event_name") and not self._when_text(parse):
            out = outcome(ctx, self.name, "calendar.which")
            out.need_slot = "event_name"
            return out
        rows, _ = self._events(store, parse, ctx)
        if not rows:
            return outcome(ctx, self.name, "calendar.not_found")
        row = rows[0]
        event_id, described = row[0], self._describe(ctx, row)

        def delete() -> Outcome:
            with store.transaction() as db:
                db.execute("DELETE FROM calendar_events WHERE id = ?", (event_id,))
            return outcome(ctx, self.name, "calendar.removed", event=described, state={"removed_event": event_id})

        out = outcome(ctx, self.name, "calendar.confirm_remove", event=described)
        out.confirm = delete
        return out
