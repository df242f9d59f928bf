"""Text to speech: Piper neural voices where one is installed, espeak-ng for every other language; Kokoro
(Japanese) and hibari (a second English voice) where chosen by name.

``create_tts(locale)`` picks the engine; ``engine.stream(text)`` yields one :class:`SpeechChunk` per
sentence as soon as it is synthesised. Text is normalised for speech first (:mod:`edge.tts.normalize`).
piper-tts and onnxruntime are imported only when a Piper voice is loaded.
"""

from __future__ import annotations

import os
from pathlib import Path

from edge.models import Manifest, ModelEntry, ModelError, load_manifest, require
from edge.tts.base import SpeechChunk, TtsEngine, TtsError, TtsWarning
from edge.tts.espeak_engine import EspeakTts, espeak_voices
from edge.tts.normalize import normalize_for_speech
from edge.tts.piper_engine import PiperTts
from edge.tts.sentences import split_sentences

__all__ = [
    "ENGINES",
    "EspeakTts",
    "PiperTts",
    "SpeechChunk",
    "TtsEngine",
    "TtsError",
    "TtsWarning",
    "create_tts",
    "normalize_for_speech",
    "piper_voice_for",
    "split_sentences",
]

ENGINES = ("auto", "piper", "espeak-ng")
_ALIASES = {"espeak": "espeak-ng", "espeak_ng": "espeak-ng", "espeakng": "espeak-ng"}


def _tag(locale: str) -> str:
    return locale.replace("_", "-").lower()


def piper_voice_for(locale: str, manifest: Manifest | None = None) -> ModelEntry | None:
    """The manifest's Piper voice for a locale: the full tag first, then any voice of the same language."""
    entries = [e for e in (manifest or load_manifest()).entries.values()
               if e.kind == "tts" and e.engine in (None, "piper")]  # not Kokoro or hibari: chosen by name only
    tag = _tag(locale)
    lang = tag.split("-")[0]
    for matches in (
        lambda loc: _tag(loc) == tag,
        lambda loc: _tag(loc).split("-")[0] == lang,
        lambda loc: loc == "*",
    ):
        for entry in entries:
            if any(matches(loc) for loc in entry.locales):
                return entry
    return None


def _looks_like_path(voice: str | Path) -> bool:
    text = os.fspath(voice)
    return isinstance(voice, Path) or text.endswith(".onnx") or os.sep in text or "/" in text or Path(text).exists()


def _piper_from_manifest(entry: ModelEntry, manifest: Manifest, locale: str, threads: int, speed: float,
                         piper_weights: str = "float32") -> TtsEngine:
    if entry.kind != "tts":
        raise TtsError(f"model {entry.id} is a {entry.kind} model, not a voice: pass a tts model id or a .onnx path")
    if entry.engine == "kokoro-ja":  # a neural Japanese voice (edge.tts.kokoro_engine)
        from edge.tts.kokoro_engine import KokoroJaTts

        try:
            folder = require(entry.id, manifest)
        except ModelError as exc:
            raise TtsError(f"voice {entry.id} unavailable: {exc}") from None
        return KokoroJaTts(folder, locale=locale, speed=speed)
    if entry.engine == "hibari":  # the second English voice (edge.tts.hibari_engine)
        from edge.tts.hibari_engine import HibariTts

        try:
            path = require(entry.id, manifest)
        except ModelError as exc:
            raise TtsError(f"voice {entry.id} unavailable: {exc}") from None
        return HibariTts(path, locale=locale, threads=threads, speed=speed)
    try:
        path = require(entry.id, manifest)
    except ModelError as exc:
        raise TtsError(f"Piper voice {entry.path} unavailable: {exc}") from None
    return PiperTts(path, locale=locale, threads=threads, speed=speed, hint=entry.install_hint(),
                    weights=piper_weights)


def create_tts(
    locale: str = "en-US",
    voice: str | Path | None = None,
    threads: int = 1,
    engine: str = "auto",
    speed: float = 1.0,
    *,
    pitch: int = 50,
    manifest: Manifest | None = None,
    piper_weights: str = "float32",
) -> TtsEngine:
    """Load a voice for ``locale``.

    ``voice``: a manifest model id ("piper-en-us-joe-medium"), a path to a Piper ``.onnx`` voice (its
    ``.onnx.json`` beside it), or, with ``engine="espeak-ng"``, an espeak-ng voice name ("de", "en-us+f3").
    ``engine="auto"`` uses Piper when a voice path or id is given or the manifest has a voice for the locale
    (same tag, else same language), and espeak-ng with the locale's voice otherwise. ``pitch`` (0-99) is
    espeak-ng only. ``piper_weights="int8"`` loads a Piper voice's int8 copy (:mod:`edge.tts.piper_int8`).
    Raises :class:`TtsError` with a one-line message saying what to do.
    """
    kind = _ALIASES.get(str(engine).lower(), str(engine).lower())
    if kind not in ENGINES:
        raise TtsError(f"unknown TTS engine {engine!r}; known: {', '.join(ENGINES)}")
    if not isinstance(locale, str) or not locale.strip():
        raise TtsError(f"locale must be a tag like 'en-US', got {locale!r}")
    if kind == "espeak-ng":
        if voice is not None and _looks_like_path(voice):
            raise TtsError(f"{voice} is a Piper voice file, not an espeak-ng voice: use engine='piper' or 'auto'")
        return EspeakTts(locale, voice=os.fspath(voice) if voice is not None else None, speed=speed, pitch=pitch)
    if voice is not None and _looks_like_path(voice):
        return PiperTts(voice, locale=locale, threads=threads, speed=speed, weights=piper_weights)
    try:
        m = manifest or load_manifest()
    except ModelError as exc:
        raise TtsError(str(exc)) from None
    if voice is not None:
        entry = m.entries.get(str(voice))
        if entry is not None:
            return _piper_from_manifest(entry, m, locale, threads, speed, piper_weights)
        if kind == "auto":
            try:
                if str(voice).split("+")[0].lower() in espeak_voices():
                    return EspeakTts(locale, voice=str(voice), speed=speed, pitch=pitch)
            except TtsError:
                pass  # no espeak-ng either: report the unknown voice below
        known = ", ".join(e.id for e in m.entries.values() if e.kind == "tts") or "(none)"
        raise TtsError(f"unknown voice {voice!r}: pass a Piper .onnx path or a manifest voice ({known})")
    entry = piper_voice_for(locale, m)
    if entry is not None:
        return _piper_from_manifest(entry, m, locale, threads, speed, piper_weights)
    if kind == "piper":
        raise TtsError(f"no Piper voice for {locale} in {m.path}: pass voice='path/to/voice.onnx' "
                       f"or use engine='espeak-ng'")
    return EspeakTts(locale, speed=speed, pitch=pitch)
