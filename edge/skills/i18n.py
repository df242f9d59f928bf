"""Reply templates per language: ``templates/<lang>/<group>.toml``, keys ``<group>.<name>``.

Adding a language is a data-only change: copy ``templates/en/`` to ``templates/<lang>/`` and translate.
A key missing in a language falls back to English (and is reported by :func:`missing_keys`, which the
tests use to keep the shipped languages complete). Values are ``str.format`` templates.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

__all__ = ["TEMPLATE_DIR", "Templates", "languages", "missing_keys", "say"]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
FALLBACK = "en"


def _lang(locale: str) -> str:
    return (locale or FALLBACK).replace("_", "-").split("-")[0].lower()


def languages() -> list[str]:
    """Languages that have a template folder."""
    return sorted(p.name for p in TEMPLATE_DIR.iterdir() if p.is_dir())


@lru_cache(maxsize=64)
def _load(lang: str) -> dict[str, str]:
    table: dict[str, str] = {}
    folder = TEMPLATE_DIR / lang
    if not folder.is_dir():
        return table
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for key, value in data.items():
            if isinstance(value, str):
                table[f"{path.stem}.{key}"] = value
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
        return template.format(**values)


def say(locale: str, key: str, **values: object) -> str:
    return Templates(locale).say(key, **values)


def missing_keys(lang: str) -> list[str]:
    """English keys that ``lang`` does not translate."""
    return sorted(set(_load(FALLBACK)) - set(_load(lang)))
