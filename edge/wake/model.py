"""The wake-word model: a tiny segment network over a window of log-mel steps, numpy only, saved as .npz.

Network: the window (P steps x n_mels) is cut into S = P / k segments of k steps; one shared dense layer
maps each segment to H1 ReLU units (a strided convolution over time), a dense layer maps all S x H1 to H2
ReLU units, and a logistic unit gives the score. A few thousand weights: about 0.1 MFLOP per 20 ms step.
The file holds the arrays, a JSON header (phrase, feature parameters, threshold...) and a sha256 over both.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.errors import EdgeError
from edge.wake.features import FeatureParams

__all__ = ["FORMAT", "WakeModel", "WakeModelError", "WakeTrainError", "load_model", "save_model"]

FORMAT = "edge-wake/1"
ARRAYS = ("mu", "sd", "w1", "b1", "w2", "b2", "w3", "b3")


class WakeModelError(EdgeError, RuntimeError):
    """The wake model file cannot be used; the message is one line saying what to do."""


class WakeTrainError(EdgeError, ValueError, RuntimeError):
    """A wake model cannot be trained as asked (the phrase, the negatives, no espeak-ng); one line saying what to do."""


def _hint(phrase: str | None) -> str:
    return f"run `edge wake train \"{phrase}\"`" if phrase else "run `edge wake train \"<phrase>\"`"


@dataclass
class WakeModel:
    phrase: str
    features: FeatureParams
    window: int  # P pooled steps the network sees
    seg: int  # k steps per segment
    arrays: dict[str, np.ndarray]
    threshold: float = 0.5
    smooth: int = 3  # hit when the mean of the last `smooth` scores reaches the threshold
    refractory_s: float = 1.0
    info: dict[str, Any] = field(default_factory=dict)  # how it was trained (not used at run time)

    @property
    def segments(self) -> int:
        return self.window // self.seg

    def normalize(self, steps: np.ndarray) -> np.ndarray:
        return ((steps - self.arrays["mu"]) / self.arrays["sd"]).astype(np.float32)

    def forward_windows(self, x: np.ndarray) -> np.ndarray:
        """Scores in [0, 1] of normalised windows (B, P, n_mels)."""
        a = self.arrays
        b = x.shape[0]
        h1 = np.maximum(x.reshape(b * self.segments, -1) @ a["w1"] + a["b1"], 0.0)
        h2 = np.maximum(h1.reshape(b, -1) @ a["w2"] + a["b2"], 0.0)
        return _sigmoid(h2 @ a["w3"] + a["b3"])

    def scan(self, steps: np.ndarray) -> np.ndarray:
        """Scores of every window ending at steps[P-1:], from normalised steps (N, n_mels): len N - P + 1.

        The segment layer runs once per step and each window sums S shifted products, so hours of audio
        need no (N, P, n_mels) copy.
        """
        a, k, p = self.arrays, self.seg, self.window
        n = steps.shape[0] - p + 1
        if n <= 0:
            return np.zeros(0, dtype=np.float32)
        if n <= 8:  # a streaming block: fewer numpy calls through the window path (same values to ~1e-7)
            win = np.lib.stride_tricks.sliding_window_view(steps, (p, steps.shape[1]))[:, 0]
            return self.forward_windows(np.ascontiguousarray(win)).astype(np.float32)
        starts = steps.shape[0] - k + 1
        seg = np.lib.stride_tricks.sliding_window_view(steps, (k, steps.shape[1]))[:starts, 0].reshape(starts, -1)
        h1 = np.maximum(seg @ a["w1"] + a["b1"], 0.0)
        h1n = h1.shape[1]
        w2 = a["w2"].reshape(self.segments, h1n, -1)
        z2 = np.zeros((n, w2.shape[2]), dtype=np.float32)
        for j in range(self.segments):
            z2 += h1[j * k : j * k + n] @ w2[j]
        h2 = np.maximum(z2 + a["b2"], 0.0)
        return _sigmoid(h2 @ a["w3"] + a["b3"]).astype(np.float32)

    def header(self) -> dict[str, Any]:
        return {"format": FORMAT, "phrase": self.phrase, "features": self.features.to_dict(), "window": self.window,
                "seg": self.seg, "threshold": self.threshold, "smooth": self.smooth,
                "refractory_s": self.refractory_s, "info": self.info}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * z))).astype(np.float32)


def _digest(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(json.dumps(header, sort_keys=True).encode("utf-8"))
    for name in ARRAYS:
        arr = np.ascontiguousarray(arrays[name], dtype=np.float32)
        h.update(name.encode() + str(arr.shape).encode() + arr.tobytes())
    return h.hexdigest()


def save_model(model: WakeModel, path: str | os.PathLike[str]) -> Path:
    """Write atomically (``PATH.part`` then rename)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    header = model.header()
    arrays = {k: np.ascontiguousarray(model.arrays[k], dtype=np.float32) for k in ARRAYS}
    header_json = json.dumps({**header, "sha256": _digest(header, arrays)}, sort_keys=True)
    buf = io.BytesIO()
    np.savez(buf, header=np.array(header_json), **arrays)
    part = out.with_name(out.name + ".part")
    part.write_bytes(buf.getvalue())
    os.replace(part, out)
    return out


def load_model(path: str | os.PathLike[str], phrase: str | None = None) -> WakeModel:
    """Read and verify a model file; raises :class:`WakeModelError` (one line, with the command to run)."""
    file = Path(path)
    if not file.is_file():
        raise WakeModelError(f"wake model {file} not found: {_hint(phrase)}")
    try:
        with np.load(file, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            arrays = {k: np.asarray(data[k], dtype=np.float32) for k in ARRAYS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, UnicodeDecodeError, TypeError) as exc:
        reason = type(exc).__name__
        raise WakeModelError(f"wake model {file} is corrupt ({reason}): delete it and {_hint(phrase)}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise WakeModelError(f"wake model {file} is not an {FORMAT} file: {_hint(phrase)}")
    phrase = header.get("phrase") or phrase
    expected = header.pop("sha256", None)
    try:
        ok = expected == _digest(header, arrays)
        model = WakeModel(phrase=str(header["phrase"]), features=FeatureParams(**header["features"]),
                          window=int(header["window"]), seg=int(header["seg"]), arrays=arrays,
                          threshold=float(header["threshold"]), smooth=int(header["smooth"]),
                          refractory_s=float(header["refractory_s"]), info=dict(header.get("info") or {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise WakeModelError(f"wake model {file} has a bad header ({type(exc).__name__}): {_hint(phrase)}") from None
    if not ok:
        raise WakeModelError(f"wake model {file} failed its sha256 check (corrupt or edited): {_hint(phrase)}")
    if model.window % model.seg or model.arrays["w1"].shape[0] != model.seg * model.features.n_mels:
        raise WakeModelError(f"wake model {file} has inconsistent shapes: {_hint(phrase)}")
    return model
