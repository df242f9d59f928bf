"""What this machine can serve, found without loading a model: ASR models per locale, voices, wake models,
the locales the skills answer in; and :func:`locale_match`, which picks an offered locale for a client's tag."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.models import ModelError, load_manifest, verify
from edge.nlu.locales import MASSIVE_LOCALES

__all__ = ["AsrOffer", "Inventory", "VoiceOffer", "locale_match", "take_inventory"]


def _norm(tag: str) -> str:
    return tag.replace("_", "-").strip().lower()


def locale_match(asked: str | None, offered: list[str], default: str | None = None) -> str | None:
    """The offered locale for ``asked`` ("en", "en-us", "en_GB"): same tag, else same language; None if none.
    ``asked`` empty gives ``default``."""
    if not asked:
        return default
    tag = _norm(asked)
    for loc in offered:
        if _norm(loc) == tag:
            return loc
    lang = tag.split("-")[0]
    if default and _norm(default).split("-")[0] == lang:
        return default
    for loc in offered:
        if _norm(loc).split("-")[0] == lang:
            return loc
    return None


@dataclass
class AsrOffer:
    model_id: str
    engine: str
    locales: list[str]
    description: str


@dataclass
class VoiceOffer:
    name: str
    engine: str
    locales: list[str]
    description: str


@dataclass
class Inventory:
    """What this machine can serve, found without loading a model."""

    asr: list[AsrOffer] = field(default_factory=list)
    voices: list[VoiceOffer] = field(default_factory=list)
    wake: dict[str, Path] = field(default_factory=dict)  # phrase -> trained model file
    handle_locales: list[str] = field(default_factory=list)

    @property
    def asr_locales(self) -> list[str]:
        return [loc for offer in self.asr for loc in offer.locales]


def _template_languages() -> set[str]:
    folder = Path(__file__).resolve().parents[1] / "skills" / "templates"
    return {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else {"en"}


def _wake_models(profile: Any) -> dict[str, Path]:
    """Trained wake models: the profile's phrase (or model path) and every model in the default folder."""
    from edge.wake import WakeModelError, default_model_path, load_model

    found: dict[str, Path] = {}
    candidates: list[Path] = []
    phrase = getattr(getattr(profile, "dialogue", None), "wake_phrase", "none")
    try:
        folder = default_model_path("hey edge").parent
        if phrase and phrase != "none":
            candidates.append(Path(phrase) if phrase.endswith(".npz") else default_model_path(phrase))
        if folder.is_dir():
            candidates += sorted(folder.glob("*.npz"))
    except WakeModelError:
        return found
    for path in candidates:
        try:
            model = load_model(path)
        except WakeModelError:
            continue
        found.setdefault(model.phrase, path)
    return found


def take_inventory(profile: Any, locales: list[str] | None = None) -> Inventory:
    """What is installed: ASR models for the profile's locales, Piper and espeak-ng voices, wake models."""
    from edge.pipeline.loader import PipelineError, asr_model_for
    from edge.tts import piper_voice_for
    from edge.tts.base import TtsError
    from edge.tts.espeak_engine import espeak_voices

    manifest = load_manifest()
    wanted = locales or list(MASSIVE_LOCALES)
    inv = Inventory()
    by_model: dict[str, AsrOffer] = {}
    for locale in wanted:
        try:
            model_id = asr_model_for(profile, locale, manifest)
            if not verify(model_id, manifest).installed:
                continue
        except (PipelineError, ModelError):
            continue
        entry = manifest.get(model_id)
        offer = by_model.setdefault(model_id, AsrOffer(model_id, entry.engine or "", [], entry.description))
        # the model's own tags for this language (whisper-tiny-en: en-US, en-GB...), else the locale
        own = [loc for loc in entry.locales if _norm(loc).split("-")[0] == _norm(locale).split("-")[0]]
        for loc in own or [locale]:
            if loc not in offer.locales:
                offer.locales.append(loc)
    inv.asr = list(by_model.values())
    if profile.tts.engine != "espeak-ng":
        for entry in manifest.entries.values():
            if entry.kind == "tts" and verify(entry.id, manifest).installed:
                served = [loc for loc in wanted if piper_voice_for(loc, manifest) is entry] or list(entry.locales)
                served = sorted(set(served) | set(entry.locales))
                inv.voices.append(VoiceOffer(entry.id, entry.engine or "piper", served, entry.description))
    try:
        espeak_voices()
        inv.voices.append(VoiceOffer("espeak-ng", "espeak-ng", list(wanted), "espeak-ng formant voices"))
    except TtsError:
        pass
    inv.wake = _wake_models(profile)
    languages = _template_languages()
    inv.handle_locales = [loc for loc in wanted if loc.split("-")[0] in languages]
    return inv
