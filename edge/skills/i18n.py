"""Reply templates per language: ``templates/<lang>/<group>.toml``, keys ``<group>.<name>``.

Adding a language is a data-only change: copy ``templates/en/`` to ``templates/<lang>/`` and translate.
A key missing in a language falls back to English (and is reported by :func:`missing_keys`, which the
tests use to keep the shipped languages complete). Values are ``str.format`` templates restricted to plain
names (``{item}``; no ``{x.attr}``, ``{x[0]}`` or positional fields: :func:`render`). A locale names a folder
only if its language is a BCP 47 primary tag (2-3 letters); anything else (``../../x``) gets English.

A reply that counts something is a table of CLDR plural categories, chosen by the ``count`` value with the
language's rules from Babel (French "1 élément" but "0 élément", English "0 items")::

    items = { one = "Votre liste {name} contient {count} élément : {items}.",
              other = "Votre liste {name} contient {count} éléments : {items}." }

``other`` is required; a category the table lacks ("many", "few") falls back to it.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["PLURAL_CATEGORIES", "TEMPLATE_DIR", "Templates", "languages", "missing_keys", "plural_category", "render",
           "render_fields", "say"]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
FALLBACK = "en"
_LANG_TAG = re.compile(r"[a-z]{2,3}")  # a BCP 47 primary language subtag: the only folder names a locale may pick


def _lang(locale: str) -> str:
    """The language of ``locale`` ("de-DE" -> "de"); English for anything that is not a language tag."""
    lang = (locale or FALLBACK).replace("_", "-").split("-")[0].lower()
    return lang if _LANG_TAG.fullmatch(lang) else FALLBACK


class _PlainFormatter(string.Formatter):
    """``str.format`` that looks up plain names only: no attributes, indexes or positional fields."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        if not field_name.isidentifier():
            raise ValueError(f"template field {{{field_name}}} is not a plain name")
        return self.get_value(field_name, args, kwargs), field_name


_FORMATTER = _PlainFormatter()


def render(template: str, /, **values: object) -> str:
    """``template.format(**values)`` for plain ``{name}`` fields only (ValueError for ``{x.__class__}``)."""
    return _FORMATTER.vformat(template, (), values)


PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
Template = str | dict[str, str]  # a plain template, or one per plural category


@lru_cache(maxsize=32)
def _plural_rule(lang: str) -> Any:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(lang).plural_form
    except (UnknownLocaleError, ValueError):
        return Locale.parse(FALLBACK).plural_form


def plural_category(lang: str, count: object) -> str:
    """The CLDR plural category of ``count`` in ``lang`` ("one", "few", "other"...); "other" for a non-number."""
    if isinstance(count, bool) or not isinstance(count, (int, float)):
        return "other"
    return str(_plural_rule(lang)(abs(count)))


def _plural_table(value: object) -> dict[str, str] | None:
    """A TOML table of plural forms, or None if ``value`` is not one (it must have ``other``)."""
    if not isinstance(value, dict) or "other" not in value:
        return None
    if not all(k in PLURAL_CATEGORIES and isinstance(v, str) for k, v in value.items()):
        return None
    return dict(value)


def render_fields(template: str) -> Iterator[str]:
    """The field names of ``template``, nested format specs included."""
    for _, name, spec, _ in string.Formatter().parse(template):
        if name is not None:
            yield name
        if spec:
            yield from render_fields(spec)


def languages() -> list[str]:
    """Languages that have a template folder."""
    return sorted(p.name for p in TEMPLATE_DIR.iterdir() if p.is_dir())


@lru_cache(maxsize=64)
def _load(lang: str) -> dict[str, Template]:
    table: dict[str, Template] = {}
    if not _LANG_TAG.fullmatch(lang):
        return table
    folder = TEMPLATE_DIR / lang
    if not folder.is_dir():
        return table
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for key, value in data.items():
            forms = value if isinstance(value, str) else _plural_table(value)
            if forms is not None:
                table[f"{path.stem}.{key}"] = forms
    return table


class Templates:
    """The templates of one locale, English underneath."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.lang = _lang(locale)
        self._own = _load(self.lang)
        self._fallback = _load(FALLBACK)

    def has(self, key: str) -> bool:
        return key in self._own or key in self._fallback

    def say(self, key: str, **values: object) -> str:
        template = self._own.get(key) or self._fallback.get(key)
        if template is None:
            raise KeyError(f"no reply template {key!r} (add it to {TEMPLATE_DIR / FALLBACK}/)")
        if isinstance(template, dict):
            lang = self.lang if key in self._own else FALLBACK
            template = template.get(plural_category(lang, values.get("count"))) or template["other"]
        return render(template, **values)


def say(locale: str, key: str, **values: object) -> str:
    return Templates(locale).say(key, **values)


def missing_keys(lang: str) -> list[str]:
    """English keys that ``lang`` does not translate."""
    return sorted(set(_load(FALLBACK)) - set(_load(lang)))
