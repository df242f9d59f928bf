"""Alarms, timers and reminders set through the server: the skills' scheduler fires them, and each is spoken
in the room that set it.

A turn's reply says what it scheduled (``alarm_id``, ``timer_id`` or ``reminder_id`` in its state); the
handler notes the room (the client's session key, ``satellite:<name>`` for a satellite) with
:meth:`Announcer.note`. When the scheduler fires the item, its announcement goes to every connection of
that room; if none of them is connected, to every satellite connected (an alarm rings somewhere rather
than nowhere); if no satellite is connected, it waits (up to ``keep_s``) for the first one to connect.
Rooms are kept in memory: an item set before the server restarted, or by a client that is not a satellite
(Home Assistant), goes to every satellite.
"""

from __future__ import annotations

import asyncio
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
        scheduler = Scheduler(store_for(ctx.services, ctx.data_dir), ctx.clock, announce=self._fire)
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
        with self._lock:
            for key, kind in _ID_KEYS.items():
                value = state.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    self._owners[(kind, value)] = (room, locale)
                    self._owners.move_to_end((kind, value))
            while len(self._owners) > _MAX_OWNERS:
                self._owners.popitem(last=False)

    def _fire(self, item: DueItem) -> None:
        """The scheduler's callback (its thread): the announcement, in the language it was set in, to its room."""
        from edge.skills.i18n import Templates
        from edge.skills.scheduler import announcement

        key = (item.kind, item.id)
        with self._lock:
            owner = self._owners.get(key) if item.recurrence else self._owners.pop(key, None)
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
