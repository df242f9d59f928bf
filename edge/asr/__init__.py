"""Speech recognition: engines behind one streaming interface (see :mod:`edge.asr.base`).

faster-whisper and vosk are imported only when an engine is created.
"""

from __future__ import annotations

from typing import Any

from edge.asr.base import AsrEngine, AsrModelError, AsrResult, RecognizerStream, Word
from edge.asr.vosk_engine import VoskEngine
from edge.asr.wer import corpus_wer, normalize, wer, word_errors
from edge.asr.whisper import FasterWhisperEngine

__all__ = [
    "ENGINE_KINDS",
    "AsrEngine",
    "AsrModelError",
    "AsrResult",
    "FasterWhisperEngine",
    "RecognizerStream",
    "VoskEngine",
    "Word",
    "corpus_wer",
    "create_engine",
    "normalize",
    "wer",
    "word_errors",
]

ENGINE_KINDS = ("faster-whisper", "vosk")
_ALIASES = {"whisper": "faster-whisper", "faster_whisper": "faster-whisper"}


def create_engine(kind: str, **kw: Any) -> AsrEngine:
    """Load an engine by kind ("faster-whisper" or "whisper", "vosk"); keywords go to its constructor."""
    name = _ALIASES.get(kind, kind)
    if name == "faster-whisper":
        return FasterWhisperEngine(**kw)
    if name == "vosk":
        return VoskEngine(**kw)
    raise ValueError(f"unknown ASR engine {kind!r}; known: {', '.join(ENGINE_KINDS)} (or whisper)")

