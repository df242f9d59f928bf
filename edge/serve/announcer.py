"""Alarms, timers and reminders set through the server: the skills' scheduler fires them, and each is spoken
in the room that set it.

A turn's reply says what it scheduled (``alarm_id``, ``timer_id`` or ``reminder_id`` in its state); the
handler notes the room (the client's session key, ``satellite:<name>`` for a satellite) with
:meth:`Announcer.note`. When the scheduler fires the item, its announcement goes to every connection of
that room; if none of them is connected, to every satellite connected (an alarm rings somewhere rather
than nowhere); if no satellite is connected, it waits (up to ``keep_s``) for the first one to connect.
The room of each item is kept in the skills' store as well (its ``settings`` table, keys
``announce_room:<kind>:<id>``), so an alarm set in the kitchen still rings there after the server restarts; an
item set by a client that is not a satellite (Home Assistant), or when the store cannot be written, goes to
every satellite.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from edge.serve.stages import Stages
    from edge.skills.scheduler import DueItem, Scheduler

__all__ = ["ANY_ROOM", "Announcer", "Listener"]

log = logging.getLogger("edge.serve")
ANY_ROOM = ""  # an item whose room is not known: every satellite
_MAX_OWNERS = 10_000
_ID_KEYS = {"alarm_id": "alarm", "timer_id": "timer", "reminder_id": "reminder"}
_KEY = "announce_room:"  # settings key prefix: announce_room:<kind>:<id> -> [room, locale]


class Listener(Protocol):
    """A connection that can speak an announcement (called on the event loop; it must not block)."""

    def announce(self, text: str, locale: str) -> None: ...


class Announcer:
    """Runs the skills' scheduler for the server and routes what it fires to the rooms' connections."""

    def __init__(self, stages: Stages, keep_s: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.stages = stages
        self.keep_s = keep_s
        self.clock = clock
        self.scheduler: Scheduler | None = None
        self.delivered = 0
        self._owners: OrderedDict[tuple[str, int], tuple[str, str]] = OrderedDict()  # (kind, id) -> room, locale
        self._rooms: dict[str, set[Listener]] = {}
        self._pending: list[tuple[str, str, str, float]] = []  # room, text, locale, when
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._store: Any = None  # edge.skills.store.Store once started

    # --- life (start from a worker thread: it loads the skills) ----------------------------------------

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def start(self) -> None:
        """Start the scheduler; what came due while the server was off is reported to the first satellite."""
        from edge.skills.scheduler import Scheduler, missed_report
        from edge.skills.store import store_for

        context = getattr(self.stages.router(), "context", None)
        if context is None or self.scheduler is not None:
            return  # the basic router schedules nothing
        ctx = context(self.stages.default_locale)
        store = store_for(ctx.services, ctx.data_dir)
        self._restore(store)
        scheduler = Scheduler(store, ctx.clock, announce=self._fire)
        report = missed_report(scheduler.missed_on_start(), ctx.say, ctx.locale)
        if report:
            self.deliver(ANY_ROOM, report, ctx.locale)
        ctx.services["scheduler"] = scheduler
        scheduler.start()
        self.scheduler = scheduler

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None

    # --- who set what (any thread) ----------------------------------------------------------------------

    def note(self, room: str, locale: str, state: dict[str, Any]) -> None:
        """Remember the room of what a reply scheduled (its state's ``alarm_id``, ``timer_id``...)."""
        noted: list[tuple[str, int]] = []
        dropped: list[tuple[str, int]] = []
        with self._lock:
            for key, kind in _ID_KEYS.items():
                value = state.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    self._owners[(kind, value)] = (room, locale)
                    self._owners.move_to_end((kind, value))
                    noted.append((kind, value))
            while len(self._owners) > _MAX_OWNERS:
                dropped.append(self._owners.popitem(last=False)[0])
        if room != ANY_ROOM:
            self._save([(item, [room, locale]) for item in noted] + [(item, None) for item in dropped])

    # --- kept in the store (a failure keeps them in memory only) ---------------------------------------

    def _restore(self, store: Any) -> None:
        self._store = store
        try:
            rows = store.query("SELECT key, value FROM settings WHERE key LIKE ?", (_KEY + "%",))
        except Exception as exc:  # StoreError, sqlite3.Error: rooms start empty, as before
            log.warning("rooms of alarms and timers not read from the store (%s): they ring in every room", exc)
            return
        with self._lock:
            for row in rows:
                try:
                    kind, ident = row["key"][len(_KEY):].split(":")
                    room, locale = json.loads(row["value"])
                    self._owners[(kind, int(ident))] = (str(room), str(locale))
                except (ValueError, TypeError):
                    continue

    def _save(self, changes: list[tuple[tuple[str, int], list[str] | None]]) -> None:
        if self._store is None or not changes:
            return
        try:
            with self._store.transaction() as db:
                for (kind, ident), value in changes:
                    key = f"{_KEY}{kind}:{ident}"
                    if value is None:
                        db.execute("DELETE FROM settings WHERE key = ?", (key,))
                    else:
                        db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                                   (key, json.dumps(value)))
        except Exception as exc:  # StoreError, sqlite3.Error: the room is still known until a restart
            log.warning("room of an alarm or timer not saved (%s): after a restart it rings in every room", exc)

    def _fire(self, item: DueItem) -> None:
        """The scheduler's callback (its thread): the announcement, in the language it was set in, to its room."""
        from edge.skills.i18n import Templates
        from edge.skills.scheduler import announcement

        key = (item.kind, item.id)
        with self._lock:
            owner = self._owners.get(key) if item.recurrence else self._owners.pop(key, None)
        if owner is not None and not item.recurrence:
            self._save([(key, None)])
        room, locale = owner or (ANY_ROOM, self.stages.default_locale)
        self.deliver(room, announcement(item, Templates(locale).say, locale), locale)

    def deliver(self, room: str, text: str, locale: str) -> None:
        """Speak ``text`` in ``room`` (any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            with self._lock:
                self._pending.append((room, text, locale, self.clock()))
            return
        loop.call_soon_threadsafe(self._deliver, room, text, locale)

    # --- the rooms' connections (event loop) ------------------------------------------------------------

    def join(self, room: str, listener: Listener) -> None:
        """``listener`` is a connection of ``room``: it gets that room's announcements, and those waiting."""
        self._rooms.setdefault(room, set()).add(listener)
        now = self.clock()
        with self._lock:
            waiting = [p for p in self._pending if now - p[3] <= self.keep_s]  # older ones are dropped
            self._pending = []
        for _, text, locale, _ in waiting:
            listener.announce(text, locale)
            self.delivered += 1

    def leave(self, room: str, listener: Listener) -> None:
        listeners = self._rooms.get(room)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._rooms[room]

    def _deliver(self, room: str, text: str, locale: str) -> None:
        targets = set(self._rooms.get(room, ())) if room != ANY_ROOM else set()
        if not targets:
            targets = {listener for listeners in self._rooms.values() for listener in listeners}
            if targets and room != ANY_ROOM:
                log.info("announcement for %s, which is not connected: spoken by every satellite", room)
        if not targets:
            log.info("announcement for %s waits for a satellite: %r", room or "any room", text)
            with self._lock:
                self._pending.append((room, text, locale, self.clock()))
            return
        for listener in targets:
            listener.announce(text, locale)
            self.delivered += 1
