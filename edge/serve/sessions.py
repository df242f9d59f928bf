"""Dialogue sessions by key: one per connection, or per ``conversation_id`` / satellite name the client sends.

Home Assistant opens a new connection for every turn and carries the conversation in
``context.conversation_id``; a satellite names itself. Either key keeps "set an alarm" / "for what time?"
together across connections. Sessions not used for ``ttl_s`` are forgotten, and at most ``max_sessions``
are kept (least recently used first out).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["SessionStore", "session_key"]

_MAX_KEY = 128


def session_key(data: dict[str, Any], fallback: str) -> str:
    """The client's conversation or satellite id from an event's data, else ``fallback`` (the connection)."""
    context = data.get("context")
    for source in (context if isinstance(context, dict) else {}, data):
        for name in ("conversation_id", "satellite", "session"):
            value = source.get(name)
            if isinstance(value, str) and value.strip():
                return f"{name}:{value.strip()[:_MAX_KEY]}"
    return fallback


class SessionStore:
    """Thread-safe map of key -> dialogue session, created on first use."""

    def __init__(self, factory: Callable[[], Any], ttl_s: float = 600.0, max_sessions: int = 1000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._factory = factory
        self._ttl = ttl_s
        self._max = max_sessions
        self._clock = clock
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[Any, float]] = OrderedDict()

    def get(self, key: str) -> Any:
        now = self._clock()
        with self._lock:
            item = self._items.pop(key, None)
            if item is not None and now - item[1] > self._ttl:
                item = None  # expired: a new conversation
            while self._items:  # the least recently used first: drop what expired, and any over the cap
                oldest, (_, used) = next(iter(self._items.items()))
                if now - used <= self._ttl and len(self._items) < self._max:
                    break
                del self._items[oldest]
            session = item[0] if item is not None else self._factory()
            self._items[key] = (session, now)
            return session

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)
