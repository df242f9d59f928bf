"""Log-mel features in numpy, computed the same way on a whole signal and on a stream of blocks of any size.

Frames are 25 ms Hann windows every 10 ms, counted from the first sample of the stream, so a stream cut
into blocks gives exactly the frames of the whole signal. Pairs of frames are averaged (20 ms steps):
the detector looks at one pooled frame per step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["FeatureParams", "LogMel", "log_mel", "mel_matrix"]


@dataclass(frozen=True)
class FeatureParams:
    rate: int = 16000
    n_fft: int = 512
    win: int = 400  # 25 ms
    hop: int = 160  # 10 ms
    n_mels: int = 32
    fmin: float = 60.0
    fmax: float = 7600.0
    floor: float = 1e-6  # power floor before the log (about -80 dBFS)
    pool: int = 2  # frames averaged into one detector step

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @property
    def step_samples(self) -> int:
        return self.hop * self.pool


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_matrix(p: FeatureParams) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) triangular filters, HTK mel scale."""
    bins = np.fft.rfftfreq(p.n_fft, 1.0 / p.rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.array(p.fmin)), _hz_to_mel(np.array(p.fmax)), p.n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (bins[None, :] - lo) / np.maximum(mid - lo, 1e-9)
    down = (hi - bins[None, :]) / np.maximum(hi - mid, 1e-9)
    return np.maximum(0.0, np.minimum(up, down)).T.astype(np.float32)


class _Tables:
    def __init__(self, p: FeatureParams) -> None:
        self.window = np.hanning(p.win + 1)[:-1].astype(np.float32)
        self.mel = mel_matrix(p)


_TABLES: dict[FeatureParams, _Tables] = {}


def _tables(p: FeatureParams) -> _Tables:
    t = _TABLES.get(p)
    if t is None:
        t = _TABLES[p] = _Tables(p)
    return t


def _frames_to_logmel(frames: np.ndarray, p: FeatureParams) -> np.ndarray:
    t = _tables(p)
    spec = np.fft.rfft(frames * t.window, n=p.n_fft, axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    return np.log(power @ t.mel + p.floor).astype(np.float32)


def log_mel(audio: np.ndarray, p: FeatureParams | None = None) -> np.ndarray:
    """Pooled log-mel steps (n_steps, n_mels) of a whole 16 kHz float32 signal (a trailing partial step is dropped)."""
    p = p or FeatureParams()
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    n = 0 if len(x) < p.win else (len(x) - p.win) // p.hop + 1
    n -= n % p.pool
    if n == 0:
        return np.zeros((0, p.n_mels), dtype=np.float32)
    idx = np.arange(p.win)[None, :] + p.hop * np.arange(n)[:, None]
    out = np.empty((n, p.n_mels), dtype=np.float32)
    block = 20000  # frames per FFT batch: bounded memory on hours of audio
    for i in range(0, n, block):
        out[i : i + block] = _frames_to_logmel(x[idx[i : i + block]], p)
    return out.reshape(n // p.pool, p.pool, p.n_mels).mean(axis=1)


class LogMel:
    """Streaming :func:`log_mel`: feed blocks, get the pooled steps completed so far (same values as batch)."""

    def __init__(self, params: FeatureParams | None = None) -> None:
        self.p = params or FeatureParams()
        self.reset()

    def reset(self) -> None:
        self._buf = np.zeros(0, dtype=np.float32)
        self._start = 0  # stream sample index of _buf[0]
        self.steps = 0  # pooled steps emitted

    def process(self, chunk: np.ndarray) -> np.ndarray:
        p = self.p
        x = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if not np.isfinite(x).all():
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        self._buf = np.concatenate([self._buf, x]) if self._buf.size else x.copy()
        need = (p.pool - 1) * p.hop + p.win  # samples covering one pooled step
        stride = p.pool * p.hop
        n = 0 if len(self._buf) < need else (len(self._buf) - need) // stride + 1
        if n == 0:
            return np.zeros((0, p.n_mels), dtype=np.float32)
        used = (n - 1) * stride + need
        out = log_mel(self._buf[:used], p)
        keep = n * stride
        self._buf = self._buf[keep:]
        self._start += keep
        self.steps += n
        return out
