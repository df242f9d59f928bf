"""The recogniser for ``--locale auto``: the profile's multilingual Whisper model, identifying each utterance's language
(see :mod:`edge.asr.langid`).

``edge transcribe --locale auto`` writes each utterance's locale and probability. ``edge run --locale auto`` (and the
TUI) assemble this engine with ``fallback_locale`` the configured locale (``auto`` alone: en-US; ``auto:de-DE``:
German until another language is heard); per turn the pipeline takes ``AsrResult.locale``, ``.language`` and
``.language_probability`` (:mod:`edge.pipeline.language`): the NLU parses in that locale, the skill answers in
it, the reply is spoken with its voice, and a ``language`` event says what was heard. One engine serves every turn
(base also decodes English in auto mode: no second model loaded).
"""

from __future__ import annotations

from typing import Any

from edge.asr.langid import DEFAULT_THRESHOLD
from edge.asr.whisper import AUTO, DEFAULT_MULTILINGUAL_MODEL, FasterWhisperEngine

__all__ = ["auto_fallback", "auto_model_for", "auto_unavailable", "default_locale", "load_auto_asr"]


def auto_fallback(locale: str) -> str | None:
    """For ``auto`` or ``auto:<locale>``, the locale used until a language is heard with confidence (en-US for
    plain ``auto``); None for any other locale (no language identification)."""
    tag = locale.strip()
    if tag.lower() == AUTO:
        return "en-US"
    if tag.lower().startswith(AUTO + ":") and tag[len(AUTO) + 1:].strip():
        return tag[len(AUTO) + 1:].strip()
    return None


def auto_model_for(profile: Any, manifest: Any = None) -> str:
    """The manifest id of the multilingual Whisper model: the profile's model for "*" when it is a multilingual
    faster-whisper model (one that serves more than one language), else Whisper base."""
    from edge.models import ModelError, load_manifest

    manifest = manifest or load_manifest()
    chosen = profile.asr.models.get("*")
    try:
        entry = manifest.get(chosen) if chosen and chosen != "none" else None
    except ModelError:
        entry = None
    if entry is not None and entry.engine == "faster-whisper" and len({loc[:2] for loc in entry.locales}) > 1:
        return entry.id
    return DEFAULT_MULTILINGUAL_MODEL


def default_locale(profile: Any, manifest: Any = None) -> tuple[str, str]:
    """The language of speech when a command names none: the profile's ``asr.locale``, where that is ``auto`` only
    if the profile can identify languages. Returns (locale, why ``auto`` could not be had: "" when it was not asked
    for or is available); the caller says the reason once."""
    wanted = profile.asr.locale
    if wanted != AUTO:
        return wanted, ""
    why = auto_unavailable(profile, manifest)
    return ("en-US", why) if why else (AUTO, "")


def auto_unavailable(profile: Any, manifest: Any = None) -> str:
    """Why the profile cannot identify languages by default ("" when it can): its model for "*" must be a multilingual
    faster-whisper model (the low-memory profile's "none" gives up speech in other languages) and installed."""
    from edge.models import ModelError, load_manifest, verify

    try:
        manifest = manifest or load_manifest()
        chosen = profile.asr.models.get("*")
        if not chosen or chosen == "none":
            return f"profile {profile.name} hears no language but those it names"
        entry = manifest.get(chosen)
        if entry.engine != "faster-whisper" or len({loc[:2] for loc in entry.locales}) < 2:
            return f"profile {profile.name}'s model for other languages, {chosen}, is not multilingual Whisper"
        status = verify(chosen, manifest)
        return "" if status.installed else f"{chosen} is not installed ({entry.install_hint()})"
    except ModelError as exc:
        return str(exc)


def load_auto_asr(profile: Any, fallback_locale: str = "en-US", threshold: float = DEFAULT_THRESHOLD
                  ) -> FasterWhisperEngine:
    """The engine for ``--locale auto``, its model verified against the manifest; raises AsrModelError
    (one line) when it cannot be loaded."""
    from edge.asr.base import AsrModelError
    from edge.models import ModelError, load_manifest, require

    try:
        manifest = load_manifest()
        model_id = auto_model_for(profile, manifest)
        path = require(model_id, manifest)
        return FasterWhisperEngine(path, locale=AUTO, model_id=model_id, threads=profile.asr.threads,
                                   beam_size=profile.asr.beam_size, fallback_locale=fallback_locale,
                                   language_threshold=threshold)
    except (ModelError, AsrModelError, ValueError) as exc:
        raise AsrModelError(f"--locale auto: {exc}") from None
