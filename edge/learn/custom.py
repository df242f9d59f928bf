"""Installing custom intents: the validated file's intents into ``learn.db`` and the exemplar memory."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence

from edge.learn.intents_file import CustomIntent
from edge.learn.learner import Learner
from edge.nlu.runtime import Parse

__all__ = ["install_intents", "remove_intents", "type_map"]


def type_map(intent: CustomIntent, parse_batch: Callable[[list[str]], list[Parse]]) -> dict[str, str]:
    """Which of the model's slot types tag this intent's slots in its own examples: {model type: custom type}.

    The model then finds values the examples never showed ("make me a cortado") with its own slot tagger,
    in any language, and they are renamed to the custom slot."""
    votes: dict[str, Counter[str]] = {}
    parses = parse_batch([text for text, _ in intent.examples])
    for (_, slots), parse in zip(intent.examples, parses, strict=True):
        for mine in slots:
            for found in parse.slots:
                if found.start < mine["end"] and mine["start"] < found.end:
                    votes.setdefault(found.type, Counter())[mine["type"]] += 1
    return {model: counts.most_common(1)[0][0] for model, counts in votes.items()}


def install_intents(learner: Learner, intents: Sequence[CustomIntent], source: str = "",
                    allow_commands: bool = False,
                    parse_batch: Callable[[list[str]], list[Parse]] | None = None) -> int:
    """Replace any earlier definition of these intents; returns the number of examples learned.
    ``parse_batch`` (the model's): maps the model's slot types onto the custom ones (:func:`type_map`)."""
    names = [i.name for i in intents]
    with learner.store.transaction() as db:
        for intent in intents:
            spec = intent.spec(allow_commands)
            spec["type_map"] = type_map(intent, parse_batch) if parse_batch is not None else {}
            db.execute("INSERT INTO custom_intents (name, spec, source, loaded) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, source = excluded.source, "
                       "loaded = excluded.loaded", (intent.name, json.dumps(spec, ensure_ascii=False), source,
                                                    time.time()))
    learner.memory.retire_kind("custom", names)
    rows = [(text, intent.locale, intent.name, slots) for intent in intents for text, slots in intent.examples]
    learner.memory.add_many("custom", rows, origin=f"custom intents file {source}".strip())
    learner.layer.custom = learner.load_custom()
    return len(rows)


def remove_intents(learner: Learner, names: Sequence[str]) -> None:
    with learner.store.transaction() as db:
        for name in names:
            db.execute("DELETE FROM custom_intents WHERE name = ?", (name,))
    learner.memory.retire_kind("custom", names)
    learner.layer.custom = learner.load_custom()
