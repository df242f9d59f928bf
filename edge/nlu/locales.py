"""The locales MASSIVE 1.1 covers (the 51 of 1.0 plus ca-ES), and tag matching."""

from __future__ import annotations

MASSIVE_LOCALES: tuple[str, ...] = (
    "af-ZA", "am-ET", "ar-SA", "az-AZ", "bn-BD", "ca-ES", "cy-GB", "da-DK", "de-DE", "el-GR",
    "en-US", "es-ES", "fa-IR", "fi-FI", "fr-FR", "he-IL", "hi-IN", "hu-HU", "hy-AM", "id-ID",
    "is-IS", "it-IT", "ja-JP", "jv-ID", "ka-GE", "km-KH", "kn-IN", "ko-KR", "lv-LV", "ml-IN",
    "mn-MN", "ms-MY", "my-MM", "nb-NO", "nl-NL", "pl-PL", "pt-PT", "ro-RO", "ru-RU", "sl-SL",
    "sq-AL", "sv-SE", "sw-KE", "ta-IN", "te-IN", "th-TH", "tl-PH", "tr-TR", "ur-PK", "vi-VN",
    "zh-CN", "zh-TW",
)
_LANGUAGES = {loc.split("-")[0] for loc in MASSIVE_LOCALES}


def is_known_locale(tag: str | None) -> bool:
    """True for a MASSIVE locale or its language ("de-AT" and "de" count as German)."""
    if not tag:
        return True
    return tag.replace("_", "-").split("-")[0].lower() in _LANGUAGES
