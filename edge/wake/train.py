"""Train a wake-word model on the device from installed voices only, in about a minute on two cores.

Positives: the phrase rendered by the Piper voice (varied length and noise scales) and by many espeak-ng
voices, speeds and pitches, each resampled +-10 % (pitch and tempo), placed after silence or other speech
and before silence or a command, at random gains, over white/pink/brown noise, music-like audio or babble at
random SNRs. Negatives: random sentences and phrases that sound like the wake phrase, by the same voices,
augmented the same way; noise and music-like audio; optionally a folder of real speech. Training is Adam on
a balanced logistic loss with hard negatives mined each epoch; the threshold is set on held-out renderings
(no false accept on the held-out negatives, a false-reject rate near 1.5 % on the held-out positives).
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.audio.rate import RATE
from edge.wake import synth
from edge.wake.features import FeatureParams, log_mel
from edge.wake.model import WakeModel, WakeTrainError, save_model

__all__ = ["TrainConfig", "train_wake_model"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    piper_pos: int = 40
    espeak_pos: int = 400
    piper_neg: int = 10
    espeak_neg: int = 500
    confusable_voices: int = 5  # espeak renderings of each confusable
    copies: int = 3  # augmented clips per positive rendering
    piper_confusables: bool = False  # render each confusable once by Piper too (Piper is the slow renderer)
    swaps: int = 12  # random words put in each phrase word's place ("my edge") as near-miss negatives
    batches: int = 160  # at most, per epoch
    noise_minutes: float = 4.0
    epochs: int = 9
    hidden1: int = 40
    hidden2: int = 64
    seg: int = 3


FAST = TrainConfig(piper_pos=8, espeak_pos=140, piper_neg=4, espeak_neg=180, confusable_voices=3, copies=3,
                   noise_minutes=2.0, epochs=6, piper_confusables=False,
                   swaps=6, batches=110)


def _quiet(_: str) -> None:
    pass


def _speed(x: np.ndarray, rng: np.random.Generator, lo: float = 0.9, hi: float = 1.1) -> np.ndarray:
    from edge.audio.resample import resample

    f = rng.uniform(lo, hi)
    return resample(x, int(round(RATE * f)), RATE) if abs(f - 1) > 0.005 else x


_BANK: dict[str, np.ndarray] = {}


def _bank(kind: str, rng: np.random.Generator) -> np.ndarray:
    """60 s of each noise kind, made once per process; clips take random slices of it."""
    if kind not in _BANK:
        n = 60 * RATE
        _BANK[kind] = synth.music_like(60.0, rng)[:n] if kind == "music" else synth.noise(kind, n, rng)
    return _BANK[kind]


def _background(n: int, rng: np.random.Generator, speech: list[np.ndarray]) -> np.ndarray:
    kind = str(rng.choice(["white", "pink", "brown", "music", "babble", "pink"]))
    if kind != "babble" or not speech:
        bank = _bank("pink" if kind == "babble" else kind, rng)
        if n > len(bank):
            return np.resize(bank, n)
        off = int(rng.integers(0, len(bank) - n + 1))
        return bank[off : off + n]
    if kind == "babble" and speech:
        out = np.zeros(n, dtype=np.float32)
        for _ in range(3):
            s = speech[int(rng.integers(len(speech)))]
            reps = np.tile(s, int(math.ceil(n / max(len(s), 1))) + 1)
            off = int(rng.integers(0, max(len(s), 1)))
            out += reps[off : off + n]
        return out / (np.sqrt(np.mean(out**2)) + 1e-9)


def _augment(x: np.ndarray, rng: np.random.Generator, speech: list[np.ndarray]) -> np.ndarray:
    """Sometimes a room and band limit, a random gain, then a background at a random SNR (or a faint floor)."""
    if rng.random() < 0.5:
        x = synth.room(x, rng)
    x = x * np.float32(10 ** (rng.uniform(-24, 0) / 20) / (np.max(np.abs(x)) + 1e-6))
    snr = rng.choice([None, 30, 20, 15, 10, 5, 0], p=[0.25, 0.15, 0.15, 0.15, 0.12, 0.1, 0.08])
    bg = _background(len(x), rng, speech)
    if snr is None:
        return (x + bg * np.float32(10 ** (rng.uniform(-80, -55) / 20))).astype(np.float32)
    return synth.mix_at_snr(x, bg, float(snr))


class _Data:
    """All steps in one array, with window end indexes and labels (windows are gathered per batch)."""

    def __init__(self, params: FeatureParams, window: int) -> None:
        self.p, self.window = params, window
        self.parts: list[np.ndarray] = []
        self.n = 0
        self.pos: list[np.ndarray] = []
        self.neg: list[np.ndarray] = []
        self.near: list[np.ndarray] = []  # negatives that sound like the phrase (not used to set the threshold)
        self.pad = np.full((window - 1, params.n_mels), np.log(params.floor), dtype=np.float32)

    def _add(self, audio: np.ndarray) -> tuple[int, np.ndarray]:
        steps = np.concatenate([self.pad, log_mel(audio, self.p)])
        base = self.n
        self.parts.append(steps)
        self.n += len(steps)
        ends = np.arange(self.window - 1, len(steps))  # window end indexes, local
        return base, ends

    def step_end_sample(self, k: np.ndarray) -> np.ndarray:
        """Sample where step k (counted from the audio start, without the pad) ends."""
        p = self.p
        return (k * p.pool + p.pool - 1) * p.hop + p.win

    def add_positive(self, audio: np.ndarray, start: int, end: int) -> None:
        base, ends = self._add(audio)
        at = self.step_end_sample(ends - (self.window - 1))
        ms = RATE // 1000
        pos = (at >= end - 40 * ms) & (at <= end + 140 * ms)
        neg = (at <= start + (end - start) // 2) | (at >= end + 400 * ms)
        self.pos.append(base + ends[pos])
        self.neg.append(base + ends[neg])

    def add_negative(self, audio: np.ndarray, stride: int = 2, group: str = "general") -> None:
        base, ends = self._add(audio)
        self.neg.append(base + ends[::stride])
        if group != "general":
            self.near.append(base + ends[::stride])

    def finish(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        steps = np.concatenate(self.parts) if self.parts else np.zeros((0, self.p.n_mels), np.float32)
        pos = np.concatenate(self.pos) if self.pos else np.zeros(0, int)
        neg = np.concatenate(self.neg) if self.neg else np.zeros(0, int)
        return steps, pos, neg


def _gather(steps: np.ndarray, ends: np.ndarray, window: int) -> np.ndarray:
    return steps[ends[:, None] + np.arange(-window + 1, 1)[None, :]]


class _Net:
    """The model's network with gradients and Adam."""

    def __init__(self, in_dim: int, segs: int, h1: int, h2: int, rng: np.random.Generator) -> None:
        self.segs = segs
        self.w = {
            "w1": (rng.standard_normal((in_dim, h1)) * math.sqrt(2 / in_dim)).astype(np.float32),
            "b1": np.zeros(h1, np.float32),
            "w2": (rng.standard_normal((segs * h1, h2)) * math.sqrt(2 / (segs * h1))).astype(np.float32),
            "b2": np.zeros(h2, np.float32),
            "w3": (rng.standard_normal(h2) * math.sqrt(1 / h2)).astype(np.float32),
            "b3": np.zeros(1, np.float32),
        }
        self.m = {k: np.zeros_like(v) for k, v in self.w.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.w.items()}
        self.t = 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        w, b = self.w, x.shape[0]
        h1 = np.maximum(x.reshape(b * self.segs, -1) @ w["w1"] + w["b1"], 0)
        h2 = np.maximum(h1.reshape(b, -1) @ w["w2"] + w["b2"], 0)
        return h2 @ w["w3"] + w["b3"]

    def step(self, x: np.ndarray, y: np.ndarray, lr: float, decay: float = 1e-4) -> float:
        w, b = self.w, x.shape[0]
        xs = x.reshape(b * self.segs, -1)
        a1 = xs @ w["w1"] + w["b1"]
        h1 = np.maximum(a1, 0)
        f = h1.reshape(b, -1)
        a2 = f @ w["w2"] + w["b2"]
        h2 = np.maximum(a2, 0)
        z = h2 @ w["w3"] + w["b3"]
        loss = float(np.mean(np.logaddexp(0, z) - y * z))
        dz = ((0.5 * (1 + np.tanh(0.5 * z))) - y) / b
        da2 = np.outer(dz, w["w3"]) * (a2 > 0)
        da1 = (da2 @ w["w2"].T).reshape(b * self.segs, -1) * (a1 > 0)
        g = {"w3": h2.T @ dz, "b3": np.array([dz.sum()]), "w2": f.T @ da2, "b2": da2.sum(0),
             "w1": xs.T @ da1, "b1": da1.sum(0)}
        self.t += 1
        for k in self.w:
            gk = g[k].astype(np.float32) + (decay * w[k] if k.startswith("w") else 0)
            self.m[k] = 0.9 * self.m[k] + 0.1 * gk
            self.v[k] = 0.999 * self.v[k] + 0.001 * gk * gk
            mh = self.m[k] / (1 - 0.9**self.t)
            vh = self.v[k] / (1 - 0.999**self.t)
            w[k] -= (lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
        return loss

    def scores(self, steps: np.ndarray, ends: np.ndarray, window: int, batch: int = 4096) -> np.ndarray:
        out = [self.forward(_gather(steps, ends[i : i + batch], window)) for i in range(0, len(ends), batch)]
        return np.concatenate(out) if out else np.zeros(0, np.float32)


def _spectral_augment(x: np.ndarray, rng: np.random.Generator, share: float = 0.5) -> np.ndarray:
    """Random voice colour on ``share`` of the normalised windows (B, P, n_mels): a smooth random EQ across the
    mel bands (a few cosines, up to about +-1 sd) and, on half of those, 1-4 neighbouring bands masked to the
    mean. Voices whose formant levels the renderers never produce look less foreign to the network (espeak-ng's
    "shelby" is found since; "Lee" still is not)."""
    b, _, n = x.shape
    pick = np.flatnonzero(rng.random(b) < share)
    if pick.size == 0:
        return x
    x = x.copy()
    bands = np.arange(n)[None, :] / max(1, n - 1)
    k = np.arange(1, 4)[:, None, None]
    amp = rng.uniform(-0.45, 0.45, (3, pick.size, 1)) / k
    phase = rng.uniform(0, np.pi, (3, pick.size, 1))
    eq = (amp * np.cos(np.pi * k * bands[None] + phase)).sum(axis=0) + rng.uniform(-0.3, 0.3, (pick.size, 1))
    x[pick] += eq[:, None, :].astype(np.float32)
    for i in pick[rng.random(pick.size) < 0.5]:
        width = int(rng.integers(1, 5))
        lo = int(rng.integers(0, n - width + 1))
        x[i, :, lo : lo + width] = 0.0
    return x


def _read_negatives(folder: Path, limit_s: float = 3600.0) -> list[np.ndarray]:
    from edge.audio import read_audio
    from edge.audio.errors import AudioFormatError

    out: list[np.ndarray] = []
    total = 0.0
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".wav", ".flac"))
    if not files:
        raise WakeTrainError(f"--negatives {folder}: no WAV or FLAC files in it; give a folder of speech recordings")
    for f in files:
        try:
            x = read_audio(f)
        except (AudioFormatError, OSError):
            continue
        out.append(x)
        total += len(x) / RATE
        if total >= limit_s:
            break
    return out


def _phrase_texts(phrase: str) -> list[str]:
    words = phrase.strip().split()
    texts = [phrase, phrase.capitalize() + ".", phrase.title() + "!", phrase.lower() + "?"]
    if len(words) > 1:
        texts.append(words[0].capitalize() + ", " + " ".join(words[1:]) + ".")
    return texts


def _slug_ok(phrase: str) -> str:
    clean = " ".join(phrase.split())
    if not re.search(r"[A-Za-z]", clean):
        raise WakeTrainError(f"wake phrase {phrase!r} has no letters: give English words, e.g. \"hey edge\"")
    if len(clean.split()) > 6:
        raise WakeTrainError(f"wake phrase {phrase!r} is too long: use 1-4 words")
    return clean


def train_wake_model(
    phrase: str,
    out_path: str | os.PathLike[str],
    *,
    fast: bool = False,
    negatives: str | os.PathLike[str] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    config: TrainConfig | None = None,
) -> WakeModel:
    """Render, augment, train, calibrate and save a model for ``phrase`` to ``out_path``; returns it."""
    say = progress or _quiet
    phrase = _slug_ok(phrase)
    cfg = config or (FAST if fast else TrainConfig())
    rng = np.random.default_rng(seed)
    t0, c0 = time.perf_counter(), time.process_time()
    params = FeatureParams()

    try:
        piper: synth.PiperRenderer | None = synth.PiperRenderer(threads=2)
    except Exception as exc:  # no Piper voice installed: espeak-ng only, with a note
        say(f"note: Piper voice unavailable ({str(exc).splitlines()[0][:120]}); training on espeak-ng voices only")
        piper = None

    def piper_jobs(texts: list[str]) -> list[np.ndarray]:
        if piper is None:
            return []
        return [piper(t, rng.uniform(0.75, 1.35), rng.uniform(0.3, 1.0), rng.uniform(0.3, 1.1)) for t in texts]

    def espeak_jobs(texts: list[str]) -> list[np.ndarray]:
        jobs = [(t, str(rng.choice(synth.ESPEAK_TRAIN)), int(rng.integers(120, 211)), int(rng.integers(20, 86)))
                for t in texts]
        return synth.espeak_render_many(jobs)

    texts = _phrase_texts(phrase)
    say(f"rendering '{phrase}' ({cfg.piper_pos} Piper + {cfg.espeak_pos} espeak-ng renderings)")
    pos = piper_jobs([texts[i % len(texts)] for i in range(cfg.piper_pos if piper else 0)])
    pos += espeak_jobs([texts[int(rng.integers(len(texts)))] for _ in range(cfg.espeak_pos)])
    pos = [synth.trim_silence(x) for x in pos if x.size > RATE // 10]
    if len(pos) < 10:
        raise WakeTrainError("could not render the wake phrase: check that espeak-ng is installed")

    conf = synth.confusables(phrase, rng, swaps=cfg.swaps)
    sentences = synth.random_sentences(cfg.espeak_neg + cfg.piper_neg, rng, phrase)
    say(f"rendering negatives ({len(sentences)} sentences, {len(conf)} near-miss phrases)")
    neg = piper_jobs(sentences[: cfg.piper_neg] if piper else [])
    neg += espeak_jobs(sentences[cfg.piper_neg :])
    near = piper_jobs(conf if cfg.piper_confusables else [])
    near += espeak_jobs([c for c in conf for _ in range(cfg.confusable_voices)])
    neg = [synth.trim_silence(x) for x in neg if x.size > RATE // 20]
    near = [synth.trim_silence(x) for x in near if x.size > RATE // 20]
    real = _read_negatives(Path(negatives)) if negatives else []

    durations = np.array([len(x) for x in pos]) / RATE
    window_s = float(np.clip(np.percentile(durations, 95) * 1.05 + 0.15, 0.6, 2.0))
    window = int(math.ceil(window_s * RATE / params.step_samples / cfg.seg) * cfg.seg)

    def split(items: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        order = rng.permutation(len(items))
        cut = max(1, int(len(items) * 0.15))
        return [items[i] for i in order[cut:]], [items[i] for i in order[:cut]]

    pos_tr, pos_va = split(pos)
    neg_tr, neg_va = split(neg)
    near_tr, near_va = split(near)
    real_tr, real_va = split(real) if len(real) > 1 else (real, [])
    say(f"augmenting ({len(pos_tr)} x {cfg.copies} positive clips; window {window * params.step_samples / RATE:.2f} s)")

    def build(pos_set: list[np.ndarray], neg_set: list[np.ndarray], near_set: list[np.ndarray],
              real_set: list[np.ndarray], copies: int, noise_s: float) -> tuple[_Data, list[tuple[int, int]]]:
        data = _Data(params, window)
        spans: list[tuple[int, int]] = []
        for x in pos_set:
            for _ in range(copies):
                w = _speed(x, rng) * np.float32(rng.uniform(0.3, 1.0))
                pre = np.zeros(int(rng.uniform(0.15, 1.0) * RATE), np.float32)
                if rng.random() < 0.35 and neg_set:
                    s = neg_set[int(rng.integers(len(neg_set)))]
                    tail = s[-int(rng.uniform(0.3, 1.5) * RATE):] * np.float32(rng.uniform(0.3, 1))
                    pre = np.concatenate([tail, pre])
                post = np.zeros(int(rng.uniform(0.1, 0.7) * RATE), np.float32)
                if rng.random() < 0.5 and neg_set:
                    s = neg_set[int(rng.integers(len(neg_set)))]
                    post = np.concatenate([post, s[: int(1.0 * RATE)] * np.float32(rng.uniform(0.3, 1))])
                clip = _augment(np.concatenate([pre, w, post]), rng, neg_set)
                data.add_positive(clip, len(pre), len(pre) + len(w))
                spans.append((len(pre), len(pre) + len(w)))
        for group, items in (("general", neg_set), ("near", near_set)):
            for rep in range(2):
                order = rng.permutation(len(items))
                for i in range(0, len(order), 8):  # streams of 8 utterances with pauses
                    parts = []
                    for j in order[i : i + 8]:
                        parts += [_speed(items[j], rng, 0.92, 1.08),
                                  np.zeros(int(rng.uniform(0.05, 0.8) * RATE), np.float32)]
                    data.add_negative(_augment(np.concatenate(parts), rng, neg_set), stride=2 + rep, group=group)
        for x in real_set:
            data.add_negative(_augment(x, rng, neg_set) if rng.random() < 0.5 else x, stride=2)
        for kind in ("white", "pink", "brown", "music"):
            n = int(noise_s / 4 * RATE)
            for k in range(0, n, 20 * RATE):
                m = min(20 * RATE, n - k)
                bg = synth.music_like(m / RATE, rng)[:m] if kind == "music" else synth.noise(kind, m, rng)
                data.add_negative(bg * np.float32(10 ** (rng.uniform(-50, -5) / 20)), stride=3)
        return data, spans

    tr, _ = build(pos_tr, neg_tr, near_tr, real_tr, cfg.copies, cfg.noise_minutes * 60)
    va, _ = build(pos_va, neg_va, near_va, real_va, 2, cfg.noise_minutes * 15)
    steps, p_idx, n_idx = tr.finish()
    vsteps, vp_idx, vn_idx = va.finish()
    mu = steps.mean(axis=0).astype(np.float32)
    sd = (steps.std(axis=0) + 1e-3).astype(np.float32)
    steps = (steps - mu) / sd
    vsteps = (vsteps - mu) / sd
    say(f"training on {len(p_idx)} positive and {len(n_idx)} negative windows "
        f"({time.perf_counter() - t0:.0f} s so far)")

    net = _Net(cfg.seg * params.n_mels, window // cfg.seg, cfg.hidden1, cfg.hidden2, rng)
    batch = 512
    n_batches = max(60, min(cfg.batches, len(n_idx) // (batch * 3 // 4)))
    hard = n_idx
    for epoch in range(cfg.epochs):
        lr = 2e-3 * (0.5 * (1 + math.cos(math.pi * epoch / cfg.epochs)) * 0.9 + 0.1)
        losses = []
        for _ in range(n_batches):
            bp = rng.choice(p_idx, batch // 4)
            bn = np.concatenate([rng.choice(n_idx, batch // 2), rng.choice(hard, batch // 4)])
            ends = np.concatenate([bp, bn])
            y = np.concatenate([np.ones(len(bp)), np.zeros(len(bn))]).astype(np.float32)
            losses.append(net.step(_spectral_augment(_gather(steps, ends, window), rng), y, lr))
        if epoch >= 1:  # mine: the highest-scoring 3 % of a random 60k negatives get a quarter of every batch
            pool = rng.choice(n_idx, min(len(n_idx), 60000), replace=False)
            s = net.scores(steps, pool, window)
            hard = pool[np.argsort(s)[-max(256, len(s) // 33):]]
        say(f"epoch {epoch + 1}/{cfg.epochs}: loss {np.mean(losses):.4f}")

    model = WakeModel(phrase=phrase, features=params, window=window, seg=cfg.seg,
                      arrays={"mu": mu, "sd": sd, **{k: v.copy() for k, v in net.w.items()}})
    near_idx = np.concatenate(va.near) if va.near else np.zeros(0, int)
    threshold, val = _calibrate(model, vsteps, vp_idx, np.setdiff1d(vn_idx, near_idx), near_idx)
    model.threshold = threshold
    model.info = {"seed": seed, "fast": fast, "train_s": round(time.perf_counter() - t0, 1),
                  "train_cpu_s": round(time.process_time() - c0, 1),
                  "positives": len(pos), "negatives": len(neg), "real_negative_files": len(real),
                  "window_s": round(window * params.step_samples / RATE, 3), **val}
    save_model(model, out_path)
    say(f"saved {out_path} (threshold {threshold:.3f}, validation FRR {val['val_frr']:.1%}, "
        f"{val['val_neg_hours']:.2f} h of validation negatives; {model.info['train_s']:.0f} s)")
    return model


def _smoothed(raw: np.ndarray, m: int) -> np.ndarray:
    return np.convolve(raw, np.ones(m, np.float32) / m, mode="same")


def _calibrate(model: WakeModel, steps: np.ndarray, p_idx: np.ndarray, n_idx: np.ndarray,
               near_idx: np.ndarray) -> tuple[float, dict[str, float]]:
    """Stage-1 threshold from held-out renderings: the positives' 1.5th percentile of per-clip best scores.

    Near-miss phrases ("hey edgar") train the network but do not set the threshold: the target is false
    accepts on ordinary speech and noise; their accept rate is reported.
    """
    raw = model.scan(steps)  # raw[i] = window ending at step i + window - 1
    sm = _smoothed(raw, model.smooth)
    score = np.zeros(len(steps), np.float32)
    score[model.window - 1 :] = sm
    neg_max = float(score[n_idx].max()) if len(n_idx) else 0.0
    # one max per positive clip: positive windows of a clip are consecutive
    breaks = np.flatnonzero(np.diff(p_idx) > 1) + 1
    clip_max = np.array([score[g].max() for g in np.split(p_idx, breaks)]) if len(p_idx) else np.ones(1)
    hi = float(np.percentile(clip_max, 1.5))
    # Stage 1 is tuned for few misses (a 1.5 % held-out FRR, within 0.3-0.99): the Whisper check removes
    # its false accepts; above the negatives' maximum when that costs no more misses.
    lo = min(0.99, neg_max + 0.01)
    thr = float(np.clip(lo if lo < hi else hi, 0.3, 0.99))
    frr = float(np.mean(clip_max < thr))
    neg_hours = len(n_idx) * 2.5 * model.features.step_samples / RATE / 3600  # strides 2-3 steps
    near_fa = float(np.mean(score[near_idx] >= thr)) if len(near_idx) else 0.0
    return thr, {"val_frr": frr, "val_near_window_fa": round(near_fa, 5), "val_neg_max": round(neg_max, 4),
                 "val_pos_p3": round(hi, 4),
                 "val_neg_hours": round(neg_hours, 3)}
