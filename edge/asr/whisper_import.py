"""Importing faster-whisper without PyAV, which it imports at start-up but needs only to decode audio files.

``faster_whisper.audio`` does ``import av`` at the top and uses it only inside ``decode_audio`` (a file or a
file object given to ``WhisperModel.transcribe``); edge always passes 16 kHz numpy arrays. PyAV and its FFmpeg
libraries cost ~16 MB of resident memory (x86) for nothing. :func:`import_faster_whisper` imports faster-whisper
with a stand-in registered as ``av`` for the length of that import only: the stand-in stays bound inside
``faster_whisper.audio``, and imports the real PyAV the first time anything there uses it (so ``decode_audio``
still works, at PyAV's cost then). Once faster-whisper is imported the stand-in leaves ``sys.modules``, so any
other ``import av`` gets the real module. When PyAV or faster-whisper is imported already, nothing is changed.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import threading
from types import ModuleType
from typing import Any

__all__ = ["import_faster_whisper"]

_lock = threading.Lock()


class _DeferredAv(ModuleType):
    """``av`` for faster-whisper's ``audio`` module: imports the real PyAV on first use of any attribute.

    It has a ``__spec__`` of its own (the import system reads it while the stand-in is in ``sys.modules``) and
    no ``__path__``, so a submodule import (``import av.audio``) during that window fails loudly instead of
    loading PyAV's extension modules under a fake parent."""

    def __init__(self) -> None:
        super().__init__("av", "stand-in for PyAV until faster-whisper decodes a file (edge.asr.whisper_import)")
        self.__spec__ = importlib.machinery.ModuleSpec("av", None)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # copy, pickle and the import system probe these; PyAV is not needed
        if sys.modules.get("av") is self:
            raise ImportError("PyAV is wanted while faster-whisper is being imported (edge.asr.whisper_import); "
                              "import av before faster_whisper")
        return getattr(importlib.import_module("av"), name)


def import_faster_whisper() -> ModuleType:
    """The ``faster_whisper`` package, imported (the first time) without importing PyAV."""
    if "faster_whisper" in sys.modules:
        return importlib.import_module("faster_whisper")
    with _lock:
        if "faster_whisper" in sys.modules or "av" in sys.modules:
            return importlib.import_module("faster_whisper")
        stand_in = _DeferredAv()
        sys.modules["av"] = stand_in
        try:
            return importlib.import_module("faster_whisper")
        finally:
            if sys.modules.get("av") is stand_in:
                del sys.modules["av"]
