"""Streaming wake-word detection: blocks of 16 kHz float32 audio in, a :class:`WakeHit` when the phrase ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edge.wake.features import LogMel
from edge.wake.model import WakeModel

__all__ = ["WakeDetector", "WakeHit"]


@dataclass(frozen=True)
class WakeHit:
    phrase: str
    score: float  # the smoothed score that crossed the threshold
    sample: int  # stream position (16 kHz samples since the start or the last reset) where the window ends
    rate: int = 16000

    @property
    def time(self) -> float:
        """Seconds since the start of the stream (or the last :meth:`WakeDetector.reset`)."""
        return self.sample / self.rate


Verifier = Callable[[np.ndarray, float], bool]  # (audio, the candidate's stage-1 score) -> accept?


class WakeDetector:
    """Feed any block size to :meth:`process`; it returns the first hit the block completes, or None.

    Stage 1: a score every 20 ms over the last ``model.window`` steps; the stream starts as if preceded by
    silence, so a phrase at the very start is found. ``threshold`` overrides the model's. Stage 2, with a
    ``verifier`` (e.g. :class:`edge.wake.verify.WhisperVerifier`): a stage-1 candidate is followed for
    ``peak_s`` to its highest score (the phrase's end: the first crossing comes before "edge" is over), and
    becomes a hit only if the verifier accepts the audio from ``window + 0.4 s`` before that peak to
    ``verify_delay_s`` after it, so hits come that much later. After a hit, no other for ``refractory_s``;
    after a candidate, none for 0.5 s.
    """

    def __init__(self, model: WakeModel, threshold: float | None = None, verifier: Verifier | None = None,
                 verify_delay_s: float = 0.2, peak_s: float = 0.3) -> None:
        self.model = model
        self.verifier = verifier
        self.phrase = model.phrase
        self.threshold = float(model.threshold if threshold is None else threshold)
        self.features = LogMel(model.features)
        p = model.features
        self._refractory = max(1, round(model.refractory_s * p.rate / p.step_samples))
        self._cand_refractory = max(1, round(0.5 * p.rate / p.step_samples)) if verifier else self._refractory
        self._delay = int(verify_delay_s * p.rate)
        self._peak_steps = max(0, round(peak_s * p.rate / p.step_samples))
        self._lead = int(model.window * p.step_samples + 0.4 * p.rate)
        silence = np.full((1, p.n_mels), np.log(p.floor), dtype=np.float32)
        self._pad = model.normalize(silence)
        self.reset()

    def reset(self) -> None:
        """Forget the stream: positions restart at 0 and the past is silence."""
        self.features.reset()
        self._tail = np.repeat(self._pad, self.model.window - 1, axis=0)
        self._recent = np.zeros(0, dtype=np.float32)
        self._step = 0  # index of the next step
        self._last_hit = -(10**9)
        self._last_cand = -(10**9)
        self._audio = np.zeros(0, dtype=np.float32)  # recent samples, for the verifier
        self._audio_start = 0  # stream index of _audio[0]
        self._pending: list[tuple[int, int, float]] = []  # (first step, peak step, peak score) to verify
        self.position = 0  # samples fed since the start or the last reset (a hit's ``sample`` is on this scale)
        self.candidates = 0  # stage-1 candidates so far (verified or not)
        self.candidate_times: list[float] = []  # the last 100 of them, in seconds
        self.rejected: list[tuple[float, str]] = []  # (time, transcript) of the last 100 stage 2 turned down
        self.accepted: list[tuple[float, str]] = []  # ...and of the last 100 it accepted
        self.scores: list[float] = []  # raw scores, only kept when record_scores is set
        self.record_scores = getattr(self, "record_scores", False)

    def _score_steps(self, steps: np.ndarray) -> np.ndarray:
        x = np.concatenate([self._tail, self.model.normalize(steps)])
        raw = self.model.scan(x)
        self._tail = x[-(self.model.window - 1):]
        return raw

    def process_all(self, chunk: np.ndarray) -> list[WakeHit]:
        """Every hit the block completes (usually none; at most one per ``refractory_s``)."""
        self.position += int(np.size(chunk))
        if self.verifier is not None:
            x = np.nan_to_num(np.asarray(chunk, dtype=np.float32).reshape(-1), nan=0.0, posinf=0.0, neginf=0.0)
            self._audio = np.concatenate([self._audio, x])
        steps = self.features.process(chunk)
        if steps.shape[0] == 0:
            return self._verify_pending()
        raw = self._score_steps(steps)
        if self.record_scores:
            self.scores.extend(raw.tolist())
        m = self.model.smooth
        hist = np.concatenate([self._recent, raw])
        smooth = np.convolve(hist, np.ones(m, dtype=np.float32) / m, mode="valid") if len(hist) >= m else []
        offset = len(hist) - len(smooth)  # hist index of smooth[0]
        base = self._step - len(self._recent)  # step index of hist[0]
        hits: list[WakeHit] = []
        for i in np.flatnonzero(np.asarray(smooth) >= self.threshold):
            step, score = base + offset + int(i), float(smooth[i])
            if self._pending and step - self._pending[-1][0] <= self._peak_steps:  # still rising to its peak?
                first, _, best = self._pending[-1]
                if score > best:
                    self._pending[-1] = (first, step, score)
                continue
            hits += self._verify_pending(before=step)
            if step - self._last_hit >= self._refractory and step - self._last_cand >= self._cand_refractory:
                self._last_cand = step
                self.candidates += 1
                self.candidate_times = [*self.candidate_times[-99:], self._step_end(step) / self.model.features.rate]
                if self.verifier is None:
                    self._last_hit = step
                    hits.append(self._hit(step, score))
                else:
                    self._pending.append((step, step, score))
        self._recent = hist[-(m - 1):] if m > 1 else np.zeros(0, dtype=np.float32)
        self._step += len(raw)
        hits += self._verify_pending()
        if self.verifier is not None:  # keep what a later candidate's verification can need
            keep = self._lead + self._delay + self.model.features.rate
            if len(self._audio) > keep:
                self._audio_start += len(self._audio) - keep
                self._audio = self._audio[-keep:]
        return hits

    def _hit(self, step: int, score: float) -> WakeHit:
        return WakeHit(self.phrase, score, self._step_end(step), self.model.features.rate)

    def _verify_pending(self, before: int | None = None) -> list[WakeHit]:
        """Run the verifier on candidates whose peak is settled (``peak_s`` after the first crossing has been
        scored, or a new candidate at step ``before`` begins) and whose audio (to ``delay`` after it) has arrived."""
        hits: list[WakeHit] = []
        have = self._audio_start + len(self._audio)
        while self._pending and self.verifier is not None:
            first, step, score = self._pending[0]
            end = self._step_end(step)
            settled = first + self._peak_steps < (self._step if before is None else before)
            if end + self._delay > have or not settled:
                break
            self._pending.pop(0)
            if step - self._last_hit < self._refractory:
                continue
            lo = max(end - self._lead, self._audio_start) - self._audio_start
            ok = self.verifier(self._audio[lo : end + self._delay - self._audio_start], score)
            heard = (end / self.model.features.rate, str(getattr(self.verifier, "last_text", "")))
            if ok:
                self._last_hit = step
                hits.append(self._hit(step, score))
                self.accepted = [*self.accepted[-99:], heard]
            else:
                self.rejected = [*self.rejected[-99:], heard]
        return hits

    def process(self, chunk: np.ndarray) -> WakeHit | None:
        """The hit this block completes, or None (a block long enough to hold two gives the first)."""
        hits = self.process_all(chunk)
        return hits[0] if hits else None

    def detect(self, audio: np.ndarray, block: int | None = None) -> list[WakeHit]:
        """All hits in a whole signal, from a fresh state (``block``: feed it in blocks of that many samples)."""
        self.reset()
        if block is None:
            return self.process_all(audio)
        hits: list[WakeHit] = []
        for i in range(0, len(audio), block):
            hits.extend(self.process_all(audio[i : i + block]))
        return hits

    def _step_end(self, step: int) -> int:
        p = self.model.features
        return (step * p.pool + p.pool - 1) * p.hop + p.win
