"""Due alarms, timers and reminders: found in the store, marked fired, announced.

:meth:`Scheduler.due_now` takes everything whose time has come and marks it fired in one transaction
(one-shot alarms go inactive; recurring ones move to their next time). :meth:`Scheduler.missed_on_start`
does the same once at start-up and returns the items for "While I was off: ...". A background thread
(:meth:`start`/:meth:`stop`) calls :meth:`tick` every 0.5 s; tests call :meth:`tick` with a fake clock.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from edge.skills.store import Store, utc_iso
from edge.skills.timefmt import clock, join

__all__ = ["RECURRENCES", "DueItem", "Scheduler", "announcement", "missed_report", "next_occurrence"]

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RECURRENCES = ("daily", "weekdays", "weekends", *WEEKDAYS)


@dataclass(frozen=True)
class DueItem:
    """Something that came due: ``kind`` is "alarm", "timer" or "reminder"; ``due`` is aware local time."""

    kind: str
    id: int
    due: dt.datetime
    text: str | None = None
    recurrence: str | None = None


def _matches(day: dt.date, recurrence: str) -> bool:
    if recurrence == "daily":
        return True
    if recurrence == "weekdays":
        return day.weekday() < 5
    if recurrence == "weekends":
        return day.weekday() >= 5
    return recurrence in WEEKDAYS and day.weekday() == WEEKDAYS.index(recurrence)


def next_occurrence(at: dt.datetime, recurrence: str, after: dt.datetime) -> dt.datetime:
    """The first time after ``after`` with ``at``'s local clock time on a day ``recurrence`` allows."""
    tz = after.tzinfo
    local = at.astimezone(tz)
    day = after.astimezone(tz).date()
    for offset in range(0, 8):
        candidate = dt.datetime.combine(day + dt.timedelta(days=offset), local.timetz().replace(tzinfo=None),
                                        tzinfo=tz)
        if candidate > after and _matches(candidate.date(), recurrence):
            return candidate
    raise ValueError(f"unknown recurrence {recurrence!r} (expected one of {', '.join(RECURRENCES)})")


class Scheduler:
    """Finds and fires due items. ``announce(item)`` is called for each item a tick fires."""

    def __init__(self, store: Store, clock: Callable[[], dt.datetime],
                 announce: Callable[[DueItem], None] = lambda item: None, interval: float = 0.5) -> None:
        self.store = store
        self.clock = clock
        self.announce = announce
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def due_now(self) -> list[DueItem]:
        """Items whose time has come, marked fired (recurring alarms rescheduled) in one transaction."""
        if not getattr(self.store, "available", True):
            return []  # an unusable store holds nothing to fire (it said why when it was opened)
        now = self.clock()
        now_iso = utc_iso(now)
        items: list[DueItem] = []
        with self.store.transaction() as db:
            for row in db.execute("SELECT id, at, label, recurrence FROM alarms WHERE active = 1 AND at <= ? "
                                  "ORDER BY at", (now_iso,)).fetchall():
                at = dt.datetime.fromisoformat(row["at"])
                items.append(DueItem("alarm", row["id"], at.astimezone(now.tzinfo), row["label"], row["recurrence"]))
                if row["recurrence"]:
                    following = next_occurrence(at, row["recurrence"], now)
                    db.execute("UPDATE alarms SET at = ? WHERE id = ?", (utc_iso(following), row["id"]))
                else:
                    db.execute("UPDATE alarms SET active = 0 WHERE id = ?", (row["id"],))
            for row in db.execute("SELECT id, kind, due, text FROM timers WHERE state = 'pending' AND due <= ? "
                                  "ORDER BY due", (now_iso,)).fetchall():
                due = dt.datetime.fromisoformat(row["due"]).astimezone(now.tzinfo)
                items.append(DueItem(row["kind"], row["id"], due, row["text"]))
                db.execute("UPDATE timers SET state = 'fired', fired_at = ? WHERE id = ?", (now_iso, row["id"]))
        items.sort(key=lambda item: item.due)
        return items

    def missed_on_start(self) -> list[DueItem]:
        """What came due while the assistant was off (call once, before :meth:`start`); marked fired."""
        return self.due_now()

    def tick(self) -> list[DueItem]:
        """Fire what is due now: announce each item, return them."""
        items = self.due_now()
        for item in items:
            try:
                self.announce(item)
            except Exception:  # an announcement failing must not stop the scheduler
                log.exception("scheduler: announcing %s failed", item)
        return items

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # a store error now must not kill the thread; try again next tick
                log.exception("scheduler: tick failed")

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="edge-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def announcement(item: DueItem, say: Callable[..., str], locale: str) -> str:
    """What to say when ``item`` fires, in ``say``'s language."""
    time = clock(item.due, locale)
    if item.kind == "alarm":
        return say("alarms.fired_label", time=time, label=item.text) if item.text else say("alarms.fired", time=time)
    if item.kind == "timer":
        return say("timers.fired", text=item.text or "")
    return say("timers.reminder_fired", text=item.text) if item.text else say("timers.reminder_fired_plain")


def missed_report(items: list[DueItem], say: Callable[..., str], locale: str) -> str | None:
    """"While I was off: your alarm for 7 AM and a timer that ended at 7:10 AM." (None if nothing was missed)."""
    if not items:
        return None
    parts = []
    for item in items:
        time = clock(item.due, locale)
        if item.kind == "alarm":
            parts.append(say("alarms.missed_alarm", time=time))
        elif item.kind == "timer":
            parts.append(say("timers.missed_timer", time=time))
        else:
            parts.append(say("timers.missed_reminder", time=time, text=item.text or say("timers.reminder_default")))
    return say("alarms.missed", items=join(parts, say))
