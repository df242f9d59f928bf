"""A connection's seat in a room: a satellite names itself, joins its room at the :class:`~edge.serve.announcer.
Announcer`, and speaks the announcements it is given (each in its own task, after any reply in progress)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from edge.serve.announcer import Announcer
from edge.serve.sessions import session_key
from edge.serve.speech_out import SpeechOut
from edge.serve.stages import StageError

__all__ = ["Seat"]

log = logging.getLogger("edge.serve")


class Seat:
    """The :class:`~edge.serve.announcer.Listener` of one connection."""

    def __init__(self, announcer: Announcer, out: SpeechOut, name: str) -> None:
        self.announcer = announcer
        self.out = out
        self.name = name  # for the log: "connection 3"
        self.room: str | None = None  # the satellite's session key, once it has named itself
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def join(self, data: dict[str, Any]) -> None:
        """Take the room a ``satellite`` event (``name``) or a ``run-pipeline`` (``satellite``) names."""
        name = data.get("name", data.get("satellite"))
        if not isinstance(name, str) or not name.strip():
            return
        room = session_key({"satellite": name}, "")
        if room != self.room:
            if self.room is not None:
                self.announcer.leave(self.room, self)
            self.room = room
            self.announcer.join(room, self)

    def close(self) -> None:
        self._closed = True
        if self.room is not None:
            self.announcer.leave(self.room, self)
        for task in list(self._tasks):
            task.cancel()

    def announce(self, text: str, locale: str) -> None:
        """Speak an alarm, timer or reminder that came due, between turns (called on the event loop)."""
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._announce(text, locale))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce(self, text: str, locale: str) -> None:
        try:
            log.info("%s: announcing %r", self.name, text)
            await self.out.announce(text, locale)
        except (StageError, ConnectionError, OSError) as exc:
            log.warning("%s: announcement %r not delivered (%s)", self.name, text, exc)
