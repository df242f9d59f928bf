"""Builds each stage from a device profile and the model manifest: which model serves which locale."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge.errors import EdgeError
from edge.models import Manifest, ModelError, load_manifest, require, verify
from edge.profiles import Profile

if TYPE_CHECKING:
    from edge.asr.base import AsrEngine
    from edge.audio.endpoint import Endpointer
    from edge.nlu.runtime import NluModel
    from edge.tts.base import TtsEngine

__all__ = ["PipelineError", "asr_model_for", "load_asr", "load_endpointer", "load_nlu", "load_tts"]


class PipelineError(EdgeError):
    """A stage cannot be built; the message names the model or setting and what to do."""


def asr_model_for(profile: Profile, locale: str, manifest: Manifest | None = None) -> str:
    """The ASR model id for ``locale``: the profile's choice, else the first installed manifest model for it."""
    manifest = manifest or load_manifest()
    chosen = profile.asr_model(locale)
    if chosen == "none":
        raise PipelineError(f"profile {profile.name} turns speech recognition off for {locale}; type instead "
                            f"(edge nlu / edge chat) or choose another profile")
    if chosen is not None:
        try:
            entry = manifest.get(chosen)
        except ModelError as exc:
            raise PipelineError(f"{profile.path.name}: asr.models: {exc}") from None
        if entry.kind != "asr":
            raise PipelineError(f"{profile.path.name}: asr.models: {chosen} is a {entry.kind} model, not asr")
        return chosen
    candidates = manifest.for_locale("asr", locale)
    for entry in candidates:
        if verify(entry.id, manifest).installed:
            return entry.id
    if candidates:
        hints = "; ".join(f"{e.id}: {e.install_hint()}" for e in candidates)
        raise PipelineError(f"no speech recognition model installed for {locale}: {hints}")
    raise PipelineError(f"no speech recognition model for {locale} in {manifest.path.name}; "
                        f"type instead (edge nlu), or add a Vosk or Whisper model to the manifest")


def load_asr(profile: Profile, locale: str, manifest: Manifest | None = None) -> AsrEngine:
    """The profile's ASR engine for ``locale``, its model verified against the manifest's sha256."""
    from edge.asr import FasterWhisperEngine, VoskEngine
    from edge.asr.base import AsrModelError

    manifest = manifest or load_manifest()
    model_id = asr_model_for(profile, locale, manifest)
    entry = manifest.get(model_id)
    try:
        path = require(model_id, manifest)
        if entry.engine == "vosk":
            return VoskEngine(path, locale=locale, model_id=model_id)
        if entry.engine == "faster-whisper":
            return FasterWhisperEngine(
                path, locale=locale, model_id=model_id, threads=profile.asr.threads, beam_size=profile.asr.beam_size
            )
    except (ModelError, AsrModelError) as exc:
        raise PipelineError(str(exc)) from None
    except ValueError as exc:  # e.g. an English-only model asked for another language
        raise PipelineError(str(exc)) from None
    raise PipelineError(f"model {model_id}: unknown ASR engine {entry.engine!r} in {manifest.path.name}")


def load_nlu(profile: Profile) -> NluModel:
    from edge.nlu.runtime import NluModel, NluModelError

    try:
        return NluModel(profile.nlu.model, threads=profile.nlu.threads, max_tokens=profile.nlu.max_tokens,
                        ood_threshold=profile.nlu.ood_threshold)
    except NluModelError as exc:
        raise PipelineError(str(exc)) from None


def load_tts(profile: Profile, locale: str, voice: str | None = None) -> TtsEngine:
    """Piper or espeak-ng for ``locale`` as the profile says (``voice`` overrides the profile's choice)."""
    from edge.tts import create_tts
    from edge.tts.base import TtsError

    chosen = voice or profile.tts_voice(locale)
    if chosen == "auto":
        chosen = None
    try:
        return create_tts(locale, voice=chosen, threads=profile.tts.threads, engine=profile.tts.engine,
                          speed=profile.tts.speed, piper_weights=profile.tts.piper_weights)
    except (TtsError, ModelError) as exc:
        raise PipelineError(str(exc)) from None


def load_endpointer(profile: Profile) -> Endpointer:
    from edge.audio.endpoint import Endpointer
    from edge.audio.vad import SileroVad

    v = profile.vad
    try:
        vad = SileroVad(require("silero-vad-v6"), threads=v.threads)
    except (ModelError, FileNotFoundError) as exc:
        raise PipelineError(str(exc)) from None
    return Endpointer(vad, threshold=v.threshold, min_silence_ms=v.min_silence_ms, speech_pad_ms=v.speech_pad_ms,
                      min_speech_ms=v.min_speech_ms, max_utterance_s=v.max_utterance_s, keep_audio=True)
