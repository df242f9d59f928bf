"""Small pieces the built-in skills share: replies from templates, slot look-up, persisted settings."""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from edge.locale_tags import language
from edge.nlu.runtime import Parse, Slot
from edge.skills.base import Outcome, SkillContext
from edge.skills.contract import Reply
from edge.skills.i18n import Templates

__all__ = ["Settings", "clean_text", "is_fragment", "lang", "outcome", "settings", "slot", "store_problem",
           "whole_word_slots", "words", "words_of"]

log = logging.getLogger(__name__)


def lang(locale: str) -> str:
    """``de-DE`` -> ``de``."""
    return language(locale)


def outcome(ctx: SkillContext, skill: str, key: str, *, expects_answer: bool = False, state: dict | None = None,
            **values: object) -> Outcome:
    """An :class:`Outcome` whose reply is the template ``key`` in the context's language."""
    text = ctx.say(key, **values)
    return Outcome(Reply(text, ctx.locale, skill, expects_answer=expects_answer), state=dict(state or {}))


Plan = tuple[Outcome, Callable[[], dict] | None]  # the reply, and the write that makes it true


def carry_out(plan: Plan, ctx: SkillContext, skill: str, failed_key: str) -> Outcome:
    """Run a planned write (committed before the reply confirms it); a failed save gets the reply that says why
    (:func:`store_problem`), else ``failed_key``'s."""
    from edge.skills.store import StoreError

    result, act = plan
    if act is None:
        return result
    try:
        result.state.update(act())
    except StoreError as exc:
        return store_problem(ctx, skill, exc, failed_key)
    return result


def store_problem(ctx: SkillContext, skill: str, exc: OSError, failed_key: str | None = None) -> Outcome:
    """The one-line reply for a store that could not be used: read-only, full, locked (``common.store_<kind>``),
    else ``failed_key`` (or ``common.store_unavailable``). Nothing is confirmed: the write did not happen."""
    kind = getattr(exc, "kind", "unavailable")
    folder = getattr(exc, "folder", None) or ctx.data_dir
    key = f"common.store_{kind}"
    if not ctx_has(ctx, key) or (kind == "unavailable" and failed_key):
        key = failed_key or "common.store_unavailable"
    result = outcome(ctx, skill, key, folder=str(folder), state={"saved": False, "store_error": kind})
    result.reply = replace(result.reply, data={**result.reply.data, "error": str(exc)})
    return result


def ctx_has(ctx: SkillContext, key: str) -> bool:
    """Whether the context's language (or English) has the reply template ``key``."""
    return Templates(ctx.locale).has(key)


def slot(parse: Parse, *types: str) -> str | None:
    """The value of the first slot of one of ``types`` (in the order given), or None. Spans of that type that
    follow it with only spaces between are part of it: the model may tag one value in pieces ("take out the"
    + "trash" for "take out the trash")."""
    for t in types:
        spans = sorted((s for s in parse.slots if s.type == t and s.value.strip()), key=lambda s: s.start)
        if spans:
            return _joined(parse.text, spans).strip()
    return None


def _joined(text: str, spans: list[Slot]) -> str:
    def placed(s: Slot) -> bool:  # offsets into this text (slots moved from another utterance have -1)
        return 0 <= s.start < s.end <= len(text) and text[s.start:s.end] == s.value

    first = spans[0]
    if not placed(first):
        return first.value
    end = first.end
    for s in spans[1:]:
        if not placed(s) or s.start < end or text[end:s.start].strip():
            break
        end = s.end
    return text[first.start:end]


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_" or unicodedata.category(ch).startswith("M")


def is_fragment(found: Slot, text: str, locale: str = "en") -> bool:
    """True when the slot ``found`` cuts a word of ``text`` apart ("item4859" -> "859"), so it is no name at all.

    Slots without offsets (answers, carried-over slots: ``start`` < 0) and languages written without spaces
    are taken as they are; a slot whose offsets do not match the text must consist of words of the text."""
    from edge.skills.timewords import NO_SPACES

    if found.start < 0 or lang(locale) in NO_SPACES or not found.value.strip():
        return False
    span = text[found.start: found.end] if found.end <= len(text) else ""
    if span.strip().casefold() != found.value.strip().casefold():
        return not set(words(found.value)) <= set(words(text))
    before = text[found.start - 1] if found.start > 0 else " "
    after = text[found.end] if found.end < len(text) else " "
    return (_word_char(before) and _word_char(span[0])) or (_word_char(after) and _word_char(span[-1]))


def whole_word_slots(parse: Parse, locale: str = "en") -> Parse:
    """``parse`` without the slots that cut words apart (see :func:`is_fragment`)."""
    kept = [s for s in parse.slots if not is_fragment(s, parse.text, locale)]
    if len(kept) == len(parse.slots):
        return parse
    log.info("skills: ignoring slots that cut words apart: %s", [s.value for s in parse.slots if s not in kept])
    return replace(parse, slots=kept)


_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|.?)"
                      r"|\x9b[0-?]*[ -/]*[@-~]")
_BIDI = {0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def clean_text(text: str) -> str:
    """``text`` without terminal escape sequences, control characters or bidi overrides, spaces collapsed: what
    may be stored and echoed (typed text like "ESC c" would otherwise reset the terminal that reads it out)."""
    text = _ESCAPES.sub("", text)
    text = "".join(" " if ch in "\t\n\r\v\f" else ch for ch in text
                   if ch in "\t\n\r\v\f" or (unicodedata.category(ch) != "Cc" and ord(ch) not in _BIDI))
    return " ".join(text.split())


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
