"""The glue between the server and edge's stages: each stage loaded once, on demand, and shared.

This is the one module of :mod:`edge.serve` that knows how stages are built (through
:mod:`edge.pipeline.loader` today); switching to another assembly touches only this file. What is
installed is found by :mod:`edge.serve.inventory`; engines are shared under :mod:`edge.serve.locks`.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edge.errors import EdgeError
from edge.serve.inventory import Inventory, locale_match, take_inventory
from edge.serve.locks import PriorityLock

__all__ = ["Inventory", "PriorityLock", "StageError", "Stages", "locale_match"]

log = logging.getLogger(__name__)
_TTS_CACHE = 6  # voice instances kept loaded at once (each Piper voice ~220 MB)


class StageError(EdgeError):
    """A stage cannot serve a request; the message is one line saying what to do."""


class Stages:
    """Edge's stages for the server, each loaded on first use and shared by every connection.

    Engines are not assumed thread-safe: each is used under its own lock. Call the methods from worker
    threads (the server's executor), never from the event loop.

    A voice is loaded ``voices`` times, the profile's TTS threads shared out between the copies, and each
    reply spoken by the copy with the fewest replies: Piper's onnxruntime uses two threads poorly on a
    sentence, so two one-thread copies speak two rooms' replies at once in about the time one takes
    (measured for `edge bench serve`; Whisper is the other way round and stays one engine).
    """

    def __init__(self, profile: Any, *, locales: list[str] | None = None, default_locale: str = "en-US",
                 data_dir: str | Path | None = None, inventory: Inventory | None = None, voices: int = 2) -> None:
        self.profile = profile
        self.inventory = inventory or take_inventory(profile, locales)
        configured = _auto_locale(default_locale)  # --locale auto[:<locale>]: each turn's language identified
        self.auto = configured is not None
        self.default_locale = configured or default_locale
        self._language: Any = None  # edge.serve.language.ServeLanguage, made when first asked for
        self.data_dir = data_dir
        self._lock = threading.Lock()  # guards the caches below
        self._asr: dict[str, tuple[Any, threading.Lock]] = {}
        self.voices = max(1, voices)
        self._tts: OrderedDict[tuple[str, str], list[tuple[Any, PriorityLock]]] = OrderedDict()
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

    def identifier(self) -> Any:
        """The language identification (:class:`~edge.serve.language.ServeLanguage`), created on first use."""
        with self._lock:
            if self._language is None:
                from edge.serve.language import ServeLanguage

                self._language = ServeLanguage(self.profile, self.default_locale)
            return self._language

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
        """(engine, its lock): the copy of the voice with the fewest replies claimed (see :meth:`voice`)."""
        copies = self._copies(name, locale)
        with self._lock:
            return min(copies, key=lambda c: c[1].claims)

    @contextmanager
    def voice(self, name: str, locale: str) -> Iterator[tuple[Any, PriorityLock]]:
        """:meth:`tts`, claimed for one reply: the next reply goes to another copy while this one speaks."""
        copies = self._copies(name, locale)
        with self._lock:
            engine, lock = min(copies, key=lambda c: c[1].claims)
            lock.claims += 1
        try:
            yield engine, lock
        finally:
            with self._lock:
                lock.claims -= 1

    def _copies(self, name: str, locale: str) -> list[tuple[Any, PriorityLock]]:
        key = (name, locale)
        with self._lock:
            cached = self._tts.get(key)
            if cached is not None:
                self._tts.move_to_end(key)
                return cached
        from dataclasses import replace

        from edge.pipeline.loader import PipelineError, load_tts
        from edge.tts import create_tts
        from edge.tts.base import TtsError

        tts = self.profile.tts
        profile = replace(self.profile, tts=replace(tts, threads=max(1, tts.threads // self.voices)))
        copies = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a substituted espeak-ng voice is fine here
            try:
                for _ in range(self.voices):
                    if name == "espeak-ng":
                        engine = create_tts(locale, engine="espeak-ng", speed=tts.speed)
                    else:
                        engine = load_tts(profile, locale, None if name == "auto" else name)
                    copies.append((engine, PriorityLock()))
            except (PipelineError, TtsError) as exc:
                raise StageError(str(exc)) from None
        with self._lock:
            cached = self._tts.setdefault(key, copies)
            while sum(len(c) for c in self._tts.values()) > max(_TTS_CACHE, self.voices) and len(self._tts) > 1:
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
        if self.auto:
            from edge.asr.base import AsrModelError

            try:
                self.identifier().engine()
            except AsrModelError as exc:
                raise StageError(str(exc)) from None
        elif self.inventory.asr:
            locale = self.asr_locale(None)
            self.asr(locale)
        if self.inventory.voices:
            phrases = getattr(self._router, "common_phrases", None)
            for engine, lock in self._copies(*self.voice_for(None, None)):
                with lock.hold():
                    engine.warm(phrases(self.default_locale) if phrases else [])


def _auto_locale(locale: str) -> str | None:
    """The MASSIVE locale a server run with ``auto`` / ``auto:<locale>`` starts each room in; None otherwise."""
    from edge.asr.auto import auto_fallback
    from edge.locale_tags import canonical
    from edge.nlu.locales import MASSIVE_LOCALES

    fallback = auto_fallback(locale)
    if fallback is None:
        return None
    known = canonical(fallback, MASSIVE_LOCALES)
    if known is None:
        raise StageError(f"--locale {locale}: {fallback!r} is not a MASSIVE locale (e.g. auto:de-DE)")
    return known
