"""The one table between MASSIVE locales and Whisper's language codes, and what is known of Whisper base's
quality per locale (measured here where real recordings exist, else from how little of the language Whisper
was trained on).

Every one of the 52 MASSIVE locales is a Whisper language; two use other codes (Javanese is ``jw``,
Norwegian Bokmål ``no``). A language Whisper identifies maps back to the MASSIVE locale of that language
(``zh`` to zh-CN, ``pt`` to pt-PT); :func:`locale_for_language` keeps a preferred locale of the same
language instead (a user set up for zh-TW stays zh-TW when Chinese is heard).
"""

from __future__ import annotations

from collections.abc import Iterable

from edge.nlu.locales import MASSIVE_LOCALES

__all__ = [
    "LOCALE_OF_LANGUAGE",
    "QUALITY_NOTES",
    "WHISPER_CODE",
    "asr_quality_note",
    "language_of",
    "locale_for_language",
    "quality_note",
    "whisper_locales",
]

# MASSIVE language -> Whisper language code, where they differ.
_WHISPER_ALIASES = {"jv": "jw", "nb": "no"}
# Whisper code -> MASSIVE locale for the languages with two MASSIVE locales.
_PREFERRED = {"zh": "zh-CN"}

WHISPER_CODE: dict[str, str] = {
    loc: _WHISPER_ALIASES.get(loc.split("-")[0], loc.split("-")[0]) for loc in MASSIVE_LOCALES
}
LOCALE_OF_LANGUAGE: dict[str, str] = {}
for _loc, _code in WHISPER_CODE.items():
    LOCALE_OF_LANGUAGE.setdefault(_code, _loc)
LOCALE_OF_LANGUAGE.update(_PREFERRED)

# Whisper base (74M) on Picovoice's real spoken commands (`edge bench asr --multilingual`; one or three clips a
# language, so a warning, not a rate), and the languages Whisper saw little of in training (the Whisper paper,
# appendix E: well under 100 hours of transcribed speech), where base is expected to write little that is usable.
_MEASURED = {
    "hi-IN": "poor: of a real Hindi command only the first word was written (measured)",
    "fa-IR": "poor: a real Persian command was mostly misheard (measured)",
    "ar-SA": "fair: the key word of a real Arabic command was misheard (measured)",
    "sv-SE": "fair: a real Swedish command was a near miss (measured)",
    "vi-VN": "fair: a real Vietnamese command was a near miss (measured)",
}
_LOW_RESOURCE = ("af", "am", "az", "bn", "cy", "hy", "is", "jv", "ka", "km", "kn", "ml", "mn", "my", "sq", "sw",
                 "ta", "te", "tl", "ur")
QUALITY_NOTES: dict[str, str] = {
    **{loc: "poor (expected): little training data in Whisper; not measured here"
       for loc in MASSIVE_LOCALES if loc.split("-")[0] in _LOW_RESOURCE},
    **_MEASURED,
}


def language_of(locale: str) -> str:
    """The Whisper language code of a locale tag ("de-DE" -> "de", "jv-ID" -> "jw", "en" -> "en")."""
    tag = locale.replace("_", "-")
    if tag in WHISPER_CODE:
        return WHISPER_CODE[tag]
    lang = tag.split("-")[0].lower()
    return _WHISPER_ALIASES.get(lang, lang)


def locale_for_language(language: str, prefer: Iterable[str | None] = ()) -> str | None:
    """The MASSIVE locale for a Whisper language code: the first of ``prefer`` (e.g. the last and the
    configured locale) that speaks it, else the table's; None for a language no MASSIVE locale has."""
    for loc in prefer:
        if loc and language_of(loc) == language:
            return loc
    return LOCALE_OF_LANGUAGE.get(language)


def whisper_locales() -> list[str]:
    """Every MASSIVE locale a multilingual Whisper model can transcribe (all 52)."""
    from edge.asr.whisper_import import import_faster_whisper

    import_faster_whisper()  # without PyAV
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return [loc for loc in MASSIVE_LOCALES if WHISPER_CODE[loc] in _LANGUAGE_CODES]


def quality_note(locale: str) -> str | None:
    """A warning about Whisper base's quality for ``locale``, or None where it is fine or unknown."""
    return QUALITY_NOTES.get(locale.replace("_", "-"))


def asr_quality_note(model_id: str, locale: str) -> str | None:
    """:func:`quality_note` where ``model_id`` is Whisper base (the model the notes were measured on)."""
    return quality_note(locale) if model_id == "whisper-base" else None
