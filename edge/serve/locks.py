"""A lock for an engine shared by every client of the server, whose waiters go by priority."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["PriorityLock"]


class PriorityLock:
    """A lock whose waiters of a lower ``priority`` number go first: a reply's first sentence (0) before the
    rest of another reply (1), so a long answer to one room does not delay the start of another's."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._waiting = [0, 0]
        self.claims = 0  # replies this engine is speaking or about to (kept by whoever hands it out)

    @contextmanager
    def hold(self, priority: int = 0) -> Iterator[None]:
        with self._cond:
            self._waiting[priority] += 1
            while self._busy or any(self._waiting[p] for p in range(priority)):
                self._cond.wait()
            self._waiting[priority] -= 1
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
