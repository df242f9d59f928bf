"""lists_*: named lists (shopping, to-do...) in the SQLite store: add, read out, remove items or whole lists.

The list is the ``list_name`` slot, else a name said in the words (:func:`name_in_words`: "my to-do list",
"a list called books"). The item is the ``item`` slot if the dialogue filled one, else the utterance without
the list name and without the language's filler words (``lists.filler_words``: "add", "to", "my",
"list"...). Deleting a whole list asks for confirmation first.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from edge.nlu.runtime import Parse, Slot
from edge.skills.base import Outcome, SkillContext
from edge.skills.helpers import clean_text, outcome, slot, whole_word_slots, words, words_of
from edge.skills.store import utc_iso
from edge.skills.timefmt import join

__all__ = ["ListsSkill", "list_item_text", "list_items", "list_name", "name_in_words"]

READ_OUT_MAX = 10  # items read out at most; a longer list is summarised ("You have 9,243 items; the first ten...")


def _grouped(number: int, locale: str) -> str:
    """``number`` with the locale's digit grouping ("9,243", "9.243")."""
    from babel import UnknownLocaleError
    from babel.numbers import format_decimal

    try:
        return str(format_decimal(number, locale=locale.replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        return str(number)


def list_name(value: str | None, locale: str) -> str | None:
    """A spoken list name without articles and the word "list": "my shopping list" -> "shopping"."""
    if not value:
        return None
    drop = words_of(locale, "lists.name_words") | words_of("en", "lists.name_words")
    kept = [w for w in words(clean_text(value)) if w not in drop]
    return " ".join(kept) or None


def name_in_words(text: str, locale: str) -> tuple[str, list[str]] | None:
    """A list name said in ``text`` when the NLU tagged none: the words after "called"/"named", else those just
    before the word "list" back to a boundary word ("add milk to my to do list" -> "to do"). Returns the name
    and the words of the text without it (and without "called ..."), or None (languages without the
    ``lists.list_word`` template, or no such phrase)."""
    said = words(text)
    called = words_of(locale, "lists.called_words")
    for i, w in enumerate(said):
        if w in called and i + 1 < len(said):
            return " ".join(said[i + 1 :]), said[:i]
    marker = words_of(locale, "lists.list_word")
    stop = words_of(locale, "lists.boundary_words")
    for i, w in enumerate(said):
        if w in marker and i > 0:
            j = i
            while j > 0 and said[j - 1] not in stop and i - j < 4:
                j -= 1
            if j < i:
                return " ".join(said[j:i]), said[:j] + said[i + 1 :]
    return None


def list_item_text(parse: Parse, locale: str) -> str | None:
    """The item of an add/remove request: the ``item`` slot, else the text minus list name and filler words."""
    given = slot(parse, "item")
    if given:
        return clean_text(given) or None
    text = parse.text
    if not any(s.type == "list_name" for s in parse.slots):
        found = name_in_words(text, locale)
        if found is not None:
            text = " ".join(found[1])
    for s in sorted(parse.slots, key=lambda s: -s.start):
        if s.type == "list_name" and 0 <= s.start < s.end <= len(text):
            text = text[: s.start] + " " + text[s.end:]
        elif s.type == "list_name":
            text = text.replace(s.value, " ")
    drop = words_of(locale, "lists.filler_words") | words_of("en", "lists.filler_words") \
        | words_of(locale, "lists.name_words") | words_of("en", "lists.name_words")
    kept = [w for w in words(clean_text(text)) if w not in drop]
    return " ".join(kept) or None


def list_items(parse: Parse, locale: str, and_word: str) -> list[str]:
    """The items of an add/remove request, split at commas and the language's ``and_word`` (a word between
    spaces only: Japanese "と" is also inside words): "add eggs and bread" -> ["eggs", "bread"]. The ``item``
    slot the dialogue filled is one item. Each is :func:`list_item_text` of its part."""
    if slot(parse, "item"):
        item = list_item_text(parse, locale)
        return [item] if item else []
    whole = list_item_text(parse, locale)
    if whole is None:
        return []
    word = and_word.strip().lower()
    pattern = r"\s*[,、，]\s*" + (rf"|\s+{re.escape(word)}\s+" if word and and_word.startswith(" ") else "")
    spans = [(m.start(), m.end()) for m in re.finditer(pattern, parse.text, flags=re.IGNORECASE)]
    if not spans:
        return [whole]
    edges = [0, *[e for span in spans for e in span], len(parse.text)]
    parts = [replace(parse, text=parse.text[a:b], slots=_slots_within(parse, a, b))
             for a, b in zip(edges[::2], edges[1::2], strict=True)]
    items = [list_item_text(part, locale) for part in parts]
    return [i for i in items if i] or [whole]


def _slots_within(parse: Parse, start: int, end: int) -> list[Slot]:
    return [replace(s, start=s.start - start, end=s.end - start) for s in parse.slots
            if s.start >= start and s.end <= end]


class ListsSkill:
    name = "lists"
    intents = ("lists_createoradd", "lists_query", "lists_remove")
    honest: tuple[str, ...] = ()

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None:
        if parse.intent == "lists_query" and ctx.services.get("store") is not None:
            return self.handle(parse, ctx)  # reading does not change anything
        return None

    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome:
        store = ctx.services.get("store")
        if store is None:
            return outcome(ctx, self.name, "lists.no_store")
        parse = whole_word_slots(parse, ctx.locale)  # "item4859" tagged as "item4" + "859": neither is a name
        name = list_name(slot(parse, "list_name"), ctx.locale)
        if name is None:
            found = name_in_words(parse.text, ctx.locale)
            name = list_name(found[0], ctx.locale) if found else None
        if parse.intent == "lists_query":
            return self._query(store, name, ctx)
        items = list_items(parse, ctx.locale, ctx.say("datetime.and"))
        if parse.intent == "lists_remove":
            if len(items) > 1 and name is not None:
                return self._remove_many(store, name, items, ctx)
            return self._remove(store, name, items[0] if items else None, ctx)
        return self._add(store, name, items, ctx)

    @staticmethod
    def _list_id(store: Any, name: str) -> int | None:
        rows = store.query("SELECT id FROM lists WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else None

    def _add(self, store: Any, name: str | None, items: list[str], ctx: SkillContext) -> Outcome:
        item = join(items, ctx.say) if items else None
        if name is None:
            out = outcome(ctx, self.name, "lists.which_list_add" if item else "lists.which_list", item=item or "")
            out.need_slot = "list_name"
            return out
        now = utc_iso(ctx.clock())
        with store.transaction() as db:  # one transaction: a process adding beside this one cannot interleave
            created = db.execute("INSERT INTO lists (name, created) VALUES (?, ?) ON CONFLICT DO NOTHING",
                                 (name, now)).rowcount == 1
            list_id = db.execute("SELECT id FROM lists WHERE name = ?", (name,)).fetchone()[0]
            db.executemany("INSERT INTO list_items (list_id, text, created, done) VALUES (?, ?, ?, 0)",
                           [(list_id, i, now) for i in items])
        if item is None:
            key = "lists.created" if created else "lists.exists"
            return outcome(ctx, self.name, key, name=name, state={"list": name, "created": created})
        added: str | list[str] = items[0] if len(items) == 1 else items
        return outcome(ctx, self.name, "lists.added", item=item, name=name,
                       state={"list": name, "added": added, "created": created})

    def _remove_many(self, store: Any, name: str, items: list[str], ctx: SkillContext) -> Outcome:
        """"remove eggs and bread": each item that is on the list, in one transaction."""
        list_id = self._list_id(store, name)
        if list_id is None:
            return outcome(ctx, self.name, "lists.missing", name=name)
        removed: list[str] = []
        with store.transaction() as db:
            for item in items:
                row = db.execute("SELECT id, text FROM list_items WHERE list_id = ? AND lower(text) LIKE ? "
                                 "ORDER BY id", (list_id, f"%{item.lower()}%")).fetchone()
                if row is not None:
                    db.execute("DELETE FROM list_items WHERE id = ?", (row[0],))
                    removed.append(row[1])
        if not removed:
            return outcome(ctx, self.name, "lists.not_on_list", item=join(items, ctx.say), name=name)
        return outcome(ctx, self.name, "lists.removed", item=join(removed, ctx.say), name=name,
                       state={"list": name, "removed": removed})

    def _query(self, store: Any, name: str | None, ctx: SkillContext) -> Outcome:
        sep = ctx.say("lists.separator")
        if name is None:
            names = [r[0] for r in store.query("SELECT name FROM lists ORDER BY name", ())]
            if not names:
                return outcome(ctx, self.name, "lists.no_lists")
            return outcome(ctx, self.name, "lists.all", names=sep.join(names), state={"lists": names})
        list_id = self._list_id(store, name)
        if list_id is None:
            return outcome(ctx, self.name, "lists.missing", name=name)
        count = store.query("SELECT count(*) FROM list_items WHERE list_id = ? AND done = 0", (list_id,))[0][0]
        items = [r[0] for r in store.query("SELECT text FROM list_items WHERE list_id = ? AND done = 0 ORDER BY id "
                                           "LIMIT ?", (list_id, READ_OUT_MAX))]
        if not items:
            return outcome(ctx, self.name, "lists.empty", name=name, state={"items": []})
        if count <= READ_OUT_MAX:
            return outcome(ctx, self.name, "lists.items", name=name, items=sep.join(items), count=count,
                           state={"items": items, "count": count})
        return outcome(ctx, self.name, "lists.items_long", name=name, items=sep.join(items),  # its size, then a few
                       count=_grouped(count, ctx.locale), shown=len(items), state={"items": items, "count": count})

    def _remove(self, store: Any, name: str | None, item: str | None, ctx: SkillContext) -> Outcome:
        if name is None:
            out = outcome(ctx, self.name, "lists.which_list")
            out.need_slot = "list_name"
            return out
        list_id = self._list_id(store, name)
        if list_id is None:
            return outcome(ctx, self.name, "lists.missing", name=name)
        if item is not None:
            rows = store.query("SELECT id, text FROM list_items WHERE list_id = ? AND lower(text) LIKE ? ORDER BY id",
                               (list_id, f"%{item.lower()}%"))
            if not rows:
                return outcome(ctx, self.name, "lists.not_on_list", item=item, name=name)
            with store.transaction() as db:
                db.execute("DELETE FROM list_items WHERE id = ?", (rows[0][0],))
            return outcome(ctx, self.name, "lists.removed", item=rows[0][1], name=name,
                           state={"list": name, "removed": rows[0][1]})

        def delete() -> Outcome:
            with store.transaction() as db:
                db.execute("DELETE FROM list_items WHERE list_id = ?", (list_id,))
                db.execute("DELETE FROM lists WHERE id = ?", (list_id,))
            return outcome(ctx, self.name, "lists.deleted", name=name, state={"deleted_list": name})

        out = outcome(ctx, self.name, "lists.confirm_delete", name=name)
        out.confirm = delete
        return out

