"""Wake-word spotting on the device: a tiny log-mel network the user trains locally for any phrase.

``load_detector("hey edge")`` returns a :class:`WakeDetector` (``process(chunk) -> WakeHit | None``,
``reset()``), training the model on first use into ``$XDG_DATA_HOME/edge/wake/<slug>.npz``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from edge.wake.detector import WakeDetector, WakeHit
from edge.wake.features import FeatureParams, LogMel, log_mel
from edge.wake.model import WakeModel, WakeModelError, load_model, save_model
from edge.wake.verify import WhisperVerifier

__all__ = [
    "DEFAULT_PHRASE",
    "FeatureParams",
    "LogMel",
    "WakeDetector",
    "WakeHit",
    "WakeModel",
    "WakeModelError",
    "default_model_path",
    "ensure_model",
    "load_detector",
    "load_model",
    "log_mel",
    "save_model",
    "slug",
    "share_asr",
    "train_wake_model",
    "WhisperVerifier",
]

DEFAULT_PHRASE = "hey edge"


def slug(phrase: str) -> str:
    """File-name form of a phrase: "Hey, Edge!" -> "hey-edge"."""
    s = re.sub(r"[^a-z0-9]+", "-", phrase.lower()).strip("-")
    if not s:
        raise WakeModelError(f"wake phrase {phrase!r} has no letters or digits: give words, e.g. \"hey edge\"")
    return s


def default_model_path(phrase: str) -> Path:
    """``$XDG_DATA_HOME/edge/wake/<slug>.npz`` (``~/.local/share`` when XDG_DATA_HOME is unset)."""
    from edge.paths import data_dir

    return data_dir() / "wake" / f"{slug(phrase)}.npz"


def train_wake_model(phrase: str, out_path: str | os.PathLike[str], **kwargs: object) -> WakeModel:
    """See :func:`edge.wake.train.train_wake_model` (imported lazily: training pulls in Piper)."""
    from edge.wake.train import train_wake_model as _train

    return _train(phrase, out_path, **kwargs)  # type: ignore[arg-type]


def ensure_model(phrase: str, progress: Callable[[str], None] | None = None, fast: bool = False) -> Path:
    """The phrase's default model file, trained first if missing or unusable (about a minute)."""
    path = default_model_path(phrase)
    try:
        load_model(path, phrase)
        return path
    except WakeModelError as exc:
        if path.exists() and progress:
            progress(f"{exc}; training a new one")
    if progress:
        progress(f"no wake model for '{phrase}' yet: training one (about a minute, once) into {path}")
    train_wake_model(phrase, path, fast=fast, progress=progress)
    return path


def load_detector(phrase_or_path: str | os.PathLike[str], progress: Callable[[str], None] | None = None,
                  threshold: float | None = None, verify: bool | None = None,
                  asr_engine: object | None = None, lazy: bool = False) -> WakeDetector:
    """A detector from a model file path (``.npz``), or for a phrase (its default model, trained on first use).

    ``verify``: confirm stage-1 hits with Whisper tiny.en (:mod:`edge.wake.verify`); None = when it is
    installed (else stage 1 alone, with a note to ``progress``). ``asr_engine``: a loaded Whisper engine to share.
    ``lazy``: do not load tiny.en yet (the caller shares its engine later: ``detector.verifier.share(engine)``,
    else it loads on the first candidate or on ``detector.verifier.load()``).
    """
    text = os.fspath(phrase_or_path)
    if isinstance(phrase_or_path, Path) or text.endswith(".npz") or os.sep in text:
        model = load_model(text)
    else:
        model = load_model(ensure_model(text, progress))
    verifier = None
    if verify is not False:
        from edge.models import ModelError
        from edge.wake.verify import WhisperVerifier

        try:
            verifier = WhisperVerifier(model.phrase, engine=asr_engine, lazy=lazy)
        except ModelError as exc:
            if verify:
                raise WakeModelError(f"wake-word verification needs Whisper tiny.en: {exc}") from None
            if progress:
                progress(f"note: no Whisper tiny.en ({exc}); wake word without verification (more false accepts)")
    return WakeDetector(model, threshold, verifier=verifier)


def share_asr(detector: object, asr_engine: object) -> None:
    """Let a detector's Whisper check use the pipeline's loaded ASR engine (when it is English Whisper), else
    load the check's own tiny.en now rather than on the first candidate."""
    verifier = getattr(detector, "verifier", None)
    if verifier is not None and hasattr(verifier, "share") and not verifier.share(asr_engine):
        verifier.load()
