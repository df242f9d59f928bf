"""hibari (``hibari-tts==0.2.1``): a second English voice, 7.9 MB, distilled from Kokoro-82M's af_heart, 24 kHz.

The manifest model ``hibari-en-us-heart`` is the one voice inside the wheel (``hibari/assets/hibari.onnx``, verified
by sha256 through :func:`edge.models.require`); hibari's own text front end (lexicon, tagger, out-of-vocabulary net)
is in the wheel too. Its other voices (fenrir, emma, fable, kore) are downloaded by hibari on first use, so edge
never asks for them: the model file is passed to hibari by path, and hibari's downloader is not reached.

Piper stays the profiles' English voice; choose this one with ``--voice hibari-en-us-heart`` or
``[tts] voices = { "en" = "hibari-en-us-heart" }`` (docs/benchmarks/tts.md: its first audio and speed against Piper).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from edge.tts.base import TtsEngine, TtsError

__all__ = ["HIBARI_VOICE", "INSTALL", "HibariTts"]

INSTALL = "pip install 'hibari-tts==0.2.1' (or install edge with the `hibari` extra)"
HIBARI_VOICE = "heart"  # the voice whose model is the wheel's hibari.onnx (American English, female)


class HibariTts(TtsEngine):
    """hibari's in-wheel voice. ``model_path``: its verified ``hibari.onnx``; ``seed`` fixes the noise component
    (the same text gives the same audio, which the phrase cache relies on)."""

    name = "hibari"

    def __init__(self, model_path: str | os.PathLike[str], locale: str = "en-US", threads: int = 1,
                 speed: float = 1.0, seed: int = 0) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise TtsError(f"hibari voice model {path} not found: {INSTALL}")
        if not 0.5 <= speed <= 2.0:
            raise TtsError(f"hibari speaks at 0.5 to 2.0 times its normal rate, got speed {speed!r}")
        if not locale.lower().startswith("en"):
            raise TtsError(f"hibari speaks English only, not {locale}: choose another voice for {locale}")
        try:
            from hibari import Hibari
        except ImportError as exc:
            raise TtsError(f"the hibari voice needs hibari-tts ({exc}): {INSTALL}") from None
        try:
            # model= names the file, so hibari never looks for (or downloads) a voice; "heart" picks American G2P
            self._tts: Any = Hibari(voice=HIBARI_VOICE, model=str(path), threads=max(1, threads))
            self._tts.phonemize("OK.")  # load the text front end now (~0.3 s), not at the first reply
        except Exception as exc:  # onnxruntime or a damaged asset: one line
            first = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
            raise TtsError(f"the hibari voice cannot load ({type(exc).__name__}: {first}): {INSTALL}") from None
        self.model_path = path
        self.locale = locale
        self.speed = float(speed)
        self.seed = seed
        self.rate = int(self._tts.sample_rate)

    def _synthesize_sentence(self, sentence: str) -> np.ndarray:
        try:
            audio = self._tts(sentence, speed=self.speed, seed=self.seed)
        except Exception as exc:  # a sentence its front end cannot read: said, the rest goes on
            raise TtsError(f"hibari failed on {sentence[:40]!r}: {exc}") from None
        return np.asarray(audio, dtype=np.float32)
