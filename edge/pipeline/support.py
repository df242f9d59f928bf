"""What each stage supports per MASSIVE locale under a profile, from the manifest and the engines' own
tables (`edge models --locales` prints it; the README's table is its output)."""

from __future__ import annotations

import warnings
from typing import Any

from edge.asr.languages import asr_quality_note
from edge.models import ModelError, load_manifest, verify
from edge.nlu.locales import MASSIVE_LOCALES

__all__ = ["locale_support", "support_markdown"]


def locale_support(profile: Any) -> list[dict[str, str]]:
    """One row per MASSIVE locale: the ASR model (or why none), NLU, the TTS voice."""
    from edge.pipeline.loader import PipelineError, asr_model_for
    from edge.tts import piper_voice_for
    from edge.tts.base import TtsError
    from edge.tts.espeak_engine import espeak_cannot_read, espeak_voice_for, espeak_voices

    manifest = load_manifest()
    try:
        voices: frozenset[str] | None = espeak_voices()
    except TtsError:
        voices = None
    rows = []
    for locale in MASSIVE_LOCALES:
        try:
            model = asr_model_for(profile, locale, manifest)
            installed = verify(model, manifest).installed
            asr = f"{manifest.get(model).engine}: {model}" + ("" if installed else " (not installed)")
            note = asr_quality_note(model, locale)
            asr += f" ({note})" if note else ""
        except (PipelineError, ModelError):
            asr = "none"
        piper = piper_voice_for(locale, manifest) if profile.tts.engine != "espeak-ng" else None
        chosen = manifest.entries.get(profile.tts_voice(locale) or "")
        # neural voices other than Piper (Kokoro Japanese): used where the profile names them, else offered
        others = [e.id for e in manifest.entries.values() if e.kind == "tts" and e.engine not in (None, "piper")
                  and locale in e.locales]
        if chosen is not None and chosen.kind == "tts" and chosen.engine not in (None, "piper"):
            tts = f"{chosen.engine}: {chosen.id}"
        elif piper is not None:
            tts = f"Piper: {piper.id}"
        elif voices is None:
            tts = "espeak-ng (not installed)"
        elif espeak_cannot_read(locale):
            tts = f"none: replies printed ({espeak_cannot_read(locale)})"
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                voice = espeak_voice_for(locale, voices)
            tts = f"espeak-ng: {voice}" + (" (closest voice)" if caught else "")
        if others and (chosen is None or chosen.id not in others):
            tts += f"; {', '.join(others)} if the profile names it ([tts] voices)"
        rows.append({"locale": locale, "asr": asr, "nlu": "student-int8", "tts": tts})
    return rows


def support_markdown(profile: Any) -> str:
    lines = ["| locale | speech recognition | intent + slots | speech synthesis |", "|---|---|---|---|"]
    for r in locale_support(profile):
        lines.append(f"| {r['locale']} | {r['asr']} | {r['nlu']} | {r['tts']} |")
    return "\n".join(lines) + "\n"
