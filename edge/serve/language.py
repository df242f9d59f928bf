"""`edge serve --locale auto`: each turn's language identified from its audio, remembered per room.

A request that names no language (or ``"auto"``) on a server started with ``--locale auto[:<locale>]`` is
transcribed by the profile's multilingual Whisper model (:func:`edge.asr.auto.load_auto_asr`), which ranks the
languages and decodes in the one it is sure of (:class:`~edge.asr.langid.LocaleChooser`). Each room (a satellite's
name, a conversation id, else the connection: :func:`~edge.serve.sessions.session_key`) keeps its own locale,
so two satellites in two languages are each answered in theirs. The rule is the pipeline's
(:class:`~edge.pipeline.language.TurnLanguage`): below the threshold the room keeps its last confident locale (at
first the configured one); a turn that is only the wake phrase, or has under
:data:`~edge.pipeline.language.MIN_SPEECH_S` of speech (Silero VAD, first to last speech window), keeps it whatever
Whisper guessed. One engine serves every room (used under its lock with that room's chooser).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.asr.base import AsrResult
from edge.asr.langid import DEFAULT_THRESHOLD, LocaleChooser
from edge.pipeline.language import TurnLanguage

__all__ = ["HeardTurn", "ServeLanguage", "heard_context", "wants_identification"]

_MAX_ROOMS = 1000  # rooms remembered (least recently heard first out)


def wants_identification(language: str | None, server_auto: bool) -> bool:
    """Whether a request's language asks for identification: "auto", or none on a server run with auto."""
    tag = (language or "").strip().lower()
    return tag == "auto" or tag.startswith("auto:") or (server_auto and not tag)


@dataclass(frozen=True)
class HeardTurn:
    """A transcript in the locale the room uses for it, and what was heard: Whisper's language and probability,
    whether it was sure, and why the room's locale was kept when the language could not be trusted."""

    text: str
    locale: str
    engine: str
    language: str
    probability: float
    confident: bool
    switched: bool
    kept: str = ""

    def describe(self) -> str:
        """``de-DE (heard de 0.97)``, ``en-US (heard ja 0.31: not sure, kept en-US)``."""
        if self.confident:
            return f"{self.locale} (heard {self.language} {self.probability:.2f})"
        why = self.kept or "not sure"
        return f"{self.locale} (heard {self.language or '?'} {self.probability:.2f}: {why}, kept {self.locale})"


def heard_context(context: Any, heard: HeardTurn | None) -> dict[str, Any] | None:
    """A transcript event's ``context``: the client's, plus what language identification heard (when it ran)."""
    out = dict(context) if isinstance(context, dict) else None
    if heard is None:
        return out
    out = out or {}
    out.update({"language_heard": heard.language, "language_probability": round(heard.probability, 3),
                "language_confident": heard.confident, "language_switched": heard.switched})
    if heard.kept:
        out["language_kept"] = heard.kept
    return out


class ServeLanguage:
    """The multilingual engine (loaded on first use) and each room's locale. ``configured``: the MASSIVE locale a
    room starts in. Thread-safe; call from worker threads."""

    def __init__(self, profile: Any, configured: str = "en-US", threshold: float = DEFAULT_THRESHOLD) -> None:
        self.profile = profile
        self.configured = configured
        self.threshold = threshold
        self._engine: Any = None
        self.engine_lock = threading.Lock()  # the engine's: one decode at a time
        self._lock = threading.Lock()  # guards the caches below
        self._rooms: OrderedDict[str, TurnLanguage] = OrderedDict()
        self._vad: Any = None

    def engine(self) -> Any:
        """The multilingual Whisper engine; raises :class:`~edge.asr.base.AsrModelError` (one line)."""
        with self._lock:
            if self._engine is None:
                from edge.asr.auto import load_auto_asr

                self._engine = load_auto_asr(self.profile, self.configured, self.threshold)
            return self._engine

    def room(self, key: str) -> TurnLanguage:
        """The room's language state (its ``current`` locale), created in the configured locale."""
        with self._lock:
            room = self._rooms.pop(key, None) or TurnLanguage(self.configured, None, threshold=self.threshold)
            self._rooms[key] = room
            while len(self._rooms) > _MAX_ROOMS:
                self._rooms.popitem(last=False)
            return room

    def locale_of(self, key: str) -> str:
        """The locale the room is in now (the configured one for a room not heard yet)."""
        with self._lock:
            room = self._rooms.get(key)
            return room.current if room is not None else self.configured

    def speech_seconds(self, samples: np.ndarray) -> float:
        """Seconds from the first to the last window Silero hears as speech (16 kHz float32), as the pipeline's
        endpointer measures an utterance; 0.0 for none."""
        from edge.audio.vad import SileroVad
        from edge.models import require

        with self._lock:
            if self._vad is None:
                self._vad = SileroVad(require("silero-vad-v6"), threads=1)
            vad = self._vad
            window = vad.window
            usable = samples[: samples.size - samples.size % window].astype(np.float32, copy=False)
            vad.reset()
            probs = vad.probabilities(usable) if usable.size else np.zeros(0, dtype=np.float32)
        speech = np.flatnonzero(probs >= self.profile.vad.threshold)
        if speech.size == 0:
            return 0.0
        return float((speech[-1] + 1 - speech[0]) * window / vad.rate)

    def transcribe(self, samples: np.ndarray, key: str, wake: str | None = None,
                   choose: Callable[[AsrResult], AsrResult] | None = None) -> HeardTurn:
        """Identify and transcribe one utterance (16 kHz float32 mono) for room ``key``; ``wake``: the satellite's
        wake phrase, which may open the transcript (a turn that is nothing else cannot switch the language);
        ``choose``: picks among a beam's transcripts (the pipeline's :mod:`edge.pipeline.hypotheses`)."""
        from edge.pipeline.listening import strip_wake_phrase

        engine = self.engine()
        room = self.room(key)
        before = room.current
        chooser = LocaleChooser(before, self.threshold)  # unsure: the room's locale, not another room's
        with self.engine_lock:
            shared = engine.chooser
            engine.chooser = chooser
            try:
                result = engine.transcribe(samples)
            finally:
                engine.chooser = shared
        if choose is not None:
            result = choose(result)
        text = result.text.strip()
        probability = float(result.language_probability or 0.0)
        locale = result.locale or before
        kept = ""
        if locale != before:
            words = strip_wake_phrase(text, wake) if wake else text
            kept = room.untrusted(words, self.speech_seconds(samples), result.evidence)
            if kept:
                locale = before
        room.current = locale
        return HeardTurn(text, locale, result.engine or engine.name, result.language or "", probability,
                         probability >= self.threshold and not kept, locale != before, kept)
