"""The glue between the server and edge's stages: what is installed, and each stage loaded once, on demand.

This is the one module of :mod:`edge.serve` that knows how stages are built (through
:mod:`edge.pipeline.loader` today); switching to another assembly touches only this file.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.errors import EdgeError
from edge.models import ModelError, load_manifest, verify
from edge.nlu.locales import MASSIVE_LOCALES

__all__ = ["Inventory", "PriorityLock", "StageError", "Stages", "locale_match"]

log = logging.getLogger(__name__)
_TTS_CACHE = 6  # voices kept loaded at once (each Piper voice ~220 MB)


class PriorityLock:
    """A lock whose waiters of a lower ``priority`` number go first: a reply's first sentence (0) before the
    rest of another reply (1), so a long answer to one room does not delay the start of another's."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._waiting = [0, 0]

    @contextmanager
    def hold(self, priority: int = 0) -> Iterator[None]:
        with self._cond:
            self._waiting[priority] += 1
            while self._busy or any(self._waiting[p] for p in range(priority)):
                self._cond.wait()
            self._waiting[priority] -= 1
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


class StageError(EdgeError):
    """A stage cannot serve a request; the message is one line saying what to do."""


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
                inv.voices.append(VoiceOffer(entry.id, "piper", sorted(set(served) | set(entry.locales)),
                                             entry.description))
    try:
        espeak_voices()
        inv.voices.append(VoiceOffer("espeak-ng", "espeak-ng", list(wanted), "espeak-ng formant voices"))
    except TtsError:
        pass
    inv.wake = _wake_models(profile)
    languages = _template_languages()
    inv.handle_locales = [loc for loc in wanted if loc.split("-")[0] in languages]
    return inv


class Stages:
    """Edge's stages for the server, each loaded on first use and shared by every connection.

    Engines are not assumed thread-safe: each is used under its own lock. Call the methods from worker
    threads (the server's executor), never from the event loop.
    """

    def __init__(self, profile: Any, *, locales: list[str] | None = None, default_locale: str = "en-US",
                 data_dir: str | Path | None = None, inventory: Inventory | None = None) -> None:
        self.profile = profile
        self.inventory = inventory or take_inventory(profile, locales)
        self.default_locale = default_locale
        self.data_dir = data_dir
        self._lock = threading.Lock()  # guards the caches below
        self._asr: dict[str, tuple[Any, threading.Lock]] = {}
        self._tts: OrderedDict[tuple[str, str], tuple[Any, PriorityLock]] = OrderedDict()
        self._nlu: Any = None
        self._router: Any = None
        self.router_lock = threading.Lock()
        self._wake_models: dict[str, Any] = {}

    # --- speech to text ---------------------------------------------------------------------------

    def asr_locale(self, language: str | None) -> str:
        offered = self.inventory.asr_locales
        default = self.default_locale if self.default_locale in offered else (offered[0] if offered else None)
        locale = locale_match(language, offered, default)
        if locale is None:
            heard = ", ".join(offered) or "nothing (install an ASR model: edge models)"
            raise StageError(f"no speech recognition for {language!r}; this server hears {heard}")
        return locale

    def asr(self, locale: str) -> tuple[Any, threading.Lock]:
        """(engine, its lock) for an offered locale, loading the model on first use."""
        model_id = next(o.model_id for o in self.inventory.asr if locale in o.locales)
        with self._lock:
            cached = self._asr.get(model_id)
            if cached is None:
                from edge.pipeline.loader import PipelineError, load_asr

                try:
                    cached = (load_asr(self.profile, locale), threading.Lock())
                except PipelineError as exc:
                    raise StageError(str(exc)) from None
                self._asr[model_id] = cached
        return cached

    # --- text to speech ---------------------------------------------------------------------------

    def voice_for(self, name: str | None, language: str | None) -> tuple[str, str]:
        """(voice name or "auto", locale) for a synthesize request."""
        voices = {v.name: v for v in self.inventory.voices}
        if name and name not in voices:
            raise StageError(f"unknown voice {name!r}; this server has {', '.join(voices) or 'none'}")
        offered = voices[name].locales if name else sorted({loc for v in voices.values() for loc in v.locales})
        locale = locale_match(language, offered, self.default_locale if self.default_locale in offered else None)
        if locale is None:
            locale = offered[0] if offered and not language else None
        if locale is None:
            raise StageError(f"no voice for {language!r}; install a Piper voice or espeak-ng")
        return name or "auto", locale

    def tts(self, name: str, locale: str) -> tuple[Any, PriorityLock]:
        key = (name, locale)
        with self._lock:
            cached = self._tts.get(key)
            if cached is not None:
                self._tts.move_to_end(key)
                return cached
        from edge.pipeline.loader import PipelineError, load_tts
        from edge.tts import create_tts
        from edge.tts.base import TtsError

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a substituted espeak-ng voice is fine here
            try:
                if name == "espeak-ng":
                    engine = create_tts(locale, engine="espeak-ng", speed=self.profile.tts.speed)
                else:
                    engine = load_tts(self.profile, locale, None if name == "auto" else name)
            except (PipelineError, TtsError) as exc:
                raise StageError(str(exc)) from None
        with self._lock:
            cached = self._tts.setdefault(key, (engine, PriorityLock()))
            while len(self._tts) > _TTS_CACHE:
                self._tts.popitem(last=False)
        return cached

    # --- understanding and skills -----------------------------------------------------------------

    def handle_locale(self, language: str | None) -> str:
        offered = self.inventory.handle_locales or [self.default_locale]
        return locale_match(language, offered, self.default_locale) or self.default_locale

    def nlu(self) -> Any:
        with self._lock:
            if self._nlu is None:
                from edge.pipeline.loader import PipelineError, load_nlu

                try:
                    self._nlu = load_nlu(self.profile)
                except PipelineError as exc:
                    raise StageError(str(exc)) from None
            return self._nlu

    def router(self) -> Any:
        """The skill router, shared; call it under :attr:`router_lock` with a per-client session."""
        with self._lock:
            if self._router is None:
                from edge.assembly import load_router

                self._router = load_router(None, Path(self.data_dir) if self.data_dir else None,
                                           restore_volume=False)
            return self._router

    def new_session(self) -> Any:
        from edge.skills.dialogue import Session

        return Session()

    # --- wake word --------------------------------------------------------------------------------

    def wake_detector(self, names: list[str] | None) -> Any:
        """A fresh detector (stage 1 only) for the first installed phrase in ``names`` (None: any)."""
        from edge.wake import WakeDetector, WakeModelError, load_model

        phrases = [p for p in self.inventory.wake if names is None or p in names]
        if not phrases:
            have = ", ".join(self.inventory.wake) or "none (train one: edge wake train PHRASE)"
            raise StageError(f"no wake model for {names}; this server has {have}")
        phrase = phrases[0]
        with self._lock:
            model = self._wake_models.get(phrase)
            if model is None:
                try:
                    model = self._wake_models[phrase] = load_model(self.inventory.wake[phrase])
                except WakeModelError as exc:
                    raise StageError(str(exc)) from None
        return WakeDetector(model)

    def preload(self) -> None:
        """Load the default locale's ASR, voice, the NLU and the router now (a first request is then fast)."""
        self.nlu()
        self.router()
        if self.inventory.asr:
            locale = self.asr_locale(None)
            self.asr(locale)
        if self.inventory.voices:
            engine, lock = self.tts(*self.voice_for(None, None))
            with lock.hold():
                phrases = getattr(self._router, "common_phrases", None)
                engine.warm(phrases(self.default_locale) if phrases else [])
