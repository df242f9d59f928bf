"""Silero VAD (v6) run with onnxruntime, using the ONNX file that faster-whisper ships.

The model takes 512-sample windows of 16 kHz audio, each preceded by the last 64 samples of the window
before it, and carries an LSTM state (``h``, ``c``, each 1x1x128). Its batch axis is a time axis: a
batch of N consecutive windows with one state gives the same probabilities as N single calls, at a
fraction of the cost, so :meth:`SileroVad.probabilities` takes many windows at once.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime as ort

__all__ = ["VAD_MODEL_FILE", "SileroVad", "VadModelMissingError", "VoiceActivityModel", "default_vad_model_path"]

VAD_MODEL_FILE = "silero_vad_v6.onnx"
_INSTALL_HINT = "install faster-whisper, which ships it: `pip install 'faster-whisper>=1.2'`"


class VadModelMissingError(FileNotFoundError):
    """The Silero VAD ONNX file is not installed."""


class VoiceActivityModel(Protocol):
    """What the endpointer needs from a VAD: speech probabilities for consecutive windows of 16 kHz audio."""

    window: int

    def probabilities(self, windows: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


def default_vad_model_path() -> Path:
    """Where faster-whisper keeps the Silero model, found without importing faster-whisper (it is heavy)."""
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise VadModelMissingError(f"Silero VAD model {VAD_MODEL_FILE} not found: {_INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / VAD_MODEL_FILE


class SileroVad:
    """Stateful Silero VAD: feed consecutive 512-sample windows of one 16 kHz stream; :meth:`reset` between streams."""

    rate = 16000
    window = 512
    context = 64

    def __init__(self, model_path: str | os.PathLike[str] | None = None, threads: int = 1) -> None:
        path = Path(model_path) if model_path is not None else default_vad_model_path()
        if not path.is_file():
            raise VadModelMissingError(f"Silero VAD model not found at {path}: {_INSTALL_HINT}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        opts.enable_cpu_mem_arena = False  # the arena kept the largest batch's tensors (~2 MB for 10 s of audio)
        self.model_path = path
        self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        names = sorted(i.name for i in self._session.get_inputs())
        if names != ["c", "h", "input"]:
            raise ValueError(f"{path} is not a Silero VAD v6 model (inputs {names}, expected input, h, c)")
        self.reset()

    def reset(self) -> None:
        """Forget the previous audio (state and context), e.g. before a new, unrelated stream."""
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(self.context, dtype=np.float32)

    def probability(self, window: np.ndarray) -> float:
        """Speech probability of the next 512-sample window."""
        return float(self.probabilities(np.asarray(window, dtype=np.float32).reshape(1, -1))[0])

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        """Speech probabilities of the next N windows, given as ``(N, 512)`` or as N*512 consecutive samples."""
        x = np.asarray(windows, dtype=np.float32)
        if x.ndim == 1:
            if x.size % self.window:
                raise ValueError(f"expected a multiple of {self.window} samples, got {x.size}")
            x = x.reshape(-1, self.window)
        if x.ndim != 2 or x.shape[1] != self.window:
            raise ValueError(f"expected windows of {self.window} samples, got shape {x.shape}")
        if len(x) == 0:
            return np.zeros(0, dtype=np.float32)
        batch = np.empty((len(x), self.context + self.window), dtype=np.float32)
        batch[0, : self.context] = self._context
        batch[1:, : self.context] = x[:-1, -self.context :]
        batch[:, self.context :] = x
        probs, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        self._context = x[-1, -self.context :].copy()
        return np.asarray(probs, dtype=np.float32).reshape(-1)
