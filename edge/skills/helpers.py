"""Small pieces the built-in skills share: replies from templates, slot look-up, persisted settings."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from edge.nlu.runtime import Parse
from edge.pipeline.replies import Reply
from edge.skills.base import Outcome, SkillContext
from edge.skills.i18n import Templates

__all__ = ["Settings", "lang", "outcome", "settings", "slot", "words", "words_of"]

log = logging.getLogger(__name__)


def lang(locale: str) -> str:
    """``de-DE`` -> ``de``."""
    return (locale or "en").replace("_", "-").split("-")[0].lower()


def outcome(ctx: SkillContext, skill: str, key: str, *, expects_answer: bool = False, state: dict | None = None,
            **values: object) -> Outcome:
    """An :class:`Outcome` whose reply is the template ``key`` in the context's language."""
    text = ctx.say(key, **values)
    return Outcome(Reply(text, ctx.locale, skill, expects_answer=expects_answer), state=dict(state or {}))


Plan = tuple[Outcome, Callable[[], dict] | None]  # the reply, and the write that makes it true


def carry_out(plan: Plan, ctx: SkillContext, skill: str, failed_key: str) -> Outcome:
    """Run a planned write (committed before the reply confirms it); a failed save gets ``failed_key``'s reply."""
    from edge.skills.store import StoreError

    result, act = plan
    if act is None:
        return result
    try:
        result.state.update(act())
    except StoreError:
        return outcome(ctx, skill, failed_key)
    return result


def slot(parse: Parse, *types: str) -> str | None:
    """The value of the first slot of one of ``types`` (in the order given), or None."""
    for t in types:
        for s in parse.slots:
            if s.type == t and s.value.strip():
                return s.value.strip()
    return None


def words(text: str) -> list[str]:
    """Lower-case words of ``text``: split at spaces and punctuation (combining marks stay in their word)."""
    return re.findall(r"[^\s.,!?;:¿¡。、，！？「」\"()\[\]{}…-]+", text.lower())


def words_of(locale: str, key: str) -> set[str]:
    """A template that lists words separated by ``|`` (e.g. ``dialogue.yes_words``), as a set of phrases."""
    templates = Templates(locale)
    if not templates.has(key):
        return set()
    return {w.strip().lower() for w in templates.say(key).split("|") if w.strip()}


class Settings:
    """Key/value settings that survive a restart: a ``settings`` table in the store, else memory."""

    _lock = threading.Lock()

    def __init__(self, store: Any | None) -> None:
        self.store = store
        self._memory: dict[str, Any] = {}
        self._ready = False

    def _table(self) -> bool:
        if self.store is None:
            return False
        if not self._ready:
            try:
                with self.store.transaction() as db:
                    db.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self._ready = True
            except Exception as exc:  # a broken store must not break volume or lights
                log.warning("settings: store unavailable, keeping settings in memory: %s", exc)
                self.store = None
                return False
        return True

    def get(self, key: str, default: Any = None) -> Any:
        if not self._table():
            return self._memory.get(key, default)
        rows = self.store.query("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set(self, key: str, value: Any) -> None:
        if not self._table():
            self._memory[key] = value
            return
        with self._lock, self.store.transaction() as db:
            db.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, json.dumps(value)))


def settings(ctx: SkillContext) -> Settings:
    """The context's settings (``services["settings"]``), created over ``services["store"]`` on first use."""
    found = ctx.services.get("settings")
    if not isinstance(found, Settings):
        found = Settings(ctx.services.get("store"))
        ctx.services["settings"] = found
    return found
