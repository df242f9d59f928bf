"""Custom intents from a TOML file: a few examples each, slots marked inline as MASSIVE does.

::

    [[intent]]
    name = "order_coffee"                 # lower case, digits, "_"; not one of the model's intents
    locale = "en-US"                      # the examples' language (default en-US)
    reply = "One {beverage} coming up."   # the reply; {slot} is the slot's value, "" when absent
    examples = [                          # 5 to 20
        "make me an [beverage : americano]",
        "i'd like a [beverage : flat white] please",
        ...
    ]

Instead of (or with) ``reply``: ``skill = "iot_coffee"`` hands the parse to the skill of that intent
(its slots renamed with ``[intent.slot_map]``, e.g. ``beverage = "coffee_type"``), or
``command = ["notify-send", "{beverage}"]`` runs a program (no shell; its arguments are templates) when
loaded with ``edge learn intents FILE --allow-commands``, which is the user's whitelisting of it.

Errors are one line each: ``FILE: intent 2 ("order_coffee"): needs 5 to 20 examples, has 3``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.errors import EdgeError

__all__ = ["CustomIntent", "IntentsFileError", "MAX_EXAMPLES", "MIN_EXAMPLES", "load_intents_file", "parse_example"]

MIN_EXAMPLES, MAX_EXAMPLES = 5, 20
_SLOT = re.compile(r"\[\s*([^\[\]:]+?)\s*:\s*([^\[\]]*?)\s*\]")
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
_KEYS = {"name", "locale", "reply", "skill", "command", "examples", "slot_map"}


class IntentsFileError(EdgeError, ValueError):
    """The intents file is missing or invalid; the message (one line) says where and what to do."""


@dataclass(frozen=True)
class CustomIntent:
    name: str
    locale: str
    examples: list[tuple[str, list[dict[str, Any]]]]  # (text, slots with type, value, start, end)
    reply: str | None = None
    skill: str | None = None
    command: list[str] | None = None
    slot_map: dict[str, str] = field(default_factory=dict)

    def spec(self, allow_commands: bool = False) -> dict[str, Any]:
        """What the learner keeps: the action, the slot types and the values seen in the examples."""
        values: dict[str, list[str]] = {}
        for _, slots in self.examples:
            for s in slots:
                values.setdefault(s["type"], [])
                if s["value"] not in values[s["type"]]:
                    values[s["type"]].append(s["value"])
        return {"name": self.name, "locale": self.locale, "reply": self.reply, "skill": self.skill,
                "command": self.command if allow_commands else None, "slot_map": self.slot_map,
                "slot_types": sorted(values), "values": values}


def parse_example(annotated: str) -> tuple[str, list[dict[str, Any]]]:
    """``"make me an [beverage : americano]"`` -> ("make me an americano", [{type, value, start, end}])."""
    text, slots, pos = "", [], 0
    for m in _SLOT.finditer(annotated):
        text += annotated[pos: m.start()]
        value = m.group(2)
        slots.append({"type": m.group(1).strip(), "value": value, "start": len(text), "end": len(text) + len(value)})
        text += value
        pos = m.end()
    text += annotated[pos:]
    if "[" in text or "]" in text:
        raise ValueError(f"unbalanced or malformed slot mark in {annotated!r} (write [type : value])")
    return text, slots


def _intent(raw: Any, where: str, known: set[str]) -> CustomIntent:
    if not isinstance(raw, dict):
        raise IntentsFileError(f"{where}: must be a table ([[intent]])")
    unknown = set(raw) - _KEYS
    if unknown:
        raise IntentsFileError(f"{where}: unknown key {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(_KEYS))})")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise IntentsFileError(f"{where}: name must be lower-case letters, digits and '_' (got {name!r})")
    where = f'{where} ("{name}")'
    if name in known:
        raise IntentsFileError(f"{where}: is one of the model's intents; pick another name")
    examples = raw.get("examples")
    if not isinstance(examples, list) or not all(isinstance(e, str) and e.strip() for e in examples):
        raise IntentsFileError(f"{where}: examples must be a list of non-empty strings")
    if not MIN_EXAMPLES <= len(examples) <= MAX_EXAMPLES:
        raise IntentsFileError(f"{where}: needs {MIN_EXAMPLES} to {MAX_EXAMPLES} examples, has {len(examples)}")
    parsed = []
    for n, e in enumerate(examples, 1):
        try:
            parsed.append(parse_example(e))
        except ValueError as exc:
            raise IntentsFileError(f"{where}: example {n}: {exc}") from None
    reply, skill, command = raw.get("reply"), raw.get("skill"), raw.get("command")
    if reply is None and skill is None and command is None:
        raise IntentsFileError(f"{where}: says nothing to do: add reply = \"...\", skill = \"<intent>\" or command")
    if reply is not None and (not isinstance(reply, str) or not reply.strip()):
        raise IntentsFileError(f"{where}: reply must be a non-empty string")
    if skill is not None and (not isinstance(skill, str) or skill not in known):
        raise IntentsFileError(f"{where}: skill must name one of the model's intents (e.g. \"iot_coffee\"), "
                               f"got {skill!r}")
    if command is not None and (not isinstance(command, list) or not command
                                or not all(isinstance(c, str) and c for c in command)):
        raise IntentsFileError(f"{where}: command must be a list of strings, program first (no shell)")
    slot_map = raw.get("slot_map", {})
    if not isinstance(slot_map, dict) or not all(isinstance(v, str) for v in slot_map.values()):
        raise IntentsFileError(f"{where}: slot_map must map slot names to the skill's slot types")
    locale = raw.get("locale", "en-US")
    if not isinstance(locale, str) or not locale.strip():
        raise IntentsFileError(f"{where}: locale must be a language tag such as \"en-US\"")
    return CustomIntent(name, locale, parsed, reply, skill, command, dict(slot_map))


def load_intents_file(path: Path | str, known_intents: set[str] | None = None) -> list[CustomIntent]:
    """Read and validate ``path``; raises :class:`IntentsFileError` with one line saying what is wrong."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IntentsFileError(f"{path}: no such file (give the path of a TOML intents file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise IntentsFileError(f"{path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise IntentsFileError(f"{path}: not valid TOML ({exc})") from None
    intents = data.get("intent")
    extra = set(data) - {"intent"}
    if extra:
        raise IntentsFileError(f"{path}: unknown top-level key {sorted(extra)[0]!r}; define intents as [[intent]]")
    if not isinstance(intents, list) or not intents:
        raise IntentsFileError(f"{path}: no intents: define at least one [[intent]] table")
    known = set(known_intents or ())
    out: list[CustomIntent] = []
    for n, raw in enumerate(intents, 1):
        intent = _intent(raw, f"{path}: intent {n}", known)
        if any(i.name == intent.name for i in out):
            raise IntentsFileError(f"{path}: intent {n}: name {intent.name!r} is defined twice")
        out.append(intent)
    return out
